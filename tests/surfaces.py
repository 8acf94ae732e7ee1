"""The surfaces as their vendors' SDKs see them: one adapter per surface, for the failure tests.

Each adapter drives one API surface (Chat Completions, Responses, OpenResponses,
Embeddings, Anthropic Messages, Interactions, Gemini) through its vendor's own SDK,
unchanged but for the base URL, asks the same question in that dialect, and reads the
answer back in neutral terms (`Reply`). What differs between SDKs (which exception a
dropped stream raises, whether an in-stream error is raised or yielded, which statuses
are retried) is spelt out per adapter, as measured against the real services.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import anthropic
import httpx2
import openai
import pytest
from google import genai
from google.genai import _interactions_errors as ierrors
from google.genai import errors as gerrors
from google.genai import types

from mockopper.journal import RequestRecord
from mockopper.plugin import Mockopper

__all__ = [
    "ALL_APIS",
    "STREAMING",
    "SURFACES",
    "Chat",
    "Embeddings",
    "Gemini",
    "Interactions",
    "Messages",
    "OpenResponses",
    "Reply",
    "Responses",
    "Surface",
    "attempts",
    "closed",
    "each",
    "each_mode",
]

# Rules without `api` never answer embeddings (SPEC 2.4): a rule for every surface names them all.
ALL_APIS = ["chat", "responses", "openresponses", "embeddings", "messages", "interactions", "gemini"]


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

    def __init__(
        self,
        base_url: str,
        *,
        retries: int | None = 0,
        timeout: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        raise NotImplementedError

    def send(
        self,
        text: str,
        *,
        model: str = "acme/model",
        fallbacks: Sequence[str] = (),
        stream: bool = False,
        pieces: list[str] | None = None,
        headers: Mapping[str, str] | None = None,
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

    def __init__(
        self,
        base_url: str,
        *,
        retries: int | None = 0,
        timeout: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.sdk = openai.OpenAI(
            base_url=base_url + self.path,
            api_key="test-key",
            max_retries=2 if retries is None else retries,
            timeout=timeout or 10,
            default_headers=headers,
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
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        pieces = [] if pieces is None else pieces
        create = self.sdk.chat.completions.with_raw_response.create
        messages: Any = [{"role": "user", "content": text}]
        if not stream:
            raw = create(model=model, messages=messages, extra_body=extras(fallbacks), extra_headers=headers)
            result = raw.parse()
            return Reply(result.choices[0].message.content or "", result.model, raw.headers, finished=True)
        raw = create(model=model, messages=messages, extra_body=extras(fallbacks), extra_headers=headers, stream=True)
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
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        pieces = [] if pieces is None else pieces
        create = self.sdk.responses.with_raw_response.create
        if not stream:
            raw = create(model=model, input=text, extra_body=extras(fallbacks), extra_headers=headers)
            result = raw.parse()
            return Reply(result.output_text, result.model, raw.headers, finished=True)
        raw = create(model=model, input=text, extra_body=extras(fallbacks), extra_headers=headers, stream=True)
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
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        assert not stream, "embeddings never stream"
        raw = self.sdk.embeddings.with_raw_response.create(
            model=model, input=text, extra_body=extras(fallbacks), extra_headers=headers
        )
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

    def __init__(
        self,
        base_url: str,
        *,
        retries: int | None = 0,
        timeout: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.sdk = anthropic.Anthropic(
            base_url=base_url,
            api_key="test-key",
            max_retries=2 if retries is None else retries,
            timeout=timeout or 10,
            default_headers=headers,
        )

    def send(
        self,
        text: str,
        *,
        model: str = "acme/model",
        fallbacks: Sequence[str] = (),
        stream: bool = False,
        pieces: list[str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        pieces = [] if pieces is None else pieces
        create = self.sdk.messages.with_raw_response.create
        messages: Any = [{"role": "user", "content": text}]
        if not stream:
            raw = create(
                model=model, max_tokens=256, messages=messages, extra_body=extras(fallbacks), extra_headers=headers
            )
            message = raw.parse()
            answer = "".join(block.text for block in message.content if block.type == "text")
            return Reply(answer, message.model, raw.headers, finished=True)
        raw = create(
            model=model,
            max_tokens=256,
            messages=messages,
            extra_body=extras(fallbacks),
            extra_headers=headers,
            stream=True,
        )
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


def google_options(
    base_url: str, retries: int | None, timeout: float | None, headers: Mapping[str, str] | None = None
) -> types.HttpOptions:
    retry = None
    if retries is not None:
        retry = types.HttpRetryOptions(attempts=retries + 1, initial_delay=0.01, max_delay=0.02)
    return types.HttpOptions(
        base_url=base_url, retry_options=retry, timeout=int((timeout or 10) * 1000), headers=dict(headers or {})
    )


class Gemini(Surface):
    api = "gemini"
    # google-genai's models client lets transport errors through unwrapped.
    dropped_stream = httpx2.RemoteProtocolError
    dropped_body = httpx2.RemoteProtocolError
    timed_out = httpx2.ReadTimeout
    stream_error = gerrors.ServerError

    def __init__(
        self,
        base_url: str,
        *,
        retries: int | None = 0,
        timeout: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        # The models client retries nothing unless it is given HttpRetryOptions.
        self.sdk = genai.Client(
            api_key="test-key", http_options=google_options(base_url, retries or None, timeout, headers)
        )

    def send(
        self,
        text: str,
        *,
        model: str = "acme/model",
        fallbacks: Sequence[str] = (),
        stream: bool = False,
        pieces: list[str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        pieces = [] if pieces is None else pieces
        extra = extras(fallbacks)
        options = types.HttpOptions(extra_body=extra, headers=dict(headers) if headers else None)
        config = types.GenerateContentConfig(http_options=options) if extra or headers else None
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

    def __init__(
        self,
        base_url: str,
        *,
        retries: int | None = 0,
        timeout: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.sdk = genai.Client(api_key="test-key", http_options=google_options(base_url, retries, timeout, headers))

    def send(
        self,
        text: str,
        *,
        model: str = "acme/model",
        fallbacks: Sequence[str] = (),
        stream: bool = False,
        pieces: list[str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        pieces = [] if pieces is None else pieces
        create = self.sdk.interactions.with_raw_response.create
        if not stream:
            raw = create(model=model, input=text, extra_body=extras(fallbacks), extra_headers=headers)
            result = raw.parse()
            return Reply(result.output_text or "", result.model, raw.headers, finished=True)
        raw = create(model=model, input=text, extra_body=extras(fallbacks), extra_headers=headers, stream=True)
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


# The keys every OpenResponses response object must carry (all 31, nulls allowed).
OPENRESPONSES_KEYS = frozenset(
    {
        "id",
        "object",
        "created_at",
        "completed_at",
        "status",
        "incomplete_details",
        "error",
        "model",
        "previous_response_id",
        "instructions",
        "output",
        "tools",
        "tool_choice",
        "truncation",
        "parallel_tool_calls",
        "text",
        "top_p",
        "presence_penalty",
        "frequency_penalty",
        "top_logprobs",
        "temperature",
        "reasoning",
        "usage",
        "max_output_tokens",
        "max_tool_calls",
        "store",
        "background",
        "service_tier",
        "metadata",
        "safety_identifier",
        "prompt_cache_key",
    }
)
