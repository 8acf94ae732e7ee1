"""The scenario engine: walks a request's fallback chain and decides what each model answers.

For each model in the chain it consults, in order, the `models:` fleet, chaos, and the
first matching rule, then renders the chosen reply into a vendor-neutral `Answer` (or
a `Failure`). The engine holds no counters: each session's `State` (a compiled scenario
and its counters) is passed in, swapped whole when a scenario is loaded or reset, so a
request always sees one scenario and two sessions never share a count.
"""

from __future__ import annotations

import fnmatch
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from mockopper import fakes, formats
from mockopper.conversation import Conversation, estimate_tokens
from mockopper.matching import OPT_IN_APIS, CompiledRule, NearMiss, compile_rules, explain, first_match
from mockopper.pacing import chunk_arguments, chunk_text
from mockopper.replies import ErrorSpec, FaultSpec, Reply, StreamSpec
from mockopper.scenarios import ModelSpec, Scenario
from mockopper.schema_instances import schema_instance
from mockopper.sse import compact_json
from mockopper.templates import TemplateError, compile_template

if TYPE_CHECKING:
    from mockopper.opper.guards import GuardReport

__all__ = [
    "Answer",
    "Attempt",
    "Compiled",
    "Counters",
    "Decision",
    "Engine",
    "Failure",
    "State",
    "ToolCall",
    "is_retryable",
]

DEFAULT_DIMENSIONS = 1536
_DEFAULT_PACING = StreamSpec()

DEFAULT_MESSAGES = {
    400: "Bad request.",
    401: "Invalid API key.",
    402: "Payment required.",
    403: "Permission denied.",
    404: "Not found.",
    408: "Request timed out.",
    409: "Conflict.",
    413: "Request too large.",
    422: "Unprocessable request.",
    429: "Rate limit exceeded. Please retry after a short wait.",
    500: "Internal server error.",
    502: "Bad gateway: the upstream provider returned an invalid response.",
    503: "Service unavailable: the model is temporarily overloaded.",
    504: "Gateway timeout: the upstream provider did not answer in time.",
    529: "Overloaded.",
}


def is_retryable(status: int) -> bool:
    """Statuses that move a fallback chain on (and that SDKs retry): 408, 429 and 5xx."""
    return status in (408, 429) or status >= 500


@dataclass(frozen=True, slots=True)
class Failure:
    """An error answer, before a dialect gives it its vendor's shape."""

    status: int
    message: str
    type: str | None = None
    code: str | None = None
    param: str | None = None
    retry_after: float | None = None
    should_retry: bool | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_ms: float = 0
    source: str = "rule"  # rule | model | chaos | unmatched | request | fault
    request_id: str | None = None  # set by the pipeline: the id this request's response carries
    now: int | None = None  # set by the pipeline: the scenario clock when the error was answered

    @classmethod
    def from_spec(
        cls, spec: ErrorSpec, message: str | None = None, *, source: str = "rule", delay_ms: float = 0
    ) -> Failure:
        return cls(
            status=spec.status,
            message=message or spec.message or DEFAULT_MESSAGES.get(spec.status, f"Error {spec.status}."),
            type=spec.type,
            code=spec.code,
            retry_after=spec.retry_after,
            should_retry=spec.should_retry,
            headers=dict(spec.headers or {}),
            delay_ms=delay_ms,
            source=source,
        )


@dataclass(frozen=True, slots=True)
class ToolCall:
    name: str
    arguments: str
    chunks: tuple[str, ...]
    id: str | None = None  # scripted id; dialects generate one otherwise
    at_ms: tuple[float, ...] = ()  # a recorded stream: when each chunk goes out (ms from the request's start)

    def timed(self) -> Iterator[tuple[str, float | None]]:
        """The argument chunks, each with its recorded offset (None when not recorded)."""
        return _timed(self.chunks, self.at_ms)


@dataclass(slots=True)
class Answer:
    """A successful answer in vendor-neutral form; dialects render and stream it."""

    key: str
    model: str
    created: int
    text: str = ""
    reasoning: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    structured: bool = False
    finish_reason: str = "stop"
    input_tokens: int = 0
    output_tokens: int = 0
    vectors: tuple[list[float], ...] = ()
    pacing: StreamSpec = _DEFAULT_PACING
    fault: FaultSpec | None = None
    delay_ms: float = 0
    seed: int = 0
    cost: float | None = None  # USD: scripted by the reply, else priced by Opper's layer
    guards: tuple[GuardReport, ...] = ()  # the guards that checked this call, for dialects that render them
    # A recorded stream: its text and reasoning chunks and their offsets (ms from the request's start).
    recorded_text: tuple[tuple[str, ...], tuple[float, ...]] | None = None
    recorded_reasoning: tuple[tuple[str, ...], tuple[float, ...]] | None = None

    def ident(self, prefix: str, label: object = "", length: int = 24) -> str:
        """A deterministic id for part `label` of this answer."""
        return fakes.ident(self.key, prefix, label, length)

    @property
    def text_chunks(self) -> tuple[str, ...]:
        """The text cut into stream chunks: as recorded, else by the reply's pacing."""
        if self.recorded_text is not None:
            return self.recorded_text[0]
        return chunk_text(self.text, self.pacing.chunk)

    @property
    def reasoning_chunks(self) -> tuple[str, ...]:
        if self.recorded_reasoning is not None:
            return self.recorded_reasoning[0]
        return chunk_text(self.reasoning, self.pacing.chunk)

    def timed_text(self) -> Iterator[tuple[str, float | None]]:
        """The text chunks, each with its recorded offset (None when not recorded)."""
        if self.recorded_text is not None:
            return _timed(*self.recorded_text)
        return _timed(self.text_chunks, ())

    def timed_reasoning(self) -> Iterator[tuple[str, float | None]]:
        if self.recorded_reasoning is not None:
            return _timed(*self.recorded_reasoning)
        return _timed(self.reasoning_chunks, ())

    def call_id(self, index: int, prefix: str) -> str:
        call = self.tool_calls[index]
        return call.id if call.id else self.ident(prefix, index)

    @property
    def kind(self) -> str:
        if self.vectors:
            return "embedding"
        if self.tool_calls:
            return "tool_calls"
        return "json" if self.structured else "text"


@dataclass(frozen=True, slots=True)
class Attempt:
    """One model tried on the chain, as the journal records it."""

    model: str
    outcome: str  # reply | error | fault | chaos | unmatched
    status: int
    rule: str | None = None
    detail: str | None = None


@dataclass(slots=True)
class Decision:
    """What the engine decided for one request."""

    model: str
    attempts: list[Attempt]
    answer: Answer | None = None
    failure: Failure | None = None
    rule: str | None = None
    near_misses: list[NearMiss] | None = None

    @property
    def unmatched(self) -> bool:
        return self.near_misses is not None

    @property
    def reply_kind(self) -> str:
        if self.answer is not None:
            return "fault" if self.answer.fault else self.answer.kind
        return "unmatched" if self.unmatched else "error"


class _Counts:
    """Counts per key, forgetting the least recently counted key past `limit` keys.

    Chaos counts each distinct request content it sees; bounded, a soak of endless
    distinct requests cannot grow memory. A content unseen for `limit` others counts afresh.
    """

    def __init__(self, limit: int = 10_000) -> None:
        self._counts: OrderedDict[Any, int] = OrderedDict()
        self._limit = limit

    def bump(self, key: Any) -> int:
        count = self._counts.pop(key, 0) + 1
        self._counts[key] = count
        if len(self._counts) > self._limit:
            self._counts.popitem(last=False)
        return count

    def __len__(self) -> int:
        return len(self._counts)


class Compiled:
    """A loaded scenario, compiled once and shared by every session that serves it (immutable)."""

    def __init__(self, scenario: Scenario, seed: int) -> None:
        self.scenario = scenario
        self.seed = seed
        self.rules: tuple[CompiledRule, ...] = compile_rules(scenario)
        self.fleet_globs = [(name, spec) for name, spec in scenario.models.items() if any(c in name for c in "*?[")]

    def now(self) -> int:
        """The scenario clock: fixed `created` timestamps, unless `clock: real`."""
        clock = self.scenario.clock
        return int(time.time()) if clock == "real" else clock


class Counters:
    """What a scenario has counted while serving one session: rule uses, fleet calls, chaos draws."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rule_calls: dict[int, int] = {}
        self.model_calls = _Counts()
        self.chaos_seen = _Counts()  # keyed by (surface, request content, model): how often each was seen


@dataclass(frozen=True, slots=True)
class State:
    """A compiled scenario and its counters: what one session serves, swapped whole on load and reset."""

    compiled: Compiled
    counters: Counters = field(default_factory=Counters)

    @property
    def scenario(self) -> Scenario:
        return self.compiled.scenario

    def fresh(self) -> State:
        """The same scenario with every counter forgotten."""
        return State(self.compiled)


class _Context:
    """What templates see while one reply renders."""

    __slots__ = ("_faker", "_seeded", "call", "conv", "key", "model", "seed")

    def __init__(
        self, conv: Conversation, model: str, call: int, key: str, seed: int, faker: Callable[[], Any]
    ) -> None:
        self.conv = conv
        self.model = model
        self.call = call
        self.key = key
        self.seed = seed
        self._faker = faker
        self._seeded: Any = None

    @property
    def fake(self) -> Any:
        """The engine's Faker, seeded for this reply (replies render one at a time, on the event loop)."""
        if self._seeded is None:
            self._seeded = self._faker()
            self._seeded.seed_instance(fakes.derive(self.key, "faker"))
        return self._seeded

    def lookup(self, path: tuple[str, ...]) -> Any:
        conv = self.conv
        root = path[0]
        if root == "call":
            return self.call
        if root == "tool_result":
            result = conv.last_tool_result
            return result.text if result else ""
        if root == "tool_name":
            result = conv.last_tool_result
            return (result.tool_name or "") if result else ""
        name = path[1]
        if name == "model":
            return self.model
        if name == "requested_model":
            return conv.model
        if name == "message":
            return conv.last_user_text or ""
        if name == "system":
            return conv.system
        if name == "api":
            return conv.api
        if name == "turn":
            return conv.turn
        if name == "stream":
            return conv.stream
        if name == "tags":
            tags = dict(conv.extras.tags)
            return tags.get(path[2]) if len(path) > 2 else tags
        if name == "attachments":
            return [a.to_dict() for a in conv.last_attachments]
        if name == "attachment":
            found = conv.last_attachments
            first = found[0].to_dict() if found else None
            return first if len(path) == 2 or first is None else first[path[2]]
        return ""

    def faker(self, provider: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            return getattr(self.fake, provider)(*args, **kwargs)
        except Exception as exc:  # arguments this provider refuses: the scenario's mistake, answered as one
            shown = ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
            raise _Unanswerable(f"faker.{provider}({shown}) failed: {exc}") from None


def _render_json(value: Any, ctx: _Context) -> Any:
    if isinstance(value, str):
        return compile_template(value).render_value(ctx)
    if isinstance(value, dict):
        return {k: _render_json(v, ctx) for k, v in value.items()}
    if isinstance(value, list):
        return [_render_json(v, ctx) for v in value]
    return value


def _dumps(value: Any) -> str:
    return compact_json(value)


class Engine:
    """Decides answers for requests against a session's `State`. Thread-safe; it counts nothing
    itself (the counters are the state's), so one engine serves every session of a server."""

    def __init__(self, *, seed: int | None = None) -> None:
        self._faker: Any = None
        self._seed_override = seed

    def _fake(self) -> Any:
        """One Faker per engine (making one costs about a millisecond); each reply reseeds it."""
        if self._faker is None:
            from faker import Faker

            self._faker = Faker()
        return self._faker

    def compile(self, scenario: Scenario) -> Compiled:
        """A scenario ready to serve, seeded by `--seed` when the server was given one."""
        return Compiled(scenario, scenario.seed if self._seed_override is None else self._seed_override)

    # --- the decision ---------------------------------------------------------------

    def decide(self, state: State, conv: Conversation) -> Decision:
        chain = conv.chain
        attempts: list[Attempt] = []
        decision = Decision(model=chain[0], attempts=attempts)
        for position, model in enumerate(chain):
            decision = self._try(state, conv, model, attempts)
            last = position == len(chain) - 1
            if last or not self._moves_on(conv, decision):
                break
        return decision

    @staticmethod
    def _moves_on(conv: Conversation, decision: Decision) -> bool:
        if decision.failure is not None:
            return not decision.unmatched and is_retryable(decision.failure.status)
        fault = decision.answer.fault if decision.answer else None
        if fault is None or fault.hang:
            return False
        if fault.error is not None and not is_retryable(fault.error.status):
            return False  # it fails as a 4xx does: returned at once
        # A stream falls back only before its first byte of content.
        return not conv.stream or fault.after == 0

    def _fleet(self, state: State, model: str) -> ModelSpec | None:
        spec = state.scenario.models.get(model)
        if spec is None:
            lowered = model.lower()
            for name, candidate in state.compiled.fleet_globs:
                if fnmatch.fnmatchcase(lowered, name.lower()):
                    return candidate
        return spec

    def _try(self, state: State, conv: Conversation, model: str, attempts: list[Attempt]) -> Decision:
        scenario = state.scenario
        spec = self._fleet(state, model)
        if spec is not None and (spec.error is not None or spec.fail_first):
            with state.counters.lock:
                count = state.counters.model_calls.bump(model)
            failing = count <= spec.fail_first if spec.fail_first is not None else True
            if failing:
                error = spec.error or ErrorSpec(status=503)
                failure = Failure.from_spec(error, source="model")
                attempts.append(
                    Attempt(
                        model,
                        "error",
                        failure.status,
                        detail="models: "
                        + (f"fail_first ({count} of {spec.fail_first})" if spec.fail_first else "error"),
                    )
                )
                return Decision(model, attempts, failure=failure)

        chaos = scenario.chaos
        if chaos is not None and chaos.rate > 0:
            # Counted per surface: the same question asked through another SDK is other traffic.
            slot = (conv.api, conv.digest, model)
            with state.counters.lock:
                seen = state.counters.chaos_seen.bump(slot)
            draw = fakes.derive(state.compiled.seed, "chaos", model, conv.digest, seen) / 2**64
            if draw < chaos.rate:
                status = chaos.statuses[
                    fakes.derive(state.compiled.seed, "chaos-status", model, conv.digest, seen) % len(chaos.statuses)
                ]
                failure = Failure(
                    status=status,
                    message=f"{DEFAULT_MESSAGES.get(status, f'Error {status}.')} (chaos)",
                    retry_after=chaos.retry_after,
                    source="chaos",
                )
                attempts.append(Attempt(model, "chaos", status, detail=f"chaos draw {draw:.4f} < {chaos.rate}"))
                return Decision(model, attempts, failure=failure)

        with state.counters.lock:
            rule = first_match(state.compiled.rules, conv, model, lambda r: self._usable(state, r))
            call = 0
            if rule is not None:
                call = state.counters.rule_calls[rule.index] = state.counters.rule_calls.get(rule.index, 0) + 1

        if rule is None:
            if conv.api in OPT_IN_APIS:
                answer = self._generated(state, conv, model)
                attempts.append(Attempt(model, "reply", 200, detail="generated"))
                return Decision(model, attempts, answer=answer)
            misses = explain(state.compiled.rules, conv, model, lambda r: self._spent(state, r))
            failure = Failure(status=400, message="", code="no_matching_rule", should_retry=False, source="unmatched")
            attempts.append(Attempt(model, "unmatched", 400))
            return Decision(model, attempts, failure=failure, near_misses=misses)

        reply = rule.rule.reply_for(call)
        key = f"{state.compiled.seed}|{rule.index}:{rule.name}|{conv.digest}|{call}"
        ctx = _Context(conv, model, call, key, state.compiled.seed, self._fake)
        try:
            if reply.error is not None:
                message = compile_template(reply.error.message).render(ctx) if reply.error.message else None
                failure = Failure.from_spec(reply.error, message, delay_ms=reply.delay_ms or 0)
                attempts.append(Attempt(model, "error", failure.status, rule.name))
                return Decision(model, attempts, failure=failure, rule=rule.name)
            answer = self._render(state, conv, model, reply, ctx)
        except (_Unanswerable, TemplateError) as exc:
            failure = Failure(
                status=400,
                message=f"Rule {rule.name!r} cannot answer this request: {exc}",
                code="scenario_error",
                should_retry=False,
                source="request",
            )
            attempts.append(Attempt(model, "error", 400, rule.name, detail=str(exc)))
            return Decision(model, attempts, failure=failure, rule=rule.name)
        outcome = "fault" if answer.fault else "reply"
        attempts.append(Attempt(model, outcome, 200, rule.name, detail=answer.fault.action if answer.fault else None))
        return Decision(model, attempts, answer=answer, rule=rule.name)

    @staticmethod
    def _usable(state: State, rule: CompiledRule) -> bool:
        times = rule.rule.times
        return times is None or state.counters.rule_calls.get(rule.index, 0) < times

    @staticmethod
    def _spent(state: State, rule: CompiledRule) -> str | None:
        times = rule.rule.times
        if times is not None and state.counters.rule_calls.get(rule.index, 0) >= times:
            return f"times: used up after {times} use{'s' if times != 1 else ''}"
        return None

    # --- rendering --------------------------------------------------------------------

    def _generated(self, state: State, conv: Conversation, model: str) -> Answer:
        key = f"{state.compiled.seed}|generated|{conv.digest}"
        answer = Answer(
            key=key,
            model=model,
            created=state.compiled.now(),
            input_tokens=conv.input_tokens(),
            seed=state.compiled.seed,
        )
        if conv.api == "embeddings":
            answer.vectors = self._vectors(state, conv)
        return answer

    def _vectors(self, state: State, conv: Conversation) -> tuple[list[float], ...]:
        dims = conv.dimensions or DEFAULT_DIMENSIONS
        return tuple(fakes.embedding(text, dims, state.compiled.seed) for text in conv.inputs)

    def _render(self, state: State, conv: Conversation, model: str, reply: Reply, ctx: _Context) -> Answer:
        pacing = reply.stream or _DEFAULT_PACING
        answer = Answer(
            key=ctx.key,
            model=reply.model or model,
            created=state.compiled.now(),
            pacing=pacing,
            fault=reply.fault,
            delay_ms=reply.delay_ms or 0,
            seed=state.compiled.seed,
            cost=reply.cost,
        )
        rng = _LazyRandom(ctx.key)
        if conv.api in OPT_IN_APIS:
            if conv.api == "embeddings":
                answer.vectors = self._vectors(state, conv)
            answer.input_tokens = conv.input_tokens()
        elif reply.json_value is not None:
            if reply.json_value == "auto":
                # the request's schema; without one, what the prompt lays out (see `formats`)
                fmt = formats.requested(conv)
                schema = fmt.schema if fmt is not None else formats.ANY_OBJECT
                value = schema_instance(schema, rng, ctx.fake, answer.created)
            else:
                value = _render_json(reply.json_value, ctx)
            answer.text = _dumps(value)
            answer.structured = True
        else:
            fmt = formats.requested(conv) if reply.format == "auto" else None
            if fmt is not None:
                answer.text = formats.render(fmt, schema_instance(fmt.schema, rng, ctx.fake, answer.created))
                answer.structured = fmt.kind == "json"
            elif reply.text is not None:
                answer.text = compile_template(reply.text).render(ctx)
            if reply.tool_calls is not None:
                answer.tool_calls = self._tool_calls(conv, reply, ctx, rng, pacing, answer.created)
        if conv.prefill:
            answer.text = _continuing(answer.text, conv.prefill)
        if reply.reasoning is not None:
            answer.reasoning = compile_template(reply.reasoning).render(ctx)
        if pacing.recorded:
            self._replay_chunks(answer, reply, pacing)
        answer.finish_reason = reply.finish_reason or ("tool_calls" if answer.tool_calls else "stop")
        usage = reply.usage
        answer.input_tokens = usage.input_tokens if usage and usage.input_tokens is not None else (conv.input_tokens())
        if usage and usage.output_tokens is not None:
            answer.output_tokens = usage.output_tokens
        else:
            answer.output_tokens = (
                estimate_tokens(answer.text)
                + estimate_tokens(answer.reasoning)
                + sum(estimate_tokens(c.name) + estimate_tokens(c.arguments) for c in answer.tool_calls)
            )
        return answer

    @staticmethod
    def _replay_chunks(answer: Answer, reply: Reply, pacing: StreamSpec) -> None:
        """Cut a recorded stream's chunks into the answer's parts (the scenario check made sure they fit)."""
        lengths: list[int | None] = []
        if reply.reasoning is not None:
            lengths.append(len(answer.reasoning))
        if reply.json_value is not None:
            lengths.append(None)
        elif reply.text is not None:
            lengths.append(len(answer.text))
        lengths += [len(call.arguments) for call in answer.tool_calls]
        sections = pacing.split(lengths)
        if sections is None:
            return  # cannot happen for a checked scenario: fall back to generated chunking
        parts = iter(sections)
        if reply.reasoning is not None:
            answer.recorded_reasoning = next(parts)
        if reply.json_value is not None or reply.text is not None:
            answer.recorded_text = next(parts)
            if reply.json_value is not None:
                answer.text = "".join(answer.recorded_text[0])  # the JSON exactly as it was streamed
        answer.tool_calls = tuple(
            replace(call, chunks=chunks, at_ms=at) for call, (chunks, at) in zip(answer.tool_calls, parts, strict=False)
        )

    def _tool_calls(
        self, conv: Conversation, reply: Reply, ctx: _Context, rng: random.Random, pacing: StreamSpec, now: int
    ) -> tuple[ToolCall, ...]:
        calls: list[ToolCall] = []
        if reply.tool_calls == "auto":
            offered = conv.tools_offered
            name = conv.required_tool or (offered[0].name if offered else None)
            if name is None:
                raise _Unanswerable(
                    "it replies with 'tool_calls: auto', but the request offers no tools"
                    + (" (tool_choice is 'none')" if conv.tools else "")
                )
            specs: list[tuple[str, Any, str | None]] = [(name, "auto", None)]
        else:
            assert isinstance(reply.tool_calls, list)
            specs = [(c.name, c.arguments, c.id) for c in reply.tool_calls]
        for name, arguments, call_id in specs:
            if arguments == "auto":
                tool = conv.tool(name)
                value = schema_instance(tool.parameters if tool else {"type": "object"}, rng, ctx.fake, now)
                text = _dumps(value)
            elif isinstance(arguments, str):
                text = compile_template(arguments).render(ctx)
            else:
                text = _dumps(_render_json(arguments, ctx))
            calls.append(ToolCall(name=name, arguments=text, chunks=chunk_arguments(text, pacing), id=call_id))
        return tuple(calls)


class _LazyRandom(random.Random):
    """A Random seeded from an answer's key on first use: most replies never draw."""

    def __init__(self, key: str) -> None:  # no super().__init__(): seeding is what costs
        self._key = key
        self._seeded = False
        self.gauss_next = None

    def random(self) -> float:
        self._seed()
        return super().random()

    def getrandbits(self, k: int) -> int:
        self._seed()
        return super().getrandbits(k)

    def _seed(self) -> None:
        if not self._seeded:
            self._seeded = True
            self.seed(fakes.derive(self._key, "json"))


def _continuing(text: str, prefill: str) -> str:
    """The reply after the client's prefill: the part the prefill already wrote is not repeated."""
    for start in (prefill, prefill.strip()):
        if start and text.startswith(start):
            return text[len(start) :]
    return text


class _Unanswerable(Exception):
    """A rule's reply does not fit the request (say, `tool_calls: auto` with no tools)."""


def _timed(chunks: Sequence[str], at_ms: Sequence[float]) -> Iterator[tuple[str, float | None]]:
    for i, chunk in enumerate(chunks):
        yield chunk, (at_ms[i] if i < len(at_ms) else None)
