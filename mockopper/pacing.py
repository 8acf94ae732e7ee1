"""How an answer plays out over time: text cut into chunks, time to first token, the gap
between chunks, and where a scripted fault (drop, truncate, error) strikes.

`play` writes events through any transport (an SSE response, a WebSocket's frames) and
notes what happened in a `Playback`, which the journal keeps.
"""

from __future__ import annotations

import asyncio
import functools
import random
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field

from mockopper.replies import FaultSpec, StreamSpec
from mockopper.sse import Event

__all__ = [
    "KEEP_BYTES",
    "Playback",
    "chunk_arguments",
    "chunk_text",
    "loop_instant",
    "play",
    "play_frames",
    "strike_index",
]

_WORD = re.compile(r"\s*\S+|\s+$")
KEEP_BYTES = 64 * 1024


def chunk_text(text: str, chunk: str | int) -> tuple[str, ...]:
    """Cut text into stream chunks; joined back together they give the text exactly.

    A short text is cut once per chunking (an answer is cut to price its span and again to
    stream it, and a scripted answer comes back call after call); a long one every time.
    """
    if len(text) <= _CUT_ONCE:
        return _cut_once(text, chunk)
    return _cut(text, chunk)


def _cut(text: str, chunk: str | int) -> tuple[str, ...]:
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


# Texts up to this many characters are kept with their chunks, the 128 most recently cut:
# a few MB at most, however many distinct texts a server streams.
_CUT_ONCE = 2048
_cut_once = functools.lru_cache(maxsize=128)(_cut)


def chunk_arguments(text: str, pacing: StreamSpec) -> tuple[str, ...]:
    """Tool arguments in fragments: after each ',' or ':' for word chunking, else as text."""
    if pacing.chunk == "word":
        pieces: list[str] = []
        start = 0
        in_string = False
        escaped = False
        for i, ch in enumerate(text):
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = not in_string
            elif ch in ",:" and not in_string:
                pieces.append(text[start : i + 1])
                start = i + 1
        if start < len(text):
            pieces.append(text[start:])
        return tuple(pieces)
    return chunk_text(text, pacing.chunk)


@dataclass(slots=True)
class Playback:
    """What happened while an answer was played out, for the journal (which keeps a stream's
    first `KEEP_BYTES` of events, so a long stream cannot fill memory)."""

    outcome: str = "complete"  # complete | disconnect | truncate | error | hang | client_closed
    frames: list[str] = field(default_factory=list)
    chunks: int = 0
    kept: int = 0  # bytes of frames kept
    omitted: int = 0  # frames not kept
    stream: bytes | None = None  # a whole stream sent in one piece, its frames not yet kept (`keep_stream`)

    def keep(self, frame: str) -> None:
        if self.kept < KEEP_BYTES:
            self.frames.append(frame)
            self.kept += len(frame)
        else:
            self.omitted += 1

    def keep_stream(self, stream: bytes) -> None:
        """Keep the frames of a whole SSE stream sent in one piece, as `keep` would have kept them one by one."""
        text = stream.decode()
        start = 0
        while start < len(text):
            end = text.find("\n\n", start)
            end = len(text) if end < 0 else end + 2
            if self.kept >= KEEP_BYTES:
                self.omitted += text.count("\n\n", start) + (0 if text.endswith("\n\n") else 1)
                return
            self.keep(text[start:end])
            start = end


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
        origin=loop_instant(started),
    )


def loop_instant(started: float | None) -> float | None:
    """A `time.perf_counter()` instant in the event loop's clock."""
    if started is None:
        return None
    return asyncio.get_running_loop().time() - (time.perf_counter() - started)


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
