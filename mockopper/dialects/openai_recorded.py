"""Reading OpenAI's answers back into neutral replies: Chat Completions, Responses, and their errors.

Used when a forwarded exchange is recorded. A Chat Completions stream's deltas (`content`,
`reasoning_content`, `tool_calls[].function.arguments`) become timed pieces; a Responses
stream's `*.delta` events do, and its final `response.completed` (or `.incomplete`) is read
as a whole response. An `error` inside a stream is an error after the pieces that came
before it; a stream that ends without its closing event was truncated.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mockopper.dialects.openai import ERROR_TYPES
from mockopper.dialects.recorded import count, error_document, mapping
from mockopper.exchange import Exchange, Recorded, RecordedError, Unreadable

__all__ = ["read_chat", "read_chat_stream", "read_error", "read_response", "read_responses_stream", "text_of"]

_FINISH = {"stop": "stop", "length": "length", "tool_calls": "tool_calls", "function_call": "tool_calls"}
_FINISH.update(content_filter="content_filter")


def text_of(value: Any) -> str:
    """A `content` that is a string, or a list of text parts, as text."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(str(p.get("text") or "") for p in value if isinstance(p, Mapping))
    return ""


def read_error_body(body: Any, status: int, exchange: Exchange | None = None) -> RecordedError:
    """`{"error": {"message", "type", "code"}}` (a bare message is taken too); the type only when not the default."""
    error = mapping(mapping(body).get("error")) or mapping(body)
    kind = error.get("type") if isinstance(error.get("type"), str) else None
    default = ERROR_TYPES.get(status, "invalid_request_error" if status < 500 else "api_error")
    code = error.get("code")
    return RecordedError(
        status=status,
        message=error.get("message") if isinstance(error.get("message"), str) else None,
        type=kind if kind != default else None,
        code=code if isinstance(code, str) else None,
        retry_after=exchange.retry_after() if exchange else None,
        should_retry=exchange.should_retry() if exchange else None,
    )


def read_error(exchange: Exchange) -> RecordedError:
    return read_error_body(error_document(exchange), exchange.status, exchange)


# --- Chat Completions ------------------------------------------------------------------


def read_chat(body: Any) -> Recorded:
    body = mapping(body)
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices:
        raise Unreadable("the chat completion has no choices")
    choice = mapping(choices[0])
    message = mapping(choice.get("message"))
    reply = Recorded(model=body.get("model") if isinstance(body.get("model"), str) else None)
    reply.text = text_of(message.get("content"))
    reasoning = message.get("reasoning_content") or message.get("reasoning")
    reply.reasoning = reasoning if isinstance(reasoning, str) else ""
    for i, call in enumerate(message.get("tool_calls") or []):
        function = mapping(mapping(call).get("function"))
        recorded = reply.call(i, str(function.get("name") or ""), mapping(call).get("id") or None)
        recorded.arguments = str(function.get("arguments") or "")
    reply.finish_reason = _FINISH.get(str(choice.get("finish_reason")))
    usage = mapping(body.get("usage"))
    reply.input_tokens, reply.output_tokens = count(usage.get("prompt_tokens")), count(usage.get("completion_tokens"))
    return reply


def read_chat_stream(exchange: Exchange) -> Recorded:
    reply = Recorded(dropped=exchange.dropped)
    finished = False
    for event, data in exchange.event_data():
        data = mapping(data)
        if "error" in data and "choices" not in data:
            reply.error = read_error_body(data, 500)
            reply.error_after = len(reply.pieces or ())
            break
        if isinstance(data.get("model"), str):
            reply.model = data["model"]
        usage = mapping(data.get("usage"))
        if usage:
            reply.input_tokens = count(usage.get("prompt_tokens"))
            reply.output_tokens = count(usage.get("completion_tokens"))
        for choice in data.get("choices") or []:
            choice = mapping(choice)
            if choice.get("index", 0) != 0:
                continue
            delta = mapping(choice.get("delta"))
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if isinstance(reasoning, str):
                reply.add("reasoning", reasoning, event.at_ms)
            if isinstance(delta.get("content"), str):
                reply.add("text", delta["content"], event.at_ms)
            for call in delta.get("tool_calls") or []:
                call = mapping(call)
                index = count(call.get("index")) or 0
                function = mapping(call.get("function"))
                reply.call(index, function.get("name") or None, call.get("id") or None)
                arguments = function.get("arguments")
                if isinstance(arguments, str):
                    reply.add(index, arguments, event.at_ms)
            if choice.get("finish_reason"):
                reply.finish_reason = _FINISH.get(str(choice["finish_reason"]))
                finished = True
    reply.truncated = not finished and reply.error is None and not reply.dropped
    return reply


# --- Responses ---------------------------------------------------------------------------


def read_response(body: Any) -> Recorded:
    """A response object (also the one `response.completed` carries)."""
    body = mapping(body)
    if not isinstance(body.get("output"), list):
        raise Unreadable("the response has no output")
    reply = Recorded(model=body.get("model") if isinstance(body.get("model"), str) else None)
    for item in body["output"]:
        item = mapping(item)
        kind = item.get("type")
        if kind == "reasoning":
            parts = [*(item.get("summary") or []), *(item.get("content") or [])]
            reply.reasoning += text_of(parts)
        elif kind == "message":
            reply.text += "".join(
                str(p.get("text") if p.get("type") == "output_text" else p.get("refusal") or "")
                for p in item.get("content") or []
                if isinstance(p, Mapping)
            )
        elif kind == "function_call":
            call = reply.call(len(reply.tool_calls), str(item.get("name") or ""), item.get("call_id") or None)
            call.arguments = str(item.get("arguments") or "")
    status = body.get("status")
    reason = mapping(body.get("incomplete_details")).get("reason")
    if status == "failed":
        error = mapping(body.get("error"))
        reply.error = RecordedError(500, str(error.get("message") or "") or None, code=error.get("code") or None)
    elif status == "incomplete":
        reply.finish_reason = "content_filter" if reason == "content_filter" else "length"
    else:
        reply.finish_reason = "tool_calls" if reply.tool_calls else "stop"
    usage = mapping(body.get("usage"))
    reply.input_tokens, reply.output_tokens = count(usage.get("input_tokens")), count(usage.get("output_tokens"))
    return reply


_TEXT_DELTAS = ("response.output_text.delta", "response.refusal.delta")
_REASONING_DELTAS = (
    "response.reasoning_summary_text.delta",
    "response.reasoning_text.delta",
    "response.reasoning.delta",
)


def read_responses_stream(exchange: Exchange) -> Recorded:
    live = Recorded(dropped=exchange.dropped)
    calls: dict[str, int] = {}  # item id -> tool call index
    final: Recorded | None = None
    for event, data in exchange.event_data():
        data = mapping(data)
        kind = data.get("type")
        if kind in _TEXT_DELTAS:
            live.add("text", str(data.get("delta") or ""), event.at_ms)
        elif kind in _REASONING_DELTAS:
            live.add("reasoning", str(data.get("delta") or ""), event.at_ms)
        elif kind == "response.output_item.added" and mapping(data.get("item")).get("type") == "function_call":
            item = mapping(data["item"])
            calls[str(item.get("id"))] = len(calls)
            live.call(len(calls) - 1, str(item.get("name") or ""), item.get("call_id") or None)
        elif kind == "response.function_call_arguments.delta":
            index = calls.get(str(data.get("item_id")))
            if index is not None:
                live.add(index, str(data.get("delta") or ""), event.at_ms)
        elif kind == "response.created":
            model = mapping(data.get("response")).get("model")
            live.model = model if isinstance(model, str) else live.model
        elif kind in ("response.completed", "response.incomplete"):
            final = read_response(data.get("response"))
        elif kind == "error" or kind == "response.failed":
            error = mapping(data.get("error")) or data
            message = error.get("message") or mapping(mapping(data.get("response")).get("error")).get("message")
            if live.error is None:
                live.error = RecordedError(500, str(message) if message else None, code=error.get("code") or None)
                live.error_after = len(live.pieces or ())
    if final is None:
        live.truncated = live.error is None and not live.dropped
        return live
    final.pieces, final.dropped = live.pieces, live.dropped
    return final
