"""OpenResponses: the wire rules on raw SSE and WebSocket frames, and the `openai` SDK at {base}/openresponses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx2
import openai
import pytest
from pydantic import BaseModel
from surfaces import OPENRESPONSES_KEYS
from websockets.exceptions import ConnectionClosedError, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from mockopper.plugin import Mockopper

SCENARIO = """
name: openresponses
rules:
  - name: weather
    match: {message: weather, tools: [get_weather]}
    reply:
      text: Checking.
      tool_calls:
        - {name: get_weather, arguments: {city: Paris}}
  - name: after weather
    match: {tool_result: get_weather}
    reply: {text: "It is {{ tool_result }}."}
  - name: person
    match: {json_schema: true}
    reply: {json: auto}
  - name: think
    match: {message: think}
    reply: {text: The answer is 42., reasoning: Six times seven.}
  - name: long
    match: {message: long}
    reply: {text: one two three, finish_reason: length}
  - name: memory
    match: {any_message: cobalt, turn: 2}
    reply: {text: The code word is cobalt.}
  - name: busy
    match: {message: busy}
    reply: {error: {status: 429, message: slow down, retry_after: 0.01}}
  - name: missing
    match: {message: missing}
    reply: {error: {status: 404, message: no such thing}}
  - name: broken
    match: {message: broken}
    reply: {error: {status: 500, message: it broke}}
  - name: refused
    match: {message: refused}
    reply: {error: {status: 400, message: bad prompt}}
  - name: boom
    match: {message: boom}
    reply:
      text: one two three four
      fault: {error_after: 2, error: {status: 503, message: the model fell over}}
  - name: drop
    match: {message: drop}
    reply: {text: one two three four, fault: {disconnect_after: 2}}
  - name: anything
    reply: {text: Hello there.}
"""

AUTH = {"authorization": "Bearer test-key"}
WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
TERMINAL = ("response.completed", "response.failed", "response.incomplete")
SDK_WEBSOCKET_WARNING = "ignore:connect\\(\\) must be used as a context manager:DeprecationWarning"


@pytest.fixture(autouse=True)
def scenario(mockopper: Mockopper) -> None:
    mockopper.load(SCENARIO)


def check_response(response: dict[str, Any]) -> None:
    """The response-object rules: all 31 keys, integer timestamps, an id, type and status on every item."""
    assert set(response) == OPENRESPONSES_KEYS
    assert len(OPENRESPONSES_KEYS) == 31
    assert isinstance(response["created_at"], int)
    assert response["completed_at"] is None or isinstance(response["completed_at"], int)
    assert "format" in response["text"]
    for item in response["output"]:
        assert {"id", "type", "status"} <= set(item)
    usage = response["usage"]
    if usage is not None:
        assert {"input_tokens_details", "output_tokens_details"} <= set(usage)


def read_sse(chunks: list[bytes]) -> list[dict[str, Any]]:
    """The events of a raw SSE body, after checking the wire rules on it."""
    raw = b"".join(chunks).decode()
    assert "\r" not in raw
    assert all(chunk.endswith(b"\n\n") for chunk in chunks)  # each event went out in one piece
    blocks = raw.split("\n\n")
    assert blocks[-2:] == ["data: [DONE]", ""]
    events = []
    for block in blocks[:-2]:
        name, data = block.split("\n")
        event = json.loads(data.removeprefix("data: "))
        assert name == "event: " + event["type"]
        events.append(event)
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    for event in events:
        if "response" in event:
            check_response(event["response"])
    return events


def stream(mockopper: Mockopper, body: dict[str, Any], path: str = "/openresponses/responses") -> list[dict[str, Any]]:
    with httpx2.stream("POST", mockopper.base_url + path, json={**body, "stream": True}, headers=AUTH) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        chunks = list(response.iter_raw())
    return read_sse(chunks)


def post(mockopper: Mockopper, body: dict[str, Any], path: str = "/openresponses/responses") -> httpx2.Response:
    return httpx2.post(mockopper.base_url + path, json=body, headers=AUTH)


@pytest.mark.parametrize(
    ("body", "terminal"),
    [
        ({"model": "m", "input": "hello"}, "response.completed"),
        ({"model": "m", "input": "weather in Paris?", "tools": [WEATHER_TOOL]}, "response.completed"),
        ({"model": "m", "input": "think"}, "response.completed"),
        ({"model": "m", "input": "long story"}, "response.incomplete"),
        ({"input": [{"type": "message", "role": "user", "content": "hi"}]}, "response.completed"),
    ],
)
def test_sse_follows_the_wire_rules(mockopper: Mockopper, body: dict[str, Any], terminal: str) -> None:
    events = stream(mockopper, body)
    assert [e["type"] for e in events[:2]] == ["response.created", "response.in_progress"]
    assert events[-1]["type"] == terminal
    for event in events:
        if event["type"] in ("response.output_item.added", "response.output_item.done"):
            assert {"id", "type", "status"} <= set(event["item"])


def test_the_bare_openresponses_path_serves_the_same_api(mockopper: Mockopper) -> None:
    events = stream(mockopper, {"model": "m", "input": "hello"}, path="/openresponses")
    assert events[-1]["response"]["output"][0]["content"][0]["text"] == "Hello there."


def test_json_response_has_every_key_and_labels_message_phases(mockopper: Mockopper) -> None:
    plain = post(mockopper, {"model": "m", "input": "hello"}).json()
    check_response(plain)
    assert plain["output"][0]["phase"] == "final_answer"
    tools = post(mockopper, {"model": "m", "input": "weather?", "tools": [WEATHER_TOOL]}).json()
    check_response(tools)
    message, call = tools["output"]
    assert (message["phase"], call["type"], call["status"]) == ("commentary", "function_call", "completed")
    assert tools["tools"] == [{**WEATHER_TOOL, "description": None, "strict": None}]
    assert post(mockopper, {"input": "hi"}).json()["model"] == "default"  # model is optional here


def test_assistant_phase_is_accepted_and_checked(mockopper: Mockopper) -> None:
    history = [
        {"type": "message", "role": "assistant", "phase": "commentary", "content": "I should answer."},
        {"type": "message", "role": "assistant", "phase": "final_answer", "content": "It is four."},
        {"type": "message", "role": "user", "content": "Repeat it."},
    ]
    assert post(mockopper, {"model": "m", "input": history}).status_code == 200
    history[0]["phase"] = "musing"
    response = post(mockopper, {"model": "m", "input": history})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "input[0].phase"


def test_reasoning_streams_as_reasoning_events(mockopper: Mockopper) -> None:
    events = stream(mockopper, {"model": "m", "input": "think"})
    kinds = [e["type"] for e in events]
    assert "response.reasoning.delta" in kinds and "response.reasoning.done" in kinds
    assert not any("reasoning_text" in k or "reasoning_summary" in k for k in kinds)
    pieces = "".join(e["delta"] for e in events if e["type"] == "response.reasoning.delta")
    assert pieces == "Six times seven."
    reasoning = events[-1]["response"]["output"][0]
    assert reasoning["content"] == [{"type": "reasoning_text", "text": "Six times seven."}]
    assert reasoning["summary"] == []


@pytest.mark.parametrize(
    ("text", "status", "kind"),
    [
        ("refused", 400, "invalid_request"),
        ("missing", 404, "not_found"),
        ("busy", 429, "too_many_requests"),
        ("broken", 500, "server_error"),
    ],
)
def test_errors_use_the_specification_types(mockopper: Mockopper, text: str, status: int, kind: str) -> None:
    response = post(mockopper, {"model": "m", "input": text})
    assert response.status_code == status
    error = response.json()["error"]
    assert error["type"] == kind and error["message"]


def test_stream_failure_is_error_then_response_failed_then_done(mockopper: Mockopper) -> None:
    events = stream(mockopper, {"model": "m", "input": "boom"})
    deltas = [e["delta"] for e in events if e["type"] == "response.output_text.delta"]
    assert deltas == ["one", " two"]
    error, failed = events[-2:]
    assert error["type"] == "error"
    assert error["error"] == {
        "type": "model_error",
        "code": "server_error",
        "message": "the model fell over",
        "param": None,
    }
    assert failed["type"] == "response.failed"
    assert failed["response"]["status"] == "failed"
    assert failed["response"]["error"] == {"code": "server_error", "message": "the model fell over"}


def test_previous_response_id_over_http(mockopper: Mockopper) -> None:
    first = post(mockopper, {"model": "m", "input": "remember cobalt"}).json()
    second = post(mockopper, {"model": "m", "previous_response_id": first["id"], "input": "what was it?"}).json()
    assert second["output"][0]["content"][0]["text"] == "The code word is cobalt."
    assert second["previous_response_id"] == first["id"]
    unstored = post(mockopper, {"model": "m", "input": "remember cobalt", "store": False}).json()
    response = post(mockopper, {"model": "m", "previous_response_id": unstored["id"], "input": "and?"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "previous_response_not_found"


def test_compaction_round_trip(mockopper: Mockopper) -> None:
    conversation = [
        {"type": "message", "role": "user", "content": "remember cobalt"},
        {"type": "message", "role": "assistant", "content": "OK."},
    ]
    compacted = post(mockopper, {"model": "m", "input": conversation}, path="/openresponses/responses/compact")
    assert compacted.status_code == 200
    body = compacted.json()
    assert body["object"] == "response.compaction" and isinstance(body["created_at"], int)
    [item] = body["output"]
    assert item["type"] == "compaction" and item["status"] == "completed" and item["encrypted_content"]
    assert {"input_tokens_details", "output_tokens_details"} <= set(body["usage"])
    follow = post(mockopper, {"model": "m", "input": [item, {"type": "message", "role": "user", "content": "and?"}]})
    assert follow.json()["output"][0]["content"][0]["text"] == "The code word is cobalt."
    no_model = post(mockopper, {"input": conversation}, path="/openresponses/responses/compact")
    assert no_model.status_code == 400 and no_model.json()["error"]["param"] == "model"


def test_only_function_tools_or_prefixed_tools_are_accepted(mockopper: Mockopper) -> None:
    hosted = {"model": "m", "input": "hello", "tools": [WEATHER_TOOL, {"type": "acme:search"}]}
    assert [t["name"] for t in post(mockopper, hosted).json()["tools"]] == ["get_weather"]
    response = post(mockopper, {"model": "m", "input": "hello", "tools": [{"type": "web_search"}]})
    assert response.status_code == 400 and response.json()["error"]["param"] == "tools[0].type"


# --- WebSocket --------------------------------------------------------------------------------


@contextmanager
def socket(mockopper: Mockopper, headers: dict[str, str] = AUTH) -> Iterator[ClientConnection]:
    url = mockopper.base_url.replace("http://", "ws://") + "/openresponses/responses"
    with connect(url, additional_headers=headers, proxy=None, open_timeout=5) as ws:
        yield ws


def turn(ws: ClientConnection, body: dict[str, Any]) -> list[dict[str, Any]]:
    """Send one `response.create`; the frames until its terminal event (or its error envelope)."""
    ws.send(json.dumps({"type": "response.create", **body}))
    frames: list[dict[str, Any]] = []
    while True:
        raw = ws.recv(timeout=5)
        assert isinstance(raw, str) and raw != "[DONE]"
        frame = json.loads(raw)
        frames.append(frame)
        if frame["type"] in TERMINAL or (frame["type"] == "error" and len(frames) == 1):
            return frames


def check_frames(frames: list[dict[str, Any]]) -> None:
    assert [f["sequence_number"] for f in frames] == list(range(len(frames)))
    for frame in frames:
        if "response" in frame:
            check_response(frame["response"])


def assert_quiet(ws: ClientConnection) -> None:
    """Nothing more arrives: a turn is exactly its frames, with no `[DONE]` after them."""
    with pytest.raises(TimeoutError):
        ws.recv(timeout=0.05)


def test_websocket_turns_follow_the_wire_rules(mockopper: Mockopper) -> None:
    with socket(mockopper) as ws:
        for body in (
            {"model": "m", "input": "hello"},
            {"model": "m", "input": "think"},
            {"model": "m", "input": "weather?", "tools": [WEATHER_TOOL]},
        ):
            frames = turn(ws, body)
            check_frames(frames)
            assert frames[0]["type"] == "response.created" and frames[-1]["type"] == "response.completed"
        assert_quiet(ws)
    assert [(r.method, r.api, r.stream, r.status) for r in mockopper.requests] == [
        ("WEBSOCKET", "openresponses", True, 200)
    ] * 3
    assert all(r.response_events for r in mockopper.requests)


def test_websocket_continuation_and_eviction_after_a_failed_turn(mockopper: Mockopper) -> None:
    with socket(mockopper) as ws:
        first = turn(ws, {"model": "m", "store": False, "input": "remember cobalt"})[-1]["response"]
        second = turn(ws, {"model": "m", "store": False, "previous_response_id": first["id"], "input": "and?"})
        assert second[-1]["response"]["output"][0]["content"][0]["text"] == "The code word is cobalt."
        latest = second[-1]["response"]["id"]
        stray = [{"type": "function_call_output", "call_id": "call_missing", "output": "x"}]
        [failed] = turn(ws, {"model": "m", "store": False, "previous_response_id": latest, "input": stray})
        assert failed["status"] == 400 and failed["error"]["type"] == "invalid_request"
        [evicted] = turn(ws, {"model": "m", "store": False, "previous_response_id": latest, "input": "again?"})
        assert evicted["error"]["code"] == "previous_response_not_found"
        assert (evicted["status"], evicted["error"]["param"]) == (400, "previous_response_id")
        assert_quiet(ws)


def test_websocket_refused_continuation_evicts_too(mockopper: Mockopper) -> None:
    with socket(mockopper) as ws:
        first = turn(ws, {"model": "m", "store": False, "input": "remember cobalt"})[-1]["response"]["id"]
        [refused] = turn(ws, {"model": "m", "previous_response_id": first, "input": "and?", "stream": True})
        assert (refused["status"], refused["error"]["param"]) == (400, "stream")
        [evicted] = turn(ws, {"model": "m", "store": False, "previous_response_id": first, "input": "and?"})
        assert evicted["error"]["code"] == "previous_response_not_found"


def test_websocket_reconnect_finds_only_stored_responses(mockopper: Mockopper) -> None:
    with socket(mockopper) as ws:
        unstored = turn(ws, {"model": "m", "store": False, "input": "remember cobalt"})[-1]["response"]["id"]
        stored = turn(ws, {"model": "m", "input": "remember cobalt"})[-1]["response"]["id"]
    with socket(mockopper) as ws:
        [missing] = turn(ws, {"model": "m", "store": False, "previous_response_id": unstored, "input": "and?"})
        assert missing["error"]["code"] == "previous_response_not_found"
        found = turn(ws, {"model": "m", "previous_response_id": stored, "input": "and?"})
        assert found[-1]["response"]["output"][0]["content"][0]["text"] == "The code word is cobalt."


@pytest.mark.parametrize(
    ("message", "status", "param"),
    [
        ("{not json", 400, None),
        (json.dumps({"type": "session.update"}), 400, "type"),
        (json.dumps({"type": "response.create", "model": "m", "input": "hi", "stream": True}), 400, "stream"),
        (json.dumps({"type": "response.create", "model": "m", "input": "busy"}), 429, None),
    ],
)
def test_websocket_errors_are_envelopes_and_the_connection_stays_open(
    mockopper: Mockopper, message: str, status: int, param: str | None
) -> None:
    with socket(mockopper) as ws:
        ws.send(message)
        error = json.loads(ws.recv(timeout=5))
        assert error["type"] == "error" and error["status"] == status
        assert isinstance(error["error"]["code"], str) and error["error"]["message"]
        assert error["error"]["param"] == param
        assert turn(ws, {"model": "m", "input": "hello"})[-1]["type"] == "response.completed"


def test_websocket_mid_stream_error_then_response_failed(mockopper: Mockopper) -> None:
    with socket(mockopper) as ws:
        frames = turn(ws, {"model": "m", "input": "boom"})
        check_frames(frames)
        error, failed = frames[-2:]
        assert error["type"] == "error" and error["status"] == 503
        assert error["error"]["type"] == "model_error"
        assert failed["type"] == "response.failed"
        assert_quiet(ws)


def test_websocket_disconnect_fault_closes_the_connection(mockopper: Mockopper) -> None:
    with socket(mockopper) as ws:
        ws.send(json.dumps({"type": "response.create", "model": "m", "input": "drop"}))
        with pytest.raises(ConnectionClosedError) as info:
            while True:
                ws.recv(timeout=5)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1011
    assert mockopper.requests[0].outcome == "disconnect"


def test_websocket_without_a_key_is_refused_at_the_handshake(mockopper: Mockopper) -> None:
    with pytest.raises(InvalidStatus) as info, socket(mockopper, headers={}):
        pass
    assert info.value.response.status_code == 401
    assert json.loads(info.value.response.body or b"")["error"]["message"].startswith("Missing API key")


# --- the openai SDK at {base}/openresponses ---------------------------------------------------


@pytest.fixture
def sdk(mockopper: Mockopper) -> openai.OpenAI:
    return openai.OpenAI(base_url=mockopper.base_url + "/openresponses", api_key="test-key", max_retries=0)


def test_sdk_create_and_stream_helper(sdk: openai.OpenAI) -> None:
    assert sdk.responses.create(model="m", input="hello").output_text == "Hello there."
    with sdk.responses.stream(model="m", input="think") as events:
        kinds = [e.type for e in events]
        final = events.get_final_response()
    assert "response.reasoning.delta" in kinds
    assert final.output_text == "The answer is 42."
    assert final.output[0].content[0].text == "Six times seven."  # type: ignore[union-attr,index]


class City(BaseModel):
    name: str
    population: int


def test_sdk_parse_into_pydantic(sdk: openai.OpenAI) -> None:
    assert isinstance(sdk.responses.parse(model="m", input="a city", text_format=City).output_parsed, City)


def test_sdk_tool_loop(sdk: openai.OpenAI) -> None:
    first = sdk.responses.create(model="m", input="weather?", tools=[WEATHER_TOOL])  # type: ignore[list-item]
    call = first.output[1]
    assert call.type == "function_call"
    second = sdk.responses.create(
        model="m",
        previous_response_id=first.id,
        input=[{"type": "function_call_output", "call_id": call.call_id, "output": "sunny"}],
    )
    assert second.output_text == "It is sunny."


def test_sdk_raises_on_an_in_stream_error(sdk: openai.OpenAI) -> None:
    # The specification's nested `error` object is what the SDK raises on (OpenAI's flat one it only yields).
    with pytest.raises(openai.APIError, match="the model fell over"):
        list(sdk.responses.create(model="m", input="boom", stream=True))


def test_sdk_error_statuses(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.RateLimitError, match="slow down"):
        sdk.responses.create(model="m", input="busy")
    with pytest.raises(openai.BadRequestError) as info:
        sdk.responses.create(model="m", previous_response_id="resp_gone", input="hi")
    assert info.value.code == "previous_response_not_found"


@pytest.mark.filterwarnings(SDK_WEBSOCKET_WARNING)
def test_sdk_websocket_connection(sdk: openai.OpenAI) -> None:
    with sdk.responses.connect() as connection:
        connection.response.create(model="m", input="remember cobalt", store=False)
        first = next(e for e in connection if e.type == "response.completed")
        connection.response.create(model="m", previous_response_id=first.response.id, input="and?")
        second = next(e for e in connection if e.type in TERMINAL)
    assert second.response.output_text == "The code word is cobalt."  # type: ignore[union-attr]
