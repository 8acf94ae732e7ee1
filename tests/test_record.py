"""Record and replay: a proxy forwards what no rule answers to a real upstream, records it, and replays it offline.

The upstream is a second mockopper server on loopback with a scenario of varied answers;
the proxy is a mockopper server with `upstream=` (and a recorder per test); the replay
server is the session's `mockopper` fixture loading the recording. Requests are recorded
through one SDK and replayed through the others.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx2
import openai
import pytest
import yaml
from click.testing import CliRunner
from google import genai
from google.genai import types
from surfaces import STREAMING, Chat, Surface, closed, each, each_mode

from mockopper.cli import main
from mockopper.loader import load_file
from mockopper.plugin import Mockopper
from mockopper.recorder import Recorder
from mockopper.server import MockServer

KEY = "sk-live-0123456789abcdef"
MODEL = "acme/model"

UPSTREAM = """
rules:
  - name: weather call
    match: {message: weather, tools: [get_weather]}
    reply:
      tool_calls: [{name: get_weather, id: call_w1, arguments: {city: Paris, unit: celsius}}]
  - name: after weather
    match: {tool_result: get_weather}
    reply: {text: "It is {{ tool_result }} in Paris."}
  - name: structured
    match: {json_schema: true}
    reply: {json: {name: Ada, age: 36}}
  - name: paced
    match: {message: {startswith: stream}}
    reply:
      text: "One two three four five six."
      reasoning: "Counting up slowly."
      stream: {ttft_ms: 15, interval_ms: 12}
  - name: flaky
    match: {message: {startswith: retry}}
    replies:
      - error: {status: 429, type: rate_limit_error, message: Slow down., retry_after: 0.01}
      - text: Second time lucky.
  - name: overloaded
    match: {message: {startswith: overload}}
    reply: {error: {status: 529, message: Overloaded right now.}}
  - name: dropped
    match: {message: {startswith: drop}}
    reply: {text: "alpha beta gamma delta epsilon", stream: {interval_ms: 5}, fault: {disconnect_after: 3}}
  - name: slow
    match: {message: {startswith: slow}}
    reply: {text: late, delay_ms: 3000}
  - name: echo
    reply: {text: "You said: {{ request.message }}", stream: {interval_ms: 1}}
"""


GARBAGE = "<html>surprise</html>"


@pytest.fixture(scope="module")
def garbage() -> Iterator[str]:
    """An upstream that answers every request with HTML: no surface can read that back."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    from mockopper.server import bind

    async def page(request: Any) -> HTMLResponse:
        return HTMLResponse(GARBAGE)

    app = Starlette(routes=[Route("/{path:path}", page, methods=["GET", "POST"])])
    sock = bind()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.001)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/v3/compat"
    server.should_exit = True
    thread.join(5)
    sock.close()


@pytest.fixture
def unused_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def upstream() -> Iterator[MockServer]:
    with MockServer(UPSTREAM, api_key=KEY) as server:
        yield server


@pytest.fixture(scope="module")
def proxy(upstream: MockServer) -> Iterator[MockServer]:
    with MockServer({"rules": []}, upstream=upstream.base_url) as server:
        yield server


@pytest.fixture
def recording(tmp_path: Path, proxy: MockServer, upstream: MockServer) -> Iterator[Path]:
    """A fresh recording file for this test, recorded into by the proxy."""
    path = tmp_path / "recording.yaml"
    proxy.app.upstream.recorder = Recorder(path, source="upstream")
    proxy.reset()
    upstream.reset()
    try:
        yield path
    finally:
        proxy.app.upstream.recorder = None


def openai_client(base_url: str, **options: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=base_url, api_key=KEY, max_retries=0, **options)


def ask(client: openai.OpenAI, text: str, **options: Any) -> Any:
    return client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": text}], **options)


def rules(path: Path) -> list[dict[str, Any]]:
    data = yaml.safe_load(path.read_text())
    load_file(path)  # a valid scenario file, as `mockopper check` sees it
    return list(data["rules"])


def finished(server: MockServer, count: int) -> None:
    closed(server, count)  # type: ignore[arg-type]


def recorded(proxy: MockServer, path: Path) -> list[dict[str, Any]]:
    """The recording's rules, once every exchange the proxy forwarded is over (recorded after the client's answer)."""
    finished(proxy, len(proxy.requests))
    return rules(path)


# --- forwarding --------------------------------------------------------------------------------


def test_forwarding_passes_the_callers_key_and_answers_with_the_upstream(
    proxy: MockServer, upstream: MockServer
) -> None:
    proxy.reset()
    with openai_client(proxy.base_url) as client:
        reply = ask(client, "hello upstream")
    assert reply.choices[0].message.content == "You said: hello upstream"
    finished(proxy, 1)
    [record] = proxy.requests
    assert record.forwarded and not record.unmatched and record.status == 200
    assert record.response_body["choices"][0]["message"]["content"] == "You said: hello upstream"
    assert not record.recorded  # no recorder: forwarded only
    # The upstream accepts only KEY: a wrong key is its own 401, passed back as it came.
    with openai.OpenAI(base_url=proxy.base_url, api_key="sk-wrong-key-000", max_retries=0) as client:
        with pytest.raises(openai.AuthenticationError) as info:
            ask(client, "hello upstream")
    assert info.value.status_code == 401 and "Invalid API key" in info.value.message


def test_a_forwarded_call_is_not_traced_as_an_error(proxy: MockServer) -> None:
    """No rule answered it, but the upstream did: its span carries no error and costs nothing here."""
    proxy.reset()
    with openai_client(proxy.base_url) as client:
        ask(client, "hello upstream")
    finished(proxy, 1)
    [record] = proxy.requests
    assert record.forwarded and record.cost is None
    assert record.span is not None and "error" not in record.span


def test_forwarding_maps_paths_and_keeps_the_query_string(proxy: MockServer) -> None:
    # Anthropic's /v1/messages and Gemini's streamGenerateContent?alt=sse reach the upstream as sent.
    with anthropic.Anthropic(base_url=proxy.base_url, api_key=KEY, max_retries=0) as claude:
        message = claude.messages.create(
            model=MODEL, max_tokens=64, messages=[{"role": "user", "content": "hello claude"}]
        )
    assert message.content[0].text == "You said: hello claude"  # type: ignore[union-attr]
    gemini = genai.Client(api_key=KEY, http_options=types.HttpOptions(base_url=proxy.base_url))
    pieces = [c.text for c in gemini.models.generate_content_stream(model=MODEL, contents="hello gemini")]
    assert "".join(p or "" for p in pieces) == "You said: hello gemini" and len(pieces) > 1


def test_a_stream_is_passed_on_as_it_arrives(proxy: MockServer, upstream: MockServer) -> None:
    upstream.reset()
    body = {"model": MODEL, "messages": [{"role": "user", "content": "stream it"}], "stream": True}
    with httpx2.Client(timeout=10) as http:
        headers = {"authorization": f"Bearer {KEY}"}
        with http.stream("POST", proxy.base_url + "/chat/completions", json=body, headers=headers) as response:
            lines = response.iter_lines()
            first = next(lines)
            # The client holds its first chunk while the upstream is still streaming the rest.
            assert first.startswith("data: ") and upstream.requests[-1].outcome == "pending"
            rest = [line for line in lines if line]
    assert rest[-1] == "data: [DONE]" and upstream.requests[-1].outcome == "complete"


def test_an_unreachable_upstream_is_a_502_in_each_surfaces_shape(
    server_factory: Any, tmp_path: Path, unused_port: int
) -> None:
    path = tmp_path / "never.yaml"
    proxy = server_factory({"rules": []}, upstream=f"http://127.0.0.1:{unused_port}/v3/compat", record=str(path))
    with openai_client(proxy.base_url) as client:
        with pytest.raises(openai.APIStatusError) as info:
            ask(client, "hello")
    assert info.value.status_code == 502 and "could not be reached" in info.value.message
    with anthropic.Anthropic(base_url=proxy.base_url, api_key=KEY, max_retries=0) as claude:
        with pytest.raises(anthropic.APIStatusError) as caught:
            claude.messages.create(model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "hi"}])
    assert caught.value.status_code == 502 and caught.value.body["error"]["type"] == "api_error"  # type: ignore[index]
    gemini = genai.Client(api_key=KEY, http_options=types.HttpOptions(base_url=proxy.base_url))
    with pytest.raises(genai.errors.ServerError) as google:
        gemini.models.generate_content(model=MODEL, contents="hi")
    assert google.value.code == 502 and google.value.status == "UNAVAILABLE"
    # The server keeps serving, and nothing was recorded.
    assert openai_client(proxy.base_url).models.list().data
    assert not path.exists()


def test_an_upstream_that_does_not_answer_in_time_is_a_504(server_factory: Any, upstream: MockServer) -> None:
    proxy = server_factory({"rules": []}, upstream=upstream.base_url, upstream_timeout=0.3)
    with openai_client(proxy.base_url) as client:
        with pytest.raises(openai.APIStatusError) as info:
            ask(client, "slow down")
    assert info.value.status_code == 504 and info.value.body["type"] == "timeout_error"  # type: ignore[index]


# --- recording ---------------------------------------------------------------------------------


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}, "unit": {"type": "string"}}},
    },
}


def test_an_agent_loop_recorded_through_openai_replays_through_anthropic_and_google(
    proxy: MockServer, recording: Path, mockopper: Mockopper
) -> None:
    with openai_client(proxy.base_url) as client:
        messages: list[Any] = [
            {"role": "system", "content": "You are a weather bot."},
            {"role": "user", "content": "What is the weather in Paris?"},
        ]
        first = client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER_TOOL])
        [call] = first.choices[0].message.tool_calls or []
        messages += [
            first.choices[0].message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": "sunny"},
        ]
        second = client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER_TOOL])
    assert second.choices[0].message.content == "It is sunny in Paris."
    rules_ = recorded(proxy, recording)
    assert [r["match"] for r in rules_] == [
        {
            "model": MODEL,
            "message": {"equals": "What is the weather in Paris?"},
            "turn": 1,
            "system": {"equals": "You are a weather bot."},
            "tools": ["get_weather"],
        },
        {"model": MODEL, "tool_result": "get_weather", "turn": 1, "system": {"equals": "You are a weather bot."}}
        | {"tools": ["get_weather"]},
    ]
    assert rules_[0]["reply"]["tool_calls"] == [
        {"name": "get_weather", "id": "call_w1", "arguments": {"city": "Paris", "unit": "celsius"}}
    ]

    mockopper.load(recording)
    claude = anthropic.Anthropic(base_url=mockopper.base_url, api_key="mock", max_retries=0)
    tool = {"name": "get_weather", "input_schema": WEATHER_TOOL["function"]["parameters"]}  # type: ignore[index]
    asked: list[Any] = [{"role": "user", "content": "What is the weather in Paris?"}]
    used = claude.messages.create(
        model=MODEL, max_tokens=256, system="You are a weather bot.", messages=asked, tools=[tool]
    )
    [block] = [b for b in used.content if b.type == "tool_use"]
    assert (block.id, block.name, block.input, used.stop_reason) == (
        "call_w1",
        "get_weather",
        {"city": "Paris", "unit": "celsius"},
        "tool_use",
    )
    asked += [
        {"role": "assistant", "content": [block.model_dump()]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": block.id, "content": "sunny"}]},
    ]
    done = claude.messages.create(
        model=MODEL, max_tokens=256, system="You are a weather bot.", messages=asked, tools=[tool]
    )
    assert done.content[0].text == "It is sunny in Paris."  # type: ignore[union-attr]

    gemini = genai.Client(api_key="mock", http_options=types.HttpOptions(base_url=mockopper.base_url))
    config = types.GenerateContentConfig(
        system_instruction="You are a weather bot.",
        tools=[types.Tool(function_declarations=[types.FunctionDeclaration(name="get_weather")])],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )
    answer = gemini.models.generate_content(model=MODEL, contents="What is the weather in Paris?", config=config)
    [function_call] = answer.function_calls or []
    assert (function_call.name, function_call.args) == ("get_weather", {"city": "Paris", "unit": "celsius"})
    assert {r.rule for r in mockopper.requests} == {r["name"] for r in rules_}


def test_structured_output_records_as_json_and_usage_and_model_are_kept(
    proxy: MockServer, recording: Path, mockopper: Mockopper
) -> None:
    schema = {"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}}}
    fmt: Any = {"type": "json_schema", "json_schema": {"name": "person", "schema": schema}}
    with openai_client(proxy.base_url) as client:
        live = ask(client, "who?", response_format=fmt)
    [rule] = recorded(proxy, recording)
    reply = rule["reply"]
    assert reply["json"] == {"name": "Ada", "age": 36}
    assert reply["usage"] == {"input_tokens": live.usage.prompt_tokens, "output_tokens": live.usage.completion_tokens}  # type: ignore[union-attr]
    assert (reply["model"], reply["finish_reason"]) == (MODEL, "stop")
    mockopper.load(recording)
    responses = openai.OpenAI(base_url=mockopper.base_url, api_key="mock", max_retries=0)
    replayed = responses.responses.create(
        model=MODEL, input="who?", text={"format": {"type": "json_schema", "name": "person", "schema": schema}}
    )
    assert replayed.output_text == live.choices[0].message.content
    assert replayed.usage.output_tokens == live.usage.completion_tokens  # type: ignore[union-attr]


def test_a_request_answered_differently_records_replies_in_order(
    proxy: MockServer, recording: Path, mockopper: Mockopper
) -> None:
    with openai_client(proxy.base_url) as client:
        with pytest.raises(openai.RateLimitError):
            ask(client, "retry me")
        assert ask(client, "retry me").choices[0].message.content == "Second time lucky."
        assert ask(client, "retry me").choices[0].message.content == "Second time lucky."
    [rule] = recorded(proxy, recording)
    assert [sorted(r) for r in rule["replies"]] == [["error"], ["finish_reason", "model", "text", "usage"]]
    # The type is the default for a 429 (rate_limit_error): left out, every surface spells its own.
    assert rule["replies"][0]["error"] == {"status": 429, "message": "Slow down.", "retry_after": 0.01}
    mockopper.load(recording)
    replay = openai.OpenAI(base_url=mockopper.base_url, api_key="mock", max_retries=0)
    with pytest.raises(openai.RateLimitError) as info:
        ask(replay, "retry me")
    assert info.value.body["type"] == "rate_limit_error" and info.value.message.endswith("Slow down.")  # type: ignore[index]
    assert info.value.response.headers["retry-after-ms"] == "10"
    assert ask(replay, "retry me").choices[0].message.content == "Second time lucky."


def test_a_recorded_error_replays_with_its_status_and_type_through_each_sdk(
    proxy: MockServer, recording: Path, mockopper: Mockopper
) -> None:
    with openai_client(proxy.base_url) as client:
        with pytest.raises(openai.InternalServerError) as live:
            ask(client, "overload please")
    assert live.value.status_code == 529
    [rule] = recorded(proxy, recording)
    assert rule["reply"] == {"error": {"status": 529, "message": "Overloaded right now."}}
    mockopper.load(recording)
    with pytest.raises(openai.InternalServerError) as info:
        ask(openai.OpenAI(base_url=mockopper.base_url, api_key="mock", max_retries=0), "overload please")
    assert (info.value.status_code, info.value.body["type"]) == (529, live.value.body["type"])  # type: ignore[index]
    claude = anthropic.Anthropic(base_url=mockopper.base_url, api_key="mock", max_retries=0)
    with pytest.raises(anthropic.OverloadedError) as overloaded:
        claude.messages.create(model=MODEL, max_tokens=8, messages=[{"role": "user", "content": "overload please"}])
    assert overloaded.value.body["error"]["type"] == "overloaded_error"  # type: ignore[index]


def test_redaction_and_credentials_never_reach_the_file(
    proxy: MockServer, recording: Path, mockopper: Mockopper
) -> None:
    proxy.app.upstream.recorder = Recorder(recording, redact=[r"\d{4}-\d{4}-\d{4}-\d{4}"])
    text = f"my card is 4111-1111-1111-1111 and my key {KEY}"
    with openai_client(proxy.base_url) as client:
        ask(client, text)
    recorded(proxy, recording)
    written = recording.read_text()
    assert "4111" not in written and KEY not in written
    assert "authorization" not in written.lower() and "bearer" not in written.lower()
    [rule] = recorded(proxy, recording)
    assert rule["reply"]["text"] == "You said: my card is *** and my key ***"
    mockopper.load(recording)
    replayed = ask(openai.OpenAI(base_url=mockopper.base_url, api_key="mock", max_retries=0), text)
    assert replayed.choices[0].message.content == "You said: my card is *** and my key ***"


def test_template_braces_in_a_real_answer_replay_literally(
    proxy: MockServer, recording: Path, mockopper: Mockopper
) -> None:
    with openai_client(proxy.base_url) as client:
        ask(client, "render {{ request.model }} for me")
    assert "{{ '{{' }}" in recorded(proxy, recording)[0]["reply"]["text"]
    mockopper.load(recording)
    replayed = ask(openai.OpenAI(base_url=mockopper.base_url, api_key="mock"), "render {{ request.model }} for me")
    assert replayed.choices[0].message.content == "You said: render {{ request.model }} for me"


# --- streams -----------------------------------------------------------------------------------


class Stamped(list[str]):
    """Pieces as an adapter collects them, each stamped with when it arrived."""

    def __init__(self) -> None:
        super().__init__()
        self.started = time.perf_counter()
        self.at: list[float] = []

    def append(self, piece: str) -> None:
        self.at.append((time.perf_counter() - self.started) * 1000)
        super().append(piece)


@pytest.fixture(scope="module")
def recorded_stream(upstream: MockServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stream recorded once through the OpenAI SDK's Chat Completions."""
    path = tmp_path_factory.mktemp("stream") / "stream.yaml"
    with MockServer({"rules": []}, upstream=upstream.base_url, record=str(path)) as proxy:
        client = openai_client(proxy.base_url)
        pieces = [
            c.choices[0].delta.content
            for c in ask(client, "stream please", stream=True)
            if c.choices and c.choices[0].delta.content
        ]
    assert "".join(pieces) == "One two three four five six."
    return path


def test_a_recorded_stream_keeps_its_chunks_and_timing(recorded_stream: Path) -> None:
    [rule] = rules(recorded_stream)
    stream = rule["reply"]["stream"]
    assert stream["chunks"] == ["One", " two", " three", " four", " five", " six."]
    offsets = stream["at_ms"]
    # The upstream's schedule (first chunk at 15 ms, then every 12 ms) started after the proxy's
    # request did: lower bounds that hold whatever the load.
    assert all(at >= 15 + 12 * i - 0.5 for i, at in enumerate(offsets))
    assert offsets == sorted(offsets)


@each(STREAMING)
def test_replay_sends_exactly_the_recorded_chunks_no_earlier_than_recorded(
    recorded_stream: Path, mockopper: Mockopper, connect: Any, surface: type[Surface]
) -> None:
    stream = rules(recorded_stream)[0]["reply"]["stream"]
    mockopper.load(recorded_stream)
    pieces = Stamped()
    reply = connect(surface).send("stream please", model=MODEL, stream=True, pieces=pieces)
    assert list(pieces) == stream["chunks"] and reply.finished
    # Each chunk left the server at its offset from the request's start, so arrives no earlier.
    assert all(got >= want - 0.5 for got, want in zip(pieces.at, stream["at_ms"], strict=True))


@pytest.mark.filterwarnings("ignore:connect\\(\\) must be used as a context manager:DeprecationWarning")
def test_replay_over_the_websocket_sends_the_recorded_chunks(recorded_stream: Path, mockopper: Mockopper) -> None:
    stream = rules(recorded_stream)[0]["reply"]["stream"]
    mockopper.load(recorded_stream)
    client = openai.OpenAI(base_url=mockopper.base_url, api_key="mock")
    pieces = Stamped()
    with client.responses.connect() as connection:
        connection.response.create(model=MODEL, input="stream please")
        for event in connection:
            if event.type == "response.output_text.delta":
                pieces.append(event.delta)
            if event.type == "response.completed":
                break
    assert list(pieces) == stream["chunks"]
    assert all(got >= want - 0.5 for got, want in zip(pieces.at, stream["at_ms"], strict=True))


def test_reasoning_recorded_from_an_anthropic_stream_replays_as_responses_reasoning(
    proxy: MockServer, recording: Path, mockopper: Mockopper
) -> None:
    with anthropic.Anthropic(base_url=proxy.base_url, api_key=KEY, max_retries=0) as claude:
        with claude.messages.stream(
            model=MODEL, max_tokens=256, messages=[{"role": "user", "content": "stream thoughts"}]
        ) as live:
            message = live.get_final_message()
    assert [b.type for b in message.content] == ["thinking", "text"]
    [rule] = recorded(proxy, recording)
    reply = rule["reply"]
    assert (reply["reasoning"], reply["text"]) == ("Counting up slowly.", "One two three four five six.")
    assert "".join(reply["stream"]["chunks"]) == "Counting up slowly.One two three four five six."
    mockopper.load(recording)
    responses = openai.OpenAI(base_url=mockopper.base_url, api_key="mock")
    thoughts = []
    with responses.responses.stream(model=MODEL, input="stream thoughts") as events:
        for event in events:
            if event.type == "response.reasoning_summary_text.delta":
                thoughts.append(event.delta)
    assert thoughts == ["Counting", " up", " slowly."]


def test_a_stream_the_upstream_drops_drops_for_the_client_and_records_as_a_fault(
    proxy: MockServer, recording: Path, mockopper: Mockopper
) -> None:
    pieces: list[str] = []
    with openai_client(proxy.base_url) as client:
        with pytest.raises(openai.APIConnectionError):
            for chunk in ask(client, "drop it", stream=True):
                if chunk.choices and chunk.choices[0].delta.content:
                    pieces.append(chunk.choices[0].delta.content)
    assert pieces == ["alpha", " beta", " gamma"]
    finished(proxy, 1)
    assert proxy.requests[0].outcome == "disconnect"
    [rule] = recorded(proxy, recording)
    assert rule["reply"]["fault"] == {"disconnect_after": 3}
    assert rule["reply"]["text"] == "alpha beta gamma" and rule["reply"]["stream"]["chunks"] == pieces
    mockopper.load(recording)
    again: list[str] = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in ask(
            openai.OpenAI(base_url=mockopper.base_url, api_key="mock", max_retries=0), "drop it", stream=True
        ):
            if chunk.choices and chunk.choices[0].delta.content:
                again.append(chunk.choices[0].delta.content)
    assert again == pieces


def test_a_client_that_leaves_early_still_gets_the_whole_stream_recorded(proxy: MockServer, recording: Path) -> None:
    body = {"model": MODEL, "messages": [{"role": "user", "content": "stream and leave"}], "stream": True}
    with httpx2.Client(timeout=10) as http:
        headers = {"authorization": f"Bearer {KEY}"}
        with http.stream("POST", proxy.base_url + "/chat/completions", json=body, headers=headers) as response:
            next(response.iter_lines())  # one line, then the client hangs up
    finished(proxy, 1)
    [rule] = recorded(proxy, recording)
    assert rule["reply"]["text"] == "One two three four five six."
    assert "fault" not in rule["reply"] and proxy.requests[0].recorded


def test_recording_writes_no_temporary_files_and_an_unwritable_file_only_warns(
    proxy: MockServer, recording: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with openai_client(proxy.base_url) as client:
        ask(client, "first")
        recorded(proxy, recording)
        assert sorted(p.name for p in recording.parent.iterdir()) == ["recording.yaml"]
        blocked = tmp_path / "a-file"
        blocked.write_text("not a folder")
        proxy.app.upstream.recorder = Recorder(blocked / "recording.yaml")
        with caplog.at_level("WARNING", logger="mockopper.record"):
            assert ask(client, "second").choices[0].message.content == "You said: second"
            finished(proxy, 2)
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 1 and "cannot write the recording" in messages[0] and "forwarding goes on" in messages[0]


def test_an_answer_the_surface_cannot_read_is_passed_on_and_not_recorded(
    server_factory: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture, garbage: str
) -> None:
    path = tmp_path / "garbage.yaml"
    proxy = server_factory({"rules": []}, upstream=garbage, record=str(path))
    with httpx2.Client(timeout=10) as http:
        with caplog.at_level("WARNING", logger="mockopper.record"):
            response = http.post(
                proxy.base_url + "/chat/completions",
                json={"model": MODEL, "messages": [{"role": "user", "content": "hi"}]},
                headers={"authorization": "Bearer k"},
            )
            finished(proxy, 1)
    assert (response.status_code, response.text) == (200, GARBAGE)
    assert not path.exists()
    [line] = [r.getMessage() for r in caplog.records]
    assert "passed on but not recorded" in line and "not JSON" in line


# --- the command line ----------------------------------------------------------------------------


def test_mockopper_record_as_a_process_writes_a_file_serve_replays(upstream: MockServer, tmp_path: Path) -> None:
    out = tmp_path / "session.yaml"
    command = [sys.executable, "-m", "mockopper.cli", "record", "--upstream", upstream.base_url, "--out", str(out)]
    process = subprocess.Popen(
        [*command, "--port", "0", "--redact", "secret-\\w+"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        while not lines or not lines[-1].startswith("Recording"):
            line = process.stdout.readline()
            assert line, "record exited early"
            lines.append(line)
        base_url = next(line for line in lines if line.startswith("Base URL")).split()[-1]
        assert any(line.startswith("Upstream") and upstream.base_url in line for line in lines)
        with openai_client(base_url) as client:
            assert ask(client, "the secret-sauce please").choices[0].message.content == (
                "You said: the secret-sauce please"
            )
    finally:
        process.terminate()
        _, errors = process.communicate(timeout=10)
    assert "FORWARDED (recorded)" in errors
    result = CliRunner().invoke(main, ["check", str(out)])
    assert result.exit_code == 0, result.output
    [rule] = rules(out)
    assert rule["match"]["message"] == {"regex": "(?is)\\A\\s*the\\ .+?\\ please\\s*\\Z"}
    assert rule["reply"]["text"] == "You said: the *** please"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["serve", "--record", "x.yaml"], "--record needs --upstream"),
        (["serve", "--upstream", "http://127.0.0.1:9/v3/compat", "--redact", "x"], "--redact applies to recordings"),
        (["serve", "--upstream", "ftp://example/v3/compat"], "must be an http:// or https:// URL"),
        (["record", "--out", "x.yaml"], "Missing option '--upstream'"),
    ],
)
def test_the_command_line_refuses_what_cannot_work(args: list[str], message: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, [*args, "--port", "0"])
    assert result.exit_code != 0 and message in result.output


def test_serve_refuses_to_extend_a_file_that_is_not_a_scenario(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("rules: [{reply: {}}]\n")
    result = CliRunner().invoke(
        main, ["record", "--upstream", "http://127.0.0.1:9/v3/compat", "--out", str(broken), "--port", "0"]
    )
    assert result.exit_code == 1 and "cannot be extended" in result.output and "broken.yaml:1" in result.output


# --- the stream keys in scenario files ---------------------------------------------------------


@pytest.mark.parametrize(
    ("stream", "reply", "message"),
    [
        ({"chunks": ["a"]}, {"text": "a"}, "chunks and at_ms go together"),
        ({"chunks": ["a", "b"], "at_ms": [1]}, {"text": "ab"}, "chunks has 2 entries but at_ms has 1"),
        ({"chunks": ["a", "b"], "at_ms": [5, 1]}, {"text": "ab"}, "at_ms must not decrease"),
        ({"chunks": ["a"], "at_ms": [1], "interval_ms": 5}, {"text": "a"}, "recorded chunks take no interval_ms"),
        ({"chunks": ["a", "c"], "at_ms": [1, 2]}, {"text": "ab"}, "do not spell the reply's text"),
        ({"chunks": ["ab"], "at_ms": [1]}, {"text": "abc"}, "must equal the reply's text"),
        ({"chunks": ["xa", "b"], "at_ms": [1, 2]}, {"reasoning": "x", "text": "ab"}, "no chunk spanning two"),
        ({"chunks": ["hi"], "at_ms": [1]}, {"text": "{{ request.model }}"}, "need a fixed text"),
        ({"chunks": ['{"a":', "2}"], "at_ms": [1, 2]}, {"json": {"a": 1}}, "spell other JSON"),
        ({"chunks": ["x"], "at_ms": [-1]}, {"text": "x"}, "greater than or equal to 0"),
    ],
)
def test_recorded_stream_keys_are_checked_against_the_reply(
    tmp_path: Path, stream: dict[str, Any], reply: dict[str, Any], message: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"rules": [{"reply": {**reply, "stream": stream}}]}))
    result = CliRunner().invoke(main, ["check", str(path)])
    assert result.exit_code == 1 and message in result.output and "bad.yaml:" in result.output


def test_recorded_chunks_cover_reasoning_text_and_arguments_in_order(mockopper: Mockopper) -> None:
    mockopper.load(
        {
            "rules": [
                {
                    "reply": {
                        "reasoning": "Hmm.",
                        "text": "Calling.",
                        "tool_calls": [{"name": "f", "id": "call_1", "arguments": '{"x": 1}'}],
                        "stream": {"chunks": ["Hm", "m.", "Calling.", '{"x":', " 1}"], "at_ms": [1, 2, 3, 4, 5]},
                    }
                }
            ]
        }
    )
    client = openai.OpenAI(base_url=mockopper.base_url, api_key="mock")
    tool: Any = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    text, arguments = [], []
    for chunk in ask(client, "go", stream=True, tools=[tool]):
        delta = chunk.choices[0].delta if chunk.choices else None
        if delta and delta.content:
            text.append(delta.content)
        for call in (delta.tool_calls or []) if delta else []:
            if call.function and call.function.arguments:
                arguments.append(call.function.arguments)
    assert (text, arguments) == (["Calling."], ['{"x":', " 1}"])  # Chat Completions shows no reasoning


@pytest.mark.filterwarnings("ignore:connect\\(\\) must be used as a context manager:DeprecationWarning")
def test_a_websocket_turn_is_forwarded_as_its_stream_and_recorded(
    proxy: MockServer, recording: Path, mockopper: Mockopper
) -> None:
    client = openai.OpenAI(base_url=proxy.base_url, api_key=KEY)
    pieces = []
    with client.responses.connect() as connection:
        connection.response.create(model=MODEL, input="stream over the socket")
        for event in connection:
            if event.type == "response.output_text.delta":
                pieces.append(event.delta)
            if event.type == "response.completed":
                break
    assert "".join(pieces) == "One two three four five six."
    [rule] = recorded(proxy, recording)
    assert proxy.requests[0].method == "WEBSOCKET" and proxy.requests[0].forwarded
    assert (rule["reply"]["reasoning"], rule["reply"]["stream"]["chunks"][-len(pieces) :]) == (
        "Counting up slowly.",
        pieces,
    )
    mockopper.load(recording)
    replay = openai.OpenAI(base_url=mockopper.base_url, api_key="mock")
    assert ask(replay, "stream over the socket").choices[0].message.content == "One two three four five six."


def test_a_request_continuing_an_upstream_response_is_forwarded_but_not_recorded(
    proxy: MockServer, recording: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = openai.OpenAI(base_url=proxy.base_url, api_key=KEY, max_retries=0)
    first = client.responses.create(model=MODEL, input="remember cobalt")
    with caplog.at_level("WARNING", logger="mockopper.record"):
        follow = client.responses.create(model=MODEL, input="what was it?", previous_response_id=first.id)
        finished(proxy, 2)
    assert follow.output_text == "You said: what was it?"  # the upstream knew the response it gave
    assert [r.forwarded for r in proxy.requests] == [True, True]
    assert [r["match"]["message"] for r in rules(recording)] == [{"equals": "remember cobalt"}]
    assert any("continues a conversation the upstream holds" in r.getMessage() for r in caplog.records)


@pytest.fixture(scope="module")
def open_proxy() -> Iterator[MockServer]:
    """A proxy in front of an upstream that takes any key (as the surface adapters send)."""
    with MockServer(UPSTREAM) as upstream, MockServer({"rules": []}, upstream=upstream.base_url) as proxy:
        yield proxy


@each_mode(STREAMING)
def test_each_surface_reads_its_own_answers_back_into_the_recording(
    open_proxy: MockServer, tmp_path: Path, mockopper: Mockopper, connect: Any, surface: type[Surface], stream: bool
) -> None:
    path = tmp_path / "surface.yaml"
    open_proxy.reset()
    open_proxy.app.upstream.recorder = Recorder(path)
    try:
        pieces: list[str] = []
        live = connect(surface, open_proxy.base_url).send("stream please", model=MODEL, stream=stream, pieces=pieces)
        [rule] = recorded(open_proxy, path)
    finally:
        open_proxy.app.upstream.recorder = None
    reply = rule["reply"]
    assert reply["text"] == live.text == "One two three four five six."
    assert reply["model"] == MODEL and reply["finish_reason"] == "stop"
    if surface is not Chat:  # Chat Completions carries no reasoning
        assert reply["reasoning"] == "Counting up slowly."
    if stream:
        assert reply["stream"]["chunks"][-len(pieces) :] == pieces and len(pieces) == 6
    else:
        assert "stream" not in reply and reply["usage"]["output_tokens"] > 0
    mockopper.load(path)
    replayed = ask(openai.OpenAI(base_url=mockopper.base_url, api_key="mock"), "stream please")
    assert replayed.choices[0].message.content == live.text
