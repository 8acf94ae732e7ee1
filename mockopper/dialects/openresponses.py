"""OpenResponses: the vendor-neutral specification derived from OpenAI's Responses API.

Served at POST /openresponses and, for a client whose base URL is `{compat}/openresponses`,
at POST /openresponses/responses, POST /openresponses/responses/compact and a WebSocket
at /openresponses/responses. It reads requests as Responses does; where the specification
and OpenAI's Responses differ, the specification wins: every response carries all 31
standard keys, an SSE stream ends with `data: [DONE]` (a WebSocket turn does not),
reasoning streams as `response.reasoning.delta` / `.done`, assistant messages carry a
`phase`, every output item a `status`, errors use the specification's five types
(`invalid_request`, `not_found`, `too_many_requests`, `server_error`, `model_error`), and
a stream that fails sends `error` and then `response.failed`.

On the WebSocket each message is `{"type": "response.create", ...a create body...}`
without `stream`, `stream_options` or `background`; a turn that fails before it starts
sends one error envelope carrying the HTTP-style `status`. A request without `model`
is answered as DEFAULT_MODEL.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from mockopper.answers import Answer, Failure
from mockopper.dialects.base import RequestError, Route, optional
from mockopper.dialects.openai_responses import Compaction, Responses
from mockopper.dialects.responses_render import ResponsesConversation

__all__ = ["DEFAULT_MODEL", "GUARD_ITEM", "OpenResponses", "OpenResponsesCompact", "error_type"]

DEFAULT_MODEL = "default"
GUARD_ITEM = "opper:guard"  # Opper's guard extension item (its exact type string is not published)


def error_type(failure: Failure) -> str:
    """The specification's error type for a failure (a scripted `type` wins)."""
    if failure.type:
        return failure.type
    if failure.status == 404:
        return "not_found"
    if failure.status == 429:
        return "too_many_requests"
    if failure.status >= 500:
        # A reply cut off mid-generation is the model failing; anything else is the server.
        return "model_error" if failure.source == "fault" else "server_error"
    return "invalid_request"


class OpenResponses(Responses):
    """The OpenResponses create endpoint, over HTTP and WebSocket."""

    api: ClassVar[str] = "openresponses"
    routes: ClassVar[tuple[Route, ...]] = (Route("/openresponses"), Route("/openresponses/responses"))
    websocket_routes: ClassVar[tuple[Route, ...]] = (Route("/openresponses/responses"),)

    reasoning_events: ClassVar[str] = "text"
    reasoning_text_event: ClassVar[str] = "response.reasoning"
    done_sentinel: ClassVar[bool] = True
    message_phase: ClassVar[bool] = True
    item_status: ClassVar[bool] = True
    extra_keys: ClassVar[tuple[str, ...]] = ()
    default_strict: ClassVar[bool | None] = None
    min_output_tokens: ClassVar[int] = 1
    body_cost: ClassVar[bool] = False  # not one of the 31 keys: the cost is in `X-Opper-Cost` and a stream's usage

    def model_of(self, body: Mapping[str, Any]) -> str:
        return str(optional(body, "model", str, default=DEFAULT_MODEL))

    def extension_items(self, answer: Answer) -> list[dict[str, Any]]:
        """One `opper:guard` item per guard that checked the call (only when one did)."""
        return [
            {
                "type": GUARD_ITEM,
                "id": answer.ident("guard_", report.name),
                "status": "completed",
                "name": report.name,
                "guard_type": report.type,
                "action": report.action,
                "flagged": report.flagged,
                "findings": [f.to_dict() for f in report.findings],
            }
            for report in answer.guards
        ]

    def ignorable_item(self, kind: Any) -> bool:
        return isinstance(kind, str) and ":" in kind  # an implementor's extension item

    def hosted_tool(self, kind: str, where: str) -> bool:
        if ":" in kind:
            return False  # an implementor's hosted tool: accepted, not a function a rule can call, not echoed
        raise RequestError(
            400,
            f"Invalid value: '{kind}'. The only standard tool type is 'function'; an implementor's own tools "
            "are named with its prefix, as in 'acme:search'.",
            param=f"{where}.type",
            code="invalid_value",
        )

    # --- errors -----------------------------------------------------------------------

    def error_kind(self, failure: Failure) -> str:
        return error_type(failure)

    def error_event(self, failure: Failure, number: int, conv: ResponsesConversation) -> dict[str, Any]:
        event: dict[str, Any] = {"type": "error", "sequence_number": number}
        if conv.websocket:
            event["status"] = failure.status
        event["error"] = self.error_payload(failure)
        return event


class OpenResponsesCompact(Compaction, OpenResponses):
    """POST /openresponses/responses/compact."""

    routes: ClassVar[tuple[Route, ...]] = (Route("/openresponses/responses/compact"),)
    websocket_routes: ClassVar[tuple[Route, ...]] = ()
