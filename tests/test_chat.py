"""OpenAI Chat Completions through the real `openai` SDK."""

from __future__ import annotations

import json

import httpx2
import openai
import pytest
from pydantic import BaseModel

from mockopper.plugin import Mockopper

SCENARIO = """
name: chat
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
    match: {tool_result: get_weather}
    reply:
      text: "It is {{ tool_result }} in Paris."
  - name: person
    match: {json_schema: true}
    reply:
      json: auto
  - name: templated
    match: {message: {startswith: "echo"}}
    reply:
      text: "{{ request.message | upper }} from {{ request.model }} (call {{ call }}, team {{ request.tags.team }})"
  - name: rate limited
    match: {message: slow down}
    reply:
      error: {status: 429, message: "Too many requests, {{ request.model }}", retry_after: 0.01}
  - name: teapot
    match: {message: forbidden}
    reply:
      error: {status: 403, message: You shall not pass}
  - name: long
    match: {message: long}
    reply:
      text: "one two three four five"
      finish_reason: length
      usage: {input_tokens: 11, output_tokens: 7}
  - name: hello
    match: {message: hello}
    reply:
      text: Hello from mockopper!
"""

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


@pytest.fixture
def chat(mockopper: Mockopper, client: openai.OpenAI) -> openai.OpenAI:
    mockopper.load(SCENARIO)
    return client


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def test_plain_completion(chat: openai.OpenAI, mockopper: Mockopper) -> None:
    result = chat.chat.completions.create(model="openai/gpt-5.5", messages=user("hello there"))
    assert result.choices[0].message.content == "Hello from mockopper!"
    assert result.choices[0].finish_reason == "stop"
    assert result.model == "openai/gpt-5.5"
    assert result.id.startswith("chatcmpl-")
    assert result.object == "chat.completion"
    assert result.usage is not None
    assert result.usage.completion_tokens == 6  # ceil(21 chars / 4)
    assert result.usage.total_tokens == result.usage.prompt_tokens + result.usage.completion_tokens
    [record] = mockopper.requests
    assert (record.api, record.rule, record.status, record.reply_kind) == ("chat", "hello", 200, "text")


def test_stream_sends_role_first_then_deltas_finish_and_done(chat: openai.OpenAI) -> None:
    chunks = list(
        chat.chat.completions.create(
            model="openai/gpt-5.5", messages=user("hello"), stream=True, stream_options={"include_usage": True}
        )
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello from mockopper!"
    assert [c.choices[0].delta.content for c in chunks[1:4]] == ["Hello", " from", " mockopper!"]
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 6
    assert all(c.object == "chat.completion.chunk" and c.id == chunks[0].id for c in chunks)


def test_stream_without_include_usage_has_no_usage_chunk(chat: openai.OpenAI) -> None:
    chunks = list(chat.chat.completions.create(model="m", messages=user("hello"), stream=True))
    assert all(c.choices for c in chunks)  # a naive `chunk.choices[0]` loop works, as with the real API


def test_stream_helper_collects_text(chat: openai.OpenAI) -> None:
    with chat.chat.completions.stream(model="openai/gpt-5.5", messages=user("hello")) as stream:
        deltas = [e.delta for e in stream if e.type == "content.delta"]
        final = stream.get_final_completion()
    assert "".join(deltas) == "Hello from mockopper!"
    assert final.choices[0].message.content == "Hello from mockopper!"
    assert final.choices[0].finish_reason == "stop"


def test_tool_call(chat: openai.OpenAI, mockopper: Mockopper) -> None:
    result = chat.chat.completions.create(model="m", messages=user("what's the weather?"), tools=[WEATHER_TOOL])
    message = result.choices[0].message
    assert result.choices[0].finish_reason == "tool_calls"
    assert message.content is None
    [call] = message.tool_calls or []
    assert call.type == "function" and call.id.startswith("call_")
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    assert mockopper.requests[0].reply_kind == "tool_calls"


def test_parallel_tool_calls_with_preface(chat: openai.OpenAI) -> None:
    result = chat.chat.completions.create(model="m", messages=user("compare Paris and Oslo"), tools=[WEATHER_TOOL])
    message = result.choices[0].message
    assert message.content == "Let me check both."
    calls = message.tool_calls or []
    assert [json.loads(c.function.arguments) for c in calls] == [{"city": "Paris"}, {"city": "Oslo"}]
    assert len({c.id for c in calls}) == 2


def test_streamed_parallel_tool_calls_keep_their_index(chat: openai.OpenAI) -> None:
    chunks = list(chat.chat.completions.create(model="m", messages=user("compare"), tools=[WEATHER_TOOL], stream=True))
    args: dict[int, str] = {}
    ids: dict[int, str] = {}
    for chunk in chunks:
        for tc in chunk.choices[0].delta.tool_calls or []:
            args[tc.index] = args.get(tc.index, "") + (tc.function.arguments or "" if tc.function else "")
            if tc.id:
                ids[tc.index] = tc.id
                assert tc.type == "function" and tc.function and tc.function.name == "get_weather"
    assert {i: json.loads(a) for i, a in args.items()} == {0: {"city": "Paris"}, 1: {"city": "Oslo"}}
    assert len(set(ids.values())) == 2
    fragments = sum(1 for c in chunks for tc in c.choices[0].delta.tool_calls or [] if not tc.id)
    assert fragments > 2  # the arguments really stream in pieces
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_stream_helper_with_tools(chat: openai.OpenAI) -> None:
    with chat.chat.completions.stream(model="m", messages=user("compare"), tools=[WEATHER_TOOL]) as stream:
        final = stream.get_final_completion()
    calls = final.choices[0].message.tool_calls or []
    assert [json.loads(c.function.arguments)["city"] for c in calls] == ["Paris", "Oslo"]
    assert final.choices[0].message.content == "Let me check both."


def test_tool_loop_answers_the_tool_result(chat: openai.OpenAI) -> None:
    messages: list[dict[str, object]] = [{"role": "user", "content": "weather in Paris?"}]
    first = chat.chat.completions.create(model="m", messages=messages, tools=[WEATHER_TOOL])  # type: ignore[arg-type]
    call = (first.choices[0].message.tool_calls or [])[0]
    messages.append(first.choices[0].message.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": call.id, "content": "sunny, 21C"})
    second = chat.chat.completions.create(model="m", messages=messages, tools=[WEATHER_TOOL])  # type: ignore[arg-type]
    assert second.choices[0].message.content == "It is sunny, 21C in Paris."
    assert second.choices[0].finish_reason == "stop"


class Address(BaseModel):
    street: str
    city: str


class Person(BaseModel):
    name: str
    age: int
    email: str
    addresses: list[Address]
    role: str | None


def test_structured_output_parses_into_pydantic(chat: openai.OpenAI, mockopper: Mockopper) -> None:
    result = chat.chat.completions.parse(model="m", messages=user("who is it?"), response_format=Person)
    person = result.choices[0].message.parsed
    assert isinstance(person, Person)
    assert person.addresses and all(a.city for a in person.addresses)
    assert "@" in person.email
    assert mockopper.requests[0].rule == "person"


def test_json_object_mode_returns_json(chat: openai.OpenAI) -> None:
    result = chat.chat.completions.create(
        model="m", messages=user("some json"), response_format={"type": "json_object"}
    )
    assert isinstance(json.loads(result.choices[0].message.content or ""), dict)


def test_templates_see_the_request(chat: openai.OpenAI) -> None:
    result = chat.chat.completions.create(
        model="anthropic/claude-sonnet-4-6", messages=user("echo me"), extra_body={"tags": {"team": "search"}}
    )
    assert result.choices[0].message.content == "ECHO ME from anthropic/claude-sonnet-4-6 (call 1, team search)"
    again = chat.chat.completions.create(model="m", messages=user("echo"))
    assert again.choices[0].message.content == "ECHO from m (call 2, team )"


def test_scripted_usage_and_finish_reason(chat: openai.OpenAI) -> None:
    result = chat.chat.completions.create(model="m", messages=user("long one"))
    assert result.choices[0].finish_reason == "length"
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (11, 7)  # type: ignore[union-attr]


def test_scripted_error_raises_the_sdk_class_with_the_message(chat: openai.OpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as info:
        chat.chat.completions.create(model="openai/gpt-5.5", messages=user("slow down please"))
    assert info.value.status_code == 429
    assert "Too many requests, openai/gpt-5.5" in str(info.value)
    assert info.value.response.headers["retry-after-ms"] == "10"
    assert info.value.response.headers["retry-after"] == "1"
    assert info.value.type == "rate_limit_error"
    with pytest.raises(openai.PermissionDeniedError, match="You shall not pass"):
        chat.chat.completions.create(model="m", messages=user("forbidden"))


def test_sdk_retries_a_scripted_429(mockopper: Mockopper) -> None:
    mockopper.load("""
rules:
  - match: {message: retry}
    replies:
      - error: {status: 429, retry_after: 0.01}
      - error: {status: 503, retry_after: 0.01}
      - text: third time lucky
""")
    client = openai.OpenAI(base_url=mockopper.base_url, api_key="k", max_retries=2)
    result = client.chat.completions.create(model="m", messages=user("retry"))
    assert result.choices[0].message.content == "third time lucky"
    assert [r.status for r in mockopper.requests] == [429, 503, 200]


def test_extras_are_accepted_and_journaled(chat: openai.OpenAI, mockopper: Mockopper) -> None:
    chat.chat.completions.create(
        model="m",
        messages=user("hello"),
        extra_body={
            "fallback_models": ["anthropic/claude-sonnet-4-6"],
            "tags": {"team": "a", "n": 2},
            "span_uuid": "0b1c",
            "evaluate": False,
        },
    )
    [record] = mockopper.requests
    assert record.fallback_models == ["anthropic/claude-sonnet-4-6"]
    assert record.tags == {"team": "a", "n": 2}
    assert (record.span_uuid, record.evaluate) == ("0b1c", False)
    assert record.chain == ["m", "anthropic/claude-sonnet-4-6"]


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"fallback_models": "openai/gpt-5.5"}, "fallback_models"),
        ({"fallback_models": [1]}, "fallback_models[0]"),
        ({"tags": ["a"]}, "tags"),
        ({"span_uuid": 5}, "span_uuid"),
        ({"evaluate": "no"}, "evaluate"),
    ],
)
def test_extras_of_the_wrong_type_are_a_400_naming_the_field(
    chat: openai.OpenAI, extra: dict[str, object], param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        chat.chat.completions.create(model="m", messages=user("hello"), extra_body=extra)
    assert info.value.param == param
    assert f"'{param}'" in info.value.message


def test_multipart_content_is_matched_by_its_text(chat: openai.OpenAI, mockopper: Mockopper) -> None:
    result = chat.chat.completions.create(
        model="m",
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                    {"type": "text", "text": "hello, what is in this image?"},
                ],
            }
        ],
    )
    assert result.choices[0].message.content == "Hello from mockopper!"
    assert mockopper.requests[0].rule == "hello"


def test_n_gives_that_many_choices_of_the_same_answer(chat: openai.OpenAI) -> None:
    result = chat.chat.completions.create(model="m", messages=user("compare Paris and Oslo"), n=3, tools=[WEATHER_TOOL])  # type: ignore[list-item]
    assert [c.index for c in result.choices] == [0, 1, 2]
    assert {c.message.content for c in result.choices} == {"Let me check both."}
    for choice in result.choices:
        assert choice.finish_reason == "tool_calls"
        assert [t.function.name for t in choice.message.tool_calls or []] == ["get_weather", "get_weather"]


def test_a_stream_with_n_sends_each_choice_its_own_chunks(chat: openai.OpenAI) -> None:
    chunks = list(chat.chat.completions.create(model="m", messages=user("hello"), n=2, stream=True))
    assert all(len(c.choices) == 1 for c in chunks)  # one choice a chunk, as OpenAI streams them
    for index in (0, 1):
        mine = [c.choices[0] for c in chunks if c.choices[0].index == index]
        assert "".join(c.delta.content or "" for c in mine) == "Hello from mockopper!"
        assert mine[0].delta.role == "assistant" and mine[-1].finish_reason == "stop"
    with chat.chat.completions.stream(model="m", messages=user("compare"), n=2, tools=[WEATHER_TOOL]) as stream:  # type: ignore[list-item]
        final = stream.get_final_completion()
    assert [len(c.message.tool_calls or []) for c in final.choices] == [2, 2]


def test_logprobs_come_with_each_token_streamed_or_not(chat: openai.OpenAI) -> None:
    result = chat.chat.completions.create(model="m", messages=user("hello"), logprobs=True, top_logprobs=3)
    logprobs = result.choices[0].logprobs
    assert logprobs is not None and logprobs.content is not None
    assert "".join(t.token for t in logprobs.content) == "Hello from mockopper!"
    assert all(len(t.top_logprobs) == 3 and t.top_logprobs[0].token == t.token for t in logprobs.content)
    assert all(t.bytes == list(t.token.encode()) for t in logprobs.content)
    with chat.chat.completions.stream(model="m", messages=user("hello"), logprobs=True, top_logprobs=3) as stream:
        final = stream.get_final_completion()
    streamed = final.choices[0].logprobs
    assert streamed is not None and streamed.content == logprobs.content
    plain = chat.chat.completions.create(model="m", messages=user("hello"))
    assert plain.choices[0].logprobs is None  # only when asked for


@pytest.mark.parametrize(
    ("kwargs", "param", "fragment"),
    [
        ({"messages": [{"role": "user", "content": "hi"}]}, "model", "Missing required parameter: 'model'"),
        ({"model": "m"}, "messages", "Missing required parameter: 'messages'"),
        ({"model": "m", "messages": "hi"}, "messages", "expected an array, but got a string"),
        ({"model": 5, "messages": []}, "model", "expected a string, but got an integer"),
        ({"model": "m", "messages": [{"role": "robot", "content": "x"}]}, "messages[0].role", "'robot'"),
        ({"model": "m", "messages": [{"role": "user", "content": 5}]}, "messages[0].content", "got an integer"),
        ({"model": "m", "messages": [{"role": "tool", "content": "x"}]}, "messages[0].tool_call_id", "Missing"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": "yes"}, "stream", "boolean"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": {}}, "tools", "an array"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "n": 0}, "n", "Expected a value >= 1"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "n": 129}, "n", "Expected a value <= 128"),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "n": "2"}, "n", "expected an integer"),
        (
            {"model": "m", "messages": [{"role": "user", "content": "x"}], "logprobs": True, "top_logprobs": 21},
            "top_logprobs",
            "Expected a value <= 20",
        ),
        (
            {"model": "m", "messages": [{"role": "user", "content": "x"}], "top_logprobs": 2},
            "top_logprobs",
            "requires 'logprobs' to be true",
        ),
        (
            {"model": "m", "messages": [{"role": "user", "content": "x"}], "tool_choice": "sometimes"},
            "tool_choice",
            "'sometimes'",
        ),
    ],
)
def test_invalid_requests_get_openai_400s(
    chat: openai.OpenAI, kwargs: dict[str, object], param: str, fragment: str
) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        chat.post("/chat/completions", body=kwargs, cast_to=object)
    assert info.value.status_code == 400
    assert info.value.param == param
    assert fragment in info.value.message
    assert info.value.response.headers["x-should-retry"] == "false"


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"", b"[1, 2]", b"\xff\xfe\x00garbage", b'{"model": "m", "messages": ' + b"[" * 5000],
)
def test_malformed_bodies_get_a_400_in_openai_shape(mockopper: Mockopper, body: bytes) -> None:
    # No SDK can send a malformed body, so this one is raw HTTP.
    response = httpx2.post(
        mockopper.base_url + "/chat/completions",
        content=body,
        headers={"authorization": "Bearer k", "content-type": "application/json"},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and error["message"]


def test_missing_key_is_a_401(mockopper: Mockopper) -> None:
    response = httpx2.post(mockopper.base_url + "/chat/completions", json={"model": "m", "messages": user("hi")})
    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"


@pytest.mark.parametrize(
    "auth",
    [{"authorization": "Bearer k"}, {"x-api-key": "k"}, {"x-goog-api-key": "k"}, {"x-opper-api-key": "k"}],
)
def test_every_key_header_is_accepted(mockopper: Mockopper, auth: dict[str, str]) -> None:
    response = httpx2.post(
        mockopper.base_url + "/chat/completions", json={"model": "m", "messages": user("hi")}, headers=auth
    )
    assert response.status_code == 200


def test_key_query_parameter_is_accepted(mockopper: Mockopper) -> None:
    response = httpx2.post(mockopper.base_url + "/chat/completions?key=k", json={"model": "m", "messages": user("hi")})
    assert response.status_code == 200


def test_server_api_key_refuses_other_keys(server_factory: object) -> None:
    server = server_factory(api_key="sekrit")  # type: ignore[operator]
    good = openai.OpenAI(base_url=server.base_url, api_key="sekrit", max_retries=0)
    assert good.chat.completions.create(model="m", messages=user("hi")).choices[0].message.content
    bad = openai.OpenAI(base_url=server.base_url, api_key="other", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(model="m", messages=user("hi"))


def test_unmatched_request_is_a_non_retried_400_naming_the_closest_rules(mockopper: Mockopper) -> None:
    mockopper.load("""
rules:
  - name: weather
    match: {model: "openai/*", message: weather}
    reply: {text: sunny}
  - name: tools only
    match: {tools: true}
    reply: {tool_calls: auto}
""")
    mockopper.allow_unmatched = True
    client = openai.OpenAI(base_url=mockopper.base_url, api_key="k", max_retries=2)
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(model="anthropic/claude-sonnet-4-6", messages=user("hello"))
    message = info.value.message
    assert "No rule matched POST /v3/compat/chat/completions (model 'anthropic/claude-sonnet-4-6')" in message
    assert "model: expected 'openai/*', got 'anthropic/claude-sonnet-4-6'" in message
    assert "message: expected to contain 'weather', got 'hello'" in message
    assert "tools: expected some tool offered, got none" in message
    assert info.value.response.headers["x-should-retry"] == "false"
    [record] = mockopper.requests  # not retried
    assert record.unmatched and record.explanation == info.value.body["message"]  # type: ignore[index]


def test_response_headers_report_the_model_and_attempts(chat: openai.OpenAI) -> None:
    raw = chat.chat.completions.with_raw_response.create(model="openai/gpt-5.5", messages=user("hello"))
    assert raw.headers["x-mockopper-model"] == "openai/gpt-5.5"
    assert raw.headers["x-mockopper-attempts"] == "openai/gpt-5.5"
    assert raw.headers["x-mockopper-rule"] == "hello"
    assert raw.headers["content-type"] == "application/json"


def test_unknown_path_is_a_404_every_sdk_can_read(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        client.get("/no/such/thing", cast_to=object)


def test_the_journal_keeps_the_start_of_a_very_long_stream(mockopper: Mockopper, client: openai.OpenAI) -> None:
    mockopper.load({"rules": [{"reply": {"text": "word " * 3000, "stream": {"chunk": 5}}}]})  # ~400 kB of events
    chunks = list(client.chat.completions.create(model="m", messages=user("long"), stream=True))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "word " * 3000
    [record] = mockopper.requests
    assert record.response_events is not None
    kept = sum(len(f) for f in record.response_events)
    assert 64 * 1024 <= kept < 64 * 1024 + 1024  # bounded: the rest is counted, not kept
    assert record.events_omitted == len(chunks) + 1 - len(record.response_events)  # +1: the [DONE] line


def test_line_separators_in_text_never_split_an_event(mockopper: Mockopper, client: openai.OpenAI) -> None:
    text = "one\u2028two\u2029three\x85four\nfive"
    mockopper.load({"rules": [{"reply": {"text": text}}]})
    with client.chat.completions.with_streaming_response.create(model="m", messages=user("x"), stream=True) as raw:
        body = b"".join(raw.iter_bytes()).decode()
    for line in body.splitlines():  # str.splitlines breaks on U+2028, U+2029 and NEL too
        if line.startswith("data: {"):
            json.loads(line[6:])
    chunks = client.chat.completions.create(model="m", messages=user("x"), stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == text
