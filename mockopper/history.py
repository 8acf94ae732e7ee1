"""Answers kept for continuation: `previous_response_id` and `previous_interaction_id`.

A continued request reads the stored conversation (its input, then the answer) before
its own input, so matching sees the whole conversation. Bounded: the oldest go first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mockopper.conversation import Message

__all__ = ["History", "Turn"]


@dataclass(frozen=True, slots=True)
class Turn:
    """A finished exchange: the conversation so far, including the answer.

    `fields` are request fields, as they were sent, that a continuation takes from the
    turn instead of sending them again (a message thread's `tools`).
    """

    messages: tuple[Message, ...]
    system: str = ""
    fields: Mapping[str, Any] = field(default_factory=dict)


class History:
    def __init__(self, maxlen: int = 1000) -> None:
        self._lock = threading.Lock()
        self._turns: OrderedDict[str, Turn] = OrderedDict()
        self._maxlen = maxlen
        self.reads = 0  # lookups so far: a request whose reading looked something up depends on this history

    def put(self, key: str, turn: Turn) -> None:
        with self._lock:
            self._turns[key] = turn
            self._turns.move_to_end(key)
            while len(self._turns) > self._maxlen:
                self._turns.popitem(last=False)

    def get(self, key: str) -> Turn | None:
        with self._lock:
            self.reads += 1
            return self._turns.get(key)

    def evict(self, key: str) -> None:
        with self._lock:
            self._turns.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._turns.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._turns)
