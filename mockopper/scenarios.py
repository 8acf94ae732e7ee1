"""The scenario file as pydantic models: when a rule applies (`Match`), the rules, the model
fleet, guards and chaos. Pure data, strict, no I/O; what a rule answers is in `replies.py`.

Every model forbids unknown keys and is frozen, so a misspelt key is an error and a
loaded scenario can be shared between requests without copying. `loader.py` turns
YAML into these models and maps validation errors back to file lines.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, field_validator, model_validator

from mockopper.replies import ErrorSpec, Reply, ScenarioModel

__all__ = [
    "API_NAMES",
    "Chaos",
    "Guard",
    "Match",
    "ModelSpec",
    "Price",
    "Rule",
    "Scenario",
    "TextLookup",
]

ApiName = Literal[
    "chat",
    "responses",
    "openresponses",
    "embeddings",
    "messages",
    "count_tokens",
    "interactions",
    "gemini",
]
API_NAMES: tuple[str, ...] = ApiName.__args__  # type: ignore[attr-defined]

AttachmentKind = Literal["image", "pdf", "audio", "file"]

DEFAULT_CLOCK = 1767225600  # 2026-01-01T00:00:00Z


class TextLookup(ScenarioModel):
    """A text condition spelt as a mapping: exactly one lookup."""

    contains: str | None = None
    equals: str | None = None
    regex: str | None = None
    startswith: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> TextLookup:
        given = [k for k in ("contains", "equals", "regex", "startswith") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "a text condition takes exactly one of contains, equals, regex, startswith"
                + (f" (got {', '.join(given)})" if given else "")
            )
        if self.regex is not None:
            try:
                re.compile(self.regex)
            except re.error as exc:
                raise ValueError(f"invalid regular expression {self.regex!r}: {exc}") from None
        return self


TextCondition = str | TextLookup


class Match(ScenarioModel):
    """Conditions a request must meet for a rule to answer it; all listed must hold."""

    api: ApiName | list[ApiName] | None = None
    model: str | list[str] | None = None
    message: TextCondition | None = None
    system: TextCondition | None = None
    any_message: TextCondition | None = None
    tools: bool | list[str] | None = None
    tool_result: bool | str | None = None
    turn: Annotated[int, Field(ge=0)] | None = None
    json_schema: bool | None = None
    stream: bool | None = None
    tags: dict[str, str | int | float | bool] | None = None
    header: dict[str, TextCondition] | None = None
    attachments: bool | AttachmentKind | list[AttachmentKind] | None = None

    @field_validator("tools", mode="before")
    @classmethod
    def _one_tool(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class Rule(ScenarioModel):
    """A match and what to answer; first match wins."""

    name: str | None = None
    match: Match = Field(default_factory=Match)
    reply: Reply | None = None
    replies: Annotated[list[Reply], Field(min_length=1)] | None = None
    then: Literal["repeat", "cycle"] = "repeat"
    times: Annotated[int, Field(ge=1)] | None = None

    @field_validator("match", mode="before")
    @classmethod
    def _empty_match(cls, value: Any) -> Any:
        return {} if value is None else value

    @model_validator(mode="after")
    def _one_reply(self) -> Rule:
        if (self.reply is None) == (self.replies is None):
            raise ValueError("a rule needs exactly one of reply or replies")
        if self.then == "cycle" and self.replies is None:
            raise ValueError("'then: cycle' only applies to a replies list")
        return self

    def reply_for(self, call: int) -> Reply:
        """The reply for this rule's `call`-th use (1-based)."""
        if self.reply is not None:
            return self.reply
        assert self.replies is not None
        index = call - 1
        if index >= len(self.replies):
            index = index % len(self.replies) if self.then == "cycle" else len(self.replies) - 1
        return self.replies[index]


class Price(ScenarioModel):
    """A model's price in USD per million tokens."""

    input: Annotated[float, Field(ge=0)]
    output: Annotated[float, Field(ge=0)]


class ModelSpec(ScenarioModel):
    """A model in the simulated fleet."""

    error: ErrorSpec | None = None
    fail_first: Annotated[int, Field(ge=0)] | None = None
    display_name: str | None = None
    price: Price | None = None


def _regex(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {pattern!r}: {exc}") from None
    return pattern


class Guard(ScenarioModel):
    """A guardrail that checks every request (input), every answer (output), or both."""

    name: Annotated[str, Field(min_length=1)]
    type: Literal["pii", "secrets", "toxicity", "regex"]
    custom_patterns: list[Annotated[str, AfterValidator(_regex)]] = Field(default_factory=list)
    applies_to: Literal["input", "output", "both"] = "both"
    action: Literal["flag", "block", "redact"] = "flag"
    replacement: str = "***"

    @model_validator(mode="after")
    def _patterns(self) -> Guard:
        if self.type == "regex" and not self.custom_patterns:
            raise ValueError("a regex guard needs at least one pattern in custom_patterns")
        return self


class Chaos(ScenarioModel):
    """Random failures, drawn deterministically from the seed."""

    rate: Annotated[float, Field(ge=0, le=1)]
    statuses: Annotated[list[Annotated[int, Field(ge=400, le=599)]], Field(min_length=1)] = Field(
        default_factory=lambda: [429, 500, 503]
    )
    retry_after: Annotated[float, Field(ge=0)] | None = None


class Scenario(ScenarioModel):
    """A whole scenario file."""

    name: str | None = None
    description: str | None = None
    seed: int = 0
    clock: int | Literal["real"] = DEFAULT_CLOCK
    models: dict[str, ModelSpec] = Field(default_factory=dict)
    rules: list[Rule] = Field(default_factory=list)
    chaos: Chaos | None = None
    guards: list[Guard] = Field(default_factory=list)

    @field_validator("models", mode="before")
    @classmethod
    def _healthy_by_default(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: ({} if v is None else v) for k, v in value.items()}
        return value

    @field_validator("rules", "guards", mode="before")
    @classmethod
    def _no_rules(cls, value: Any) -> Any:
        return [] if value is None else value

    @field_validator("guards")
    @classmethod
    def _unique_guards(cls, value: list[Guard]) -> list[Guard]:
        seen: set[str] = set()
        for guard in value:
            if guard.name in seen:
                raise ValueError(f"two guards are named {guard.name!r}; each guard needs its own name")
            seen.add(guard.name)
        return value

    def rule_name(self, index: int) -> str:
        rule = self.rules[index]
        return rule.name if rule.name else f"rule {index + 1}"
