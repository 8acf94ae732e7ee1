"""Authentication: the key every compat request (and Opper's /v3 API) must carry, in any of its spellings."""

from __future__ import annotations

from collections.abc import Mapping

from mockopper.answers import Failure

__all__ = ["authenticate"]


def authenticate(headers: Mapping[str, str], query: Mapping[str, str], expected: str | None) -> Failure | None:
    """None when the request carries a key (the `expected` one, if the server was given one), else a 401.

    Accepted as `Authorization: Bearer`, `x-api-key`, `x-goog-api-key`, `x-opper-api-key` or `?key=`.
    """
    key = None
    auth = headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        key = auth[7:].strip()
    key = (
        key
        or headers.get("x-api-key")
        or headers.get("x-goog-api-key")
        or headers.get("x-opper-api-key")
        or query.get("key")
    )
    if not key:
        return Failure(
            401,
            "Missing API key. Send it as 'Authorization: Bearer KEY', 'x-api-key', "
            "'x-goog-api-key', 'x-opper-api-key' or '?key='.",
            code="missing_api_key",
            source="request",
        )
    if expected is not None and key != expected:
        return Failure(401, "Invalid API key.", code="invalid_api_key", source="request")
    return None
