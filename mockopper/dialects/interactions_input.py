"""Reading an interaction's `input` as messages: a string, content blocks, steps or turns.

Content blocks given together are one user turn; consecutive model output and function
calls form one assistant turn; a function result is named from the call it answers.
Images, audio, documents and video (base64 `data` or a `uri`) are attachments.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from mockopper import attachments
from mockopper.conversation import Attachment, Message, ToolCallRef
from mockopper.dialects.base import RequestError, expect, invalid_type, optional
from mockopper.dialects.google import result_text

__all__ = ["object_at", "parse_input"]

_CONTENT_TYPES = frozenset({"text", "image", "audio", "document", "video"})
_KIND_HINTS: dict[str, attachments.Kind | None] = {"image": "image", "audio": "audio", "document": "pdf", "video": None}


class _Builder:
    """Collects steps into messages: consecutive model output and calls form one assistant turn."""

    def __init__(self, names: dict[str, str]) -> None:
        self.messages: list[Message] = []
        self.names = names  # call id -> function name, to name results that omit it
        self._texts: list[str] | None = None
        self._calls: list[ToolCallRef] = []

    def _flush(self) -> None:
        if self._texts is not None:
            self.messages.append(Message("assistant", "".join(self._texts), tool_calls=tuple(self._calls)))
            self._texts, self._calls = None, []

    def user(self, text: str, carried: tuple[Attachment, ...] = ()) -> None:
        self._flush()
        self.messages.append(Message("user", text, attachments=carried))

    def model_text(self, text: str) -> None:
        if self._texts is None:
            self._texts = []
        self._texts.append(text)

    def call(self, call_id: str, name: str, arguments: str) -> None:
        if self._texts is None:
            self._texts = []
        self._calls.append(ToolCallRef(call_id, name, arguments))
        self.names[call_id] = name

    def result(self, call_id: str, name: str | None, text: str, carried: tuple[Attachment, ...] = ()) -> None:
        self._flush()
        name = name or self.names.get(call_id)
        self.messages.append(Message("tool", text, tool_name=name, tool_call_id=call_id, attachments=carried))

    def done(self) -> list[Message]:
        self._flush()
        return self.messages


def _is_content(kind: Any) -> bool:
    return isinstance(kind, str) and kind in _CONTENT_TYPES


def _attachment(block: Mapping[str, Any], where: str) -> Attachment:
    """An image, audio, document or video block: base64 `data` or a `uri`, with its `mime_type`."""
    hint = _KIND_HINTS[block["type"]]
    mime = optional(block, "mime_type", str, where=f"{where}.")
    data = optional(block, "data", str, where=f"{where}.")
    if data is not None:
        return attachments.inline(data, mime, kind=hint)
    uri = optional(block, "uri", str, where=f"{where}.")
    if uri is None:
        raise RequestError(
            400,
            f"Missing required parameter: '{where}.data' or '{where}.uri'.",
            param=f"{where}.data",
            code="missing_required_parameter",
        )
    return attachments.linked(uri, mime, kind=hint)


def object_at(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise invalid_type(where, "an object", value)
    return value


def _arguments(value: Any, where: str) -> str:
    if value is None:
        return "{}"
    if isinstance(value, str):
        return value
    return json.dumps(object_at(value, where), ensure_ascii=False, separators=(",", ":"))


def _result(value: Any, where: str) -> tuple[str, tuple[Attachment, ...]]:
    """A function result's text, and the images, audio and documents among its parts."""
    if not isinstance(value, list):
        return result_text(value), ()
    parts = [(i, p) for i, p in enumerate(value) if isinstance(p, Mapping)]
    text = "\n".join(str(p.get("text") or "") for _, p in parts if p.get("type") == "text")
    found = tuple(
        _attachment(p, f"{where}[{i}]") for i, p in parts if _is_content(p.get("type")) and p["type"] != "text"
    )
    return text, found


def _item(item: Mapping[str, Any], where: str, builder: _Builder, role: str) -> None:
    """One content block or step; `role` says whose turn a bare content block belongs to."""
    kind = item.get("type", "text" if "text" in item else None)
    if kind is not None and not isinstance(kind, str):
        raise invalid_type(f"{where}.type", "a string", kind)
    if kind == "text":
        text = expect(item, "text", str, where=f"{where}.")
        if role == "model":
            builder.model_text(text)
        else:
            builder.user(text)
    elif _is_content(kind):
        if role == "user":
            builder.user("", (_attachment(item, where),))
    elif kind == "user_input":
        texts: list[str] = []
        found: list[Attachment] = []
        for j, block in enumerate(optional(item, "content", list, where=f"{where}.", default=[])):
            block = object_at(block, f"{where}.content[{j}]")
            if block.get("type", "text") == "text":
                texts.append(expect(block, "text", str, where=f"{where}.content[{j}]."))
            elif _is_content(block.get("type")):
                found.append(_attachment(block, f"{where}.content[{j}]"))
        builder.user("\n".join(texts), tuple(found))
    elif kind == "model_output":
        for j, block in enumerate(optional(item, "content", list, where=f"{where}.", default=[])):
            block = object_at(block, f"{where}.content[{j}]")
            if block.get("type", "text") == "text":
                builder.model_text(str(block.get("text") or ""))
    elif kind == "function_call":
        name = expect(item, "name", str, where=f"{where}.")
        call_id = str(item.get("id") or "")
        builder.call(call_id, name, _arguments(item.get("arguments"), f"{where}.arguments"))
    elif kind == "function_result":
        call_id = expect(item, "call_id", str, where=f"{where}.")
        if "result" not in item:
            raise RequestError(400, f"Missing required parameter: '{where}.result'.", param=f"{where}.result")
        text, carried = _result(item["result"], f"{where}.result")
        builder.result(call_id, optional(item, "name", str, where=f"{where}."), text, carried)
    elif isinstance(kind, str):
        pass  # thoughts, server-side tool steps and the like carry nothing matching reads
    else:
        raise RequestError(400, f"Missing required parameter: '{where}.type'.", param=f"{where}.type")


def parse_input(raw: Any, names: dict[str, str], where: str = "input") -> list[Message]:
    """`input` as messages: a string, one content block, a list of content blocks, steps or turns."""
    builder = _Builder(names)
    if isinstance(raw, str):
        builder.user(raw)
        return builder.done()
    if isinstance(raw, Mapping):
        raw = [raw]
    if not isinstance(raw, list):
        raise invalid_type(where, "a string, a content object or an array of contents, steps or turns", raw)
    if not raw:
        raise RequestError(400, f"Invalid '{where}': empty array.", param=where, code="empty_array")
    items = [object_at(item, f"{where}[{i}]") for i, item in enumerate(raw)]
    if all(_is_content(item.get("type", "text" if "text" in item else None)) for item in items):
        # Content blocks given together are one user turn.
        texts = [
            expect(item, "text", str, where=f"{where}[{i}].")
            for i, item in enumerate(items)
            if item.get("type", "text") == "text"
        ]
        found = tuple(
            _attachment(item, f"{where}[{i}]") for i, item in enumerate(items) if item.get("type", "text") != "text"
        )
        builder.user("\n".join(texts), found)
        return builder.done()
    for i, item in enumerate(items):
        here = f"{where}[{i}]"
        if "role" in item:  # a turn: {"role": "user" | "model", "content": ...}
            role = expect(item, "role", str, where=f"{here}.")
            if role not in ("user", "model"):
                raise RequestError(
                    400,
                    f"Invalid value for '{here}.role': '{role}'. Supported values are 'user' and 'model'.",
                    param=f"{here}.role",
                    code="invalid_value",
                )
            content = item.get("content")
            if isinstance(content, str):
                content = [{"type": "text", "text": content}]
            if not isinstance(content, list):
                raise invalid_type(f"{here}.content", "a string or an array of contents", content)
            if role == "user" and all(
                _is_content(object_at(c, f"{here}.content").get("type", "text")) for c in content
            ):
                _item({"type": "user_input", "content": content}, here, builder, role)
                continue
            for j, block in enumerate(content):
                _item(object_at(block, f"{here}.content[{j}]"), f"{here}.content[{j}]", builder, role)
        else:
            _item(item, here, builder, "user")
    return builder.done()
