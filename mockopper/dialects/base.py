"""What every dialect implements, and the helpers they share for reading request bodies.

A `Surface` is one API surface of one vendor (OpenAI Chat Completions, Anthropic
Messages, ...): it parses its requests into a `Conversation`, renders and streams an
`Answer` in its wire format, and shapes errors the way its vendor does.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

from mockopper.answers import Answer, Failure
from mockopper.conversation import Conversation, Extras
from mockopper.exchange import Exchange, Recorded, RecordedError, Unreadable
from mockopper.fleet import ModelInfo
from mockopper.history import History
from mockopper.sse import Event

if TYPE_CHECKING:
    from mockopper.sessions import Session

__all__ = [
    "Call",
    "ModelInfo",
    "RequestError",
    "Surface",
    "expect",
    "invalid_type",
    "kind_of",
    "not_found_body",
    "optional",
    "parse_extras",
    "retry_headers",
    "with_cost",
]


class RequestError(Exception):
    """A request the surface refuses; the pipeline renders it in the surface's error shape."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        type: str | None = None,
        unknown_reference: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.type = type
        # The request continues something this server never answered (a previous response,
        # interaction or thread): an upstream that answered it may know it.
        self.unknown_reference = unknown_reference

    def failure(self) -> Failure:
        return Failure(
            status=self.status,
            message=self.message,
            param=self.param,
            code=self.code,
            type=self.type,
            should_retry=False,
            source="request",
        )


@dataclass(slots=True)
class Call:
    """The HTTP facts of a request, beyond its body, and the session that serves it.

    `connection` is the connection's own memory when the request is a turn on a WebSocket
    (None over plain HTTP): what a later turn on the same connection may continue from.
    """

    method: str
    path: str
    path_params: Mapping[str, str]
    query: Mapping[str, str]
    headers: Mapping[str, str]
    session: Session
    connection: History | None = None

    @property
    def history(self) -> History:
        """The session's memory of earlier answers (what `previous_response_id` resolves to)."""
        return self.session.history

    @property
    def websocket(self) -> bool:
        return self.connection is not None


@dataclass(frozen=True, slots=True)
class Route:
    path: str  # under the compat base, e.g. "/chat/completions"
    methods: tuple[str, ...] = ("POST",)
    params: Mapping[str, str] = field(default_factory=dict)  # fixed values handed to parse


class Surface:
    """One API surface. Subclasses set the class attributes and override what they answer."""

    api: ClassVar[str]  # the `match.api` name and the journal's surface
    # generate: through the rules; list: a models list; direct: answered from the body alone (`respond`)
    kind: ClassVar[str] = "generate"
    routes: ClassVar[tuple[Route, ...]] = ()
    websocket_routes: ClassVar[tuple[Route, ...]] = ()  # WebSocket paths; each message is one turn
    request_id_headers: ClassVar[tuple[str, ...]] = ("x-request-id",)  # where every response carries its id

    # --- requests ---------------------------------------------------------------------

    def claims(self, call: Call) -> bool:
        """When several surfaces share a path: does this one answer this request?"""
        return False

    def parse(self, body: Any, call: Call) -> Conversation:
        raise NotImplementedError

    def websocket_body(self, message: Any, call: Call) -> Any:
        """The request body carried by one WebSocket message (raise RequestError to refuse it)."""
        return message

    # --- answers ----------------------------------------------------------------------

    def render(self, conv: Conversation, answer: Answer) -> Any:
        raise NotImplementedError

    def events(self, conv: Conversation, answer: Answer) -> Iterable[Event]:
        raise NotImplementedError

    def remember(self, conv: Conversation, answer: Answer, call: Call) -> None:
        """Keep what a later request may continue from (previous_response_id and the like)."""

    def list_models(self, models: Sequence[ModelInfo], call: Call) -> Any:
        raise NotImplementedError

    def respond(self, body: Any, call: Call, *, created: int, seed: int) -> Any:
        """For kind "direct": the JSON answer, computed from the request alone (no rules)."""
        raise NotImplementedError

    # --- reading an upstream's answer back (record and replay) ------------------------

    def read_reply(self, conv: Conversation, exchange: Exchange) -> Recorded:
        """What a real service answered this request with, as a neutral reply (raises Unreadable)."""
        if exchange.status >= 400:
            return Recorded(error=self.read_error(exchange), dropped=exchange.dropped)
        if exchange.events is not None:
            return self.read_stream(conv, exchange)
        return self.read_body(conv, exchange.json())

    def read_body(self, conv: Conversation, body: Any) -> Recorded:
        raise Unreadable(f"{self.api} answers are not recorded")

    def read_stream(self, conv: Conversation, exchange: Exchange) -> Recorded:
        raise Unreadable(f"{self.api} streams are not recorded")

    def read_error(self, exchange: Exchange) -> RecordedError:
        raise Unreadable(f"{self.api} errors are not recorded")

    # --- errors -----------------------------------------------------------------------

    def error_body(self, failure: Failure) -> Any:
        raise NotImplementedError

    def error_headers(self, failure: Failure) -> list[tuple[str, str]]:
        return retry_headers(failure)

    def error_events(self, conv: Conversation, answer: Answer | None, failure: Failure) -> Iterable[Event]:
        """The in-stream form of an error, sent when a stream fails after it started."""
        return [Event(self.error_body(failure))]

    def websocket_error_events(self, failure: Failure) -> Iterable[Event]:
        """What a WebSocket turn that fails before it starts sends instead of an HTTP error."""
        return [Event(self.error_body(failure))]


def not_found_body(message: str) -> dict[str, Any]:
    """A 404 for a path that belongs to no surface, in the one shape every vendor's SDK reads
    (OpenAI's and Anthropic's `error.type` and `message`, Google's `code` and `status`)."""
    return {
        "type": "error",
        "error": {"type": "not_found_error", "code": 404, "message": message, "status": "NOT_FOUND", "param": None},
    }


def with_cost(usage: dict[str, Any], answer: Answer) -> dict[str, Any]:
    """A stream's final usage with Opper's `cost` (USD) in it, where the answer has one."""
    return usage if answer.cost is None else {**usage, "cost": answer.cost}


def retry_headers(failure: Failure) -> list[tuple[str, str]]:
    """`retry-after`, `retry-after-ms` and `x-should-retry`, shared by every vendor."""
    headers: list[tuple[str, str]] = []
    if failure.retry_after is not None:
        headers.append(("retry-after", str(math.ceil(failure.retry_after))))
        headers.append(("retry-after-ms", str(round(failure.retry_after * 1000))))
    if failure.should_retry is not None:
        headers.append(("x-should-retry", "true" if failure.should_retry else "false"))
    headers.extend(failure.headers.items())
    return headers


# --- reading bodies ----------------------------------------------------------------------

_KINDS = {
    str: "a string",
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    list: "an array",
    dict: "an object",
    type(None): "null",
}


def kind_of(value: Any) -> str:
    """How the vendors' messages name a JSON value's type: 'a string', 'an array', ..."""
    if isinstance(value, bool):
        return "a boolean"
    for typ, name in _KINDS.items():
        if isinstance(value, typ):
            return name
    return type(value).__name__


def invalid_type(name: str, wanted: str, value: Any) -> RequestError:
    """A 400 for a value of the wrong JSON type, as the OpenAI APIs word it (`expect` and `optional` raise it)."""
    return RequestError(
        400,
        f"Invalid type for '{name}': expected {wanted}, but got {kind_of(value)} instead.",
        param=name,
        code="invalid_type",
    )


def _is(value: Any, types: tuple[type, ...]) -> bool:
    if type(value) in types:  # parsed JSON holds exact types: the common case
        return True
    if isinstance(value, bool) and bool not in types:
        return False
    if float in types and isinstance(value, int) and not isinstance(value, bool):
        return True
    return isinstance(value, types)


def expect(body: Mapping[str, Any], key: str, *types: type, where: str = "") -> Any:
    """A required field of the given JSON types, or a 400 naming it."""
    name = f"{where}{key}"
    if key not in body or body[key] is None:
        raise RequestError(400, f"Missing required parameter: '{name}'.", param=name, code="missing_required_parameter")
    value = body[key]
    if not _is(value, types):
        wanted = " or ".join(_KINDS.get(t, t.__name__) for t in types)
        raise invalid_type(name, wanted, value)
    return value


def optional(body: Mapping[str, Any], key: str, *types: type, where: str = "", default: Any = None) -> Any:
    """An optional field of the given JSON types (null counts as absent), or a 400 naming it."""
    value = body.get(key)
    if value is None:
        return default
    if not _is(value, types):
        name = f"{where}{key}"
        wanted = " or ".join(_KINDS.get(t, t.__name__) for t in types)
        raise invalid_type(name, wanted, value)
    return value


def body_object(body: Any) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise RequestError(400, f"The request body must be a JSON object, got {kind_of(body)}.", code="invalid_body")
    return body


def parse_extras(body: Mapping[str, Any]) -> Extras:
    """Opper's top-level extras, validated: a wrong type is a 400 naming the field."""
    if not any(key in body for key in _EXTRAS):
        return _NO_EXTRAS
    fallbacks = optional(body, "fallback_models", list, default=[])
    for i, item in enumerate(fallbacks):
        if not isinstance(item, str) or not item:
            raise invalid_type(f"fallback_models[{i}]", "a model id string", item)
    tags = optional(body, "tags", dict, default={})
    span = optional(body, "span_uuid", str)
    evaluate = optional(body, "evaluate", bool)
    return Extras(fallback_models=tuple(fallbacks), tags=tags, span_uuid=span, evaluate=evaluate)


_EXTRAS = ("fallback_models", "tags", "span_uuid", "evaluate")
_NO_EXTRAS = Extras(tags=MappingProxyType({}))


def schema_of(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
