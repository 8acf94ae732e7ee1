"""OpenAI Responses through the real `openai` SDK: create, streams, tools, structured output, errors."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import openai
import pytest
from pydantic import BaseModel
from surfaces import OPENRESPONSES_KEYS

from mockopper.plugin import Mockopper

SCENARIO = """
name: responses
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
        - {name: get_weather, arguments: {city: Oslo}}
  - name: after weather
    match: {tool_result: get_weather}
    reply:
      text: "It is {{ tool_result }} in Paris."
  - name: person
    match: {json_schema: true}
    reply:
      json: auto
  - name: think
    match: {message: think}
    reply:
      text: The answer is 42.
      reasoning: Six times seven is forty-two.
  - name: pirate
    match: {system: pirate, message: hello}
    reply:
      text: Ahoy!
  - name: memory
    match: {any_message: cobalt, turn: 2}
    reply:
      text: The code word is cobalt.
  - name: long
    match: {message: long}
    reply:
      text: one two three
      finish_reason: length
  - name: hello
    match: {message: hello}
    reply:
      text: Hello from mockopper!
  - name: ok
    match: {message: remember}
    reply:
      text: OK.
"""

WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
}

# Every key a response body carries: the OpenResponses 31, plus OpenAI's `user` and Opper's `cost`.
RESPONSE_KEYS = OPENRESPONSES_KEYS | {"user", "cost"}


@pytest.fixture
def responses(mockopper: Mockopper, client: openai.OpenAI) -> openai.OpenAI:
    mockopper.load(SCENARIO)
    return client


def test_create_returns_a_complete_response_object(responses: openai.OpenAI, mockopper: Mockopper) -> None:
    result = responses.responses.create(model="openai/gpt-5.5", input="hello there")
    assert result.output_text == "Hello from mockopper!"
    assert result.id.startswith("resp_") and result.object == "response"
    assert (result.status, result.model, result.error) == ("completed", "openai/gpt-5.5", None)
    [message] = result.output
    assert message.type == "message" and message.id.startswith("msg_")
    assert message.role == "assistant" and message.status == "completed"
    assert message.content[0].type == "output_text" and message.content[0].annotations == []
    assert result.usage is not None
    assert result.usage.output_tokens == 6  # ceil(21 chars / 4)
    assert result.usage.total_tokens == result.usage.input_tokens + result.usage.output_tokens
    assert result.usage.input_tokens_details.cached_tokens == 0
    [record] = mockopper.requests
    assert (record.api, record.rule, record.status, record.reply_kind) == ("responses", "hello", 200, "text")
    assert set(record.response_body) == RESPONSE_KEYS


def test_request_fields_are_echoed(responses: openai.OpenAI) -> None:
    result = responses.responses.create(
        model="m",
        input="hello",
        temperature=0.2,
        top_p=0.5,
        max_output_tokens=100,
        metadata={"run": "7"},
        tools=[WEATHER_TOOL, {"type": "web_search"}],
        tool_choice="none",
        truncation="auto",
        store=True,
        reasoning={"effort": "low"},
    )
    assert (result.temperature, result.top_p, result.max_output_tokens) == (0.2, 0.5, 100)
    assert result.metadata == {"run": "7"} and result.truncation == "auto" and result.tool_choice == "none"
    assert result.reasoning is not None and (result.reasoning.effort, result.reasoning.summary) == ("low", None)
    assert [tool.type for tool in result.tools] == ["function", "web_search"]
    assert result.tools[0].name == "get_weather" and result.tools[0].parameters == WEATHER_TOOL["parameters"]


def test_stream_sends_the_typed_event_sequence(responses: openai.OpenAI) -> None:
    events = list(responses.responses.create(model="m", input="hello", stream=True))
    assert [e.type for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    created, completed = events[0], events[-1]
    assert created.response.status == "in_progress" and created.response.output == []  # type: ignore[union-attr]
    assert completed.response.id == created.response.id  # type: ignore[union-attr]
    assert completed.response.usage.output_tokens == 6  # type: ignore[union-attr]
    added, done = events[2], events[-2]
    assert added.item.id == done.item.id and added.item.status == "in_progress"  # type: ignore[union-attr]
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == "Hello from mockopper!"  # type: ignore[union-attr]


def test_stream_helper_collects_text_and_the_final_response(responses: openai.OpenAI) -> None:
    with responses.responses.stream(model="m", input="hello") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == "Hello from mockopper!"
    assert final.output_text == "Hello from mockopper!" and final.status == "completed"


def test_sse_lines_name_each_event_and_no_done_sentinel(mockopper: Mockopper) -> None:
    mockopper.load(SCENARIO)
    body = {"model": "m", "input": "hello", "stream": True}
    with httpx2.stream(
        "POST", mockopper.base_url + "/responses", json=body, headers={"authorization": "Bearer k"}
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        raw = response.read().decode()
    blocks = raw.split("\n\n")
    assert blocks[-1] == "" and "[DONE]" not in raw  # OpenAI's Responses stream has no sentinel
    for block in blocks[:-1]:
        name, data = block.split("\n")
        assert name == "event: " + json.loads(data.removeprefix("data: "))["type"]


def test_function_call_and_tool_loop(responses: openai.OpenAI) -> None:
    first = responses.responses.create(model="m", input="what's the weather?", tools=[WEATHER_TOOL])  # type: ignore[list-item]
    [call] = first.output
    assert call.type == "function_call" and call.name == "get_weather"
    assert call.id.startswith("fc_") and call.call_id.startswith("call_") and call.status == "completed"
    assert json.loads(call.arguments) == {"city": "Paris"}
    # The whole conversation sent back as items, as a stateless client does.
    second = responses.responses.create(
        model="m",
        input=[
            {"role": "user", "content": "what's the weather?"},
            call.model_dump(exclude_none=True),  # type: ignore[list-item]
            {"type": "function_call_output", "call_id": call.call_id, "output": "sunny, 21C"},
        ],
        tools=[WEATHER_TOOL],  # type: ignore[list-item]
    )
    assert second.output_text == "It is sunny, 21C in Paris."
    # Or only the tool result, continuing the stored response.
    third = responses.responses.create(
        model="m",
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "rainy"}],
        tools=[WEATHER_TOOL],  # type: ignore[list-item]
    )
    assert third.output_text == "It is rainy in Paris."
    assert third.previous_response_id == first.id


def test_a_tool_result_without_its_call_is_refused(responses: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        responses.responses.create(
            model="m", input=[{"type": "function_call_output", "call_id": "call_nowhere", "output": "x"}]
        )
    assert "No tool call found for function call output with call_id call_nowhere." in info.value.message


def test_streamed_function_calls_with_a_preface(responses: openai.OpenAI) -> None:
    with responses.responses.stream(model="m", input="compare Paris and Oslo", tools=[WEATHER_TOOL]) as stream:  # type: ignore[list-item]
        events = list(stream)
        final = stream.get_final_response()
    fragments = [e for e in events if e.type == "response.function_call_arguments.delta"]
    assert len(fragments) > 2  # the arguments really stream in pieces
    kinds = [item.type for item in final.output]
    assert kinds == ["message", "function_call", "function_call"]
    assert final.output_text == "Let me check both."
    calls = [item for item in final.output if item.type == "function_call"]
    assert [json.loads(c.arguments)["city"] for c in calls] == ["Paris", "Oslo"]
    assert len({c.call_id for c in calls}) == 2


class Address(BaseModel):
    street: str
    city: str


class Person(BaseModel):
    name: str
    age: int
    addresses: list[Address]


def test_parse_into_a_pydantic_model(responses: openai.OpenAI, mockopper: Mockopper) -> None:
    result = responses.responses.parse(model="m", input="who is it?", text_format=Person)
    person = result.output_parsed
    assert isinstance(person, Person)
    assert person.addresses and all(a.city for a in person.addresses)
    assert result.text is not None and result.text.format.type == "json_schema"
    assert result.text.format.name == "Person"  # type: ignore[union-attr]
    assert mockopper.requests[0].rule == "person"


def test_stream_helper_parses_structured_output(responses: openai.OpenAI) -> None:
    with responses.responses.stream(model="m", input="who?", text_format=Person) as stream:
        final = stream.get_final_response()
    assert isinstance(final.output_parsed, Person)


def test_instructions_are_the_system_text(responses: openai.OpenAI) -> None:
    result = responses.responses.create(model="m", instructions="You are a pirate.", input="hello")
    assert result.output_text == "Ahoy!" and result.instructions == "You are a pirate."
    as_item = responses.responses.create(
        model="m", input=[{"role": "developer", "content": "Talk like a pirate."}, {"role": "user", "content": "hello"}]
    )
    assert as_item.output_text == "Ahoy!"


def test_previous_response_id_continues_the_conversation(responses: openai.OpenAI) -> None:
    first = responses.responses.create(model="m", input="remember the code word cobalt")
    assert first.output_text == "OK."
    second = responses.responses.create(model="m", previous_response_id=first.id, input="what was it?")
    assert second.output_text == "The code word is cobalt."
    assert second.previous_response_id == first.id


def test_unknown_or_unstored_previous_response_is_not_found(responses: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        responses.responses.create(model="m", previous_response_id="resp_nope", input="hi")
    assert info.value.code == "previous_response_not_found" and info.value.param == "previous_response_id"
    assert "Previous response with id 'resp_nope' not found." in info.value.message
    unstored = responses.responses.create(model="m", input="remember cobalt", store=False)
    with pytest.raises(openai.BadRequestError, match="not found"):
        responses.responses.create(model="m", previous_response_id=unstored.id, input="what was it?")


def test_item_reference_resolves_a_stored_item(responses: openai.OpenAI) -> None:
    first = responses.responses.create(model="m", input="remember the code word cobalt")
    second = responses.responses.create(
        model="m",
        input=[
            {"role": "user", "content": "remember the code word cobalt"},
            {"type": "item_reference", "id": first.output[0].id},
            {"role": "user", "content": "what was it?"},
        ],
    )
    assert second.output_text == "The code word is cobalt."
    with pytest.raises(openai.NotFoundError):
        responses.responses.create(model="m", input=[{"type": "item_reference", "id": "msg_nope"}])


def test_reasoning_item_and_its_stream(responses: openai.OpenAI) -> None:
    result = responses.responses.create(model="m", input="think hard")
    reasoning, message = result.output
    assert reasoning.type == "reasoning" and reasoning.id.startswith("rs_")
    assert [s.text for s in reasoning.summary] == ["Six times seven is forty-two."]
    assert message.type == "message" and result.output_text == "The answer is 42."
    assert result.usage is not None and result.usage.output_tokens_details.reasoning_tokens == 8
    with responses.responses.stream(model="m", input="think") as stream:
        pieces = [e.delta for e in stream if e.type == "response.reasoning_summary_text.delta"]
        final = stream.get_final_response()
    assert "".join(pieces) == "Six times seven is forty-two."
    assert final.output[0].summary[0].text == "Six times seven is forty-two."  # type: ignore[union-attr]


def test_a_reasoning_item_carries_encrypted_content_a_stateless_turn_sends_back(responses: openai.OpenAI) -> None:
    first = responses.responses.create(
        model="m", input="think hard", store=False, include=["reasoning.encrypted_content"]
    )
    reasoning = first.output[0]
    assert reasoning.type == "reasoning"
    assert isinstance(reasoning.encrypted_content, str) and reasoning.encrypted_content
    with responses.responses.stream(model="m", input="think hard", store=False) as stream:
        events = list(stream)
    added = [e.item for e in events if e.type == "response.output_item.added" and e.item.type == "reasoning"]
    done = [e.item for e in events if e.type == "response.output_item.done" and e.item.type == "reasoning"]
    assert [item.encrypted_content for item in added] == [None]  # not known yet as the item starts
    assert [item.encrypted_content for item in done] == [reasoning.encrypted_content]
    # The next turn (store: false) carries the whole conversation, the reasoning item included.
    history = [{"role": "user", "content": "think hard"}]
    history += [item.model_dump(exclude_none=True) for item in first.output]
    second = responses.responses.create(
        model="m", input=[*history, {"role": "user", "content": "hello again"}], store=False
    )
    assert second.status == "completed" and second.output_text


def test_included_logprobs_come_with_the_text_streamed_or_not(responses: openai.OpenAI) -> None:
    asked: dict[str, Any] = {"include": ["message.output_text.logprobs"], "top_logprobs": 2}
    result = responses.responses.create(model="m", input="hello", **asked)
    part = result.output[0].content[0]  # type: ignore[union-attr]
    assert part.type == "output_text" and part.logprobs
    assert "".join(t.token for t in part.logprobs) == part.text
    assert all(len(t.top_logprobs) == 2 for t in part.logprobs)
    with responses.responses.stream(model="m", input="hello", **asked) as stream:
        deltas = [t for e in stream if e.type == "response.output_text.delta" for t in e.logprobs]
        final = stream.get_final_response()
    assert final.output[0].content[0].logprobs == part.logprobs  # type: ignore[union-attr]
    assert "".join(t.token for t in deltas) == part.text
    plain = responses.responses.create(model="m", input="hello")
    assert plain.output[0].content[0].logprobs is None  # type: ignore[union-attr]


def test_length_finish_is_an_incomplete_response(responses: openai.OpenAI) -> None:
    result = responses.responses.create(model="m", input="long story")
    assert result.status == "incomplete"
    assert result.incomplete_details is not None and result.incomplete_details.reason == "max_output_tokens"
    assert result.output[-1].status == "incomplete"
    events = list(responses.responses.create(model="m", input="long story", stream=True))
    assert events[-1].type == "response.incomplete"


def test_compact_then_continue_from_the_compacted_window(responses: openai.OpenAI) -> None:
    compacted = responses.responses.compact(
        model="m",
        input=[
            {"role": "user", "content": "remember the code word cobalt"},
            {"role": "assistant", "content": "OK."},
        ],
    )
    assert compacted.object == "response.compaction" and compacted.id.startswith("cmp_")
    [item] = compacted.output
    assert item.type == "compaction" and item.encrypted_content
    follow = responses.responses.create(
        model="m",
        input=[item.model_dump(exclude_none=True), {"role": "user", "content": "what was it?"}],  # type: ignore[list-item]
    )
    assert follow.output_text == "The code word is cobalt."


# The SDK's WebSocket client calls websockets' connect() in a way websockets 17 deprecates.
SDK_WEBSOCKET_WARNING = "ignore:connect\\(\\) must be used as a context manager:DeprecationWarning"


@pytest.mark.filterwarnings(SDK_WEBSOCKET_WARNING)
def test_websocket_mode_through_the_sdk(responses: openai.OpenAI, mockopper: Mockopper) -> None:
    with responses.responses.connect() as connection:
        connection.response.create(model="m", input="remember the code word cobalt", store=False)
        first = next(e for e in connection if e.type == "response.completed")
        connection.response.create(model="m", previous_response_id=first.response.id, input="what was it?")
        events = []
        for event in connection:
            events.append(event)
            if event.type == "response.completed":
                break
    assert events[-1].response.output_text == "The code word is cobalt."  # type: ignore[union-attr]
    assert [e.sequence_number for e in events] == list(range(len(events)))  # type: ignore[union-attr]
    assert [(r.method, r.api, r.status) for r in mockopper.requests] == [("WEBSOCKET", "responses", 200)] * 2


# --- errors, faults, fallback, retries ------------------------------------------------------

ERROR_CLASSES = [
    (400, openai.BadRequestError),
    (401, openai.AuthenticationError),
    (403, openai.PermissionDeniedError),
    (404, openai.NotFoundError),
    (409, openai.ConflictError),
    (422, openai.UnprocessableEntityError),
    (429, openai.RateLimitError),
    (500, openai.InternalServerError),
    (503, openai.InternalServerError),
    (529, openai.InternalServerError),
]


@pytest.mark.parametrize(("status", "exception"), ERROR_CLASSES)
def test_each_error_status_raises_the_sdk_class_with_the_message(
    client: openai.OpenAI, mockopper: Mockopper, status: int, exception: type[openai.APIStatusError]
) -> None:
    mockopper.load(f"rules:\n  - reply: {{error: {{status: {status}, message: 'scripted {status} failure'}}}}\n")
    with pytest.raises(exception) as info:
        client.responses.create(model="m", input="hi")
    assert info.value.status_code == status
    assert f"scripted {status} failure" in info.value.message
    assert info.value.body["message"] == f"scripted {status} failure"  # type: ignore[index]


def test_fallback_chain_answered_by_the_second_model(client: openai.OpenAI, mockopper: Mockopper) -> None:
    mockopper.load("""
models:
  openai/gpt-5.5: {error: {status: 503, message: upstream overloaded}}
  anthropic/claude-sonnet-4-6: {}
rules:
  - reply: {text: "answered by {{ request.model }}"}
""")
    raw = client.responses.with_raw_response.create(
        model="openai/gpt-5.5", input="hi", extra_body={"fallback_models": ["anthropic/claude-sonnet-4-6"]}
    )
    result = raw.parse()
    assert result.model == "anthropic/claude-sonnet-4-6"
    assert result.output_text == "answered by anthropic/claude-sonnet-4-6"
    assert raw.headers["x-mockopper-attempts"] == "openai/gpt-5.5,anthropic/claude-sonnet-4-6"


def test_exhausted_fallback_chain_raises_the_last_failure(client: openai.OpenAI, mockopper: Mockopper) -> None:
    mockopper.load("""
models:
  openai/gpt-5.5: {error: {status: 503, message: first is down}}
  openai/gpt-5-mini: {error: {status: 500, message: second is down}}
rules:
  - reply: {text: never}
""")
    with pytest.raises(openai.InternalServerError, match="second is down"):
        client.responses.create(
            model="openai/gpt-5.5", input="hi", extra_body={"fallback_models": ["openai/gpt-5-mini"]}
        )
    [record] = mockopper.requests
    assert [a["model"] for a in record.attempts] == ["openai/gpt-5.5", "openai/gpt-5-mini"]


NO_COMPLETION = r"Didn't receive a `response\.completed` event"
FAULTS = """
rules:
  - match: {message: drop}
    reply: {text: "one two three four five", fault: {disconnect_after: 2}}
  - match: {message: cut}
    reply: {text: "one two three four five", fault: {truncate_after: 2}}
  - match: {message: boom}
    reply:
      text: "one two three four five"
      fault: {error_after: 2, error: {status: 503, message: the model fell over}}
"""


def test_mid_stream_disconnect_raises_a_connection_error(client: openai.OpenAI, mockopper: Mockopper) -> None:
    mockopper.load(FAULTS)
    seen: list[str] = []
    with pytest.raises(openai.APIConnectionError):
        for event in client.responses.create(model="m", input="drop", stream=True):
            if event.type == "response.output_text.delta":
                seen.append(event.delta)
    assert seen == ["one", " two"]


def test_truncated_stream_ends_without_completion(client: openai.OpenAI, mockopper: Mockopper) -> None:
    mockopper.load(FAULTS)
    events = list(client.responses.create(model="m", input="cut", stream=True))
    assert [e.type for e in events if e.type.endswith(".delta")] == ["response.output_text.delta"] * 2
    assert events[-1].type == "response.output_text.delta"  # the raw iterator just stops
    with pytest.raises(RuntimeError, match=NO_COMPLETION), client.responses.stream(model="m", input="cut") as s:
        s.get_final_response()


def test_in_stream_error_is_an_error_event_then_response_failed(client: openai.OpenAI, mockopper: Mockopper) -> None:
    mockopper.load(FAULTS)
    events = list(client.responses.create(model="m", input="boom", stream=True))
    error, failed = events[-2:]
    # OpenAI's SDK yields these events rather than raising, as it does with the real service.
    assert error.type == "error" and error.message == "the model fell over"  # type: ignore[union-attr]
    assert failed.type == "response.failed" and failed.response.status == "failed"  # type: ignore[union-attr]
    assert failed.response.error.message == "the model fell over"  # type: ignore[union-attr]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    with pytest.raises(RuntimeError, match=NO_COMPLETION), client.responses.stream(model="m", input="boom") as s:
        s.get_final_response()


def test_error_after_without_a_stream_is_the_scripted_error(client: openai.OpenAI, mockopper: Mockopper) -> None:
    mockopper.load(FAULTS)
    with pytest.raises(openai.InternalServerError, match="the model fell over"):
        client.responses.create(model="m", input="boom")


def test_sdk_retries_a_scripted_429(mockopper: Mockopper) -> None:
    mockopper.load("""
rules:
  - replies:
      - error: {status: 429, retry_after: 0.01}
      - text: second time lucky
""")
    client = openai.OpenAI(base_url=mockopper.base_url, api_key="k", max_retries=2)
    assert client.responses.create(model="m", input="hi").output_text == "second time lucky"
    assert [r.status for r in mockopper.requests] == [429, 200]


@pytest.mark.parametrize(
    ("body", "param", "fragment"),
    [
        ({"input": "hi"}, "model", "Missing required parameter: 'model'"),
        ({"model": "m", "input": 5}, "input", "expected one of a string or array of input items"),
        ({"model": "m", "input": [{"role": "robot", "content": "x"}]}, "input[0].role", "'robot'"),
        ({"model": "m", "input": [{"type": "mystery"}]}, "input[0].type", "'mystery'"),
        (
            {"model": "m", "input": [{"role": "user", "content": [{"type": "blob"}]}]},
            "input[0].content[0].type",
            "blob",
        ),
        ({"model": "m", "input": [{"type": "function_call_output", "call_id": "c"}]}, "input[0].output", "Missing"),
        ({"model": "m", "input": "x", "tool_choice": "sometimes"}, "tool_choice", "'sometimes'"),
        ({"model": "m", "input": "x", "text": {"format": {"type": "yaml"}}}, "text.format.type", "'yaml'"),
        ({"model": "m", "input": "x", "text": {"format": {"type": "json_schema"}}}, "text.format.name", "Missing"),
        ({"model": "m", "input": "x", "temperature": 3}, "temperature", "Expected a value <= 2"),
        ({"model": "m", "input": "x", "max_output_tokens": 5}, "max_output_tokens", "Expected a value >= 16"),
        ({"model": "m", "input": "x", "stream": "yes"}, "stream", "boolean"),
        ({"model": "m", "input": "x", "reasoning": {"effort": "extreme"}}, "reasoning.effort", "'extreme'"),
        ({"model": "m", "input": "x", "include": ["reasoning.everything"]}, "include[0]", "'reasoning.everything'"),
        ({"model": "m", "input": "x", "include": [7]}, "include[0]", "expected a string"),
        ({"model": "m", "input": "x", "include": "reasoning.encrypted_content"}, "include", "expected an array"),
        (
            {"model": "m", "input": [{"type": "compaction", "encrypted_content": "forged"}]},
            "input[0].encrypted_content",
            "could not be decrypted",
        ),
    ],
)
def test_invalid_requests_get_openai_400s(
    client: openai.OpenAI, body: dict[str, object], param: str, fragment: str
) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.post("/responses", body=body, cast_to=object)
    assert info.value.param == param
    assert fragment in info.value.message
    assert info.value.response.headers["x-should-retry"] == "false"


# --- the default scenario and determinism ---------------------------------------------------


def test_default_scenario_tool_loop_terminates(client: openai.OpenAI) -> None:
    tools = [WEATHER_TOOL]
    result = client.responses.create(model="openai/gpt-5.5", input="weather in Oslo?", tools=tools)  # type: ignore[arg-type]
    for _ in range(5):
        calls = [item for item in result.output if item.type == "function_call"]
        if not calls:
            break
        outputs = [{"type": "function_call_output", "call_id": c.call_id, "output": "cold"} for c in calls]
        result = client.responses.create(
            model="openai/gpt-5.5",
            previous_response_id=result.id,
            input=outputs,  # type: ignore[arg-type]
            tools=tools,  # type: ignore[arg-type]
        )
    assert result.output_text == "Here is what I found with get_weather: cold"


def responses_session(base_url: str) -> list[bytes]:
    """A fixed sequence of Responses, OpenResponses, compaction and embeddings calls; the raw bytes."""
    client = openai.OpenAI(base_url=base_url, api_key="k", max_retries=0)
    out = [
        client.responses.with_raw_response.create(model="m", input="hello").content,
        client.responses.with_raw_response.create(model="m", input="weather?", tools=[WEATHER_TOOL]).content,  # type: ignore[list-item]
        client.embeddings.with_raw_response.create(model="e", input=["a b", "c"]).content,
        client.responses.with_raw_response.compact(model="m", input="remember").content,
    ]
    with client.responses.with_streaming_response.create(model="m", input="think", stream=True) as stream:
        out.append(b"".join(stream.iter_bytes()))
    body = {"model": "m", "input": "hello there", "stream": True}
    with httpx2.stream("POST", base_url + "/openresponses", json=body, headers={"authorization": "Bearer k"}) as raw:
        out.append(raw.read())
    return out


def test_responses_are_byte_identical_across_servers() -> None:
    from mockopper.server import MockServer

    with MockServer(SCENARIO) as first:
        one = responses_session(first.base_url)
    with MockServer(SCENARIO) as second:
        two = responses_session(second.base_url)
    assert one == two
    assert b'"created_at":1767225600' in one[0] and b"resp_" in one[0]
