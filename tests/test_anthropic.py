"""Anthropic Messages, token counting and models through the real `anthropic` SDK."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from typing import Any

import anthropic
import httpx2
import openai
import pytest
from pydantic import BaseModel

from mockopper.plugin import Mockopper

SCENARIO = """
name: anthropic
rules:
  - name: weather
    match: {message: weather, tools: [get_weather]}
    reply:
      tool_calls:
        - name: get_weather
          arguments: {city: Paris}
  - name: two cities
    match: {message: compare, tools: [get_weather]}
    reply:
      text: Let me check both.
      tool_calls:
        - {name: get_weather, arguments: {city: Paris}}
        - {name: get_weather, arguments: '{"city": "Oslo"}'}
  - name: after weather
    match: {tool_result: get_weather, turn: 1}  # a message of tool results is not a turn
    reply:
      text: "It is {{ tool_result }} in Paris."
  - name: person
    match: {json_schema: true}
    reply:
      json: auto
  - name: think
    match: {message: think}
    reply:
      text: The answer is 4.
      reasoning: Two plus two makes four.
  - name: long
    match: {message: long}
    reply: {text: "one two three four five", finish_reason: length, usage: {input_tokens: 11, output_tokens: 7}}
  - name: refuse
    match: {message: refuse}
    reply: {text: I can't help with that., finish_reason: content_filter}
  - name: pirate
    match: {system: pirate}
    reply: {text: Arr!}
  - name: rate limited
    match: {message: slow down}
    reply:
      error: {status: 429, message: "Too many requests, {{ request.model }}", retry_after: 0.01}
  - name: hello
    match: {message: hello}
    reply:
      text: Hello from mockopper!
"""

WEATHER_TOOL: Any = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
MODEL = "anthropic/claude-sonnet-4-6"


@pytest.fixture
def connect(mockopper: Mockopper) -> Iterator[Callable[..., anthropic.Anthropic]]:
    """Make official Anthropic SDK clients, unchanged but for the base URL (no retries unless asked)."""
    clients: list[anthropic.Anthropic] = []

    def make(**options: Any) -> anthropic.Anthropic:
        client = anthropic.Anthropic(
            **{"base_url": mockopper.base_url, "api_key": "test-key", "max_retries": 0, **options}
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def claude(mockopper: Mockopper, connect: Callable[..., anthropic.Anthropic]) -> anthropic.Anthropic:
    mockopper.load(SCENARIO)
    return connect()


def user(text: str) -> list[Any]:
    return [{"role": "user", "content": text}]


def create(client: anthropic.Anthropic, text: str, **kwargs: Any) -> anthropic.types.Message:
    return client.messages.create(model=MODEL, max_tokens=1024, messages=user(text), **kwargs)


def sse(response: httpx2.Response) -> list[tuple[str | None, dict[str, Any]]]:
    """Raw SSE frames as (event line, parsed data)."""
    events = []
    for frame in response.text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in frame.splitlines())
        events.append((lines.get("event"), json.loads(lines["data"])))
    return events


# --- messages -----------------------------------------------------------------------------


def test_plain_message(claude: anthropic.Anthropic, mockopper: Mockopper) -> None:
    raw = claude.messages.with_raw_response.create(model=MODEL, max_tokens=100, messages=user("hello there"))
    message = raw.parse()
    assert [b.type for b in message.content] == ["text"]
    assert message.content[0].text == "Hello from mockopper!"  # type: ignore[union-attr]
    assert (message.type, message.role, message.stop_reason, message.stop_sequence) == (
        "message",
        "assistant",
        "end_turn",
        None,
    )
    assert message.model == MODEL
    assert message.id.startswith("msg_") and len(message.id) == 28
    assert message.usage.output_tokens == 6  # ceil(21 chars / 4)
    assert message.usage.input_tokens == 3  # ceil("hello there" / 4)
    assert raw.headers["content-type"] == "application/json"
    assert message._request_id == raw.headers["request-id"] and message._request_id.startswith("req_")
    [record] = mockopper.requests
    assert (record.api, record.rule, record.status, record.reply_kind) == ("messages", "hello", 200, "text")


def test_vercel_path_without_v1_and_x_api_key(claude: anthropic.Anthropic, mockopper: Mockopper) -> None:
    # What @ai-sdk/anthropic sends with baseURL = the compat base: /messages, x-api-key, content blocks.
    response = httpx2.post(
        mockopper.base_url + "/messages",
        headers={"x-api-key": "k", "anthropic-version": "2023-06-01"},
        json={
            "model": "claude-x",
            "max_tokens": 50,
            "messages": [{"role": "user", "content": [{"type": "text", "text": "hello"}]}],
        },
    )
    assert response.status_code == 200
    body = response.json()
    assert body["type"] == "message" and body["content"] == [{"type": "text", "text": "Hello from mockopper!"}]
    assert set(body["usage"]) >= {"input_tokens", "output_tokens"}


def test_stream_is_anthropics_event_sequence(claude: anthropic.Anthropic, mockopper: Mockopper) -> None:
    response = httpx2.post(
        mockopper.base_url + "/v1/messages",
        headers={"authorization": "Bearer k"},
        json={"model": MODEL, "max_tokens": 50, "messages": user("hello"), "stream": True},
    )
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse(response)
    assert all(name == data["type"] for name, data in events)  # an `event:` line on every event, matching data.type
    assert [name for name, _ in events] == [
        "message_start",
        "content_block_start",
        "ping",
        "content_block_delta",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    start = events[0][1]["message"]
    assert set(start) == {"id", "type", "role", "model", "content", "stop_reason", "stop_sequence", "usage"}
    assert start["content"] == [] and start["stop_reason"] is None
    assert set(start["usage"]) == {
        "input_tokens",
        "output_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
    }
    assert events[1][1] == {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
    assert [d["delta"] for _, d in events[3:6]] == [
        {"type": "text_delta", "text": piece} for piece in ("Hello", " from", " mockopper!")
    ]
    assert all(d["index"] == 0 for _, d in events[3:7])
    assert events[7][1] == {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        # Opper's cost in USD: 2 input tokens at $3 and 6 output tokens at $15 per million.
        "usage": {"output_tokens": 6, "cost": 0.000096},
    }


def test_create_stream(claude: anthropic.Anthropic) -> None:
    events = list(create(claude, "hello", stream=True))  # type: ignore[call-overload]
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta")
    assert text == "Hello from mockopper!"
    [delta] = [e for e in events if e.type == "message_delta"]
    assert delta.delta.stop_reason == "end_turn" and delta.usage.output_tokens == 6
    assert events[0].message.usage.input_tokens == 2


def test_stream_helper_text_and_final_message(claude: anthropic.Anthropic) -> None:
    with claude.messages.stream(model=MODEL, max_tokens=100, messages=user("hello")) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert pieces == ["Hello", " from", " mockopper!"]
    assert final.content[0].text == "Hello from mockopper!"  # type: ignore[union-attr]
    assert (final.stop_reason, final.usage.output_tokens) == ("end_turn", 6)


def test_tool_use(claude: anthropic.Anthropic, mockopper: Mockopper) -> None:
    message = create(claude, "what's the weather?", tools=[WEATHER_TOOL])
    assert message.stop_reason == "tool_use"
    [call] = message.content
    assert call.type == "tool_use" and call.id.startswith("toolu_")
    assert (call.name, call.input) == ("get_weather", {"city": "Paris"})
    assert mockopper.requests[0].reply_kind == "tool_calls"


def test_several_tool_calls_with_preface(claude: anthropic.Anthropic) -> None:
    message = create(claude, "compare Paris and Oslo", tools=[WEATHER_TOOL])
    assert [b.type for b in message.content] == ["text", "tool_use", "tool_use"]
    assert message.content[0].text == "Let me check both."  # type: ignore[union-attr]
    calls = message.content[1:]
    assert [c.input for c in calls] == [{"city": "Paris"}, {"city": "Oslo"}]  # type: ignore[union-attr]
    assert len({c.id for c in calls}) == 2  # type: ignore[union-attr]


def test_stream_helper_with_tool_use(claude: anthropic.Anthropic) -> None:
    with claude.messages.stream(model=MODEL, max_tokens=100, messages=user("compare"), tools=[WEATHER_TOOL]) as stream:
        fragments = [e.partial_json for e in stream if e.type == "input_json"]
        final = stream.get_final_message()
    assert len(fragments) > 2  # the input really streams in pieces
    assert [(b.type, getattr(b, "input", None)) for b in final.content] == [
        ("text", None),
        ("tool_use", {"city": "Paris"}),
        ("tool_use", {"city": "Oslo"}),
    ]
    assert final.stop_reason == "tool_use"


def test_two_step_tool_loop(claude: anthropic.Anthropic, mockopper: Mockopper) -> None:
    messages: list[Any] = user("weather in Paris?")
    first = claude.messages.create(model=MODEL, max_tokens=100, messages=messages, tools=[WEATHER_TOOL])
    [call] = [b for b in first.content if b.type == "tool_use"]
    messages.append({"role": "assistant", "content": first.content})
    result = [{"type": "text", "text": "sunny, 21C"}]
    messages.append({"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": result}]})
    second = claude.messages.create(model=MODEL, max_tokens=100, messages=messages, tools=[WEATHER_TOOL])
    assert second.content[0].text == "It is sunny, 21C in Paris."  # type: ignore[union-attr]
    assert second.stop_reason == "end_turn"
    assert [r.rule for r in mockopper.requests] == ["weather", "after weather"]


def test_a_tool_result_with_text_after_it_is_a_user_turn(claude: anthropic.Anthropic) -> None:
    first = create(claude, "weather?", tools=[WEATHER_TOOL])
    tool_use = first.content[0]
    after = [
        {"type": "tool_result", "tool_use_id": tool_use.id, "content": "rain"},  # type: ignore[union-attr]
        {"type": "text", "text": "hello again"},
    ]
    second = claude.messages.create(
        model=MODEL,
        max_tokens=100,
        tools=[WEATHER_TOOL],
        messages=[
            *user("weather?"),
            {"role": "assistant", "content": first.content},
            {"role": "user", "content": after},
        ],
    )
    assert second.content[0].text == "Hello from mockopper!"  # type: ignore[union-attr]


def test_thinking_blocks(claude: anthropic.Anthropic) -> None:
    thinking: Any = {"type": "enabled", "budget_tokens": 1024}
    message = claude.messages.create(model=MODEL, max_tokens=2048, messages=user("think"), thinking=thinking)
    block, text = message.content
    assert block.type == "thinking" and block.thinking == "Two plus two makes four."
    assert len(block.signature) > 100
    assert text.text == "The answer is 4."  # type: ignore[union-attr]
    with claude.messages.stream(model=MODEL, max_tokens=2048, messages=user("think"), thinking=thinking) as stream:
        deltas = [e.thinking for e in stream if e.type == "thinking"]
        final = stream.get_final_message()
    assert "".join(deltas) == "Two plus two makes four." and len(deltas) > 1
    assert final.content[0].signature  # type: ignore[union-attr]  # sent as a signature_delta


def test_thinking_follows_the_request(claude: anthropic.Anthropic) -> None:
    disabled = create(claude, "think", thinking={"type": "disabled"})
    assert [b.type for b in disabled.content] == ["text"]
    omitted = create(claude, "think", thinking={"type": "adaptive", "display": "omitted"})  # type: ignore[typeddict-unknown-key]
    block = omitted.content[0]
    assert block.type == "thinking" and block.thinking == "" and block.signature


@pytest.mark.parametrize(
    ("text", "kwargs", "stop_reason", "content"),
    [
        ("long one", {}, "max_tokens", "one two three four five"),
        ("refuse", {}, "refusal", "I can't help with that."),
        ("hello", {"stop_sequences": [" mock", "!"]}, "stop_sequence", "Hello from"),
    ],
)
def test_stop_reasons(
    claude: anthropic.Anthropic, text: str, kwargs: dict[str, Any], stop_reason: str, content: str
) -> None:
    message = create(claude, text, **kwargs)
    assert message.stop_reason == stop_reason
    assert message.content[0].text == content  # type: ignore[union-attr]
    with claude.messages.stream(model=MODEL, max_tokens=100, messages=user(text), **kwargs) as stream:
        final = stream.get_final_message()
    assert final.stop_reason == stop_reason and final.content[0].text == content  # type: ignore[union-attr]
    if stop_reason == "stop_sequence":
        assert message.stop_sequence == final.stop_sequence == " mock"
    if stop_reason == "refusal":
        assert message.stop_details is not None and final.stop_details is not None


class Address(BaseModel):
    street: str
    city: str


class Person(BaseModel):
    name: str
    age: int
    addresses: list[Address]


def test_structured_output_with_parse(claude: anthropic.Anthropic, mockopper: Mockopper) -> None:
    parsed = claude.messages.parse(model=MODEL, max_tokens=100, messages=user("who?"), output_format=Person)
    assert isinstance(parsed.parsed_output, Person) and parsed.parsed_output.addresses
    with claude.messages.stream(model=MODEL, max_tokens=100, messages=user("who?"), output_format=Person) as stream:
        assert isinstance(stream.get_final_message().parsed_output, Person)
    beta = claude.beta.messages.parse(model=MODEL, max_tokens=100, messages=user("who?"), output_format=Person)
    assert isinstance(beta.parsed_output, Person)
    assert {r.rule for r in mockopper.requests} == {"person"}


@pytest.mark.parametrize(
    "extra",
    [
        {"output_config": {"format": {"type": "json_schema", "schema": Person.model_json_schema()}}},
        {"output_format": {"type": "json_schema", "schema": Person.model_json_schema()}},  # the earlier beta
    ],
)
def test_structured_output_as_raw_parameters(claude: anthropic.Anthropic, extra: dict[str, Any]) -> None:
    message = create(claude, "who?", extra_body=extra)
    Person.model_validate_json(message.content[0].text)  # type: ignore[union-attr]


def test_system_as_string_blocks_or_system_messages(claude: anthropic.Anthropic) -> None:
    assert create(claude, "hi", system="You are a pirate.").content[0].text == "Arr!"  # type: ignore[union-attr]
    blocks: Any = [{"type": "text", "text": "Be brief."}, {"type": "text", "text": "Talk like a pirate."}]
    assert create(claude, "hi", system=blocks).content[0].text == "Arr!"  # type: ignore[union-attr]
    inline: Any = [{"role": "system", "content": "You are a pirate."}, *user("hi")]
    assert claude.messages.create(model=MODEL, max_tokens=9, messages=inline).content[0].text == "Arr!"  # type: ignore[union-attr]


def test_a_prefill_does_not_hide_the_user_turn(claude: anthropic.Anthropic) -> None:
    prefill: Any = [*user("hello"), {"role": "assistant", "content": "Sure:"}]
    message = claude.messages.create(model=MODEL, max_tokens=9, messages=prefill)
    assert message.content[0].text == "Hello from mockopper!"  # type: ignore[union-attr]


def test_images_and_documents_do_not_break_text_matching(claude: anthropic.Anthropic, mockopper: Mockopper) -> None:
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
    document = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "a memo"}}
    content: Any = [image, document, {"type": "text", "text": "hello, what are these?"}]
    message = claude.messages.create(model=MODEL, max_tokens=9, messages=[{"role": "user", "content": content}])
    assert message.content[0].text == "Hello from mockopper!"  # type: ignore[union-attr]
    assert mockopper.requests[0].rule == "hello"


# --- token counting and models -------------------------------------------------------------


def test_count_tokens_is_the_usage_estimate(claude: anthropic.Anthropic, mockopper: Mockopper) -> None:
    kwargs: Any = {"model": MODEL, "messages": user("hello there"), "system": "Be brief.", "tools": [WEATHER_TOOL]}
    counted = claude.messages.count_tokens(**kwargs)
    chars = len("Be brief.") + len("hello there") + len("get_weather") + len(WEATHER_TOOL["description"])
    chars += len(json.dumps(WEATHER_TOOL["input_schema"], separators=(",", ":")))
    assert counted.input_tokens == math.ceil(chars / 4)
    assert create(claude, "hello", system="Be brief.", tools=[WEATHER_TOOL]).usage.input_tokens == math.ceil(
        (chars - len("hello there") + len("hello")) / 4
    )
    record = mockopper.requests[0]
    assert (record.api, record.rule, record.status) == ("count_tokens", None, 200)


def test_count_tokens_can_be_scripted(mockopper: Mockopper, connect: Callable[..., anthropic.Anthropic]) -> None:
    mockopper.load("""
rules:
  - match: {api: count_tokens, message: big}
    reply: {error: {status: 413, message: Prompt is too long}}
  - match: {api: count_tokens}
    reply: {text: unused, usage: {input_tokens: 4242}}
  - reply: {text: a rule without api never counts tokens}
""")
    client = connect()
    assert client.messages.count_tokens(model=MODEL, messages=user("hi")).input_tokens == 4242
    with pytest.raises(anthropic.ContentTooLargeError, match="Prompt is too long") as info:
        client.messages.count_tokens(model=MODEL, messages=user("big one"))
    assert info.value.type == "request_too_large"  # type: ignore[comparison-overlap]


def test_models_list_terminates_and_lists_the_fleet(
    mockopper: Mockopper, connect: Callable[..., anthropic.Anthropic]
) -> None:
    mockopper.load({"models": {MODEL: {"display_name": "Sonnet"}, "openai/gpt-5.5": {}}, "rules": []})
    client = connect()
    page = client.models.list()
    assert [m.id for m in page] == [MODEL, "openai/gpt-5.5"]
    assert (page.has_more, page.first_id, page.last_id) == (False, MODEL, "openai/gpt-5.5")
    assert page.data[0].display_name == "Sonnet" and page.data[0].type == "model"
    assert len(mockopper.requests) == 1
    assert client.models.retrieve(MODEL).display_name == "Sonnet"
    with pytest.raises(anthropic.NotFoundError):
        client.models.retrieve("anthropic/claude-nope")
    assert [m.id for m in client.models.list(after_id=MODEL)] == ["openai/gpt-5.5"]


# --- errors, retries, fallback and faults --------------------------------------------------


@pytest.mark.parametrize(
    ("status", "exception", "error_type"),
    [
        (400, anthropic.BadRequestError, "invalid_request_error"),
        (401, anthropic.AuthenticationError, "authentication_error"),
        (403, anthropic.PermissionDeniedError, "permission_error"),
        (404, anthropic.NotFoundError, "not_found_error"),
        (408, anthropic.RequestTimeoutError, "timeout_error"),
        (409, anthropic.ConflictError, "conflict_error"),
        (413, anthropic.ContentTooLargeError, "request_too_large"),
        (422, anthropic.UnprocessableEntityError, "invalid_request_error"),
        (429, anthropic.RateLimitError, "rate_limit_error"),
        (500, anthropic.InternalServerError, "api_error"),
        (502, anthropic.InternalServerError, "api_error"),
        (503, anthropic.ServiceUnavailableError, "api_error"),
        (504, anthropic.GatewayTimeoutError, "timeout_error"),
        (529, anthropic.OverloadedError, "overloaded_error"),
    ],
)
def test_each_error_status_raises_the_sdk_class(
    mockopper: Mockopper,
    status: int,
    exception: type[anthropic.APIStatusError],
    error_type: str,
    connect: Callable[..., anthropic.Anthropic],
) -> None:
    mockopper.load({"rules": [{"reply": {"error": {"status": status, "message": f"scripted {status}"}}}]})
    client = connect()
    with pytest.raises(exception) as info:
        create(client, "anything")
    error = info.value
    assert type(error) is exception and error.status_code == status
    assert error.type == error_type and error.api_message == f"scripted {status}"
    assert error.body == {
        "type": "error",
        "error": {"type": error_type, "message": f"scripted {status}"},
        "request_id": error.request_id,
    }
    assert error.request_id and error.request_id == error.response.headers["request-id"]


def test_rate_limit_headers(claude: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.RateLimitError, match="Too many requests, anthropic/claude-sonnet-4-6") as info:
        create(claude, "slow down")
    headers = info.value.response.headers
    assert (headers["retry-after"], headers["retry-after-ms"]) == ("1", "10")
    assert headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert headers["anthropic-ratelimit-tokens-reset"] == "2026-01-01T00:00:01Z"  # the scenario clock + retry-after


def test_sdk_retries_through_429_and_529(mockopper: Mockopper, connect: Callable[..., anthropic.Anthropic]) -> None:
    mockopper.load("""
rules:
  - replies:
      - error: {status: 429, retry_after: 0.01}
      - error: {status: 529, retry_after: 0.01}
      - text: third time lucky
""")
    client = connect(max_retries=2)
    assert create(client, "retry").content[0].text == "third time lucky"  # type: ignore[union-attr]
    assert [r.status for r in mockopper.requests] == [429, 529, 200]


def test_fallback_chain(mockopper: Mockopper, connect: Callable[..., anthropic.Anthropic]) -> None:
    mockopper.load("fallback.yaml")
    client = connect()
    raw = client.messages.with_raw_response.create(
        model="openai/gpt-5.5", max_tokens=9, messages=user("hi"), extra_body={"fallback_models": [MODEL]}
    )
    message = raw.parse()
    assert message.model == MODEL
    assert message.content[0].text == f"Answered by {MODEL} (you asked for openai/gpt-5.5)."  # type: ignore[union-attr]
    assert raw.headers["x-mockopper-attempts"] == f"openai/gpt-5.5,{MODEL}"
    with pytest.raises(anthropic.RateLimitError, match="Rate limit reached for mistral/mistral-large-latest"):
        client.messages.create(
            model="gemini/gemini-2.5-pro",
            max_tokens=9,
            messages=user("hi"),
            extra_body={"fallback_models": ["mistral/mistral-large-latest"]},
        )


FAULTS = """
rules:
  - {match: {message: drop}, reply: {text: one two three four five, fault: {disconnect_after: 2}}}
  - {match: {message: cut}, reply: {text: one two three four five, fault: {truncate_after: 2}}}
  - match: {message: boom}
    reply: {text: one two three four five, fault: {error_after: 2, error: {status: 529, message: Overloaded now}}}
"""


def test_mid_stream_disconnect(mockopper: Mockopper, connect: Callable[..., anthropic.Anthropic]) -> None:
    mockopper.load(FAULTS)
    client = connect()
    # The Python SDK lets the transport error through unwrapped, as it does against the real API.
    with pytest.raises(httpx2.RemoteProtocolError):
        with client.messages.stream(model=MODEL, max_tokens=9, messages=user("drop")) as stream:
            list(stream.text_stream)
    with pytest.raises(anthropic.APIConnectionError):
        create(client, "drop")  # a JSON body that never arrives is the SDK's own connection error
    assert [r.outcome for r in mockopper.requests] == ["disconnect"] * 2


def test_truncated_stream_returns_the_partial_text(
    mockopper: Mockopper, connect: Callable[..., anthropic.Anthropic]
) -> None:
    mockopper.load(FAULTS)
    client = connect()
    with client.messages.stream(model=MODEL, max_tokens=9, messages=user("cut")) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert (text, final.stop_reason) == ("one two", None)


def test_in_stream_error(mockopper: Mockopper, connect: Callable[..., anthropic.Anthropic]) -> None:
    mockopper.load(FAULTS)
    client = connect()
    pieces: list[str] = []
    with pytest.raises(anthropic.APIStatusError, match="Overloaded now") as info:
        with client.messages.stream(model=MODEL, max_tokens=9, messages=user("boom")) as stream:
            pieces.extend(stream.text_stream)
    assert pieces == ["one", " two"]
    assert info.value.type == "overloaded_error"
    frames = mockopper.requests[0].response_events or []
    assert frames[-1].startswith("event: error\ndata: ")


# --- validation and authentication ---------------------------------------------------------

GOOD: dict[str, Any] = {"model": MODEL, "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
CALL: dict[str, Any] = {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}


def turns(*messages: Any) -> dict[str, Any]:
    return {**GOOD, "messages": list(messages)}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"model": MODEL, "messages": GOOD["messages"]}, "max_tokens: Field required"),
        ({"model": MODEL, "max_tokens": 10}, "messages: Field required"),
        ({"max_tokens": 10, "messages": GOOD["messages"]}, "model: Field required"),
        ({**GOOD, "max_tokens": "10"}, "max_tokens: Input should be a valid integer"),
        ({**GOOD, "messages": "hi"}, "messages: Input should be a valid list"),
        ({**GOOD, "messages": []}, "messages: at least one message is required"),
        (turns({"role": "robot", "content": "x"}), "messages.0.role: Input should be 'user', 'assistant' or 'system'"),
        (turns({"role": "user"}), "messages.0.content: Field required"),
        (turns({"role": "user", "content": 5}), "messages.0.content: Input should be a valid string or a list"),
        (turns({"role": "user", "content": ""}), "messages.0: all messages must have non-empty content"),
        (turns({"role": "user", "content": [{"type": "text", "text": ""}]}), "messages.0.content.0.text: text content"),
        (turns({"role": "user", "content": [{"type": "txt", "text": "x"}]}), "messages.0.content.0: Input tag 'txt'"),
        ({**GOOD, "system": 5}, "system: Input should be a valid string or a list of text blocks"),
        ({**GOOD, "stream": "yes"}, "stream: Input should be a valid boolean"),
        ({**GOOD, "temperature": 1.5}, "temperature: Input should be less than or equal to 1"),
        ({**GOOD, "tool_choice": {"type": "any"}}, "tool_choice: tool_choice may only be specified while providing"),
        ({**GOOD, "tools": [{"name": "f"}]}, "tools.0.input_schema: Field required"),
        (
            {**GOOD, "tools": [WEATHER_TOOL], "tool_choice": {"type": "tool", "name": "f"}},
            "tool_choice.name: Tool 'f' not found",
        ),
        ({**GOOD, "thinking": {"type": "enabled", "budget_tokens": 10}}, "thinking.enabled.budget_tokens: Input"),
        ({**GOOD, "thinking": {"type": "enabled", "budget_tokens": 2000}}, "`max_tokens` must be greater than"),
        ({**GOOD, "output_config": {"format": {"type": "json_schema"}}}, "output_config.format.schema: Field required"),
        ({**GOOD, "fallback_models": "m"}, "Invalid type for 'fallback_models'"),
        (
            turns(
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": [CALL]},
                {"role": "user", "content": "never mind"},
            ),
            "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_1",
        ),
        (
            turns({"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_9", "content": "x"}]}),
            "messages.0.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_9",
        ),
    ],
)
def test_invalid_requests_get_anthropic_400s(claude: anthropic.Anthropic, body: dict[str, Any], message: str) -> None:
    with pytest.raises(anthropic.BadRequestError) as info:
        claude.post("/v1/messages", body=body, cast_to=object)
    assert info.value.type == "invalid_request_error"
    assert info.value.api_message is not None
    assert info.value.api_message.startswith(message)
    assert info.value.response.headers["x-should-retry"] == "false"


@pytest.mark.parametrize("body", [b"{not json", b"", b"[1, 2]", b'{"model": "m", "messages": ' + b"[" * 5000])
def test_malformed_bodies_get_a_400_in_anthropic_shape(mockopper: Mockopper, body: bytes) -> None:
    response = httpx2.post(
        mockopper.base_url + "/v1/messages",
        content=body,
        headers={"x-api-key": "k", "content-type": "application/json"},
    )
    assert response.status_code == 400
    payload = response.json()
    assert payload["type"] == "error" and payload["error"]["type"] == "invalid_request_error"
    assert payload["request_id"] == response.headers["request-id"]


def test_missing_key_is_a_401_in_anthropic_shape(mockopper: Mockopper) -> None:
    response = httpx2.post(mockopper.base_url + "/v1/messages", json=GOOD)
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"


def test_auth_token_and_api_key_are_both_accepted(
    mockopper: Mockopper, connect: Callable[..., anthropic.Anthropic]
) -> None:
    bearer = connect(api_key=None, auth_token="tok")
    assert create(bearer, "hello").content
    response = httpx2.post(mockopper.base_url + "/v1/messages", json=GOOD, headers={"x-api-key": "k"})
    assert response.status_code == 200


def test_unmatched_request_is_a_non_retried_400(
    mockopper: Mockopper, connect: Callable[..., anthropic.Anthropic]
) -> None:
    mockopper.load({"rules": [{"name": "weather", "match": {"message": "weather"}, "reply": {"text": "sunny"}}]})
    mockopper.allow_unmatched = True
    client = connect(max_retries=2)
    with pytest.raises(anthropic.BadRequestError) as info:
        create(client, "hello")
    assert "No rule matched POST /v3/compat/v1/messages" in str(info.value.api_message)
    assert "message: expected to contain 'weather', got 'hello'" in str(info.value.api_message)
    assert len(mockopper.requests) == 1


# --- one scenario, every SDK ---------------------------------------------------------------


def test_one_scenario_answers_openai_and_anthropic(claude: anthropic.Anthropic, client: openai.OpenAI) -> None:
    tool = {"type": "function", "function": {"name": "get_weather", "parameters": WEATHER_TOOL["input_schema"]}}
    chat = client.chat.completions.create(model=MODEL, messages=user("weather?"), tools=[tool])  # type: ignore[list-item]
    message = create(claude, "weather?", tools=[WEATHER_TOOL])
    [chat_call] = chat.choices[0].message.tool_calls or []
    [claude_call] = message.content
    assert json.loads(chat_call.function.arguments) == claude_call.input == {"city": "Paris"}  # type: ignore[union-attr]
    assert chat_call.function.name == claude_call.name == "get_weather"  # type: ignore[union-attr]
    said = client.chat.completions.create(model=MODEL, messages=user("hello")).choices[0].message.content
    assert said == create(claude, "hello").content[0].text == "Hello from mockopper!"  # type: ignore[union-attr]


def test_the_default_scenario_agent_loop_terminates(
    mockopper: Mockopper, connect: Callable[..., anthropic.Anthropic]
) -> None:
    client = connect()
    messages: list[Any] = user("Find the weather")
    for _ in range(4):
        message = client.messages.create(model=MODEL, max_tokens=100, messages=messages, tools=[WEATHER_TOOL])
        calls = [b for b in message.content if b.type == "tool_use"]
        if not calls:
            break
        assert message.stop_reason == "tool_use" and isinstance(calls[0].input["city"], str)
        messages.append({"role": "assistant", "content": message.content})
        results = [{"type": "tool_result", "tool_use_id": c.id, "content": "cloudy"} for c in calls]
        messages.append({"role": "user", "content": results})
    assert len(mockopper.requests) == 2 and "cloudy" in message.content[0].text  # type: ignore[union-attr]


def test_tool_choice_is_honoured(mockopper: Mockopper, connect: Callable[..., anthropic.Anthropic]) -> None:
    client = connect()  # the default scenario: calls the required tool, else the first offered
    email: Any = {"name": "send_email", "input_schema": {"type": "object", "properties": {"to": {"type": "string"}}}}
    tools = [WEATHER_TOOL, email]
    forced = client.messages.create(
        model=MODEL, max_tokens=99, messages=user("go"), tools=tools, tool_choice={"type": "tool", "name": "send_email"}
    )
    assert [(b.type, getattr(b, "name", None)) for b in forced.content] == [("tool_use", "send_email")]
    none = client.messages.create(
        model=MODEL, max_tokens=99, messages=user("go"), tools=tools, tool_choice={"type": "none"}
    )
    assert [b.type for b in none.content] == ["text"] and none.stop_reason == "end_turn"


def test_same_request_same_bytes(claude: anthropic.Anthropic, mockopper: Mockopper) -> None:
    def once() -> bytes:
        mockopper.reset()
        raw = claude.messages.with_raw_response.create(model=MODEL, max_tokens=9, messages=user("think"), stream=True)
        return raw.http_response.read()

    assert once() == once()
