"""A `Turn`: one request (an HTTP request or a WebSocket turn) as the pipeline's stages see it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mockopper import bodies
from mockopper.answers import Answer, Decision, Failure
from mockopper.conversation import Conversation
from mockopper.dialects.base import Call, Surface
from mockopper.journal import RequestRecord
from mockopper.memo import Entry
from mockopper.opper import layer

__all__ = ["Turn"]

_UNREAD = object()


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
    _body: Any = field(default=_UNREAD, repr=False)  # see `body`
    conv: Conversation | None = None
    seen: Entry | None = None  # the memo's entry for this request, when it can be kept (see `memo`)
    opper: layer.Exchange | None = None
    decision: Decision | None = None
    failure: Failure | None = None
    forward: bool = False  # no rule answered and an upstream will
    headers: list[tuple[str, str]] = field(default_factory=list)  # what the answer carries

    @property
    def body(self) -> Any:
        """The body as JSON, decoded when first read (a 400 if it is not JSON).

        A request the memo has seen before, byte for byte, is never decoded again: its
        conversation is the one read the first time.
        """
        if self._body is _UNREAD:
            self._body = bodies.decode(self.raw)
        return self._body

    @body.setter
    def body(self, value: Any) -> None:
        self._body = value

    @property
    def answer(self) -> Answer | None:
        return self.decision.answer if self.decision is not None else None
