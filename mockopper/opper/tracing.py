"""Tracing: the trace store behind `/v3/spans` and `/v3/traces`, fed by the compat calls' journal records.

Every compat call gets a trace id and a span id (`TraceStore.attach`), derived from the
seed, the request's content and how often that content was seen (under the same parent),
never from the clock or other traffic. A call that names a parent span (`span_uuid`, or
`X-Opper-Parent-Span-Id`) joins that span's trace; any other call starts its own. The
store keeps the call's journal record as its span while the call plays out, reading the
span from it when a trace is asked for (`call_span`), and keeps the span itself once the
journal says the call is done: its name, model, input and output text, tags, usage, cost
and guard findings, which are also the trace's events. What no one reads costs little: a
call that begins a trace is put in it when the store is next read, its span id worked out
then (`RequestRecord.span_id`), and its span's text when the span is first read. Spans made through
`POST /v3/spans` live beside them. A trace belongs to the session (`x-mockopper-session`)
of the call or client that began it: `/v3/traces` lists a session's own, and resetting a
session forgets them. Memory is bounded: past `max_traces` the oldest trace
goes, past `max_spans` a trace takes no more.

Span times follow the scenario clock: a call's span starts at its parent's start (or the
clock) plus one millisecond per span already in the trace, and lasts as long as its
scripted delays; `clock: real` starts it at the wall clock.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from mockopper.journal import RequestRecord
from mockopper.opper.spans import Done, Entry, Span, format_time, span_of, span_uuid, start_ms

__all__ = ["TraceStore"]


@dataclass(slots=True)
class _Trace:
    id: str
    session: str | None = None  # the session of the call or client that began it
    spans: OrderedDict[str, Entry] = field(default_factory=OrderedDict)

    def to_dict(self, *, with_spans: bool) -> dict[str, Any]:
        spans = [span_of(entry) for entry in self.spans.values()]
        ids = set(self.spans)
        root = next((s for s in spans if s.parent_id is None or s.parent_id not in ids), spans[0] if spans else None)
        bounds = [s.bounds() for s in spans]
        starts = [b[0] for b in bounds if b[0] is not None]
        ends = [b[1] for b in bounds if b[1] is not None]
        states = {s.state for s in spans}
        status = "error" if "error" in states else "in_progress" if "in_progress" in states else "ok"
        out: dict[str, Any] = {"id": self.id, "name": root.name if root else "", "span_count": len(spans)}
        if starts:
            out["start_time"] = format_time(min(starts))
        if ends:
            out["end_time"] = format_time(max(ends))
        if starts and ends:
            out["duration_ms"] = max(0, max(ends) - min(starts))
        out["status"] = status
        if with_spans:
            out["spans"] = [s.to_dict() for s in spans]
            out["events"] = [event for s in spans for event in s.events]
        return out


class TraceStore:
    """Traces and their spans, in memory and bounded. Thread-safe; one per server."""

    def __init__(self, max_traces: int = 1000, max_spans: int = 1000) -> None:
        self._lock = threading.Lock()
        self._traces: OrderedDict[str, _Trace] = OrderedDict()
        self._owner: dict[str, str] = {}  # span id -> trace id
        self._seen: OrderedDict[tuple[str, ...], int] = OrderedDict()
        self._pending: deque[RequestRecord] = deque()  # calls that began traces, not yet put in them
        self._max_traces = max(1, max_traces)
        self._max_spans = max(1, max_spans)

    def clear(self) -> None:
        with self._lock:
            self._traces.clear()
            self._owner.clear()
            self._seen.clear()
            self._pending.clear()

    def forget(self, session: str) -> None:
        """Forget what session `session` began, and its counts: its ids start afresh, as a new session's do."""
        prefix = f"{session}\x1f"
        with self._lock:
            self._settle()
            for trace in [t for t in self._traces.values() if t.session == session]:
                self._drop(trace.id)
            for key in [k for k in self._seen if k[-1].startswith(prefix)]:
                del self._seen[key]

    def __len__(self) -> int:
        with self._lock:
            self._settle()
            return len(self._traces)

    def _count(self, key: tuple[str, ...]) -> int:
        count = self._seen.pop(key, 0) + 1
        self._seen[key] = count
        if len(self._seen) > 10 * self._max_traces:
            self._seen.popitem(last=False)
        return count

    # --- compat calls -----------------------------------------------------------------

    def attach(
        self, record: RequestRecord, *, content: str, parent: str | None, name: str, seed: int, clock: int | None
    ) -> None:
        """Give a call its trace, its span id and its span's start (epoch ms), and keep its record as that span.

        The span is read from the record whenever the trace is asked for, so it shows the
        call as it stands: in progress until its response has played out. A call that begins
        a trace waits to be put in it until the store is next read (`_settle`), and its span
        id is worked out only then: a server whose traces no one reads spends little on them.
        """
        with self._lock:
            count = self._count((parent or "", content))
            if parent is None:
                record.trace_id = span_uuid(seed, "trace", content, count)
                record.span_id = partial(span_uuid, seed, "span", "", content, count)
                record.span = {"parent_id": None, "name": name, "type": "generation", "start_ms": _now_ms(clock)}
                self._pending.append(record)
                if len(self._pending) > self._max_traces:  # its trace would be the oldest, gone once the rest are put
                    self._pending.popleft()
                return
            self._settle()
            trace_id = self._owner.get(parent) or span_uuid(seed, "trace of", parent)
            trace = self._traces.get(trace_id)
            begun: int | None = None
            position = 0
            if trace is not None:
                position = len(trace.spans)
                known = trace.spans.get(parent)
                begun = start_ms(known) if known is not None else None
            start = _now_ms(clock) if begun is None else begun
            span_id = span_uuid(seed, "span", parent, content, count)
            record.trace_id, record.span_id = trace_id, span_id
            record.span = {"parent_id": parent, "name": name, "type": "generation", "start_ms": start + position}
            self._put(span_id, trace_id, record, record.session)

    def _settle(self) -> None:
        """Put the calls that began traces since the store was last read in their traces (under the lock)."""
        pending = self._pending
        while pending:
            record = pending.popleft()
            span_id, trace_id = record.span_id, record.trace_id
            assert span_id is not None and trace_id is not None
            self._put(span_id, trace_id, Done.of(record) if record.complete else record, record.session)

    def on_journal(self, event: str, record: RequestRecord | None) -> None:
        """A journal listener: once a call is done, its trace keeps only what its span is read from.

        Not the whole record: a trace may outlive the journal's entries, and the span is a
        small part of what a record holds (its request and response bodies). A call still
        waiting to be put in its trace is kept that way when it is put (`_settle`).
        """
        if event != "done" or record is None or record.trace_id is None or not record.span_id_known:
            return
        span_id = record.span_id
        with self._lock:
            trace = self._traces.get(record.trace_id)
            if trace is not None and span_id is not None and trace.spans.get(span_id) is record:
                trace.spans[span_id] = Done.of(record)

    # --- spans made by clients ----------------------------------------------------------

    def create(self, fields: Mapping[str, Any], seed: int, content: str, session: str | None = None) -> Span:
        """A span from a validated `CreateSpanRequest`: its id from the seed and the body, its trace from its parent.

        Counted per session, as compat calls are: another session's spans never move its ids.
        """
        with self._lock:
            self._settle()
            if session is not None:
                content = f"{session}\x1f{content}"
            span_id = span_uuid(seed, "client span", content, self._count(("span", content)))
            parent = fields.get("parent_id")
            trace_id = fields.get("trace_id") or (
                (self._owner.get(parent) or span_uuid(seed, "trace of", parent)) if parent else None
            )
            span = Span(span_id, trace_id or span_uuid(seed, "trace", span_id), fields["name"], parent_id=parent)
            _assign(span, fields)
            self._put(span_id, span.trace_id, span, session)
            return span

    def _entry(self, span_id: str) -> Entry | None:
        self._settle()
        trace_id = self._owner.get(span_id)
        trace = self._traces.get(trace_id) if trace_id else None
        return trace.spans.get(span_id) if trace else None

    def span(self, span_id: str) -> Span | None:
        with self._lock:
            entry = self._entry(span_id)
            return span_of(entry) if entry is not None else None

    def update(self, span_id: str, fields: Mapping[str, Any]) -> Span | None:
        """Update a client's span (a compat call's span is the call's record, and follows it)."""
        with self._lock:
            entry = self._entry(span_id)
            if isinstance(entry, Span):
                _assign(entry, fields)
            return span_of(entry) if entry is not None else None

    def delete_span(self, span_id: str) -> bool:
        with self._lock:
            self._settle()
            trace_id = self._owner.pop(span_id, None)
            trace = self._traces.get(trace_id) if trace_id else None
            if trace is None:
                return False
            trace.spans.pop(span_id, None)
            if not trace.spans:
                del self._traces[trace.id]
            return True

    # --- traces -------------------------------------------------------------------------

    def traces(
        self, *, name: str | None, limit: int, offset: int, session: str | None = None
    ) -> tuple[list[dict[str, Any]], int]:
        """A session's trace summaries, newest first, whose name contains `name` (any case); and how many there are."""
        with self._lock:
            self._settle()
            found = [t.to_dict(with_spans=False) for t in reversed(self._traces.values()) if t.session == session]
        if name:
            found = [t for t in found if name.lower() in str(t["name"]).lower()]
        return found[offset : offset + limit], len(found)

    def trace(self, trace_id: str) -> dict[str, Any] | None:
        with self._lock:
            self._settle()
            trace = self._traces.get(trace_id)
            return trace.to_dict(with_spans=True) if trace is not None else None

    def delete_trace(self, trace_id: str) -> bool:
        with self._lock:
            self._settle()
            return self._drop(trace_id)

    def _drop(self, trace_id: str) -> bool:
        trace = self._traces.pop(trace_id, None)
        if trace is None:
            return False
        for span_id in trace.spans:
            self._owner.pop(span_id, None)
        return True

    # --- bounds -------------------------------------------------------------------------

    def _put(self, span_id: str, trace_id: str, entry: Entry, session: str | None) -> None:
        trace = self._traces.get(trace_id)
        if trace is None:
            trace = self._traces[trace_id] = _Trace(trace_id, session)
            while len(self._traces) > self._max_traces:
                _, dropped = self._traces.popitem(last=False)
                for dropped_id in dropped.spans:
                    self._owner.pop(dropped_id, None)
        if span_id not in trace.spans and len(trace.spans) >= self._max_spans:
            return
        trace.spans[span_id] = entry
        self._owner[span_id] = trace_id


def _now_ms(clock: int | None) -> int:
    """Now on the scenario clock (None: the wall clock), in epoch milliseconds."""
    return int(time.time() * 1000) if clock is None else clock * 1000


_ASSIGNABLE = ("type", "input", "output", "error", "start_time", "end_time", "meta", "metadata", "tags")


def _assign(span: Span, fields: Mapping[str, Any]) -> None:
    for key in _ASSIGNABLE:
        if key in fields and fields[key] is not None:
            setattr(span, key, fields[key])
