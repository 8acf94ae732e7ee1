"""OpenAI Responses: POST /responses (JSON and typed SSE), its WebSocket at /responses, POST /responses/compact.

A request's `input` (a string or a list of items), `instructions` and
`previous_response_id` become one conversation; the answer comes back as output items
(`reasoning`, `message`, `function_call`) in a response object, or as the typed event
sequence when streamed. OpenResponses (`openresponses.py`) shares all of this and
differs where its specification says so, through the class attributes marked below.

Continuation: a finished response is kept under its id (unless `store: false`), and on a
WebSocket also in the connection's own memory, which holds only what a later turn may
continue from: a turn takes the response it continues out of that memory, so a failed
continuation cannot be continued again.
"""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from mockopper import fakes
from mockopper.answers import Answer, Failure
from mockopper.attachments import KINDS, Attachment
from mockopper.conversation import Conversation, Message, Tool, ToolCallRef, estimate_tokens
from mockopper.dialects.base import (
    Call,
    RequestError,
    Route,
    Surface,
    body_object,
    expect,
    kind_of,
    optional,
    parse_extras,
    schema_of,
    with_cost,
)
from mockopper.dialects.openai import RESPONSES_PARTS, OpenAIErrors, attachment, error_type
from mockopper.exchange import Exchange, Recorded
from mockopper.history import Turn
from mockopper.pacing import strike_index
from mockopper.sse import Event

__all__ = ["Responses", "ResponsesCompact", "ResponsesConversation"]

_ROLES = ("user", "assistant", "system", "developer")
_TEXT_PARTS = ("input_text", "output_text", "text", "summary_text", "reasoning_text")
# OpenAI item types that carry nothing a rule matches on: accepted and skipped.
_OPENAI_ITEMS = frozenset(
    {
        "web_search_call",
        "file_search_call",
        "computer_call",
        "computer_call_output",
        "image_generation_call",
        "code_interpreter_call",
        "local_shell_call",
        "local_shell_call_output",
        "shell_call",
        "shell_call_output",
        "apply_patch_call",
        "apply_patch_call_output",
        "mcp_list_tools",
        "mcp_approval_request",
        "mcp_approval_response",
        "mcp_call",
        "tool_search_call",
        "tool_search_output",
    }
)
_COMPACTION_PREFIX = "mockopper.compaction.v1."
# A failure's `code` when none was given, where a code is required (failed responses, WebSocket errors).
_CODES = {
    400: "invalid_request",
    401: "invalid_api_key",
    403: "permission_denied",
    404: "not_found",
    408: "timeout",
    409: "conflict",
    413: "request_too_large",
    422: "invalid_request",
    429: "rate_limit_exceeded",
}


@dataclass(slots=True)
class ResponsesConversation(Conversation):
    """A Responses request: the conversation, plus what the response object echoes back."""

    echo: dict[str, Any] = field(default_factory=dict)
    carried_system: str = ""  # system text a continuation carries (input items, not `instructions`)
    store: bool = True
    websocket: bool = False


def _bad(param: str, message: str, code: str = "invalid_value") -> RequestError:
    return RequestError(400, message, param=param, code=code)


def _object(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _bad(where, f"Invalid type for '{where}': expected an object, but got {kind_of(value)} instead.")
    return value


def _number(body: Mapping[str, Any], key: str, low: float, high: float, *, integer: bool = False) -> Any:
    value = optional(body, key, int if integer else float)
    if value is not None and not low <= value <= high:
        kind = "integer" if integer else "decimal"
        side, bound = ("below minimum", f">= {low:g}") if value < low else ("above maximum", f"<= {high:g}")
        raise _bad(key, f"Invalid '{key}': {kind} {side} value. Expected a value {bound}, but got {value} instead.")
    return value


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value


def content_text(content: Any, where: str) -> tuple[str, tuple[Attachment, ...]]:
    """A message's text (a string, or the text of its parts) and its attachments."""
    if isinstance(content, str):
        return content, ()
    if not isinstance(content, list):
        raise _bad(
            where,
            f"Invalid type for '{where}': expected one of a string or array of input content parts, "
            f"but got {kind_of(content)} instead.",
            "invalid_type",
        )
    texts: list[str] = []
    attachments: list[Attachment] = []
    for i, part in enumerate(content):
        part = _object(part, f"{where}[{i}]")
        kind = part.get("type")
        if kind in _TEXT_PARTS:
            texts.append(expect(part, "text", str, where=f"{where}[{i}]."))
        elif kind == "refusal":
            texts.append(expect(part, "refusal", str, where=f"{where}[{i}]."))
        elif kind in RESPONSES_PARTS:
            attachments.append(attachment(part, f"{where}[{i}]"))
        else:
            raise _bad(
                f"{where}[{i}].type",
                f"Invalid value: '{kind}'. Supported values are: 'input_text', 'input_image', 'input_file', "
                "'output_text' and 'refusal'.",
            )
    return "\n".join(texts), tuple(attachments)


# --- compaction: a conversation packed into an opaque string, and back -----------------------


def pack_conversation(system: str, messages: Iterable[Message]) -> str:
    """The opaque `encrypted_content` of a compaction item: the whole conversation, restorable."""
    payload = {
        "system": system,
        "messages": [
            {
                "role": m.role,
                "text": m.text,
                "tool_name": m.tool_name,
                "tool_call_id": m.tool_call_id,
                "tool_calls": [[c.id, c.name, c.arguments] for c in m.tool_calls],
                "attachments": [
                    [a.kind, a.media_type, a.source, a.size, a.digest, a.url, a.file_id, a.filename]
                    for a in m.attachments
                ],
            }
            for m in messages
        ],
    }
    blob = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return _COMPACTION_PREFIX + base64.urlsafe_b64encode(blob).decode()


def unpack_conversation(content: str, where: str) -> tuple[str, list[Message]]:
    try:
        if not content.startswith(_COMPACTION_PREFIX):
            raise ValueError("not ours")
        payload = json.loads(base64.urlsafe_b64decode(content[len(_COMPACTION_PREFIX) :]))
        messages = [
            Message(
                m["role"],
                m["text"],
                tool_name=m["tool_name"],
                tool_call_id=m["tool_call_id"],
                tool_calls=tuple(ToolCallRef(*c) for c in m["tool_calls"]),
                attachments=tuple(_unpack_attachment(a) for a in m["attachments"]),
            )
            for m in payload["messages"]
        ]
        return str(payload["system"]), messages
    except (ValueError, KeyError, TypeError):
        raise _bad(
            where,
            f"The encrypted content in '{where}' could not be decrypted: send back the "
            "'encrypted_content' of a compaction item this server returned, unchanged.",
            "invalid_encrypted_content",
        ) from None


def _unpack_attachment(row: list[Any]) -> Attachment:
    attachment = Attachment(*row)
    if attachment.kind not in KINDS or attachment.source not in ("inline", "url", "file_id"):
        raise ValueError("not an attachment")
    return attachment


# --- reading a request ----------------------------------------------------------------------


@dataclass(slots=True)
class _Input:
    """The conversation being read from `previous_response_id` and `input`."""

    messages: list[Message] = field(default_factory=list)
    system: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # tool call id -> tool name

    def extend(self, system: str, messages: Iterable[Message]) -> None:
        if system:
            self.system.append(system)
        for message in messages:
            self.add(message)

    def add(self, message: Message) -> None:
        for ref in message.tool_calls:
            self.names[ref.id] = ref.name
        self.messages.append(message)

    def add_call(self, ref: ToolCallRef) -> None:
        """A tool call joins the assistant message it follows (text and calls are one turn)."""
        self.names[ref.id] = ref.name
        last = self.messages[-1] if self.messages else None
        if last is not None and last.role == "assistant":
            self.messages[-1] = Message("assistant", last.text, tool_calls=(*last.tool_calls, ref))
        else:
            self.messages.append(Message("assistant", "", tool_calls=(ref,)))


class Responses(OpenAIErrors, Surface):
    """OpenAI's Responses API."""

    api: ClassVar[str] = "responses"
    routes: ClassVar[tuple[Route, ...]] = (Route("/responses"),)
    websocket_routes: ClassVar[tuple[Route, ...]] = (Route("/responses"),)

    # Where OpenResponses differs (see openresponses.py).
    reasoning_events: ClassVar[str] = "summary"  # summary: reasoning_summary_* events; text: reasoning text events
    reasoning_text_event: ClassVar[str] = "response.reasoning_text"
    done_sentinel: ClassVar[bool] = False  # end an SSE stream with `data: [DONE]`
    message_phase: ClassVar[bool] = False  # label assistant messages commentary / final_answer
    item_status: ClassVar[bool] = False  # every output item carries a status (reasoning too)
    extra_keys: ClassVar[tuple[str, ...]] = ("user",)  # response keys beyond the 31 standard ones
    default_strict: ClassVar[bool | None] = True  # a function tool's `strict` when the request leaves it out
    min_output_tokens: ClassVar[int] = 16
    body_cost: ClassVar[bool] = True  # Opper's `cost` at the top of a response body

    # --- requests ---------------------------------------------------------------------

    def parse(self, body: Any, call: Call) -> Conversation:
        body = body_object(body)
        previous_id = optional(body, "previous_response_id", str)
        earlier = self.previous(previous_id, call) if previous_id is not None else None  # first: it evicts
        model = self.model_of(body)
        store = optional(body, "store", bool, default=True)
        stream = True if call.websocket else optional(body, "stream", bool, default=False)
        instructions = optional(body, "instructions", str)
        state = self.read_input(body, call, earlier)
        tools, echo_tools, mode, required, echo_choice = self.read_tools(body)
        schema, wants_json, echo_text = self.read_text(body)
        max_output = _number(body, "max_output_tokens", self.min_output_tokens, 10**9, integer=True)
        metadata = optional(body, "metadata", dict, default={})
        if len(metadata) > 16 or not all(isinstance(v, str) for v in metadata.values()):
            raise _bad("metadata", "Invalid 'metadata': expected at most 16 pairs of string keys and string values.")
        reasoning = self.read_reasoning(body)
        truncation = optional(body, "truncation", str, default="disabled")
        if truncation not in ("auto", "disabled"):
            raise _bad("truncation", f"Invalid value: '{truncation}'. Supported values are: 'auto' and 'disabled'.")
        tier = optional(body, "service_tier", str, default="auto")
        echo: dict[str, Any] = {
            "instructions": instructions,
            "max_output_tokens": max_output,
            "max_tool_calls": _number(body, "max_tool_calls", 1, 10**6, integer=True),
            "parallel_tool_calls": optional(body, "parallel_tool_calls", bool, default=True),
            "previous_response_id": previous_id,
            "reasoning": reasoning,
            "store": store,
            "temperature": _or(_number(body, "temperature", 0, 2), 1.0),
            "text": echo_text,
            "tool_choice": echo_choice,
            "tools": echo_tools,
            "top_p": _or(_number(body, "top_p", 0, 1), 1.0),
            "truncation": truncation,
            "metadata": metadata,
            "background": optional(body, "background", bool, default=False),
            "service_tier": "default" if tier == "auto" else tier,
            "safety_identifier": optional(body, "safety_identifier", str),
            "prompt_cache_key": optional(body, "prompt_cache_key", str),
            "top_logprobs": _or(_number(body, "top_logprobs", 0, 20, integer=True), 0),
            "presence_penalty": _or(_number(body, "presence_penalty", -2, 2), 0.0),
            "frequency_penalty": _or(_number(body, "frequency_penalty", -2, 2), 0.0),
            "user": optional(body, "user", str),
        }
        carried = "\n\n".join(s for s in state.system if s)
        return ResponsesConversation(
            api=self.api,
            model=model,
            messages=state.messages,
            system="\n\n".join(s for s in (instructions, carried) if s),
            tools=tools,
            tool_choice=mode,
            required_tool=required,
            json_schema=schema,
            wants_json=wants_json,
            stream=stream,
            max_tokens=max_output,
            extras=parse_extras(body),
            headers=call.headers,
            echo=echo,
            carried_system=carried,
            store=store,
            websocket=call.websocket,
        )

    def websocket_body(self, message: Any, call: Call) -> Any:
        """A WebSocket turn: `{"type": "response.create", ...the create body...}`, never `stream`."""
        message = body_object(message)
        try:
            kind = message.get("type")
            if kind != "response.create":
                raise _bad(
                    "type",
                    f"Invalid value for 'type': {kind!r}. Each WebSocket message starts a turn: send "
                    '{"type": "response.create", ...} with the fields of a create request.',
                )
            for key in ("stream", "stream_options", "background"):
                if key in message:
                    raise _bad(
                        key,
                        f"'{key}' must not be sent on a WebSocket: every turn streams over the connection. Remove it.",
                        "unsupported_parameter",
                    )
        except RequestError:
            previous_id = message.get("previous_response_id")
            if call.connection is not None and isinstance(previous_id, str):
                call.connection.evict(previous_id)  # a refused continuation evicts what it named, as a failed one does
            raise
        return {k: v for k, v in message.items() if k != "type"}

    def model_of(self, body: Mapping[str, Any]) -> str:
        return str(expect(body, "model", str))

    def read_input(self, body: Mapping[str, Any], call: Call, earlier: Turn | None) -> _Input:
        """The conversation so far: the continued response (if any), then `input`."""
        state = _Input()
        if earlier is not None:
            state.extend(earlier.system, earlier.messages)
        raw = body.get("input")
        if raw is None:
            return state
        if isinstance(raw, str):
            state.add(Message("user", raw))
            return state
        if not isinstance(raw, list):
            raise _bad(
                "input",
                f"Invalid type for 'input': expected one of a string or array of input items, "
                f"but got {kind_of(raw)} instead.",
                "invalid_type",
            )
        for i, item in enumerate(raw):
            self.read_item(_object(item, f"input[{i}]"), f"input[{i}]", state, call)
        return state

    def previous(self, previous_id: str, call: Call) -> Turn:
        """The response a request continues: from the connection's memory, else the stored ones.

        On a WebSocket the response is taken out of the connection's memory: if this turn
        fails, it cannot be continued again; if it succeeds, its own response takes the place.
        """
        turn = None
        if call.connection is not None:
            turn = call.connection.get(previous_id)
            call.connection.evict(previous_id)
        if turn is None:
            turn = call.history.get(previous_id)
        if turn is None:
            raise RequestError(
                400,
                f"Previous response with id '{previous_id}' not found.",
                param="previous_response_id",
                code="previous_response_not_found",
                unknown_reference=True,
            )
        return turn

    def read_item(self, item: Mapping[str, Any], where: str, state: _Input, call: Call) -> None:
        kind = item.get("type", "message" if "role" in item else None)
        if kind is not None and not isinstance(kind, str):
            raise _bad(
                f"{where}.type",
                f"Invalid type for '{where}.type': expected a string, but got {kind_of(kind)} instead.",
                "invalid_type",
            )
        if kind == "message":
            role = expect(item, "role", str, where=f"{where}.")
            if role not in _ROLES:
                raise _bad(
                    f"{where}.role",
                    f"Invalid value: '{role}'. Supported values are: 'assistant', 'system', 'developer', and 'user'.",
                )
            phase = item.get("phase")
            if phase is not None and phase not in ("commentary", "final_answer"):
                raise _bad(
                    f"{where}.phase",
                    f"Invalid value: '{phase}'. Supported values are: 'commentary' and 'final_answer'.",
                )
            text, attachments = content_text(item.get("content", ""), f"{where}.content")
            if role in ("system", "developer"):
                state.system.append(text)
            elif role == "user":
                state.add(Message("user", text, attachments=attachments))
            else:
                state.add(Message("assistant", text))
        elif kind in ("function_call", "custom_tool_call"):
            call_id = expect(item, "call_id", str, where=f"{where}.")
            name = expect(item, "name", str, where=f"{where}.")
            key = "arguments" if kind == "function_call" else "input"
            state.add_call(ToolCallRef(call_id, name, str(expect(item, key, str, where=f"{where}."))))
        elif kind in ("function_call_output", "custom_tool_call_output"):
            call_id = expect(item, "call_id", str, where=f"{where}.")
            if "output" not in item:
                raise _bad(
                    f"{where}.output", f"Missing required parameter: '{where}.output'.", "missing_required_parameter"
                )
            text, attachments = content_text(item["output"], f"{where}.output")
            name = state.names.get(call_id)
            if name is None:
                raise _bad("input", f"No tool call found for function call output with call_id {call_id}.")
            state.add(Message("tool", text, tool_name=name, tool_call_id=call_id, attachments=attachments))
        elif kind == "compaction":
            where_content = f"{where}.encrypted_content"
            system, messages = unpack_conversation(
                expect(item, "encrypted_content", str, where=f"{where}."), where_content
            )
            state.extend(system, messages)
        elif kind == "item_reference":
            item_id = expect(item, "id", str, where=f"{where}.")
            turn = call.history.get("item:" + item_id)
            if turn is None:
                raise RequestError(404, f"Item with id '{item_id}' not found.", param="input", code="not_found")
            state.extend(turn.system, turn.messages)
        elif kind == "reasoning" or self.ignorable_item(kind):
            pass
        else:
            raise _bad(
                f"{where}.type",
                f"Invalid value: '{kind}'. Supported values are: 'message', 'function_call', "
                "'function_call_output', 'reasoning', 'compaction' and 'item_reference'.",
            )

    def ignorable_item(self, kind: Any) -> bool:
        return kind in _OPENAI_ITEMS

    def read_tools(self, body: Mapping[str, Any]) -> tuple[tuple[Tool, ...], list[Any], str, str | None, Any]:
        """(the tools the model may call, `tools` as echoed, tool_choice mode, required tool, tool_choice echoed)."""
        tools: list[Tool] = []
        echoed: list[Any] = []
        for i, item in enumerate(optional(body, "tools", list, default=[])):
            where = f"tools[{i}]"
            item = _object(item, where)
            kind = expect(item, "type", str, where=f"{where}.")
            if kind in ("function", "custom"):
                name = expect(item, "name", str, where=f"{where}.")
                description = optional(item, "description", str, where=f"{where}.")
                if kind == "function":
                    parameters = optional(item, "parameters", dict, where=f"{where}.")
                    strict = optional(item, "strict", bool, where=f"{where}.", default=self.default_strict)
                    tools.append(Tool(name, description or "", schema_of(parameters)))
                    echoed.append(
                        {
                            "type": "function",
                            "name": name,
                            "description": description,
                            "parameters": parameters,
                            "strict": strict,
                        }
                    )
                    continue
                tools.append(Tool(name, description or ""))
                echoed.append(dict(item))
            elif self.hosted_tool(kind, where):
                echoed.append(dict(item))
        names = [t.name for t in tools]
        choice = body.get("tool_choice")
        required: str | None = None
        echo_choice: Any
        if choice is None:
            mode, echo_choice = "auto", "auto"
        elif isinstance(choice, str):
            if choice not in ("none", "auto", "required"):
                raise _bad(
                    "tool_choice",
                    f"Invalid value for 'tool_choice': '{choice}'. "
                    "Supported values are: 'none', 'auto', and 'required'.",
                )
            mode, echo_choice = choice, choice
        elif isinstance(choice, Mapping):
            kind = choice.get("type")
            if kind in ("function", "custom"):
                name = expect(choice, "name", str, where="tool_choice.")
                if name not in names:
                    raise _bad("tool_choice", f"Tool choice '{name}' not found in 'tools' parameter.")
                mode, required, echo_choice = "function", name, {"type": kind, "name": name}
            elif kind == "allowed_tools":
                allowed_mode = optional(choice, "mode", str, where="tool_choice.", default="auto")
                if allowed_mode not in ("auto", "required"):
                    raise _bad(
                        "tool_choice.mode",
                        f"Invalid value: '{allowed_mode}'. Supported values are: 'auto' and 'required'.",
                    )
                allowed = [
                    str(_object(t, f"tool_choice.tools[{j}]").get("name"))
                    for j, t in enumerate(expect(choice, "tools", list, where="tool_choice."))
                ]
                for name in allowed:
                    if name not in names:
                        raise _bad("tool_choice.tools", f"Tool '{name}' is not in the 'tools' parameter.")
                tools = [t for t in tools if t.name in allowed]  # the model may call only these
                mode = allowed_mode
                echo_choice = {"type": "allowed_tools", "mode": allowed_mode, "tools": list(choice["tools"])}
            elif isinstance(kind, str):
                mode, echo_choice = "auto", dict(choice) if self.hosted_tool(kind, "tool_choice") else "auto"
            else:
                raise _bad("tool_choice.type", f"Invalid value for 'tool_choice.type': '{kind}'.")
        else:
            raise _bad(
                "tool_choice",
                f"Invalid type for 'tool_choice': expected a string or an object, but got {kind_of(choice)} instead.",
                "invalid_type",
            )
        return tuple(tools), echoed, mode, required, echo_choice

    def hosted_tool(self, kind: str, where: str) -> bool:
        """A tool type the provider runs itself: accepted, echoed, never called by a rule."""
        return True

    @staticmethod
    def read_reasoning(body: Mapping[str, Any]) -> dict[str, Any]:
        """`reasoning` as echoed: `{effort, summary}`, each null unless asked for."""
        reasoning = optional(body, "reasoning", dict, default={})
        echo = {}
        for key, allowed in (
            ("effort", ("none", "minimal", "low", "medium", "high", "xhigh")),
            ("summary", ("auto", "concise", "detailed")),
        ):
            value = reasoning.get(key)
            if value is not None and value not in allowed:
                listed = ", ".join(f"'{v}'" for v in allowed)
                raise _bad(f"reasoning.{key}", f"Invalid value: '{value}'. Supported values are: {listed}.")
            echo[key] = value
        return echo

    def read_text(self, body: Mapping[str, Any]) -> tuple[Mapping[str, Any] | None, bool, dict[str, Any]]:
        """(the JSON schema asked for, whether JSON is asked for, `text` as echoed)."""
        text = optional(body, "text", dict, default={})
        fmt = optional(text, "format", dict, where="text.", default={"type": "text"})
        kind = fmt.get("type")
        echo: dict[str, Any] = {"format": {"type": "text"}}
        schema: Mapping[str, Any] | None = None
        wants_json = False
        if kind == "json_schema":
            name = expect(fmt, "name", str, where="text.format.")
            schema = schema_of(expect(fmt, "schema", dict, where="text.format."))
            wants_json = True
            echo["format"] = {
                "type": "json_schema",
                "description": optional(fmt, "description", str, where="text.format."),
                "name": name,
                "schema": dict(schema),
                "strict": optional(fmt, "strict", bool, where="text.format.", default=False),
            }
        elif kind == "json_object":
            wants_json = True
            echo["format"] = {"type": "json_object"}
        elif kind != "text":
            raise _bad(
                "text.format.type",
                f"Invalid value: '{kind}'. Supported values are: 'text', 'json_object', and 'json_schema'.",
            )
        if "verbosity" in text:
            echo["verbosity"] = text["verbosity"]
        return schema, wants_json, echo

    # --- answers ----------------------------------------------------------------------

    @staticmethod
    def response_id(answer: Answer) -> str:
        return answer.ident("resp_")

    def resource(
        self,
        conv: ResponsesConversation,
        answer: Answer,
        *,
        status: str,
        output: list[dict[str, Any]],
        usage: dict[str, Any] | None,
        error: dict[str, Any] | None = None,
        incomplete: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The response object: every standard key, in the order OpenAI sends them."""
        echo = conv.echo
        finished = status in ("completed", "incomplete")
        body: dict[str, Any] = {
            "id": self.response_id(answer),
            "object": "response",
            "created_at": answer.created,
            "status": status,
            "completed_at": answer.created if finished else None,
            "error": error,
            "incomplete_details": incomplete,
            "instructions": echo["instructions"],
            "max_output_tokens": echo["max_output_tokens"],
            "max_tool_calls": echo["max_tool_calls"],
            "model": answer.model,
            "output": output,
            "parallel_tool_calls": echo["parallel_tool_calls"],
            "previous_response_id": echo["previous_response_id"],
            "reasoning": echo["reasoning"],
            "store": echo["store"],
            "temperature": echo["temperature"],
            "text": echo["text"],
            "tool_choice": echo["tool_choice"],
            "tools": echo["tools"],
            "top_p": echo["top_p"],
            "truncation": echo["truncation"],
            "usage": usage,
            "metadata": echo["metadata"],
            "background": echo["background"],
            "service_tier": echo["service_tier"],
            "safety_identifier": echo["safety_identifier"],
            "prompt_cache_key": echo["prompt_cache_key"],
            "top_logprobs": echo["top_logprobs"],
            "presence_penalty": echo["presence_penalty"],
            "frequency_penalty": echo["frequency_penalty"],
        }
        for key in self.extra_keys:
            body[key] = echo.get(key)
        return body

    @staticmethod
    def usage(answer: Answer) -> dict[str, Any]:
        reasoning = min(estimate_tokens(answer.reasoning), answer.output_tokens)
        return {
            "input_tokens": answer.input_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": answer.output_tokens,
            "output_tokens_details": {"reasoning_tokens": reasoning},
            "total_tokens": answer.input_tokens + answer.output_tokens,
        }

    @staticmethod
    def outcome(answer: Answer) -> tuple[str, dict[str, Any] | None]:
        """The response's status and incomplete_details for the answer's finish reason."""
        if answer.finish_reason == "length":
            return "incomplete", {"reason": "max_output_tokens"}
        if answer.finish_reason == "content_filter":
            return "incomplete", {"reason": "content_filter"}
        return "completed", None

    def items(self, answer: Answer) -> list[dict[str, Any]]:
        """The output items, finished: extension items, reasoning, then the message, then the function calls."""
        items = self.extension_items(answer)  # first: the guards checked the input before the model ran
        if answer.reasoning:
            items.append(self.reasoning_item(answer, answer.reasoning, "completed"))
        if answer.text or not answer.tool_calls:
            items.append(self.message_item(answer, answer.text, "completed"))
        for i in range(len(answer.tool_calls)):
            items.append(self.call_item(answer, i, answer.tool_calls[i].arguments, "completed"))
        status, _ = self.outcome(answer)
        if status == "incomplete" and items:
            items[-1]["status"] = "incomplete"  # only the last item may be cut short
        return items

    def extension_items(self, answer: Answer) -> list[dict[str, Any]]:
        """Output items beyond the standard ones (their `type` has a colon); OpenAI's Responses has none."""
        return []

    def reasoning_item(self, answer: Answer, text: str | None, status: str) -> dict[str, Any]:
        item: dict[str, Any] = {"type": "reasoning", "id": answer.ident("rs_", "reasoning")}
        if self.item_status:
            item["status"] = status
        if self.reasoning_events == "summary":
            item["summary"] = [] if text is None else [{"type": "summary_text", "text": text}]
        else:
            item["summary"] = []
            item["content"] = [] if text is None else [{"type": "reasoning_text", "text": text}]
        return item

    def message_item(self, answer: Answer, text: str | None, status: str) -> dict[str, Any]:
        item: dict[str, Any] = {
            "type": "message",
            "id": answer.ident("msg_", "message"),
            "status": status,
            "role": "assistant",
            "content": [] if text is None else [{"type": "output_text", "text": text, "annotations": []}],
        }
        if self.message_phase:
            item["phase"] = "commentary" if answer.tool_calls else "final_answer"
        return item

    @staticmethod
    def call_item(answer: Answer, index: int, arguments: str, status: str) -> dict[str, Any]:
        call = answer.tool_calls[index]
        return {
            "type": "function_call",
            "id": answer.ident("fc_", index),
            "call_id": answer.call_id(index, "call_"),
            "name": call.name,
            "arguments": arguments,
            "status": status,
        }

    def render(self, conv: Conversation, answer: Answer) -> Any:
        assert isinstance(conv, ResponsesConversation)
        status, incomplete = self.outcome(answer)
        body = self.resource(
            conv, answer, status=status, output=self.items(answer), usage=self.usage(answer), incomplete=incomplete
        )
        if self.body_cost and answer.cost is not None:
            body["cost"] = answer.cost  # Opper's ResponsesResponse.cost
        return body

    def events(self, conv: Conversation, answer: Answer) -> Iterable[Event]:
        assert isinstance(conv, ResponsesConversation)
        numbers = itertools.count()
        final = self.items(answer)

        def event(kind: str, content: bool = False, at_ms: float | None = None, **fields: Any) -> Event:
            data = {"type": kind, "sequence_number": next(numbers), **fields}
            return Event(data, name=kind, content=content, at_ms=at_ms)

        def snapshot(kind: str, status: str, output: list[dict[str, Any]], **fields: Any) -> Event:
            return event(kind, response=self.resource(conv, answer, status=status, output=output, **fields))

        yield snapshot("response.created", "in_progress", [], usage=None)
        yield snapshot("response.in_progress", "in_progress", [], usage=None)
        calls = iter(range(len(answer.tool_calls)))
        for index, item in enumerate(final):
            if item["type"] == "reasoning":
                yield event(
                    "response.output_item.added",
                    output_index=index,
                    item=self.reasoning_item(answer, None, "in_progress"),
                )
                yield from self._reasoning_events(event, item["id"], index, answer)
            elif item["type"] == "message":
                added = self.message_item(answer, None, "in_progress")
                yield event("response.output_item.added", output_index=index, item=added)
                yield from self._text_events(event, item["id"], index, answer)
            elif ":" in item["type"]:  # an extension item: added and done whole
                yield event("response.output_item.added", output_index=index, item=item)
            else:
                i = next(calls)
                yield event(
                    "response.output_item.added", output_index=index, item=self.call_item(answer, i, "", "in_progress")
                )
                where = {"item_id": item["id"], "output_index": index}
                for piece, at in answer.tool_calls[i].timed():
                    yield event("response.function_call_arguments.delta", True, at, **where, delta=piece)
                yield event("response.function_call_arguments.done", **where, arguments=item["arguments"])
            yield event("response.output_item.done", output_index=index, item=item)
        status, incomplete = self.outcome(answer)
        kind = "response.completed" if status == "completed" else "response.incomplete"
        yield snapshot(kind, status, final, usage=with_cost(self.usage(answer), answer), incomplete=incomplete)
        if self.done_sentinel and not conv.websocket:
            yield Event("[DONE]")

    @staticmethod
    def _text_events(event: Callable[..., Event], item_id: str, index: int, answer: Answer) -> Iterator[Event]:
        where = {"item_id": item_id, "output_index": index, "content_index": 0}
        yield event("response.content_part.added", **where, part={"type": "output_text", "text": "", "annotations": []})
        for piece, at in answer.timed_text():
            yield event("response.output_text.delta", True, at, **where, delta=piece, logprobs=[])
        yield event("response.output_text.done", **where, text=answer.text, logprobs=[])
        part = {"type": "output_text", "text": answer.text, "annotations": []}
        yield event("response.content_part.done", **where, part=part)

    def _reasoning_events(
        self, event: Callable[..., Event], item_id: str, index: int, answer: Answer
    ) -> Iterator[Event]:
        text = answer.reasoning
        if self.reasoning_events == "summary":
            where = {"item_id": item_id, "output_index": index, "summary_index": 0}
            yield event("response.reasoning_summary_part.added", **where, part={"type": "summary_text", "text": ""})
            for piece, at in answer.timed_reasoning():
                yield event("response.reasoning_summary_text.delta", True, at, **where, delta=piece)
            yield event("response.reasoning_summary_text.done", **where, text=text)
            yield event("response.reasoning_summary_part.done", **where, part={"type": "summary_text", "text": text})
            return
        where = {"item_id": item_id, "output_index": index, "content_index": 0}
        name = self.reasoning_text_event
        yield event("response.content_part.added", **where, part={"type": "reasoning_text", "text": ""})
        for piece, at in answer.timed_reasoning():
            yield event(f"{name}.delta", True, at, **where, delta=piece)
        yield event(f"{name}.done", **where, text=text)
        yield event("response.content_part.done", **where, part={"type": "reasoning_text", "text": text})

    def remember(self, conv: Conversation, answer: Answer, call: Call) -> None:
        assert isinstance(conv, ResponsesConversation)
        calls = tuple(
            ToolCallRef(answer.call_id(i, "call_"), c.name, c.arguments) for i, c in enumerate(answer.tool_calls)
        )
        reply = Message("assistant", answer.text, tool_calls=calls)
        turn = Turn((*conv.messages, reply), conv.carried_system)
        key = self.response_id(answer)
        if call.connection is not None:
            call.connection.put(key, turn)
        if conv.store:
            call.history.put(key, turn)
            for item in self.items(answer):
                if item["type"] == "message":
                    call.history.put("item:" + item["id"], Turn((Message("assistant", answer.text),)))
                elif item["type"] == "function_call":
                    ref = ToolCallRef(item["call_id"], item["name"], item["arguments"])
                    call.history.put("item:" + item["id"], Turn((Message("assistant", "", tool_calls=(ref,)),)))

    # --- reading a real answer back -----------------------------------------------------

    def read_body(self, conv: Conversation, body: Any) -> Recorded:
        from mockopper.dialects.openai_recorded import read_response

        return read_response(body)

    def read_stream(self, conv: Conversation, exchange: Exchange) -> Recorded:
        from mockopper.dialects.openai_recorded import read_responses_stream

        return read_responses_stream(exchange)

    # --- errors -----------------------------------------------------------------------

    def error_kind(self, failure: Failure) -> str:
        return error_type(failure)

    @staticmethod
    def failed_code(failure: Failure) -> str:
        """A failure's `code`, never null: for a failed response and the WebSocket error."""
        if failure.code:
            return failure.code
        return _CODES.get(failure.status, "server_error" if failure.status >= 500 else "invalid_request")

    def error_payload(self, failure: Failure) -> dict[str, Any]:
        return {
            "type": self.error_kind(failure),
            "code": self.failed_code(failure),
            "message": failure.message,
            "param": failure.param,
        }

    def error_event(self, failure: Failure, number: int, conv: ResponsesConversation) -> dict[str, Any]:
        """The in-stream `error` event: flat over SSE (as OpenAI sends it), nested on a WebSocket."""
        if conv.websocket:
            return {
                "type": "error",
                "sequence_number": number,
                "status": failure.status,
                "error": self.error_payload(failure),
            }
        return {
            "type": "error",
            "sequence_number": number,
            "code": self.failed_code(failure),
            "message": failure.message,
            "param": failure.param,
        }

    def websocket_error_events(self, failure: Failure) -> Iterable[Event]:
        # The WebSocket error envelope; with a sequence number it is also a valid stream `error` event.
        event = {"type": "error", "sequence_number": 0, "status": failure.status, "error": self.error_payload(failure)}
        return [Event(event)]

    def error_events(self, conv: Conversation, answer: Answer | None, failure: Failure) -> Iterable[Event]:
        """The `error` event, then `response.failed` with the items finished before the cut."""
        assert isinstance(conv, ResponsesConversation)
        sent: list[Event] = []
        if answer is not None:
            events = list(self.events(conv, answer))
            at = strike_index(events, answer.fault)
            sent = events[: len(events) if at is None else at]
        number = len(sent)
        done = [
            e.data["item"]
            for e in sent
            if isinstance(e.data, Mapping) and e.data.get("type") == "response.output_item.done"
        ]
        out = [Event(self.error_event(failure, number, conv), name="error")]
        if answer is not None:
            error = {"code": self.failed_code(failure), "message": failure.message}
            response = self.resource(conv, answer, status="failed", output=done, usage=None, error=error)
            failed = {"type": "response.failed", "sequence_number": number + 1, "response": response}
            out.append(Event(failed, name="response.failed"))
        if self.done_sentinel and not conv.websocket:
            out.append(Event("[DONE]"))
        return out


class Compaction:
    """POST .../responses/compact: the conversation packed into one `compaction` item.

    The item's `encrypted_content` holds the whole conversation (as this server reads
    it), so a request that sends it back as input continues exactly where it was.
    """

    kind: ClassVar[str] = "direct"
    item_status: ClassVar[bool]

    def respond(self, body: Any, call: Call, *, created: int, seed: int) -> Any:
        assert isinstance(self, Responses)
        body = body_object(body)
        expect(body, "model", str)
        optional(body, "instructions", str)
        optional(body, "prompt_cache_key", str)
        previous_id = optional(body, "previous_response_id", str)
        state = self.read_input(body, call, self.previous(previous_id, call) if previous_id is not None else None)
        system = "\n\n".join(s for s in state.system if s)
        packed = pack_conversation(system, state.messages)
        conv = Conversation(api=self.api, model=str(body["model"]), messages=state.messages, system=system)
        key = f"{seed}|compact|{conv.digest}"
        item: dict[str, Any] = {
            "id": fakes.ident(key, "cmp_", "item"),
            "type": "compaction",
            "encrypted_content": packed,
        }
        if self.item_status:
            item["status"] = "completed"
        input_tokens = conv.input_tokens()
        output_tokens = estimate_tokens(packed)
        return {
            "id": fakes.ident(key, "cmp_"),
            "object": "response.compaction",
            "created_at": created,
            "output": [item],
            "usage": {
                "input_tokens": input_tokens,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": output_tokens,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": input_tokens + output_tokens,
            },
        }


class ResponsesCompact(Compaction, Responses):
    """OpenAI's POST /responses/compact."""

    routes: ClassVar[tuple[Route, ...]] = (Route("/responses/compact"),)
    websocket_routes: ClassVar[tuple[Route, ...]] = ()
