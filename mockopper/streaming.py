"""The ASGI responses that play an answer out over HTTP: a whole body, or an event stream.

`BodyResponse` sends a JSON (or other) body, optionally delayed, hung, or dropped by a
fault; `SSEResponse` plays events as `text/event-stream` with the scripted pacing and
faults (`pacing.play`). Waits listen for the client going away (`ClientWatch`), so an
abandoned stream leaves no task behind.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mockopper.pacing import (
    KEEP_BYTES,
    Playback,
    loop_instant,
    play,
)
from mockopper.replies import FaultSpec, StreamSpec
from mockopper.sse import (
    Event,
    frame,
)

__all__ = ["BodyResponse", "ClientWatch", "SSEResponse"]

# Unpaced events go out in writes of this many (small enough that a client's reads keep them whole).
_BATCH = 32


class ClientWatch:
    """Cancels the current task when the client disconnects (only while active)."""

    def __init__(self, receive: Receive) -> None:
        self.receive = receive
        self.disconnected = False
        self._task: asyncio.Task[None] | None = None
        self._owner: asyncio.Task[Any] | None = None

    def start(self) -> None:
        if self._task is None:
            self._owner = asyncio.current_task()
            self._task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while True:
            message: Message = await self.receive()
            if message["type"] == "http.disconnect":
                self.disconnected = True
                if self._owner is not None:
                    self._owner.cancel()
                return

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def absorb(self) -> bool:
        """After a CancelledError: True if it came from the client leaving (and is absorbed)."""
        if not self.disconnected:
            return False
        owner = self._owner
        uncancel = getattr(owner, "uncancel", None)
        if uncancel is not None:
            uncancel()
        return True


async def _forever() -> None:
    await asyncio.Event().wait()


def _start(status: int, headers: Iterable[tuple[str, str]], content_type: str) -> Message:
    raw = [(b"content-type", content_type.encode())]
    for name, value in headers:
        raw.append(
            (
                name.lower().encode("latin-1"),
                value.encode() if value.isascii() and value.isprintable() else _header_value(value),
            )
        )
    return {"type": "http.response.start", "status": status, "headers": raw}


_UNSAFE_IN_HEADER = re.compile(r"[^\x20-\x7e\t]")


def _header_value(value: str) -> bytes:
    """A header value as bytes HTTP allows: anything outside printable ASCII (a model id in
    another script, a line break) is percent-encoded as UTF-8 rather than breaking the response."""
    if _UNSAFE_IN_HEADER.search(value):
        value = _UNSAFE_IN_HEADER.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), value)
    return value.encode("ascii")


class BodyResponse:
    """A complete JSON (or other) body, optionally delayed, hung, or dropped by a fault."""

    def __init__(
        self,
        status: int,
        body: bytes,
        headers: Iterable[tuple[str, str]] = (),
        *,
        content_type: str = "application/json",
        delay_ms: float = 0,
        fault: FaultSpec | None = None,
        on_done: Callable[[Playback], None] | None = None,
    ) -> None:
        self.status = status
        self.body = body
        self.headers = list(headers)
        self.content_type = content_type
        self.delay_ms = delay_ms
        self.fault = fault
        self.on_done = on_done

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        fault = self.fault
        if fault is None and not self.delay_ms:  # the common case: nothing to wait for
            await send(_start(self.status, [*self.headers, ("content-length", str(len(self.body)))], self.content_type))
            await send({"type": "http.response.body", "body": self.body, "more_body": False})
            if self.on_done is not None:
                self.on_done(Playback())
            return
        playback = Playback()
        watch = ClientWatch(receive)
        try:
            if self.delay_ms or (fault is not None and fault.hang):
                watch.start()
                if self.delay_ms:
                    await asyncio.sleep(self.delay_ms / 1000)
                if fault is not None and fault.hang:
                    playback.outcome = "hang"
                    await _forever()
            watch.stop()
            if fault is not None and fault.action in ("disconnect_after", "truncate_after"):
                # Headers go out, the body never does: the client sees the connection drop.
                playback.outcome = "disconnect"
                await send(
                    _start(self.status, [*self.headers, ("content-length", str(len(self.body)))], self.content_type)
                )
                return
            await send(_start(self.status, [*self.headers, ("content-length", str(len(self.body)))], self.content_type))
            await send({"type": "http.response.body", "body": self.body, "more_body": False})
        except asyncio.CancelledError:
            watch.stop()
            if not watch.absorb():
                raise
            playback.outcome = "client_closed" if playback.outcome != "hang" else "hang"
        finally:
            if self.on_done is not None:
                self.on_done(playback)


class SSEResponse:
    """Plays a stream of events as `text/event-stream`, with pacing and scripted faults."""

    def __init__(
        self,
        events: Iterable[Event],
        headers: Iterable[tuple[str, str]] = (),
        *,
        pacing: StreamSpec,
        fault: FaultSpec | None = None,
        error_events: Callable[[], Iterable[Event]] | None = None,
        delay_ms: float = 0,
        seed: int = 0,
        on_done: Callable[[Playback], None] | None = None,
        record: bool = True,
        started: float | None = None,
    ) -> None:
        self.started = started  # time.perf_counter() when the request arrived: what `Event.at_ms` counts from
        self.events = events
        self.headers = list(headers)
        self.pacing = pacing
        self.fault = fault
        self.error_events = error_events
        self.delay_ms = delay_ms
        self.seed = seed
        self.on_done = on_done
        self.record = record

    @classmethod
    def whole(
        cls, stream: bytes, headers: Iterable[tuple[str, str]], on_done: Callable[[Playback], None] | None
    ) -> ASGIApp:
        """A stream with nothing to wait for and no fault, its events already framed: sent in one write."""
        start = _start(200, [*headers, ("cache-control", "no-cache")], "text/event-stream")

        async def play(scope: Scope, receive: Receive, send: Send) -> None:
            playback = Playback()
            try:
                await send(start)
                await send({"type": "http.response.body", "body": stream, "more_body": False})
                playback.stream = stream  # the journal keeps its frames
            finally:
                if on_done is not None:
                    on_done(playback)

        return play

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        playback = Playback()
        record = self.record
        watch = ClientWatch(receive)
        pacing = self.pacing
        paced = bool(self.delay_ms or pacing.ttft_ms or pacing.interval_ms or pacing.jitter_ms or pacing.recorded)
        fault = self.fault
        try:
            if paced or (fault is not None and fault.hang):
                watch.start()
            if self.delay_ms:
                await asyncio.sleep(self.delay_ms / 1000)
            if fault is not None and fault.hang:
                playback.outcome = "hang"
                await _forever()
            await send(_start(200, [*self.headers, ("cache-control", "no-cache")], "text/event-stream"))
            # Without pacing nothing waits between events, so they go out together, each whole.
            pending: list[bytes] | None = None if paced else []

            async def write(event: Event) -> None:
                data = frame(event)
                if record and playback.kept < KEEP_BYTES:
                    playback.keep(data.decode())
                elif record:
                    playback.omitted += 1
                if pending is None:
                    await send({"type": "http.response.body", "body": data, "more_body": True})
                    return
                pending.append(data)
                if len(pending) >= _BATCH:
                    await send({"type": "http.response.body", "body": b"".join(pending), "more_body": True})
                    pending.clear()

            outcome = await play(
                self.events,
                write,
                pacing=self.pacing,
                fault=fault,
                error_events=self.error_events,
                seed=self.seed,
                playback=playback,
                origin=loop_instant(self.started),
            )
            watch.stop()
            playback.outcome = outcome
            rest = b"".join(pending) if pending else b""
            if outcome == "disconnect":
                if rest:
                    await send({"type": "http.response.body", "body": rest, "more_body": True})
                return  # leaving without finishing the body makes the server drop the connection
            await send({"type": "http.response.body", "body": rest, "more_body": False})
        except asyncio.CancelledError:
            watch.stop()
            if not watch.absorb():
                raise
            if playback.outcome != "hang":
                playback.outcome = "client_closed"
        finally:
            if self.on_done is not None:
                self.on_done(playback)
