"""Reading Anthropic Messages requests: the real API's validation, and the conversation they carry.

Errors name the field the way the API does (`messages.1.content.0.text: ...`). The
conversation keeps content blocks in order: a user message's `tool_result` blocks become
tool messages (named from the earlier `tool_use` with the same id), its text and
attachments a user message; `role: system` messages and the `system` parameter are the
system text; a final assistant message (a prefill) is left out, so matching reads the
turn it continues. `image` and `document` blocks (and `container_upload`) are attachments,
in a user message or in a tool result's content.
A request that continues a message thread (`anthropic_threads`) is read after the
conversation the thread holds, with the thread's system text and tools.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mockopper import attachments
from mockopper.conversation import Attachment, Conversation, Message, Tool, ToolCallRef
from mockopper.dialects.anthropic_threads import CREATE_ONLY, resume
from mockopper.dialects.base import Call, RequestError, parse_extras, schema_of
from mockopper.history import Turn

__all__ = ["AnthropicConversation", "read_request"]

# Blocks a model sees besides text: attachments, and search results (text with a source).
_ATTACHMENTS = frozenset({"image", "document", "search_result", "container_upload"})
_SOURCES = {"image": ("base64", "url", "file"), "document": ("base64", "url", "text", "content", "file")}
# Assistant-side blocks that carry no text for matching (thinking, server tools and their results).
_SILENT = frozenset(
    {
        "thinking",
        "redacted_thinking",
        "server_tool_use",
        "web_search_tool_result",
        "web_fetch_tool_result",
        "code_execution_tool_result",
        "bash_code_execution_tool_result",
        "text_editor_code_execution_tool_result",
        "tool_search_tool_result",
        "mcp_tool_use",
        "mcp_tool_result",
    }
)
_BLOCKS = ("text", "tool_use", "tool_result", *sorted(_ATTACHMENTS), *sorted(_SILENT))
# Tools Anthropic runs itself: offered to the model, never answered with a client `tool_use`.
_SERVER_TOOLS = ("web_search_", "web_fetch_", "code_execution_", "tool_search_tool_", "mcp_toolset")
_THINKING = ("enabled", "disabled", "adaptive", "between_tools")
_THREAD = ("create", "continue")
_TOOL_CHOICE = {"auto": "auto", "any": "required", "tool": "function", "none": "none"}

_TYPE_MESSAGES = {
    str: "Input should be a valid string",
    int: "Input should be a valid integer",
    float: "Input should be a valid number",
    bool: "Input should be a valid boolean",
    list: "Input should be a valid list",
    dict: "Input should be a valid dictionary",
}


@dataclass(slots=True)
class AnthropicConversation(Conversation):
    """A Messages request: the neutral conversation plus what only Anthropic's rendering needs."""

    thinking: str = "default"  # the `thinking.type` asked for; "default" when absent
    show_thinking: bool = True  # False for `display: omitted` (the text is withheld, the signature is not)
    stop_sequences: tuple[str, ...] = ()
    thread: str | None = None  # the `thread.type` asked for ("create" or "continue"); None when unthreaded
    previous_message_id: str | None = None  # the reply a continue reads after
    thread_tools: Any = None  # the thread's `tools` as sent, kept with each of its turns


def invalid(path: str, message: str) -> RequestError:
    """A 400 `invalid_request_error` whose message starts with the field, as the API words it."""
    return RequestError(400, f"{path}: {message}" if path else message, param=path or None)


def _is(value: Any, kind: type) -> bool:
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def required(body: Mapping[str, Any], key: str, kind: type, path: str = "") -> Any:
    name = f"{path}.{key}" if path else key
    if key not in body:
        raise invalid(name, "Field required")
    value = body[key]
    if not _is(value, kind):
        raise invalid(name, _TYPE_MESSAGES[kind])
    return value


def optional(body: Mapping[str, Any], key: str, kind: type, path: str = "", default: Any = None) -> Any:
    value = body.get(key)
    if value is None:
        return default
    if not _is(value, kind):
        raise invalid(f"{path}.{key}" if path else key, _TYPE_MESSAGES[kind])
    return value


def _tag_error(path: str, tag: object, expected: Sequence[str]) -> RequestError:
    if not isinstance(tag, str):
        return invalid(f"{path}.type", "Field required" if tag is None else _TYPE_MESSAGES[str])
    shown = ", ".join(f"'{t}'" for t in expected)
    return invalid(path, f"Input tag '{tag}' found using 'type' does not match any of the expected tags: {shown}")


def _blocks(content: Any, path: str) -> list[Mapping[str, Any]]:
    """A message's content as a list of blocks (a string is one text block)."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if not isinstance(content, list):
        raise invalid(path, "Input should be a valid string or a list of content blocks")
    for j, block in enumerate(content):
        if not isinstance(block, Mapping):
            raise invalid(f"{path}.{j}", _TYPE_MESSAGES[dict])
        kind = block.get("type")
        if kind not in _BLOCKS:
            raise _tag_error(f"{path}.{j}", kind, _BLOCKS)
        if kind == "text":
            text = required(block, "text", str, f"{path}.{j}")
            if not text:
                raise invalid(f"{path}.{j}.text", "text content blocks must be non-empty")
    return content


def _text_of(blocks: Sequence[Mapping[str, Any]]) -> str:
    """The text of `system` or a tool result's content: text blocks only, others are attachments."""
    return "\n".join(str(b.get("text") or "") for b in blocks if b.get("type") == "text")


def _system(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if not isinstance(value, list):
        raise invalid("system", "Input should be a valid string or a list of text blocks")
    for j, block in enumerate(value):
        if not isinstance(block, Mapping):
            raise invalid(f"system.{j}", _TYPE_MESSAGES[dict])
        if block.get("type") != "text":
            raise _tag_error(f"system.{j}", block.get("type"), ("text",))
        required(block, "text", str, f"system.{j}")
    return _text_of(value)


def _tool_result(block: Mapping[str, Any], path: str) -> tuple[str, tuple[Attachment, ...]]:
    """A tool result's text and the images and documents in its content."""
    content = block.get("content")
    if content is None or isinstance(content, str):
        return content or "", ()
    if not isinstance(content, list):
        raise invalid(f"{path}.content", "Input should be a valid string or a list of content blocks")
    found: list[Attachment] = []
    for j, part in enumerate(content):
        if not isinstance(part, Mapping):
            raise invalid(f"{path}.content.{j}", _TYPE_MESSAGES[dict])
        if part.get("type") == "text":
            required(part, "text", str, f"{path}.content.{j}")
        elif isinstance(part.get("type"), str) and part["type"] in _ATTACHMENTS:
            attachment = _attachment(part, f"{path}.content.{j}")
            if attachment is not None:
                found.append(attachment)
    return _text_of(content), tuple(found)


def _attachment(block: Mapping[str, Any], path: str) -> Attachment | None:
    """The attachment an `image`, `document` or `container_upload` block carries (None for a search result)."""
    kind = block["type"]
    if kind == "container_upload":
        return attachments.by_file_id(required(block, "file_id", str, path))
    if kind not in _SOURCES:
        return None
    source = required(block, "source", dict, path)
    where = f"{path}.source"
    tag = source.get("type")
    if tag not in _SOURCES[kind]:
        raise _tag_error(where, tag, _SOURCES[kind])
    hint: attachments.Kind | None = "image" if kind == "image" else None
    if tag == "base64":
        data = required(source, "data", str, where)
        if kind == "image" and not data:
            raise invalid(f"{path}.image.source.base64", "image cannot be empty")
        return attachments.inline(data, required(source, "media_type", str, where), kind=hint)
    if tag == "url":
        return attachments.linked(required(source, "url", str, where), kind=hint or "pdf")
    if tag == "file":
        return attachments.by_file_id(required(source, "file_id", str, where), kind=hint)
    if tag == "text":
        media_type = optional(source, "media_type", str, where, default="text/plain")
        return attachments.text_document(required(source, "data", str, where), media_type)
    parts = required(source, "content", list, where)  # "content": text (and image) blocks
    texts = [str(p.get("text") or "") for p in parts if isinstance(p, Mapping) and p.get("type") == "text"]
    return attachments.text_document("\n".join(texts))


def _messages(raw: list[Any], before: Sequence[Message] = ()) -> tuple[list[Message], list[str], str]:
    """The conversation's messages, the text of any `role: system` messages, and the prefill.

    `before` is the conversation a thread holds: `raw` continues it.
    """
    messages: list[Message] = list(before)
    system: list[str] = []
    # tool_use id -> tool name, from every assistant turn so far
    names: dict[str, str] = {call.id: call.name for m in before for call in m.tool_calls}
    # where the tool_use ids the next message must answer were asked for, and the ids
    expected: tuple[str, list[str]] | None = None
    last = before[-1] if before else None
    if raw and last is not None and last.role == "assistant" and last.tool_calls:
        expected = ("messages.0", [call.id for call in last.tool_calls])
    for i, item in enumerate(raw):
        path = f"messages.{i}"
        if not isinstance(item, Mapping):
            raise invalid(path, _TYPE_MESSAGES[dict])
        role = item.get("role")
        if role not in ("user", "assistant", "system"):
            raise invalid(
                f"{path}.role", "Field required" if role is None else "Input should be 'user', 'assistant' or 'system'"
            )
        if "content" not in item:
            raise invalid(f"{path}.content", "Field required")
        blocks = _blocks(item["content"], f"{path}.content")
        if not blocks and not (role == "assistant" and i == len(raw) - 1):
            raise invalid(
                path, "all messages must have non-empty content except for the optional final assistant message"
            )
        answered = [str(b.get("tool_use_id")) for b in blocks if b.get("type") == "tool_result"]
        if expected is not None:
            missing = [tid for tid in expected[1] if tid not in answered]
            if role != "user" or missing:
                shown = ", ".join(missing or expected[1])
                raise invalid(
                    expected[0],
                    f"`tool_use` ids were found without `tool_result` blocks immediately after: {shown}. "
                    "Each `tool_use` block must have a corresponding `tool_result` block in the next message.",
                )
        previous = expected[1] if expected is not None else []
        expected = None
        if role == "system":
            for j, block in enumerate(blocks):
                if block.get("type") != "text":
                    raise _tag_error(f"{path}.content.{j}", block.get("type"), ("text",))
            system.append(_text_of(blocks))
        elif role == "assistant":
            texts: list[str] = []
            calls: list[ToolCallRef] = []
            for j, block in enumerate(blocks):
                where = f"{path}.content.{j}"
                kind = block.get("type")
                if kind == "text":
                    texts.append(block["text"])
                elif kind == "tool_use":
                    call_id = required(block, "id", str, where)
                    name = required(block, "name", str, where)
                    arguments = required(block, "input", dict, where)
                    names[call_id] = name
                    calls.append(ToolCallRef(call_id, name, json.dumps(arguments, separators=(",", ":"))))
                elif kind == "tool_result":
                    raise invalid(where, "tool_result blocks can only be in user messages")
            messages.append(Message("assistant", "\n".join(texts), tool_calls=tuple(calls)))
            if calls and i < len(raw) - 1:
                expected = (path, [c.id for c in calls])
        else:
            messages.extend(_user_turn(blocks, path, names, previous))
    last = messages[-1] if messages else None
    prefill = ""
    if last is not None and last.role == "assistant" and not last.tool_calls:
        # A prefill: the answer continues it, so matching reads the turn it answers.
        messages.pop()
        prefill = last.text if raw and raw[-1].get("role") == "assistant" else ""
    return messages, system, prefill


def _user_turn(
    blocks: Sequence[Mapping[str, Any]], path: str, names: Mapping[str, str], previous: list[str]
) -> list[Message]:
    """A user message as messages in block order: tool results, and the text around them."""
    out: list[Message] = []
    texts: list[str] = []
    found: list[Attachment] = []
    other = False  # blocks that are neither text nor attachments (search results)

    def flush() -> None:
        nonlocal other
        if texts or found or other:
            out.append(Message("user", "\n".join(texts), attachments=tuple(found)))
        texts.clear()
        found.clear()
        other = False

    for j, block in enumerate(blocks):
        where = f"{path}.content.{j}"
        kind = block.get("type")
        if kind == "text":
            texts.append(block["text"])
        elif kind in _ATTACHMENTS:
            attachment = _attachment(block, where)
            if attachment is None:
                other = True
            else:
                found.append(attachment)
        elif kind == "tool_result":
            call_id = required(block, "tool_use_id", str, where)
            if call_id not in previous:
                raise invalid(
                    where,
                    f"unexpected `tool_use_id` found in `tool_result` blocks: {call_id}. Each `tool_result` block "
                    "must have a corresponding `tool_use` block in the previous message.",
                )
            text, carried = _tool_result(block, where)
            flush()
            out.append(Message("tool", text, tool_name=names.get(call_id), tool_call_id=call_id, attachments=carried))
        elif kind == "tool_use":
            raise invalid(where, "tool_use blocks can only be in assistant messages")
    flush()
    return out


def _tools(body: Mapping[str, Any]) -> tuple[Tool, ...]:
    tools: list[Tool] = []
    seen: set[str] = set()
    for j, item in enumerate(optional(body, "tools", list, default=[])):
        path = f"tools.{j}"
        if not isinstance(item, Mapping):
            raise invalid(path, _TYPE_MESSAGES[dict])
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
            raise invalid(f"{path}.type", _TYPE_MESSAGES[str])
        elif not kind.startswith(_SERVER_TOOLS):
            tools.append(Tool(name=name))  # an Anthropic-defined client tool (bash, text editor, computer, memory)
    return tuple(tools)


def _tool_choice(body: Mapping[str, Any]) -> tuple[str, str | None]:
    choice = optional(body, "tool_choice", dict)
    if choice is None:
        return "auto", None
    kind = choice.get("type")
    if not isinstance(kind, str) or kind not in _TOOL_CHOICE:
        raise _tag_error("tool_choice", kind, tuple(_TOOL_CHOICE))
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
        raise _tag_error("thinking", kind, _THINKING)
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
            raise invalid(path, _TYPE_MESSAGES[dict])
        if fmt.get("type") != "json_schema":
            raise _tag_error(path, fmt.get("type"), ("json_schema",))
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
            raise invalid(f"stop_sequences.{j}", _TYPE_MESSAGES[str])
    return tuple(s for s in stops if s)


def _thread(body: Mapping[str, Any], call: Call) -> tuple[str | None, str | None, Turn | None]:
    """The `thread.type` asked for, and for a continue the reply it names and what it holds."""
    thread = optional(body, "thread", dict)
    if thread is None:
        return None, None, None
    kind = thread.get("type")
    if kind not in _THREAD:
        raise _tag_error("thread", kind, _THREAD)
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
    messages, inline_system, prefill = _messages(raw, previous.messages if previous is not None else ())
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
