"""What a rule answers, as scenario models: a reply (text, tool calls, JSON or an error), and
the stream pacing, fault and usage it may carry. Pure data, strict, no I/O.

Templates in a reply are compiled when it is loaded, so a bad expression is a load error.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mockopper import templates
from mockopper.sse import compact_json

__all__ = [
    "ErrorSpec",
    "FaultSpec",
    "Reply",
    "ScenarioModel",
    "StreamSpec",
    "ToolCallSpec",
    "UsageSpec",
]

FinishReason = Literal["stop", "length", "tool_calls", "content_filter"]


class ScenarioModel(BaseModel):
    """The base of every scenario model: an unknown key is an error, and a loaded model is frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_template(value: str) -> str:
    templates.compile_template(value)  # raises ValueError with a readable message
    return value


def _check_templates_in(value: Any) -> Any:
    """Compile every string inside a JSON-like value, so template errors surface at load."""
    if isinstance(value, str):
        _check_template(value)
    elif isinstance(value, dict):
        for item in value.values():
            _check_templates_in(item)
    elif isinstance(value, list):
        for item in value:
            _check_templates_in(item)
    return value


_DYNAMIC: Any = object()


def _fixed_value(value: Any) -> Any:
    """A JSON-like value with every string template rendered, when none needs a request (else _DYNAMIC)."""
    if isinstance(value, str):
        fixed = templates.compile_template(value).fixed
        return _DYNAMIC if fixed is None else fixed
    if isinstance(value, dict):
        items = {k: _fixed_value(v) for k, v in value.items()}
        return _DYNAMIC if any(v is _DYNAMIC for v in items.values()) else items
    if isinstance(value, list):
        listed = [_fixed_value(v) for v in value]
        return _DYNAMIC if any(v is _DYNAMIC for v in listed) else listed
    return value


class ErrorSpec(ScenarioModel):
    """A scripted error: the surface renders it in its own error shape."""

    status: Annotated[int, Field(ge=400, le=599)]
    type: str | None = None
    message: str | None = None
    code: str | None = None
    retry_after: Annotated[float, Field(ge=0)] | None = None
    should_retry: bool | None = None
    headers: dict[str, str] | None = None

    @field_validator("message")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        return None if value is None else _check_template(value)


class ToolCallSpec(ScenarioModel):
    """One scripted tool call; `arguments: auto` generates them from the tool's schema."""

    name: str
    arguments: dict[str, Any] | str = "auto"
    id: str | None = None

    @field_validator("arguments")
    @classmethod
    def _templates(cls, value: Any) -> Any:
        return value if value == "auto" else _check_templates_in(value)


class StreamSpec(ScenarioModel):
    """How a streamed reply is paced and cut into chunks.

    Either generated pacing (`chunk`, `ttft_ms`, `interval_ms`, `jitter_ms`) or a recorded
    stream: `chunks`, the content pieces in the order they stream (the reply's reasoning,
    then its text or JSON, then each tool call's arguments), and `at_ms`, when each one
    goes out, in milliseconds from the request's start.
    """

    chunk: Literal["word", "char", "line"] | Annotated[int, Field(ge=1)] = "word"
    ttft_ms: Annotated[float, Field(ge=0)] = 0
    interval_ms: Annotated[float, Field(ge=0)] = 0
    jitter_ms: Annotated[float, Field(ge=0)] = 0
    chunks: list[Annotated[str, Field(min_length=1)]] | None = None
    at_ms: list[Annotated[float, Field(ge=0)]] | None = None

    @model_validator(mode="after")
    def _recorded(self) -> StreamSpec:
        if (self.chunks is None) != (self.at_ms is None):
            raise ValueError("chunks and at_ms go together: one offset for each chunk")
        if self.chunks is None or self.at_ms is None:
            return self
        generated = sorted(self.model_fields_set & {"chunk", "ttft_ms", "interval_ms", "jitter_ms"})
        if generated:
            raise ValueError(f"recorded chunks take no {', '.join(generated)}: at_ms says when each chunk goes out")
        if len(self.chunks) != len(self.at_ms):
            raise ValueError(f"chunks has {len(self.chunks)} entries but at_ms has {len(self.at_ms)}: give one each")
        for i in range(1, len(self.at_ms)):
            if self.at_ms[i] < self.at_ms[i - 1]:
                raise ValueError(
                    f"at_ms must not decrease: entry {i} ({self.at_ms[i]:g}) is before entry {i - 1} "
                    f"({self.at_ms[i - 1]:g})"
                )
        return self

    @property
    def recorded(self) -> bool:
        return self.chunks is not None

    def split(self, lengths: list[int | None]) -> list[tuple[tuple[str, ...], tuple[float, ...]]] | None:
        """The recorded chunks cut into consecutive sections of the given lengths in characters
        (None: whatever is left); None when a chunk straddles two sections or lengths do not add up."""
        chunks, at = self.chunks or [], self.at_ms or []
        out: list[tuple[tuple[str, ...], tuple[float, ...]]] = []
        i = 0
        for length in lengths:
            start = i
            if length is None:
                i = len(chunks)
            else:
                size = 0
                while size < length and i < len(chunks):
                    size += len(chunks[i])
                    i += 1
                if size != length:
                    return None
            out.append((tuple(chunks[start:i]), tuple(at[start:i])))
        return out if i == len(chunks) else None


class FaultSpec(ScenarioModel):
    """A transport fault: exactly one of the four actions."""

    disconnect_after: Annotated[int, Field(ge=0)] | None = None
    truncate_after: Annotated[int, Field(ge=0)] | None = None
    error_after: Annotated[int, Field(ge=0)] | None = None
    hang: Literal[True] | None = None
    error: ErrorSpec | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> FaultSpec:
        actions = ("disconnect_after", "truncate_after", "error_after", "hang")
        given = [k for k in actions if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "a fault takes exactly one of disconnect_after, truncate_after, error_after, hang"
                + (f" (got {', '.join(given)})" if given else "")
            )
        if self.error is not None and self.error_after is None:
            raise ValueError("'error' only goes with error_after")
        return self

    @property
    def action(self) -> str:
        for name in ("disconnect_after", "truncate_after", "error_after", "hang"):
            if getattr(self, name) is not None:
                return name
        raise AssertionError("a validated fault always has an action")

    @property
    def after(self) -> int:
        """How many content chunks go out before the fault strikes."""
        for name in ("disconnect_after", "truncate_after", "error_after"):
            value = getattr(self, name)
            if value is not None:
                return int(value)
        return 0


class UsageSpec(ScenarioModel):
    input_tokens: Annotated[int, Field(ge=0)] | None = None
    output_tokens: Annotated[int, Field(ge=0)] | None = None


class Reply(ScenarioModel):
    """What a rule answers: exactly one kind (text, tool_calls, json or error).

    `format: auto` beside `text` answers in the output format the request asks for
    (see `formats`): JSON mode, a JSON Schema in the prompt, field markers; else the text.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    text: str | None = None
    format: Literal["auto"] | None = None
    tool_calls: list[ToolCallSpec] | Literal["auto"] | None = None
    json_value: Any = Field(default=None, alias="json")
    reasoning: str | None = None
    error: ErrorSpec | None = None
    finish_reason: FinishReason | None = None
    usage: UsageSpec | None = None
    model: str | None = None
    delay_ms: Annotated[float, Field(ge=0)] | None = None
    stream: StreamSpec | None = None
    fault: FaultSpec | None = None
    cost: Annotated[float, Field(ge=0)] | None = None  # USD, reported instead of the priced cost

    @field_validator("text", "reasoning")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        return None if value is None else _check_template(value)

    @field_validator("json_value")
    @classmethod
    def _json(cls, value: Any) -> Any:
        if value is None or value == "auto":
            return value
        if isinstance(value, str):
            raise ValueError("json must be an object, a list, or 'auto'")
        return _check_templates_in(value)

    @field_validator("tool_calls")
    @classmethod
    def _non_empty(cls, value: Any) -> Any:
        if isinstance(value, list) and not value:
            raise ValueError("tool_calls needs at least one call (or 'auto')")
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> Reply:
        kinds = [
            name
            for name, present in (
                ("tool_calls", self.tool_calls is not None),
                ("json", self.json_value is not None),
                ("error", self.error is not None),
            )
            if present
        ]
        if self.text is not None and "tool_calls" not in kinds:
            kinds.insert(0, "text")
        if self.format is not None and (self.text is None or kinds != ["text"]):
            raise ValueError(
                "'format: auto' goes with text alone: it answers in the format the prompt asks for, "
                "and with the text when the prompt asks for none"
            )
        if not kinds:
            raise ValueError("a reply needs one of text, tool_calls, json, error")
        if len(kinds) > 1:
            raise ValueError(
                f"a reply has exactly one kind, got {' and '.join(kinds)} (only text may stand beside tool_calls)"
            )
        if self.error is not None and (self.reasoning is not None or self.stream is not None):
            raise ValueError("an error reply takes no reasoning or stream settings")
        if self.error is not None and self.cost is not None:
            raise ValueError("an error reply costs nothing: remove 'cost'")
        if self.stream is not None and self.stream.recorded:
            self._check_recorded(self.stream)
        return self

    def _check_recorded(self, stream: StreamSpec) -> None:
        """Recorded chunks must add up to the reply's content: reasoning, then text (or JSON), then arguments."""
        parts: list[tuple[str, str]] = []  # (what, its text)
        for what, value in (("reasoning", self.reasoning), ("text", self.text)):
            if value is not None:
                fixed = templates.compile_template(value).fixed
                if fixed is None:
                    raise ValueError(f"recorded stream chunks need a fixed {what}: it has template expressions")
                parts.append((what, fixed))
        if isinstance(self.tool_calls, list):
            for i, call in enumerate(self.tool_calls):
                if isinstance(call.arguments, str):
                    text = None if call.arguments == "auto" else templates.compile_template(call.arguments).fixed
                else:
                    value = _fixed_value(call.arguments)
                    text = None if value is _DYNAMIC else compact_json(value)
                if text is None:
                    raise ValueError(f"recorded stream chunks need fixed arguments for tool call {i + 1}")
                parts.append((f"tool call {i + 1}'s arguments", text))
        elif self.tool_calls == "auto":
            raise ValueError("recorded stream chunks need scripted tool calls, not 'tool_calls: auto'")
        lengths: list[int | None] = [len(text) for _, text in parts]
        if self.json_value is not None:
            if self.json_value == "auto":
                raise ValueError("recorded stream chunks need a json value, not 'json: auto'")
            lengths.append(None)
        sections = stream.split(lengths)
        joined = "".join(stream.chunks or [])
        if sections is None:
            wanted = "".join(text for _, text in parts)
            shown = " + ".join(what for what, _ in parts) or "nothing"
            raise ValueError(
                f"stream.chunks joined ({len(joined)} characters) must equal the reply's {shown}"
                f" ({len(wanted)} characters), with no chunk spanning two of them"
                + (" (the JSON comes after those)" if self.json_value is not None else "")
            )
        for (what, text), (pieces, _) in zip(parts, sections, strict=False):
            if "".join(pieces) != text:
                raise ValueError(f"stream.chunks do not spell the reply's {what}: joined they read differently")
        if self.json_value is not None:
            pieces, _ = sections[-1]
            try:
                value = json.loads("".join(pieces))
            except ValueError:
                raise ValueError("the chunks after the reasoning must spell the reply's json as JSON text") from None
            if value != _fixed_value(self.json_value):
                raise ValueError("the chunks after the reasoning spell other JSON than the reply's json value")

    @property
    def kind(self) -> str:
        if self.error is not None:
            return "error"
        if self.tool_calls is not None:
            return "tool_calls"
        if self.json_value is not None:
            return "json"
        return "text"
