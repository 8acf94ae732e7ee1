"""The forwarding step of the pipeline (`serve --upstream`, `--record`): what no rule answers goes upstream.

`Upstream` is a server's way out: the forwarder and recorder its settings ask for, and
whether forwarding is on (the pytest plugin turns it on only for a test whose cassette
records). A forwarded request is journaled as such, with the upstream's status and
answer; with a recorder, the exchange becomes a rule once it is over (and before the
journal entry is finished, so a finished entry's exchange is in the recording).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from mockopper.answers import Failure
from mockopper.conversation import Conversation
from mockopper.journal import Journal, RequestRecord
from mockopper.sse import compact_json

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Scope
    from starlette.websockets import WebSocket

    from mockopper.dialects.base import Call, Surface
    from mockopper.recorder import Recorder
    from mockopper.upstream import Capture, Forwarder

__all__ = ["Upstream"]


class Upstream:
    """The forwarder (None without an upstream URL) and recorder (None without a file) of one server."""

    def __init__(
        self,
        url: str | None,
        *,
        timeout: float = 600,
        record: str | None = None,
        redact: Sequence[str] = (),
        base_path: str = "/v3/compat",
    ) -> None:
        self.forwarder: Forwarder | None = None
        self.recorder: Recorder | None = None
        self.base_path = base_path
        if url is not None:  # httpx and the recorder are imported only for a server that forwards
            from mockopper.upstream import Forwarder, display_url

            self.forwarder = Forwarder(url, timeout=timeout)
            if record is not None:
                from mockopper.recorder import Recorder

                self.recorder = Recorder(record, redact=redact, source=display_url(url))
        self.enabled = self.forwarder is not None  # off: what no rule answers gets the near-miss error

    def forwards(self, unmatched: bool) -> bool:
        return unmatched and self.enabled and self.forwarder is not None

    async def aclose(self) -> None:
        if self.forwarder is not None:
            await self.forwarder.aclose()

    # --- HTTP ---------------------------------------------------------------------------

    def http(
        self,
        journal: Journal,
        surface: Surface,
        call: Call,
        scope: Scope,
        raw: bytes,
        conv: Conversation | None,
        record: RequestRecord,
        started: float,
        refuse: Callable[[Failure], ASGIApp],
    ) -> ASGIApp:
        """The upstream's answer to this request, passed on as it arrives (`conv` None: not recordable)."""
        from mockopper.upstream import Forwarding

        assert self.forwarder is not None
        recorder = self.recorder  # the one in force when the request came: its exchange goes there
        record.forwarded, record.unmatched, record.reply_kind = True, False, "forwarded"
        journal.publish(record)

        def done(capture: Capture | None) -> None:
            if capture is None:
                return  # refused: the error response finishes the journal entry
            record.status = capture.status
            record.response_headers = {k: v for k, v in capture.headers.items() if k != "set-cookie"}
            if capture.events is not None:
                record.response_events, record.events_omitted = capture.frames, capture.omitted
            else:
                record.response_body = capture.journal_body()
            if recorder is not None:
                if conv is None:
                    recorder.skip(f"{call.method} {call.path}", "it continues a conversation the upstream holds")
                else:
                    record.recorded = _record(recorder, surface, call, conv, capture)
            record.outcome = capture.outcome  # last: a finished entry's exchange is in the recording
            record.duration_ms = round((time.perf_counter() - started) * 1000, 3)
            journal.close(record)

        return Forwarding(
            self.forwarder,
            call.method,
            call.path[len(self.base_path) :],
            scope["query_string"],
            scope["headers"],
            raw,
            started=started,
            refuse=lambda status, message: refuse(_unavailable(status, message)),
            on_done=done,
            finish=recorder is not None,
        )

    # --- WebSocket turns ----------------------------------------------------------------

    async def socket(
        self,
        journal: Journal,
        websocket: WebSocket,
        surface: Surface,
        call: Call,
        body: Any,
        conv: Conversation,
        record: RequestRecord,
        started: float,
        refuse: Callable[[Failure], Awaitable[None]],
    ) -> bool:
        """A WebSocket turn, forwarded as the streamed request it stands for; False when the connection ends."""
        from mockopper.upstream import Unavailable

        assert self.forwarder is not None
        recorder = self.recorder
        record.forwarded, record.unmatched, record.reply_kind = True, False, "forwarded"
        payload = compact_json({**body, "stream": True}).encode()
        path = call.path[len(self.base_path) :]
        try:
            capture = await self.forwarder.turn(path, websocket.scope["headers"], payload, started, websocket.send_text)
        except Unavailable as exc:
            await refuse(_unavailable(exc.status, exc.message))
            return True
        if recorder is not None:
            record.recorded = _record(recorder, surface, call, conv, capture)
        record.status, record.outcome = capture.status, capture.outcome
        record.response_events, record.events_omitted = capture.frames, capture.omitted
        if capture.status >= 400 and capture.events is None:  # refused: its error, as the WebSocket sends one
            error = capture.journal_body()
            message = str(error.get("error", {}).get("message") or error) if isinstance(error, dict) else str(error)
            await refuse(Failure(capture.status, message, source="upstream"))
            return True
        record.duration_ms = round((time.perf_counter() - started) * 1000, 3)
        journal.close(record)
        if capture.dropped:
            await websocket.close(1011, "connection dropped")
        return not (capture.dropped or capture.client_closed)


def _unavailable(status: int, message: str) -> Failure:
    return Failure(status, message, code="upstream_unavailable", source="upstream")


def _record(recorder: Recorder, surface: Surface, call: Call, conv: Conversation, capture: Capture) -> bool:
    """Turn a forwarded exchange into a rule of the recording; False (with a warning) when it cannot be read."""
    from mockopper.exchange import Unreadable
    from mockopper.redaction import secrets_of

    where = f"{call.method} {call.path}"
    if capture.oversized:
        recorder.skip(where, "the answer is too large to record")
        return False
    try:
        reply = surface.read_reply(conv, capture.exchange())
    except Unreadable as exc:
        recorder.skip(where, str(exc))
        return False
    recorder.record(conv, reply, secrets_of(call.headers, call.query))
    return True
