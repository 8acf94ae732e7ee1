"""SSE framing, chunking and pacing, and the ASGI responses that play answers out.

This is the only module that knows how an event is framed on the wire, how a reply is
cut into chunks, and how time passes while it streams: time to first token, the gap
between chunks, and the scripted faults (drop, truncate, error, hang). Waits listen for
the client going away, so an abandoned stream leaves no task behind.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from mockopper.scenarios import FaultSpec, StreamSpec

__all__ = [
    "BodyResponse",
    "ClientWatch",
    "Event",
    "Playback",
    "SSEReader",
    "SSEResponse",
    "ServerEvent",
    "chunk_text",
    "compact_json",
    "frame",
    "play",
    "play_frames",
    "strike_index",
]

_WORD = re.compile(r"\s*\S+|\s+$")
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
# Unpaced events go out in writes of this many (small enough that a client's reads keep them whole).
_BATCH = 32
KEEP_BYTES = 64 * 1024


def compact_json(value: Any) -> str:
    """JSON as the wire carries it: no spaces, UTF-8 left as is, except the three characters
    some line readers take for line breaks (NEL, LINE and PARAGRAPH SEPARATOR), escaped so an
    SSE event always stays on its one `data:` line."""
    text = _COMPACT.encode(value)
    if "\u2028" in text or "\u2029" in text or "\x85" in text:
        text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").replace("\x85", "\\u0085")
    return text


def chunk_text(text: str, chunk: str | int) -> tuple[str, ...]:
    """Cut text into stream chunks; joined back together they give the text exactly."""
    if not text:
        return ()
    if chunk == "word":
        pieces = _WORD.findall(text)
        return tuple(pieces) if "".join(pieces) == text else (text,)
    if chunk == "char":
        return tuple(text)
    if chunk == "line":
        return tuple(text.splitlines(keepends=True))
    size = int(chunk)
    return tuple(text[i : i + size] for i in range(0, len(text), size))


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


@dataclass(slots=True)
class Playback:
    """What happened while an answer was played out, for the journal (which keeps a stream's
    first `KEEP_BYTES` of events, so a long stream cannot fill memory)."""

    outcome: str = "complete"  # complete | disconnect | truncate | error | hang | client_closed
    frames: list[str] = field(default_factory=list)
    chunks: int = 0
    kept: int = 0  # bytes of frames kept
    omitted: int = 0  # frames not kept

    def keep(self, frame: str) -> None:
        if self.kept < KEEP_BYTES:
            self.frames.append(frame)
            self.kept += len(frame)
        else:
            self.omitted += 1


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
        raw.append((name.lower().encode("latin-1"), _header_value(value)))
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
                origin=_origin(self.started),
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


async def play(
    events: Iterable[Event],
    write: Callable[[Event], Awaitable[None]],
    *,
    pacing: StreamSpec,
    fault: FaultSpec | None,
    error_events: Callable[[], Iterable[Event]] | None,
    seed: int,
    playback: Playback,
    origin: float | None = None,
) -> str:
    """Write events with the scripted pacing; stop where the fault strikes. Returns the outcome.

    A fault `..._after: N` strikes before the (N+1)th content chunk; when the answer has N
    chunks or fewer it strikes right after the last one, before the closing events. A
    content event with `at_ms` goes out that long after `origin` (the request's start, in
    the event loop's clock; default: now), whatever the generated pacing says.
    """
    strike: int | None = None
    if fault is not None and not fault.hang:
        events = list(events)  # where the fault strikes depends on the whole stream
        strike = strike_index(events, fault)
    loop = asyncio.get_running_loop()
    ttft = pacing.ttft_ms / 1000
    interval = pacing.interval_ms / 1000
    jitter = pacing.jitter_ms / 1000
    timed = bool(ttft or interval or jitter)
    rng = random.Random(seed) if jitter else None
    now = loop.time()
    start = now if origin is None else origin
    due = now + ttft
    chunks = 0
    for index, event in enumerate(events):
        if index == strike:
            playback.chunks = chunks
            assert fault is not None
            return await _strike(fault.action, write, error_events)
        if event.content:
            if event.at_ms is not None:
                wait = start + event.at_ms / 1000 - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
            elif timed:
                if chunks:
                    gap = interval + (rng.uniform(-jitter, jitter) if rng else 0.0)
                    due += max(0.0, gap)
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
            chunks += 1
        await write(event)
    playback.chunks = chunks
    if strike is not None and isinstance(events, list) and strike >= len(events):
        assert fault is not None
        return await _strike(fault.action, write, error_events)
    return "complete"


def strike_index(events: Sequence[Event], fault: FaultSpec | None) -> int | None:
    """Where a fault cuts a stream: the index of the first event not sent (None: no cut).

    A fault `..._after: N` strikes before the (N+1)th content chunk; when the answer has N
    chunks or fewer it strikes right after the last one, before the closing events. A
    dialect whose error events continue a numbering (sequence numbers) reads this too.
    """
    if fault is None or fault.hang:
        return None
    last_content = max((i for i, e in enumerate(events) if e.content), default=0)
    content_seen = 0
    for i, event in enumerate(events):
        if event.content:
            if content_seen == fault.after:
                return i
            content_seen += 1
    return last_content + 1


async def play_frames(
    events: Iterable[Event],
    send: Callable[[str], Awaitable[None]],
    *,
    pacing: StreamSpec,
    fault: FaultSpec | None,
    error_events: Callable[[], Iterable[Event]] | None,
    delay_ms: float = 0,
    seed: int = 0,
    closed: Callable[[], Awaitable[None]],
    playback: Playback,
    started: float | None = None,
) -> str:
    """Plays a stream over a WebSocket: each event's JSON as one text frame, no SSE framing.

    Pacing and faults are those of `play`; `hang` waits until `closed()` returns (the
    client went away). Returns the outcome, as `play` does.
    """
    if delay_ms:
        await asyncio.sleep(delay_ms / 1000)
    if fault is not None and fault.hang:
        playback.outcome = "hang"
        await closed()
        return "hang"

    async def write(event: Event) -> None:
        data = event.payload()
        playback.keep(data)
        await send(data)

    return await play(
        events,
        write,
        pacing=pacing,
        fault=fault,
        error_events=error_events,
        seed=seed,
        playback=playback,
        origin=_origin(started),
    )


def _origin(started: float | None) -> float | None:
    """A `time.perf_counter()` instant in the event loop's clock."""
    if started is None:
        return None
    return asyncio.get_running_loop().time() - (time.perf_counter() - started)


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


async def _strike(
    action: str | None,
    write: Callable[[Event], Awaitable[None]],
    error_events: Callable[[], Iterable[Event]] | None,
) -> str:
    if action == "error_after":
        for event in error_events() if error_events else ():
            await write(event)
        return "error"
    if action == "truncate_after":
        return "truncate"
    return "disconnect"
