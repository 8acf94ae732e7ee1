"""The Gemini API's generation: `:generateContent` and its stream, and `:countTokens`.

The REST API reads field names in camelCase or snake_case; so does this dialect
(`gemini_fields`). Requests are read in `gemini_request`; embeddings are `gemini_embed`,
the models list `google_models`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

from mockopper.answers import Answer, Failure, ToolCall
from mockopper.conversation import Conversation
from mockopper.dialects.base import Call, RequestError, Surface, body_object, parse_extras, with_cost
from mockopper.dialects.gemini_fields import field, read_message
from mockopper.dialects.gemini_request import GeminiConversation, generate_request, model_in_path, model_routes
from mockopper.dialects.google import GoogleErrors, function_args, thought_tokens
from mockopper.exchange import Exchange, Recorded
from mockopper.sse import Event

__all__ = ["GeminiCountTokens", "GeminiGenerate"]

_FINISH = {"stop": "STOP", "length": "MAX_TOKENS", "tool_calls": "STOP", "content_filter": "SAFETY"}


def _function_call(call: ToolCall) -> dict[str, Any]:
    out: dict[str, Any] = {"name": call.name, "args": function_args(call)}
    if call.id:
        out["id"] = call.id
    return out


class GeminiGenerate(GoogleErrors, Surface):
    """`:generateContent` and `:streamGenerateContent`.

    With `alt=sse` (what every SDK sends) the stream is SSE: one `data:` chunk per text
    piece, a function call whole in one chunk, `finishReason` and `usageMetadata` in the
    last. Without it the real API answers the same chunks as one JSON array; mockopper
    sends that array in one body, so for matching, pacing and faults it is not a stream.
    """

    api: ClassVar[str] = "gemini"
    routes = model_routes("generateContent", "streamGenerateContent")

    def parse(self, body: Any, call: Call) -> Conversation:
        body = body_object(body)
        method = call.path_params.get("method", "generateContent")
        conv = generate_request(body, api=self.api, model=model_in_path(call), call=call, method=method)
        conv.stream = method == "streamGenerateContent" and call.query.get("alt") == "sse"
        return conv

    # --- answers ----------------------------------------------------------------------

    def _head(self, answer: Answer) -> dict[str, Any]:
        return {"modelVersion": answer.model, "responseId": answer.ident("", "response", 22)}

    @staticmethod
    def _usage(answer: Answer) -> dict[str, Any]:
        thoughts = thought_tokens(answer)
        usage: dict[str, Any] = {
            "promptTokenCount": answer.input_tokens,
            "candidatesTokenCount": answer.output_tokens - thoughts,
            "totalTokenCount": answer.input_tokens + answer.output_tokens,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": answer.input_tokens}],
        }
        if thoughts:
            usage["thoughtsTokenCount"] = thoughts
        return usage

    @staticmethod
    def _candidates(conv: Conversation, parts: list[dict[str, Any]], finish: str | None = None) -> list[dict[str, Any]]:
        """The answer as each of the `candidateCount` candidates (each the same)."""
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}} if parts else {}
        if finish:
            candidate["finishReason"] = finish
        candidate["index"] = 0
        return [candidate] + [{**candidate, "index": i} for i in range(1, conv.choices)]

    def render(self, conv: Conversation, answer: Answer) -> Any:
        if isinstance(conv, GeminiConversation) and conv.array_stream:
            return [dict(event.data) for event in self.events(conv, answer) if isinstance(event.data, Mapping)]
        parts: list[dict[str, Any]] = []
        if answer.reasoning:
            parts.append({"text": answer.reasoning, "thought": True})
        if answer.text:
            parts.append({"text": answer.text})
        parts.extend({"functionCall": _function_call(call)} for call in answer.tool_calls)
        finish = _FINISH[answer.finish_reason]
        if not parts and finish != "SAFETY":
            parts.append({"text": ""})
        return {
            "candidates": self._candidates(conv, parts, finish),
            "usageMetadata": self._usage(answer),
            **self._head(answer),
        }

    def events(self, conv: Conversation, answer: Answer) -> Iterable[Event]:
        head = self._head(answer)
        chunks: list[tuple[list[dict[str, Any]], float | None]] = [
            ([{"text": piece, "thought": True}], at) for piece, at in answer.timed_reasoning()
        ]
        chunks += [([{"text": piece}], at) for piece, at in answer.timed_text()]
        # A function call goes out whole, when its last argument chunk was recorded.
        chunks += [([{"functionCall": _function_call(call)}], _last(call.at_ms)) for call in answer.tool_calls]
        finish = _FINISH[answer.finish_reason]
        usage = with_cost(self._usage(answer), answer)
        last = len(chunks) - 1
        for i, (parts, at) in enumerate(chunks):
            if i < last:
                yield Event({"candidates": self._candidates(conv, parts), **head}, content=True, at_ms=at)
            else:
                final = {"candidates": self._candidates(conv, parts, finish), "usageMetadata": usage, **head}
                yield Event(final, content=True, at_ms=at)
        if not chunks:
            parts = [] if finish == "SAFETY" else [{"text": ""}]
            yield Event({"candidates": self._candidates(conv, parts, finish), "usageMetadata": usage, **head})

    def error_events(self, conv: Conversation, answer: Answer | None, failure: Failure) -> Iterable[Event]:
        return [Event(self.error_body(failure))]

    def read_body(self, conv: Conversation, body: Any) -> Recorded:
        from mockopper.dialects.google_recorded import read_generate

        return read_generate(body)

    def read_stream(self, conv: Conversation, exchange: Exchange) -> Recorded:
        from mockopper.dialects.google_recorded import read_generate_stream

        return read_generate_stream(exchange)


def _last(offsets: Sequence[float]) -> float | None:
    return offsets[-1] if offsets else None


class GeminiCountTokens(GoogleErrors, Surface):
    """`:countTokens`: `contents`, or a whole `generateContentRequest`."""

    api: ClassVar[str] = "count_tokens"
    routes = model_routes("countTokens")

    def parse(self, body: Any, call: Call) -> Conversation:
        body = body_object(body)
        model = model_in_path(call)
        key, request = field(body, "generateContentRequest")
        if request is not None:
            request = read_message(request, key, "GenerateContentRequest")
            conv = generate_request(
                request, api=self.api, model=model, call=call, method="countTokens", where=f"{key}."
            )
        else:
            if not field(body, "contents")[1]:
                raise RequestError(
                    400,
                    "* CountTokensRequest: either contents or generate_content_request must be specified.",
                    param="contents",
                )
            conv = generate_request(body, api=self.api, model=model, call=call, method="countTokens")
        conv.extras = parse_extras(body)
        return conv

    def render(self, conv: Conversation, answer: Answer) -> Any:
        return {
            "totalTokens": answer.input_tokens,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": answer.input_tokens}],
        }
