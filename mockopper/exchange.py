"""A forwarded exchange as the dialects read it back: what the upstream sent, and the neutral reply made of it.

The forwarder captures the upstream's answer (`Exchange`: status, headers, the JSON body
or the stream's events with when each arrived); the request's surface reads it into a
`Recorded` reply in vendor-neutral terms, which the recorder writes as a scenario rule.
A surface that cannot read an answer raises `Unreadable`; such an exchange is passed back
unchanged and not recorded.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mockopper.sse import ServerEvent, compact_json

__all__ = ["Exchange", "Piece", "Recorded", "RecordedCall", "RecordedError", "Unreadable", "arguments_text"]


class Unreadable(ValueError):
    """An upstream answer the surface cannot read back into a reply (the message says why)."""


@dataclass(slots=True)
class Exchange:
    """What came back from the upstream for one forwarded request.

    `events` is set for a stream (`text/event-stream`), `body` otherwise. `dropped` means
    the upstream's connection ended before its answer did.
    """

    status: int
    headers: Mapping[str, str]
    body: bytes = b""
    events: list[ServerEvent] | None = None
    dropped: bool = False

    @property
    def streamed(self) -> bool:
        return self.events is not None

    def json(self) -> Any:
        """The body as JSON, or Unreadable."""
        try:
            return json.loads(self.body)
        except ValueError:
            raise Unreadable(f"the {self.status} answer is not JSON: {self.body[:80]!r}") from None

    def event_data(self) -> list[tuple[ServerEvent, Any]]:
        """Each event with its `data` as JSON (events whose data is not JSON, such as `[DONE]`, are left out)."""
        out: list[tuple[ServerEvent, Any]] = []
        for event in self.events or ():
            try:
                out.append((event, json.loads(event.data)))
            except ValueError:
                if event.data.strip() != "[DONE]":
                    raise Unreadable(f"a stream event is not JSON: {event.data[:80]!r}") from None
        return out

    def retry_after(self) -> float | None:
        """The retry delay the answer asked for, in seconds: `retry-after-ms`, else `retry-after`."""
        ms = self.headers.get("retry-after-ms")
        if ms is not None:
            try:
                return max(0.0, float(ms) / 1000)
            except ValueError:
                pass
        seconds = self.headers.get("retry-after")
        if seconds is not None:
            try:
                value = float(seconds)
            except ValueError:
                return None
            return max(0.0, value) if math.isfinite(value) else None
        return None

    def should_retry(self) -> bool | None:
        flag = self.headers.get("x-should-retry")
        return None if flag is None else flag.strip().lower() == "true"


@dataclass(frozen=True, slots=True)
class Piece:
    """One streamed content delta: of the reasoning, the text, or tool call `part` (its index)."""

    part: str | int  # "reasoning", "text", or a tool call's index
    text: str
    at_ms: float


@dataclass(slots=True)
class RecordedCall:
    name: str
    arguments: str = ""  # exactly as sent (a JSON object's text)
    id: str | None = None


@dataclass(frozen=True, slots=True)
class RecordedError:
    status: int
    message: str | None = None
    type: str | None = None
    code: str | None = None
    retry_after: float | None = None
    should_retry: bool | None = None


@dataclass(slots=True)
class Recorded:
    """A reply read back from an upstream's answer, in neutral terms.

    `pieces` holds a stream's content deltas in arrival order; `error_after` is an error
    that arrived inside a stream after that many pieces.
    """

    text: str = ""
    reasoning: str = ""
    tool_calls: list[RecordedCall] = field(default_factory=list)
    finish_reason: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    model: str | None = None
    error: RecordedError | None = None
    error_after: int | None = None
    pieces: list[Piece] | None = None
    dropped: bool = False  # the connection ended mid-answer
    truncated: bool = False  # the stream ended cleanly but without its closing event

    def add(self, part: str | int, text: str, at_ms: float) -> None:
        """A streamed delta: appended to its part and kept as a piece."""
        if not text:
            return
        if self.pieces is None:
            self.pieces = []
        self.pieces.append(Piece(part, text, at_ms))
        if part == "text":
            self.text += text
        elif part == "reasoning":
            self.reasoning += text
        else:
            assert isinstance(part, int)
            self.tool_calls[part].arguments += text

    def call(self, index: int, name: str | None = None, call_id: str | None = None) -> RecordedCall:
        """The tool call at `index`, started if it is new."""
        while len(self.tool_calls) <= index:
            self.tool_calls.append(RecordedCall(""))
        call = self.tool_calls[index]
        if name:
            call.name = name
        if call_id:
            call.id = call_id
        return call


def arguments_text(value: Any) -> str:
    """Tool arguments a vendor sends as an object, as the JSON text a replay streams."""
    return value if isinstance(value, str) else compact_json(value if value is not None else {})
