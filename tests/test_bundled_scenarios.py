"""The bundled scenarios (`scenarios/*.yaml`) through the real SDKs: each does what its header says.

default.yaml is exercised by every surface's own tests (test_default_scenario.py and the
agent-loop tests in test_anthropic.py, test_gemini.py and test_interactions.py).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import statistics
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

import anthropic
import httpx2
import openai
import pytest
from google import genai
from google.genai import errors as gerrors
from google.genai import types
from pydantic import BaseModel
from surfaces import (
    STREAMING,
    Chat,
    Embeddings,
    Gemini,
    Interactions,
    Messages,
    OpenResponses,
    Responses,
    Surface,
    attempts,
    closed,
    each,
)

from mockopper.journal import RequestRecord
from mockopper.plugin import Mockopper

# --- flaky.yaml -----------------------------------------------------------------------------------


def retry_counts(records: Sequence[RequestRecord]) -> list[str | None]:
    return [r.request_headers.get("x-stainless-retry-count") for r in records]


@each([Chat, Responses, OpenResponses, Messages])
def test_flaky_yaml_is_got_through_by_stainless_sdk_retries(
    mockopper: Mockopper, surface: type[Surface], connect: Callable[..., Surface]
) -> None:
    mockopper.load("flaky.yaml")
    client = connect(surface, retries=None)  # OpenAI's and Anthropic's default: 2 retries
    assert client.send("hello").text
    records = mockopper.requests
    assert [r.status for r in records] == [429, 529, 200]
    assert [r.response_headers.get("retry-after-ms") for r in records] == ["50", "50", None]  # no long backoff
    assert retry_counts(records) == ["0", "1", "2"]  # one SDK call, three attempts
    if surface is Chat:
        assert client.send("hello again").text  # the cycle starts over: the next call needs three attempts too
        assert [r.status for r in mockopper.requests] == [429, 529, 200] * 2
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


# --- fallback.yaml --------------------------------------------------------------------------------


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


def test_streaming_yaml_paces_tokens_and_its_trigger_words_break_streams(mockopper: Mockopper) -> None:
    mockopper.load("streaming.yaml")
    with ThreadPoolExecutor(2 * len(STREAMING_CASES)) as pool:  # side by side: the whole test takes about a second
        futures = {
            (sdk, case): pool.submit(timeline, mockopper.base_url, text, limit, **(chat if sdk == "openai" else claude))
            for sdk, timeline in (("openai", chat_timeline), ("anthropic", messages_timeline))
            for case, (text, chat, claude, limit) in STREAMING_CASES.items()
        }
        timelines = {key: future.result() for key, future in futures.items()}
    for sdk in ("openai", "anthropic"):
        seen = {case: timelines[sdk, case] for case in STREAMING_CASES}
        # Lower bounds from the schedule (chunk k is due ttft + k intervals after the request, less
        # the jitter, and never goes out sooner), with 10% slack: a slow machine cannot break them.
        # Upper bounds only say that nothing stalled.
        paced = seen["paced"]
        assert paced.ending == "stopped" and len(paced.pieces) == 10, sdk
        assert all(t >= 0.9 * (0.4 + k * 0.025) for k, t in enumerate(paced.times)), (sdk, paced.times)  # 35+-10 ms
        assert statistics.median(paced.gaps) < 1

        fast = seen["fast"]
        assert fast.ending == "finished" and len(fast.pieces) > 3, sdk  # a few sentences, by word
        assert fast.times[0] < paced.times[0]  # no time to first token

        slow = seen["slow"]
        assert slow.ending == "stopped" and all(len(piece) == 1 for piece in slow.pieces), sdk  # a character at a time
        assert all(t >= 0.9 * (0.6 + k * 0.03) for k, t in enumerate(slow.times)), (sdk, slow.times)  # 40+-10 ms

        cut, stall = seen["cut"], seen["stall"]
        assert (cut.ending, len(cut.pieces)) == ("dropped", 10), sdk
        assert (stall.ending, len(stall.pieces)) == ("truncated", 10), sdk
        for broken in (cut, stall):
            assert all(t >= 0.9 * (0.2 + k * 0.03) for k, t in enumerate(broken.times)), (sdk, broken.times)

        for case, size in (("tools", 8), ("structured", 6)):
            fragments = seen[case]
            assert fragments.ending == "finished", (sdk, case)
            assert all(t >= 0.9 * (0.3 + k * 0.025) for k, t in enumerate(fragments.times)), (sdk, case)
            assert len(fragments.pieces) > 2 and all(len(piece) <= size for piece in fragments.pieces)
            assert set(json.loads("".join(fragments.pieces))) == {"hotel", "nights"}

    records = closed(mockopper, len(futures))
    assert {api: sorted(r.rule or "" for r in records if r.api == api) for api in ("chat", "messages")} == {
        api: ["dropped connection", "fast", "paced answer", "slow typing", "stalled stream", "structured", "tools"]
        for api in ("chat", "messages")
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
