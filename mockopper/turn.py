"""A `Turn`: one request (an HTTP request or a WebSocket turn) as the pipeline's stages see it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mockopper.answers import Answer, Decision, Failure
from mockopper.conversation import Conversation
from mockopper.dialects.base import Call, Surface
from mockopper.journal import RequestRecord
from mockopper.memo import Entry
from mockopper.opper import layer

__all__ = ["Turn"]


@dataclass(slots=True)
class Turn:
    """One request (an HTTP request or a WebSocket turn) on its way through the stages."""

    call: Call
    surface: Surface
    record: RequestRecord
    started: float
    request_id: str
    ids: list[tuple[str, str]]  # the request's id, under the header names its surface's vendor uses
    refused: Failure | None = None  # a refusal found before the request could be read (a bad session name)
    raw: bytes = b""
    body: Any = None
    conv: Conversation | None = None
    seen: Entry | None = None  # the memo's entry for this request, when it can be kept (see `memo`)
    opper: layer.Exchange | None = None
    decision: Decision | None = None
    failure: Failure | None = None
    forward: bool = False  # no rule answered and an upstream will
    headers: list[tuple[str, str]] = field(default_factory=list)  # what the answer carries

    @property
    def answer(self) -> Answer | None:
        return self.decision.answer if self.decision is not None else None
