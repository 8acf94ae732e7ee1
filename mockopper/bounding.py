"""Bodies in bounded form: what the journal keeps of a request or response, however large it was.

An inline payload becomes its descriptor (`attachments.descriptor`: media type, size,
digest); a body whose JSON is still past the limit has its longest strings cut to one
length, each ending with a mark saying how much went.
"""

from __future__ import annotations

import bisect
import itertools
import json
from collections.abc import Iterator
from typing import Any

from mockopper import attachments

__all__ = ["bounded"]

_CUT_MARK = "… [{} more characters cut]"
_MARK_SIZE = 40  # room a cut string's mark takes


def bounded(value: Any, limit: int, *, payloads: bool = False) -> tuple[Any, str | None]:
    """`value` as the journal keeps it, and a note when it had to be cut.

    With `payloads`, every inline payload (`attachments.descriptor`) becomes its descriptor.
    Then, when the JSON is still larger than `limit` characters, the longest strings are cut
    to one length so the whole fits, each ending with a mark saying how much went; a body
    whose structure alone is past the limit is kept as the start of its JSON text. Nothing
    is copied unless something changes.
    """
    value, size = _walk(value, payloads)
    if size <= limit:
        return value, None
    lengths = sorted(_lengths(value))
    cap = _cap(lengths, size - sum(lengths), limit)
    if cap is None:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
        note = f"about {size} characters, past the journal's limit of {limit}: kept as the start of its JSON"
        return {"mockopper_cut": note, "head": text[:limit]}, note
    note = f"about {size} characters, past the journal's limit of {limit}: strings cut to {cap} characters"
    return _cut(value, cap), note


def _walk(value: Any, payloads: bool) -> tuple[Any, int]:
    """One pass: payloads replaced by their descriptors (when asked), and the JSON's size estimated."""
    size = [0]
    shared = attachments.shared() if payloads else None
    return _step(value, payloads, bool(shared), size), size[0]


def _step(v: Any, payloads: bool, shared: bool, size: list[int]) -> Any:
    """`_walk` for one value. On the path of every request, so written for speed: exact types, and
    no call for the short strings ordinary bodies are made of. A plain function, not a closure: a
    recursive closure is a reference cycle, and would keep the request's payloads alive until the
    garbage collector happens to run."""
    kind = type(v)
    if kind is str:
        n = len(v)
        if payloads and (shared or n >= attachments.LONG_PAYLOAD):
            described = attachments.descriptor(v)
            if described is not None:
                v = described
                n = len(v)
        size[0] += n + 2
        return v
    if kind is dict:
        size[0] += 2 + 4 * len(v)
        changed = None
        for key, item in v.items():
            size[0] += len(key)
            new = _step(item, payloads, shared, size)
            if new is not item:
                if changed is None:
                    changed = dict(v)
                changed[key] = new
        return v if changed is None else changed
    if kind is list:
        size[0] += 2 + len(v)
        items = None
        for i, item in enumerate(v):
            new = _step(item, payloads, shared, size)
            if new is not item:
                if items is None:
                    items = list(v)
                items[i] = new
        return v if items is None else items
    size[0] += len(str(v)) if kind is int or kind is float else 5
    return v


def _lengths(value: Any) -> Iterator[int]:
    if isinstance(value, str):
        yield len(value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _lengths(item)
    elif isinstance(value, list):
        for item in value:
            yield from _lengths(item)


def _cap(lengths: list[int], fixed: int, limit: int) -> int | None:
    """The longest string length (with its cut mark) that brings the total within `limit`, or None."""
    prefix = [0, *itertools.accumulate(lengths)]

    def total(cap: int) -> int:
        kept = bisect.bisect_right(lengths, cap + _MARK_SIZE)
        return fixed + prefix[kept] + (len(lengths) - kept) * (cap + _MARK_SIZE)

    if total(0) > limit:
        return None
    low, high = 0, lengths[-1] if lengths else 0
    while low < high:
        middle = (low + high + 1) // 2
        if total(middle) <= limit:
            low = middle
        else:
            high = middle - 1
    return low


def _cut(value: Any, cap: int) -> Any:
    if isinstance(value, str):
        if len(value) <= cap + _MARK_SIZE:
            return value
        return value[:cap] + _CUT_MARK.format(len(value) - cap)
    if isinstance(value, dict):
        return {key: _cut(item, cap) for key, item in value.items()}
    if isinstance(value, list):
        return [_cut(item, cap) for item in value]
    return value
