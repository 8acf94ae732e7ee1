"""Strings a regular expression matches: a small sampler for the `pattern` keyword of JSON Schema.

A sample is correct by construction, so it is never checked with `re` (a pattern sent by a
request could make that check backtrack for ever); a pattern that uses what the sampler
cannot honour gets no sample.
"""

from __future__ import annotations

import random
from typing import Any

try:  # Python 3.11+
    import re._parser as sre_parse  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # pragma: no cover
    import sre_parse  # type: ignore[no-redef,unused-ignore]

__all__ = ["sample_pattern"]

_MAX_CHARS = 10_000  # the longest pattern read, and the longest sample made

_CATEGORIES = {
    "CATEGORY_DIGIT": "0123456789",
    "CATEGORY_WORD": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_",
    "CATEGORY_SPACE": " ",
    "CATEGORY_NOT_DIGIT": "abcdefghijklmnopqrstuvwxyz",
    "CATEGORY_NOT_WORD": "-.",
    "CATEGORY_NOT_SPACE": "abcdefghijklmnopqrstuvwxyz",
}


# Anchors the sampler honours by construction; any other assertion makes it give up.
_ANCHORS = frozenset({"AT_BEGINNING", "AT_BEGINNING_STRING", "AT_END", "AT_END_STRING"})
_MAX_REPEAT = 100


def sample_pattern(pattern: str, rng: random.Random) -> str | None:
    """A string the pattern matches, or None when the pattern uses what the sampler cannot honour.

    The sample is correct by construction, so it is never checked with `re`: a pattern sent by
    a request could make that check backtrack for ever.
    """
    if len(pattern) > _MAX_CHARS:
        return None
    try:
        parsed = sre_parse.parse(pattern)
        out = _emit(parsed, rng, 0)
    except Exception:
        return None
    return out if len(out) <= _MAX_CHARS else None


def _emit(items: Any, rng: random.Random, depth: int) -> str:
    if depth > 20:
        raise ValueError("pattern too deep")
    out: list[str] = []
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(arg))
        elif name == "ANY":
            out.append(rng.choice("abcdefghijklmnopqrstuvwxyz"))
        elif name == "IN":
            out.append(_emit_class(arg, rng))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, high, sub = arg
            if low > _MAX_REPEAT:
                raise ValueError("pattern repeats too often")
            high = min(high, low + 3) if high != sre_parse.MAXREPEAT else low + 3
            for _ in range(rng.randint(low, max(low, high))):
                out.append(_emit(sub, rng, depth + 1))
                if sum(map(len, out)) > _MAX_CHARS:
                    raise ValueError("pattern too long")
        elif name == "SUBPATTERN":
            out.append(_emit(arg[-1], rng, depth + 1))
        elif name == "BRANCH":
            out.append(_emit(rng.choice(arg[1]), rng, depth + 1))
        elif name == "AT" and str(arg) in _ANCHORS:
            continue
        elif name == "CATEGORY":
            out.append(rng.choice(_CATEGORIES.get(str(arg), "x")))
        else:
            raise ValueError(f"unsupported pattern element {name}")
    return "".join(out)


def _emit_class(items: Any, rng: random.Random) -> str:
    choices: list[str] = []
    negate = False
    for op, arg in items:
        name = str(op)
        if name == "NEGATE":
            negate = True
        elif name == "LITERAL":
            choices.append(chr(arg))
        elif name == "RANGE":
            choices.extend(chr(c) for c in range(arg[0], min(arg[1], arg[0] + 200) + 1))
        elif name == "CATEGORY":
            choices.extend(_CATEGORIES.get(str(arg), "x"))
    if negate:
        pool = [c for c in "abcdefghijklmnopqrstuvwxyz0123456789" if c not in choices]
        return rng.choice(pool or ["~"])
    return rng.choice(choices or ["x"])
