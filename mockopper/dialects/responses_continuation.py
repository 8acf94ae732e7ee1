"""What a Responses request continues from, and what a finished response leaves to continue.

A finished response is kept under its id (unless `store: false`), and on a WebSocket also
in the connection's own memory, which holds only what a later turn may continue from: a
turn takes the response it continues out of that memory, so a failed continuation cannot
be continued again. A `compaction` item carries a whole conversation packed into its
opaque `encrypted_content`, restored exactly when it is sent back.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from typing import Any

from mockopper.answers import Answer
from mockopper.attachments import KINDS, Attachment
from mockopper.conversation import Conversation, Message, ToolCallRef
from mockopper.dialects.base import Call, RequestError
from mockopper.dialects.responses_render import ResponsesConversation, ResponsesRender
from mockopper.history import Turn

__all__ = ["ResponsesContinuation", "pack_conversation", "unpack_conversation"]

_COMPACTION_PREFIX = "mockopper.compaction.v1."


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
        raise RequestError(
            400,
            f"The encrypted content in '{where}' could not be decrypted: send back the "
            "'encrypted_content' of a compaction item this server returned, unchanged.",
            param=where,
            code="invalid_encrypted_content",
        ) from None


def _unpack_attachment(row: list[Any]) -> Attachment:
    attachment = Attachment(*row)
    if attachment.kind not in KINDS or attachment.source not in ("inline", "url", "file_id"):
        raise ValueError("not an attachment")
    return attachment


class ResponsesContinuation(ResponsesRender):
    """Mixed into the Responses surfaces: finding the response a request continues, keeping the one it answered."""

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
