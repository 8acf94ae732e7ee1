"""Reading Gemini's request bodies (protobuf as JSON): a field by its camelCase or snake_case
name, and each value checked against its protobuf type with the REST API's own message.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from typing import Any

from mockopper.dialects.base import RequestError

__all__ = [
    "TYPE_URL",
    "field",
    "invalid",
    "read_bounded",
    "read_int32",
    "read_message",
    "read_name",
    "read_repeated",
    "read_string",
    "snake",
]

TYPE_URL = "type.googleapis.com/google.ai.generativelanguage.v1beta.{}"


@functools.lru_cache(maxsize=256)
def snake(name: str) -> str:
    """`generationConfig` -> `generation_config` (field names are a fixed set: cached)."""
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def field(obj: Mapping[str, Any], name: str) -> tuple[str, Any]:
    """A field by its camelCase name or its snake_case spelling, and the key it was under."""
    if name in obj:
        return name, obj[name]
    spelt = snake(name)
    if spelt in obj:
        return spelt, obj[spelt]
    return name, None


def invalid(where: str, expected: str, value: Any) -> RequestError:
    """The REST API's message for a value of the wrong type."""
    shown = json.dumps(value, ensure_ascii=False)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return RequestError(400, f"Invalid value at '{where}' ({expected}), {shown}", param=where)


def read_message(value: Any, where: str, type_name: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise invalid(where, TYPE_URL.format(type_name), value)
    return value


def read_repeated(value: Any, where: str, type_name: str) -> list[Any]:
    """A repeated field; `type_name` is its message type, or a scalar kind such as `TYPE_STRING`."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid(where, type_name if type_name.startswith("TYPE_") else TYPE_URL.format(type_name), value)
    return value


def read_string(value: Any, where: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise invalid(where, "TYPE_STRING", value)
    return value


def read_int32(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not -(2**31) <= value < 2**31:
        raise invalid(where, "TYPE_INT32", value)
    return value


def read_bounded(obj: Mapping[str, Any], name: str, where: str, request: str, high: int) -> int | None:
    """The int32 field `name` of `obj` (either spelling), between 1 and `high`; None when absent."""
    key, value = field(obj, name)
    number = read_int32(value, f"{where}{key}")
    if number is not None and not 1 <= number <= high:
        raise RequestError(
            400,
            f"* {request}.{where}{key}: {snake(name)} must be between 1 and {high}, got {number}.",
            param=f"{where}{key}",
        )
    return number


def read_name(obj: Mapping[str, Any], where: str) -> str:
    """The `name` of the function call, response or declaration at `where`: a string, not empty."""
    name = read_string(obj.get("name"), f"{where}.name")
    if not name:
        raise RequestError(400, f"* GenerateContentRequest.{where}.name: Name cannot be empty.", param=f"{where}.name")
    return name
