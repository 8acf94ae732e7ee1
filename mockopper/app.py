"""create_app(): the routes, built from the dialect registry, and the one request pipeline.

Every compat request goes through `MockApp.handle`: authenticate -> parse (the
surface's dialect) -> decide (the engine walks the fallback chain) -> record (the
journal) -> respond (render or stream, with the reply's pacing and faults). With an
upstream (`serve --upstream`), a request no rule answers is forwarded instead
(`forwarding.Upstream`), and with `--record` the exchange becomes a rule (`recorder`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import math
import re
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, WebSocketRoute
from starlette.routing import Route as StarletteRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from mockopper import admin, fakes
from mockopper.conversation import Conversation
from mockopper.dialects import all_surfaces
from mockopper.dialects.base import Call, RequestError, Route, Surface, not_found_body
from mockopper.engine import Answer, Decision, Engine, Failure
from mockopper.fleet import fleet
from mockopper.forwarding import Upstream
from mockopper.history import History
from mockopper.journal import DEFAULT_BODY_LIMIT, Journal, RequestRecord, redact_headers, redact_query
from mockopper.loader import load_file
from mockopper.matching import describe_unmatched
from mockopper.opper import layer
from mockopper.opper.routes import routes as opper_routes
from mockopper.opper.tracing import TraceStore
from mockopper.scenarios import Scenario
from mockopper.sessions import HEADER as SESSION_HEADER
from mockopper.sessions import Sessions, check_name
from mockopper.streaming import BodyResponse, Playback, SSEResponse, compact_json, play_frames

__all__ = ["BASE_PATH", "MockApp", "Settings", "create_app"]

BASE_PATH = "/v3/compat"

_EXPOSED = [
    "x-mockopper-model",
    "x-mockopper-attempts",
    "x-mockopper-rule",
    "x-request-id",
    "request-id",
    "retry-after",
    "retry-after-ms",
    "x-should-retry",
    layer.COST_HEADER,
    layer.TRACE_HEADER,
]


@dataclass(frozen=True)
class Settings:
    """Server settings that are not part of a scenario."""

    api_key: str | None = None
    admin_token: str | None = None
    cors_origins: tuple[str, ...] = ("*",)
    max_body_bytes: int = 32 * 1024 * 1024
    journal_size: int = 1000
    journal_body_limit: int = DEFAULT_BODY_LIMIT  # characters of JSON a journaled body keeps
    history_size: int = 1000
    max_sessions: int = 1000
    trace_size: int = 1000
    seed: int | None = None
    upstream: str | None = None  # forward what no rule answers to this compat base URL
    upstream_timeout: float = 600  # seconds the upstream may take to answer (connecting: at most 10)
    record: str | None = None  # record forwarded exchanges into this scenario file
    redact: tuple[str, ...] = ()  # patterns replaced with *** in recordings


def _json_bytes(value: Any) -> bytes:
    return compact_json(value).encode()


class _CORS:
    """CORS: the compat API answers the configured origins (any by default); the admin API only
    pages served from this machine (localhost) and origins configured by name, so a page on
    the open web cannot read the journal or swap the scenario through the user's browser."""

    def __init__(self, app: ASGIApp, origins: Sequence[str]) -> None:
        common: dict[str, Any] = {"allow_methods": ["*"], "allow_headers": ["*"], "max_age": 600}
        self.compat = CORSMiddleware(app, allow_origins=list(origins), expose_headers=_EXPOSED, **common)
        self.admin = CORSMiddleware(
            app, allow_origins=[o for o in origins if o != "*"], allow_origin_regex=admin.LOCAL_ORIGIN, **common
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(admin.PREFIX):
            await self.admin(scope, receive, send)
        else:
            await self.compat(scope, receive, send)


class _Endpoint:
    """The ASGI endpoint for one path: picks the surface (by headers on shared paths) and runs the pipeline."""

    def __init__(self, mock: MockApp, route: Route, surfaces: Sequence[Surface]) -> None:
        self.mock = mock
        self.route = route
        self.surfaces = list(surfaces)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.mock.handle(scope, receive, self.route, self.surfaces)
        await response(scope, receive, send)


class _Socket:
    """The ASGI endpoint for one WebSocket path: each message on a connection is one turn."""

    def __init__(self, mock: MockApp, route: Route, surface: Surface) -> None:
        self.mock = mock
        self.route = route
        self.surface = surface

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.mock.converse(WebSocket(scope, receive, send), self.route, self.surface)


@dataclass(slots=True)
class _Turn:
    """What the pipeline made of one request: its conversation, the decision, the failure to render."""

    conv: Conversation
    decision: Decision
    headers: list[tuple[str, str]]
    failure: Failure | None
    exchange: layer.Exchange

    @property
    def answer(self) -> Answer | None:
        return self.decision.answer


class MockApp:
    """One mock server: its sessions (each a scenario, counters and history), its journal, its ASGI app."""

    def __init__(self, scenario: Scenario | None = None, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.engine = Engine(seed=self.settings.seed)
        compiled = self.engine.compile(scenario or load_file("default.yaml"))
        self.sessions = Sessions(compiled, limit=self.settings.max_sessions, history_size=self.settings.history_size)
        self.journal = Journal(self.settings.journal_size, self.settings.journal_body_limit)
        self.traces = TraceStore(self.settings.trace_size)  # each call's span is read from its journal record
        self.journal.subscribe(self.traces.on_journal)
        self.surfaces = all_surfaces()
        self.upstream = Upstream(
            self.settings.upstream,
            timeout=self.settings.upstream_timeout,
            record=self.settings.record,
            redact=self.settings.redact,
            base_path=BASE_PATH,
        )
        self.asgi = self._build()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The compat paths without parameters skip the router and its middleware, unless a
        # browser is asking (an `origin` header): then CORS has a say.
        if scope["type"] == "http":
            endpoint = self._static.get((scope["path"], scope["method"]))
            if endpoint is not None and not any(name == b"origin" for name, _ in scope["headers"]):
                await endpoint(scope, receive, send)
                return
        await self.asgi(scope, receive, send)

    # --- state ------------------------------------------------------------------------

    @property
    def scenario(self) -> Scenario:
        """The server's scenario: what the default session, and every session without its own, serves."""
        return self.sessions.default.scenario

    def load(self, scenario: Scenario) -> None:
        """Serve another scenario from now on (atomic), with fresh counters."""
        self.sessions.load(self.engine.compile(scenario))
        self.traces.clear()
        self.journal.notify("scenario")

    def reset(self) -> None:
        """Forget the journal, the traces, every named session and every counter; keep the scenario."""
        self.sessions.reset()
        self.journal.clear()
        self.traces.clear()

    def load_session(self, name: str, scenario: Scenario) -> None:
        """Serve `scenario` in session `name` (created if new), with fresh counters."""
        self.sessions.get(name).serve(self.engine.compile(scenario), own=True)
        self.journal.notify("scenario")

    def reset_session(self, name: str) -> None:
        """Forget session `name`'s counters, history and journal entries; keep its scenario."""
        session = self.sessions.find(name)
        if session is not None:
            session.reset()
        self.journal.clear(session=name)

    def drop_session(self, name: str) -> bool:
        """Forget session `name` altogether (its journal entries too); False if there was none."""
        self.journal.clear(session=name)
        return self.sessions.drop(name)

    # --- routes -----------------------------------------------------------------------

    def _build(self) -> Starlette:
        by_path: dict[tuple[str, tuple[str, ...]], list[Surface]] = {}
        routes_by_key: dict[tuple[str, tuple[str, ...]], Route] = {}
        for surface in self.surfaces:
            for route in surface.routes:
                key = (route.path, route.methods)
                by_path.setdefault(key, []).append(surface)
                routes_by_key.setdefault(key, route)
        endpoints = {
            (path, methods): _Endpoint(self, routes_by_key[(path, methods)], surfaces)
            for (path, methods), surfaces in by_path.items()
        }
        self._static = {
            (BASE_PATH + path, method): endpoint
            for (path, methods), endpoint in endpoints.items()
            if "{" not in path
            for method in methods
        }
        routes: list[Any] = [
            StarletteRoute(BASE_PATH + path, endpoint, methods=list(methods))
            for (path, methods), endpoint in endpoints.items()
        ]
        routes += [
            WebSocketRoute(BASE_PATH + route.path, _Socket(self, route, surface))
            for surface in self.surfaces
            for route in surface.websocket_routes
        ]
        compat = list(routes)
        routes += admin.routes(self)
        routes += opper_routes(self, self._authenticate)
        routes.append(StarletteRoute("/{path:path}", _Unrouted(self, compat)))
        middleware = [Middleware(_CORS, origins=self.settings.cors_origins)]
        return Starlette(routes=routes, middleware=middleware, lifespan=self._lifespan)

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        yield
        await self.upstream.aclose()  # the upstream connection pool goes with the server

    # --- the pipeline -----------------------------------------------------------------

    async def handle(self, scope: Scope, receive: Receive, route: Route, surfaces: Sequence[Surface]) -> ASGIApp:
        started = time.perf_counter()
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        raw_query = scope["query_string"]
        query = dict(parse_qsl(raw_query.decode("latin-1"), keep_blank_values=True)) if raw_query else {}
        path_params = scope.get("path_params")
        params = {**route.params, **path_params} if path_params else route.params
        name = headers.get(SESSION_HEADER)
        refused = check_name(name) if name is not None else None
        session = self.sessions.get(name if refused is None else None)
        call = Call(scope["method"], scope["path"], params, query, headers, session)
        surface = _pick(surfaces, call)
        record = self.journal.open(
            call.method,
            call.path,
            api=surface.api,
            session=session.name,
            query=redact_query(query) if query else {},
            request_headers=redact_headers(headers),
        )
        # One id per request, sent under the header names the surface's vendor uses.
        request_id = self._request_id(call, record)
        ids = [(name, request_id) for name in surface.request_id_headers]
        raw = b""
        try:
            if refused is not None:
                raise RequestError(400, f"Invalid {SESSION_HEADER} header: {refused}.", code="invalid_session")
            failure = self._authenticate(call)
            if failure is not None:
                return self._error(surface, call, record, failure, started, ids, request_id)
            if surface.kind == "list":
                return self._models(surface, call, record, started, ids)
            raw = await self._read_body(headers, receive)
            body = _decode_json(raw)
            if surface.kind == "direct":
                return self._direct(surface, call, body, record, started)
            turn = self._decide(surface, call, body, record, ids)
        except RequestError as exc:
            if exc.unknown_reference and self.upstream.forwards(True):
                # It continues what the upstream answered: forwarded, but not recordable on its own.
                return self._forward(surface, call, scope, raw, None, record, started, ids, request_id)
            return self._error(surface, call, record, exc.failure(), started, ids, request_id)
        if self._forwards(turn):
            return self._forward(surface, call, scope, raw, turn.conv, record, started, ids, request_id)
        if turn.failure is not None:
            return self._error(surface, call, record, turn.failure, started, turn.headers, request_id)
        assert turn.answer is not None
        self.journal.publish(record)
        return self._answer(
            surface, call, turn.conv, turn.answer, record, turn.headers, started, request_id, turn.exchange
        )

    @staticmethod
    def _request_id(call: Call, record: RequestRecord) -> str:
        return "req_" + fakes.ident(call.path, "", record.seq, 20)

    def _decide(
        self, surface: Surface, call: Call, body: Any, record: RequestRecord, ids: Sequence[tuple[str, str]]
    ) -> _Turn:
        """Parse, decide and journal one request (an HTTP request or a WebSocket turn).

        A finished answer is remembered for continuation before it is played out. Raises
        RequestError for a body the surface refuses.
        """
        with self.journal.keeping(record, body):
            conv = surface.parse(body, call)
        record.attachments = [a.to_dict() for a in conv.attachments]
        record.model = conv.model
        record.chain = conv.chain
        record.stream = conv.stream
        record.tags = dict(conv.extras.tags)
        record.fallback_models = list(conv.extras.fallback_models)
        record.span_uuid = conv.extras.span_uuid
        record.evaluate = conv.extras.evaluate

        state = call.session.state
        scenario, seed = state.scenario, state.compiled.seed
        exchange = layer.begin(conv, call.headers, scenario)  # X-Opper-* headers: a 400 names a bad one
        exchange.attach(self.traces, record, conv, scenario, seed)
        conv = exchange.screen(conv, record)  # input guards, before matching: redact, or block
        decision = exchange.refusal(conv) or self.engine.decide(state, conv)
        record.attempts = [
            {"model": a.model, "outcome": a.outcome, "status": a.status, "rule": a.rule, "detail": a.detail}
            for a in decision.attempts
        ]
        record.rule = decision.rule
        record.reply_kind = decision.reply_kind
        record.answered_by = decision.model if decision.answer is not None else None
        headers_out = [
            ("x-mockopper-model", decision.answer.model if decision.answer else decision.model),
            ("x-mockopper-attempts", ",".join(a.model for a in decision.attempts)),
            *ids,
        ]
        if decision.rule:
            headers_out.append(("x-mockopper-rule", decision.rule))

        failure = decision.failure
        if failure is not None and decision.unmatched:
            assert decision.near_misses is not None
            message = describe_unmatched(call.method, call.path, decision.model, decision.near_misses)
            failure = replace(failure, message=message)
            record.unmatched = True
            record.explanation = message
        if decision.answer is not None:
            failure = exchange.finish(conv, decision.answer, scenario, record)  # output guards, then cost
            if exchange.blocked is None:
                surface.remember(conv, decision.answer, call)
        if exchange.blocked is not None:
            record.reply_kind = "blocked"
        if failure is not None:
            exchange.failed(conv, failure, record)
        return _Turn(conv, decision, headers_out, failure, exchange)

    def _answer(
        self,
        surface: Surface,
        call: Call,
        conv: Conversation,
        answer: Answer,
        record: RequestRecord,
        headers: list[tuple[str, str]],
        started: float,
        request_id: str,
        exchange: layer.Exchange,
    ) -> ASGIApp:
        fault = answer.fault
        record.status = 200

        def done(playback: Playback) -> None:
            record.outcome = playback.outcome
            if playback.frames:
                record.response_events = playback.frames
                record.events_omitted = playback.omitted
            record.duration_ms = round((time.perf_counter() - started) * 1000, 3)
            self.journal.close(record)

        if conv.stream:
            fault_failure = replace(_fault_failure(answer), request_id=request_id, now=answer.created)
            headers = [*headers, *layer.trace_headers(record, with_cost=False)]  # a stream's cost is in its usage
            record.response_headers = dict(headers)
            return SSEResponse(
                exchange.scrub_events(surface.events(conv, answer)),
                headers,
                pacing=answer.pacing,
                fault=fault,
                error_events=lambda: surface.error_events(conv, answer, fault_failure),
                delay_ms=answer.delay_ms,
                seed=fakes.derive(answer.key, "pacing"),
                on_done=done,
                started=started,
            )
        if fault is not None and fault.error_after is not None:
            failure = replace(_fault_failure(answer), delay_ms=answer.delay_ms)
            return self._error(surface, call, record, failure, started, headers, request_id)
        body = exchange.scrub(surface.render(conv, answer))
        headers = [*headers, *layer.trace_headers(record, with_cost=True)]
        payload = _json_bytes(body)
        self.journal.keep_response(record, body, len(payload))
        record.response_headers = dict(headers)
        return BodyResponse(200, payload, headers, delay_ms=answer.delay_ms, fault=fault, on_done=done)

    # --- forwarding (serve --upstream) -------------------------------------------------

    def _forwards(self, turn: _Turn) -> bool:
        """Whether this request goes to the upstream: forwarding is on and no rule answered it."""
        return self.upstream.forwards(turn.decision.unmatched)

    def _forward(
        self,
        surface: Surface,
        call: Call,
        scope: Scope,
        raw: bytes,
        conv: Conversation | None,
        record: RequestRecord,
        started: float,
        ids: Sequence[tuple[str, str]],
        request_id: str,
    ) -> ASGIApp:
        def refuse(failure: Failure) -> ASGIApp:  # the upstream cannot be reached: the surface's 502 (or 504)
            return self._error(surface, call, record, failure, started, ids, request_id)

        return self.upstream.http(self.journal, surface, call, scope, raw, conv, record, started, refuse)

    def _error(
        self,
        surface: Surface,
        call: Call,
        record: RequestRecord,
        failure: Failure,
        started: float,
        headers: Sequence[tuple[str, str]] = (),
        request_id: str | None = None,
    ) -> ASGIApp:
        compiled = call.session.state.compiled
        failure = replace(failure, request_id=request_id, now=compiled.now())
        layer.trace_request(self.traces, record, compiled.scenario, compiled.seed, surface.api)
        layer.trace_error(record, failure)
        body = surface.error_body(failure)
        out = [*headers, *layer.trace_headers(record, with_cost=False), *surface.error_headers(failure)]
        if (
            failure.should_retry is None
            and not any(k == "x-should-retry" for k, _ in out)
            and (failure.source in ("request", "unmatched"))
        ):
            out.append(("x-should-retry", "false"))
        record.status = failure.status
        record.response_body = body
        record.response_headers = dict(out)
        if record.reply_kind is None:
            record.reply_kind = "error"

        def done(playback: Playback) -> None:
            record.outcome = "error" if playback.outcome == "complete" else playback.outcome
            record.duration_ms = round((time.perf_counter() - started) * 1000, 3)
            self.journal.close(record)

        return BodyResponse(failure.status, _json_bytes(body), out, delay_ms=failure.delay_ms, on_done=done)

    def _models(
        self,
        surface: Surface,
        call: Call,
        record: RequestRecord,
        started: float,
        headers: Sequence[tuple[str, str]] = (),
    ) -> ASGIApp:
        compiled = call.session.state.compiled
        models = fleet(compiled.scenario, compiled.now())
        body = surface.list_models(models, call)
        record.status = 200
        record.reply_kind = "models"
        record.response_body = body
        record.response_headers = dict(headers)

        def done(playback: Playback) -> None:
            record.outcome = playback.outcome
            record.duration_ms = round((time.perf_counter() - started) * 1000, 3)
            self.journal.close(record)

        return BodyResponse(200, _json_bytes(body), headers, on_done=done)

    def _direct(self, surface: Surface, call: Call, body: Any, record: RequestRecord, started: float) -> ASGIApp:
        compiled = call.session.state.compiled
        with self.journal.keeping(record, body):
            answer = surface.respond(body, call, created=compiled.now(), seed=compiled.seed)
        layer.trace_request(self.traces, record, compiled.scenario, compiled.seed, surface.api)
        record.status = 200
        record.reply_kind = "direct"
        payload = _json_bytes(answer)
        self.journal.keep_response(record, answer, len(payload))

        def done(playback: Playback) -> None:
            record.outcome = playback.outcome
            record.duration_ms = round((time.perf_counter() - started) * 1000, 3)
            self.journal.close(record)

        return BodyResponse(200, payload, layer.trace_headers(record, with_cost=False), on_done=done)

    # --- WebSocket turns --------------------------------------------------------------

    async def converse(self, websocket: WebSocket, route: Route, surface: Surface) -> None:
        """One WebSocket connection: its messages are turns, run one after another.

        Each turn goes through `_decide` like an HTTP request and is journaled on its own;
        an answer plays out as the surface's stream events, one JSON text frame each, with
        the reply's pacing and faults. A turn that fails sends the surface's WebSocket error
        and the connection stays open; `disconnect_after` closes it with 1011 and
        `truncate_after` with 1000. The connection keeps its own memory (`Call.connection`).
        """
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in websocket.scope["headers"]}
        query = dict(websocket.query_params)
        params = {**route.params, **websocket.path_params}
        name = headers.get(SESSION_HEADER)
        refused = check_name(name) if name is not None else None
        session = self.sessions.get(name if refused is None else None)
        connection = History(self.settings.history_size)
        call = Call("WEBSOCKET", websocket.url.path, params, query, headers, session, connection)

        def open_record() -> RequestRecord:
            return self.journal.open(
                call.method,
                call.path,
                api=surface.api,
                session=session.name,
                query=redact_query(query),
                request_headers=redact_headers(headers),
                stream=True,
            )

        failure = self._authenticate(call)
        if refused is not None:
            failure = Failure(
                400, f"Invalid {SESSION_HEADER} header: {refused}.", code="invalid_session", source="request"
            )
        if failure is not None:
            # Refused at the handshake, with the surface's HTTP error, as an HTTP API refuses a request.
            record = open_record()
            body = surface.error_body(failure)
            record.status, record.response_body, record.reply_kind = failure.status, body, "error"
            record.outcome = "error"
            self.journal.close(record)
            headers_out = dict(surface.error_headers(failure))
            await websocket.send_denial_response(
                Response(_json_bytes(body), failure.status, headers_out, media_type="application/json")
            )
            return
        await websocket.accept()
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            started = time.perf_counter()
            record = open_record()
            ids = [(name, self._request_id(call, record)) for name in surface.request_id_headers]
            raw = message.get("bytes") or (message.get("text") or "").encode()
            turn: _Turn | None = None
            try:
                body = surface.websocket_body(_decode_json(raw), call)
                turn = self._decide(surface, call, body, record, ids)
                failure = turn.failure
            except RequestError as exc:
                failure = exc.failure()
            try:
                if turn is not None and self._forwards(turn):
                    refuse = functools.partial(self._socket_error, websocket, surface, record, started=started)
                    args = (self.journal, websocket, surface, call, body, turn.conv, record, started, refuse)
                    if await self.upstream.socket(*args):
                        continue
                    return  # the caller left, or the upstream dropped the connection
                if failure is not None:
                    await self._socket_error(websocket, surface, record, failure, started)
                    continue
                assert turn is not None and turn.answer is not None
                outcome = await self._socket_answer(websocket, surface, turn.conv, turn.answer, record, started)
            except WebSocketDisconnect:
                return
            if outcome == "disconnect":
                await websocket.close(1011, "connection dropped")
            elif outcome == "truncate":
                await websocket.close(1000)
            if outcome not in ("complete", "error"):
                return  # dropped, truncated, or the client left while the answer hung

    async def _socket_answer(
        self,
        websocket: WebSocket,
        surface: Surface,
        conv: Conversation,
        answer: Answer,
        record: RequestRecord,
        started: float,
    ) -> str:
        record.status = 200
        playback = Playback()
        fault_failure = _fault_failure(answer)

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
                error_events=lambda: surface.error_events(conv, answer, fault_failure),
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
            self.journal.close(record)
        return outcome

    async def _socket_error(
        self, websocket: WebSocket, surface: Surface, record: RequestRecord, failure: Failure, started: float
    ) -> None:
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
            self.journal.close(record)

    def _authenticate(self, call: Call) -> Failure | None:
        headers = call.headers
        key = None
        auth = headers.get("authorization", "")
        if auth[:7].lower() == "bearer ":
            key = auth[7:].strip()
        key = (
            key
            or headers.get("x-api-key")
            or headers.get("x-goog-api-key")
            or headers.get("x-opper-api-key")
            or call.query.get("key")
        )
        if not key:
            return Failure(
                401,
                "Missing API key. Send it as 'Authorization: Bearer KEY', 'x-api-key', "
                "'x-goog-api-key', 'x-opper-api-key' or '?key='.",
                code="missing_api_key",
                source="request",
            )
        expected = self.settings.api_key
        if expected is not None and key != expected:
            return Failure(401, "Invalid API key.", code="invalid_api_key", source="request")
        return None

    async def _read_body(self, headers: dict[str, str], receive: Receive) -> bytes:
        """The body's bytes; a 413 past `max_body_bytes`, declared or not (chunked).

        An oversized body is still read to its end (up to a bound) and thrown away: a server
        that answers while the client is still sending resets the connection, and the client
        would see a connection error (which SDKs retry) instead of the 413.
        """
        limit = self.settings.max_body_bytes
        declared = headers.get("content-length")
        too_large = declared is not None and declared.isdigit() and int(declared) > limit
        chunks = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                too_large = True
            if too_large:
                if size > limit + _DRAIN_BYTES:
                    break
            else:
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
        if too_large:
            shown = f"{declared} bytes" if declared is not None and declared.isdigit() else f"over {limit} bytes"
            raise RequestError(
                413, f"Request body too large: {shown}, the limit is {limit} bytes.", code="request_too_large"
            )
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)


# How much of an oversized body is read and discarded before the 413 goes out anyway.
_DRAIN_BYTES = 64 * 1024 * 1024


def _decode_json(raw: bytes) -> Any:
    """A request body (or WebSocket message) as JSON, or a 400 that says what is wrong with it.

    Strict JSON (RFC 8259): UTF-8, finite numbers, no NaN or Infinity, no lone surrogates;
    anything else is refused here rather than failing later when the answer is encoded.
    """
    if not raw.strip():
        raise _invalid_json("the body is empty")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _invalid_json(
            f"it is not UTF-8 (byte {raw[exc.start : exc.start + 1]!r} at position {exc.start})"
        ) from None
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:
        raise _invalid_json("it is nested too deeply") from None
    except ValueError as exc:
        raise _invalid_json(str(exc)) from None
    # Deeper documents would break whatever walks them recursively later (the journal, encoders);
    # counting brackets first keeps the walk off the hot path.
    if raw.count(b"[") + raw.count(b"{") > MAX_NESTING and _nested_deeper(value, MAX_NESTING):
        raise _invalid_json(f"it is nested more than {MAX_NESTING} levels deep")
    if _SURROGATE_ESCAPE.search(raw):  # rare: only then look for one without its pair
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise _invalid_json("it contains a lone UTF-16 surrogate escape (\\ud800-\\udfff)") from None
    return value


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
MAX_NESTING = 128


def _nested_deeper(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _invalid_json(detail: str) -> RequestError:
    return RequestError(
        400,
        f"We could not parse the JSON body of your request: {detail}. The API expects a JSON object.",
        code="invalid_json",
    )


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"the number {text[:40]} is too large")
    return value


def _pick(surfaces: Sequence[Surface], call: Call) -> Surface:
    """The surface that answers a request on a shared path: the first that claims it, else the first."""
    if len(surfaces) == 1:
        return surfaces[0]
    return next((s for s in surfaces if s.claims(call)), surfaces[0])


def _fault_failure(answer: Answer) -> Failure:
    fault = answer.fault
    if fault is not None and fault.error is not None:
        return Failure.from_spec(fault.error, source="fault")
    return Failure(500, "The upstream provider failed while generating the response.", source="fault")


class _Unrouted:
    """Every request no route took: a 405 in the error shape of the surface that owns the path, else a 404.

    An ASGI class rather than a function so that its route takes every method: a POST to an
    unknown path is a 404, not Starlette's plain-text 405.
    """

    def __init__(self, mock: MockApp, compat: Sequence[Any]) -> None:
        self.mock = mock
        self.compat = compat

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method, path = scope["method"], scope["path"]
        owners = [r for r in self.compat if isinstance(r, StarletteRoute) and r.matches(scope)[0] is Match.PARTIAL]
        response: ASGIApp
        if owners:
            # The most specific template owns the path: `/v1/models/{model}:countTokens` over `/v1/models/{model}`.
            route = max(owners, key=lambda r: len(re.sub(r"{[^}]*}", "", r.path)))
            allowed = ", ".join(sorted(route.methods or ()))
            endpoint = route.endpoint
            assert isinstance(endpoint, _Endpoint)
            request = Request(scope)
            headers_in = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            call = Call(method, path, {}, dict(request.query_params), headers_in, self.mock.sessions.default)
            surface = _pick(endpoint.surfaces, call)
            failure = Failure(
                405,
                f"Method {method} is not allowed on {path}; it takes {allowed}.",
                code="method_not_allowed",
                should_retry=False,
                source="request",
            )
            headers = [("allow", allowed), *surface.error_headers(failure)]
            response = BodyResponse(405, _json_bytes(surface.error_body(failure)), headers)
        else:
            message = f"Unknown path {method} {path}. mockopper serves the compat API under {BASE_PATH}."
            response = BodyResponse(404, _json_bytes(not_found_body(message)))
        await response(scope, receive, send)


def create_app(scenario: Scenario | str | None = None, **settings: Any) -> MockApp:
    """A mock server's ASGI app for `scenario` (a model, a file, a bundled name, or the default)."""
    if isinstance(scenario, str):
        scenario = load_file(scenario)
    return MockApp(scenario, Settings(**settings))
