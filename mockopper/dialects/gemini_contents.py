"""Gemini `contents` as messages: text parts, function calls and responses, inline and linked media.

Model turns are the assistant; function responses are tool results (multimodal ones carry
their media as attachments); thought parts are not what the model was told.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mockopper import attachments
from mockopper.conversation import Attachment, Message, ToolCallRef
from mockopper.dialects.base import RequestError
from mockopper.dialects.gemini_fields import field, invalid, read_message, read_name, read_repeated, read_string
from mockopper.dialects.google import result_text

__all__ = ["Parts", "parse_contents", "read_parts"]

_ROLES = ("user", "model", "function", "tool")
_DATA_FIELDS = (
    "text",
    "inlineData",
    "fileData",
    "functionCall",
    "functionResponse",
    "executableCode",
    "codeExecutionResult",
    "toolCall",
    "toolResponse",
)


@dataclass(slots=True)
class Parts:
    texts: list[str]
    calls: list[ToolCallRef]
    results: list[Message]
    attachments: list[Attachment]


def read_parts(content: Mapping[str, Any], where: str) -> Parts:
    key, raw = field(content, "parts")
    parts = read_repeated(raw, f"{where}.{key}", "Part")
    if not parts:
        raise RequestError(
            400, f"* GenerateContentRequest.{where}.parts: contents.parts must not be empty.", param=f"{where}.parts"
        )
    out = Parts([], [], [], [])
    for i, item in enumerate(parts):
        here = f"{where}.{key}[{i}]"
        part = read_message(item, here, "Part")
        present = [name for name in _DATA_FIELDS if field(part, name)[1] is not None]
        if not present:
            raise RequestError(
                400,
                f"* GenerateContentRequest.{here}.data: required oneof field 'data' must have one initialized field",
                param=here,
            )
        text_key, text = field(part, "text")
        if text is not None:
            text = read_string(text, f"{here}.{text_key}")
            thought = field(part, "thought")[1]
            if thought is not None and not isinstance(thought, bool):
                raise invalid(f"{here}.thought", "TYPE_BOOL", thought)
            if not thought:
                out.texts.append(text or "")
        call_key, call = field(part, "functionCall")
        if call is not None:
            call = read_message(call, f"{here}.{call_key}", "FunctionCall")
            name = read_name(call, f"{here}.{call_key}")
            args = call.get("args")
            if args is not None:
                read_message(args, f"{here}.{call_key}.args", "google.protobuf.Struct")
            arguments = json.dumps(args or {}, ensure_ascii=False, separators=(",", ":"))
            out.calls.append(ToolCallRef(str(call.get("id") or ""), name, arguments))
        response_key, response = field(part, "functionResponse")
        if response is not None:
            response = read_message(response, f"{here}.{response_key}", "FunctionResponse")
            name = read_name(response, f"{here}.{response_key}")
            call_id = response.get("id")
            parts_key, carried = field(response, "parts")  # multimodal function responses
            there = f"{here}.{response_key}.{parts_key}"
            media = [
                _media(read_message(p, f"{there}[{j}]", "FunctionResponsePart"), f"{there}[{j}]")
                for j, p in enumerate(read_repeated(carried, there, "FunctionResponsePart"))
            ]
            out.results.append(
                Message(
                    "tool",
                    result_text(response.get("response"), name),
                    tool_name=name,
                    tool_call_id=str(call_id) if call_id else None,
                    attachments=tuple(a for a in media if a is not None),
                )
            )
        attachment = _media(part, here)
        if attachment is not None:
            out.attachments.append(attachment)
    return out


def _media(part: Mapping[str, Any], here: str) -> Attachment | None:
    """The attachment in a part's `inlineData` (base64 `data`) or `fileData` (a `fileUri`), if any.

    Undecodable base64 is refused as the REST API refuses any bytes field it cannot decode.
    """
    key, blob = field(part, "inlineData")
    if blob is not None:
        where = f"{here}.{key}"
        blob = read_message(blob, where, "Blob")
        data_key, data = field(blob, "data")
        mime_key, mime = field(blob, "mimeType")
        name_key, name = field(blob, "displayName")
        data = read_string(data, f"{where}.{data_key}") or ""
        attachment = attachments.inline(
            data,
            read_string(mime, f"{where}.{mime_key}"),
            read_string(name, f"{where}.{name_key}"),
            data_url=False,
        )
        if not attachment.valid:
            shown = data if len(data) <= 80 else data[:77] + "..."
            raise RequestError(
                400,
                f"Invalid value at '{where}.{data_key}' (TYPE_BYTES), Base64 decoding failed for \"{shown}\"",
                param=f"{where}.{data_key}",
            )
        return attachment
    key, ref = field(part, "fileData")
    if ref is not None:
        where = f"{here}.{key}"
        ref = read_message(ref, where, "FileData")
        uri_key, uri = field(ref, "fileUri")
        mime_key, mime = field(ref, "mimeType")
        name_key, name = field(ref, "displayName")
        return attachments.linked(
            read_string(uri, f"{where}.{uri_key}") or "",
            read_string(mime, f"{where}.{mime_key}"),
            read_string(name, f"{where}.{name_key}"),
        )
    return None


def parse_contents(raw: Any, where: str) -> list[Message]:
    """`contents` as messages: model turns are the assistant, function responses are tool results."""
    messages: list[Message] = []
    for i, item in enumerate(read_repeated(raw, where, "Content")):
        here = f"{where}[{i}]"
        content = read_message(item, here, "Content")
        role = read_string(content.get("role"), f"{here}.role") or "user"
        if role not in _ROLES:
            raise RequestError(400, "Please use a valid role: user, model.", param=f"{here}.role")
        parts = read_parts(content, here)
        if role == "model":
            messages.append(Message("assistant", "".join(parts.texts), tool_calls=tuple(parts.calls)))
            continue
        messages.extend(parts.results)
        if parts.texts or parts.attachments or not parts.results:
            messages.append(Message("user", "\n".join(parts.texts), attachments=tuple(parts.attachments)))
    return messages
