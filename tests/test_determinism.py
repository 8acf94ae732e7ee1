"""Determinism (SPEC 3): the same requests give the same bytes, run after run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import openai

from mockopper.server import MockServer

SCENARIO = """
seed: 11
rules:
  - name: weather
    match: {tools: true, tool_result: false}
    reply: {tool_calls: auto}
  - name: json
    match: {json_schema: true}
    reply: {json: auto}
  - name: chatter
    match: {message: chat}
    reply:
      text: "{{ faker.paragraph }} {{ faker.name }} #{{ call }}"
  - name: other
    reply:
      text: "{{ faker.sentence }}"
"""

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "days": {"type": "integer"}},
                "required": ["city", "days"],
            },
        },
    }
]
SCHEMA = {
    "type": "json_schema",
    "json_schema": {
        "name": "p",
        "schema": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "score": {"type": "number"}},
            "required": ["name", "score"],
        },
    },
}


def session(base_url: str) -> list[bytes]:
    """A fixed sequence of requests; returns every response's raw bytes."""
    client = openai.OpenAI(base_url=base_url, api_key="k", max_retries=0)
    chat = client.chat.completions
    out = []
    calls: list[Callable[[], Any]] = [
        lambda: chat.with_raw_response.create(model="openai/gpt-5.5", messages=[{"role": "user", "content": "chat"}]),
        lambda: chat.with_raw_response.create(model="openai/gpt-5.5", messages=[{"role": "user", "content": "chat"}]),
        lambda: chat.with_raw_response.create(
            model="m", messages=[{"role": "user", "content": "weather?"}], tools=TOOLS
        ),
        lambda: chat.with_raw_response.create(
            model="m", messages=[{"role": "user", "content": "who"}], response_format=SCHEMA
        ),
    ]
    for call in calls:
        out.append(call().content)
    with chat.with_streaming_response.create(
        model="m",
        messages=[{"role": "user", "content": "chat more"}],
        stream=True,
        stream_options={"include_usage": True},
    ) as stream:
        out.append(b"".join(stream.iter_bytes()))
    return out


def test_two_fresh_servers_answer_byte_for_byte_the_same() -> None:
    with MockServer(SCENARIO) as first:
        one = session(first.base_url)
    with MockServer(SCENARIO) as second:
        two = session(second.base_url)
    assert one == two
    assert one[0] != one[1]  # the rule's call count is part of what a value derives from
    assert b"chatcmpl-" in one[0] and b'"created":1767225600' in one[0]


def test_the_seed_changes_generated_values() -> None:
    with MockServer(SCENARIO) as first:
        one = session(first.base_url)
    with MockServer(SCENARIO, seed=12) as second:
        two = session(second.base_url)
    assert one[0] != two[0]


def test_traffic_to_one_rule_does_not_change_another_rules_answers() -> None:
    def other_rule_answer(base_url: str, noise: int) -> bytes:
        client = openai.OpenAI(base_url=base_url, api_key="k", max_retries=0)
        for _ in range(noise):
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "chat"}])
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "weather"}], tools=TOOLS)  # type: ignore[arg-type]
        raw = client.chat.completions.with_raw_response.create(
            model="m", messages=[{"role": "user", "content": "something else"}]
        )
        return raw.content

    with MockServer(SCENARIO) as quiet:
        alone = other_rule_answer(quiet.base_url, 0)
    with MockServer(SCENARIO) as busy:
        crowded = other_rule_answer(busy.base_url, 5)
    assert alone == crowded
