"""Server settings: what `serve`'s options and `MockServer(**settings)` set, beside the scenario."""

from __future__ import annotations

from dataclasses import dataclass

from mockopper.journal import DEFAULT_BODY_LIMIT

__all__ = ["Settings"]


@dataclass(frozen=True)
class Settings:
    """Server settings that are not part of a scenario."""

    api_key: str | None = None
    admin_token: str | None = None
    cors_origins: tuple[str, ...] = ("*",)
    max_body_bytes: int = 32 * 1024 * 1024
    journal_size: int = 1000
    journal_body_limit: int = DEFAULT_BODY_LIMIT  # characters of JSON a journaled body keeps
    history_size: int = 1000
    max_sessions: int = 1000
    trace_size: int = 1000
    seed: int | None = None
    upstream: str | None = None  # forward what no rule answers to this compat base URL
    upstream_timeout: float = 600  # seconds the upstream may take to answer (connecting: at most 10)
    record: str | None = None  # record forwarded exchanges into this scenario file
    redact: tuple[str, ...] = ()  # patterns replaced with *** in recordings
