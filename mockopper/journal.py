"""The request journal: every request recorded, thread-safe and bounded in memory.

Entries are appended when a request is decided and completed when its response has
been played out (a stream records its events and how it ended). Credentials are
redacted before anything is stored. Bodies are kept in bounded form (`bounded`): an
inline payload as its descriptor, and a body past the size limit with its longest
strings cut, so the journal's memory stays flat however large the requests are.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from mockopper import attachments, summaries
from mockopper.bounding import bounded
from mockopper.pacing import KEEP_BYTES, Playback

__all__ = [
    "DEFAULT_BODY_LIMIT",
    "EVERY",
    "Every",
    "Journal",
    "RequestRecord",
    "redact_headers",
    "redact_query",
]

DEFAULT_BODY_LIMIT = 256 * 1024  # characters of JSON a journaled body keeps (serve --journal-body-limit)

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
    """Headers named in lower case (as `Call.headers` is), each credential redacted (a scheme such as `Bearer` kept)."""
    out = dict(headers)
    for name in SECRET_HEADERS.intersection(out):
        scheme, _, rest = out[name].partition(" ")
        out[name] = f"{scheme} {REDACTED}" if rest and scheme.lower() in ("bearer", "basic") else REDACTED
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
    session: str | None = None  # the x-mockopper-session that served it (None: the default session)
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
    _response_body: Any = field(default=None, repr=False)  # see `response_body`
    _response_events: list[str] | None = field(default=None, repr=False)  # see `response_events`
    _events_omitted: int = field(default=0, repr=False)
    _response_stream: bytes | None = field(default=None, repr=False)  # a short stream as sent, split when read
    attachments: list[dict[str, Any]] = field(default_factory=list)  # the conversation's, as matching sees them
    notes: list[str] = field(default_factory=list)  # what the journal left out (a body cut to the limit)
    outcome: str = "pending"
    duration_ms: float | None = None
    # Opper's layer: what the call cost (USD), what its guards found, and its span in its trace
    # (`start_ms`, `duration_ms`: the span's times on the scenario clock, in epoch milliseconds).
    cost: float | None = None
    guard_findings: list[dict[str, str]] = field(default_factory=list)
    trace_id: str | None = None
    _span: dict[str, Any] | None = field(default=None, repr=False)  # see `span`
    forwarded: bool = False  # no rule answered: the upstream did (serve --upstream)
    recorded: bool = False  # the forwarded exchange became a rule of the recording
    _response_json: bytes | None = field(default=None, repr=False)  # the body as sent, read when asked for
    _complete: bool = field(default=False, repr=False)  # the journal heard that it is complete
    _span_id: str | Callable[[], str] | None = field(default=None, repr=False)  # see `span_id`
    _span_detail: Callable[[dict[str, Any]], None] | None = field(default=None, repr=False)  # see `span`

    @property
    def span(self) -> dict[str, Any] | None:
        """The call's span in its trace, but its id (`span_id`): what Opper's layer wrote of it.

        What the layer left to be written when the span is read (`detail_span`) is written
        on the first read; writing it twice writes the same values.
        """
        detail = self._span_detail
        if detail is not None and self._span is not None:
            detail(self._span)
            self._span_detail = None
        return self._span

    @span.setter
    def span(self, value: dict[str, Any] | None) -> None:
        self._span, self._span_detail = value, None

    def detail_span(self, write: Callable[[dict[str, Any]], None]) -> None:
        """Leave `write(span)` to add to the span when it is first read: most spans are never read."""
        self._span_detail = write

    @property
    def span_id(self) -> str | None:
        """The id of the call's span: worked out when first read (a server whose traces no one reads needs none)."""
        value = self._span_id
        if value is not None and not isinstance(value, str):
            value = self._span_id = value()
        return value

    @span_id.setter
    def span_id(self, value: str | Callable[[], str] | None) -> None:
        self._span_id = value

    @property
    def span_id_known(self) -> bool:
        """Whether `span_id` has been worked out (reading this works nothing out)."""
        return isinstance(self._span_id, str)

    @property
    def complete(self) -> bool:
        """Whether the journal has heard that the call is complete (its response played out)."""
        return self._complete

    @property
    def response_events(self) -> list[str] | None:
        """A stream's events as sent (its first `pacing.KEEP_BYTES`); a short one kept as its bytes until read."""
        self._split()
        return self._response_events

    @response_events.setter
    def response_events(self, frames: list[str] | None) -> None:
        self._response_events, self._response_stream = frames, None

    @property
    def events_omitted(self) -> int:
        """A long stream's events past what the journal keeps."""
        self._split()
        return self._events_omitted

    @events_omitted.setter
    def events_omitted(self, count: int) -> None:
        self._split()
        self._events_omitted = count

    def _split(self) -> None:
        stream = self._response_stream
        if stream is not None:
            playback = Playback()
            playback.keep_stream(stream)
            self._response_events, self._events_omitted, self._response_stream = playback.frames, playback.omitted, None

    @property
    def asked(self) -> str | None:
        """What the call asked, on one line of at most `summaries.LIMIT` characters (read from its span)."""
        return summaries.asked(self)

    @property
    def answered(self) -> str | None:
        """What the call was answered, on one line, once it is complete (None until then)."""
        return summaries.answered(self) if self._complete else None

    @property
    def response_body(self) -> Any:
        """The response's JSON body (None for a stream); kept as the bytes sent until first read."""
        if self._response_json is not None:
            self._response_body, self._response_json = orjson.loads(self._response_json), None
        return self._response_body

    @response_body.setter
    def response_body(self, value: Any) -> None:
        self._response_body, self._response_json = value, None

    def to_dict(self) -> dict[str, Any]:
        span_id, span = self.span_id, self.span
        out = asdict(self)
        out["span"] = None if span is None else {"id": span_id, **out["_span"]}
        out["response_body"] = self.response_body
        del out["_response_body"], out["_response_json"], out["_complete"], out["_span"], out["_span_id"]
        del out["_span_detail"]
        del out["_response_events"], out["_events_omitted"], out["_response_stream"]
        out["response_events"], out["events_omitted"] = self.response_events, self.events_omitted
        out["asked"], out["answered"] = self.asked, self.answered
        return out

    @property
    def matched(self) -> bool:
        return self.rule is not None


Listener = Callable[[str, "RequestRecord | None"], None]


class Every:
    """Every session's entries (the default of `session=` filters, where None is the default session)."""

    def __repr__(self) -> str:
        return "EVERY"


EVERY = Every()


class Journal:
    """A bounded, thread-safe log of requests; the oldest entries fall off first."""

    def __init__(self, maxlen: int = 1000, body_limit: int = DEFAULT_BODY_LIMIT) -> None:
        self.body_limit = body_limit
        self._lock = threading.Lock()
        self._entries: deque[RequestRecord] = deque(maxlen=max(1, maxlen))
        self._seq = itertools.count(1)
        self._listeners: tuple[Listener, ...] = ()  # replaced whole on (un)subscribe: read without the lock

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
        for listener in self._listeners:
            listener(event, record)

    def publish(self, record: RequestRecord) -> None:
        """Tell listeners that `record` has been decided and is now playing out."""
        self.notify("decided", record)

    def keeping(self, record: RequestRecord, body: Any) -> _Keeping:
        """A `with` block (the dialect reading a request body) after which the body is journaled.

        Inside it each inline payload is measured once (`attachments.reading`); the body is
        journaled in bounded form even when the block raises (a request the surface refuses).
        """
        return _Keeping(self, record, body)

    def keep_response(self, record: RequestRecord, body: Any, size: int) -> None:
        """Journal a response body of `size` bytes, cut when it is past the limit."""
        if size > self.body_limit:
            body, note = bounded(body, self.body_limit)
            if note:
                record.notes.append("response body: " + note)
        record.response_body = body

    def keep_response_bytes(self, record: RequestRecord, payload: bytes) -> None:
        """Journal a JSON response body as it was sent: read only when someone asks for it."""
        if len(payload) > self.body_limit:
            self.keep_response(record, orjson.loads(payload), len(payload))
        else:
            record.response_body = None
            record._response_json = payload

    def keep_events(self, record: RequestRecord, playback: Playback) -> None:
        """Journal the events a stream played: a short stream sent in one piece is split only when read."""
        stream = playback.stream
        if stream is not None and len(stream) <= KEEP_BYTES:
            record._response_stream = stream
            return
        if stream is not None:
            playback.keep_stream(stream)
        if playback.frames:
            record.response_events = playback.frames
            record.events_omitted = playback.omitted

    def close(self, record: RequestRecord) -> None:
        """Tell listeners that `record` is complete (its `answered` summary now reads its span)."""
        record._complete = True
        self.notify("done", record)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener(event, record)` on "decided", "done" and "cleared" (record None); returns the unsubscribe."""
        with self._lock:
            self._listeners = (*self._listeners, listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    kept = list(self._listeners)
                    kept.remove(listener)
                    self._listeners = tuple(kept)

        return unsubscribe

    def clear(self, *, session: str | Every | None = EVERY) -> None:
        """Forget every entry, or only those of one session (None: the default session)."""
        with self._lock:
            if session is EVERY:
                self._entries.clear()
            else:
                kept = [r for r in self._entries if r.session != session]
                if len(kept) == len(self._entries):
                    return
                self._entries.clear()
                self._entries.extend(kept)
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
        session: str | Every | None = EVERY,
        since: int = 0,
    ) -> list[RequestRecord]:
        out = []
        for record in self.entries(since):
            if session is not EVERY and record.session != session:
                continue
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


class _Keeping:
    __slots__ = ("body", "journal", "reading", "record")

    def __init__(self, journal: Journal, record: RequestRecord, body: Any) -> None:
        self.journal, self.record, self.body = journal, record, body
        self.reading = attachments.reading()

    def __enter__(self) -> None:
        self.reading.__enter__()

    def __exit__(self, *exc: object) -> None:
        try:
            self.record.request_body, note = bounded(self.body, self.journal.body_limit, payloads=True)
            if note:
                self.record.notes.append("request body: " + note)
        finally:
            self.reading.__exit__()
