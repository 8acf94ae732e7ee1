"""The Responses response object and its output items (`reasoning`, `message`, `function_call`).

Every standard key of the response object goes out, in the order OpenAI sends them; the
keys a request sets are echoed back from it (`ResponsesConversation.echo`).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any, ClassVar

from mockopper.answers import Answer
from mockopper.conversation import Conversation, estimate_tokens
from mockopper.dialects.base import Surface
from mockopper.dialects.openai import token_logprobs

__all__ = ["ResponsesConversation", "ResponsesRender", "output_text"]

_REASONING_PREFIX = "mockopper.reasoning.v1."  # of a reasoning item's encrypted_content: its text, in base64


@dataclass(slots=True)
class ResponsesConversation(Conversation):
    """A Responses request: the conversation, plus what the response object echoes back."""

    echo: dict[str, Any] = field(default_factory=dict)
    carried_system: str = ""  # system text a continuation carries (input items, not `instructions`)
    store: bool = True
    websocket: bool = False


def output_text(text: str, logprobs: int | None) -> dict[str, Any]:
    """An `output_text` content part; with its tokens' log probabilities when they are asked for."""
    part: dict[str, Any] = {"type": "output_text", "text": text, "annotations": []}
    if logprobs is not None:
        part["logprobs"] = token_logprobs(text, logprobs)
    return part


class ResponsesRender(Surface):
    """Mixed into the Responses surfaces: the response object and its output items, finished."""

    # Where OpenResponses differs (the values are set on `Responses`).
    reasoning_events: ClassVar[str]
    message_phase: ClassVar[bool]
    item_status: ClassVar[bool]
    extra_keys: ClassVar[tuple[str, ...]]
    body_cost: ClassVar[bool]

    @staticmethod
    def response_id(answer: Answer) -> str:
        return answer.ident("resp_")

    def resource(
        self,
        conv: ResponsesConversation,
        answer: Answer,
        *,
        status: str,
        output: list[dict[str, Any]],
        usage: dict[str, Any] | None,
        error: dict[str, Any] | None = None,
        incomplete: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The response object: every standard key, in the order OpenAI sends them."""
        echo = conv.echo
        finished = status in ("completed", "incomplete")
        body: dict[str, Any] = {
            "id": self.response_id(answer),
            "object": "response",
            "created_at": answer.created,
            "status": status,
            "completed_at": answer.created if finished else None,
            "error": error,
            "incomplete_details": incomplete,
            "instructions": echo["instructions"],
            "max_output_tokens": echo["max_output_tokens"],
            "max_tool_calls": echo["max_tool_calls"],
            "model": answer.model,
            "output": output,
            "parallel_tool_calls": echo["parallel_tool_calls"],
            "previous_response_id": echo["previous_response_id"],
            "reasoning": echo["reasoning"],
            "store": echo["store"],
            "temperature": echo["temperature"],
            "text": echo["text"],
            "tool_choice": echo["tool_choice"],
            "tools": echo["tools"],
            "top_p": echo["top_p"],
            "truncation": echo["truncation"],
            "usage": usage,
            "metadata": echo["metadata"],
            "background": echo["background"],
            "service_tier": echo["service_tier"],
            "safety_identifier": echo["safety_identifier"],
            "prompt_cache_key": echo["prompt_cache_key"],
            "top_logprobs": echo["top_logprobs"],
            "presence_penalty": echo["presence_penalty"],
            "frequency_penalty": echo["frequency_penalty"],
        }
        for key in self.extra_keys:
            body[key] = echo.get(key)
        return body

    @staticmethod
    def usage(answer: Answer) -> dict[str, Any]:
        reasoning = min(estimate_tokens(answer.reasoning), answer.output_tokens)
        return {
            "input_tokens": answer.input_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": answer.output_tokens,
            "output_tokens_details": {"reasoning_tokens": reasoning},
            "total_tokens": answer.input_tokens + answer.output_tokens,
        }

    @staticmethod
    def outcome(answer: Answer) -> tuple[str, dict[str, Any] | None]:
        """The response's status and incomplete_details for the answer's finish reason."""
        if answer.finish_reason == "length":
            return "incomplete", {"reason": "max_output_tokens"}
        if answer.finish_reason == "content_filter":
            return "incomplete", {"reason": "content_filter"}
        return "completed", None

    def items(self, answer: Answer, logprobs: int | None = None) -> list[dict[str, Any]]:
        """The output items, finished: extension items, reasoning, then the message, then the function calls.

        `logprobs`: the message's text carries its tokens' log probabilities, with that many alternatives each.
        """
        items = self.extension_items(answer)  # first: the guards checked the input before the model ran
        if answer.reasoning:
            items.append(self.reasoning_item(answer, answer.reasoning, "completed"))
        if answer.text or not answer.tool_calls:
            items.append(self.message_item(answer, answer.text, "completed", logprobs))
        for i in range(len(answer.tool_calls)):
            items.append(self.call_item(answer, i, answer.tool_calls[i].arguments, "completed"))
        status, _ = self.outcome(answer)
        if status == "incomplete" and items:
            items[-1]["status"] = "incomplete"  # only the last item may be cut short
        return items

    def extension_items(self, answer: Answer) -> list[dict[str, Any]]:
        """Output items beyond the standard ones (their `type` has a colon); OpenAI's Responses has none."""
        return []

    def reasoning_item(self, answer: Answer, text: str | None, status: str) -> dict[str, Any]:
        """A reasoning item; once its text is known, with the opaque `encrypted_content` a stateless turn sends back."""
        item: dict[str, Any] = {"type": "reasoning", "id": answer.ident("rs_", "reasoning")}
        if self.item_status:
            item["status"] = status
        if text is not None:
            item["encrypted_content"] = _REASONING_PREFIX + base64.urlsafe_b64encode(text.encode()).decode()
        if self.reasoning_events == "summary":
            item["summary"] = [] if text is None else [{"type": "summary_text", "text": text}]
        else:
            item["summary"] = []
            item["content"] = [] if text is None else [{"type": "reasoning_text", "text": text}]
        return item

    def message_item(
        self, answer: Answer, text: str | None, status: str, logprobs: int | None = None
    ) -> dict[str, Any]:
        item: dict[str, Any] = {
            "type": "message",
            "id": answer.ident("msg_", "message"),
            "status": status,
            "role": "assistant",
            "content": [] if text is None else [output_text(text, logprobs)],
        }
        if self.message_phase:
            item["phase"] = "commentary" if answer.tool_calls else "final_answer"
        return item

    @staticmethod
    def call_item(answer: Answer, index: int, arguments: str, status: str) -> dict[str, Any]:
        call = answer.tool_calls[index]
        return {
            "type": "function_call",
            "id": answer.ident("fc_", index),
            "call_id": answer.call_id(index, "call_"),
            "name": call.name,
            "arguments": arguments,
            "status": status,
        }

    def render(self, conv: Conversation, answer: Answer) -> Any:
        assert isinstance(conv, ResponsesConversation)
        status, incomplete = self.outcome(answer)
        body = self.resource(
            conv,
            answer,
            status=status,
            output=self.items(answer, conv.logprobs),
            usage=self.usage(answer),
            incomplete=incomplete,
        )
        if self.body_cost and answer.cost is not None:
            body["cost"] = answer.cost  # Opper's ResponsesResponse.cost
        return body
