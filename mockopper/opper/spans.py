"""What a span is: Opper's span object, a compat call's span read from its journal record, and span times.

Ids are derived (`span_uuid`: the version 4 layout, never random); times are RFC 3339 UTC
with milliseconds, read back as epoch milliseconds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from mockopper.journal import RequestRecord

__all__ = ["Done", "Entry", "Span", "call_span", "format_time", "parse_time", "span_of", "span_uuid", "start_ms"]


def span_uuid(*parts: object) -> str:
    """A deterministic UUID (the version 4 layout: random-looking, but derived) from any parts."""
    h = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=16).hexdigest()
    # version 4 in the 13th digit, variant 10xx in the 17th
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


def format_time(ms: int) -> str:
    """Epoch milliseconds as RFC 3339 UTC with milliseconds: `2026-01-01T00:00:00.000Z`."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


def parse_time(text: str) -> int | None:
    """An RFC 3339 date-time as epoch milliseconds, or None when it is not one."""
    if "T" not in text and " " not in text:
        return None
    try:
        stamp = dt.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=dt.timezone.utc)
    return round(stamp.timestamp() * 1000)


@dataclass(slots=True)
class Span:
    """One span, as `GET /v3/spans/{id}` and a trace's `spans` show it."""

    id: str
    trace_id: str
    name: str
    parent_id: str | None = None
    type: str | None = None
    input: Any = None
    output: Any = None
    error: str | None = None
    start_time: str | None = None
    end_time: str | None = None
    status: str | None = None
    meta: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    tags: dict[str, Any] | None = None
    events: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Opper's span object: absent fields left out (the schema types them as strings, not null)."""
        out: dict[str, Any] = {"id": self.id, "trace_id": self.trace_id, "name": self.name}
        for key in ("parent_id", "type", "input", "output", "error", "start_time", "end_time"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        out["status"] = self.state
        for key in ("meta", "metadata", "tags"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out

    @property
    def state(self) -> str:
        if self.status is not None:
            return self.status
        if self.error:
            return "error"
        return "ok" if self.end_time else "in_progress"

    def bounds(self) -> tuple[int | None, int | None]:
        return (
            parse_time(self.start_time) if self.start_time else None,
            parse_time(self.end_time) if self.end_time else None,
        )


class _Call(Protocol):
    """What a compat call's span is read from: its journal record, or `Done`, what is kept of it."""

    @property
    def trace_id(self) -> str | None: ...
    @property
    def span_id(self) -> str | None: ...
    @property
    def span(self) -> dict[str, Any] | None: ...
    @property
    def outcome(self) -> str: ...
    @property
    def status(self) -> int: ...
    @property
    def tags(self) -> dict[str, Any]: ...
    @property
    def guard_findings(self) -> list[dict[str, str]]: ...


@dataclass(slots=True)
class Done:
    """The part of a completed call's record its span is read from (the record may leave the journal)."""

    trace_id: str | None
    span_id: str | None
    span: dict[str, Any] | None
    outcome: str
    status: int
    tags: dict[str, Any]
    guard_findings: list[dict[str, str]]

    @classmethod
    def of(cls, record: RequestRecord) -> Done:
        return cls(
            record.trace_id,
            record.span_id,
            record.span,
            record.outcome,
            record.status,
            record.tags,
            record.guard_findings,
        )


def call_span(record: _Call) -> Span:
    """The span a compat call's journal record describes, as it stands now."""
    info = record.span or {}
    span_id = record.span_id or ""
    start = int(info.get("start_ms", 0))
    end = start + int(info.get("duration_ms", 0) or 0)
    error = info.get("error")
    if error is None and record.outcome in _UNFINISHED:
        error = f"the response did not complete ({record.outcome})"
    elif error is None and record.outcome == "error":
        error = "the stream ended with an error event"
    return Span(
        id=span_id,
        trace_id=record.trace_id or "",
        name=str(info.get("name", "")),
        parent_id=info.get("parent_id"),
        type=info.get("type"),
        input=info.get("input"),
        output=info.get("output"),
        error=error,
        start_time=format_time(start),
        end_time=None if record.outcome == "pending" else format_time(end),
        status="error" if error or record.status >= 400 else None,
        meta=info.get("meta"),
        tags=dict(record.tags) or None,
        events=[
            {
                "id": span_uuid(span_id, "event", i),
                "span_id": span_id,
                "kind": "guardrail",
                "source": "guard",
                "data": finding,
                "created_at": format_time(start),
            }
            for i, finding in enumerate(record.guard_findings)
        ],
    )


_UNFINISHED = ("disconnect", "truncate", "client_closed", "hang")
Entry = Span | RequestRecord | Done  # a client's span, or a compat call (its span is read from it)


def span_of(entry: Entry) -> Span:
    """The span an entry of a trace shows: a client's span, or a call's read from its record."""
    return entry if isinstance(entry, Span) else call_span(entry)


def start_ms(entry: Entry) -> int | None:
    """When an entry of a trace started, in epoch milliseconds (None when unknown)."""
    if isinstance(entry, Span):
        return entry.bounds()[0]
    return int(entry.span["start_ms"]) if entry.span else None
