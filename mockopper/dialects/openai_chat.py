"""OpenAI Chat Completions: POST /chat/completions, JSON and SSE; `n` choices (each the same answer), logprobs."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar

from mockopper.answers import Answer, Failure
from mockopper.conversation import Attachment, Conversation, Message, Tool, ToolCallRef
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
from mockopper.dialects.openai import CHAT_PARTS, OpenAIErrors, attachment, bounded, token_logprobs
from mockopper.exchange import Exchange, Recorded
from mockopper.sse import Event

__all__ = ["ChatCompletions"]

_ROLES = ("system", "developer", "user", "assistant", "tool", "function")
_MAX_CHOICES = 128  # of `n`, as OpenAI bounds it


def content_text(content: Any, where: str) -> tuple[str, tuple[Attachment, ...]]:
    """The text of a message's `content` (a string or a list of parts) and its attachments."""
    if content is None:
        return "", ()
    if isinstance(content, str):
        return content, ()
    if not isinstance(content, list):
        raise invalid_type(where, "a string or an array of content parts", content)
    texts: list[str] = []
    attachments: list[Attachment] = []
    for i, part in enumerate(content):
        if isinstance(part, str):
            texts.append(part)
            continue
        if not isinstance(part, Mapping):
            raise invalid_type(f"{where}[{i}]", "an object", part)
        kind = part.get("type")
        if kind in ("text", "input_text", "output_text"):
            text = part.get("text")
            if not isinstance(text, str):
                raise invalid_type(f"{where}[{i}].text", "a string", text)
            texts.append(text)
        elif kind == "refusal":
            texts.append(str(part.get("refusal") or ""))
        elif kind in CHAT_PARTS:
            attachments.append(attachment(part, f"{where}[{i}]"))
        else:
            raise RequestError(
                400,
                f"Invalid value: '{kind}'. Supported content part types are 'text', "
                f"'image_url', 'input_audio' and 'file'.",
                param=f"{where}[{i}].type",
                code="invalid_value",
            )
    return "\n".join(texts), tuple(attachments)


def parse_tools(body: Mapping[str, Any]) -> tuple[tuple[Tool, ...], str, str | None]:
    tools: list[Tool] = []
    for i, item in enumerate(optional(body, "tools", list, default=[])):
        where = f"tools[{i}]"
        if not isinstance(item, Mapping):
            raise invalid_type(where, "an object", item)
        kind = item.get("type", "function")
        if not isinstance(kind, str):
            raise invalid_type(f"{where}.type", "a string", kind)
        spec = item.get(kind) if isinstance(item.get(kind), Mapping) else None
        if spec is None:
            raise RequestError(
                400,
                f"Missing required parameter: '{where}.{kind}'.",
                param=f"{where}.{kind}",
                code="missing_required_parameter",
            )
        name = expect(spec, "name", str, where=f"{where}.{kind}.")
        tools.append(
            Tool(
                name=name, description=str(spec.get("description") or ""), parameters=schema_of(spec.get("parameters"))
            )
        )
    choice = body.get("tool_choice")
    required: str | None = None
    if choice is None:
        mode = "auto"
    elif isinstance(choice, str):
        if choice not in ("none", "auto", "required"):
            raise RequestError(
                400,
                f"Invalid value for 'tool_choice': '{choice}'. Supported values are: 'none', 'auto', and 'required'.",
                param="tool_choice",
                code="invalid_value",
            )
        mode = choice
    elif isinstance(choice, Mapping):
        function = choice.get("function")
        if choice.get("type") == "function" and isinstance(function, Mapping) and isinstance(function.get("name"), str):
            mode, required = "function", function["name"]
        elif choice.get("type") == "allowed_tools":
            allowed = optional(choice, "allowed_tools", dict, where="tool_choice.", default={})
            mode = str(allowed.get("mode", "auto"))
        else:
            raise RequestError(
                400,
                "Invalid value for 'tool_choice': expected {'type': 'function', 'function': {'name': ...}}.",
                param="tool_choice",
                code="invalid_value",
            )
    else:
        raise invalid_type("tool_choice", "a string or an object", choice)
    if required is not None and not any(t.name == required for t in tools):
        raise RequestError(
            400,
            f"Invalid value for 'tool_choice': no function named '{required}' was specified in the 'tools' parameter.",
            param="tool_choice",
            code="invalid_value",
        )
    return tuple(tools), mode, required


class ChatCompletions(OpenAIErrors, Surface):
    api: ClassVar[str] = "chat"
    routes = (Route("/chat/completions"),)

    def parse(self, body: Any, call: Call) -> Conversation:
        body = body_object(body)
        model = expect(body, "model", str)
        raw = expect(body, "messages", list)
        if not raw:
            raise RequestError(
                400,
                "Invalid 'messages': empty array. Expected an array with minimum length 1, "
                "but got an empty array instead.",
                param="messages",
                code="empty_array",
            )
        system: list[str] = []
        messages: list[Message] = []
        names: dict[str, str] = {}
        for i, item in enumerate(raw):
            where = f"messages[{i}]"
            if not isinstance(item, Mapping):
                raise invalid_type(where, "an object", item)
            role = expect(item, "role", str, where=f"{where}.")
            if role not in _ROLES:
                raise RequestError(
                    400,
                    f"Invalid value: '{role}'. Supported values are: 'system', 'assistant', "
                    "'user', 'function', 'tool', and 'developer'.",
                    param=f"{where}.role",
                    code="invalid_value",
                )
            text, attachments = content_text(item.get("content"), f"{where}.content")
            if role in ("system", "developer"):
                system.append(text)
            elif role == "user":
                messages.append(Message("user", text, attachments=attachments))
            elif role == "assistant":
                calls = []
                for j, tc in enumerate(optional(item, "tool_calls", list, where=f"{where}.", default=[])):
                    function = tc.get("function") if isinstance(tc, Mapping) else None
                    if not isinstance(function, Mapping) or not isinstance(function.get("name"), str):
                        raise RequestError(
                            400,
                            f"Missing required parameter: '{where}.tool_calls[{j}].function.name'.",
                            param=f"{where}.tool_calls[{j}].function.name",
                            code="missing_required_parameter",
                        )
                    optional(tc, "thought_signature", str, where=f"{where}.tool_calls[{j}].")  # Opper: accepted
                    call_id = str(tc.get("id") or "")
                    names[call_id] = function["name"]
                    calls.append(ToolCallRef(call_id, function["name"], str(function.get("arguments") or "")))
                messages.append(Message("assistant", text, tool_calls=tuple(calls)))
            elif role == "tool":
                call_id = expect(item, "tool_call_id", str, where=f"{where}.")
                messages.append(
                    Message("tool", text, tool_name=names.get(call_id), tool_call_id=call_id, attachments=attachments)
                )
            else:  # the legacy "function" role
                messages.append(
                    Message("tool", text, tool_name=str(item.get("name") or "") or None, attachments=attachments)
                )
        tools, mode, required = parse_tools(body)
        schema = None
        wants_json = False
        fmt = optional(body, "response_format", dict)
        if fmt is not None:
            kind = fmt.get("type")
            if kind == "json_schema":
                spec = fmt.get("json_schema")
                if not isinstance(spec, Mapping):
                    raise RequestError(
                        400,
                        "Missing required parameter: 'response_format.json_schema'.",
                        param="response_format.json_schema",
                        code="missing_required_parameter",
                    )
                schema = schema_of(spec.get("schema"))
                wants_json = True
            elif kind == "json_object":
                wants_json = True
            elif kind != "text":
                raise RequestError(
                    400,
                    f"Invalid value: '{kind}'. Supported values are: 'json_object', 'json_schema', and 'text'.",
                    param="response_format.type",
                    code="invalid_value",
                )
        output_schema = optional(body, "output_schema", dict)  # Opper's extension, as json_schema asks for one
        if output_schema is not None:
            schema = schema if schema is not None else schema_of(output_schema)
            wants_json = True
        optional(body, "reasoning_effort", str)  # Opper accepts it on every model; nothing here reasons
        stream = optional(body, "stream", bool, default=False)
        options = optional(body, "stream_options", dict, default={})
        max_tokens = optional(body, "max_completion_tokens", int) or optional(body, "max_tokens", int)
        choices = bounded(body, "n", 1, _MAX_CHOICES, integer=True) or 1
        logprobs = optional(body, "logprobs", bool, default=False)
        top = bounded(body, "top_logprobs", 0, 20, integer=True)
        if top is not None and not logprobs:
            raise RequestError(
                400,
                "Invalid value for 'top_logprobs': 'top_logprobs' requires 'logprobs' to be true.",
                param="top_logprobs",
                code="invalid_value",
            )
        return Conversation(
            api=self.api,
            model=model,
            messages=messages,
            system="\n\n".join(s for s in system if s),
            tools=tools,
            tool_choice=mode,
            required_tool=required,
            json_schema=schema,
            wants_json=wants_json,
            stream=stream,
            max_tokens=max_tokens,
            choices=choices,
            logprobs=(top or 0) if logprobs else None,
            extras=parse_extras(body),
            headers=call.headers,
            stream_usage=options.get("include_usage") is True,
        )

    # --- answers ----------------------------------------------------------------------

    @staticmethod
    def _usage(answer: Answer) -> dict[str, Any]:
        return {
            "prompt_tokens": answer.input_tokens,
            "completion_tokens": answer.output_tokens,
            "total_tokens": answer.input_tokens + answer.output_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }

    def _tool_calls(self, answer: Answer) -> list[dict[str, Any]]:
        return [
            {
                "id": answer.call_id(i, "call_"),
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for i, call in enumerate(answer.tool_calls)
        ]

    @staticmethod
    def _logprobs(conv: Conversation, text: str) -> dict[str, Any] | None:
        """A choice's (or a chunk's) `logprobs`, when the request asks for them."""
        if conv.logprobs is None:
            return None
        return {"content": token_logprobs(text, conv.logprobs), "refusal": None}

    def render(self, conv: Conversation, answer: Answer) -> Any:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": answer.text if answer.text or not answer.tool_calls else None,
            "refusal": None,
            "annotations": [],
        }
        if answer.tool_calls:
            message["tool_calls"] = self._tool_calls(answer)
        return {
            "id": answer.ident("chatcmpl-"),
            "object": "chat.completion",
            "created": answer.created,
            "model": answer.model,
            "choices": [
                {
                    "index": i,
                    "message": message,
                    "logprobs": self._logprobs(conv, answer.text),
                    "finish_reason": answer.finish_reason,
                }
                for i in range(conv.choices)
            ],
            "usage": self._usage(answer),
            "service_tier": "default",
            "system_fingerprint": None,
            **({} if answer.cost is None else {"cost": answer.cost}),  # Opper's ChatResponse.cost
        }

    def events(self, conv: Conversation, answer: Answer) -> Iterable[Event]:
        events = self._first_choice_events(conv, answer)
        return events if conv.choices == 1 else _each_choice(events, conv.choices)

    def _first_choice_events(self, conv: Conversation, answer: Answer) -> Iterator[Event]:
        head = {
            "id": answer.ident("chatcmpl-"),
            "object": "chat.completion.chunk",
            "created": answer.created,
            "model": answer.model,
            "service_tier": "default",
            "system_fingerprint": None,
        }
        asked = conv.logprobs is not None

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            logprobs = self._logprobs(conv, delta["content"]) if asked and "content" in delta else None
            return {**head, "choices": [{"index": 0, "delta": delta, "logprobs": logprobs, "finish_reason": finish}]}

        content_first = answer.text_chunks or not answer.tool_calls
        yield Event(chunk({"role": "assistant", "content": "" if content_first else None, "refusal": None}))
        for piece, at in answer.timed_text():
            yield Event(chunk({"content": piece}), content=True, at_ms=at)
        for i, call in enumerate(answer.tool_calls):
            start = {"index": i, "id": answer.call_id(i, "call_"), "type": "function"}
            yield Event(chunk({"tool_calls": [{**start, "function": {"name": call.name, "arguments": ""}}]}))
            for piece, at in call.timed():
                yield Event(
                    chunk({"tool_calls": [{"index": i, "function": {"arguments": piece}}]}), content=True, at_ms=at
                )
        yield Event(chunk({}, answer.finish_reason))
        if conv.stream_usage:
            yield Event({**head, "choices": [], "usage": with_cost(self._usage(answer), answer)})
        yield Event("[DONE]")

    def error_events(self, conv: Conversation, answer: Answer | None, failure: Failure) -> Iterable[Event]:
        return [Event(self.error_body(failure))]

    # --- reading a real answer back -----------------------------------------------------

    def read_body(self, conv: Conversation, body: Any) -> Recorded:
        from mockopper.dialects.openai_recorded import read_chat

        return read_chat(body)

    def read_stream(self, conv: Conversation, exchange: Exchange) -> Recorded:
        from mockopper.dialects.openai_recorded import read_chat_stream

        return read_chat_stream(exchange)


def _each_choice(events: Iterable[Event], choices: int) -> Iterator[Event]:
    """`n` choices of one answer: each chunk of the first choice followed by its copy for every other.

    Each copy is an event of its own, as OpenAI streams a choice a chunk; pacing and faults
    count the first choice's.
    """
    for event in events:
        yield event
        data = event.data
        if isinstance(data, Mapping) and len(data.get("choices") or ()) == 1:
            (first,) = data["choices"]
            for index in range(1, choices):
                yield Event({**data, "choices": [{**first, "index": index}]})
