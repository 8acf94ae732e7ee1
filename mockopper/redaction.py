"""What a recording must not keep: the caller's own credentials and the `--redact` patterns.

Every match is replaced with `***`. A stream's chunks are re-cut on the redacted text (a
boundary inside a replaced span moves past it), and a match condition on redacted text
becomes a regular expression that takes anything where the text was hidden.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from mockopper.journal import SECRET_HEADERS

__all__ = ["MASK", "masks_for", "recut", "redact", "secrets_of", "text_condition"]

MASK = "***"
_MIN_SECRET = 6  # shorter "keys" (mock, k) are left alone: replacing them would garble the text


def masks_for(secrets: Sequence[str], patterns: Sequence[re.Pattern[str]]) -> list[re.Pattern[str]]:
    """The patterns to redact: each credential long enough to find safely, then the `--redact` ones."""
    return [re.compile(re.escape(s)) for s in secrets if len(s) >= _MIN_SECRET] + list(patterns)


def secrets_of(headers: Mapping[str, str], query: Mapping[str, str]) -> list[str]:
    """The credentials a request carried (its key in any header or `?key=`): never written to a recording."""
    found: list[str] = []
    for name in SECRET_HEADERS:
        value = headers.get(name)
        if value:
            found.append(value)
            scheme, _, rest = value.partition(" ")
            if rest and scheme.lower() in ("bearer", "basic"):
                found.append(rest.strip())
    found += [v for k, v in query.items() if k.lower() in ("key", "api_key", "apikey", "token") and v]
    return sorted(set(found), key=len, reverse=True)


def redact(text: str, masks: Sequence[re.Pattern[str]]) -> tuple[str, list[tuple[int, int]]]:
    """The text with every mask's matches replaced by `***`, and the replaced spans of the original."""
    found = sorted((m.start(), m.end()) for pattern in masks for m in pattern.finditer(text) if m.end() > m.start())
    spans: list[tuple[int, int]] = []
    for start, end in found:
        if spans and start <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(end, spans[-1][1]))
        else:
            spans.append((start, end))
    if not spans:
        return text, spans
    out: list[str] = []
    pos = 0
    for start, end in spans:
        out += [text[pos:start], MASK]
        pos = end
    out.append(text[pos:])
    return "".join(out), spans


def recut(
    chunks: list[str], at: list[float], original: str, masks: Sequence[re.Pattern[str]]
) -> tuple[list[str], list[float]]:
    """Stream chunks re-cut on the redacted text: a boundary inside a replaced span moves past it."""
    text, spans = redact(original, masks)
    if not spans:
        return chunks, at
    out: list[str] = []
    times: list[float] = []
    boundary = 0
    previous = 0
    for chunk, offset in zip(chunks, at, strict=True):
        boundary += len(chunk)
        moved = _forward(boundary, spans)
        if moved > previous:
            out.append(text[previous:moved])
            times.append(offset)
            previous = moved
        elif out:
            times[-1] = offset  # merged into the chunk before: it is complete only now
    return out, times


def _forward(pos: int, spans: list[tuple[int, int]]) -> int:
    """A position in the original text, in the redacted text (inside a replaced span: the span's end)."""
    shift = 0
    for start, end in spans:
        if pos <= start:
            break
        if pos < end:
            return start + shift + len(MASK)
        shift += len(MASK) - (end - start)
    return pos + shift


def text_condition(text: str, masks: Sequence[re.Pattern[str]]) -> dict[str, str]:
    """`equals` the text; where redaction hid part of it, a regex that takes anything there instead."""
    _, spans = redact(text, masks)
    if not spans:
        return {"equals": text}
    pieces: list[str] = []
    pos = 0
    for start, end in spans:
        pieces.append(text[pos:start])
        pos = end
    pieces.append(text[pos:])
    pieces[0], pieces[-1] = pieces[0].lstrip(), pieces[-1].rstrip()
    return {"regex": r"(?is)\A\s*" + ".+?".join(re.escape(p) for p in pieces) + r"\s*\Z"}
