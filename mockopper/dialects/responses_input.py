"""Reading a Responses request's `input`: messages, content parts, tool calls and their outputs,
compaction items and item references, after the response it continues (if any).

Tool calls join the assistant message they follow; a tool output is named from the call
with its `call_id`; `system` and `developer` messages are the system text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mockopper.attachments import Attachment
from mockopper.conversation import Message, ToolCallRef
from mockopper.dialects.base import Call, RequestError, expect, invalid_type, kind_of
from mockopper.dialects.openai import RESPONSES_PARTS, attachment
from mockopper.dialects.responses_continuation import ResponsesContinuation, unpack_conversation
from mockopper.history import Turn

__all__ = ["InputState", "ResponsesInput", "bad", "content_text", "object_at"]

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


def bad(param: str, message: str, code: str = "invalid_value") -> RequestError:
    return RequestError(400, message, param=param, code=code)


def object_at(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise bad(where, f"Invalid type for '{where}': expected an object, but got {kind_of(value)} instead.")
    return value


def content_text(content: Any, where: str) -> tuple[str, tuple[Attachment, ...]]:
    """A message's text (a string, or the text of its parts) and its attachments."""
    if isinstance(content, str):
        return content, ()
    if not isinstance(content, list):
        raise invalid_type(where, "one of a string or array of input content parts", content)
    texts: list[str] = []
    attachments: list[Attachment] = []
    for i, part in enumerate(content):
        part = object_at(part, f"{where}[{i}]")
        kind = part.get("type")
        if kind in _TEXT_PARTS:
            texts.append(expect(part, "text", str, where=f"{where}[{i}]."))
        elif kind == "refusal":
            texts.append(expect(part, "refusal", str, where=f"{where}[{i}]."))
        elif kind in RESPONSES_PARTS:
            attachments.append(attachment(part, f"{where}[{i}]"))
        else:
            raise bad(
                f"{where}[{i}].type",
                f"Invalid value: '{kind}'. Supported values are: 'input_text', 'input_image', 'input_file', "
                "'output_text' and 'refusal'.",
            )
    return "\n".join(texts), tuple(attachments)


@dataclass(slots=True)
class InputState:
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


class ResponsesInput(ResponsesContinuation):
    """Mixed into the Responses surfaces: the conversation so far, read from `input`."""

    def read_input(self, body: Mapping[str, Any], call: Call, earlier: Turn | None) -> InputState:
        """The conversation so far: the continued response (if any), then `input`."""
        state = InputState()
        if earlier is not None:
            state.extend(earlier.system, earlier.messages)
        raw = body.get("input")
        if raw is None:
            return state
        if isinstance(raw, str):
            state.add(Message("user", raw))
            return state
        if not isinstance(raw, list):
            raise invalid_type("input", "one of a string or array of input items", raw)
        for i, item in enumerate(raw):
            self.read_item(object_at(item, f"input[{i}]"), f"input[{i}]", state, call)
        return state

    def read_item(self, item: Mapping[str, Any], where: str, state: InputState, call: Call) -> None:
        kind = item.get("type", "message" if "role" in item else None)
        if kind is not None and not isinstance(kind, str):
            raise invalid_type(f"{where}.type", "a string", kind)
        if kind == "message":
            role = expect(item, "role", str, where=f"{where}.")
            if role not in _ROLES:
                raise bad(
                    f"{where}.role",
                    f"Invalid value: '{role}'. Supported values are: 'assistant', 'system', 'developer', and 'user'.",
                )
            phase = item.get("phase")
            if phase is not None and phase not in ("commentary", "final_answer"):
                raise bad(
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
                raise bad(
                    f"{where}.output", f"Missing required parameter: '{where}.output'.", "missing_required_parameter"
                )
            text, attachments = content_text(item["output"], f"{where}.output")
            name = state.names.get(call_id)
            if name is None:
                raise bad("input", f"No tool call found for function call output with call_id {call_id}.")
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
            raise bad(
                f"{where}.type",
                f"Invalid value: '{kind}'. Supported values are: 'message', 'function_call', "
                "'function_call_output', 'reasoning', 'compaction' and 'item_reference'.",
            )

    def ignorable_item(self, kind: Any) -> bool:
        return kind in _OPENAI_ITEMS
