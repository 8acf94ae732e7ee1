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

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from mockopper.dialects.base import Call, RequestError, Route, body_object, optional
from mockopper.dialects.openai_responses import Compaction, Responses, ResponsesConversation
from mockopper.engine import Failure
from mockopper.streaming import Event

__all__ = ["DEFAULT_MODEL", "OpenResponses", "OpenResponsesCompact", "error_type"]

DEFAULT_MODEL = "default"

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

    def model_of(self, body: Mapping[str, Any]) -> str:
        return str(optional(body, "model", str, default=DEFAULT_MODEL))

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

    def websocket_body(self, message: Any, call: Call) -> Any:
        message = body_object(message)
        kind = message.get("type")
        if kind != "response.create":
            raise RequestError(
                400,
                f"Invalid value for 'type': {kind!r}. Each WebSocket message starts a turn: send "
                '{"type": "response.create", ...} with the fields of a create request.',
                param="type",
                code="invalid_value",
            )
        for key in ("stream", "stream_options", "background"):
            if key in message:
                raise RequestError(
                    400,
                    f"'{key}' must not be sent on a WebSocket: every turn streams over the connection. Remove it.",
                    param=key,
                    code="unsupported_parameter",
                )
        return {k: v for k, v in message.items() if k != "type"}

    # --- errors -----------------------------------------------------------------------

    @staticmethod
    def failed_code(failure: Failure) -> str:
        if failure.code:
            return failure.code
        return _CODES.get(failure.status, "server_error" if failure.status >= 500 else "invalid_request")

    def error_body(self, failure: Failure) -> Any:
        return {
            "error": {
                "message": failure.message,
                "type": error_type(failure),
                "param": failure.param,
                "code": failure.code,
            }
        }

    def _payload(self, failure: Failure) -> dict[str, Any]:
        return {
            "type": error_type(failure),
            "code": self.failed_code(failure),
            "message": failure.message,
            "param": failure.param,
        }

    def error_event(self, failure: Failure, number: int, conv: ResponsesConversation) -> dict[str, Any]:
        event: dict[str, Any] = {"type": "error", "sequence_number": number}
        if conv.websocket:
            event["status"] = failure.status
        event["error"] = self._payload(failure)
        return event

    def websocket_error_events(self, failure: Failure) -> Iterable[Event]:
        # Valid both as the stream's `error` event and as the WebSocket error envelope.
        return [
            Event({"type": "error", "sequence_number": 0, "status": failure.status, "error": self._payload(failure)})
        ]


class OpenResponsesCompact(Compaction, OpenResponses):
    """POST /openresponses/responses/compact."""

    routes: ClassVar[tuple[Route, ...]] = (Route("/openresponses/responses/compact"),)
    websocket_routes: ClassVar[tuple[Route, ...]] = ()
