"""Reading Anthropic Messages (and count_tokens) requests: model, tokens, tools and tool_choice,
thinking, structured output, sampling and threads, checked as the real API checks them.

Errors name the field the way the API does (`anthropic_fields`); the messages are read in
`anthropic_content`. A request that continues a message thread (`anthropic_threads`) is
read after the conversation the thread holds, with the thread's system text and tools.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mockopper.conversation import Conversation, Tool
from mockopper.dialects.anthropic_content import read_messages, text_of
from mockopper.dialects.anthropic_fields import TYPE_MESSAGES, invalid, optional, required, tag_error
from mockopper.dialects.anthropic_threads import CREATE_ONLY, resume
from mockopper.dialects.base import Call, parse_extras, schema_of
from mockopper.history import Turn

__all__ = ["AnthropicConversation", "read_request"]

# Tools Anthropic runs itself: offered to the model, never answered with a client `tool_use`.
_SERVER_TOOLS = ("web_search_", "web_fetch_", "code_execution_", "tool_search_tool_", "mcp_toolset")
_THINKING = ("enabled", "disabled", "adaptive", "between_tools")
_THREAD = ("create", "continue")
_TOOL_CHOICE = {"auto": "auto", "any": "required", "tool": "function", "none": "none"}


@dataclass(slots=True)
class AnthropicConversation(Conversation):
    """A Messages request: the neutral conversation plus what only Anthropic's rendering needs."""

    thinking: str = "default"  # the `thinking.type` asked for; "default" when absent
    show_thinking: bool = True  # False for `display: omitted` (the text is withheld, the signature is not)
    stop_sequences: tuple[str, ...] = ()
    thread: str | None = None  # the `thread.type` asked for ("create" or "continue"); None when unthreaded
    previous_message_id: str | None = None  # the reply a continue reads after
    thread_tools: Any = None  # the thread's `tools` as sent, kept with each of its turns


def _system(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if not isinstance(value, list):
        raise invalid("system", "Input should be a valid string or a list of text blocks")
    for j, block in enumerate(value):
        if not isinstance(block, Mapping):
            raise invalid(f"system.{j}", TYPE_MESSAGES[dict])
        if block.get("type") != "text":
            raise tag_error(f"system.{j}", block.get("type"), ("text",))
        required(block, "text", str, f"system.{j}")
    return text_of(value)


def _tools(body: Mapping[str, Any]) -> tuple[Tool, ...]:
    tools: list[Tool] = []
    seen: set[str] = set()
    for j, item in enumerate(optional(body, "tools", list, default=[])):
        path = f"tools.{j}"
        if not isinstance(item, Mapping):
            raise invalid(path, TYPE_MESSAGES[dict])
        kind = item.get("type")
        name = required(item, "name", str, path)
        if name in seen:
            raise invalid("tools", f"Tool names must be unique, but '{name}' appears more than once.")
        seen.add(name)
        if kind is None or kind == "custom":
            schema = required(item, "input_schema", dict, path)
            description = optional(item, "description", str, path, default="")
            tools.append(Tool(name=name, description=description, parameters=schema_of(schema)))
        elif not isinstance(kind, str):
            raise invalid(f"{path}.type", TYPE_MESSAGES[str])
        elif not kind.startswith(_SERVER_TOOLS):
            tools.append(Tool(name=name))  # an Anthropic-defined client tool (bash, text editor, computer, memory)
    return tuple(tools)


def _tool_choice(body: Mapping[str, Any]) -> tuple[str, str | None]:
    choice = optional(body, "tool_choice", dict)
    if choice is None:
        return "auto", None
    kind = choice.get("type")
    if not isinstance(kind, str) or kind not in _TOOL_CHOICE:
        raise tag_error("tool_choice", kind, tuple(_TOOL_CHOICE))
    declared = [t.get("name") for t in body.get("tools") or ()]  # server tools included
    if not declared and kind != "none":
        raise invalid("tool_choice", "tool_choice may only be specified while providing tools")
    name: str | None = None
    if kind == "tool":
        name = required(choice, "name", str, "tool_choice")
        if name not in declared:
            raise invalid("tool_choice.name", f"Tool '{name}' not found in the provided tools.")
    return _TOOL_CHOICE[kind], name


def _thinking(body: Mapping[str, Any], max_tokens: int | None) -> tuple[str, bool]:
    thinking = optional(body, "thinking", dict)
    if thinking is None:
        return "default", True
    kind = thinking.get("type")
    if kind not in _THINKING:
        raise tag_error("thinking", kind, _THINKING)
    if kind == "enabled":
        budget = required(thinking, "budget_tokens", int, "thinking.enabled")
        if budget < 1024:
            raise invalid("thinking.enabled.budget_tokens", "Input should be greater than or equal to 1024")
        if max_tokens is not None and max_tokens <= budget:
            raise invalid("", "`max_tokens` must be greater than `thinking.budget_tokens`.")
    display = optional(thinking, "display", str, f"thinking.{kind}")
    if display not in (None, "summarized", "omitted"):
        raise invalid(f"thinking.{kind}.display", "Input should be 'summarized' or 'omitted'")
    return kind, display != "omitted"


def _output_format(body: Mapping[str, Any]) -> tuple[bool, Mapping[str, Any] | None]:
    """Structured output: `output_config.format` (current API) or `output_format` (the earlier beta)."""
    config = optional(body, "output_config", dict, default={})
    for path, fmt in (("output_config.format", config.get("format")), ("output_format", body.get("output_format"))):
        if fmt is None:
            continue
        if not isinstance(fmt, Mapping):
            raise invalid(path, TYPE_MESSAGES[dict])
        if fmt.get("type") != "json_schema":
            raise tag_error(path, fmt.get("type"), ("json_schema",))
        return True, schema_of(required(fmt, "schema", dict, path))
    return False, None


def _sampling(body: Mapping[str, Any]) -> tuple[str, ...]:
    temperature = optional(body, "temperature", float)
    if temperature is not None and not 0 <= temperature <= 1:
        raise invalid(
            "temperature",
            "Input should be less than or equal to 1"
            if temperature > 1
            else "Input should be greater than or equal to 0",
        )
    optional(body, "top_p", float)
    optional(body, "top_k", int)
    optional(body, "metadata", dict)
    stops = optional(body, "stop_sequences", list, default=[])
    for j, stop in enumerate(stops):
        if not isinstance(stop, str):
            raise invalid(f"stop_sequences.{j}", TYPE_MESSAGES[str])
    return tuple(s for s in stops if s)


def _thread(body: Mapping[str, Any], call: Call) -> tuple[str | None, str | None, Turn | None]:
    """The `thread.type` asked for, and for a continue the reply it names and what it holds."""
    thread = optional(body, "thread", dict)
    if thread is None:
        return None, None, None
    kind = thread.get("type")
    if kind not in _THREAD:
        raise tag_error("thread", kind, _THREAD)
    if kind == "create":
        return kind, None, None
    previous_id = required(thread, "previous_message_id", str, "thread.continue")
    repeated = [name for name in CREATE_ONLY if body.get(name) is not None]
    if repeated:
        names = " and ".join(f"`{name}`" for name in repeated)
        ones, them = ("ones", "them") if len(repeated) > 1 else ("one", "it")
        raise invalid(
            repeated[0],
            f"{names} cannot be sent when continuing a thread: the thread keeps the {ones} it was created "
            f'with. Leave {them} out, or replay the full conversation with `thread: {{"type": "create"}}` to '
            f"change {them}.",
        )
    return kind, previous_id, resume(call.history, previous_id)


def read_request(body: Any, call: Call, api: str, *, generate: bool) -> AnthropicConversation:
    """A Messages (`generate`) or count_tokens request as a conversation, or a 400 naming the field."""
    if not isinstance(body, Mapping):
        raise invalid("", "The request body must be a JSON object.")
    model = required(body, "model", str)
    max_tokens: int | None = None
    if generate:
        max_tokens = required(body, "max_tokens", int)
        if max_tokens < 0:
            raise invalid("max_tokens", "Input should be greater than or equal to 0")
    raw = required(body, "messages", list)
    thread, previous_id, previous = _thread(body, call) if generate else (None, None, None)
    if not raw and previous is None:  # a continue may send none: the thread's last reply goes on
        raise invalid("messages", "at least one message is required")
    fields: Mapping[str, Any] = body
    if previous is not None:
        fields = {**body, "tools": previous.fields.get("tools")}
    system = _system(body.get("system"))
    messages, inline_system, prefill = read_messages(raw, previous.messages if previous is not None else ())
    tools = _tools(fields)
    mode, required_tool = _tool_choice(fields)
    thinking, show_thinking = _thinking(body, max_tokens)
    wants_json, schema = _output_format(body)
    wants_json = wants_json or prefill.lstrip().startswith("{")  # prefilled `{`: the answer is a JSON object
    stops = _sampling(body)
    stream = optional(body, "stream", bool, default=False) if generate else False
    return AnthropicConversation(
        api=api,
        model=model,
        messages=messages,
        system="\n\n".join(s for s in (previous.system if previous else "", system, *inline_system) if s),
        tools=tools,
        tool_choice=mode,
        required_tool=required_tool,
        json_schema=schema,
        wants_json=wants_json,
        prefill=prefill,
        stream=stream,
        max_tokens=max_tokens,
        extras=parse_extras(body),
        headers=call.headers,
        thinking=thinking,
        show_thinking=show_thinking,
        stop_sequences=stops,
        thread=thread,
        previous_message_id=previous_id,
        thread_tools=fields.get("tools"),
    )
