"""Opper's layer in the request pipeline: one `Exchange` per compat call.

`begin` reads the call's Opper headers (the guards it asks for, its parent span, its
name) and refuses a bad one with a 400 naming it. `screen` runs the input guards before
matching, `refusal` turns an input block into the call's answer, `screen_output` runs the
output guards on the answer, `attach` gives the call its trace and span, and `price`
costs the answer. Each step writes what it did on the call's journal
record (cost, guard findings, the span), which is what the trace store is fed from.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from mockopper.answers import Answer, Decision, Failure
from mockopper.conversation import Conversation
from mockopper.dialects.base import RequestError
from mockopper.journal import RequestRecord
from mockopper.opper import cost, guards
from mockopper.opper.tracing import TraceStore
from mockopper.replies import ErrorSpec, FaultSpec
from mockopper.scenarios import Scenario
from mockopper.sse import Event, compact_json

__all__ = [
    "COST_HEADER",
    "NAME_HEADER",
    "PARENT_HEADER",
    "TRACE_HEADER",
    "Exchange",
    "begin",
    "clock_of",
    "trace_error",
    "trace_headers",
    "trace_request",
]

NAME_HEADER = "X-Opper-Name"
PARENT_HEADER = "X-Opper-Parent-Span-Id"
TRACE_HEADER = "x-opper-trace-id"
COST_HEADER = "x-opper-cost"
_TEXT_LIMIT = 8 * 1024  # of a span's input and output text


@dataclass(slots=True)
class Exchange:
    """Opper's side of one compat call: its guards, its place in a trace, and what they did."""

    plan: guards.Plan
    parent: str | None
    name: str | None
    findings: list[guards.Finding] = field(default_factory=list)
    hidden: list[tuple[str, str]] = field(default_factory=list)  # matched texts no record or echo may show
    blocked: Failure | None = None

    # --- before the model ---------------------------------------------------------------

    def attach(
        self, traces: TraceStore, record: RequestRecord, conv: Conversation, scenario: Scenario, seed: int
    ) -> None:
        """Give the call its trace and span (ids from the seed and the request's content)."""
        name = self.name or f"{conv.api} {conv.model}"
        content = f"{conv.api}|{conv.digest}"
        if record.session is not None:  # counted per session: another session's traffic never moves its ids
            content = f"{record.session}\x1f{content}"
        traces.attach(record, content=content, parent=self.parent, name=name, seed=seed, clock=clock_of(scenario))

    def screen(self, conv: Conversation, record: RequestRecord) -> Conversation:
        """The input guards, before matching: the conversation as the rules see it (redacted if asked)."""
        if not self.plan.input:
            return conv
        conv, screen = guards.screen_input(conv, self.plan.input)
        self._take(screen, record)
        self.blocked = screen.blocked
        return conv

    def refusal(self, conv: Conversation) -> Decision | None:
        """An input guard's block as the call's decision: no rule, no fallback, no model."""
        if self.blocked is None:
            return None
        return Decision(model=conv.model, attempts=[], failure=self.blocked)

    # --- after the model ----------------------------------------------------------------

    def screen_output(self, conv: Conversation, answer: Answer, record: RequestRecord) -> Failure | None:
        """The output guards. Returns the failure a blocking guard answers instead of the reply.

        A stream that an output guard blocks still starts, and ends with the surface's
        in-stream error event before its first chunk of content.
        """
        blocked = None
        if self.plan.output:
            screen = guards.screen_output(answer, self.plan.output)
            self._take(screen, record)
            blocked = screen.blocked
        answer.guards = guards.reports(self.plan, self.findings)
        if blocked is None:
            return None
        self.blocked = blocked
        if conv.stream:
            error = ErrorSpec(status=blocked.status, message=blocked.message, code=blocked.code, should_retry=False)
            answer.fault = FaultSpec(error_after=0, error=error)
            return None
        return blocked

    def price(
        self,
        conv: Conversation,
        answer: Answer,
        scenario: Scenario,
        record: RequestRecord,
        ledger: cost.Ledger,
        *,
        kept: bool = False,
    ) -> None:
        """The answer's cost (nothing when a guard blocked it), and its span's input, output and usage.

        Most spans are never read. So when holding on to what the span's part is written from
        costs little (the memo keeps the conversation, `kept`, and the answer is small), that
        part is written when the span is first read.
        """
        answer.cost = 0.0 if self.blocked is not None else ledger.cost(answer, conv.api, scenario)
        record.cost = answer.cost
        if kept and _small(answer):
            record.detail_span(partial(self._describe, conv, answer))
        elif record.span is not None:
            self._describe(conv, answer, record.span)

    def _describe(self, conv: Conversation, answer: Answer, span: dict[str, Any]) -> None:
        span["input"] = _clip(self.scrub(_input_text(conv)))
        span["output"] = None if self.blocked is not None else _clip(_output_text(answer))
        span["meta"] = {
            "model": answer.model,
            "api": conv.api,
            "usage": {"input_tokens": answer.input_tokens, "output_tokens": answer.output_tokens},
            "cost": answer.cost,
            "guards": [f.to_dict() for f in self.findings],
        }
        span["duration_ms"] = _scripted_ms(conv, answer)
        if self.blocked is not None:
            span["error"] = self.blocked.message

    def failed(self, conv: Conversation, failure: Failure, record: RequestRecord) -> None:
        """A call that ends in an error: it costs nothing, and its span says why."""
        record.cost = 0.0
        span = record.span if record.span is not None else {}
        span["input"] = _clip(self.scrub(_input_text(conv)))
        span["error"] = failure.message
        span["meta"] = {
            "model": conv.model,
            "api": conv.api,
            "cost": 0.0,
            "guards": [f.to_dict() for f in self.findings],
        }

    # --- what the client gets ------------------------------------------------------------

    def scrub(self, value: Any) -> Any:
        """A value with every text an input guard redacted or blocked replaced (the Responses `instructions` echo)."""
        return guards.scrub(value, self.hidden)

    def scrub_events(self, events: Iterable[Event]) -> Iterable[Event]:
        if not self.hidden:
            return events
        return (Event(self.scrub(e.data), e.name, e.content) for e in events)

    def _take(self, screen: guards.Screen, record: RequestRecord) -> None:
        self.findings += screen.findings
        self.hidden += screen.hidden
        record.guard_findings = [f.to_dict() for f in self.findings]
        if screen.hidden and record.request_body is not None:
            record.request_body = guards.scrub(record.request_body, self.hidden)


def begin(conv: Conversation, headers: Mapping[str, str], scenario: Scenario) -> Exchange:
    """Read a call's Opper headers (and `span_uuid`): a RequestError naming a header that is wrong."""
    return Exchange(
        plan=guards.plan(headers, scenario),
        parent=_parent(headers, conv.extras.span_uuid),
        name=headers.get(NAME_HEADER.lower()) or None,
    )


def _parent(headers: Mapping[str, str], span_uuid: str | None) -> str | None:
    raw = headers.get(PARENT_HEADER.lower(), "").strip()
    if raw:
        try:
            return str(uuid.UUID(raw))
        except ValueError:
            raise RequestError(
                400,
                f"Invalid value for header '{PARENT_HEADER}': {raw[:80]!r} is not a UUID "
                "(send the id of a span, as POST /v3/spans returns it).",
                param=PARENT_HEADER,
                code="invalid_header",
            ) from None
    return span_uuid or None


def trace_request(traces: TraceStore, record: RequestRecord, scenario: Scenario, seed: int, name: str) -> None:
    """Trace a call known only by its path and body (refused before it was read, or answered without rules)."""
    if record.trace_id is not None:
        return
    body = compact_json(record.request_body) if record.request_body is not None else ""
    blob = f"{record.method} {record.path}\x1f{body}"
    content = hashlib.blake2b(blob.encode(), digest_size=16).hexdigest()
    if record.session is not None:  # counted per session, as every call is
        content = f"{record.session}\x1f{content}"
    traces.attach(record, content=content, parent=None, name=name, seed=seed, clock=clock_of(scenario))


def trace_error(record: RequestRecord, failure: Failure) -> None:
    """A call that ends in an error costs nothing, and its span says why."""
    record.cost = 0.0
    if record.span is not None:
        record.span.setdefault("error", failure.message)


def clock_of(scenario: Scenario) -> int | None:
    """The scenario clock for span times (None: `clock: real`, the wall clock)."""
    return None if scenario.clock == "real" else scenario.clock


def trace_headers(record: RequestRecord, ledger: cost.Ledger | None = None) -> list[tuple[str, str]]:
    """`x-opper-trace-id`, and `x-opper-cost` when a `ledger` is given (a non-streamed answer)."""
    headers = [(TRACE_HEADER, record.trace_id)] if record.trace_id else []
    if ledger is not None and record.cost is not None:
        headers.append((COST_HEADER, ledger.header(record.cost)))
    return headers


def _input_text(conv: Conversation) -> str:
    if conv.inputs:
        return "\n".join(conv.inputs)
    last = conv.last
    if last is None:
        return conv.system
    if last.role == "tool":
        return f"[{last.tool_name or 'tool'} result] {last.text}"
    return last.text


def _output_text(answer: Answer) -> str:
    if answer.vectors:
        return f"{len(answer.vectors)} embedding(s) of {len(answer.vectors[0])} dimensions"
    parts = [answer.text] if answer.text else []
    parts += [f"{call.name}({call.arguments})" for call in answer.tool_calls]
    return "\n".join(parts)


def _small(answer: Answer) -> bool:
    """Whether an answer is small enough to keep until its span is read: no more text than a span shows."""
    return (
        len(answer.text) + len(answer.reasoning) <= _TEXT_LIMIT
        and not answer.vectors
        and answer.recorded_text is None
        and answer.recorded_reasoning is None
        and (not answer.tool_calls or sum(len(call.arguments) for call in answer.tool_calls) <= _TEXT_LIMIT)
    )


def _clip(text: str) -> str:
    return text if len(text) <= _TEXT_LIMIT else text[:_TEXT_LIMIT] + f"... [{len(text) - _TEXT_LIMIT} more characters]"


def _scripted_ms(conv: Conversation, answer: Answer) -> int:
    """How long the answer takes by its script: its delay, and when it streams, its pacing."""
    total = answer.delay_ms
    if conv.stream:
        chunks = len(answer.text_chunks) + len(answer.reasoning_chunks) + sum(len(c.chunks) for c in answer.tool_calls)
        total += answer.pacing.ttft_ms + answer.pacing.interval_ms * max(0, chunks - 1)
    return max(1, round(total))
