"""What Google's surfaces share: the error body, the canonical status names, model ids.

Every Google API answers errors as `{"error": {"code", "message", "status"}}` with the
canonical status name for the HTTP code (`INVALID_ARGUMENT`, `RESOURCE_EXHAUSTED`, ...).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from typing import Any

from mockopper.answers import Answer, Failure, ToolCall
from mockopper.conversation import estimate_tokens
from mockopper.dialects.base import retry_headers
from mockopper.exchange import Exchange, RecordedError

__all__ = [
    "STATUS",
    "GoogleErrors",
    "function_args",
    "google_status",
    "iso_time",
    "result_text",
    "strip_models",
    "thought_tokens",
]

# The canonical status name Google's APIs send with each HTTP code.
STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    402: "FAILED_PRECONDITION",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "UNIMPLEMENTED",
    408: "DEADLINE_EXCEEDED",
    409: "ABORTED",
    412: "FAILED_PRECONDITION",
    413: "INVALID_ARGUMENT",
    422: "INVALID_ARGUMENT",
    429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED",
    500: "INTERNAL",
    501: "UNIMPLEMENTED",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
    529: "UNAVAILABLE",
}

_CANONICAL = re.compile(r"^[A-Z][A-Z_]*$")


def google_status(failure: Failure) -> str:
    """The status name for a failure: a scenario's upper-case `type` wins, else the code's."""
    if failure.type and _CANONICAL.match(failure.type):
        return failure.type
    status = failure.status
    if status in STATUS:
        return STATUS[status]
    return "INVALID_ARGUMENT" if 400 <= status < 500 else "INTERNAL" if status >= 500 else "UNKNOWN"


class GoogleErrors:
    """Mixed into Google surfaces: the error body and the retry headers."""

    def error_body(self, failure: Failure) -> Any:
        error: dict[str, Any] = {"code": failure.status, "message": failure.message, "status": google_status(failure)}
        details: list[dict[str, Any]] = []
        if failure.param:
            details.append(
                {
                    "@type": "type.googleapis.com/google.rpc.BadRequest",
                    "fieldViolations": [{"field": failure.param, "description": failure.message}],
                }
            )
        if failure.retry_after is not None:
            details.append(
                {
                    "@type": "type.googleapis.com/google.rpc.RetryInfo",
                    "retryDelay": f"{round(failure.retry_after, 3):g}s",
                }
            )
        if details:
            error["details"] = details
        return {"error": error}

    def error_headers(self, failure: Failure) -> list[tuple[str, str]]:
        return retry_headers(failure)

    def read_error(self, exchange: Exchange) -> RecordedError:
        from mockopper.dialects.google_recorded import read_error

        return read_error(exchange)


def strip_models(model: str) -> str:
    """A model id as matching sees it: `models/gemini-2.5-pro` is `gemini-2.5-pro`."""
    return model[len("models/") :] if model.startswith("models/") else model


def iso_time(timestamp: int) -> str:
    """An RFC 3339 UTC timestamp, as Google's APIs spell `created` and `updated`."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))


def result_text(response: Any, name: str | None = None) -> str:
    """A function response as tool-result text: `{"result": "sunny"}` reads as `sunny`, and so does the
    Vercel provider's `{"name": <the function's name>, "content": "sunny"}`."""
    if isinstance(response, Mapping) and name and response.keys() == {"name", "content"} and response["name"] == name:
        response = response["content"]
    if isinstance(response, str):
        return response
    if isinstance(response, Mapping) and len(response) == 1:
        (only,) = response.values()
        if isinstance(only, str):
            return only
    return json.dumps(response, ensure_ascii=False, separators=(",", ":"))


def function_args(call: ToolCall) -> Any:
    """A tool call's arguments as the object Gemini sends (`args`)."""
    try:
        value = json.loads(call.arguments) if call.arguments else {}
    except ValueError:
        return {"arguments": call.arguments}
    return value if isinstance(value, dict) else {"value": value}


def thought_tokens(answer: Answer) -> int:
    """The part of the output that is thinking, by the token estimate."""
    return min(estimate_tokens(answer.reasoning), answer.output_tokens) if answer.reasoning else 0
