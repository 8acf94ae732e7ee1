"""The bundled default scenario answers like a cooperative model, so agent loops terminate."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import openai

from mockopper.plugin import Mockopper

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "search_docs",
            "description": "Search the docs",
            "parameters": {
                "type": "object",
                "properties": {
                    "query": {"type": "string"},
                    "limit": {"type": "integer", "minimum": 1, "maximum": 10},
                    "sources": {"type": "array", "items": {"enum": ["web", "wiki"]}},
                },
                "required": ["query", "limit"],
                "additionalProperties": False,
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "send_email",
            "parameters": {
                "type": "object",
                "properties": {"to": {"type": "string", "format": "email"}},
                "required": ["to"],
            },
        },
    },
]


def run_agent(client: openai.OpenAI, **extra: Any) -> tuple[int, str]:
    """A minimal agent loop: call tools until the model answers in text."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": "Find the install guide"}]
    for step in range(1, 10):
        result = client.chat.completions.create(
            model="openai/gpt-5.5",
            messages=messages,  # type: ignore[arg-type]
            tools=TOOLS,
            **extra,
        )  # type: ignore[arg-type]
        message = result.choices[0].message
        if not message.tool_calls:
            return step, message.content or ""
        messages.append(message.model_dump(exclude_none=True))
        for call in message.tool_calls:
            tool = next(t for t in TOOLS if t["function"]["name"] == call.function.name)  # type: ignore[index]
            jsonschema.validate(json.loads(call.function.arguments), tool["function"]["parameters"])  # type: ignore[index]
            messages.append({"role": "tool", "tool_call_id": call.id, "content": "See docs/install.md"})
    raise AssertionError("the agent loop did not terminate")


def test_an_agent_loop_terminates(client: openai.OpenAI) -> None:
    steps, answer = run_agent(client)
    assert steps == 2
    assert "See docs/install.md" in answer


def test_a_required_tool_is_the_one_called(client: openai.OpenAI) -> None:
    result = client.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "mail it"}],
        tools=TOOLS,  # type: ignore[arg-type]
        tool_choice={"type": "function", "function": {"name": "send_email"}},
    )
    [call] = result.choices[0].message.tool_calls or []
    assert call.function.name == "send_email"
    assert "@" in json.loads(call.function.arguments)["to"]


def test_tool_choice_none_gets_text(client: openai.OpenAI) -> None:
    result = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}], tools=TOOLS, tool_choice="none"
    )  # type: ignore[arg-type]
    assert result.choices[0].message.tool_calls is None
    assert result.choices[0].message.content


def test_a_schema_gets_a_valid_instance(client: openai.OpenAI) -> None:
    schema = {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "year": {"type": "integer"},
            "genres": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["title", "year", "genres"],
        "additionalProperties": False,
    }
    result = client.chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "a film"}],
        response_format={"type": "json_schema", "json_schema": {"name": "film", "schema": schema, "strict": True}},
    )
    jsonschema.validate(json.loads(result.choices[0].message.content or ""), schema)


def test_anything_else_gets_text(client: openai.OpenAI, mockopper: Mockopper) -> None:
    result = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hello"}])
    assert len((result.choices[0].message.content or "").split()) > 5
    assert mockopper.requests[0].rule == "answer anything"
