"""Guardrails: the checks a request asks for, run on its input before matching and on its answer after.

A request's `Plan` comes from its `X-Opper-Guard-Input`, `-Output` and `-Action` headers
and from the scenario's `guards:`. Each check finds spans (`detectors`) in the texts of the
neutral conversation (system, messages, tool calls, inputs to embed) or of the answer
(text, reasoning, tool-call arguments), and acts on them: `flag` records a finding,
`redact` replaces the span with the check's replacement, `block` refuses the call with a
400 that names the check and what it found. A finding says which check, which side, what
kind and where; no finding, error or record ever holds the matched text.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mockopper.answers import Answer, Failure, ToolCall
from mockopper.conversation import Conversation, Message
from mockopper.dialects.base import RequestError
from mockopper.opper.detectors import BUILTIN, Span, describe, pattern_spans
from mockopper.pacing import chunk_arguments
from mockopper.scenarios import Scenario

__all__ = [
    "ACTION_HEADER",
    "BLOCKED_CODE",
    "INPUT_HEADER",
    "OUTPUT_HEADER",
    "Check",
    "Finding",
    "GuardReport",
    "Plan",
    "Screen",
    "plan",
    "reports",
    "screen_input",
    "screen_output",
    "scrub",
]

INPUT_HEADER = "X-Opper-Guard-Input"
OUTPUT_HEADER = "X-Opper-Guard-Output"
ACTION_HEADER = "X-Opper-Guard-Action"
_READ = (INPUT_HEADER.lower(), OUTPUT_HEADER.lower(), ACTION_HEADER.lower())  # as the request's headers spell them
ACTIONS = ("flag", "block", "redact")
BLOCKED_CODE = "guard_blocked"


@dataclass(frozen=True, slots=True)
class Check:
    """One guard as it runs on one side of a call."""

    name: str  # what findings and errors call it: a built-in check, or a scenario guard's name
    type: str  # pii | secrets | toxicity | regex
    action: str  # flag | block | redact
    patterns: tuple[str, ...] = ()
    replacement: str = "***"

    def spans(self, text: str) -> list[Span]:
        found = BUILTIN[self.type](text) if self.type in BUILTIN else []
        if self.patterns:
            found += pattern_spans([re.compile(p) for p in self.patterns], text)  # `re` caches the compiled patterns
        return _disjoint(found)


@dataclass(frozen=True, slots=True)
class Finding:
    """Something a check found: which check, on which side, what kind, where. Never the text itself."""

    check: str
    side: str  # input | output
    kind: str
    where: str

    def to_dict(self) -> dict[str, str]:
        return {"check": self.check, "side": self.side, "kind": self.kind, "where": self.where}


@dataclass(frozen=True, slots=True)
class GuardReport:
    """What one check made of a call, as the OpenResponses guard item and the trace show it."""

    name: str
    type: str
    action: str
    findings: tuple[Finding, ...] = ()

    @property
    def flagged(self) -> bool:
        return bool(self.findings)


@dataclass(frozen=True, slots=True)
class Plan:
    """The checks one request runs, per side."""

    input: tuple[Check, ...] = ()
    output: tuple[Check, ...] = ()


def plan(headers: Mapping[str, str], scenario: Scenario) -> Plan:
    """The checks for a request: the scenario's guards and those its headers name (a 400 naming a bad header)."""
    asked_in = headers.get(_READ[0], "")
    asked_out = headers.get(_READ[1], "")
    raw_action = headers.get(_READ[2])
    if not scenario.guards and not asked_in and not asked_out and raw_action is None:
        return _NO_PLAN
    action = (raw_action or "flag").strip().lower() or "flag"
    if action not in ACTIONS:
        raise RequestError(
            400,
            f"Invalid value for header '{ACTION_HEADER}': {raw_action!r}. "
            "Supported values are 'flag' (the default), 'block' and 'redact'.",
            param=ACTION_HEADER,
            code="invalid_header",
        )
    sides: dict[str, dict[str, Check]] = {"input": {}, "output": {}}
    for guard in scenario.guards:
        check = Check(guard.name, guard.type, guard.action, tuple(guard.custom_patterns), guard.replacement)
        for side in ("input", "output"):
            if guard.applies_to in (side, "both"):
                sides[side][guard.name] = check
    by_name = {guard.name: guard for guard in scenario.guards}
    for side, header, asked in (("input", INPUT_HEADER, asked_in), ("output", OUTPUT_HEADER, asked_out)):
        for name in (part.strip() for part in asked.split(",")):
            if not name:
                continue
            own = by_name.get(name)
            if own is not None:  # a scenario's guard, with the action the header asks for
                sides[side][name] = Check(name, own.type, action, tuple(own.custom_patterns), own.replacement)
            elif name.lower() in BUILTIN:
                sides[side][name.lower()] = Check(name.lower(), name.lower(), action)
            else:
                named = ", ".join(repr(g.name) for g in scenario.guards) or "none"
                raise RequestError(
                    400,
                    f"Unknown guard {name!r} in header '{header}'. The checks are 'pii', 'secrets' and "
                    f"'toxicity', and the scenario's own guards (named: {named}).",
                    param=header,
                    code="invalid_header",
                )
    return Plan(tuple(sides["input"].values()), tuple(sides["output"].values()))


_NO_PLAN = Plan()


@dataclass(slots=True)
class Screen:
    """What screening one side of a call found and did."""

    findings: list[Finding] = field(default_factory=list)
    blocked: Failure | None = None
    # (matched text, replacement) for every span redacted or blocked: what records and echoes must not show.
    hidden: list[tuple[str, str]] = field(default_factory=list)
    changed: bool = False  # some text was redacted


class _Screener:
    """Runs one side's checks over texts, collecting findings and building the redacted texts."""

    def __init__(self, checks: Sequence[Check], side: str) -> None:
        self.checks = checks
        self.side = side
        self.screen = Screen()
        self.blocking: Check | None = None

    def text(self, text: str, where: str, *, escape: bool = False) -> str:
        if not text:
            return text
        cuts: list[tuple[int, int, str]] = []
        for check in self.checks:
            for kind, start, end in check.spans(text):
                finding = Finding(check.name, self.side, kind, where)
                self.screen.findings.append(finding)
                if check.action == "flag":
                    continue
                if check.action == "block" and self.blocking is None:
                    self.blocking = check
                self.screen.hidden.append((text[start:end], check.replacement))
                if check.action == "redact":
                    replacement = json.dumps(check.replacement)[1:-1] if escape else check.replacement
                    cuts.append((start, end, replacement))
        if not cuts:
            return text
        self.screen.changed = True
        out, at = [], 0
        for start, end, replacement in sorted(cuts):
            if start < at:
                continue  # overlaps a span already replaced
            out += [text[at:start], replacement]
            at = end
        out.append(text[at:])
        return "".join(out)

    def json_text(self, text: str, where: str) -> str:
        """A JSON document (tool arguments, structured output): its strings and numbers, redacted in place."""
        try:
            value = json.loads(text)
        except ValueError:
            return self.text(text, where, escape=True)
        screened = self._value(value, where)
        return text if screened == value else json.dumps(screened, ensure_ascii=False, separators=(",", ":"))

    def _value(self, value: Any, where: str) -> Any:
        if isinstance(value, str):
            return self.text(value, where)
        if isinstance(value, int) and not isinstance(value, bool):
            shown = str(value)
            redacted = self.text(shown, where)
            return value if redacted == shown else redacted
        # Keys are checked too, and `where` names the document only: a key could hold what a guard looks for.
        if isinstance(value, dict):
            return {self.text(k, where): self._value(v, where) for k, v in value.items()}
        if isinstance(value, list):
            return [self._value(v, where) for v in value]
        return value

    def done(self, subject: str) -> Screen:
        if self.blocking is not None:
            check = self.blocking
            found = list(
                dict.fromkeys(f"{describe(f.kind)} ({f.where})" for f in self.screen.findings if f.check == check.name)
            )
            listed = ", ".join(found[:-1]) + f" and {found[-1]}" if len(found) > 1 else found[0]
            self.screen.blocked = Failure(
                400,
                f"Blocked by the {self.side} guard '{check.name}': {subject} contains {listed}.",
                code=BLOCKED_CODE,
                should_retry=False,
                source="request",
            )
        return self.screen


def screen_input(conv: Conversation, checks: Sequence[Check]) -> tuple[Conversation, Screen]:
    """Run the input checks over the conversation; a redacting check returns it with the spans replaced."""
    if not checks:
        return conv, Screen()
    screener = _Screener(checks, "input")
    system = screener.text(conv.system, "system")
    messages = [_message(screener, m, i) for i, m in enumerate(conv.messages)]
    inputs = tuple(screener.text(text, f"input[{i}]") for i, text in enumerate(conv.inputs))
    screen = screener.done("the request")
    if screen.changed:
        conv = dataclasses.replace(conv, system=system, messages=messages, inputs=inputs, _digest=None)
    return conv, screen


def _message(screener: _Screener, message: Message, index: int) -> Message:
    where = f"messages[{index}]"
    text = screener.text(message.text, where)
    calls = tuple(
        dataclasses.replace(call, arguments=screener.json_text(call.arguments, f"{where}.tool_calls[{j}].arguments"))
        for j, call in enumerate(message.tool_calls)
    )
    if text == message.text and calls == message.tool_calls:
        return message
    return dataclasses.replace(message, text=text, tool_calls=calls)


def screen_output(answer: Answer, checks: Sequence[Check]) -> Screen:
    """Run the output checks over the answer; a redacting check rewrites it in place (its stream chunks too)."""
    if not checks:
        return Screen()
    screener = _Screener(checks, "output")
    if answer.structured:
        answer.text = screener.json_text(answer.text, "json")
    else:
        answer.text = screener.text(answer.text, "text")
    answer.reasoning = screener.text(answer.reasoning, "reasoning")
    calls = []
    for i, call in enumerate(answer.tool_calls):
        arguments = screener.json_text(call.arguments, f"tool_calls[{i}].arguments")
        if arguments != call.arguments:
            call = ToolCall(call.name, arguments, chunk_arguments(arguments, answer.pacing), call.id)
        calls.append(call)
    answer.tool_calls = tuple(calls)
    return screener.done("the model's answer")


def reports(checks: Plan, findings: Iterable[Finding]) -> tuple[GuardReport, ...]:
    """One report per check that ran (on either side), with its findings."""
    if not checks.input and not checks.output:
        return ()
    found = list(findings)
    seen: dict[str, Check] = {}
    for check in (*checks.input, *checks.output):
        seen.setdefault(check.name, check)
    return tuple(
        GuardReport(c.name, c.type, c.action, tuple(f for f in found if f.check == c.name)) for c in seen.values()
    )


def scrub(value: Any, hidden: Sequence[tuple[str, str]]) -> Any:
    """A JSON value with every hidden text replaced, wherever it occurs in its strings."""
    if not hidden:
        return value
    pairs = sorted({(text, replacement) for text, replacement in hidden if text}, key=lambda p: -len(p[0]))

    def clean(text: str) -> str:
        for secret, replacement in pairs:
            if secret in text:
                text = text.replace(secret, replacement)
        return text

    return _walk(value, clean)


def _walk(value: Any, clean: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, Mapping):
        return {k: _walk(v, clean) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, clean) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        cleaned = clean(str(value))
        return value if cleaned == str(value) else cleaned
    return value


def _disjoint(spans: list[Span]) -> list[Span]:
    """Spans without overlaps: where two overlap, the one found first (by the earlier detector) stays."""
    kept: list[Span] = []
    for span in spans:
        if all(span[2] <= k[1] or span[1] >= k[2] for k in kept):
            kept.append(span)
    return sorted(kept, key=lambda s: s[1])
