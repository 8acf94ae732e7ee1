"""Reading Anthropic request fields with the real API's validation: each error names the field
as the API does (`messages.1.content.0.text: Field required`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mockopper.dialects.base import RequestError

__all__ = ["TYPE_MESSAGES", "invalid", "optional", "required", "tag_error"]

TYPE_MESSAGES = {
    str: "Input should be a valid string",
    int: "Input should be a valid integer",
    float: "Input should be a valid number",
    bool: "Input should be a valid boolean",
    list: "Input should be a valid list",
    dict: "Input should be a valid dictionary",
}


def invalid(path: str, message: str) -> RequestError:
    """A 400 `invalid_request_error` whose message starts with the field, as the API words it."""
    return RequestError(400, f"{path}: {message}" if path else message, param=path or None)


def _is(value: Any, kind: type) -> bool:
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def required(body: Mapping[str, Any], key: str, kind: type, path: str = "") -> Any:
    name = f"{path}.{key}" if path else key
    if key not in body:
        raise invalid(name, "Field required")
    value = body[key]
    if not _is(value, kind):
        raise invalid(name, TYPE_MESSAGES[kind])
    return value


def optional(body: Mapping[str, Any], key: str, kind: type, path: str = "", default: Any = None) -> Any:
    value = body.get(key)
    if value is None:
        return default
    if not _is(value, kind):
        raise invalid(f"{path}.{key}" if path else key, TYPE_MESSAGES[kind])
    return value


def tag_error(path: str, tag: object, expected: Sequence[str]) -> RequestError:
    if not isinstance(tag, str):
        return invalid(f"{path}.type", "Field required" if tag is None else TYPE_MESSAGES[str])
    shown = ", ".join(f"'{t}'" for t in expected)
    return invalid(path, f"Input tag '{tag}' found using 'type' does not match any of the expected tags: {shown}")
