"""Request bodies: read within the size limit, then decoded as strict JSON, or a 4xx that says why.

Both stages of the pipeline's intake live here: `read` takes the body off the ASGI
`receive` channel (a 413 past the limit, declared or chunked), `decode` turns bytes into
JSON (a 400 for anything RFC 8259 does not allow). WebSocket messages are decoded the
same way.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.types import Receive

from mockopper.dialects.base import RequestError

__all__ = ["MAX_NESTING", "decode", "read"]

MAX_NESTING = 128
# How much of an oversized body is read and discarded before the 413 goes out anyway.
_DRAIN_BYTES = 64 * 1024 * 1024
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


async def read(headers: Mapping[str, str], receive: Receive, limit: int) -> bytes:
    """The body's bytes; a 413 past `limit`, declared or not (chunked).

    An oversized body is still read to its end (up to a bound) and thrown away: a server
    that answers while the client is still sending resets the connection, and the client
    would see a connection error (which SDKs retry) instead of the 413.
    """
    declared = headers.get("content-length")
    too_large = declared is not None and declared.isdigit() and int(declared) > limit
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break  # the client went away
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            too_large = True
        if too_large:
            if size > limit + _DRAIN_BYTES:
                break
        else:
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    if too_large:
        shown = f"{declared} bytes" if declared is not None and declared.isdigit() else f"over {limit} bytes"
        raise RequestError(
            413, f"Request body too large: {shown}, the limit is {limit} bytes.", code="request_too_large"
        )
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def decode(raw: bytes) -> Any:
    """A request body (or WebSocket message) as JSON, or a 400 that says what is wrong with it.

    Strict JSON (RFC 8259): UTF-8, finite numbers, no NaN or Infinity, no lone surrogates;
    anything else is refused here rather than failing later when the answer is encoded.
    """
    if not raw.strip():
        raise _invalid("the body is empty")
    value = _fast(raw)
    if value is _SLOW:
        value = _strict(raw)
    # Deeper documents would break whatever walks them recursively later (the journal, encoders);
    # counting brackets first keeps the walk off the hot path.
    if raw.count(b"[") + raw.count(b"{") > MAX_NESTING and _nested_deeper(value, MAX_NESTING):
        raise _invalid(f"it is nested more than {MAX_NESTING} levels deep")
    if _SURROGATE_ESCAPE.search(raw):  # rare: only then look for one without its pair
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise _invalid("it contains a lone UTF-16 surrogate escape (\\ud800-\\udfff)") from None
    return value


_SLOW = object()


def _fast(raw: bytes) -> Any:
    """orjson's reading of a body, else `_SLOW` when it refuses it.

    orjson refuses what strict JSON refuses (NaN, invalid UTF-8, lone surrogates); a body it
    refuses goes the standard library's way, which says what is wrong in its own words. (An
    integer past 64 bits reads as a number, as in JavaScript clients.)
    """
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _SLOW


def _strict(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _invalid(f"it is not UTF-8 (byte {raw[exc.start : exc.start + 1]!r} at position {exc.start})") from None
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:
        raise _invalid("it is nested too deeply") from None
    except ValueError as exc:
        raise _invalid(str(exc)) from None
    return value


def _nested_deeper(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _invalid(detail: str) -> RequestError:
    return RequestError(
        400,
        f"We could not parse the JSON body of your request: {detail}. The API expects a JSON object.",
        code="invalid_json",
    )


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"the number {text[:40]} is too large")
    return value
