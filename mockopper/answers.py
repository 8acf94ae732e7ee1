"""What the engine decides, in vendor-neutral terms: an `Answer` or a `Failure` for a request,
and the `Decision` that holds it with each model `Attempt` along the fallback chain.

Dialects render an `Answer` in their vendor's shape and stream its chunks; a `Failure` is
an error before a dialect gives it its vendor's shape.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from mockopper import fakes
from mockopper.matching import NearMiss
from mockopper.pacing import chunk_text
from mockopper.replies import ErrorSpec, FaultSpec, StreamSpec

if TYPE_CHECKING:
    from mockopper.opper.guards import GuardReport

__all__ = [
    "DEFAULT_MESSAGES",
    "DEFAULT_PACING",
    "Answer",
    "Attempt",
    "Decision",
    "Failure",
    "ToolCall",
    "is_retryable",
]

DEFAULT_PACING = StreamSpec()

DEFAULT_MESSAGES = {
    400: "Bad request.",
    401: "Invalid API key.",
    402: "Payment required.",
    403: "Permission denied.",
    404: "Not found.",
    408: "Request timed out.",
    409: "Conflict.",
    413: "Request too large.",
    422: "Unprocessable request.",
    429: "Rate limit exceeded. Please retry after a short wait.",
    500: "Internal server error.",
    502: "Bad gateway: the upstream provider returned an invalid response.",
    503: "Service unavailable: the model is temporarily overloaded.",
    504: "Gateway timeout: the upstream provider did not answer in time.",
    529: "Overloaded.",
}


def is_retryable(status: int) -> bool:
    """Statuses that move a fallback chain on (and that SDKs retry): 408, 429 and 5xx."""
    return status in (408, 429) or status >= 500


@dataclass(frozen=True, slots=True)
class Failure:
    """An error answer, before a dialect gives it its vendor's shape."""

    status: int
    message: str
    type: str | None = None
    code: str | None = None
    param: str | None = None
    retry_after: float | None = None
    should_retry: bool | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_ms: float = 0
    source: str = "rule"  # rule | model | chaos | unmatched | request | fault
    request_id: str | None = None  # set by the pipeline: the id this request's response carries
    now: int | None = None  # set by the pipeline: the scenario clock when the error was answered

    @classmethod
    def from_spec(
        cls, spec: ErrorSpec, message: str | None = None, *, source: str = "rule", delay_ms: float = 0
    ) -> Failure:
        return cls(
            status=spec.status,
            message=message or spec.message or DEFAULT_MESSAGES.get(spec.status, f"Error {spec.status}."),
            type=spec.type,
            code=spec.code,
            retry_after=spec.retry_after,
            should_retry=spec.should_retry,
            headers=dict(spec.headers or {}),
            delay_ms=delay_ms,
            source=source,
        )


@dataclass(frozen=True, slots=True)
class ToolCall:
    name: str
    arguments: str
    chunks: tuple[str, ...]
    id: str | None = None  # scripted id; dialects generate one otherwise
    at_ms: tuple[float, ...] = ()  # a recorded stream: when each chunk goes out (ms from the request's start)

    def timed(self) -> Iterator[tuple[str, float | None]]:
        """The argument chunks, each with its recorded offset (None when not recorded)."""
        return _timed(self.chunks, self.at_ms)


@dataclass(slots=True)
class Answer:
    """A successful answer in vendor-neutral form; dialects render and stream it."""

    key: str
    model: str
    created: int
    text: str = ""
    reasoning: str = ""
    tool_calls: tuple[ToolCall, ...] = ()
    structured: bool = False
    finish_reason: str = "stop"
    input_tokens: int = 0
    output_tokens: int = 0
    vectors: tuple[list[float], ...] = ()
    pacing: StreamSpec = DEFAULT_PACING
    fault: FaultSpec | None = None
    delay_ms: float = 0
    seed: int = 0
    cost: float | None = None  # USD: scripted by the reply, else priced by Opper's layer
    guards: tuple[GuardReport, ...] = ()  # the guards that checked this call, for dialects that render them
    # A recorded stream: its text and reasoning chunks and their offsets (ms from the request's start).
    recorded_text: tuple[tuple[str, ...], tuple[float, ...]] | None = None
    recorded_reasoning: tuple[tuple[str, ...], tuple[float, ...]] | None = None

    def copy(self, key: str | None = None) -> Answer:
        """A shallow copy, under `key` when given: a kept answer, for one more call."""
        made = Answer(*_ANSWER_FIELDS(self))
        if key is not None:
            made.key = key
        return made

    def ident(self, prefix: str, label: object = "", length: int = 24) -> str:
        """A deterministic id for part `label` of this answer."""
        return self.derived(functools.partial(fakes.ident, prefix=prefix, label=label, length=length))

    def derived(self, make: Callable[[str], str]) -> str:
        """A value made from this answer's key (an id, a signature): `make(key)`.

        Everything in a rendered answer that varies from call to call comes from here, so a
        render can be kept as a template and the values spliced in per call (`memo`).
        """
        return make(self.key)

    def fingerprint(self) -> tuple[Any, ...]:
        """Everything a dialect renders from, but the key: equal fingerprints render alike, ids aside."""
        return (
            self.model,
            self.created,
            self.text,
            self.reasoning,
            self.tool_calls,
            self.structured,
            self.finish_reason,
            self.input_tokens,
            self.output_tokens,
            self.seed,  # vectors are made from the request and the seed
            len(self.vectors),
            self.pacing.chunk,  # the rest of the pacing and a fault change when bytes go out, not which
            self.fault.action if self.fault is not None else None,
            self.delay_ms,
            self.cost,
            self.guards,
            self.recorded_text,
            self.recorded_reasoning,
        )

    @property
    def text_chunks(self) -> tuple[str, ...]:
        """The text cut into stream chunks: as recorded, else by the reply's pacing."""
        if self.recorded_text is not None:
            return self.recorded_text[0]
        return chunk_text(self.text, self.pacing.chunk)

    @property
    def reasoning_chunks(self) -> tuple[str, ...]:
        if self.recorded_reasoning is not None:
            return self.recorded_reasoning[0]
        return chunk_text(self.reasoning, self.pacing.chunk)

    def timed_text(self) -> Iterator[tuple[str, float | None]]:
        """The text chunks, each with its recorded offset (None when not recorded)."""
        if self.recorded_text is not None:
            return _timed(*self.recorded_text)
        return _timed(self.text_chunks, ())

    def timed_reasoning(self) -> Iterator[tuple[str, float | None]]:
        if self.recorded_reasoning is not None:
            return _timed(*self.recorded_reasoning)
        return _timed(self.reasoning_chunks, ())

    def call_id(self, index: int, prefix: str) -> str:
        call = self.tool_calls[index]
        return call.id if call.id else self.ident(prefix, index)

    @property
    def kind(self) -> str:
        if self.vectors:
            return "embedding"
        if self.tool_calls:
            return "tool_calls"
        return "json" if self.structured else "text"


_ANSWER_FIELDS = operator.attrgetter(*(f.name for f in fields(Answer)))  # in the order `Answer()` takes them


@dataclass(slots=True)
class Attempt:
    """One model tried on the chain, as the journal records it."""

    model: str
    outcome: str  # reply | error | fault | chaos | unmatched
    status: int
    rule: str | None = None
    detail: str | None = None


@dataclass(slots=True)
class Decision:
    """What the engine decided for one request."""

    model: str
    attempts: list[Attempt]
    answer: Answer | None = None
    failure: Failure | None = None
    rule: str | None = None
    near_misses: list[NearMiss] | None = None

    @property
    def unmatched(self) -> bool:
        return self.near_misses is not None

    @property
    def reply_kind(self) -> str:
        if self.answer is not None:
            return "fault" if self.answer.fault else self.answer.kind
        return "unmatched" if self.unmatched else "error"


def _timed(chunks: Sequence[str], at_ms: Sequence[float]) -> Iterator[tuple[str, float | None]]:
    for i, chunk in enumerate(chunks):
        yield chunk, (at_ms[i] if i < len(at_ms) else None)
