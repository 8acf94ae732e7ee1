"""WebSocket mode (`responses.connect()`, OpenResponses over WebSocket): each message on a connection is a turn.

A turn runs the pipeline's stages from parse to record, like an HTTP request, and is
journaled on its own; its answer plays out as the surface's stream events, one JSON text
frame each, with the reply's pacing and faults. A turn that fails sends the surface's
WebSocket error and the connection stays open; `disconnect_after` closes it with 1011 and
`truncate_after` with 1000. The connection keeps its own memory (`Call.connection`) of
the answers a later turn may continue from.
"""

from __future__ import annotations

import asyncio
import functools
import time

from starlette.responses import Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from mockopper import bodies, fakes
from mockopper.answers import Answer, Failure
from mockopper.auth import authenticate
from mockopper.conversation import Conversation
from mockopper.dialects.base import Call, RequestError, Route, Surface
from mockopper.history import History
from mockopper.journal import RequestRecord
from mockopper.pacing import Playback, play_frames
from mockopper.pipeline import Pipeline
from mockopper.respond import fault_failure, json_bytes
from mockopper.turn import Turn

__all__ = ["Conversations"]


class Conversations:
    """The ASGI endpoint of one WebSocket path, over the server's pipeline."""

    def __init__(self, pipeline: Pipeline, route: Route, surface: Surface) -> None:
        self.pipeline = pipeline
        self.route = route
        self.surface = surface

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.converse(WebSocket(scope, receive, send))

    async def converse(self, websocket: WebSocket) -> None:
        """One connection: authenticated at the handshake, then its messages as turns, one after another."""
        pipeline, surface = self.pipeline, self.surface
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in websocket.scope["headers"]}
        query = dict(websocket.query_params)
        params = {**self.route.params, **websocket.path_params}
        session, refused = pipeline.session_of(headers)
        connection = History(pipeline.settings.history_size)
        call = Call("WEBSOCKET", websocket.url.path, params, query, headers, session, connection)

        failure = refused or authenticate(headers, query, pipeline.settings.api_key)
        if failure is not None:
            # Refused at the handshake, with the surface's HTTP error, as an HTTP API refuses a request.
            record = pipeline.open(call, surface, time.perf_counter(), stream=True).record
            body = surface.error_body(failure)
            record.status, record.response_body, record.reply_kind = failure.status, body, "error"
            record.outcome = "error"
            pipeline.journal.close(record)
            headers_out = dict(surface.error_headers(failure))
            await websocket.send_denial_response(
                Response(json_bytes(body), failure.status, headers_out, media_type="application/json")
            )
            return
        await websocket.accept()
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            turn = pipeline.open(call, surface, time.perf_counter(), stream=True)
            raw = message.get("bytes") or (message.get("text") or "").encode()
            decided = False
            try:
                turn.body = surface.websocket_body(bodies.decode(raw), call)
                pipeline.run(turn)
                decided = True
                failure = turn.failure
            except RequestError as exc:
                failure = exc.failure()
            try:
                if decided and turn.forward:
                    if await self._forward(websocket, turn):
                        continue
                    return  # the caller left, or the upstream dropped the connection
                if failure is not None:
                    await self._error(websocket, turn.record, failure, turn.started)
                    continue
                assert turn.conv is not None and turn.answer is not None
                outcome = await self._answer(websocket, turn.conv, turn.answer, turn.record, turn.started)
            except WebSocketDisconnect:
                return
            if outcome == "disconnect":
                await websocket.close(1011, "connection dropped")
            elif outcome == "truncate":
                await websocket.close(1000)
            if outcome not in ("complete", "error"):
                return  # dropped, truncated, or the client left while the answer hung

    async def _forward(self, websocket: WebSocket, turn: Turn) -> bool:
        """The turn, sent upstream as the streamed request it stands for; False when the connection ends."""
        assert turn.conv is not None
        refuse = functools.partial(self._error, websocket, turn.record, started=turn.started)
        journal = self.pipeline.journal
        args = (journal, websocket, self.surface, turn.call, turn.body, turn.conv, turn.record, turn.started, refuse)
        return await self.pipeline.upstream.socket(*args)

    async def _answer(
        self, websocket: WebSocket, conv: Conversation, answer: Answer, record: RequestRecord, started: float
    ) -> str:
        surface = self.surface
        record.status = 200
        playback = Playback()
        in_stream = fault_failure(answer)

        async def closed() -> None:
            while (await websocket.receive())["type"] != "websocket.disconnect":
                pass

        outcome = "client_closed"
        try:
            outcome = await play_frames(
                surface.events(conv, answer),
                websocket.send_text,
                pacing=answer.pacing,
                fault=answer.fault,
                error_events=lambda: surface.error_events(conv, answer, in_stream),
                delay_ms=answer.delay_ms,
                seed=fakes.derive(answer.key, "pacing"),
                closed=closed,
                playback=playback,
                started=started,
            )
        finally:
            record.outcome = outcome
            record.response_events = playback.frames
            record.events_omitted = playback.omitted
            record.duration_ms = round((time.perf_counter() - started) * 1000, 3)
            self.pipeline.journal.close(record)
        return outcome

    async def _error(self, websocket: WebSocket, record: RequestRecord, failure: Failure, started: float) -> None:
        surface = self.surface
        record.status = failure.status
        record.response_body = surface.error_body(failure)
        if record.reply_kind is None:
            record.reply_kind = "error"
        frames = [event.payload() for event in surface.websocket_error_events(failure)]
        record.response_events = frames
        try:
            if failure.delay_ms:
                await asyncio.sleep(failure.delay_ms / 1000)
            for frame in frames:
                await websocket.send_text(frame)
            record.outcome = "error"
        except WebSocketDisconnect:
            record.outcome = "client_closed"
            raise
        finally:
            record.duration_ms = round((time.perf_counter() - started) * 1000, 3)
            self.pipeline.journal.close(record)
