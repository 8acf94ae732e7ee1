"""Anthropic `messages` as a conversation: content blocks kept in order, checked as the API checks them.

A user message's `tool_result` blocks become tool messages (named from the earlier
`tool_use` with the same id), its text and attachments a user message; `role: system`
messages are system text; a final assistant message (a prefill) is left out, so matching
reads the turn it continues. `image` and `document` blocks (and `container_upload`) are
attachments, in a user message or in a tool result's content.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from mockopper import attachments
from mockopper.conversation import Attachment, Message, ToolCallRef
from mockopper.dialects.anthropic_fields import TYPE_MESSAGES, invalid, optional, required, tag_error

__all__ = ["read_messages", "text_of"]

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


def _blocks(content: Any, path: str) -> list[Mapping[str, Any]]:
    """A message's content as a list of blocks (a string is one text block)."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    if not isinstance(content, list):
        raise invalid(path, "Input should be a valid string or a list of content blocks")
    for j, block in enumerate(content):
        if not isinstance(block, Mapping):
            raise invalid(f"{path}.{j}", TYPE_MESSAGES[dict])
        kind = block.get("type")
        if kind not in _BLOCKS:
            raise tag_error(f"{path}.{j}", kind, _BLOCKS)
        if kind == "text":
            text = required(block, "text", str, f"{path}.{j}")
            if not text:
                raise invalid(f"{path}.{j}.text", "text content blocks must be non-empty")
    return content


def text_of(blocks: Sequence[Mapping[str, Any]]) -> str:
    """The text of `system` or a tool result's content: text blocks only, others are attachments."""
    return "\n".join(str(b.get("text") or "") for b in blocks if b.get("type") == "text")


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
            raise invalid(f"{path}.content.{j}", TYPE_MESSAGES[dict])
        if part.get("type") == "text":
            required(part, "text", str, f"{path}.content.{j}")
        elif isinstance(part.get("type"), str) and part["type"] in _ATTACHMENTS:
            attachment = _attachment(part, f"{path}.content.{j}")
            if attachment is not None:
                found.append(attachment)
    return text_of(content), tuple(found)


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
        raise tag_error(where, tag, _SOURCES[kind])
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


def read_messages(raw: list[Any], before: Sequence[Message] = ()) -> tuple[list[Message], list[str], str]:
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
            raise invalid(path, TYPE_MESSAGES[dict])
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
                    raise tag_error(f"{path}.content.{j}", block.get("type"), ("text",))
            system.append(text_of(blocks))
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
