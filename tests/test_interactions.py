"""Google's Interactions API through `google-genai`'s `client.interactions`."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx2
import pytest
from google import genai
from google.genai import _interactions_errors as ierrors
from google.genai import types
from pydantic import BaseModel

from mockopper.plugin import Mockopper
from mockopper.server import MockServer

SCENARIO = """
name: interactions
rules:
  - name: weather
    match: {message: weather, tools: [get_weather]}
    reply:
      tool_calls:
        - name: get_weather
          arguments: {city: Paris}
  - name: after weather
    match: {tool_result: get_weather}
    reply:
      text: "It is {{ tool_result }} in Paris (turn {{ request.turn }})."
  - name: person
    match: {json_schema: true}
    reply: {json: auto}
  - name: pirate
    match: {system: pirate}
    reply: {text: Arr!}
  - name: thinking
    match: {message: think}
    reply:
      reasoning: Six times seven is forty-two.
      text: The answer is 42.
  - name: remember
    match: {message: what did I say, turn: 2}
    reply: {text: "You said: {{ request.model }} heard two turns."}
  - name: long
    match: {message: long}
    reply: {text: one two three, finish_reason: length, usage: {input_tokens: 11, output_tokens: 7}}
  - name: hello
    match: {message: hello}
    reply:
      text: Hello from mockopper!
"""

WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@pytest.fixture(scope="module")
def google(mockopper_server: MockServer) -> genai.Client:
    """One client for the module; held here because the SDK closes its HTTP client when collected."""
    return genai.Client(api_key="test-key", http_options=types.HttpOptions(base_url=mockopper_server.base_url))


@pytest.fixture
def client(mockopper: Mockopper, google: genai.Client) -> genai.Client:
    mockopper.load(SCENARIO)
    return google


def raw(mockopper: Mockopper, body: object, path: str = "/v1beta/interactions") -> httpx2.Response:
    return httpx2.post(mockopper.base_url + path, json=body, headers={"x-goog-api-key": "k"})


def events_of(stream: Any) -> list[Any]:
    return list(stream)


# --- plain -------------------------------------------------------------------------------


def test_create(client: genai.Client, mockopper: Mockopper) -> None:
    result = client.interactions.create(model="gemini-2.5-flash", input="hello there")
    assert result.output_text == "Hello from mockopper!"
    assert result.status == "completed"
    assert result.id.startswith("v1_")
    assert result.model == "gemini-2.5-flash"
    [step] = result.steps or []
    assert step.type == "model_output"
    assert step.content[0].text == "Hello from mockopper!"  # type: ignore[union-attr,index]
    usage = result.usage
    assert usage is not None
    assert usage.total_output_tokens == 6  # ceil(21 chars / 4)
    assert usage.total_tokens == (usage.total_input_tokens or 0) + 6
    assert result.created == "2026-01-01T00:00:00Z"
    [record] = mockopper.requests
    assert (record.api, record.rule, record.status, record.path) == (
        "interactions",
        "hello",
        200,
        "/v3/compat/v1/interactions",
    )


def test_system_instruction_is_matched(client: genai.Client) -> None:
    result = client.interactions.create(model="m", input="ahoy", system_instruction="You are a pirate.")
    assert result.output_text == "Arr!"


@pytest.mark.parametrize(
    "given",
    [
        "hello",
        {"type": "text", "text": "hello"},
        [{"type": "text", "text": "hello"}],
        [{"type": "image", "uri": "https://example.com/cat.png"}, {"type": "text", "text": "hello, what is this?"}],
        [{"type": "user_input", "content": [{"type": "text", "text": "hello"}]}],
    ],
)
def test_input_forms(client: genai.Client, mockopper: Mockopper, given: Any) -> None:
    result = client.interactions.create(model="m", input=given)
    assert result.output_text == "Hello from mockopper!"
    assert mockopper.requests[0].rule == "hello"


def test_steps_count_towards_turn(client: genai.Client) -> None:
    steps = [
        {"type": "user_input", "content": [{"type": "text", "text": "hello"}]},
        {"type": "model_output", "content": [{"type": "text", "text": "Hello from mockopper!"}]},
        {"type": "user_input", "content": [{"type": "text", "text": "what did I say?"}]},
    ]
    result = client.interactions.create(model="m", input=steps)
    assert result.output_text == "You said: m heard two turns."


@pytest.mark.parametrize(
    "turns",
    [
        [{"role": "user", "content": "hello"}],
        [{"role": "user", "content": [{"type": "text", "text": "hello"}]}],
        [
            {"role": "user", "content": "hi"},
            {"role": "model", "content": [{"type": "text", "text": "Hi!"}]},
            {"role": "user", "content": "what did I say?"},
        ],
    ],
)
def test_turns_of_the_earlier_input_form(client: genai.Client, mockopper: Mockopper, turns: Any) -> None:
    # google-genai 3.6 no longer sends {role, content} turns; raw clients and older SDKs do.
    response = raw(mockopper, {"model": "m", "input": turns})
    text = response.json()["steps"][0]["content"][0]["text"]
    assert text == ("Hello from mockopper!" if len(turns) == 1 else "You said: m heard two turns.")


def test_reasoning_becomes_a_thought_step(client: genai.Client) -> None:
    result = client.interactions.create(model="m", input="think")
    thought, output = result.steps or []
    assert thought.type == "thought"
    assert [s.text for s in thought.summary or []] == ["Six times seven is forty-two."]  # type: ignore[union-attr]
    assert thought.signature  # type: ignore[union-attr]
    assert output.type == "model_output"
    assert result.output_text == "The answer is 42."
    assert result.usage is not None and result.usage.total_thought_tokens == 8  # ceil(29 / 4)


def test_length_finish_is_incomplete(client: genai.Client) -> None:
    result = client.interactions.create(model="m", input="long")
    assert result.status == "incomplete"
    usage = result.usage
    assert usage is not None
    assert (usage.total_input_tokens, usage.total_output_tokens, usage.total_tokens) == (11, 7, 18)


class Person(BaseModel):
    name: str
    age: int


def test_structured_output(client: genai.Client, mockopper: Mockopper) -> None:
    result = client.interactions.create(
        model="m",
        input="who is it?",
        response_format={"type": "text", "mime_type": "application/json", "schema": Person.model_json_schema()},
    )
    person = Person.model_validate_json(result.output_text or "")
    assert person.name and person.age >= 0
    assert mockopper.requests[0].rule == "person"


# --- streaming ---------------------------------------------------------------------------


def test_stream_text(client: genai.Client, mockopper: Mockopper) -> None:
    events = events_of(client.interactions.create(model="gemini-2.5-flash", input="hello", stream=True))
    kinds = [e.event_type for e in events]
    assert kinds == [
        "interaction.created",
        "interaction.status_update",
        "step.start",
        "step.delta",
        "step.delta",
        "step.delta",
        "step.stop",
        "interaction.completed",
    ]
    assert "".join(e.delta.text for e in events if e.event_type == "step.delta") == "Hello from mockopper!"
    created, completed = events[0].interaction, events[-1].interaction
    assert created.status == "in_progress" and completed.status == "completed"
    assert created.id == completed.id and completed.id.startswith("v1_")
    assert completed.usage.total_output_tokens == 6
    assert events[2].step.type == "model_output"
    assert mockopper.requests[0].stream


def test_stream_thoughts_then_text(client: genai.Client) -> None:
    events = events_of(client.interactions.create(model="m", input="think", stream=True))
    starts = [e.step.type for e in events if e.event_type == "step.start"]
    assert starts == ["thought", "model_output"]
    summary = "".join(
        e.delta.content.text for e in events if getattr(e, "delta", None) and e.delta.type == "thought_summary"
    )
    assert summary == "Six times seven is forty-two."
    assert any(e.event_type == "step.delta" and e.delta.type == "thought_signature" for e in events)


def test_stream_wire_format(client: genai.Client, mockopper: Mockopper) -> None:
    response = raw(mockopper, {"model": "m", "input": "hello", "stream": True})
    assert response.headers["content-type"] == "text/event-stream"
    blocks = [b for b in response.text.split("\n\n") if b]
    for block in blocks[:-1]:
        name, data = block.split("\n")
        assert json.loads(data.removeprefix("data: "))["event_type"] == name.removeprefix("event: ")
    assert blocks[-1] == "event: done\ndata: [DONE]"


def test_json_and_error_content_types_are_exact(client: genai.Client, mockopper: Mockopper) -> None:
    # The Interactions client refuses any other Content-Type (charset included).
    assert raw(mockopper, {"model": "m", "input": "hello"}).headers["content-type"] == "application/json"
    assert raw(mockopper, {"model": "m"}).headers["content-type"] == "application/json"


# --- function calls ----------------------------------------------------------------------


def test_function_call(client: genai.Client, mockopper: Mockopper) -> None:
    result = client.interactions.create(model="m", input="weather in Paris?", tools=[WEATHER])
    assert result.status == "requires_action"
    [step] = result.steps or []
    assert step.type == "function_call"
    assert (step.name, step.arguments) == ("get_weather", {"city": "Paris"})  # type: ignore[union-attr]
    assert step.id  # type: ignore[union-attr]
    assert mockopper.requests[0].reply_kind == "tool_calls"


def test_streamed_function_call(client: genai.Client) -> None:
    events = events_of(client.interactions.create(model="m", input="weather?", tools=[WEATHER], stream=True))
    [start] = [e for e in events if e.event_type == "step.start"]
    assert (start.step.type, start.step.name) == ("function_call", "get_weather")
    fragments = [e.delta.arguments for e in events if e.event_type == "step.delta"]
    assert all(e.delta.type == "arguments_delta" for e in events if e.event_type == "step.delta")
    assert len(fragments) > 1  # the arguments really stream in pieces
    assert json.loads("".join(fragments)) == {"city": "Paris"}
    assert events[-1].interaction.status == "requires_action"


def test_function_loop_with_previous_interaction_id(client: genai.Client, mockopper: Mockopper) -> None:
    first = client.interactions.create(model="m", input="weather in Paris?", tools=[WEATHER])
    call = (first.steps or [])[0]
    second = client.interactions.create(
        model="m",
        previous_interaction_id=first.id,
        tools=[WEATHER],
        input=[{"type": "function_result", "call_id": call.id, "result": "sunny, 21C"}],  # type: ignore[union-attr]
    )
    assert second.output_text == "It is sunny, 21C in Paris (turn 1)."
    assert second.status == "completed"
    assert [r.rule for r in mockopper.requests] == ["weather", "after weather"]


def test_function_loop_without_stored_state(client: genai.Client) -> None:
    first = client.interactions.create(model="m", input="weather in Paris?", tools=[WEATHER], store=False)
    call = (first.steps or [])[0]
    steps = [
        {"type": "user_input", "content": [{"type": "text", "text": "weather in Paris?"}]},
        call.model_dump(exclude_none=True),
        {
            "type": "function_result",
            "call_id": call.id,
            "name": "get_weather",
            "result": [{"type": "text", "text": "foggy"}],
        },  # type: ignore[union-attr]
    ]
    second = client.interactions.create(model="m", input=steps, tools=[WEATHER])
    assert second.output_text == "It is foggy in Paris (turn 1)."


def test_conversation_continues_with_previous_interaction_id(client: genai.Client) -> None:
    first = client.interactions.create(model="m", input="hello")
    second = client.interactions.create(model="m", input="what did I say?", previous_interaction_id=first.id)
    assert second.output_text == "You said: m heard two turns."


def test_unknown_previous_interaction_is_not_found(client: genai.Client) -> None:
    with pytest.raises(ierrors.NotFoundError) as info:
        client.interactions.create(model="m", input="hello", previous_interaction_id="v1_nope")
    assert "v1_nope" in str(info.value) and "NOT_FOUND" in str(info.value)


def test_tool_choice_none_offers_no_tools(client: genai.Client, mockopper: Mockopper) -> None:
    mockopper.load("""
rules:
  - {match: {tools: true}, reply: {tool_calls: auto}}
  - {reply: {text: no tools}}
""")
    result = client.interactions.create(
        model="m", input="weather?", tools=[WEATHER], generation_config={"tool_choice": "none"}
    )
    assert result.output_text == "no tools"


# --- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "exception", "name", "requests"),
    [
        (400, ierrors.BadRequestError, "INVALID_ARGUMENT", 1),
        (401, ierrors.AuthenticationError, "UNAUTHENTICATED", 1),
        (403, ierrors.PermissionDeniedError, "PERMISSION_DENIED", 1),
        (404, ierrors.NotFoundError, "NOT_FOUND", 1),
        (429, ierrors.RateLimitError, "RESOURCE_EXHAUSTED", 5),
        (500, ierrors.InternalServerError, "INTERNAL", 5),
        (503, ierrors.InternalServerError, "UNAVAILABLE", 5),
    ],
)
def test_scripted_errors_raise_the_sdk_class(
    mockopper: Mockopper,
    google: genai.Client,
    status: int,
    exception: type[ierrors.APIStatusError],
    name: str,
    requests: int,
) -> None:
    mockopper.load(
        f"rules: [{{reply: {{error: {{status: {status}, message: 'Scripted {{{{ request.model }}}}', "
        "retry_after: 0.01}}}]"
    )
    with pytest.raises(exception) as info:
        google.interactions.create(model="gemini-2.5-pro", input="hi")
    assert info.value.status_code == status
    assert "Scripted gemini-2.5-pro" in str(info.value) and name in str(info.value)
    assert info.value.body["error"]["message"] == "Scripted gemini-2.5-pro"  # type: ignore[index]
    assert len(mockopper.requests) == requests  # the client retries 408/409/429/5xx four times


def test_sdk_retries_get_through_a_scripted_429(mockopper: Mockopper, google: genai.Client) -> None:
    mockopper.load("""
rules:
  - replies:
      - error: {status: 429, retry_after: 0.01}
      - error: {status: 503, retry_after: 0.01}
      - text: third time lucky
""")
    assert google.interactions.create(model="m", input="hi").output_text == "third time lucky"
    assert [r.status for r in mockopper.requests] == [429, 503, 200]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"input": "hi"}, "model"),
        ({"model": "m"}, "input"),
        ({"model": 5, "input": "hi"}, "model"),
        ({"model": "m", "input": 5}, "input"),
        ({"model": "m", "input": []}, "input"),
        ({"model": "m", "input": [{"type": "function_result", "result": "x"}]}, "input[0].call_id"),
        ({"model": "m", "input": "hi", "tools": [{"type": "function"}]}, "tools[0].name"),
        ({"model": "m", "input": "hi", "system_instruction": ["be brief"]}, "system_instruction"),
        ({"model": "m", "input": "hi", "stream": "yes"}, "stream"),
        (
            {"model": "m", "input": "hi", "generation_config": {"tool_choice": "sometimes"}},
            "generation_config.tool_choice",
        ),
        ({"model": "m", "input": "hi", "tags": ["a"]}, "tags"),
    ],
)
def test_invalid_requests_get_a_400_naming_the_field(
    client: genai.Client, mockopper: Mockopper, body: Any, param: str
) -> None:
    response = raw(mockopper, body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["status"]) == (400, "INVALID_ARGUMENT")
    assert f"'{param}'" in error["message"]
    assert error["details"][0]["fieldViolations"][0]["field"] == param
    assert response.headers["x-should-retry"] == "false"


def test_bad_request_through_the_sdk_is_not_retried(client: genai.Client, mockopper: Mockopper) -> None:
    choice = {"allowed_tools": {"mode": "any", "tools": ["get_time"]}}
    with pytest.raises(ierrors.BadRequestError) as info:
        client.interactions.create(model="m", input="hi", tools=[WEATHER], generation_config={"tool_choice": choice})
    assert "'get_time' is not a declared function" in str(info.value)
    assert len(mockopper.requests) == 1


# --- faults and fallback -----------------------------------------------------------------

FAULTS = """
rules:
  - match: {message: drop}
    reply: {text: one two three, fault: {disconnect_after: 1}}
  - match: {message: cut}
    reply: {text: one two three, fault: {truncate_after: 1}}
  - match: {message: fail}
    reply: {text: one two three, fault: {error_after: 2, error: {status: 504, message: upstream took too long}}}
"""


def test_in_stream_error_is_an_error_event(mockopper: Mockopper, google: genai.Client) -> None:
    mockopper.load(FAULTS)
    events = events_of(google.interactions.create(model="m", input="fail", stream=True))
    assert [e.delta.text for e in events if e.event_type == "step.delta"] == ["one", " two"]
    last = events[-1]
    assert last.event_type == "error"
    assert (last.error.code, last.error.message) == ("gateway_timeout", "upstream took too long")


def test_mid_stream_disconnect_raises_a_connection_error(mockopper: Mockopper, google: genai.Client) -> None:
    mockopper.load(FAULTS)
    seen: list[str] = []
    with pytest.raises(ierrors.APIConnectionError):
        for event in google.interactions.create(model="m", input="drop", stream=True):
            seen.append(event.event_type)
    assert seen[-1] == "step.delta"
    assert len(mockopper.requests) == 1  # a stream cut is never retried


def test_truncated_stream_ends_without_completion(mockopper: Mockopper, google: genai.Client) -> None:
    mockopper.load(FAULTS)
    events = events_of(google.interactions.create(model="m", input="cut", stream=True))
    assert [e.event_type for e in events][-1] == "step.delta"
    assert "interaction.completed" not in [e.event_type for e in events]


FALLBACK = """
models:
  gemini/gemini-2.5-pro: {error: {status: 503, message: pro is down, retry_after: 0.01}}
  gemini/gemini-2.5-flash-lite: {error: {status: 429, message: lite is out of quota, retry_after: 0.01}}
  gemini/gemini-2.5-flash: {}
rules:
  - reply: {text: "answered by {{ request.model }}"}
"""


def test_fallback_chain_answered_by_the_second_model(mockopper: Mockopper, google: genai.Client) -> None:
    mockopper.load(FALLBACK)
    result = google.interactions.create(
        model="gemini/gemini-2.5-pro", input="hi", extra_body={"fallback_models": ["gemini/gemini-2.5-flash"]}
    )
    assert result.output_text == "answered by gemini/gemini-2.5-flash"
    assert result.model == "gemini/gemini-2.5-flash"
    [record] = mockopper.requests
    assert record.chain == ["gemini/gemini-2.5-pro", "gemini/gemini-2.5-flash"]
    assert record.answered_by == "gemini/gemini-2.5-flash"


def test_exhausted_fallback_chain_raises_the_last_failure(mockopper: Mockopper, google: genai.Client) -> None:
    mockopper.load(FALLBACK)
    with pytest.raises(ierrors.RateLimitError) as info:
        google.interactions.create(
            model="gemini/gemini-2.5-pro", input="hi", extra_body={"fallback_models": ["gemini/gemini-2.5-flash-lite"]}
        )
    assert "lite is out of quota" in str(info.value)


def test_extras_are_journaled(client: genai.Client, mockopper: Mockopper) -> None:
    client.interactions.create(model="m", input="hello", extra_body={"tags": {"team": "a"}, "evaluate": True})
    [record] = mockopper.requests
    assert (record.tags, record.evaluate) == ({"team": "a"}, True)


def test_answers_are_deterministic(client: genai.Client, mockopper: Mockopper) -> None:
    first = raw(mockopper, {"model": "m", "input": "hello"}).json()
    mockopper.reset()
    assert raw(mockopper, {"model": "m", "input": "hello"}).json() == first


def test_default_scenario_agent_loop_terminates(mockopper: Mockopper, google: genai.Client) -> None:
    first = google.interactions.create(model="m", input="find the weather", tools=[WEATHER])
    call = (first.steps or [])[0]
    assert call.type == "function_call" and isinstance(call.arguments["city"], str)  # type: ignore[union-attr]
    second = google.interactions.create(
        model="m",
        previous_interaction_id=first.id,
        tools=[WEATHER],
        input=[{"type": "function_result", "call_id": call.id, "name": "get_weather", "result": "sunny"}],  # type: ignore[union-attr]
    )
    assert second.output_text == "Here is what I found with get_weather: sunny"


def test_async_client_streams(mockopper: Mockopper) -> None:
    mockopper.load(SCENARIO)

    async def run() -> str:
        client = genai.Client(api_key="k", http_options=types.HttpOptions(base_url=mockopper.base_url))
        stream = await client.aio.interactions.create(model="m", input="hello", stream=True)
        return "".join([e.delta.text async for e in stream if e.event_type == "step.delta"])

    assert asyncio.run(run()) == "Hello from mockopper!"
