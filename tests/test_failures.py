"""Bad days on every surface, through the real SDKs: fallback chains, retries, faults, chaos, pacing.

Each test here runs against every surface it applies to (Chat Completions, Responses,
OpenResponses, Embeddings, Anthropic Messages, Interactions, Gemini), driven by that
vendor's own SDK through a small adapter (`Surface`) that asks the same question in
each dialect and reads the answer back in neutral terms. What differs between SDKs
(which exception a dropped stream raises, whether an in-stream error is raised or
yielded, which statuses are retried) is spelt out per adapter, as measured against the
real services. Scripted `retry_after` values are milliseconds, so no test sleeps
through a real backoff.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import statistics
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import anthropic
import httpx2
import openai
import pytest
from google import genai
from google.genai import _interactions_errors as ierrors
from google.genai import errors as gerrors
from google.genai import types
from pydantic import BaseModel

from mockopper.journal import RequestRecord
from mockopper.plugin import Mockopper
from mockopper.server import MockServer

TEXT = "one two three four five"
PIECES = ["one", " two", " three", " four", " five"]


@dataclass
class Reply:
    """What a client got back, in neutral terms."""

    text: str = ""
    model: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    finished: bool = False  # the stream's closing event arrived (always true for a JSON body)
    error: str | None = None  # an in-stream error the SDK yielded as an event instead of raising it


def extras(fallbacks: Sequence[str]) -> dict[str, Any] | None:
    return {"fallback_models": list(fallbacks)} if fallbacks else None


class Surface:
    """One API surface driven by its vendor's SDK, unchanged but for the base URL.

    `retries=None` keeps the SDK's own retry policy; a number sets it (0: no retries).
    """

    api: ClassVar[str]
    sdk: Any
    streams: ClassVar[bool] = True
    # What the SDK raises when a stream's connection drops, when a JSON body never
    # arrives, when the client times out, and on an in-stream error event (None: the
    # SDK yields the event instead of raising).
    dropped_stream: ClassVar[type[BaseException]]
    dropped_body: ClassVar[type[BaseException]]
    timed_out: ClassVar[type[BaseException]]
    stream_error: ClassVar[type[BaseException] | None]
    # The headers a 429 carries beyond the retry headers.
    rate_limit_headers: ClassVar[tuple[str, ...]] = ()

    def __init__(self, base_url: str, *, retries: int | None = 0, timeout: float | None = None) -> None:
        raise NotImplementedError

    def send(
        self,
        text: str,
        *,
        model: str = "acme/model",
        fallbacks: Sequence[str] = (),
        stream: bool = False,
        pieces: list[str] | None = None,
    ) -> Reply:
        raise NotImplementedError

    def error_class(self, status: int) -> type[BaseException]:
        raise NotImplementedError

    def close(self) -> None:
        self.sdk.close()

    def in_stream_error(self, status: int) -> type[BaseException] | None:
        """What the SDK raises on an in-stream error event with this status (None: it yields the event)."""
        return self.stream_error

    @staticmethod
    def status_of(error: BaseException) -> int:
        return int(error.status_code)  # type: ignore[attr-defined]

    @staticmethod
    def headers_of(error: BaseException) -> Mapping[str, str]:
        return error.response.headers  # type: ignore[attr-defined,no-any-return]


# --- OpenAI -----------------------------------------------------------------------------------


def openai_error(status: int) -> type[openai.APIStatusError]:
    classes: dict[int, type[openai.APIStatusError]] = {
        400: openai.BadRequestError,
        401: openai.AuthenticationError,
        403: openai.PermissionDeniedError,
        404: openai.NotFoundError,
        409: openai.ConflictError,
        422: openai.UnprocessableEntityError,
        429: openai.RateLimitError,
    }
    return classes.get(status, openai.InternalServerError if status >= 500 else openai.APIStatusError)


class OpenAISurface(Surface):
    path: ClassVar[str] = ""
    dropped_stream = openai.APIConnectionError
    dropped_body = openai.APIConnectionError
    timed_out = openai.APITimeoutError
    rate_limit_headers = (
        "x-ratelimit-limit-requests",
        "x-ratelimit-remaining-requests",
        "x-ratelimit-reset-requests",
        "x-ratelimit-limit-tokens",
        "x-ratelimit-remaining-tokens",
        "x-ratelimit-reset-tokens",
    )

    def __init__(self, base_url: str, *, retries: int | None = 0, timeout: float | None = None) -> None:
        self.sdk = openai.OpenAI(
            base_url=base_url + self.path,
            api_key="test-key",
            max_retries=2 if retries is None else retries,
            timeout=timeout or 10,
        )

    def error_class(self, status: int) -> type[BaseException]:
        return openai_error(status)


class Chat(OpenAISurface):
    api = "chat"
    stream_error = openai.APIError

    def send(
        self,
        text: str,
        *,
        model: str = "acme/model",
        fallbacks: Sequence[str] = (),
        stream: bool = False,
        pieces: list[str] | None = None,
    ) -> Reply:
        pieces = [] if pieces is None else pieces
        create = self.sdk.chat.completions.with_raw_response.create
        messages: Any = [{"role": "user", "content": text}]
        if not stream:
            raw = create(model=model, messages=messages, extra_body=extras(fallbacks))
            result = raw.parse()
            return Reply(result.choices[0].message.content or "", result.model, raw.headers, finished=True)
        raw = create(model=model, messages=messages, extra_body=extras(fallbacks), stream=True)
        reply = Reply(headers=raw.headers)
        for chunk in raw.parse():
            reply.model = chunk.model
            choice = chunk.choices[0] if chunk.choices else None
            if choice is not None and choice.delta.content:
                pieces.append(choice.delta.content)
            if choice is not None and choice.finish_reason:
                reply.finished = True
        reply.text = "".join(pieces)
        return reply


class Responses(OpenAISurface):
    api = "responses"
    # OpenAI's SDK yields the flat `error` event of a Responses stream; it raises only on
    # the specification's nested form (OpenResponses).
    stream_error = None

    def send(
        self,
        text: str,
        *,
        model: str = "acme/model",
        fallbacks: Sequence[str] = (),
        stream: bool = False,
        pieces: list[str] | None = None,
    ) -> Reply:
        pieces = [] if pieces is None else pieces
        create = self.sdk.responses.with_raw_response.create
        if not stream:
            raw = create(model=model, input=text, extra_body=extras(fallbacks))
            result = raw.parse()
            return Reply(result.output_text, result.model, raw.headers, finished=True)
        raw = create(model=model, input=text, extra_body=extras(fallbacks), stream=True)
        reply = Reply(headers=raw.headers)
        for event in raw.parse():
            if event.type == "response.created":
                reply.model = event.response.model
            elif event.type == "response.output_text.delta":
                pieces.append(event.delta)
            elif event.type == "response.completed":
                reply.finished = True
            elif event.type == "error":
                reply.error = event.message
        reply.text = "".join(pieces)
        return reply


class OpenResponses(Responses):
    api = "openresponses"
    path = "/openresponses"
    stream_error = openai.APIError


class Embeddings(OpenAISurface):
    api = "embeddings"
    streams = False
    stream_error = None

    def send(
        self,
        text: str,
        *,
        model: str = "acme/model",
        fallbacks: Sequence[str] = (),
        stream: bool = False,
        pieces: list[str] | None = None,
    ) -> Reply:
        assert not stream, "embeddings never stream"
        raw = self.sdk.embeddings.with_raw_response.create(model=model, input=text, extra_body=extras(fallbacks))
        result = raw.parse()
        return Reply(f"{len(result.data[0].embedding)} dimensions", result.model, raw.headers, finished=True)


# --- Anthropic --------------------------------------------------------------------------------


class Messages(Surface):
    api = "messages"
    # The Python SDK lets the transport error of a dropped stream through unwrapped,
    # as it does against the real API; a JSON body that never arrives is its own class.
    dropped_stream = httpx2.RemoteProtocolError
    dropped_body = anthropic.APIConnectionError
    timed_out = anthropic.APITimeoutError
    stream_error = anthropic.APIStatusError
    rate_limit_headers = tuple(
        f"anthropic-ratelimit-{kind}-{part}"
        for kind in ("requests", "tokens", "input-tokens", "output-tokens")
        for part in ("limit", "remaining", "reset")
    )

    def __init__(self, base_url: str, *, retries: int | None = 0, timeout: float | None = None) -> None:
        self.sdk = anthropic.Anthropic(
            base_url=base_url, api_key="test-key", max_retries=2 if retries is None else retries, timeout=timeout or 10
        )

    def send(
        self,
        text: str,
        *,
        model: str = "acme/model",
        fallbacks: Sequence[str] = (),
        stream: bool = False,
        pieces: list[str] | None = None,
    ) -> Reply:
        pieces = [] if pieces is None else pieces
        create = self.sdk.messages.with_raw_response.create
        messages: Any = [{"role": "user", "content": text}]
        if not stream:
            raw = create(model=model, max_tokens=256, messages=messages, extra_body=extras(fallbacks))
            message = raw.parse()
            answer = "".join(block.text for block in message.content if block.type == "text")
            return Reply(answer, message.model, raw.headers, finished=True)
        raw = create(model=model, max_tokens=256, messages=messages, extra_body=extras(fallbacks), stream=True)
        reply = Reply(headers=raw.headers)
        for event in raw.parse():
            if event.type == "message_start":
                reply.model = event.message.model
            elif event.type == "content_block_delta" and event.delta.type == "text_delta":
                pieces.append(event.delta.text)
            elif event.type == "message_stop":
                reply.finished = True
        reply.text = "".join(pieces)
        return reply

    def error_class(self, status: int) -> type[BaseException]:
        classes: dict[int, type[anthropic.APIStatusError]] = {
            400: anthropic.BadRequestError,
            401: anthropic.AuthenticationError,
            403: anthropic.PermissionDeniedError,
            404: anthropic.NotFoundError,
            408: anthropic.RequestTimeoutError,
            409: anthropic.ConflictError,
            413: anthropic.ContentTooLargeError,
            422: anthropic.UnprocessableEntityError,
            429: anthropic.RateLimitError,
            503: anthropic.ServiceUnavailableError,
            504: anthropic.GatewayTimeoutError,
            529: anthropic.OverloadedError,
        }
        return classes.get(status, anthropic.InternalServerError if status >= 500 else anthropic.APIStatusError)


# --- Google -----------------------------------------------------------------------------------


def google_options(base_url: str, retries: int | None, timeout: float | None) -> types.HttpOptions:
    retry = None
    if retries is not None:
        retry = types.HttpRetryOptions(attempts=retries + 1, initial_delay=0.01, max_delay=0.02)
    return types.HttpOptions(base_url=base_url, retry_options=retry, timeout=int((timeout or 10) * 1000))


class Gemini(Surface):
    api = "gemini"
    # google-genai's models client lets transport errors through unwrapped.
    dropped_stream = httpx2.RemoteProtocolError
    dropped_body = httpx2.RemoteProtocolError
    timed_out = httpx2.ReadTimeout
    stream_error = gerrors.ServerError

    def __init__(self, base_url: str, *, retries: int | None = 0, timeout: float | None = None) -> None:
        # The models client retries nothing unless it is given HttpRetryOptions.
        self.sdk = genai.Client(api_key="test-key", http_options=google_options(base_url, retries or None, timeout))

    def send(
        self,
        text: str,
        *,
        model: str = "acme/model",
        fallbacks: Sequence[str] = (),
        stream: bool = False,
        pieces: list[str] | None = None,
    ) -> Reply:
        pieces = [] if pieces is None else pieces
        extra = extras(fallbacks)
        config = types.GenerateContentConfig(http_options=types.HttpOptions(extra_body=extra)) if extra else None
        if not stream:
            result = self.sdk.models.generate_content(model=model, contents=text, config=config)
            headers = result.sdk_http_response.headers if result.sdk_http_response else None
            return Reply(result.text or "", result.model_version, headers or {}, finished=True)
        reply = Reply()
        for chunk in self.sdk.models.generate_content_stream(model=model, contents=text, config=config):
            reply.model = chunk.model_version
            if chunk.sdk_http_response and chunk.sdk_http_response.headers:
                reply.headers = chunk.sdk_http_response.headers
            if chunk.text:
                pieces.append(chunk.text)
            if chunk.candidates and chunk.candidates[0].finish_reason:
                reply.finished = True
        reply.text = "".join(pieces)
        return reply

    def error_class(self, status: int) -> type[BaseException]:
        return gerrors.ServerError if status >= 500 else gerrors.ClientError

    def in_stream_error(self, status: int) -> type[BaseException] | None:
        return self.error_class(status)  # the status inside the event picks the class

    @staticmethod
    def status_of(error: BaseException) -> int:
        assert isinstance(error, gerrors.APIError)
        return error.code


class Interactions(Surface):
    api = "interactions"
    dropped_stream = ierrors.APIConnectionError
    dropped_body = ierrors.APIConnectionError
    timed_out = ierrors.APITimeoutError
    # The Interactions client yields the `error` event of a stream.
    stream_error = None

    def __init__(self, base_url: str, *, retries: int | None = 0, timeout: float | None = None) -> None:
        self.sdk = genai.Client(api_key="test-key", http_options=google_options(base_url, retries, timeout))

    def send(
        self,
        text: str,
        *,
        model: str = "acme/model",
        fallbacks: Sequence[str] = (),
        stream: bool = False,
        pieces: list[str] | None = None,
    ) -> Reply:
        pieces = [] if pieces is None else pieces
        create = self.sdk.interactions.with_raw_response.create
        if not stream:
            raw = create(model=model, input=text, extra_body=extras(fallbacks))
            result = raw.parse()
            return Reply(result.output_text or "", result.model, raw.headers, finished=True)
        raw = create(model=model, input=text, extra_body=extras(fallbacks), stream=True)
        reply = Reply(headers=raw.headers)
        for event in raw.parse():
            if event.event_type == "interaction.created":
                reply.model = event.interaction.model
            elif event.event_type == "step.delta" and event.delta.type == "text":
                pieces.append(event.delta.text)
            elif event.event_type == "interaction.completed":
                reply.finished = True
            elif event.event_type == "error":
                reply.error = event.error.message
        reply.text = "".join(pieces)
        return reply

    def error_class(self, status: int) -> type[BaseException]:
        classes: dict[int, type[ierrors.APIStatusError]] = {
            400: ierrors.BadRequestError,
            401: ierrors.AuthenticationError,
            403: ierrors.PermissionDeniedError,
            404: ierrors.NotFoundError,
            409: ierrors.ConflictError,
            422: ierrors.UnprocessableEntityError,
            429: ierrors.RateLimitError,
        }
        return classes.get(status, ierrors.InternalServerError if status >= 500 else ierrors.APIStatusError)


SURFACES: list[type[Surface]] = [Chat, Responses, OpenResponses, Embeddings, Messages, Interactions, Gemini]
STREAMING = [s for s in SURFACES if s.streams]


def each(surfaces: Sequence[type[Surface]]) -> Any:
    return pytest.mark.parametrize("surface", surfaces, ids=[s.api for s in surfaces])


def each_mode(surfaces: Sequence[type[Surface]]) -> Any:
    """Every surface without a stream, and every streaming one with one."""
    cases = [pytest.param(s, False, id=s.api) for s in surfaces]
    cases += [pytest.param(s, True, id=f"{s.api}-stream") for s in surfaces if s.streams]
    return pytest.mark.parametrize(("surface", "stream"), cases)


@pytest.fixture(scope="module")
def clients() -> Iterator[dict[tuple[Any, ...], Surface]]:
    """Clients kept for the whole module: building one costs tens of milliseconds (TLS setup), using one none."""
    made: dict[tuple[Any, ...], Surface] = {}
    yield made
    for client in made.values():
        client.close()


@pytest.fixture
def connect(mockopper: Mockopper, clients: dict[tuple[Any, ...], Surface]) -> Callable[..., Surface]:
    """A `Surface` client for the session's server (or `base_url`), with the given retries and timeout."""

    def make(surface: type[Surface], base_url: str | None = None, **options: Any) -> Surface:
        url = base_url or mockopper.base_url
        key = (surface, url, *sorted(options.items()))
        if key not in clients:
            clients[key] = surface(url, **options)
        return clients[key]

    return make


def attempts(record: RequestRecord) -> list[tuple[str, str, int]]:
    return [(a["model"], a["outcome"], a["status"]) for a in record.attempts]


def closed(mockopper: Mockopper, count: int = 1, timeout: float = 2.0) -> list[RequestRecord]:
    """The journal once `count` requests have finished playing out (the server closes them after the client)."""
    deadline = time.monotonic() + timeout
    while True:
        records = mockopper.requests
        if len(records) >= count and all(r.outcome != "pending" for r in records):
            return records
        assert time.monotonic() < deadline, f"requests still pending: {[r.outcome for r in records]}"
        time.sleep(0.005)


# --- fallback chains (SPEC 4) -------------------------------------------------------------------

# Rules without `api` never answer embeddings (SPEC 2.4), so these name every surface.
ALL_APIS = ["chat", "responses", "openresponses", "embeddings", "messages", "interactions", "gemini"]
ANSWER = {"match": {"api": ALL_APIS}, "reply": {"text": "answered by {{ request.model }}"}}

FLEET = {
    "models": {
        "acme/dead": {"error": {"status": 503, "message": "acme/dead is down", "retry_after": 0.01}},
        "acme/busy": {"error": {"status": 429, "message": "acme/busy is out of quota", "retry_after": 0.01}},
        "acme/gone": {"error": {"status": 404, "message": "acme/gone does not exist"}},
        "acme/warming": {
            "fail_first": 2,
            "error": {"status": 503, "message": "acme/warming is starting", "retry_after": 0.01},
        },
        "acme/live": {},
        "acme/backup": {},
    },
    "rules": [
        {
            "match": {"api": ALL_APIS, "model": "acme/picky"},
            "reply": {"error": {"status": 400, "message": "{{ request.model }} refuses"}},
        },
        ANSWER,
    ],
}


@each_mode(SURFACES)
def test_a_fallback_chain_is_answered_by_the_second_model(
    mockopper: Mockopper,
    surface: type[Surface],
    stream: bool,
    connect: Callable[..., Surface],
) -> None:
    mockopper.load(FLEET)
    client = connect(surface, retries=None)  # the SDK's own retries: never needed, the chain rescues
    reply = client.send("hi", model="acme/dead", fallbacks=["acme/live", "acme/backup"], stream=stream)
    assert reply.model == "acme/live"
    assert reply.finished
    if surface is not Embeddings:
        assert reply.text == "answered by acme/live"
    assert reply.headers["x-mockopper-model"] == "acme/live"
    assert reply.headers["x-mockopper-attempts"] == "acme/dead,acme/live"  # acme/backup was never needed
    [record] = mockopper.requests
    assert attempts(record) == [("acme/dead", "error", 503), ("acme/live", "reply", 200)]
    assert record.attempts[0]["detail"] == "models: error"
    assert (record.status, record.answered_by, record.chain) == (
        200,
        "acme/live",
        ["acme/dead", "acme/live", "acme/backup"],
    )


@each_mode(SURFACES)
def test_an_exhausted_chain_raises_the_sdk_exception_with_the_last_failure(
    mockopper: Mockopper,
    surface: type[Surface],
    stream: bool,
    connect: Callable[..., Surface],
) -> None:
    mockopper.load(FLEET)
    client = connect(surface)
    with pytest.raises(client.error_class(429)) as info:
        client.send("hi", model="acme/dead", fallbacks=["acme/busy"], stream=stream)
    error = info.value
    assert client.status_of(error) == 429
    assert "acme/busy is out of quota" in str(error) and "acme/dead" not in str(error)
    headers = client.headers_of(error)
    assert headers["x-mockopper-attempts"] == "acme/dead,acme/busy"
    assert headers["x-mockopper-model"] == "acme/busy"
    [record] = mockopper.requests
    assert attempts(record) == [("acme/dead", "error", 503), ("acme/busy", "error", 429)]
    assert (record.status, record.answered_by) == (429, None)


@each(SURFACES)
@pytest.mark.parametrize(
    ("model", "status", "message"),
    [("acme/gone", 404, "acme/gone does not exist"), ("acme/picky", 400, "acme/picky refuses")],
    ids=["models-404", "rule-400"],
)
def test_a_client_error_is_returned_at_once_without_moving_on(
    mockopper: Mockopper,
    surface: type[Surface],
    model: str,
    status: int,
    message: str,
    connect: Callable[..., Surface],
) -> None:
    mockopper.load(FLEET)
    client = connect(surface, retries=None)  # not retried by the SDK either
    with pytest.raises(client.error_class(status)) as info:
        client.send("hi", model=model, fallbacks=["acme/backup"])
    assert client.status_of(info.value) == status and message in str(info.value)
    assert client.headers_of(info.value)["x-mockopper-attempts"] == model
    [record] = mockopper.requests
    assert attempts(record) == [(model, "error", status)]


@each(SURFACES)
def test_fail_first_fails_a_models_first_calls_then_it_answers(
    mockopper: Mockopper, surface: type[Surface], connect: Callable[..., Surface]
) -> None:
    mockopper.load(FLEET)
    client = connect(surface)
    answered = [client.send("hi", model="acme/warming", fallbacks=["acme/live"]).model for _ in range(3)]
    assert answered == ["acme/live", "acme/live", "acme/warming"]
    details = [r.attempts[0]["detail"] for r in mockopper.requests]
    assert details == ["models: fail_first (1 of 2)", "models: fail_first (2 of 2)", None]


# --- the SDKs' own retry loops ------------------------------------------------------------------


def retry_counts(records: Sequence[RequestRecord]) -> list[str | None]:
    return [r.request_headers.get("x-stainless-retry-count") for r in records]


@each([Chat, Responses, OpenResponses, Messages])
def test_flaky_yaml_is_got_through_by_stainless_sdk_retries(
    mockopper: Mockopper, surface: type[Surface], connect: Callable[..., Surface]
) -> None:
    mockopper.load("flaky.yaml")
    client = connect(surface, retries=None)  # OpenAI's and Anthropic's default: 2 retries
    for _ in range(2):  # the cycle starts over: every call needs all three attempts
        assert client.send("hello").text
    records = mockopper.requests
    assert [r.status for r in records] == [429, 529, 200] * 2
    assert [r.response_headers.get("retry-after-ms") for r in records] == ["50", "50", None] * 2  # no long backoff
    assert retry_counts(records) == ["0", "1", "2"] * 2  # one SDK call, three attempts
    assert {r.rule for r in records} == {"flaky provider"}


def test_flaky_yaml_embeddings_are_got_through_by_the_openai_sdk(
    mockopper: Mockopper, connect: Callable[..., Surface]
) -> None:
    mockopper.load("flaky.yaml")
    client = connect(Embeddings, retries=None)
    assert client.send("hello").text == "1536 dimensions"
    assert client.send("hello again").text == "1536 dimensions"
    records = mockopper.requests
    assert [r.status for r in records] == [429, 200] * 2
    assert retry_counts(records) == ["0", "1"] * 2
    assert {r.rule for r in records} == {"flaky embeddings"}


def test_flaky_yaml_is_got_through_by_the_interactions_client_retries(
    mockopper: Mockopper, connect: Callable[..., Surface]
) -> None:
    mockopper.load("flaky.yaml")
    client = connect(Interactions, retries=None)  # its default: 4 retries, 529 included
    assert client.send("hello").text
    assert [r.status for r in mockopper.requests] == [429, 529, 200]


def test_flaky_yaml_with_gemini_models_fails_as_google_genai_does(
    mockopper: Mockopper, connect: Callable[..., Surface]
) -> None:
    mockopper.load("flaky.yaml")
    plain = connect(Gemini)  # google-genai's models client retries nothing by default
    with pytest.raises(gerrors.ClientError) as info:
        plain.send("hello")
    assert info.value.code == 429 and info.value.status == "RESOURCE_EXHAUSTED"
    assert len(mockopper.requests) == 1

    mockopper.reset()
    retrying = connect(Gemini, retries=2)  # HttpRetryOptions: 408, 429, 500, 502, 503, 504 only
    with pytest.raises(gerrors.ServerError) as server_error:
        retrying.send("hello")
    assert server_error.value.code == 529  # the 429 was retried, the 529 is not on its list
    assert retrying.send("hello").text  # the next call is the cycle's answer
    assert [r.status for r in mockopper.requests] == [429, 529, 200]


SHOULD_RETRY = """
rules:
  - match: {message: stop}
    reply: {error: {status: 500, message: do not retry this, should_retry: false, retry_after: 0.01}}
  - match: {message: again}
    reply: {error: {status: 400, message: retry this one, should_retry: true, retry_after: 0.01}}
"""


@pytest.mark.parametrize(
    ("surface", "text", "requests"),
    [
        (Chat, "stop", 1),
        (Chat, "again", 3),  # Stainless SDKs retry even a 400 when told to
        (Messages, "stop", 1),
        (Messages, "again", 3),
        (Interactions, "stop", 5),  # the Interactions client ignores x-should-retry
        (Interactions, "again", 1),
    ],
    ids=lambda v: v.api if isinstance(v, type) else str(v),
)
def test_x_should_retry_steers_the_sdks_that_read_it(
    mockopper: Mockopper,
    surface: type[Surface],
    text: str,
    requests: int,
    connect: Callable[..., Surface],
) -> None:
    mockopper.load(SHOULD_RETRY)
    client = connect(surface, retries=None)
    with pytest.raises(client.error_class(500 if text == "stop" else 400)) as info:
        client.send(text)
    assert client.headers_of(info.value)["x-should-retry"] == ("false" if text == "stop" else "true")
    assert len(mockopper.requests) == requests


@each(SURFACES)
@pytest.mark.parametrize(
    ("retry_after", "seconds", "milliseconds"),
    [(0.01, "1", "10"), (0.25, "1", "250"), (1.5, "2", "1500"), (2, "2", "2000"), (0.0014, "1", "1")],
)
def test_retry_after_headers_round_seconds_up_and_keep_exact_milliseconds(
    mockopper: Mockopper,
    surface: type[Surface],
    retry_after: float,
    seconds: str,
    milliseconds: str,
    connect: Callable[..., Surface],
) -> None:
    mockopper.load(
        {"rules": [{"match": {"api": surface.api}, "reply": {"error": {"status": 503, "retry_after": retry_after}}}]}
    )
    client = connect(surface)
    with pytest.raises(client.error_class(503)) as info:
        client.send("hi")
    headers = client.headers_of(info.value)
    assert (headers["retry-after"], headers["retry-after-ms"]) == (seconds, milliseconds)


@each(SURFACES)
def test_a_429_carries_the_vendors_rate_limit_headers(
    mockopper: Mockopper, surface: type[Surface], connect: Callable[..., Surface]
) -> None:
    mockopper.load(FLEET)
    client = connect(surface)
    with pytest.raises(client.error_class(429)) as info:
        client.send("hi", model="acme/busy")
    headers = client.headers_of(info.value)
    for name in surface.rate_limit_headers:
        assert name in headers, name
    for name in [n for n in headers if "ratelimit" in n]:
        assert name in surface.rate_limit_headers, f"{name} is not a {surface.api} header"
    if surface.rate_limit_headers:
        remaining = [headers[n] for n in surface.rate_limit_headers if "-remaining" in n]
        assert remaining and set(remaining) == {"0"}
    with pytest.raises(client.error_class(503)) as other:
        client.send("hi", model="acme/dead")
    assert not [n for n in client.headers_of(other.value) if "ratelimit" in n]  # only a 429 says why


@each([Interactions, Gemini])
def test_a_google_429_says_when_to_retry_in_its_body(
    mockopper: Mockopper, surface: type[Surface], connect: Callable[..., Surface]
) -> None:
    mockopper.load(FLEET)
    client = connect(surface)
    with pytest.raises(client.error_class(429)) as info:
        client.send("hi", model="acme/busy")
    error = info.value.response.json()["error"]  # type: ignore[attr-defined]
    assert (error["code"], error["status"]) == (429, "RESOURCE_EXHAUSTED")
    assert {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0.01s"} in error["details"]


# --- faults (SPEC 2.2) and where a stream may still fall back (SPEC 4) --------------------------


def fault_rule(model: str, **reply: Any) -> dict[str, Any]:
    return {"match": {"api": ALL_APIS, "model": model}, "reply": {"text": TEXT, **reply}}


FAULTS = {
    "rules": [
        fault_rule("acme/drop", fault={"disconnect_after": 2}),
        fault_rule("acme/cut", fault={"truncate_after": 2}),
        fault_rule("acme/boom", fault={"error_after": 2, "error": {"status": 529, "message": "Overloaded now"}}),
        fault_rule("acme/drop0", fault={"disconnect_after": 0}),
        fault_rule("acme/cut0", fault={"truncate_after": 0}),
        fault_rule("acme/boom0", fault={"error_after": 0}),
        fault_rule("acme/refuse", fault={"error_after": 0, "error": {"status": 400, "message": "refused mid-way"}}),
        fault_rule("acme/hang", fault={"hang": True}),
        fault_rule("acme/late", delay_ms=40),
        {
            "match": {"api": ALL_APIS, "model": "acme/late-error"},
            "reply": {"error": {"status": 400, "message": "late refusal"}, "delay_ms": 40},
        },
        ANSWER,
    ]
}
FAULT_ACTIONS = {"drop": "disconnect_after", "cut": "truncate_after", "boom": "error_after"}


@each(STREAMING)
@pytest.mark.parametrize("fault", ["drop0", "cut0", "boom0"])
def test_a_stream_that_faults_before_its_first_chunk_falls_back(
    mockopper: Mockopper,
    surface: type[Surface],
    fault: str,
    connect: Callable[..., Surface],
) -> None:
    mockopper.load(FAULTS)
    client = connect(surface, retries=None)
    reply = client.send("hi", model=f"acme/{fault}", fallbacks=["acme/live"], stream=True)
    assert (reply.text, reply.model, reply.finished, reply.error) == ("answered by acme/live", "acme/live", True, None)
    [record] = mockopper.requests
    assert attempts(record) == [(f"acme/{fault}", "fault", 200), ("acme/live", "reply", 200)]
    assert record.attempts[0]["detail"] == FAULT_ACTIONS[fault[:-1]]
    assert record.outcome == "complete"


@each(STREAMING)
def test_a_stream_dropped_after_content_raises_the_sdks_connection_error(
    mockopper: Mockopper,
    surface: type[Surface],
    connect: Callable[..., Surface],
) -> None:
    mockopper.load(FAULTS)
    client = connect(surface, retries=None)  # a stream cut is never retried, nor does it fall back
    pieces: list[str] = []
    with pytest.raises(surface.dropped_stream):
        client.send("hi", model="acme/drop", fallbacks=["acme/live"], stream=True, pieces=pieces)
    assert pieces == PIECES[:2]
    [record] = closed(mockopper)
    assert attempts(record) == [("acme/drop", "fault", 200)]
    assert record.outcome == "disconnect"


@each(STREAMING)
def test_a_truncated_stream_ends_quietly_without_its_final_event(
    mockopper: Mockopper, surface: type[Surface], connect: Callable[..., Surface]
) -> None:
    mockopper.load(FAULTS)
    client = connect(surface, retries=None)
    reply = client.send("hi", model="acme/cut", fallbacks=["acme/live"], stream=True)
    assert (reply.text, reply.model, reply.finished, reply.error) == ("one two", "acme/cut", False, None)
    [record] = closed(mockopper)
    assert attempts(record) == [("acme/cut", "fault", 200)]
    assert record.outcome == "truncate"


@each(STREAMING)
def test_an_in_stream_error_is_raised_or_yielded_as_the_sdk_does(
    mockopper: Mockopper, surface: type[Surface], connect: Callable[..., Surface]
) -> None:
    mockopper.load(FAULTS)
    client = connect(surface, retries=None)
    pieces: list[str] = []
    raised = client.in_stream_error(529)
    if raised is not None:
        with pytest.raises(raised, match="Overloaded now"):
            client.send("hi", model="acme/boom", fallbacks=["acme/live"], stream=True, pieces=pieces)
    else:
        reply = client.send("hi", model="acme/boom", fallbacks=["acme/live"], stream=True, pieces=pieces)
        assert (reply.error, reply.finished) == ("Overloaded now", False)
    assert pieces == PIECES[:2]
    [record] = closed(mockopper)
    assert attempts(record) == [("acme/boom", "fault", 200)]
    assert record.outcome == "error"


@each(SURFACES)
@pytest.mark.parametrize("fault", ["drop", "cut", "boom"])
def test_a_fault_on_a_json_answer_falls_back(
    mockopper: Mockopper, surface: type[Surface], fault: str, connect: Callable[..., Surface]
) -> None:
    mockopper.load(FAULTS)
    client = connect(surface)
    reply = client.send("hi", model=f"acme/{fault}", fallbacks=["acme/live"])
    assert reply.model == "acme/live"
    [record] = mockopper.requests
    assert attempts(record) == [(f"acme/{fault}", "fault", 200), ("acme/live", "reply", 200)]


@each_mode(SURFACES)
def test_a_fault_whose_error_is_not_retryable_does_not_fall_back(
    mockopper: Mockopper, surface: type[Surface], stream: bool, connect: Callable[..., Surface]
) -> None:
    mockopper.load(FAULTS)
    client = connect(surface, retries=None)
    if stream:  # the stream starts, then fails with the scripted error in its own form
        pieces: list[str] = []
        raised = client.in_stream_error(400)
        if raised is not None:
            with pytest.raises(raised, match="refused mid-way"):
                client.send("hi", model="acme/refuse", fallbacks=["acme/live"], stream=True, pieces=pieces)
        else:
            reply = client.send("hi", model="acme/refuse", fallbacks=["acme/live"], stream=True, pieces=pieces)
            assert reply.error == "refused mid-way"
        assert pieces == []
    else:
        with pytest.raises(client.error_class(400), match="refused mid-way"):
            client.send("hi", model="acme/refuse", fallbacks=["acme/live"])
    [record] = closed(mockopper)
    assert attempts(record) == [("acme/refuse", "fault", 200)]


@each(SURFACES)
@pytest.mark.parametrize("fault", ["drop", "cut"])
def test_a_json_answer_that_never_arrives_raises_the_sdks_connection_error(
    mockopper: Mockopper,
    surface: type[Surface],
    fault: str,
    connect: Callable[..., Surface],
) -> None:
    mockopper.load(FAULTS)
    client = connect(surface)
    with pytest.raises(surface.dropped_body):
        client.send("hi", model=f"acme/{fault}")
    [record] = closed(mockopper)
    assert record.outcome == "disconnect"


@each(SURFACES)
def test_error_after_on_a_json_answer_is_the_scripted_error(
    mockopper: Mockopper, surface: type[Surface], connect: Callable[..., Surface]
) -> None:
    mockopper.load(FAULTS)
    client = connect(surface)
    with pytest.raises(client.error_class(529), match="Overloaded now") as info:
        client.send("hi", model="acme/boom")
    assert client.status_of(info.value) == 529


@each_mode(SURFACES)
def test_hang_never_answers_and_the_client_times_out(
    mockopper: Mockopper, surface: type[Surface], stream: bool, connect: Callable[..., Surface]
) -> None:
    mockopper.load(FAULTS)
    client = connect(surface, timeout=0.05)
    started = time.monotonic()
    with pytest.raises(surface.timed_out):
        client.send("hi", model="acme/hang", stream=stream)
    assert time.monotonic() - started >= 0.05
    [record] = closed(mockopper)
    assert record.outcome == "hang"


@each_mode(SURFACES)
def test_delay_ms_holds_the_answer_back(
    mockopper: Mockopper, surface: type[Surface], stream: bool, connect: Callable[..., Surface]
) -> None:
    mockopper.load(FAULTS)
    client = connect(surface)
    started = time.monotonic()
    reply = client.send("hi", model="acme/late", stream=stream)
    assert time.monotonic() - started >= 0.04
    assert reply.finished and (surface is Embeddings or reply.text == TEXT)
    started = time.monotonic()
    with pytest.raises(client.error_class(400), match="late refusal"):
        client.send("hi", model="acme/late-error", stream=stream)
    assert time.monotonic() - started >= 0.04


# --- chaos (SPEC 3) -----------------------------------------------------------------------------

CHAOS = {"seed": 7, "chaos": {"rate": 0.4, "statuses": [429, 500, 503], "retry_after": 0.01}, "rules": [ANSWER]}


def chaos_run(
    server_factory: Callable[..., MockServer], connect: Callable[..., Surface], *, noise: bool
) -> list[object]:
    """Twelve questions on one fresh server; with `noise`, unrelated traffic in between."""
    server = server_factory(CHAOS)
    chat = connect(Chat, server.base_url)
    others = [connect(kind, server.base_url) for kind in (Messages, Responses, Gemini)]
    outcomes: list[object] = []
    for i in range(12):
        if noise:
            # Other questions, other models, and the same question on other surfaces.
            for client, text, model in [
                (chat, f"something else {i}", "acme/model"),
                (chat, f"question {i}", "acme/other"),
                *((other, f"question {i}", "acme/model") for other in others),
            ]:
                try:
                    client.send(text, model=model)
                except Exception as exc:  # a chaos failure, in whatever class that SDK raises
                    assert "(chaos)" in str(exc)
        try:
            chat.send(f"question {i}")
            outcomes.append("answer")
        except openai.APIStatusError as exc:
            assert exc.message.endswith("(chaos)")
            outcomes.append(exc.status_code)
    questions = [
        r for r in server.requests if r.api == "chat" and r.model == "acme/model" and "question" in str(r.request_body)
    ]
    assert [a["outcome"] for r in questions for a in r.attempts] == [
        "reply" if o == "answer" else "chaos" for o in outcomes
    ]
    return outcomes


def test_chaos_gives_the_same_failures_in_two_fresh_runs_whatever_else_is_sent(
    server_factory: Callable[..., MockServer], connect: Callable[..., Surface]
) -> None:
    first = chaos_run(server_factory, connect, noise=False)
    assert "answer" in first and len(set(first) - {"answer"}) >= 2  # a mix of answers and several statuses
    assert chaos_run(server_factory, connect, noise=False) == first
    assert chaos_run(server_factory, connect, noise=True) == first


def test_an_sdk_retry_draws_chaos_again(mockopper: Mockopper, connect: Callable[..., Surface]) -> None:
    mockopper.load(CHAOS)
    client = connect(Chat, retries=2)
    outcomes = []
    for i in range(8):
        try:
            client.send(f"question {i}")
            outcomes.append("answer")
        except openai.APIStatusError:
            outcomes.append("failed")
    records = mockopper.requests
    assert len(records) > 8  # some calls were retried...
    rescued = [
        [r.attempts[0]["outcome"] for r in records if r.request_body["messages"][0]["content"] == f"question {i}"]
        for i in range(8)
    ]
    assert ["chaos", "reply"] in rescued or ["chaos", "chaos", "reply"] in rescued  # ...and a retry got through
    draws = [r.attempts[0]["detail"] for r in records if r.attempts[0]["outcome"] == "chaos"]
    assert len(set(draws)) == len(draws)  # every attempt drew afresh
    assert all(d.startswith("chaos draw ") and d.endswith(" < 0.4") for d in draws)


@each_mode(SURFACES)
def test_chaos_fails_every_surface_in_its_own_error_shape(
    mockopper: Mockopper,
    surface: type[Surface],
    stream: bool,
    connect: Callable[..., Surface],
) -> None:
    mockopper.load({**CHAOS, "chaos": {"rate": 1, "statuses": [503], "retry_after": 0.01}})
    client = connect(surface)
    with pytest.raises(client.error_class(503), match=r"\(chaos\)") as info:
        client.send("hi", model="acme/model", fallbacks=["acme/backup"], stream=stream)
    assert client.headers_of(info.value)["x-mockopper-attempts"] == "acme/model,acme/backup"
    assert client.headers_of(info.value)["retry-after-ms"] == "10"
    [record] = mockopper.requests
    assert attempts(record) == [("acme/model", "chaos", 503), ("acme/backup", "chaos", 503)]


# --- the bundled scenarios, through the SDKs ----------------------------------------------------


@each([Chat, Messages, Interactions, Gemini])
def test_fallback_yaml_a_dead_primary_is_rescued_by_its_fallback(
    mockopper: Mockopper, surface: type[Surface], connect: Callable[..., Surface]
) -> None:
    mockopper.load("fallback.yaml")
    client = connect(surface, retries=None)
    reply = client.send("hi", model="openai/gpt-5.5", fallbacks=["anthropic/claude-sonnet-4-6"])
    assert reply.text == "Answered by anthropic/claude-sonnet-4-6 (you asked for openai/gpt-5.5)."
    assert reply.model == reply.headers["x-mockopper-model"] == "anthropic/claude-sonnet-4-6"
    assert reply.headers["x-mockopper-attempts"] == "openai/gpt-5.5,anthropic/claude-sonnet-4-6"
    assert len(mockopper.requests) == 1


@each([Chat, Messages, Interactions, Gemini])
def test_fallback_yaml_an_exhausted_chain_returns_the_last_failure(
    mockopper: Mockopper,
    surface: type[Surface],
    connect: Callable[..., Surface],
) -> None:
    mockopper.load("fallback.yaml")
    client = connect(surface, retries=None)  # each SDK retry walks the whole chain again
    with pytest.raises(client.error_class(429), match="Rate limit reached for mistral/mistral-large-latest") as info:
        client.send("hi", model="gemini/gemini-2.5-pro", fallbacks=["mistral/mistral-large-latest"])
    headers = client.headers_of(info.value)
    assert headers["x-mockopper-attempts"] == "gemini/gemini-2.5-pro,mistral/mistral-large-latest"
    assert headers["retry-after-ms"] == "50"  # SDKs that retry wait 50 ms, not their backoff of seconds
    tries = {Chat: 3, Messages: 3, Interactions: 5, Gemini: 1}[surface]
    assert [attempts(r) for r in mockopper.requests] == [
        [("gemini/gemini-2.5-pro", "error", 500), ("mistral/mistral-large-latest", "error", 429)]
    ] * tries


@each([Chat, Messages, Interactions])
def test_fallback_yaml_a_model_that_fails_its_first_call_is_got_through_by_a_retry(
    mockopper: Mockopper,
    surface: type[Surface],
    connect: Callable[..., Surface],
) -> None:
    mockopper.load("fallback.yaml")
    client = connect(surface, retries=None)
    assert client.send("hi", model="openai/gpt-5.5-mini").text == (
        "Answered by openai/gpt-5.5-mini (you asked for openai/gpt-5.5-mini)."
    )
    failed, answered = mockopper.requests
    assert (failed.status, answered.status) == (503, 200)
    assert failed.response_headers["retry-after-ms"] == "50"  # the retry waits 50 ms, not the SDK's backoff


TRIP_TOOLS = {
    "get_weather": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
        "required": ["city"],
    },
    "convert_currency": {
        "type": "object",
        "properties": {"amount": {"type": "number"}, "from": {"type": "string"}, "to": {"type": "string"}},
        "required": ["amount", "from", "to"],
    },
}
TOOL_RESULTS = {"get_weather": "sunny, 24C", "convert_currency": "540 USD"}
PLAN = "Here is your plan. The latest tool result was: 540 USD. Pack accordingly and enjoy the trip!"
TRIP_CALLS = [
    ("get_weather", {"city": "Paris", "unit": "celsius"}),
    ("convert_currency", {"amount": 500, "from": "EUR", "to": "USD"}),
]


def test_tools_yaml_agent_loop_terminates_with_the_openai_sdk(
    mockopper: Mockopper, request: pytest.FixtureRequest
) -> None:
    mockopper.load("tools.yaml")
    client = openai.OpenAI(base_url=mockopper.base_url, api_key="k", max_retries=0)
    request.addfinalizer(client.close)
    tools: Any = [{"type": "function", "function": {"name": n, "parameters": p}} for n, p in TRIP_TOOLS.items()]
    messages: list[Any] = [{"role": "user", "content": "Plan a weekend in Paris"}]
    calls, prefaces = [], []
    for _ in range(6):
        message = (
            client.chat.completions.create(model="openai/gpt-5.5", messages=messages, tools=tools).choices[0].message
        )
        messages.append(message.model_dump(exclude_none=True))
        if not message.tool_calls:
            break
        prefaces.append(message.content)
        for call in message.tool_calls:
            calls.append((call.function.name, json.loads(call.function.arguments)))
            messages.append({"role": "tool", "tool_call_id": call.id, "content": TOOL_RESULTS[call.function.name]})
    assert calls == TRIP_CALLS
    assert prefaces == ["Let me check the weather first.", None]
    assert message.content == PLAN
    assert [r.rule for r in mockopper.requests] == ["check the weather", "convert the budget", "final answer"]


def test_tools_yaml_calls_any_other_tool_then_answers(mockopper: Mockopper, request: pytest.FixtureRequest) -> None:
    mockopper.load("tools.yaml")
    client = openai.OpenAI(base_url=mockopper.base_url, api_key="k", max_retries=0)
    request.addfinalizer(client.close)
    tools: Any = [{"type": "function", "name": "lookup", "parameters": LOOKUP_SCHEMA}]
    first = client.responses.create(model="openai/gpt-5.5", input="Who is Ada?", tools=tools)
    [call] = [item for item in first.output if item.type == "function_call"]
    assert call.name == "lookup" and isinstance(json.loads(call.arguments)["name"], str)
    output: Any = [{"type": "function_call_output", "call_id": call.call_id, "output": "a mathematician"}]
    second = client.responses.create(model="openai/gpt-5.5", previous_response_id=first.id, input=output, tools=tools)
    assert "a mathematician" in second.output_text
    assert [r.rule for r in mockopper.requests] == ["any other tool", "final answer"]


def test_tools_yaml_agent_loop_terminates_with_the_anthropic_sdk(
    mockopper: Mockopper, request: pytest.FixtureRequest
) -> None:
    mockopper.load("tools.yaml")
    client = anthropic.Anthropic(base_url=mockopper.base_url, api_key="k", max_retries=0)
    request.addfinalizer(client.close)
    tools: Any = [{"name": n, "input_schema": p} for n, p in TRIP_TOOLS.items()]
    messages: list[Any] = [{"role": "user", "content": "Plan a weekend in Paris"}]
    calls = []
    for _ in range(6):
        message = client.messages.create(
            model="anthropic/claude-sonnet-4-6", max_tokens=500, messages=messages, tools=tools
        )
        messages.append({"role": "assistant", "content": message.content})
        uses = [b for b in message.content if b.type == "tool_use"]
        if not uses:
            break
        assert message.stop_reason == "tool_use"
        calls += [(b.name, b.input) for b in uses]
        results = [{"type": "tool_result", "tool_use_id": b.id, "content": TOOL_RESULTS[b.name]} for b in uses]
        messages.append({"role": "user", "content": results})
    assert calls == TRIP_CALLS
    assert [b.text for b in message.content if b.type == "text"] == [PLAN]  # type: ignore[union-attr]
    assert message.stop_reason == "end_turn"
    assert [r.rule for r in mockopper.requests] == ["check the weather", "convert the budget", "final answer"]


def test_tools_yaml_agent_loop_terminates_with_google_genai(
    mockopper: Mockopper, request: pytest.FixtureRequest
) -> None:
    mockopper.load("tools.yaml")
    client = genai.Client(api_key="k", http_options=types.HttpOptions(base_url=mockopper.base_url))
    request.addfinalizer(client.close)
    declarations = [types.FunctionDeclaration(name=n, parameters_json_schema=p) for n, p in TRIP_TOOLS.items()]
    config = types.GenerateContentConfig(tools=[types.Tool(function_declarations=declarations)])
    contents: list[Any] = [types.Content(role="user", parts=[types.Part(text="Plan a weekend in Paris")])]
    calls = []
    for _ in range(6):
        result = client.models.generate_content(model="gemini/gemini-2.5-pro", contents=contents, config=config)
        contents.append(result.candidates[0].content)  # type: ignore[index]
        if not result.function_calls:
            break
        calls += [(c.name, c.args) for c in result.function_calls]
        contents.append(
            types.Content(
                role="user",
                parts=[
                    types.Part.from_function_response(name=c.name, response={"result": TOOL_RESULTS[c.name]})  # type: ignore[arg-type,index]
                    for c in result.function_calls
                ],
            )
        )
    assert calls == TRIP_CALLS
    assert result.text == PLAN
    assert [r.rule for r in mockopper.requests] == ["check the weather", "convert the budget", "final answer"]


ERROR_PHRASES = [
    ("error 400", 400, "Invalid request: the prompt is malformed."),
    ("error 401", 401, "Invalid API key."),
    ("error 403", 403, "This key may not use this model."),
    ("error 404", 404, "The model acme/model does not exist."),
    ("error 408", 408, "The request timed out."),
    ("error 409", 409, "Conflict."),
    ("error 413", 413, "The request is too large."),
    ("error 422", 422, "Unprocessable request."),
    ("error 429", 429, "Rate limit exceeded."),
    ("error 500", 500, "Internal server error."),
    ("error 502", 502, "Bad gateway."),
    ("error 503", 503, "Service unavailable."),
    ("error 504", 504, "Gateway timeout."),
    ("error 529", 529, "Overloaded."),
    ("rate limit", 429, "Rate limit exceeded. Retry in 5 seconds."),
    ("no retry", 500, "Internal server error (do not retry)."),
]


@each([Chat, Messages, Interactions, Gemini])
@pytest.mark.parametrize(("phrase", "status", "message"), ERROR_PHRASES, ids=[p for p, _, _ in ERROR_PHRASES])
def test_errors_yaml_each_trigger_phrase_raises_the_sdks_class_for_its_status(
    mockopper: Mockopper,
    surface: type[Surface],
    phrase: str,
    status: int,
    message: str,
    connect: Callable[..., Surface],
) -> None:
    mockopper.load("errors.yaml")
    client = connect(surface)
    with pytest.raises(client.error_class(status)) as info:
        client.send(f"Please give me an {phrase.upper()} now.")
    error = info.value
    assert type(error) is client.error_class(status)  # the exact class, not just a parent
    assert client.status_of(error) == status and message in str(error)
    headers = client.headers_of(error)
    if phrase == "rate limit":
        assert (headers["retry-after"], headers["retry-after-ms"]) == ("5", "5000")
    elif phrase == "no retry":
        assert headers["x-should-retry"] == "false"
    elif status in (408, 409, 429) or status >= 500:
        assert headers["retry-after-ms"] == "50"  # retrying SDKs wait 50 ms
    assert [r.rule for r in mockopper.requests] == [phrase.removeprefix("error ")]


@each([Chat, Messages])
def test_errors_yaml_no_retry_stops_the_stainless_retries(
    mockopper: Mockopper, surface: type[Surface], connect: Callable[..., Surface]
) -> None:
    mockopper.load("errors.yaml")
    client = connect(surface, retries=None)
    with pytest.raises(client.error_class(500)):
        client.send("no retry please")
    assert len(mockopper.requests) == 1


@each(STREAMING)
def test_errors_yaml_stream_fault_phrases(
    mockopper: Mockopper, surface: type[Surface], connect: Callable[..., Surface]
) -> None:
    mockopper.load("errors.yaml")
    client = connect(surface)
    pieces: list[str] = []
    with pytest.raises(surface.dropped_stream):
        client.send("disconnect me", stream=True, pieces=pieces)
    assert len(pieces) == 5  # "the connection drops after 5 streamed chunks"

    reply = client.send("truncate this", stream=True)
    assert not reply.finished and len(reply.text.split()) == 5

    pieces = []
    raised = client.in_stream_error(529)
    if raised is not None:
        with pytest.raises(raised, match="Overloaded"):
            client.send("a stream error", stream=True, pieces=pieces)
    else:
        assert client.send("a stream error", stream=True, pieces=pieces).error == "Overloaded."
    assert len(pieces) == 5
    assert [r.rule for r in closed(mockopper, 3)] == ["disconnect", "truncate", "stream error"]


@each([Chat, Messages, Interactions, Gemini])
def test_errors_yaml_hang_and_slow_keep_the_client_waiting(
    mockopper: Mockopper, surface: type[Surface], connect: Callable[..., Surface]
) -> None:
    mockopper.load("errors.yaml")
    client = connect(surface, timeout=0.1)
    with pytest.raises(surface.timed_out):
        client.send("hang")
    with pytest.raises(surface.timed_out):
        client.send("slow")  # answers after 2 seconds: longer than this client waits
    assert [r.rule for r in mockopper.requests] == ["hang", "slow"]
    assert [r.outcome for r in closed(mockopper, 2)] == ["hang", "client_closed"]


@each([Chat, Messages])
@pytest.mark.parametrize(
    "text",
    ["How do I change my password?", "Is the snow slowing down?", "My reconnection truncates logs", "hello"],
)
def test_errors_yaml_answers_anything_else(
    mockopper: Mockopper, surface: type[Surface], text: str, connect: Callable[..., Surface]
) -> None:
    mockopper.load("errors.yaml")
    assert connect(surface).send(text).text
    assert [r.rule for r in mockopper.requests] == ["fine"]


@dataclass
class Timeline:
    """A stream as the client saw it: content pieces, when each arrived, and how it ended."""

    pieces: list[str]
    times: list[float]  # seconds from sending the request
    ending: str  # finished | truncated (no final event) | dropped | stopped (the reader stopped early)

    @property
    def gaps(self) -> list[float]:
        return [b - a for a, b in itertools.pairwise(self.times)]


def chat_timeline(base_url: str, text: str, limit: int | None = None, **options: Any) -> Timeline:
    with openai.OpenAI(base_url=base_url, api_key="k", max_retries=0, timeout=10) as client:
        return _chat_timeline(client, text, limit, **options)


def _chat_timeline(client: openai.OpenAI, text: str, limit: int | None, **options: Any) -> Timeline:
    timeline = Timeline([], [], "truncated")
    started = time.monotonic()
    messages: Any = [{"role": "user", "content": text}]
    try:
        with client.chat.completions.create(
            model="openai/gpt-5.5", messages=messages, stream=True, **options
        ) as stream:
            for chunk in stream:
                if not chunk.choices:
                    continue
                delta = chunk.choices[0].delta
                piece = delta.content or "".join(
                    c.function.arguments or "" for c in delta.tool_calls or [] if c.function
                )
                if piece:
                    timeline.pieces.append(piece)
                    timeline.times.append(time.monotonic() - started)
                    if len(timeline.pieces) == limit:
                        timeline.ending = "stopped"
                        break
                if chunk.choices[0].finish_reason:
                    timeline.ending = "finished"
    except openai.APIConnectionError:
        timeline.ending = "dropped"
    return timeline


def messages_timeline(base_url: str, text: str, limit: int | None = None, **options: Any) -> Timeline:
    with anthropic.Anthropic(base_url=base_url, api_key="k", max_retries=0, timeout=10) as client:
        return _messages_timeline(client, text, limit, **options)


def _messages_timeline(client: anthropic.Anthropic, text: str, limit: int | None, **options: Any) -> Timeline:
    timeline = Timeline([], [], "truncated")
    started = time.monotonic()
    messages: Any = [{"role": "user", "content": text}]
    try:
        with client.messages.create(
            model="anthropic/claude-sonnet-4-6", max_tokens=4000, messages=messages, stream=True, **options
        ) as stream:
            for event in stream:
                if event.type == "message_stop":
                    timeline.ending = "finished"
                if event.type != "content_block_delta":
                    continue
                delta = event.delta
                piece = (
                    getattr(delta, "text", None)
                    or getattr(delta, "thinking", None)
                    or getattr(delta, "partial_json", None)
                )
                if piece:
                    timeline.pieces.append(piece)
                    timeline.times.append(time.monotonic() - started)
                    if len(timeline.pieces) == limit:
                        timeline.ending = "stopped"
                        break
    except httpx2.RemoteProtocolError:
        timeline.ending = "dropped"
    return timeline


BOOKING = {
    "type": "object",
    "properties": {"hotel": {"type": "string"}, "nights": {"type": "integer"}},
    "required": ["hotel", "nights"],
}
STREAMING_CASES: dict[str, tuple[str, dict[str, Any], dict[str, Any], int | None]] = {
    # case: (message, chat options, messages options, pieces to read before stopping)
    "fast": ("Answer fast please", {}, {}, None),
    "slow": ("Type it out slow", {}, {}, 8),
    "cut": ("Then the line was cut", {}, {}, None),
    "stall": ("Watch it stall", {}, {}, None),
    "paced": ("Tell me about the sea", {}, {}, 10),
    "tools": (
        "Book me a room",
        {"tools": [{"type": "function", "function": {"name": "book", "parameters": BOOKING}}]},
        {"tools": [{"name": "book", "input_schema": BOOKING}]},
        None,
    ),
    "structured": (
        "Which city?",
        {"response_format": {"type": "json_schema", "json_schema": {"name": "booking", "schema": BOOKING}}},
        {"extra_body": {"output_config": {"format": {"type": "json_schema", "schema": BOOKING}}}},
        None,
    ),
}


@pytest.mark.parametrize("timeline", [chat_timeline, messages_timeline], ids=["openai", "anthropic"])
def test_streaming_yaml_paces_tokens_and_its_trigger_words_break_streams(
    mockopper: Mockopper, timeline: Callable[..., Timeline]
) -> None:
    mockopper.load("streaming.yaml")
    sdk = "chat" if timeline is chat_timeline else "messages"
    with ThreadPoolExecutor(len(STREAMING_CASES)) as pool:  # side by side: the whole test takes about a second
        futures = {
            case: pool.submit(timeline, mockopper.base_url, text, limit, **(chat if sdk == "chat" else claude))
            for case, (text, chat, claude, limit) in STREAMING_CASES.items()
        }
        seen = {case: future.result() for case, future in futures.items()}
    # Loose bounds only: each side of a scripted time by a wide margin, never a tight figure.
    paced = seen["paced"]
    assert paced.ending == "stopped" and len(paced.pieces) == 10
    assert paced.times[0] >= 0.25  # ttft 400 ms
    assert 0.015 <= statistics.median(paced.gaps) <= 0.5  # a word every 35 ms (+-10)

    fast = seen["fast"]
    assert fast.ending == "finished" and len(fast.pieces) > 10
    assert fast.times[-1] < paced.times[0]  # the whole fast answer arrives before the paced one starts

    slow = seen["slow"]
    assert slow.ending == "stopped" and all(len(piece) == 1 for piece in slow.pieces)  # a character at a time
    assert slow.times[0] >= 0.35 and statistics.median(slow.gaps) >= 0.02  # ttft 600 ms, 40 ms a character

    cut, stall = seen["cut"], seen["stall"]
    assert (cut.ending, len(cut.pieces)) == ("dropped", 10)
    assert (stall.ending, len(stall.pieces)) == ("truncated", 10)
    assert cut.times[0] >= 0.1 and stall.times[0] >= 0.1  # ttft 200 ms

    for case, size in (("tools", 8), ("structured", 6)):
        fragments = seen[case]
        assert fragments.ending == "finished" and fragments.times[0] >= 0.15  # ttft 300 ms
        assert len(fragments.pieces) > 2 and all(len(piece) <= size for piece in fragments.pieces)
        assert set(json.loads("".join(fragments.pieces))) == {"hotel", "nights"}

    rules = {r.rule for r in closed(mockopper, len(STREAMING_CASES))}
    assert rules == {
        "fast",
        "slow typing",
        "dropped connection",
        "stalled stream",
        "paced answer",
        "tools",
        "structured",
    }


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("fast", "fast"),
        ("What is for breakfast?", "paced answer"),
        ("How do I install it?", "paced answer"),
        ("Execute the plan", "paced answer"),
        ("Is it slowing down?", "paced answer"),
        ("STALL!", "stalled stream"),
    ],
)
def test_streaming_yaml_trigger_words_are_whole_words(
    mockopper: Mockopper, text: str, rule: str, connect: Callable[..., Surface]
) -> None:
    mockopper.load("streaming.yaml")
    with contextlib.suppress(openai.APIConnectionError):  # "cut" and "stall" drop a JSON answer
        connect(Chat).send(text)  # a JSON answer is not paced: this is instant
    assert [r.rule for r in mockopper.requests] == [rule]


class Sentiment(BaseModel):
    sentiment: Literal["positive", "neutral", "negative"]
    confidence: float
    keywords: list[str]


class Invoice(BaseModel):
    customer: str
    total: int
    currency: str
    model: str


class Address(BaseModel):
    street: str
    city: str


class Contact(BaseModel):
    name: str
    age: int
    role: Literal["admin", "member"]
    nickname: str | None  # anyOf
    addresses: list[Address]  # $defs and $ref


SENTIMENT = Sentiment(sentiment="positive", confidence=0.93, keywords=["great", "love"])
LOOKUP_SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}},
    "required": ["name"],
    "additionalProperties": False,
}


def check_invoice(invoice: Any, model: str) -> None:
    assert isinstance(invoice, Invoice)
    assert (invoice.currency, invoice.model) == ("EUR", model)
    assert 10 <= invoice.total <= 999 and invoice.customer


def test_structured_yaml_parses_into_pydantic_with_the_openai_sdk(
    mockopper: Mockopper, request: pytest.FixtureRequest
) -> None:
    mockopper.load("structured.yaml")
    client = openai.OpenAI(base_url=mockopper.base_url, api_key="k", max_retries=0)
    request.addfinalizer(client.close)
    model = "openai/gpt-5.5"

    def parse(text: str, schema: type[BaseModel], **options: Any) -> Any:
        messages: Any = [{"role": "user", "content": text}]
        result = client.chat.completions.parse(model=model, messages=messages, response_format=schema, **options)
        return result.choices[0].message

    assert parse("What is the sentiment of 'I love it'?", Sentiment).parsed == SENTIMENT
    check_invoice(parse("Read this invoice", Invoice).parsed, model)
    contact = parse("Who is this?", Contact).parsed
    assert isinstance(contact, Contact) and contact.addresses
    mode = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": "Any JSON"}], response_format={"type": "json_object"}
    )
    assert isinstance(json.loads(mode.choices[0].message.content or "")["answer"], str)  # JSON mode, no schema
    plain = client.chat.completions.create(model=model, messages=[{"role": "user", "content": "Hello"}])
    assert plain.choices[0].message.content == (
        "Ask for structured output (a JSON schema) and I will answer with a matching object."
    )
    # Offered tools come first; the structured answer follows the tool result.
    tools: Any = [{"type": "function", "function": {"name": "lookup", "parameters": LOOKUP_SCHEMA, "strict": True}}]
    first = parse("Who is Ada?", Contact, tools=tools)
    [call] = first.tool_calls or []
    assert call.function.name == "lookup" and isinstance(json.loads(call.function.arguments)["name"], str)
    history: Any = [
        {"role": "user", "content": "Who is Ada?"},
        first.model_dump(exclude_none=True, exclude={"parsed"}),
        {"role": "tool", "tool_call_id": call.id, "content": "Ada Lovelace, 36, admin"},
    ]
    answer = client.chat.completions.parse(model=model, messages=history, response_format=Contact, tools=tools)
    assert isinstance(answer.choices[0].message.parsed, Contact)
    rules = [r.rule for r in mockopper.requests]
    assert rules == ["sentiment", "invoice", "any schema", "any schema", "no schema asked", "tool first", "any schema"]


def test_structured_yaml_parses_into_pydantic_with_the_anthropic_sdk(
    mockopper: Mockopper, request: pytest.FixtureRequest
) -> None:
    mockopper.load("structured.yaml")
    client = anthropic.Anthropic(base_url=mockopper.base_url, api_key="k", max_retries=0)
    request.addfinalizer(client.close)
    model = "anthropic/claude-sonnet-4-6"

    def parse(text: str, schema: type[BaseModel]) -> Any:
        messages: Any = [{"role": "user", "content": text}]
        return client.messages.parse(model=model, max_tokens=900, messages=messages, output_format=schema).parsed_output

    assert parse("What is the sentiment of 'I love it'?", Sentiment) == SENTIMENT
    check_invoice(parse("Read this invoice", Invoice), model)
    assert isinstance(parse("Who is this?", Contact), Contact)
    assert [r.rule for r in mockopper.requests] == ["sentiment", "invoice", "any schema"]


def test_structured_yaml_parses_into_pydantic_with_google_genai(
    mockopper: Mockopper, request: pytest.FixtureRequest
) -> None:
    mockopper.load("structured.yaml")
    client = genai.Client(api_key="k", http_options=types.HttpOptions(base_url=mockopper.base_url))
    request.addfinalizer(client.close)
    model = "gemini/gemini-2.5-pro"

    def parse(text: str, schema: type[BaseModel]) -> Any:
        config = types.GenerateContentConfig(response_mime_type="application/json", response_schema=schema)
        return client.models.generate_content(model=model, contents=text, config=config).parsed

    assert parse("What is the sentiment of 'I love it'?", Sentiment) == SENTIMENT
    check_invoice(parse("Read this invoice", Invoice), model)
    assert isinstance(parse("Who is this?", Contact), Contact)
    assert [r.rule for r in mockopper.requests] == ["sentiment", "invoice", "any schema"]


# --- pacing and chunking on every streaming surface ------------------------------------------------

SCRIPTED = "  Hello,\n\nworld!  Two  spaces,\ta tab,\n- a list item\n- and an émoji 🙂 at the end \n"


@each(STREAMING)
@pytest.mark.parametrize(
    ("chunk", "count"),
    [("word", len(SCRIPTED.split()) + 1), ("char", len(SCRIPTED)), ("line", 5), (7, -(-len(SCRIPTED) // 7))],
    ids=["word", "char", "line", "7"],
)
def test_streamed_text_arrives_exactly_as_scripted_whatever_the_chunking(
    mockopper: Mockopper, surface: type[Surface], chunk: str | int, count: int, connect: Callable[..., Surface]
) -> None:
    mockopper.load({"rules": [{"reply": {"text": SCRIPTED, "stream": {"chunk": chunk}}}]})
    pieces: list[str] = []
    reply = connect(surface).send("hi", stream=True, pieces=pieces)
    assert reply.text == SCRIPTED and reply.finished
    assert len(pieces) == count  # words keep the whitespace before them; the trailing run is its own piece


@each(STREAMING)
def test_pacing_applies_on_every_streaming_surface(
    mockopper: Mockopper, surface: type[Surface], connect: Callable[..., Surface]
) -> None:
    mockopper.load({"rules": [{"reply": {"text": TEXT, "stream": {"ttft_ms": 40, "interval_ms": 15}}}]})
    client = connect(surface)
    arrivals: list[float] = []

    class Clock(list[str]):
        def append(self, piece: str) -> None:
            arrivals.append(time.monotonic())
            super().append(piece)

    started = time.monotonic()
    pieces = Clock()
    assert client.send("hi", stream=True, pieces=pieces).text == TEXT
    # Loose bounds: never sooner than scripted (less a little timer slack), and not stalled.
    assert arrivals[0] - started >= 0.035
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    assert len(gaps) == 4 and 0.01 <= statistics.median(gaps) < 0.15
