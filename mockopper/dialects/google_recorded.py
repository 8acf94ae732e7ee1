"""Reading Google's answers back into neutral replies: the Gemini API, Interactions, and their errors.

Used when a forwarded exchange is recorded. A generateContent response's parts (`text`,
`thought` text, `functionCall`) become text, reasoning and tool calls; each chunk of its
stream is one timed piece per part. An interaction's `thought`, `model_output` and
`function_call` steps, and its stream's `step.delta` events, are read the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from mockopper.dialects.google import STATUS
from mockopper.dialects.recorded import count, error_document, mapping
from mockopper.exchange import Exchange, Recorded, RecordedError, Unreadable, arguments_text

__all__ = ["read_error", "read_generate", "read_generate_stream", "read_interaction", "read_interactions_stream"]

_FINISH = {"STOP": "stop", "MAX_TOKENS": "length"}
_FILTERED = frozenset({"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY"})
# How an Interactions stream's `error.code` names a status: `too_many_requests` is 429.
_CODES = {s.phrase.lower().replace(" ", "_").replace("-", "_"): s.value for s in HTTPStatus}


def _int(value: Any) -> int | None:
    """A count, which protobuf's JSON may spell as a string of digits."""
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return count(value)


def _seconds(value: Any) -> float | None:
    """A protobuf duration such as `1.5s`."""
    if isinstance(value, str) and value.endswith("s"):
        try:
            return max(0.0, float(value[:-1]))
        except ValueError:
            return None
    return None


def _error(body: Any, status: int, exchange: Exchange | None) -> RecordedError:
    error = mapping(mapping(body).get("error"))
    name = error.get("status") if isinstance(error.get("status"), str) else None
    retry = exchange.retry_after() if exchange else None
    for detail in error.get("details") or []:
        if mapping(detail).get("@type", "").endswith("google.rpc.RetryInfo") and retry is None:
            retry = _seconds(mapping(detail).get("retryDelay"))
    return RecordedError(
        status=status,
        message=error.get("message") if isinstance(error.get("message"), str) else None,
        type=name if name and name != STATUS.get(status) else None,
        retry_after=retry,
        should_retry=exchange.should_retry() if exchange else None,
    )


def read_error(exchange: Exchange) -> RecordedError:
    return _error(error_document(exchange), exchange.status, exchange)


# --- generateContent -------------------------------------------------------------------------


def _generate_chunk(reply: Recorded, body: Any, at_ms: float | None) -> None:
    """One GenerateContentResponse: a whole answer (at_ms None) or one chunk of a stream."""
    body = mapping(body)
    if isinstance(body.get("modelVersion"), str):
        reply.model = body["modelVersion"]
    candidates = body.get("candidates") or []
    candidate = mapping(candidates[0]) if candidates else {}
    for part in mapping(candidate.get("content")).get("parts") or []:
        part = mapping(part)
        if isinstance(part.get("text"), str):
            kind = "reasoning" if part.get("thought") else "text"
            if at_ms is None:
                reply.text, reply.reasoning = (
                    (reply.text + part["text"], reply.reasoning)
                    if kind == "text"
                    else (reply.text, reply.reasoning + part["text"])
                )
            else:
                reply.add(kind, part["text"], at_ms)
        call = mapping(part.get("functionCall") or part.get("function_call"))
        if call:
            index = len(reply.tool_calls)
            reply.call(index, str(call.get("name") or ""), call.get("id") or None)
            if at_ms is None:
                reply.tool_calls[index].arguments = arguments_text(call.get("args"))
            else:
                reply.add(index, arguments_text(call.get("args")), at_ms)
    finish = candidate.get("finishReason")
    if isinstance(finish, str):
        reply.finish_reason = "content_filter" if finish in _FILTERED else _FINISH.get(finish, "stop")
    usage = mapping(body.get("usageMetadata"))
    if usage:
        reply.input_tokens = _int(usage.get("promptTokenCount"))
        output = (_int(usage.get("candidatesTokenCount")) or 0) + (_int(usage.get("thoughtsTokenCount")) or 0)
        reply.output_tokens = output if "candidatesTokenCount" in usage else reply.output_tokens


def _finish(reply: Recorded) -> Recorded:
    if reply.tool_calls and reply.finish_reason in (None, "stop"):
        reply.finish_reason = "tool_calls"
    return reply


def read_generate(body: Any) -> Recorded:
    """A generateContent answer, or the JSON array `:streamGenerateContent` answers without `alt=sse`."""
    chunks = body if isinstance(body, list) else [body]
    if not chunks or not all(isinstance(c, Mapping) and "candidates" in c for c in chunks):
        raise Unreadable("the answer has no candidates")
    reply = Recorded()
    for chunk in chunks:
        _generate_chunk(reply, chunk, None)
    return _finish(reply)


def read_generate_stream(exchange: Exchange) -> Recorded:
    reply = Recorded(dropped=exchange.dropped)
    for event, data in exchange.event_data():
        if "error" in mapping(data) and "candidates" not in mapping(data):
            error = mapping(mapping(data).get("error"))
            reply.error = _error(data, _int(error.get("code")) or 500, None)
            reply.error_after = len(reply.pieces or ())
            break
        _generate_chunk(reply, data, event.at_ms)
    reply.truncated = reply.finish_reason is None and reply.error is None and not reply.dropped
    return _finish(reply)


# --- Interactions ----------------------------------------------------------------------------


def _status(reply: Recorded, status: Any) -> None:
    if status == "requires_action" or reply.tool_calls:
        reply.finish_reason = "tool_calls"
    elif status == "incomplete":
        reply.finish_reason = "length"
    elif status == "completed":
        reply.finish_reason = "stop"


def _usage(reply: Recorded, usage: Mapping[str, Any]) -> None:
    if usage:
        reply.input_tokens = _int(usage.get("total_input_tokens"))
        output = _int(usage.get("total_output_tokens"))
        reply.output_tokens = None if output is None else output + (_int(usage.get("total_thought_tokens")) or 0)


def read_interaction(body: Any) -> Recorded:
    body = mapping(body)
    steps = body.get("steps", body.get("outputs"))
    if not isinstance(steps, list):
        raise Unreadable("the interaction has no steps")
    reply = Recorded(model=body.get("model") if isinstance(body.get("model"), str) else None)
    for step in steps:
        step = mapping(step)
        kind = step.get("type")
        if kind == "thought":
            reply.reasoning += "".join(str(mapping(s).get("text") or "") for s in step.get("summary") or [])
        elif kind == "model_output":
            reply.text += "".join(str(mapping(c).get("text") or "") for c in step.get("content") or [])
        elif kind == "text":
            reply.text += str(step.get("text") or "")
        elif kind == "function_call":
            call = reply.call(len(reply.tool_calls), str(step.get("name") or ""), step.get("id") or None)
            call.arguments = arguments_text(step.get("arguments"))
    _status(reply, body.get("status"))
    _usage(reply, mapping(body.get("usage")))
    return reply


def read_interactions_stream(exchange: Exchange) -> Recorded:
    reply = Recorded(dropped=exchange.dropped)
    calls: dict[int, int] = {}  # step index -> tool call index
    completed = False
    for event, data in exchange.event_data():
        data = mapping(data)
        kind = data.get("event_type")
        if kind == "interaction.created":
            model = mapping(data.get("interaction")).get("model")
            reply.model = model if isinstance(model, str) else None
        elif kind == "step.start":
            step = mapping(data.get("step"))
            if step.get("type") == "function_call":
                calls[_int(data.get("index")) or 0] = len(calls)
                reply.call(len(calls) - 1, str(step.get("name") or ""), step.get("id") or None)
        elif kind == "step.delta":
            delta = mapping(data.get("delta"))
            part = delta.get("type")
            if part == "text":
                reply.add("text", str(delta.get("text") or ""), event.at_ms)
            elif part == "thought_summary":
                reply.add("reasoning", str(mapping(delta.get("content")).get("text") or ""), event.at_ms)
            elif part == "arguments_delta":
                index = calls.get(_int(data.get("index")) or 0)
                if index is not None:
                    reply.add(index, str(delta.get("arguments") or ""), event.at_ms)
        elif kind == "interaction.completed":
            interaction = mapping(data.get("interaction"))
            _status(reply, interaction.get("status"))
            _usage(reply, mapping(interaction.get("usage")))
            completed = True
        elif kind == "error":
            error = mapping(data.get("error"))
            status = _CODES.get(str(error.get("code")), 529 if error.get("code") == "overloaded" else 500)
            reply.error = RecordedError(status, str(error.get("message") or "") or None)
            reply.error_after = len(reply.pieces or ())
            break
    for call in reply.tool_calls:
        call.arguments = call.arguments or "{}"
    reply.truncated = not completed and reply.error is None and not reply.dropped
    return reply
