"""Reading Anthropic Messages answers back into neutral replies (for recording forwarded exchanges).

A message's `thinking`, `text` and `tool_use` blocks become reasoning, text and tool calls
(`input` as JSON text); a stream's `thinking_delta`, `text_delta` and `input_json_delta`
become timed pieces. `stop_reason` maps back to a finish reason; an `error` event inside a
stream is an error after the pieces before it.
"""

from __future__ import annotations

from typing import Any

from mockopper.dialects.anthropic import ERROR_TYPES
from mockopper.dialects.recorded import count, error_document, mapping
from mockopper.exchange import Exchange, Recorded, RecordedError, Unreadable, arguments_text

__all__ = ["read_error", "read_message", "read_stream"]

_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "pause_turn": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def _error(body: Any, status: int, exchange: Exchange | None) -> RecordedError:
    error = mapping(mapping(body).get("error"))
    kind = error.get("type") if isinstance(error.get("type"), str) else None
    default = ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return RecordedError(
        status=status,
        message=error.get("message") if isinstance(error.get("message"), str) else None,
        type=kind if kind != default else None,
        retry_after=exchange.retry_after() if exchange else None,
        should_retry=exchange.should_retry() if exchange else None,
    )


def read_error(exchange: Exchange) -> RecordedError:
    return _error(error_document(exchange), exchange.status, exchange)


def read_message(body: Any) -> Recorded:
    body = mapping(body)
    if not isinstance(body.get("content"), list):
        raise Unreadable("the message has no content")
    reply = Recorded(model=body.get("model") if isinstance(body.get("model"), str) else None)
    for block in body["content"]:
        block = mapping(block)
        kind = block.get("type")
        if kind == "thinking":
            reply.reasoning += str(block.get("thinking") or "")
        elif kind == "text":
            reply.text += str(block.get("text") or "")
        elif kind == "tool_use":
            call = reply.call(len(reply.tool_calls), str(block.get("name") or ""), block.get("id") or None)
            call.arguments = arguments_text(block.get("input"))
    reply.finish_reason = _FINISH.get(str(body.get("stop_reason")))
    usage = mapping(body.get("usage"))
    reply.input_tokens, reply.output_tokens = count(usage.get("input_tokens")), count(usage.get("output_tokens"))
    return reply


def read_stream(exchange: Exchange) -> Recorded:
    reply = Recorded(dropped=exchange.dropped)
    calls: dict[int, int] = {}  # content block index -> tool call index
    stopped = False
    for event, data in exchange.event_data():
        data = mapping(data)
        kind = data.get("type")
        if kind == "message_start":
            message = mapping(data.get("message"))
            reply.model = message.get("model") if isinstance(message.get("model"), str) else None
            reply.input_tokens = count(mapping(message.get("usage")).get("input_tokens"))
        elif kind == "content_block_start":
            block = mapping(data.get("content_block"))
            if block.get("type") == "tool_use":
                calls[count(data.get("index")) or 0] = len(calls)
                reply.call(len(calls) - 1, str(block.get("name") or ""), block.get("id") or None)
        elif kind == "content_block_delta":
            delta = mapping(data.get("delta"))
            part = delta.get("type")
            if part == "text_delta":
                reply.add("text", str(delta.get("text") or ""), event.at_ms)
            elif part == "thinking_delta":
                reply.add("reasoning", str(delta.get("thinking") or ""), event.at_ms)
            elif part == "input_json_delta":
                index = calls.get(count(data.get("index")) or 0)
                if index is not None:
                    reply.add(index, str(delta.get("partial_json") or ""), event.at_ms)
        elif kind == "message_delta":
            reply.finish_reason = _FINISH.get(str(mapping(data.get("delta")).get("stop_reason")))
            output = count(mapping(data.get("usage")).get("output_tokens"))
            reply.output_tokens = output if output is not None else reply.output_tokens
        elif kind == "message_stop":
            stopped = True
        elif kind == "error":
            reply.error = _error(data, 500, None)
            reply.error_after = len(reply.pieces or ())
            break
    for call in reply.tool_calls:
        call.arguments = call.arguments or "{}"
    reply.truncated = not stopped and reply.error is None and not reply.dropped
    return reply
