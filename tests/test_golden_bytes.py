"""The bytes of a fixed set of responses, streamed and not, on every surface, pinned.

Speed work (precompiled replies, pre-encoded events, a faster JSON layer) must not change
a single byte of what a client receives. This module replays a fixed list of requests
against a fresh server and compares each response's status, the headers that carry
meaning, and the body, byte for byte, with `tests/data/golden.jsonl`. Raw HTTP on purpose:
it is the bytes that are pinned, not what an SDK makes of them.

After a deliberate change to the wire format, regenerate the file with
`MOCKOPPER_REGENERATE_GOLDEN=1 pytest tests/test_golden_bytes.py` and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx2
import pytest

from mockopper.server import MockServer

GOLDEN = Path(__file__).parent / "data" / "golden.jsonl"

SCENARIO = """
name: golden
seed: 11
models:
  acme/dead: {error: {status: 503, message: down}}
  acme/priced: {price: {input: 2, output: 8}}
rules:
  - name: weather
    match: {tools: [get_weather], tool_result: false}
    reply:
      text: Checking.
      tool_calls: [{name: get_weather, arguments: {city: Paris}}]
  - name: after weather
    match: {tool_result: get_weather}
    reply: {text: "It is {{ tool_result }} in Paris."}
  - name: structured
    match: {json_schema: true}
    reply: {json: auto}
  - name: think
    match: {message: think}
    reply: {text: Forty-two., reasoning: "Six times seven."}
  - name: limited
    match: {message: limited}
    reply: {error: {status: 429, retry_after: 0.25}}
  - name: broken
    match: {message: broken}
    reply: {text: "one two three four", fault: {error_after: 2}}
  - name: faker
    match: {message: faker}
    reply: {text: "{{ faker.sentence }} #{{ call }}"}
  - name: embed
    match: {api: [embeddings]}
    reply: {text: unused}
  - name: hello
    reply:
      text: "Hello! This is a fixed answer, long enough to stream in several chunks."
      stream: {chunk: 20}
"""

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}, "email": {"type": "string"}},
    "required": ["name", "age", "email"],
}


def _chat(text: str, **extra: Any) -> dict[str, Any]:
    return {"model": "openai/gpt-5.5", "messages": [{"role": "user", "content": text}], **extra}


def _messages(text: str, **extra: Any) -> dict[str, Any]:
    return {
        "model": "anthropic/claude-sonnet-4-6",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": text}],
        **extra,
    }


def _gemini(text: str) -> dict[str, Any]:
    return {"contents": [{"role": "user", "parts": [{"text": text}]}]}


GEMINI = "/v1beta/models/gemini/gemini-2.5-pro"
# (name, path, body): replayed in order against one fresh server.
REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    ("chat", "/chat/completions", _chat("hello")),
    ("chat again", "/chat/completions", _chat("hello")),
    ("chat stream", "/chat/completions", _chat("hello", stream=True)),
    ("chat stream usage", "/chat/completions", _chat("hello", stream=True, stream_options={"include_usage": True})),
    ("chat tools", "/chat/completions", _chat("weather?", tools=[WEATHER_TOOL])),
    ("chat tools stream", "/chat/completions", _chat("weather?", tools=[WEATHER_TOOL], stream=True)),
    (
        "chat tool result",
        "/chat/completions",
        {
            "model": "openai/gpt-5.5",
            "tools": [WEATHER_TOOL],
            "messages": [
                {"role": "user", "content": "weather?"},
                {
                    "role": "assistant",
                    "tool_calls": [
                        {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            ],
        },
    ),
    (
        "chat json",
        "/chat/completions",
        _chat("who?", response_format={"type": "json_schema", "json_schema": {"name": "p", "schema": PERSON}}),
    ),
    ("chat faker", "/chat/completions", _chat("faker")),
    ("chat faker again", "/chat/completions", _chat("faker")),
    ("chat 429", "/chat/completions", _chat("limited")),
    ("chat error after", "/chat/completions", _chat("broken", stream=True)),
    ("chat fallback", "/chat/completions", _chat("hello", model="acme/dead", fallback_models=["acme/priced"])),
    ("chat assistant only", "/chat/completions", {"model": "m", "messages": [{"role": "assistant", "content": "x"}]}),
    ("chat invalid", "/chat/completions", {"model": "m"}),
    ("responses", "/responses", {"model": "openai/gpt-5.5", "input": "hello", "instructions": "Be brief."}),
    ("responses stream", "/responses", {"model": "openai/gpt-5.5", "input": "hello", "stream": True}),
    ("responses reasoning", "/responses", {"model": "openai/gpt-5.5", "input": "think", "stream": True}),
    (
        "responses tools",
        "/responses",
        {
            "model": "openai/gpt-5.5",
            "input": "weather?",
            "tools": [
                {"type": "function", "name": "get_weather", "parameters": WEATHER_TOOL["function"]["parameters"]}
            ],
        },
    ),
    ("openresponses", "/openresponses/responses", {"model": "openai/gpt-5.5", "input": "hello"}),
    ("openresponses stream", "/openresponses/responses", {"model": "openai/gpt-5.5", "input": "think", "stream": True}),
    (
        "embeddings",
        "/embeddings",
        {"model": "openai/text-embedding-3-small", "input": ["a cat", "a dog"], "dimensions": 8},
    ),
    (
        "embeddings base64",
        "/embeddings",
        {"model": "m", "input": "a cat", "dimensions": 4, "encoding_format": "base64"},
    ),
    ("messages", "/v1/messages", _messages("hello")),
    ("messages stream", "/v1/messages", _messages("hello", stream=True)),
    (
        "messages thinking",
        "/v1/messages",
        _messages("think", stream=True, max_tokens=2048, thinking={"type": "enabled", "budget_tokens": 1024}),
    ),
    (
        "messages tools",
        "/v1/messages",
        _messages("weather?", tools=[{"name": "get_weather", "input_schema": WEATHER_TOOL["function"]["parameters"]}]),
    ),
    ("messages 429", "/v1/messages", _messages("limited")),
    ("count tokens", "/v1/messages/count_tokens", {"model": "m", "messages": [{"role": "user", "content": "hello"}]}),
    ("gemini", GEMINI + ":generateContent", _gemini("hello")),
    ("gemini stream", GEMINI + ":streamGenerateContent?alt=sse", _gemini("hello")),
    ("gemini thinking", GEMINI + ":streamGenerateContent?alt=sse", _gemini("think")),
    ("gemini embed", GEMINI + ":embedContent", {"content": {"parts": [{"text": "a cat"}]}, "outputDimensionality": 4}),
    ("interactions", "/v1beta/interactions", {"model": "gemini/gemini-2.5-pro", "input": "hello"}),
    (
        "interactions stream",
        "/v1beta/interactions",
        {"model": "gemini/gemini-2.5-pro", "input": "hello", "stream": True},
    ),
]

# Headers that say something about the answer (a date or a server name would not be reproducible).
KEPT_HEADERS = (
    "content-type",
    "content-length",
    "x-mockopper-model",
    "x-mockopper-attempts",
    "x-mockopper-rule",
    "x-request-id",
    "request-id",
    "retry-after",
    "retry-after-ms",
    "x-should-retry",
    "x-opper-cost",
    "x-opper-trace-id",
)


def _replay() -> list[dict[str, Any]]:
    out = []
    with MockServer(SCENARIO) as server, httpx2.Client(base_url=server.base_url, timeout=10) as http:
        for name, path, body in REQUESTS:
            response = http.post(path, json=body, headers={"authorization": "Bearer golden"})
            headers = {k: response.headers[k] for k in KEPT_HEADERS if k in response.headers}
            out.append({"name": name, "status": response.status_code, "headers": headers, "body": response.text})
    return out


def test_response_bytes_are_unchanged() -> None:
    got = _replay()
    if os.environ.get("MOCKOPPER_REGENERATE_GOLDEN"):
        GOLDEN.write_text("".join(json.dumps(entry, ensure_ascii=False) + "\n" for entry in got), encoding="utf-8")
        pytest.skip(f"regenerated {GOLDEN}")
    expected = [json.loads(line) for line in GOLDEN.read_text(encoding="utf-8").splitlines()]
    assert [e["name"] for e in got] == [e["name"] for e in expected]
    for mine, theirs in zip(got, expected, strict=True):
        assert mine == theirs, f"{mine['name']}: the response changed"
