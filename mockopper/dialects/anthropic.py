"""Anthropic: Messages (POST /v1/messages and /messages, JSON and SSE), token counting, models.

Request parsing and validation live in `anthropic_request` (and `anthropic_content`); this module renders answers
as Anthropic does: a message of content blocks (thinking, text, tool_use) with a
`stop_reason`, streamed as `message_start`, per-block `content_block_start` / `_delta` /
`_stop` (a `ping` after the first start), `message_delta` and `message_stop`, each with an
`event:` line (the SDKs drop events without one). A reply's `reasoning` is a thinking block
(with a deterministic signature) unless the request turns thinking off; `display: omitted`
keeps the block and its signature but withholds the text. `finish_reason` maps to
`stop_reason` (`length` is `max_tokens`, `content_filter` is `refusal`), and a request's
`stop_sequences` end the text where one occurs (`stop_sequence`). Errors are
`{"type": "error", "error": {"type", "message"}, "request_id"}`, also in-stream; a
message-thread rejection adds `error.details.error_code`. A threaded request's turn is kept
for the request that continues it (`anthropic_threads`).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from mockopper.answers import Answer, Failure, ToolCall
from mockopper.conversation import Conversation, Message, ToolCallRef
from mockopper.dialects import anthropic_threads
from mockopper.dialects.anthropic_request import AnthropicConversation, read_request
from mockopper.dialects.base import Call, ModelInfo, RequestError, Route, Surface, retry_headers, with_cost
from mockopper.exchange import Exchange, Recorded, RecordedError
from mockopper.pacing import chunk_text
from mockopper.sse import Event

__all__ = ["ERROR_TYPES", "AnthropicErrors", "AnthropicModels", "CountTokens", "Messages"]

# Anthropic's error `type` per status; other 4xx are invalid_request_error, other 5xx api_error.
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    409: "conflict_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}

STOP_REASONS = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use", "content_filter": "refusal"}


def error_type(failure: Failure) -> str:
    if failure.type:
        return failure.type
    return ERROR_TYPES.get(failure.status, "api_error" if failure.status >= 500 else "invalid_request_error")


def _timestamp(seconds: int) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class AnthropicErrors:
    """Mixed into Anthropic surfaces: the error body, `request-id`, and rate-limit headers."""

    request_id_headers: ClassVar[tuple[str, ...]] = ("request-id", "x-request-id")

    def error_body(self, failure: Failure) -> Any:
        body: dict[str, Any] = {"type": "error", "error": {"type": error_type(failure), "message": failure.message}}
        if failure.code in anthropic_threads.ERROR_CODES:
            body["error"]["details"] = {"error_code": failure.code}
        if failure.request_id is not None:
            body["request_id"] = failure.request_id
        return body

    def error_headers(self, failure: Failure) -> list[tuple[str, str]]:
        headers = retry_headers(failure)
        if failure.status == 429:
            reset = _timestamp((failure.now or 0) + math.ceil(failure.retry_after or 1))
            for name, limit in (
                ("requests", "50"),
                ("tokens", "100000"),
                ("input-tokens", "80000"),
                ("output-tokens", "20000"),
            ):
                headers += [
                    (f"anthropic-ratelimit-{name}-limit", limit),
                    (f"anthropic-ratelimit-{name}-remaining", "0"),
                    (f"anthropic-ratelimit-{name}-reset", reset),
                ]
        return headers

    def error_events(self, conv: Conversation, answer: Answer | None, failure: Failure) -> Iterable[Event]:
        return [Event(self.error_body(failure), name="error")]

    def read_error(self, exchange: Exchange) -> RecordedError:
        from mockopper.dialects.anthropic_recorded import read_error

        return read_error(exchange)


# --- the shape of a reply ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Reply:
    """An answer as Anthropic content: blocks' text after stop sequences, and why it stopped."""

    thinking: str | None  # None: no thinking block
    thinking_chunks: tuple[tuple[str, float | None], ...]  # each piece with its recorded offset, if any
    signature: str
    text: str
    text_chunks: tuple[tuple[str, float | None], ...]
    tool_calls: tuple[ToolCall, ...]
    stop_reason: str
    stop_sequence: str | None


def _signature(answer: Answer) -> str:
    """A deterministic stand-in for the opaque signature the API puts on thinking blocks."""
    reasoning = answer.reasoning

    def make(key: str) -> str:
        digest = hashlib.blake2b(f"{key}\x1fthinking\x1f{reasoning}".encode(), digest_size=64).digest()
        return base64.b64encode(digest * 2).decode()

    return answer.derived(make)


def _shape(conv: Conversation, answer: Answer) -> _Reply:
    text, chunks, calls = answer.text, tuple(answer.timed_text()), answer.tool_calls
    stop_reason = STOP_REASONS.get(answer.finish_reason, "end_turn")
    stop_sequence = None
    thinking: str | None = None
    thinking_chunks: tuple[tuple[str, float | None], ...] = ()
    if isinstance(conv, AnthropicConversation):
        hits = [(text.find(s), s) for s in conv.stop_sequences if s in text] if not answer.structured else []
        if hits:
            # Generation stops at the first stop sequence: the text ends before it, nothing follows.
            at, stop_sequence = min(hits)
            text, calls, stop_reason = text[:at], (), "stop_sequence"
            chunks = tuple((piece, None) for piece in chunk_text(text, answer.pacing.chunk))
        if answer.reasoning and conv.thinking != "disabled":
            thinking, thinking_chunks = (
                ("", ()) if not conv.show_thinking else (answer.reasoning, tuple(answer.timed_reasoning()))
            )
    elif answer.reasoning:
        thinking, thinking_chunks = answer.reasoning, tuple(answer.timed_reasoning())
    return _Reply(
        thinking=thinking,
        thinking_chunks=thinking_chunks,
        signature=_signature(answer) if thinking is not None else "",
        text=text,
        text_chunks=chunks,
        tool_calls=calls,
        stop_reason=stop_reason,
        stop_sequence=stop_sequence,
    )


def _input(arguments: str) -> Any:
    """A tool call's `input` object (a scripted string that is not JSON is passed on as it is)."""
    try:
        return json.loads(arguments) if arguments.strip() else {}
    except ValueError:
        return arguments


_REFUSAL = {"type": "refusal", "category": None, "explanation": None}


class Messages(AnthropicErrors, Surface):
    """POST /v1/messages (the SDKs) and /messages (the Vercel provider with the compat base URL)."""

    api: ClassVar[str] = "messages"
    routes = (Route("/v1/messages"), Route("/messages"))

    def parse(self, body: Any, call: Call) -> Conversation:
        return read_request(body, call, self.api, generate=True)

    # --- answers ----------------------------------------------------------------------

    @staticmethod
    def _usage(answer: Answer, output_tokens: int) -> dict[str, Any]:
        return {
            "input_tokens": answer.input_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": output_tokens,
        }

    @staticmethod
    def _id(answer: Answer) -> str:
        return answer.ident("msg_")

    def _head(self, answer: Answer) -> dict[str, Any]:
        return {"id": self._id(answer), "type": "message", "role": "assistant", "model": answer.model}

    @staticmethod
    def _has_text(reply: _Reply) -> bool:
        return bool(reply.text) or not reply.tool_calls

    def render(self, conv: Conversation, answer: Answer) -> Any:
        reply = _shape(conv, answer)
        content: list[dict[str, Any]] = []
        if reply.thinking is not None:
            content.append({"type": "thinking", "thinking": reply.thinking, "signature": reply.signature})
        if self._has_text(reply):
            content.append({"type": "text", "text": reply.text})
        for i, call in enumerate(reply.tool_calls):
            content.append(
                {
                    "type": "tool_use",
                    "id": answer.call_id(i, "toolu_"),
                    "name": call.name,
                    "input": _input(call.arguments),
                }
            )
        body = {
            **self._head(answer),
            "content": content,
            "stop_reason": reply.stop_reason,
            "stop_sequence": reply.stop_sequence,
            "usage": self._usage(answer, answer.output_tokens),
        }
        if reply.stop_reason == "refusal":
            body["stop_details"] = _REFUSAL
        return body

    def events(self, conv: Conversation, answer: Answer) -> Iterable[Event]:
        reply = _shape(conv, answer)
        start = {**self._head(answer), "content": [], "stop_reason": None, "stop_sequence": None}
        yield _event("message_start", message={**start, "usage": self._usage(answer, min(1, answer.output_tokens))})
        blocks: list[tuple[dict[str, Any], list[Event]]] = []
        if reply.thinking is not None:
            deltas = [
                _delta({"type": "thinking_delta", "thinking": piece}, at_ms=at) for piece, at in reply.thinking_chunks
            ]
            deltas.append(_delta({"type": "signature_delta", "signature": reply.signature}, content=False))
            blocks.append(({"type": "thinking", "thinking": "", "signature": ""}, deltas))
        if self._has_text(reply):
            deltas = [_delta({"type": "text_delta", "text": piece}, at_ms=at) for piece, at in reply.text_chunks]
            blocks.append(({"type": "text", "text": ""}, deltas))
        for i, call in enumerate(reply.tool_calls):
            deltas = [
                _delta({"type": "input_json_delta", "partial_json": piece}, at_ms=at) for piece, at in call.timed()
            ]
            blocks.append(
                ({"type": "tool_use", "id": answer.call_id(i, "toolu_"), "name": call.name, "input": {}}, deltas)
            )
        for index, (block, deltas) in enumerate(blocks):
            yield _event("content_block_start", index=index, content_block=block)
            if index == 0:
                yield _event("ping")
            for delta in deltas:
                assert isinstance(delta.data, dict)
                yield Event({**delta.data, "index": index}, name=delta.name, content=delta.content, at_ms=delta.at_ms)
            yield _event("content_block_stop", index=index)
        stop: dict[str, Any] = {"stop_reason": reply.stop_reason, "stop_sequence": reply.stop_sequence}
        if reply.stop_reason == "refusal":
            stop["stop_details"] = _REFUSAL
        yield _event("message_delta", delta=stop, usage=with_cost({"output_tokens": answer.output_tokens}, answer))
        yield _event("message_stop")

    def read_body(self, conv: Conversation, body: Any) -> Recorded:
        from mockopper.dialects.anthropic_recorded import read_message

        return read_message(body)

    def read_stream(self, conv: Conversation, exchange: Exchange) -> Recorded:
        from mockopper.dialects.anthropic_recorded import read_stream

        return read_stream(exchange)

    def remember(self, conv: Conversation, answer: Answer, call: Call) -> None:
        """Keep a threaded request's conversation and reply under the reply's id."""
        if not isinstance(conv, AnthropicConversation) or conv.thread is None:
            return
        if answer.fault is not None and answer.fault.error_after is not None and not conv.stream:
            return  # the client gets an error instead of this reply: nothing was continued
        reply = _shape(conv, answer)
        calls = tuple(
            ToolCallRef(answer.call_id(i, "toolu_"), c.name, _arguments(c.arguments))
            for i, c in enumerate(reply.tool_calls)
        )
        anthropic_threads.keep(
            call.history,
            self._id(answer),
            [*conv.messages, Message("assistant", reply.text, tool_calls=calls)],
            conv.system,
            conv.thread_tools,
            conv.previous_message_id,
        )


def _arguments(arguments: str) -> str:
    """A tool call's arguments as a request that sends the reply back reads them."""
    value = _input(arguments)
    return json.dumps(value, separators=(",", ":")) if isinstance(value, dict) else arguments


def _event(kind: str, **fields: Any) -> Event:
    """An SSE event whose `event:` line and `data.type` agree, as every Anthropic client needs."""
    return Event({"type": kind, **fields}, name=kind)


def _delta(delta: dict[str, Any], *, content: bool = True, at_ms: float | None = None) -> Event:
    return Event(
        {"type": "content_block_delta", "delta": delta}, name="content_block_delta", content=content, at_ms=at_ms
    )


class CountTokens(AnthropicErrors, Surface):
    """POST /v1/messages/count_tokens: the prompt's size by mockopper's documented estimate."""

    api: ClassVar[str] = "count_tokens"
    routes = (Route("/v1/messages/count_tokens"),)

    def parse(self, body: Any, call: Call) -> Conversation:
        return read_request(body, call, self.api, generate=False)

    def render(self, conv: Conversation, answer: Answer) -> Any:
        return {"input_tokens": answer.input_tokens}

    def events(self, conv: Conversation, answer: Answer) -> Iterator[Event]:
        raise AssertionError("count_tokens requests never stream")


class AnthropicModels(AnthropicErrors, Surface):
    """GET /v1/models (and /v1/models/{id}): the Anthropic list shape, one page, `has_more: false`.

    Google's SDK calls the same path; its surface claims requests that carry
    `x-goog-api-key`, so this one answers the rest.
    """

    api: ClassVar[str] = "models"
    kind: ClassVar[str] = "list"
    routes = (Route("/v1/models", ("GET",)), Route("/v1/models/{model:path}", ("GET",)))

    @staticmethod
    def _info(model: ModelInfo) -> dict[str, Any]:
        return {
            "type": "model",
            "id": model.id,
            "display_name": model.display_name,
            "created_at": _timestamp(model.created),
            "lifecycle": "active",
        }

    def list_models(self, models: Sequence[ModelInfo], call: Call) -> Any:
        wanted = call.path_params.get("model")
        if wanted is not None:
            for model in models:
                if model.id == wanted:
                    return self._info(model)
            raise RequestError(404, f"model: {wanted}", param="model")
        ids = [m.id for m in models]
        # One page always (`has_more: false`), so an SDK's auto-pagination ends; the cursors still filter.
        after, before = call.query.get("after_id"), call.query.get("before_id")
        if after in ids:
            models = models[ids.index(after) + 1 :]
        elif before in ids:
            models = models[: ids.index(before)]
        data = [self._info(m) for m in models]
        return {
            "data": data,
            "has_more": False,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
        }
