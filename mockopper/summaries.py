"""One line each on what a journaled call asked and what it was answered, for the inspector's list.

Both are read from the call's span (`RequestRecord.span`), which Opper's layer fills for
every call it traces: its input text (the last user message, the tool result, the texts
to embed), its output text (the reply's text, its tool calls as `name(arguments)`, the
embeddings' count) and the error it ended with. The record reads them when they are asked
for (`RequestRecord.asked`, `.answered`): what it was answered once the journal has heard
that it is complete.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mockopper.journal import RequestRecord

__all__ = ["LIMIT", "answered", "asked", "line"]

LIMIT = 200  # characters a summary keeps


def asked(record: RequestRecord) -> str | None:
    """What the call asked: its span's input text, on one line."""
    return line(_span_text(record.span, "input"))


def answered(record: RequestRecord) -> str | None:
    """What the call was answered: the error it ended with, else its span's output text, on one line.

    None for a forwarded call (its span speaks of the rules that missed, not of what the
    upstream answered: the response itself is in the record) and for a call with no span.
    """
    if record.forwarded:
        return None
    return line(_span_text(record.span, "error") or _span_text(record.span, "output"))


def line(text: str | None, limit: int = LIMIT) -> str | None:
    """`text` with its whitespace runs as single spaces, cut to `limit` characters (ending "…").

    Only the start of a long text is read.
    """
    if not text:
        return None
    window = text[: limit * 2]
    flat = " ".join(window.split())
    if len(flat) <= limit and len(window) == len(text):
        return flat or None
    return flat[: limit - 1].rstrip() + "…"


def _span_text(span: dict[str, Any] | None, key: str) -> str | None:
    value = span.get(key) if span else None
    return value if isinstance(value, str) else None
