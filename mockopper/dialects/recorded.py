"""What the readers of real answers (`*_recorded.py`) share: lenient reads of fields that may be
missing or of another type, and an error answer whose body may not be JSON at all.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mockopper.exchange import Exchange, Unreadable

__all__ = ["count", "error_document", "mapping"]


def mapping(value: Any) -> Mapping[str, Any]:
    """The value if it is an object, else an empty one."""
    return value if isinstance(value, Mapping) else {}


def count(value: Any) -> int | None:
    """The value if it is a whole number of zero or more, else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def error_document(exchange: Exchange) -> Any:
    """An error answer's JSON body; a body that is not JSON reads as `{"error": {"message": <its text>}}`."""
    try:
        return exchange.json()
    except Unreadable:
        return {"error": {"message": exchange.body.decode("utf-8", "replace").strip() or None}}
