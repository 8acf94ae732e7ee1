"""Server-sent events on the wire: an `Event`, its framing, the compact JSON it carries, and reading one back.

Every event goes out as `event:` (when named) and one `data:` line, `\\n` line endings,
written in one piece; `SSEReader` reads a real service's stream as it arrives.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Event", "SSEReader", "ServerEvent", "compact_json", "frame"]

_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def compact_json(value: Any) -> str:
    """JSON as the wire carries it: no spaces, UTF-8 left as is, except the three characters
    some line readers take for line breaks (NEL, LINE and PARAGRAPH SEPARATOR), escaped so an
    SSE event always stays on its one `data:` line."""
    text = _COMPACT.encode(value)
    if "\u2028" in text or "\u2029" in text or "\x85" in text:
        text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").replace("\x85", "\\u0085")
    return text


@dataclass(slots=True)
class Event:
    """One stream event. `content` marks a content delta: what pacing and faults count.

    `at_ms` is when a recorded stream sent it (ms from the request's start); it overrides
    the generated pacing for this event.
    """

    data: Mapping[str, Any] | str
    name: str | None = None
    content: bool = False
    at_ms: float | None = None

    def payload(self) -> str:
        data = self.data
        return data if isinstance(data, str) else compact_json(data)


def frame(event: Event) -> bytes:
    """An event as SSE bytes: `\\n` line endings, written in one piece."""
    if event.name:
        return b"event: " + event.name.encode() + b"\ndata: " + event.payload().encode() + b"\n\n"
    return b"data: " + event.payload().encode() + b"\n\n"


@dataclass(frozen=True, slots=True)
class ServerEvent:
    """One event read from an SSE stream, and when its last byte arrived (ms from the request's start)."""

    data: str
    name: str | None
    at_ms: float


class SSEReader:
    """Reads a `text/event-stream` as it arrives, in pieces cut anywhere: feed bytes, get whole events."""

    def __init__(self) -> None:
        self._buffer = b""
        self._name: str | None = None
        self._data: list[str] = []

    def feed(self, data: bytes, at_ms: float) -> list[ServerEvent]:
        self._buffer += data
        out: list[ServerEvent] = []
        while True:
            cut = _LINE_END.search(self._buffer)
            if cut is None:
                return out
            line = self._buffer[: cut.start()].decode("utf-8", "replace")
            self._buffer = self._buffer[cut.end() :]
            event = self._line(line, at_ms)
            if event is not None:
                out.append(event)

    def close(self, at_ms: float) -> list[ServerEvent]:
        """Whatever the stream left unterminated at its end."""
        rest = [self._line(self._buffer.decode("utf-8", "replace"), at_ms)] if self._buffer else []
        self._buffer = b""
        last = self._line("", at_ms)
        return [e for e in (*rest, last) if e is not None]

    def _line(self, line: str, at_ms: float) -> ServerEvent | None:
        if not line:
            if not self._data:
                self._name = None
                return None
            event = ServerEvent("\n".join(self._data), self._name, at_ms)
            self._name, self._data = None, []
            return event
        if line.startswith(":"):
            return None
        key, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if key == "data":
            self._data.append(value)
        elif key == "event":
            self._name = value
        return None


_LINE_END = re.compile(rb"\r\n|\r(?!$)|\n")
