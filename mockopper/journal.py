"""The request journal: every request recorded, thread-safe and bounded in memory.

Entries are appended when a request is decided and completed when its response has
been played out (a stream records its events and how it ended). Credentials are
redacted before anything is stored.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["Journal", "RequestRecord", "redact_headers", "redact_query"]

SECRET_HEADERS = frozenset(
    {
        "authorization",
        "x-api-key",
        "x-goog-api-key",
        "x-opper-api-key",
        "cookie",
        "proxy-authorization",
        "api-key",
        "x-admin-token",
    }
)
REDACTED = "[redacted]"


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    out = {}
    for name, value in headers.items():
        lowered = name.lower()
        if lowered in SECRET_HEADERS:
            scheme, _, rest = value.partition(" ")
            out[lowered] = f"{scheme} {REDACTED}" if rest and scheme.lower() in ("bearer", "basic") else REDACTED
        else:
            out[lowered] = value
    return out


def redact_query(query: Mapping[str, str]) -> dict[str, str]:
    return {k: (REDACTED if k.lower() in ("key", "api_key", "apikey", "token") else v) for k, v in query.items()}


@dataclass(slots=True)
class RequestRecord:
    """One request and what mockopper did with it."""

    seq: int
    time: float
    method: str
    path: str
    api: str | None = None
    model: str | None = None
    chain: list[str] = field(default_factory=list)
    answered_by: str | None = None
    attempts: list[dict[str, Any]] = field(default_factory=list)
    rule: str | None = None
    reply_kind: str | None = None
    status: int = 0
    stream: bool = False
    unmatched: bool = False
    explanation: str | None = None
    tags: dict[str, Any] = field(default_factory=dict)
    fallback_models: list[str] = field(default_factory=list)
    span_uuid: str | None = None
    evaluate: bool | None = None
    query: dict[str, str] = field(default_factory=dict)
    request_headers: dict[str, str] = field(default_factory=dict)
    request_body: Any = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: Any = None
    response_events: list[str] | None = None
    events_omitted: int = 0  # a long stream's events past what the journal keeps
    outcome: str = "pending"
    duration_ms: float | None = None
    forwarded: bool = False  # no rule answered: the upstream did (serve --upstream)
    recorded: bool = False  # the forwarded exchange became a rule of the recording

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def matched(self) -> bool:
        return self.rule is not None


Listener = Callable[[str, "RequestRecord | None"], None]


class Journal:
    """A bounded, thread-safe log of requests; the oldest entries fall off first."""

    def __init__(self, maxlen: int = 1000) -> None:
        self._lock = threading.Lock()
        self._entries: deque[RequestRecord] = deque(maxlen=max(1, maxlen))
        self._seq = itertools.count(1)
        self._listeners: list[Listener] = []

    @property
    def maxlen(self) -> int:
        return self._entries.maxlen or 0

    def open(self, method: str, path: str, **fields: Any) -> RequestRecord:
        """Start an entry for a request that has just arrived."""
        with self._lock:
            record = RequestRecord(seq=next(self._seq), time=time.time(), method=method, path=path, **fields)
            self._entries.append(record)
        return record

    def notify(self, event: str, record: RequestRecord | None = None) -> None:
        """Tell listeners about `event` (the pipeline and the app call this)."""
        if not self._listeners:
            return
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener(event, record)

    def publish(self, record: RequestRecord) -> None:
        """Tell listeners that `record` has been decided and is now playing out."""
        self.notify("decided", record)

    def close(self, record: RequestRecord) -> None:
        """Tell listeners that `record` is complete."""
        self.notify("done", record)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener(event, record)` on "decided", "done" and "cleared" (record None); returns the unsubscribe."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
        self.notify("cleared", None)

    def entries(self, since: int = 0) -> list[RequestRecord]:
        with self._lock:
            return [r for r in self._entries if r.seq > since]

    def __iter__(self) -> Iterator[RequestRecord]:
        return iter(self.entries())

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def filter(
        self,
        *,
        rule: str | None = None,
        api: str | None = None,
        model: str | None = None,
        unmatched: bool | None = None,
        since: int = 0,
    ) -> list[RequestRecord]:
        out = []
        for record in self.entries(since):
            if rule is not None and record.rule != rule:
                continue
            if api is not None and record.api != api:
                continue
            if model is not None and model not in record.chain and record.answered_by != model:
                continue
            if unmatched is not None and record.unmatched != unmatched:
                continue
            out.append(record)
        return out
