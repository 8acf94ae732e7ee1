"""Sessions: one server, many independent clients (`x-mockopper-session: NAME`).

A session owns what a client's requests count and remember: the scenario it serves (its
own, or the server's), the counters of that scenario (`replies`, `times`, `fail_first`,
chaos) and the conversation history that `previous_response_id` and friends resolve to.
Requests without the header are served by the default session. Sessions are created on
first use and bounded: past `limit`, the least recently used one is dropped. The journal
is the server's, each record naming its session.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable

from mockopper.engine import Compiled, State
from mockopper.history import History
from mockopper.scenarios import Scenario

__all__ = ["HEADER", "MAX_NAME", "Session", "Sessions", "check_name"]

HEADER = "x-mockopper-session"
MAX_NAME = 128
_NAME = re.compile(r"[\x20-\x7e]+")


def check_name(name: str) -> str | None:
    """What is wrong with a session name, or None: 1 to 128 printable ASCII characters."""
    if not name.strip():
        return f"the {HEADER} header is empty; give the session a name"
    if len(name) > MAX_NAME:
        return f"the session name is {len(name)} characters long; the limit is {MAX_NAME}"
    if not _NAME.fullmatch(name):
        return "the session name must be printable ASCII (letters, digits, punctuation and spaces)"
    return None


class Session:
    """One client's state: what it serves, what it counted, what it remembers."""

    def __init__(self, name: str | None, state: State, history_size: int, *, own: bool = False) -> None:
        self.name = name  # None: the default session
        self.state = state
        self.own = own  # serves a scenario of its own rather than the server's
        self.history = History(history_size)

    @property
    def scenario(self) -> Scenario:
        return self.state.scenario

    def serve(self, compiled: Compiled, *, own: bool) -> None:
        """Serve `compiled` from now on, with fresh counters and no history (an atomic swap)."""
        self.state = State(compiled)
        self.own = own
        self.history.clear()

    def reset(self) -> None:
        """Forget every counter and the history; keep the scenario."""
        self.state = self.state.fresh()
        self.history.clear()


class Sessions:
    """The server's sessions: the default one, and named ones in least-recently-used order."""

    def __init__(self, compiled: Compiled, *, limit: int = 1000, history_size: int = 1000) -> None:
        self._lock = threading.Lock()
        self._limit = max(1, limit)
        self._history_size = history_size
        self._compiled = compiled
        self.default = Session(None, State(compiled), history_size)
        self._named: OrderedDict[str, Session] = OrderedDict()
        self.on_drop: Callable[[str], None] | None = None  # told of a session dropped past the limit

    @property
    def compiled(self) -> Compiled:
        """The server's scenario, which sessions without their own serve."""
        return self._compiled

    def get(self, name: str | None) -> Session:
        """The session `name` (None: the default), created on first use."""
        if name is None:
            return self.default
        dropped: str | None = None
        with self._lock:
            session = self._named.get(name)
            if session is not None:
                self._named.move_to_end(name)
                return session
            session = Session(name, State(self._compiled), self._history_size)
            self._named[name] = session
            if len(self._named) > self._limit:
                dropped, _ = self._named.popitem(last=False)
        if dropped is not None and self.on_drop is not None:
            self.on_drop(dropped)
        return session

    def find(self, name: str) -> Session | None:
        """An existing named session, without creating it or counting it as used."""
        with self._lock:
            return self._named.get(name)

    def drop(self, name: str) -> bool:
        with self._lock:
            return self._named.pop(name, None) is not None

    def names(self) -> list[str]:
        with self._lock:
            return list(self._named)

    def __len__(self) -> int:
        with self._lock:
            return len(self._named)

    def load(self, compiled: Compiled) -> None:
        """Serve `compiled` as the server's scenario: the default session and every named session
        without a scenario of its own switch to it, with fresh counters."""
        with self._lock:
            self._compiled = compiled
            inheriting = [s for s in self._named.values() if not s.own]
        self.default.serve(compiled, own=False)
        for session in inheriting:
            session.serve(compiled, own=False)

    def reset(self) -> None:
        """Forget every named session and every counter; keep the server's scenario."""
        with self._lock:
            self._named.clear()
        self.default.reset()
