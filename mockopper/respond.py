"""The pipeline's last stage: a turn's answer (or failure) as the ASGI response that plays it out.

A non-streamed answer is one JSON body; a streamed one the surface's events, paced and
faulted as its reply says (`streaming`). Each response finishes its journal entry once
it has played out: how it ended, a stream's events, how long it took.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from starlette.types import ASGIApp

from mockopper import fakes
from mockopper.answers import Answer, Failure
from mockopper.fleet import fleet
from mockopper.journal import Journal, RequestRecord
from mockopper.opper import layer
from mockopper.opper.cost import Ledger
from mockopper.opper.tracing import TraceStore
from mockopper.pacing import Playback
from mockopper.sse import compact_bytes, frame
from mockopper.streaming import BodyResponse, SSEResponse
from mockopper.turn import Turn

__all__ = ["Responder", "fault_failure", "json_bytes"]


def json_bytes(value: Any) -> bytes:
    return compact_bytes(value)


def _plain(answer: Answer) -> bool:
    """A stream with nothing to wait for and no fault: its events can go out in one write."""
    pacing = answer.pacing
    return not (
        answer.fault or answer.delay_ms or pacing.ttft_ms or pacing.interval_ms or pacing.jitter_ms or pacing.recorded
    )


def fault_failure(answer: Answer) -> Failure:
    """The error a reply's `error_after` fault sends: the one it scripts, else a 500."""
    fault = answer.fault
    if fault is not None and fault.error is not None:
        return Failure.from_spec(fault.error, source="fault")
    return Failure(500, "The upstream provider failed while generating the response.", source="fault")


class Responder:
    """Builds the responses of one server, each finishing its journal entry when it has played out."""

    def __init__(self, journal: Journal, traces: TraceStore, ledger: Ledger) -> None:
        self.journal = journal
        self.traces = traces
        self.ledger = ledger

    def _finisher(self, record: RequestRecord, started: float, *, events: bool = False, error: bool = False) -> Any:
        def done(playback: Playback) -> None:
            if error:
                record.outcome = "error" if playback.outcome == "complete" else playback.outcome
            else:
                record.outcome = playback.outcome
            if events:
                self.journal.keep_events(record, playback)
            record.duration_ms = round((time.perf_counter() - started) * 1000, 3)
            self.journal.close(record)

        return done

    def answer(self, turn: Turn) -> ASGIApp:
        """The decided answer: the surface's JSON body, or its stream of events."""
        conv, answer, record, surface = turn.conv, turn.answer, turn.record, turn.surface
        assert conv is not None and answer is not None and turn.opper is not None
        self.journal.publish(record)
        fault = answer.fault
        record.status = 200
        done = self._finisher(record, turn.started, events=True)
        if conv.stream:
            headers = [*turn.headers, *layer.trace_headers(record)]  # a stream's cost is in its usage
            record.response_headers = dict(headers)
            stream = self._kept(turn, "events", _plain(answer))
            if stream is not None:
                return SSEResponse.whole(stream, headers, done)
            in_stream = replace(fault_failure(answer), request_id=turn.request_id, now=answer.created)
            return SSEResponse(
                turn.opper.scrub_events(surface.events(conv, answer)),
                headers,
                pacing=answer.pacing,
                fault=fault,
                error_events=lambda: surface.error_events(conv, answer, in_stream),
                delay_ms=answer.delay_ms,
                seed=fakes.derive(answer.key, "pacing"),
                on_done=done,
                started=turn.started,
            )
        if fault is not None and fault.error_after is not None:
            return self.error(turn, replace(fault_failure(answer), delay_ms=answer.delay_ms), turn.headers)
        headers = [*turn.headers, *layer.trace_headers(record, self.ledger)]
        payload = self._kept(turn, "body", True)
        if payload is not None:
            self.journal.keep_response_bytes(record, payload)
        else:
            body = turn.opper.scrub(surface.render(conv, answer))
            payload = json_bytes(body)
            self.journal.keep_response(record, body, len(payload))
        record.response_headers = dict(headers)
        return BodyResponse(200, payload, headers, delay_ms=answer.delay_ms, fault=fault, on_done=done)

    @staticmethod
    def _kept(turn: Turn, kind: str, keepable: bool) -> bytes | None:
        """The answer's body (`kind` "body") or whole stream ("events") rendered through the request's memo entry.

        None (render the ordinary way) but for a request the memo keeps, whose answer no guard
        rewrote and whose stream has nothing to wait for and no fault (those play event by event).
        """
        seen, conv, answer, surface = turn.seen, turn.conv, turn.answer, turn.surface
        if seen is None or not keepable or conv is None or answer is None or (turn.opper and turn.opper.hidden):
            return None

        def render(shown: Answer) -> bytes:
            if kind == "body":
                return json_bytes(surface.render(conv, shown))
            return b"".join(frame(event) for event in surface.events(conv, shown))

        return seen.render((surface, kind, answer.fingerprint()), answer, render)

    def error(self, turn: Turn, failure: Failure, headers: Sequence[tuple[str, str]]) -> ASGIApp:
        """`failure` in the surface's error shape and status, with the retry headers its vendor sends.

        A failure costs nothing; a call refused before it could be traced is traced here.
        """
        surface, record = turn.surface, turn.record
        compiled = turn.call.session.state.compiled
        layer.trace_request(self.traces, record, compiled.scenario, compiled.seed, surface.api)
        layer.trace_error(record, failure)
        failure = replace(failure, request_id=turn.request_id, now=compiled.now())
        body = surface.error_body(failure)
        out = [*headers, *layer.trace_headers(record), *surface.error_headers(failure)]
        if (
            failure.should_retry is None
            and not any(k == "x-should-retry" for k, _ in out)
            and (failure.source in ("request", "unmatched"))
        ):
            out.append(("x-should-retry", "false"))  # the request's own fault: no SDK should retry it
        record.status = failure.status
        record.response_body = body
        record.response_headers = dict(out)
        if record.reply_kind is None:
            record.reply_kind = "error"
        done = self._finisher(record, turn.started, error=True)
        return BodyResponse(failure.status, json_bytes(body), out, delay_ms=failure.delay_ms, on_done=done)

    def models(self, turn: Turn) -> ASGIApp:
        """A models list: the session's fleet, or the catalogue."""
        compiled = turn.call.session.state.compiled
        body = turn.surface.list_models(fleet(compiled.scenario, compiled.now()), turn.call)
        record = turn.record
        record.status = 200
        record.reply_kind = "models"
        record.response_body = body
        record.response_headers = dict(turn.ids)
        return BodyResponse(200, json_bytes(body), turn.ids, on_done=self._finisher(record, turn.started))

    def direct(self, turn: Turn) -> ASGIApp:
        """An answer computed from the request alone, without rules (a compaction)."""
        compiled = turn.call.session.state.compiled
        record = turn.record
        with self.journal.keeping(record, turn.body):
            answer = turn.surface.respond(turn.body, turn.call, created=compiled.now(), seed=compiled.seed)
        layer.trace_request(self.traces, record, compiled.scenario, compiled.seed, turn.surface.api)
        record.status = 200
        record.reply_kind = "direct"
        payload = json_bytes(answer)
        self.journal.keep_response(record, answer, len(payload))
        headers = layer.trace_headers(record)
        return BodyResponse(200, payload, headers, on_done=self._finisher(record, turn.started))
