"""The scenario engine: walks a request's fallback chain and decides what each model answers.

For each model in the chain it consults, in order, the `models:` fleet, chaos, and the
first matching rule, then has the chosen reply rendered (`rendering.py`) into a
vendor-neutral `Answer`, or answers a `Failure` (`answers.py`). The engine holds no
counters: each session's `State` (a compiled scenario and its counters) is passed in,
swapped whole when a scenario is loaded or reset, so a request always sees one scenario
and two sessions never share a count.
"""

from __future__ import annotations

import fnmatch
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from mockopper import fakes
from mockopper.answers import (
    DEFAULT_MESSAGES,
    Answer,
    Attempt,
    Decision,
    Failure,
    is_retryable,
)
from mockopper.conversation import Conversation
from mockopper.matching import OPT_IN_APIS, CompiledRule, compile_rules, explain, first_match, holding
from mockopper.memo import Entry
from mockopper.rendering import Context, Renderer, Unanswerable
from mockopper.replies import ErrorSpec, Reply
from mockopper.scenarios import ModelSpec, Scenario
from mockopper.templates import TemplateError, compile_template

__all__ = ["Compiled", "Counters", "Engine", "State"]


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


class Engine:
    """Decides answers for requests against a session's `State`. Thread-safe; it counts nothing
    itself (the counters are the state's), so one engine serves every session of a server."""

    def __init__(self, *, seed: int | None = None) -> None:
        self._renderer = Renderer()
        self._seed_override = seed

    def compile(self, scenario: Scenario) -> Compiled:
        """A scenario ready to serve, seeded by `--seed` when the server was given one."""
        return Compiled(scenario, scenario.seed if self._seed_override is None else self._seed_override)

    # --- the decision ---------------------------------------------------------------

    def decide(self, state: State, conv: Conversation, seen: Entry | None = None) -> Decision:
        """The decision for `conv`; `seen` is the memo's entry when this request was seen before, byte for byte."""
        chain = conv.chain
        attempts: list[Attempt] = []
        last = len(chain) - 1
        for position, model in enumerate(chain):
            decision = self._try(state, conv, model, attempts, seen)
            if position == last or not self._moves_on(conv, decision):
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

    def _try(
        self, state: State, conv: Conversation, model: str, attempts: list[Attempt], seen: Entry | None
    ) -> Decision:
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
                times = state.counters.chaos_seen.bump(slot)
            draw = fakes.derive(state.compiled.seed, "chaos", model, conv.digest, times) / 2**64
            if draw < chaos.rate:
                status = chaos.statuses[
                    fakes.derive(state.compiled.seed, "chaos-status", model, conv.digest, times) % len(chaos.statuses)
                ]
                failure = Failure(
                    status=status,
                    message=f"{DEFAULT_MESSAGES.get(status, f'Error {status}.')} (chaos)",
                    retry_after=chaos.retry_after,
                    source="chaos",
                )
                attempts.append(Attempt(model, "chaos", status, detail=f"chaos draw {draw:.4f} < {chaos.rate}"))
                return Decision(model, attempts, failure=failure)

        candidates: Iterable[CompiledRule] = state.compiled.rules
        if seen is not None:  # which rules hold depends on the request and the model alone: read once
            found = seen.holding.get((state.compiled, model))
            if found is None:
                found = holding(state.compiled.rules, conv, model)
                seen.keep(seen.holding, (state.compiled, model), found)
            candidates = found
        with state.counters.lock:
            if seen is not None:
                rule = None
                for candidate in candidates:
                    if self._usable(state, candidate):
                        rule = candidate
                        break
            else:
                rule = first_match(candidates, conv, model, lambda r: self._usable(state, r))
            call = 0
            if rule is not None:
                call = state.counters.rule_calls[rule.index] = state.counters.rule_calls.get(rule.index, 0) + 1

        if rule is None:
            if conv.api in OPT_IN_APIS:
                answer = self._renderer.generated(conv, model, seed=state.compiled.seed, created=state.compiled.now())
                attempts.append(Attempt(model, "reply", 200, detail="generated"))
                return Decision(model, attempts, answer=answer)
            misses = explain(state.compiled.rules, conv, model, lambda r: self._spent(state, r))
            failure = Failure(status=400, message="", code="no_matching_rule", should_retry=False, source="unmatched")
            attempts.append(Attempt(model, "unmatched", 400))
            return Decision(model, attempts, failure=failure, near_misses=misses)

        reply = rule.rule.reply_for(call)
        key = f"{state.compiled.seed}|{rule.index}:{rule.name}|{conv.digest}|{call}"
        ctx = self._renderer.context(conv, model, call, key, state.compiled.seed)
        try:
            if reply.error is not None:
                message = compile_template(reply.error.message).render(ctx) if reply.error.message else None
                failure = Failure.from_spec(reply.error, message, delay_ms=reply.delay_ms or 0)
                attempts.append(Attempt(model, "error", failure.status, rule.name))
                return Decision(model, attempts, failure=failure, rule=rule.name)
            answer = self._render(state, conv, model, reply, ctx, seen)
        except (Unanswerable, TemplateError) as exc:
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

    def _render(
        self, state: State, conv: Conversation, model: str, reply: Reply, ctx: Context, seen: Entry | None
    ) -> Answer:
        """The reply rendered; for a request seen before, a reply that reads nothing call-specific renders once."""
        created = state.compiled.now()
        kept = (state.compiled, id(reply), model, created)  # the scenario keeps its replies alive
        if seen is not None:
            prototype = seen.answers.get(kept)
            if prototype is not None:
                return prototype.copy(key=ctx.key)
        answer = self._renderer.render(conv, model, reply, ctx, created=created)
        if seen is not None and not ctx.drawn:
            seen.keep(seen.answers, kept, answer.copy())  # a copy: later stages write on the answer
        return answer

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
