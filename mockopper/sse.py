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

import orjson

__all__ = ["Event", "SSEReader", "ServerEvent", "compact_bytes", "compact_json", "frame"]

_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
# Where orjson's bytes may differ from the standard encoder's: floats below 1e-4 (orjson writes
# `0.00001` and `1e-6` for `1e-05` and `1e-06`). A match anywhere (a string's text too) only
# means the standard encoder writes that value instead. Substrings first: a regular expression
# tried at every position costs more than the encoding.
_EXPONENT = re.compile(rb"[0-9]e-")
_SMALL = re.compile(rb"(?<![0-9.])0\.0000")
_LINE_BREAKS = (("\u2028", "\\u2028"), ("\u2029", "\\u2029"), ("\x85", "\\u0085"))


def compact_json(value: Any) -> str:
    """JSON as the wire carries it: no spaces, UTF-8 left as is, except the three characters
    some line readers take for line breaks (NEL, LINE and PARAGRAPH SEPARATOR), escaped so an
    SSE event always stays on its one `data:` line.

    The text is the standard library's (`separators=(",", ":"), ensure_ascii=False`); orjson
    writes it where it writes it alike, several times faster.
    """
    raw = _fast(value)
    if raw is not None:
        return raw.decode()
    text = _COMPACT.encode(value)
    for char, escape in _LINE_BREAKS:
        if char in text:
            text = text.replace(char, escape)
    return text


def compact_bytes(value: Any) -> bytes:
    """`compact_json` as UTF-8."""
    raw = _fast(value)
    return raw if raw is not None else compact_json(value).encode()


def _fast(value: Any) -> bytes | None:
    """orjson's bytes for `value`; None where they might differ from the standard encoder's."""
    try:
        raw = orjson.dumps(value)
    except TypeError:  # keys that are not strings, integers past 64 bits, lone surrogates
        return None
    if (b"e-" in raw and _EXPONENT.search(raw)) or (b"0.0000" in raw and _SMALL.search(raw)):
        return None
    if b"\xe2\x80\xa8" in raw or b"\xe2\x80\xa9" in raw or b"\xc2\x85" in raw:
        for char, escape in _LINE_BREAKS:
            raw = raw.replace(char.encode(), escape.encode())
    return raw


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

    def payload_bytes(self) -> bytes:
        data = self.data
        return data.encode() if isinstance(data, str) else compact_bytes(data)


def frame(event: Event) -> bytes:
    """An event as SSE bytes: `\\n` line endings, written in one piece."""
    if event.name:
        return b"event: " + event.name.encode() + b"\ndata: " + event.payload_bytes() + b"\n\n"
    return b"data: " + event.payload_bytes() + b"\n\n"


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
