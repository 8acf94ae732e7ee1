"""Rule matching: conditions compiled once, first-match selection, and near-miss reports.

A condition is a function of the conversation and the model being tried that returns
None when it holds and, when it does not, a function that says why, so the same code
selects a rule and explains why none was selected.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from mockopper.attachments import KINDS
from mockopper.conversation import Conversation
from mockopper.journal import REDACTED, SECRET_HEADERS
from mockopper.scenarios import Match, Rule, Scenario, TextLookup

__all__ = ["CompiledRule", "NearMiss", "compile_rules", "describe_unmatched", "explain", "first_match", "holding"]

# A check returns None when its condition holds, else a function that says why it does not
# (the sentence is only built when a near-miss report needs it).
Reason = Callable[[], str]
Check = Callable[[Conversation, str], "Reason | None"]

# Surfaces that only rules naming them in `match.api` may answer (SPEC 2.4).
OPT_IN_APIS = frozenset({"embeddings", "count_tokens"})


@dataclass(frozen=True, slots=True)
class CompiledRule:
    index: int
    name: str
    rule: Rule
    checks: tuple[Check, ...]


@dataclass(frozen=True, slots=True)
class NearMiss:
    rule: str
    reasons: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.rule!r} - " + "; ".join(self.reasons)


def _show(text: str | None, limit: int = 60) -> str:
    if text is None:
        return "nothing"
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def text_test(cond: str | TextLookup) -> tuple[str, Callable[[str], bool]]:
    """A text condition as (what it expects, predicate)."""
    if isinstance(cond, str):
        needle = cond.lower()
        return f"to contain {cond!r}", lambda s: needle in s.lower()
    if cond.contains is not None:
        needle = cond.contains.lower()
        return f"to contain {cond.contains!r}", lambda s: needle in s.lower()
    if cond.equals is not None:
        target = cond.equals.strip().lower()
        return f"to equal {cond.equals!r}", lambda s: s.strip().lower() == target
    if cond.startswith is not None:
        prefix = cond.startswith.lower()
        return f"to start with {cond.startswith!r}", lambda s: s.lstrip().lower().startswith(prefix)
    assert cond.regex is not None
    pattern = re.compile(cond.regex)
    return f"to match /{cond.regex}/", lambda s: pattern.search(s) is not None


def _api(m: Match) -> Check:
    apis = frozenset([m.api] if isinstance(m.api, str) else (m.api or ()))

    def check(conv: Conversation, model: str) -> Reason | None:
        if not apis:
            if conv.api in OPT_IN_APIS:
                return lambda: f"api: rules without an 'api' condition never answer {conv.api} requests"
            return None
        if conv.api in apis:
            return None
        return lambda: f"api: expected {' or '.join(sorted(apis))}, got {conv.api!r}"

    return check


def _model(m: Match) -> Check | None:
    if m.model is None:
        return None
    globs = [m.model] if isinstance(m.model, str) else m.model
    pattern = re.compile("|".join(f"(?:{fnmatch.translate(g.lower())})" for g in globs))
    shown = " or ".join(repr(g) for g in globs)

    def check(conv: Conversation, model: str) -> Reason | None:
        if pattern.match(model.lower()):
            return None
        return lambda: f"model: expected {shown}, got {model!r}"

    return check


def _message(m: Match) -> Check | None:
    if m.message is None:
        return None
    expects, test = text_test(m.message)

    def check(conv: Conversation, model: str) -> Reason | None:
        text = conv.last_user_text
        if text is not None and test(text):
            return None
        if text is None:
            last = conv.last
            got = (
                f"a {last.tool_name or 'tool'} result as the last message"
                if last and last.role == "tool"
                else "no user message with text last"
            )
            return lambda: f"message: expected the last user message {expects}, got {got}"
        return lambda: f"message: expected {expects}, got {_show(text)}"

    return check


def _system(m: Match) -> Check | None:
    if m.system is None:
        return None
    expects, test = text_test(m.system)

    def check(conv: Conversation, model: str) -> Reason | None:
        if test(conv.system):
            return None
        return lambda: f"system: expected {expects}, got {_show(conv.system) if conv.system else 'no system text'}"

    return check


def _any_message(m: Match) -> Check | None:
    if m.any_message is None:
        return None
    expects, test = text_test(m.any_message)

    def check(conv: Conversation, model: str) -> Reason | None:
        if any(test(msg.text) for msg in conv.messages if msg.text):
            return None
        return lambda: f"any_message: expected some message {expects}, none does"

    return check


def _tools(m: Match) -> Check | None:
    if m.tools is None:
        return None
    wanted = m.tools

    def check(conv: Conversation, model: str) -> Reason | None:
        offered = [t.name for t in conv.tools_offered]
        if wanted is True:
            return None if offered else lambda: "tools: expected some tool offered, got none"
        if wanted is False:
            return None if not offered else lambda: f"tools: expected no tools offered, got {', '.join(offered)}"
        missing = [name for name in wanted if name not in offered]
        if not missing:
            return None
        return lambda: f"tools: expected {', '.join(missing)} offered, got {', '.join(offered) or 'none'}"

    return check


def _got_result(conv: Conversation) -> str:
    result = conv.last_tool_result
    return f"a {result.tool_name!r} result" if result else "no tool result as the last message"


def _tool_result(m: Match) -> Check | None:
    if m.tool_result is None:
        return None
    wanted = m.tool_result

    def check(conv: Conversation, model: str) -> Reason | None:
        result = conv.last_tool_result
        if wanted is True:
            return None if result else lambda: f"tool_result: expected a tool result last, got {_got_result(conv)}"
        if wanted is False:
            return None if not result else lambda: f"tool_result: expected no tool result last, got {_got_result(conv)}"
        if result is not None and result.tool_name == wanted:
            return None
        return lambda: f"tool_result: expected a {wanted!r} result last, got {_got_result(conv)}"

    return check


def _turn(m: Match) -> Check | None:
    if m.turn is None:
        return None
    wanted = m.turn

    def check(conv: Conversation, model: str) -> Reason | None:
        turn = conv.turn
        return None if turn == wanted else lambda: f"turn: expected {wanted}, got {turn}"

    return check


def _json_schema(m: Match) -> Check | None:
    if m.json_schema is None:
        return None
    wanted = m.json_schema

    def check(conv: Conversation, model: str) -> Reason | None:
        if conv.wants_json == wanted:
            return None
        return lambda: (
            "json_schema: expected structured output to be asked for, it was not"
            if wanted
            else "json_schema: expected no structured output, the request asks for it"
        )

    return check


def _stream(m: Match) -> Check | None:
    if m.stream is None:
        return None
    wanted = m.stream

    def check(conv: Conversation, model: str) -> Reason | None:
        if conv.stream == wanted:
            return None
        return lambda: f"stream: expected {'a' if wanted else 'no'} stream, got {'a' if conv.stream else 'no'} stream"

    return check


def _tag_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _tags(m: Match) -> Check | None:
    if not m.tags:
        return None
    wanted = {k: _tag_text(v) for k, v in m.tags.items()}

    def check(conv: Conversation, model: str) -> Reason | None:
        tags = conv.extras.tags
        for key, value in wanted.items():
            if key not in tags:
                return lambda: f"tags: expected {key}={value!r}, the request has no {key!r} tag"
            if _tag_text(tags[key]) != value:
                return lambda: f"tags: expected {key}={value!r}, got {_tag_text(tags[key])!r}"
        return None

    return check


_KIND_PHRASES = {"image": "an image", "pdf": "a PDF", "audio": "audio", "file": "a file"}


def _attachments(m: Match) -> Check | None:
    if m.attachments is None:
        return None
    wanted = m.attachments
    kinds = frozenset([wanted] if isinstance(wanted, str) else wanted if isinstance(wanted, list) else ())
    expects = (
        "an attachment"
        if wanted is True
        else "no attachment"
        if wanted is False
        else " or ".join(_KIND_PHRASES[k] for k in sorted(kinds, key=KINDS.index))
    )

    def check(conv: Conversation, model: str) -> Reason | None:
        found = conv.last_attachments
        if wanted is True or wanted is False:
            holds = bool(found) is wanted
        else:
            holds = any(a.kind in kinds for a in found)
        if holds:
            return None
        got = ", ".join(f"{_KIND_PHRASES[a.kind]} ({a.media_type})" for a in found) or "none"
        return lambda: f"attachments: expected {expects} on the last user message, got {got}"

    return check


def _header(m: Match) -> Check | None:
    if not m.header:
        return None
    tests = [(name.lower(), *text_test(cond)) for name, cond in m.header.items()]

    def check(conv: Conversation, model: str) -> Reason | None:
        for name, expects, test in tests:
            value = conv.headers.get(name)
            if value is None:
                return lambda: f"header: expected {name} {expects}, the request has no {name} header"
            if not test(value):
                if name in SECRET_HEADERS:  # a credential is never shown, neither the rule's nor the request's
                    return lambda: f"header: {name} does not satisfy the rule's condition ({REDACTED})"
                return lambda: f"header: expected {name} {expects}, got {_show(value)}"
        return None

    return check


_BUILDERS = (
    _model,
    _message,
    _tools,
    _tool_result,
    _system,
    _any_message,
    _turn,
    _json_schema,
    _stream,
    _tags,
    _attachments,
    _header,
)


def compile_rules(scenario: Scenario) -> tuple[CompiledRule, ...]:
    """Every rule's conditions as checks, cheapest first."""
    out = []
    for index, rule in enumerate(scenario.rules):
        checks: list[Check] = [_api(rule.match)]
        for build in _BUILDERS:
            check = build(rule.match)
            if check is not None:
                checks.append(check)
        out.append(CompiledRule(index, scenario.rule_name(index), rule, tuple(checks)))
    return tuple(out)


def first_match(
    rules: Iterable[CompiledRule], conv: Conversation, model: str, usable: Callable[[CompiledRule], bool]
) -> CompiledRule | None:
    """The first usable rule whose every condition holds."""
    for rule in rules:
        for check in rule.checks:
            if check(conv, model) is not None:
                break
        else:
            if usable(rule):
                return rule
    return None


def holding(rules: Iterable[CompiledRule], conv: Conversation, model: str) -> tuple[CompiledRule, ...]:
    """Every rule whose conditions all hold for this request and model, in match order (usable or not)."""
    return tuple(rule for rule in rules if all(check(conv, model) is None for check in rule.checks))


def explain(
    rules: Iterable[CompiledRule],
    conv: Conversation,
    model: str,
    spent: Callable[[CompiledRule], str | None],
    limit: int = 3,
) -> list[NearMiss]:
    """The rules that came closest to matching, each with every condition that failed."""
    misses = []
    for rule in rules:
        reasons = [r() for r in (check(conv, model) for check in rule.checks) if r is not None]
        used_up = spent(rule)
        if used_up:
            reasons.append(used_up)
        misses.append((len(reasons), rule.index, NearMiss(rule.name, tuple(reasons))))
    misses.sort(key=lambda item: (item[0], item[1]))
    return [miss for _, _, miss in misses[:limit]]


def describe_unmatched(method: str, path: str, model: str, misses: list[NearMiss]) -> str:
    """The message an unmatched request gets: which rules came closest and why they missed."""
    head = f"No rule matched {method} {path} (model {model!r})."
    if not misses:
        return head + " The scenario has no rules."
    return head + " Closest: " + " | ".join(str(m) for m in misses)
