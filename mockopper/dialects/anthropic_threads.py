"""Anthropic message threads (beta `message-threads-2026-08-12`): conversations the server holds.

A Messages request with `thread: {"type": "create"}` has its conversation (system text,
tools, messages and the reply) kept under the reply's `id`. One with `{"type": "continue",
"previous_message_id": id}` sends only the new turn's messages, without `system` and
`tools`, and is read after the conversation kept under `id`; its own conversation is kept
under its reply's `id` in turn. A reply can be continued once. The rejections are the
API's, with `error.details.error_code`: an unknown id is a 404 `thread_not_found`, a reply
continued before is a 400 `thread_already_continued`. The SDKs replay the whole
conversation under a new thread on either.

A reply is kept when its answer is decided, so a continue never finds one in flight
(`thread_continue_in_flight`): a second continue from the same reply is already continued.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mockopper.conversation import Message
from mockopper.dialects.base import RequestError
from mockopper.history import History, Turn

__all__ = ["CREATE_ONLY", "ERROR_CODES", "keep", "resume"]

# `error.details.error_code` of the thread rejections the SDKs know (a scripted error with
# one of these codes carries it in `details` too).
ERROR_CODES = frozenset(
    {
        "thread_not_found",
        "thread_already_continued",
        "thread_continue_in_flight",
        "thread_fingerprint_mismatch",
        "thread_unsupported_request",
    }
)
# Fields a thread takes from the request that creates it; a continue must leave them out.
CREATE_ONLY = ("system", "tools")


def _kept(message_id: str) -> str:
    return f"thread:{message_id}"


def _continued(message_id: str) -> str:
    return f"thread:{message_id}:continued"


def resume(history: History, previous_id: str) -> Turn:
    """The conversation a continue from `previous_id` reads after, or the API's rejection."""
    if history.get(_continued(previous_id)) is not None:
        raise RequestError(
            400,
            f"thread.previous_message_id: the message '{previous_id}' has already been continued, and each "
            "message can be continued only once. Continue from the thread's most recent message id.",
            param="thread.previous_message_id",
            code="thread_already_continued",
        )
    turn = history.get(_kept(previous_id))
    if turn is None:
        raise RequestError(
            404,
            f"thread.previous_message_id: no thread was found for '{previous_id}'. Replay the full conversation "
            'with `thread: {"type": "create"}` to start a new thread.',
            param="thread.previous_message_id",
            code="thread_not_found",
            unknown_reference=True,
        )
    return turn


def keep(
    history: History,
    message_id: str,
    messages: Sequence[Message],
    system: str,
    tools: Any,
    continues: str | None,
) -> None:
    """Keep a threaded turn's conversation (ending with its reply) under the reply's id.

    `tools` are the thread's tool definitions as sent; `continues` is the id of the reply
    this turn continued, which cannot be continued again.
    """
    fields = {"tools": tools} if tools is not None else {}
    history.put(_kept(message_id), Turn(tuple(messages), system, fields))
    if continues is not None:
        history.put(_continued(continues), Turn(()))
