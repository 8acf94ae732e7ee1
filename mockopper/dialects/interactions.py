"""Google's Interactions API: POST `{v1beta,v1}/interactions`, JSON and typed SSE events.

An interaction answers with `steps`: a `thought` step when the reply has reasoning, a
`model_output` step with the text, and one `function_call` step per tool call. The
stream announces each step (`step.start`, `step.delta`..., `step.stop`) between
`interaction.created` and `interaction.completed`. The client checks Content-Types
exactly: `application/json` for bodies and errors, `text/event-stream` for streams.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, ClassVar

from mockopper import fakes
from mockopper.answers import Answer, Failure
from mockopper.conversation import Conversation, Message, Tool, ToolCallRef
from mockopper.dialects.base import (
    Call,
    RequestError,
    Route,
    Surface,
    body_object,
    expect,
    invalid_type,
    optional,
    parse_extras,
    schema_of,
    with_cost,
)
from mockopper.dialects.google import (
    GoogleErrors,
    function_args,
    iso_time,
    strip_models,
    thought_tokens,
)
from mockopper.dialects.interactions_input import object_at, parse_input
from mockopper.exchange import Exchange, Recorded
from mockopper.history import Turn
from mockopper.sse import Event

__all__ = ["InteractionConversation", "Interactions"]

_OUTPUT_FORMATS = frozenset({"text", "image", "audio", "video"})
_TOOL_CHOICES = ("auto", "any", "none", "validated")


@dataclass(slots=True)
class InteractionConversation(Conversation):
    """An interaction request: what continuation needs beyond the conversation."""

    previous_id: str | None = None
    store: bool = True


def _tools(body: Mapping[str, Any]) -> tuple[Tool, ...]:
    tools: list[Tool] = []
    for i, item in enumerate(optional(body, "tools", list, default=[])):
        tool = object_at(item, f"tools[{i}]")
        if tool.get("type", "function") != "function":
            continue  # Google Search, code execution, MCP servers...: not offered functions
        name = expect(tool, "name", str, where=f"tools[{i}].")
        description = optional(tool, "description", str, where=f"tools[{i}].", default="")
        tools.append(Tool(name, description, schema_of(tool.get("parameters"))))
    return tuple(tools)


def _tool_choice(config: Mapping[str, Any], tools: tuple[Tool, ...]) -> tuple[tuple[Tool, ...], str, str | None]:
    choice = config.get("tool_choice")
    where = "generation_config.tool_choice"
    if choice is None:
        return tools, "auto", None
    allowed: list[str] | None = None
    if isinstance(choice, Mapping):
        spec = object_at(choice.get("allowed_tools"), f"{where}.allowed_tools")
        mode = optional(spec, "mode", str, where=f"{where}.allowed_tools.", default="auto")
        allowed = optional(spec, "tools", list, where=f"{where}.allowed_tools.")
        where = f"{where}.allowed_tools.mode"
    elif isinstance(choice, str):
        mode = choice
    else:
        raise invalid_type(where, "a string or an object", choice)
    if mode not in _TOOL_CHOICES:
        raise RequestError(
            400,
            f"Invalid value for '{where}': '{mode}'. Supported values are: 'auto', 'any', 'none' and 'validated'.",
            param=where,
            code="invalid_value",
        )
    if allowed:
        declared = {t.name for t in tools}
        unknown = [n for n in allowed if not isinstance(n, str) or n not in declared]
        if unknown:
            raise RequestError(
                400,
                f"Invalid value for 'generation_config.tool_choice.allowed_tools.tools': {unknown[0]!r} is not a "
                "declared function.",
                param="generation_config.tool_choice.allowed_tools.tools",
                code="invalid_value",
            )
        tools = tuple(t for t in tools if t.name in allowed)
    if mode == "none":
        return tools, "none", None
    if mode == "any":
        return (tools, "function", tools[0].name) if len(tools) == 1 else (tools, "required", None)
    return tools, "auto", None


def _response_format(body: Mapping[str, Any]) -> tuple[Mapping[str, Any] | None, bool]:
    """The JSON schema asked for, and whether JSON is asked for at all."""
    mime = optional(body, "response_mime_type", str)
    raw = body.get("response_format")
    formats = raw if isinstance(raw, list) else [raw] if raw is not None else []
    schema: Mapping[str, Any] | None = None
    wants = mime == "application/json"
    for i, item in enumerate(formats):
        fmt = object_at(item, "response_format" if isinstance(raw, Mapping) else f"response_format[{i}]")
        if isinstance(fmt.get("type"), str) and fmt["type"] in _OUTPUT_FORMATS:
            if fmt.get("type") == "text" and fmt.get("mime_type") == "application/json":
                wants = True
                schema = schema_of(fmt.get("schema")) or None
        else:  # the earlier form: the schema itself, beside response_mime_type
            wants = True
            schema = fmt
    return schema, wants


def _status(answer: Answer) -> str:
    if answer.tool_calls:
        return "requires_action"
    return "incomplete" if answer.finish_reason in ("length", "content_filter") else "completed"


def _error_code(status: int) -> str:
    """How the stream's error event names a status: `gateway_timeout`, `too_many_requests`..."""
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "overloaded" if status == 529 else "error"


class Interactions(GoogleErrors, Surface):
    api: ClassVar[str] = "interactions"
    routes = (Route("/v1beta/interactions"), Route("/v1/interactions"))

    def parse(self, body: Any, call: Call) -> Conversation:
        body = body_object(body)
        model = optional(body, "model", str) or optional(body, "agent", str)
        if not model:
            raise RequestError(
                400, "Missing required parameter: 'model'.", param="model", code="missing_required_parameter"
            )
        previous = optional(body, "previous_interaction_id", str)
        history: list[Message] = []
        if previous:
            turn = call.history.get(previous)
            if turn is None:
                raise RequestError(
                    404,
                    f"Interaction '{previous}' was not found. previous_interaction_id must name an interaction this "
                    "server answered (and stored) earlier.",
                    param="previous_interaction_id",
                    code="previous_interaction_not_found",
                    unknown_reference=True,
                )
            history = list(turn.messages)
        raw = body.get("input")
        if raw is None and not previous:
            raise RequestError(
                400, "Missing required parameter: 'input'.", param="input", code="missing_required_parameter"
            )
        names = {c.id: c.name for m in history for c in m.tool_calls}
        messages = history + (parse_input(raw, names) if raw is not None else [])
        config = optional(body, "generation_config", dict, default={})
        tools, mode, required = _tool_choice(config, _tools(body))
        schema, wants_json = _response_format(body)
        return InteractionConversation(
            api=self.api,
            model=strip_models(model),
            messages=messages,
            system=optional(body, "system_instruction", str, default=""),
            tools=tools,
            tool_choice=mode,
            required_tool=required,
            json_schema=schema if wants_json else None,
            wants_json=wants_json,
            stream=optional(body, "stream", bool, default=False),
            max_tokens=optional(config, "max_output_tokens", int, where="generation_config."),
            extras=parse_extras(body),
            headers=call.headers,
            previous_id=previous,
            store=optional(body, "store", bool, default=True),
        )

    # --- answers ----------------------------------------------------------------------

    @staticmethod
    def _id(answer: Answer) -> str:
        return answer.ident("v1_", "interaction", 32)

    @staticmethod
    def _signature(answer: Answer) -> str:
        return answer.derived(lambda key: base64.b64encode(fakes.ident(key, "", "signature", 32).encode()).decode())

    @staticmethod
    def _usage(answer: Answer) -> dict[str, Any]:
        thoughts = thought_tokens(answer)
        usage: dict[str, Any] = {
            "total_input_tokens": answer.input_tokens,
            "total_output_tokens": answer.output_tokens - thoughts,
            "total_tokens": answer.input_tokens + answer.output_tokens,
            "input_tokens_by_modality": [{"modality": "text", "tokens": answer.input_tokens}],
            "total_cached_tokens": 0,
            "total_tool_use_tokens": 0,
        }
        if thoughts:
            usage["total_thought_tokens"] = thoughts
        return usage

    def _head(self, answer: Answer, status: str) -> dict[str, Any]:
        stamp = iso_time(answer.created)
        return {
            "id": self._id(answer),
            "object": "interaction",
            "status": status,
            "model": answer.model,
            "created": stamp,
            "updated": stamp,
        }

    def render(self, conv: Conversation, answer: Answer) -> Any:
        steps: list[dict[str, Any]] = []
        if answer.reasoning:
            steps.append(
                {
                    "type": "thought",
                    "summary": [{"type": "text", "text": answer.reasoning}],
                    "signature": self._signature(answer),
                }
            )
        if answer.text or not answer.tool_calls:
            steps.append({"type": "model_output", "content": [{"type": "text", "text": answer.text}]})
        steps.extend(
            {
                "type": "function_call",
                "id": answer.call_id(i, "call_"),
                "name": call.name,
                "arguments": function_args(call),
            }
            for i, call in enumerate(answer.tool_calls)
        )
        body = {**self._head(answer, _status(answer)), "steps": steps, "usage": self._usage(answer)}
        if isinstance(conv, InteractionConversation) and conv.previous_id:
            body["previous_interaction_id"] = conv.previous_id
        return body

    def events(self, conv: Conversation, answer: Answer) -> Iterable[Event]:
        def event(kind: str, **data: Any) -> Event:
            return Event({"event_type": kind, **data}, name=kind)

        def delta(index: int, payload: dict[str, Any], at_ms: float | None) -> Event:
            data = {"event_type": "step.delta", "index": index, "delta": payload}
            return Event(data, name="step.delta", content=True, at_ms=at_ms)

        interaction_id = self._id(answer)
        yield event("interaction.created", interaction=self._head(answer, "in_progress"))
        yield event("interaction.status_update", interaction_id=interaction_id, status="in_progress")
        index = 0
        if answer.reasoning:
            yield event("step.start", index=index, step={"type": "thought"})
            for piece, at in answer.timed_reasoning():
                yield delta(index, {"type": "thought_summary", "content": {"type": "text", "text": piece}}, at)
            signature = {"type": "thought_signature", "signature": self._signature(answer)}
            yield event("step.delta", index=index, delta=signature)
            yield event("step.stop", index=index)
            index += 1
        if answer.text_chunks or not answer.tool_calls:
            yield event("step.start", index=index, step={"type": "model_output"})
            for piece, at in answer.timed_text():
                yield delta(index, {"type": "text", "text": piece}, at)
            yield event("step.stop", index=index)
            index += 1
        for i, call in enumerate(answer.tool_calls):
            step = {"type": "function_call", "id": answer.call_id(i, "call_"), "name": call.name, "arguments": {}}
            yield event("step.start", index=index, step=step)
            for piece, at in call.timed():
                yield delta(index, {"type": "arguments_delta", "arguments": piece}, at)
            yield event("step.stop", index=index)
            index += 1
        final = {**self._head(answer, _status(answer)), "usage": with_cost(self._usage(answer), answer)}
        yield event("interaction.completed", interaction=final)
        yield Event("[DONE]", name="done")

    def error_events(self, conv: Conversation, answer: Answer | None, failure: Failure) -> Iterable[Event]:
        error = {"code": _error_code(failure.status), "message": failure.message}
        return [Event({"event_type": "error", "error": error}, name="error")]

    def read_body(self, conv: Conversation, body: Any) -> Recorded:
        from mockopper.dialects.google_recorded import read_interaction

        return read_interaction(body)

    def read_stream(self, conv: Conversation, exchange: Exchange) -> Recorded:
        from mockopper.dialects.google_recorded import read_interactions_stream

        return read_interactions_stream(exchange)

    def remember(self, conv: Conversation, answer: Answer, call: Call) -> None:
        if not isinstance(conv, InteractionConversation) or not conv.store:
            return
        calls = tuple(
            ToolCallRef(answer.call_id(i, "call_"), c.name, c.arguments) for i, c in enumerate(answer.tool_calls)
        )
        reply = Message("assistant", answer.text, tool_calls=calls)
        call.history.put(self._id(answer), Turn(messages=(*conv.messages, reply), system=conv.system))
