"""OpenAI Responses: POST /responses (JSON and typed SSE), its WebSocket at /responses, POST /responses/compact.

A request's `input` (a string or a list of items), `instructions` and
`previous_response_id` become one conversation (`responses_request`, `responses_input`);
the answer comes back as output items (`reasoning`, `message`, `function_call`) in a
response object (`responses_render`), or as the typed event sequence when streamed
(`responses_events`). OpenResponses (`openresponses.py`) shares all of this and differs
where its specification says so, through the class attributes marked below.

Continuation (`responses_continuation`): a finished response is kept under its id (unless
`store: false`), and on a WebSocket also in the connection's own memory.
"""

from __future__ import annotations

from typing import Any, ClassVar

from mockopper import fakes
from mockopper.conversation import Conversation, estimate_tokens
from mockopper.dialects.base import Call, Route, body_object, expect, optional
from mockopper.dialects.responses_continuation import pack_conversation
from mockopper.dialects.responses_events import ResponsesEvents
from mockopper.dialects.responses_request import ResponsesRequest
from mockopper.exchange import Exchange, Recorded

__all__ = ["Compaction", "Responses", "ResponsesCompact"]


class Responses(ResponsesRequest, ResponsesEvents):
    """OpenAI's Responses API."""

    api: ClassVar[str] = "responses"
    routes: ClassVar[tuple[Route, ...]] = (Route("/responses"),)
    websocket_routes: ClassVar[tuple[Route, ...]] = (Route("/responses"),)

    # Where OpenResponses differs (see openresponses.py).
    reasoning_events: ClassVar[str] = "summary"  # summary: reasoning_summary_* events; text: reasoning text events
    reasoning_text_event: ClassVar[str] = "response.reasoning_text"
    done_sentinel: ClassVar[bool] = False  # end an SSE stream with `data: [DONE]`
    message_phase: ClassVar[bool] = False  # label assistant messages commentary / final_answer
    item_status: ClassVar[bool] = False  # every output item carries a status (reasoning too)
    extra_keys: ClassVar[tuple[str, ...]] = ("user",)  # response keys beyond the 31 standard ones
    default_strict: ClassVar[bool | None] = True  # a function tool's `strict` when the request leaves it out
    min_output_tokens: ClassVar[int] = 16
    body_cost: ClassVar[bool] = True  # Opper's `cost` at the top of a response body

    def read_body(self, conv: Conversation, body: Any) -> Recorded:
        from mockopper.dialects.openai_recorded import read_response

        return read_response(body)

    def read_stream(self, conv: Conversation, exchange: Exchange) -> Recorded:
        from mockopper.dialects.openai_recorded import read_responses_stream

        return read_responses_stream(exchange)


class Compaction:
    """POST .../responses/compact: the conversation packed into one `compaction` item.

    The item's `encrypted_content` holds the whole conversation (as this server reads
    it), so a request that sends it back as input continues exactly where it was.
    """

    kind: ClassVar[str] = "direct"
    item_status: ClassVar[bool]

    def respond(self, body: Any, call: Call, *, created: int, seed: int) -> Any:
        assert isinstance(self, Responses)
        body = body_object(body)
        expect(body, "model", str)
        optional(body, "instructions", str)
        optional(body, "prompt_cache_key", str)
        previous_id = optional(body, "previous_response_id", str)
        state = self.read_input(body, call, self.previous(previous_id, call) if previous_id is not None else None)
        system = "\n\n".join(s for s in state.system if s)
        packed = pack_conversation(system, state.messages)
        conv = Conversation(api=self.api, model=str(body["model"]), messages=state.messages, system=system)
        key = f"{seed}|compact|{conv.digest}"
        item: dict[str, Any] = {
            "id": fakes.ident(key, "cmp_", "item"),
            "type": "compaction",
            "encrypted_content": packed,
        }
        if self.item_status:
            item["status"] = "completed"
        input_tokens = conv.input_tokens()
        output_tokens = estimate_tokens(packed)
        return {
            "id": fakes.ident(key, "cmp_"),
            "object": "response.compaction",
            "created_at": created,
            "output": [item],
            "usage": {
                "input_tokens": input_tokens,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": output_tokens,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": input_tokens + output_tokens,
            },
        }


class ResponsesCompact(Compaction, Responses):
    """OpenAI's POST /responses/compact."""

    routes: ClassVar[tuple[Route, ...]] = (Route("/responses/compact"),)
    websocket_routes: ClassVar[tuple[Route, ...]] = ()
