"""Recording a foreign implementation: CopilotKit's aimock as the upstream, replayed through other SDKs.

aimock (npm `@copilotkit/aimock`, pinned in tests/js/package-lock.json) serves OpenAI's Chat
Completions under `/v1`; mockopper forwards to it, records what it answers (its own ids,
chunking and pacing), and replays the recording through the Anthropic and Google SDKs.
Needs node and `npm ci` in tests/js; without them this skips, unless MOCKOPPER_REQUIRE_JS is set.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import anthropic
import openai
import pytest
import yaml
from google import genai
from google.genai import types
from surfaces import closed

from mockopper.plugin import Mockopper
from mockopper.server import MockServer

CLI = Path(__file__).parent / "js" / "node_modules" / "@copilotkit" / "aimock" / "dist" / "cli.js"
FIXTURES = {
    "fixtures": [
        {
            "match": {"userMessage": "weather"},
            "response": {"toolCalls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}]},
        },
        {"match": {"userMessage": "hello"}, "response": {"content": "Hello from aimock, a server of another make."}},
    ]
}


def _missing() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    if not CLI.exists():
        return "aimock is not installed (run `npm ci` in tests/js)"
    return None


@pytest.fixture(scope="module")
def aimock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    missing = _missing()
    if missing is not None:
        if os.environ.get("MOCKOPPER_REQUIRE_JS"):
            pytest.fail(f"MOCKOPPER_REQUIRE_JS is set but {missing}")
        pytest.skip(missing)
    fixtures = tmp_path_factory.mktemp("aimock") / "fixtures.json"
    fixtures.write_text(json.dumps(FIXTURES))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = ["node", str(CLI), "-p", str(port), "-f", str(fixtures), "-c", "6", "-l", "4", "--log-level", "silent"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            assert process.poll() is None and time.monotonic() < deadline, "aimock did not start"
            time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        process.wait(10)


def test_an_aimock_stream_recorded_through_openai_replays_through_anthropic_and_google(
    aimock: str, tmp_path: Path, mockopper: Mockopper
) -> None:
    path = tmp_path / "aimock.yaml"
    with MockServer({"rules": []}, upstream=aimock, record=str(path)) as proxy:
        client = openai.OpenAI(base_url=proxy.base_url, api_key="sk-aimock-key", max_retries=0)
        pieces = [
            c.choices[0].delta.content
            for c in client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "hello"}], stream=True
            )
            if c.choices and c.choices[0].delta.content
        ]
        tool = {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}
        live = client.chat.completions.create(
            model="gpt-4o",
            messages=[{"role": "user", "content": "weather please"}],
            tools=[tool],  # type: ignore[list-item]
        )
        closed(proxy, 2)  # type: ignore[arg-type]
    assert "".join(pieces) == "Hello from aimock, a server of another make." and len(pieces) > 3
    [call] = live.choices[0].message.tool_calls or []
    streamed, tooled = yaml.safe_load(path.read_text())["rules"]
    assert streamed["reply"]["stream"]["chunks"] == pieces  # aimock's own chunking, kept
    assert tooled["reply"]["tool_calls"] == [{"name": "get_weather", "id": call.id, "arguments": {"city": "Oslo"}}]

    mockopper.load(path)
    claude = anthropic.Anthropic(base_url=mockopper.base_url, api_key="mock", max_retries=0)
    replayed: list[str] = []
    with claude.messages.stream(
        model="gpt-4o", max_tokens=64, messages=[{"role": "user", "content": "hello"}]
    ) as events:
        replayed.extend(events.text_stream)
    assert replayed == pieces
    gemini = genai.Client(api_key="mock", http_options=types.HttpOptions(base_url=mockopper.base_url))
    config = types.GenerateContentConfig(
        tools=[types.Tool(function_declarations=[types.FunctionDeclaration(name="get_weather")])],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )
    answer = gemini.models.generate_content(model="gpt-4o", contents="weather please", config=config)
    [function_call] = answer.function_calls or []
    assert (function_call.id, function_call.name, function_call.args) == (call.id, "get_weather", {"city": "Oslo"})
