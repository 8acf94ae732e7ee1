"""Fragments of Opper's published OpenAPI description ("Task API" 3.0.0): the required fields and
types of the bodies Opper's own layer answers with, as JSON Schema, and a checker for them.

Only what the tests check is here: each schema lists the fields Opper's description marks
required, and the types it gives the fields mockopper fills in.
"""

from __future__ import annotations

import re
from typing import Any

import jsonschema

__all__ = ["SCHEMAS", "check"]

_STR = {"type": "string"}
_INT = {"type": "integer"}
_NUM = {"type": "number"}
_OBJ = {"type": "object"}
_STRS = {"type": "array", "items": _STR}


def _object(required: list[str], **properties: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


_SPAN = _object(
    ["id", "trace_id", "name"],
    id=_STR,
    trace_id=_STR,
    name=_STR,
    parent_id=_STR,
    type=_STR,
    error=_STR,
    start_time={"type": "string", "format": "date-time"},
    end_time={"type": "string", "format": "date-time"},
    status=_STR,
    meta=_OBJ,
    metadata=_OBJ,
    tags=_OBJ,
)

SCHEMAS: dict[str, dict[str, Any]] = {
    "ChatResponse": _object(
        ["id", "object", "created", "model", "choices", "usage"],
        cost=_NUM,
        usage=_object(["prompt_tokens", "completion_tokens", "total_tokens"]),
    ),
    "ResponsesResponse": _object(
        ["id", "object", "created_at", "model", "status", "output", "error", "incomplete_details", "tool_choice"],
        cost=_NUM,
    ),
    "ORResponse": _object(
        [
            "id",
            "object",
            "created_at",
            "completed_at",
            "status",
            "model",
            "output",
            "error",
            "incomplete_details",
            "tool_choice",
        ],
        output={
            "type": "array",
            "items": _object(
                ["type"],
                type=_STR,
                id=_STR,
                status=_STR,
                guard_type=_STR,
                flagged={"type": "boolean"},
                findings={"type": "array"},
            ),
        },
        usage=_object(["input_tokens", "output_tokens", "total_tokens"]),
    ),
    "MessagesResponse": _object(
        ["id", "type", "role", "content", "model", "stop_reason", "stop_sequence", "usage"],
        usage=_object(["input_tokens", "output_tokens"]),
    ),
    "EmbeddingsResponse": _object(
        ["object", "data", "model", "usage"], usage=_object(["prompt_tokens", "total_tokens"])
    ),
    "InteractionsResponse": _object(["id", "outputs", "status"]),
    "ModelsResponse": _object(
        ["models", "total", "offset", "limit"],
        total=_INT,
        offset=_INT,
        limit=_INT,
        models={
            "type": "array",
            "items": _object(
                [
                    "id",
                    "type",
                    "provider",
                    "provider_display_name",
                    "name",
                    "model_id",
                    "capabilities",
                    "speed",
                    "cost",
                    "quality",
                    "context_window",
                    "description",
                ],
                id=_STR,
                type=_STR,
                provider=_STR,
                provider_display_name=_STR,
                name=_STR,
                model_id=_STR,
                capabilities=_STRS,
                speed=_STR,
                cost=_NUM,
                quality=_STR,
                context_window=_INT,
                description=_STR,
                aliases=_STRS,
                api_type=_STR,
                pricing=_object(
                    ["input", "output"], input={"type": "array", "items": _NUM}, output={"type": "array", "items": _NUM}
                ),
            ),
        },
    ),
    "CreateSpanResponse": _object(
        ["data"],
        data=_object(["id", "trace_id", "name"], id=_STR, trace_id=_STR, name=_STR, parent_id=_STR, type=_STR),
    ),
    "GetSpanResponse": _object(["data"], data=_SPAN),
    "GetTraceResponse": _object(
        ["data"],
        data=_object(
            ["id", "span_count", "spans"],
            id=_STR,
            name=_STR,
            span_count=_INT,
            spans={"type": "array", "items": _SPAN},
            start_time={"type": "string", "format": "date-time"},
            end_time={"type": "string", "format": "date-time"},
            duration_ms=_INT,
            status=_STR,
            events={
                "type": "array",
                "items": _object(
                    ["id", "span_id", "kind", "source", "data"],
                    id=_STR,
                    span_id=_STR,
                    kind=_STR,
                    source=_STR,
                    data=_OBJ,
                    created_at={"type": "string", "format": "date-time"},
                ),
            },
        ),
    ),
    "ErrorResponse": _object(["error"], error=_object(["code", "message"], code=_STR, message=_STR)),
}

_FORMATS = jsonschema.FormatChecker(())
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


@_FORMATS.checks("date-time")
def _date_time(value: object) -> bool:
    """RFC 3339 date-times (jsonschema checks the format only with an optional package installed)."""
    return not isinstance(value, str) or _DATE_TIME.fullmatch(value) is not None


def check(name: str, body: Any) -> Any:
    """Validate `body` against the fragment of Opper's schema `name`; returns the body."""
    jsonschema.validate(body, SCHEMAS[name], format_checker=_FORMATS)
    return body
