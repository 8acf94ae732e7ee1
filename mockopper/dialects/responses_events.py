"""The Responses stream: the typed SSE events of an answer, and the errors a stream or a WebSocket sends.

An answer streams as `response.created` and `response.in_progress`, then each output item
added, its deltas and done, then `response.completed` (or `.incomplete`). A stream that
fails sends `error` and then `response.failed` with the items finished before the cut.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, ClassVar

from mockopper.answers import Answer, Failure
from mockopper.conversation import Conversation
from mockopper.dialects.base import with_cost
from mockopper.dialects.openai import OpenAIErrors, token_logprobs
from mockopper.dialects.responses_render import ResponsesConversation, ResponsesRender, output_text
from mockopper.pacing import strike_index
from mockopper.sse import Event

__all__ = ["ResponsesEvents"]

# A failure's `code` when none was given, where a code is required (failed responses, WebSocket errors).
_CODES = {
    400: "invalid_request",
    401: "invalid_api_key",
    403: "permission_denied",
    404: "not_found",
    408: "timeout",
    409: "conflict",
    413: "request_too_large",
    422: "invalid_request",
    429: "rate_limit_exceeded",
}


class ResponsesEvents(OpenAIErrors, ResponsesRender):
    """Mixed into the Responses surfaces: an answer as typed events, and errors in OpenAI's shape, in the stream too."""

    # Where OpenResponses differs (the values are set on `Responses`).
    reasoning_text_event: ClassVar[str]
    done_sentinel: ClassVar[bool]

    def events(self, conv: Conversation, answer: Answer) -> Iterable[Event]:
        assert isinstance(conv, ResponsesConversation)
        numbers = itertools.count()
        final = self.items(answer, conv.logprobs)

        def event(kind: str, content: bool = False, at_ms: float | None = None, **fields: Any) -> Event:
            data = {"type": kind, "sequence_number": next(numbers), **fields}
            return Event(data, name=kind, content=content, at_ms=at_ms)

        def snapshot(kind: str, status: str, output: list[dict[str, Any]], **fields: Any) -> Event:
            return event(kind, response=self.resource(conv, answer, status=status, output=output, **fields))

        yield snapshot("response.created", "in_progress", [], usage=None)
        yield snapshot("response.in_progress", "in_progress", [], usage=None)
        calls = iter(range(len(answer.tool_calls)))
        for index, item in enumerate(final):
            if item["type"] == "reasoning":
                yield event(
                    "response.output_item.added",
                    output_index=index,
                    item=self.reasoning_item(answer, None, "in_progress"),
                )
                yield from self._reasoning_events(event, item["id"], index, answer)
            elif item["type"] == "message":
                added = self.message_item(answer, None, "in_progress")
                yield event("response.output_item.added", output_index=index, item=added)
                yield from self._text_events(event, item["id"], index, answer, conv.logprobs)
            elif ":" in item["type"]:  # an extension item: added and done whole
                yield event("response.output_item.added", output_index=index, item=item)
            else:
                i = next(calls)
                yield event(
                    "response.output_item.added", output_index=index, item=self.call_item(answer, i, "", "in_progress")
                )
                where = {"item_id": item["id"], "output_index": index}
                for piece, at in answer.tool_calls[i].timed():
                    yield event("response.function_call_arguments.delta", True, at, **where, delta=piece)
                yield event("response.function_call_arguments.done", **where, arguments=item["arguments"])
            yield event("response.output_item.done", output_index=index, item=item)
        status, incomplete = self.outcome(answer)
        kind = "response.completed" if status == "completed" else "response.incomplete"
        yield snapshot(kind, status, final, usage=with_cost(self.usage(answer), answer), incomplete=incomplete)
        if self.done_sentinel and not conv.websocket:
            yield Event("[DONE]")

    @staticmethod
    def _text_events(
        event: Callable[..., Event], item_id: str, index: int, answer: Answer, logprobs: int | None
    ) -> Iterator[Event]:
        where = {"item_id": item_id, "output_index": index, "content_index": 0}
        yield event("response.content_part.added", **where, part=output_text("", logprobs))
        for piece, at in answer.timed_text():
            tokens = [] if logprobs is None else token_logprobs(piece, logprobs)
            yield event("response.output_text.delta", True, at, **where, delta=piece, logprobs=tokens)
        part = output_text(answer.text, logprobs)
        yield event("response.output_text.done", **where, text=answer.text, logprobs=part.get("logprobs", []))
        yield event("response.content_part.done", **where, part=part)

    def _reasoning_events(
        self, event: Callable[..., Event], item_id: str, index: int, answer: Answer
    ) -> Iterator[Event]:
        text = answer.reasoning
        if self.reasoning_events == "summary":
            where = {"item_id": item_id, "output_index": index, "summary_index": 0}
            yield event("response.reasoning_summary_part.added", **where, part={"type": "summary_text", "text": ""})
            for piece, at in answer.timed_reasoning():
                yield event("response.reasoning_summary_text.delta", True, at, **where, delta=piece)
            yield event("response.reasoning_summary_text.done", **where, text=text)
            yield event("response.reasoning_summary_part.done", **where, part={"type": "summary_text", "text": text})
            return
        where = {"item_id": item_id, "output_index": index, "content_index": 0}
        name = self.reasoning_text_event
        yield event("response.content_part.added", **where, part={"type": "reasoning_text", "text": ""})
        for piece, at in answer.timed_reasoning():
            yield event(f"{name}.delta", True, at, **where, delta=piece)
        yield event(f"{name}.done", **where, text=text)
        yield event("response.content_part.done", **where, part={"type": "reasoning_text", "text": text})

    @staticmethod
    def failed_code(failure: Failure) -> str:
        """A failure's `code`, never null: for a failed response and the WebSocket error."""
        if failure.code:
            return failure.code
        return _CODES.get(failure.status, "server_error" if failure.status >= 500 else "invalid_request")

    def error_payload(self, failure: Failure) -> dict[str, Any]:
        return {
            "type": self.error_kind(failure),
            "code": self.failed_code(failure),
            "message": failure.message,
            "param": failure.param,
        }

    def error_event(self, failure: Failure, number: int, conv: ResponsesConversation) -> dict[str, Any]:
        """The in-stream `error` event: flat over SSE (as OpenAI sends it), nested on a WebSocket."""
        if conv.websocket:
            return {
                "type": "error",
                "sequence_number": number,
                "status": failure.status,
                "error": self.error_payload(failure),
            }
        return {
            "type": "error",
            "sequence_number": number,
            "code": self.failed_code(failure),
            "message": failure.message,
            "param": failure.param,
        }

    def websocket_error_events(self, failure: Failure) -> Iterable[Event]:
        # The WebSocket error envelope; with a sequence number it is also a valid stream `error` event.
        event = {"type": "error", "sequence_number": 0, "status": failure.status, "error": self.error_payload(failure)}
        return [Event(event)]

    def error_events(self, conv: Conversation, answer: Answer | None, failure: Failure) -> Iterable[Event]:
        """The `error` event, then `response.failed` with the items finished before the cut."""
        assert isinstance(conv, ResponsesConversation)
        sent: list[Event] = []
        if answer is not None:
            events = list(self.events(conv, answer))
            at = strike_index(events, answer.fault)
            sent = events[: len(events) if at is None else at]
        number = len(sent)
        done = [
            e.data["item"]
            for e in sent
            if isinstance(e.data, Mapping) and e.data.get("type") == "response.output_item.done"
        ]
        out = [Event(self.error_event(failure, number, conv), name="error")]
        if answer is not None:
            error = {"code": self.failed_code(failure), "message": failure.message}
            response = self.resource(conv, answer, status="failed", output=done, usage=None, error=error)
            failed = {"type": "response.failed", "sequence_number": number + 1, "response": response}
            out.append(Event(failed, name="response.failed"))
        if self.done_sentinel and not conv.websocket:
            out.append(Event("[DONE]"))
        return out
