"""Reading a Responses create request: its options, tools and tool_choice, output format and
reasoning, checked as OpenAI checks them, and what the response object echoes back.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from mockopper.conversation import Conversation, Tool
from mockopper.dialects.base import (
    Call,
    RequestError,
    body_object,
    expect,
    invalid_type,
    optional,
    parse_extras,
    schema_of,
)
from mockopper.dialects.openai import bounded
from mockopper.dialects.responses_input import ResponsesInput, bad, object_at
from mockopper.dialects.responses_render import ResponsesConversation

__all__ = ["ResponsesRequest"]


# What `include` may ask for (the openai SDK's `ResponseIncludable`).
_INCLUDABLE = (
    "file_search_call.results",
    "web_search_call.results",
    "web_search_call.action.sources",
    "message.input_image.image_url",
    "computer_call_output.output.image_url",
    "code_interpreter_call.outputs",
    "reasoning.encrypted_content",
    "message.output_text.logprobs",
)


def _include(body: Mapping[str, Any]) -> list[str]:
    """`include`, what to add to the response: known values only (reasoning items carry `encrypted_content` anyway)."""
    values: list[str] = optional(body, "include", list, default=[])
    for i, value in enumerate(values):
        if value not in _INCLUDABLE:
            if not isinstance(value, str):
                raise invalid_type(f"include[{i}]", "a string", value)
            supported = ", ".join(f"'{v}'" for v in _INCLUDABLE[:-1]) + f" and '{_INCLUDABLE[-1]}'"
            raise bad(f"include[{i}]", f"Invalid value: '{value}'. Supported values are: {supported}.")
    return values


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value


class ResponsesRequest(ResponsesInput):
    """Mixed into the Responses surfaces: a create request (over HTTP, or as a WebSocket turn) as a conversation."""

    # Where OpenResponses differs (the values are set on `Responses`).
    default_strict: ClassVar[bool | None]
    min_output_tokens: ClassVar[int]

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
        max_output = bounded(body, "max_output_tokens", self.min_output_tokens, 10**9, integer=True)
        metadata = optional(body, "metadata", dict, default={})
        if len(metadata) > 16 or not all(isinstance(v, str) for v in metadata.values()):
            raise bad("metadata", "Invalid 'metadata': expected at most 16 pairs of string keys and string values.")
        reasoning = self.read_reasoning(body)
        truncation = optional(body, "truncation", str, default="disabled")
        if truncation not in ("auto", "disabled"):
            raise bad("truncation", f"Invalid value: '{truncation}'. Supported values are: 'auto' and 'disabled'.")
        tier = optional(body, "service_tier", str, default="auto")
        include = _include(body)
        echo: dict[str, Any] = {
            "instructions": instructions,
            "max_output_tokens": max_output,
            "max_tool_calls": bounded(body, "max_tool_calls", 1, 10**6, integer=True),
            "parallel_tool_calls": optional(body, "parallel_tool_calls", bool, default=True),
            "previous_response_id": previous_id,
            "reasoning": reasoning,
            "store": store,
            "temperature": _or(bounded(body, "temperature", 0, 2), 1.0),
            "text": echo_text,
            "tool_choice": echo_choice,
            "tools": echo_tools,
            "top_p": _or(bounded(body, "top_p", 0, 1), 1.0),
            "truncation": truncation,
            "metadata": metadata,
            "background": optional(body, "background", bool, default=False),
            "service_tier": "default" if tier == "auto" else tier,
            "safety_identifier": optional(body, "safety_identifier", str),
            "prompt_cache_key": optional(body, "prompt_cache_key", str),
            "top_logprobs": _or(bounded(body, "top_logprobs", 0, 20, integer=True), 0),
            "presence_penalty": _or(bounded(body, "presence_penalty", -2, 2), 0.0),
            "frequency_penalty": _or(bounded(body, "frequency_penalty", -2, 2), 0.0),
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
            logprobs=echo["top_logprobs"] if "message.output_text.logprobs" in include else None,
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
                raise bad(
                    "type",
                    f"Invalid value for 'type': {kind!r}. Each WebSocket message starts a turn: send "
                    '{"type": "response.create", ...} with the fields of a create request.',
                )
            for key in ("stream", "stream_options", "background"):
                if key in message:
                    raise bad(
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

    def read_tools(self, body: Mapping[str, Any]) -> tuple[tuple[Tool, ...], list[Any], str, str | None, Any]:
        """(the tools the model may call, `tools` as echoed, tool_choice mode, required tool, tool_choice echoed)."""
        tools: list[Tool] = []
        echoed: list[Any] = []
        for i, item in enumerate(optional(body, "tools", list, default=[])):
            where = f"tools[{i}]"
            item = object_at(item, where)
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
                raise bad(
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
                    raise bad("tool_choice", f"Tool choice '{name}' not found in 'tools' parameter.")
                mode, required, echo_choice = "function", name, {"type": kind, "name": name}
            elif kind == "allowed_tools":
                allowed_mode = optional(choice, "mode", str, where="tool_choice.", default="auto")
                if allowed_mode not in ("auto", "required"):
                    raise bad(
                        "tool_choice.mode",
                        f"Invalid value: '{allowed_mode}'. Supported values are: 'auto' and 'required'.",
                    )
                allowed = [
                    str(object_at(t, f"tool_choice.tools[{j}]").get("name"))
                    for j, t in enumerate(expect(choice, "tools", list, where="tool_choice."))
                ]
                for name in allowed:
                    if name not in names:
                        raise bad("tool_choice.tools", f"Tool '{name}' is not in the 'tools' parameter.")
                tools = [t for t in tools if t.name in allowed]  # the model may call only these
                mode = allowed_mode
                echo_choice = {"type": "allowed_tools", "mode": allowed_mode, "tools": list(choice["tools"])}
            elif isinstance(kind, str):
                mode, echo_choice = "auto", dict(choice) if self.hosted_tool(kind, "tool_choice") else "auto"
            else:
                raise bad("tool_choice.type", f"Invalid value for 'tool_choice.type': '{kind}'.")
        else:
            raise invalid_type("tool_choice", "a string or an object", choice)
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
                raise bad(f"reasoning.{key}", f"Invalid value: '{value}'. Supported values are: {listed}.")
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
            raise bad(
                "text.format.type",
                f"Invalid value: '{kind}'. Supported values are: 'text', 'json_object', and 'json_schema'.",
            )
        if "verbosity" in text:
            echo["verbosity"] = text["verbosity"]
        return schema, wants_json, echo
