"""The request pipeline: one compat request through its stages, top to bottom.

    begin -> authenticate -> read the body -> parse (the surface's dialect)
          -> guard the input -> decide (the rules, or the upstream) -> guard the output
          -> record (journal, trace, cost) -> respond (render or stream)

Each stage is a method of `Pipeline` that takes the request's `Turn` and writes what it
found on it. A stage that refuses the request raises (`RequestError` for what the
surface refuses, `Refused` for the pipeline's own refusals), and the failure is answered
in the surface's error shape. WebSocket turns (`websocket.py`) run the same stages from
parse to record. Vendor knowledge stays in the dialects; Opper's layer (guards, cost,
tracing) in `opper.layer`; the upstream in `forwarding`.
"""

from __future__ import annotations

import time
from collections.abc import Hashable, Sequence
from dataclasses import replace
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope

from mockopper import bodies, fakes
from mockopper.answers import Failure
from mockopper.auth import authenticate
from mockopper.dialects.base import Call, RequestError, Route, Surface
from mockopper.engine import Engine
from mockopper.forwarding import Upstream
from mockopper.journal import Journal, redact_headers, redact_query
from mockopper.matching import describe_unmatched
from mockopper.memo import Entry, Memo
from mockopper.opper import layer
from mockopper.opper.cost import Ledger
from mockopper.opper.tracing import TraceStore
from mockopper.respond import Responder
from mockopper.sessions import HEADER as SESSION_HEADER
from mockopper.sessions import Session, Sessions, check_name
from mockopper.settings import Settings
from mockopper.turn import Turn

__all__ = ["Pipeline", "Refused", "Turn", "pick"]


class Refused(Exception):
    """The pipeline refuses a request (no key, a bad session name): answered with `failure`."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure


def pick(surfaces: Sequence[Surface], call: Call) -> Surface:
    """The surface that answers a request on a shared path: the first that claims it, else the first."""
    if len(surfaces) == 1:
        return surfaces[0]
    return next((s for s in surfaces if s.claims(call)), surfaces[0])


class Pipeline:
    """The stages every compat request goes through, over one server's state."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        sessions: Sessions,
        journal: Journal,
        traces: TraceStore,
        upstream: Upstream,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.sessions = sessions
        self.journal = journal
        self.traces = traces
        self.upstream = upstream
        self.memo = Memo()
        self.ledger = Ledger()
        self.respond = Responder(journal, traces, self.ledger)

    async def handle(self, scope: Scope, receive: Receive, route: Route, surfaces: Sequence[Surface]) -> ASGIApp:
        """One HTTP request, from its first byte to the response that answers it."""
        turn = self.begin(scope, route, surfaces)
        try:
            self.authenticate(turn)
            if turn.surface.kind == "list":
                return self.respond.models(turn)
            await self.read(turn, receive)
            if turn.surface.kind == "direct":
                return self.respond.direct(turn)
            self.run(turn)
        except RequestError as exc:
            if exc.unknown_reference and self.upstream.forwards(True):
                # It continues what the upstream answered: forwarded, but not recordable on its own.
                return self.forward(turn, scope, recordable=False)
            return self.refuse(turn, exc.failure())
        except Refused as exc:
            return self.refuse(turn, exc.failure)
        if turn.forward:
            return self.forward(turn, scope)
        if turn.failure is not None:
            return self.refuse(turn, turn.failure)
        return self.respond.answer(turn)

    def run(self, turn: Turn) -> None:
        """The stages from a read body to a recorded decision: what HTTP requests and WebSocket turns share."""
        self.parse(turn)
        self.guard_input(turn)
        self.decide(turn)
        self.guard_output(turn)
        self.record(turn)

    # --- the stages ---------------------------------------------------------------------

    def begin(self, scope: Scope, route: Route, surfaces: Sequence[Surface]) -> Turn:
        """The request's session, surface and journal entry."""
        started = time.perf_counter()
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        raw_query = scope["query_string"]
        query = dict(parse_qsl(raw_query.decode("latin-1"), keep_blank_values=True)) if raw_query else {}
        path_params = scope.get("path_params")
        params = {**route.params, **path_params} if path_params else route.params
        session, refused = self.session_of(headers)
        call = Call(scope["method"], scope["path"], params, query, headers, session)
        return self.open(call, pick(surfaces, call), started, refused)

    def open(
        self, call: Call, surface: Surface, started: float, refused: Failure | None = None, *, stream: bool = False
    ) -> Turn:
        """A turn for `call`, with its journal entry and its request id."""
        record = self.journal.open(
            call.method,
            call.path,
            api=surface.api,
            session=call.session.name,
            query=redact_query(call.query) if call.query else {},
            request_headers=redact_headers(call.headers),
            stream=stream,
        )
        request_id = "req_" + fakes.ident(call.path, "", record.seq, 20)
        ids = [(name, request_id) for name in surface.request_id_headers]
        return Turn(call, surface, record, started, request_id, ids, refused)

    def session_of(self, headers: dict[str, str]) -> tuple[Session, Failure | None]:
        """The session `x-mockopper-session` names (the default without it), and a refusal for a bad name."""
        name = headers.get(SESSION_HEADER)
        problem = check_name(name) if name is not None else None
        if problem is None:
            return self.sessions.get(name), None
        failure = Failure(400, f"Invalid {SESSION_HEADER} header: {problem}.", code="invalid_session", source="request")
        return self.sessions.default, failure

    def authenticate(self, turn: Turn) -> None:
        if turn.refused is not None:
            raise Refused(turn.refused)
        failure = authenticate(turn.call.headers, turn.call.query, self.settings.api_key)
        if failure is not None:
            raise Refused(failure)

    async def read(self, turn: Turn, receive: Receive) -> None:
        """The body's bytes, within the size limit (decoded as JSON when first read: `Turn.body`)."""
        turn.raw = await bodies.read(turn.call.headers, receive, self.settings.max_body_bytes)

    def parse(self, turn: Turn) -> None:
        """The surface reads the body into the neutral conversation; the journal keeps the body, bounded.

        A request seen before, byte for byte, is not read again (`memo`): unless its reading
        looked up the session's history, its conversation is the one read the first time.
        """
        record, call = turn.record, turn.call
        key = self._memo_key(turn)
        seen = self.memo.get(key) if key is not None else None
        if seen is None:
            reads = call.history.reads
            with self.journal.keeping(record, turn.body):
                conv = turn.surface.parse(turn.body, call)
            record.attachments = [a.to_dict() for a in conv.attachments]
            if key is not None and call.history.reads == reads:
                seen = Entry(conv, record.request_body, tuple(record.notes), record.attachments)
                self.memo.put(key, seen)
        else:
            conv = seen.conv
            record.request_body = seen.request_body
            record.notes.extend(seen.notes)
            record.attachments = seen.attachments
        turn.conv, turn.seen = conv, seen
        record.model = conv.model
        record.chain = conv.chain
        record.stream = conv.stream
        record.tags = dict(conv.extras.tags)
        record.fallback_models = list(conv.extras.fallback_models)
        record.span_uuid = conv.extras.span_uuid
        record.evaluate = conv.extras.evaluate

    def guard_input(self, turn: Turn) -> None:
        """Opper's headers read (a 400 names a bad one) and the input guards run: redact, flag or block."""
        assert turn.conv is not None
        turn.opper = layer.begin(turn.conv, turn.call.headers, turn.call.session.scenario)
        turn.conv = turn.opper.screen(turn.conv, turn.record)

    def decide(self, turn: Turn) -> None:
        """The engine walks the fallback chain (unless an input guard blocked); what no rule answers may go upstream."""
        assert turn.conv is not None and turn.opper is not None
        call, record = turn.call, turn.record
        decision = turn.decision = turn.opper.refusal(turn.conv) or self.engine.decide(
            call.session.state, turn.conv, turn.seen
        )
        failure = decision.failure
        if failure is not None and decision.unmatched:
            assert decision.near_misses is not None
            message = describe_unmatched(call.method, call.path, decision.model, decision.near_misses)
            failure = replace(failure, message=message)
            record.unmatched = True
            record.explanation = message
        turn.failure = failure
        turn.forward = self.upstream.forwards(decision.unmatched)

    def guard_output(self, turn: Turn) -> None:
        """The output guards on the answer: redact or flag it, or answer the guard's error instead."""
        assert turn.conv is not None and turn.opper is not None
        if turn.answer is not None:
            blocked = turn.opper.screen_output(turn.conv, turn.answer, turn.record)
            if blocked is not None:
                turn.failure = blocked

    def record(self, turn: Turn) -> None:
        """The decision into the journal, the call into its trace, the answer priced and kept for continuation."""
        assert turn.conv is not None and turn.opper is not None and turn.decision is not None
        conv, opper, decision, record = turn.conv, turn.opper, turn.decision, turn.record
        scenario = turn.call.session.scenario
        record.attempts = [
            {"model": a.model, "outcome": a.outcome, "status": a.status, "rule": a.rule, "detail": a.detail}
            for a in decision.attempts
        ]
        record.rule = decision.rule
        record.reply_kind = "blocked" if opper.blocked is not None else decision.reply_kind
        record.answered_by = decision.model if decision.answer is not None else None
        opper.attach(self.traces, record, conv, scenario, turn.call.session.state.compiled.seed)
        if decision.answer is not None:
            opper.price(conv, decision.answer, scenario, record, self.ledger, kept=turn.seen is not None)
            if opper.blocked is None:
                turn.surface.remember(conv, decision.answer, turn.call)
        if turn.failure is not None and not turn.forward:  # a forwarded call's answer is the upstream's
            opper.failed(conv, turn.failure, record)
        turn.headers = [
            ("x-mockopper-model", decision.answer.model if decision.answer else decision.model),
            ("x-mockopper-attempts", ",".join(a.model for a in decision.attempts)),
            *turn.ids,
        ]
        if decision.rule:
            turn.headers.append(("x-mockopper-rule", decision.rule))

    def _memo_key(self, turn: Turn) -> Hashable | None:
        """What makes a request the same request: its surface, path, query, headers and body bytes."""
        call = turn.call
        if call.connection is not None or not turn.raw or not self.memo.keyable(turn.raw):
            return None  # a WebSocket turn reads the connection's memory; a large body is not kept
        return (turn.surface, call.path, tuple(call.query.items()), tuple(call.headers.items()), turn.raw)

    # --- answers that skip the rules ----------------------------------------------------

    def refuse(self, turn: Turn, failure: Failure) -> ASGIApp:
        """The request's failure in its surface's error shape."""
        return self.respond.error(turn, failure, turn.headers or turn.ids)

    def forward(self, turn: Turn, scope: Scope, *, recordable: bool = True) -> ASGIApp:
        """What no rule answered, passed to the upstream and its answer passed back as it arrives."""
        return self.upstream.http(
            self.journal,
            turn.surface,
            turn.call,
            scope,
            turn.raw,
            turn.conv if recordable else None,
            turn.record,
            turn.started,
            lambda failure: self.refuse(turn, failure),  # the upstream cannot be reached: a 502 (or 504)
        )
