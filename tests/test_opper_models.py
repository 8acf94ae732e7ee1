"""Opper's models list (SPEC 7.3) and Chat Completions' Opper extensions (SPEC 7.5)."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import jsonschema
import openai
import opperai
import pytest
from opper_schemas import check

from mockopper.fleet import CATALOGUE
from mockopper.opper.models import FACTS
from mockopper.plugin import Mockopper

# --- GET /v3/models ------------------------------------------------------------------------


def test_the_models_list_needs_no_key_and_has_opper_s_shape(mockopper: Mockopper) -> None:
    response = httpx2.get(mockopper.url + "/v3/models")
    assert response.status_code == 200
    body = check("ModelsResponse", response.json())
    assert [m["id"] for m in body["models"]] == [model_id for model_id, _ in CATALOGUE]
    assert (body["total"], body["offset"], body["limit"]) == (len(CATALOGUE), 0, 100)
    claude = next(m for m in body["models"] if m["id"] == "anthropic/claude-sonnet-4-6")
    assert (claude["provider"], claude["model_id"], claude["type"]) == ("anthropic", "claude-sonnet-4-6", "llm")
    assert (claude["context_window"], claude["pricing"]) == (200_000, {"input": [3.0], "output": [15.0]})


def test_every_catalogue_model_has_its_facts() -> None:
    assert {model_id for model_id, _ in CATALOGUE} == set(FACTS)


def test_the_sdk_parses_the_list_and_its_filters_work(mockopper: Mockopper) -> None:
    opper = opperai.Opper(base_url=mockopper.url, api_key="test-key")
    embedding = opper.models.list(type="embedding").models
    assert {m.id for m in embedding} == {
        "openai/text-embedding-3-small",
        "openai/text-embedding-3-large",
        "gemini/gemini-embedding-001",
    }
    assert all(m.type == "embedding" and m.capabilities == ["embeddings"] for m in embedding)
    assert {m.provider for m in opper.models.list(provider="Anthropic").models} == {"anthropic"}
    page = opper.models.list(limit=2, offset=1).models
    assert [m.id for m in page] == [CATALOGUE[1][0], CATALOGUE[2][0]]
    assert [m.id for m in opper.models.list(q="FLASH-lite").models] == ["gemini/gemini-2.5-flash-lite"]
    assert opper.models.list(deprecated=True).models == []
    by_context = opper.models.list(type="llm", sort="context_window", order="desc").models
    assert by_context[0].context_window == max(m.context_window for m in by_context)


def test_the_fleet_is_listed_with_its_prices(mockopper: Mockopper) -> None:
    mockopper.load(
        {"models": {"acme/large": {"price": {"input": 2.5, "output": 7.5}, "display_name": "Acme L"}, "acme/*": {}}}
    )
    [model] = opperai.Opper(base_url=mockopper.url, api_key="k").models.list().models
    assert (model.id, model.name, model.cost) == ("acme/large", "Acme L", 2.5)
    assert model.pricing == {"input": [2.5], "output": [7.5]}


@pytest.mark.parametrize(("query", "param"), [("limit=0", "limit"), ("offset=-1", "offset"), ("sort=vibes", "sort")])
def test_a_bad_query_is_a_400_naming_it(mockopper: Mockopper, query: str, param: str) -> None:
    response = httpx2.get(f"{mockopper.url}/v3/models?{query}")
    assert response.status_code == 400
    assert check("ErrorResponse", response.json())["error"]["details"] == {"field": param}


# --- Chat Completions: output_schema, reasoning_effort, thought_signature ---------------------

PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
    "required": ["name", "age"],
    "additionalProperties": False,
}


def test_output_schema_gets_an_instance_from_the_default_scenario(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model="openai/gpt-5.5",
        messages=[{"role": "user", "content": "who?"}],
        extra_body={"output_schema": PERSON},
    )
    jsonschema.validate(json.loads(reply.choices[0].message.content or ""), PERSON)


def test_output_schema_is_structured_output_to_the_rules(mockopper: Mockopper, client: openai.OpenAI) -> None:
    mockopper.load(
        {
            "rules": [
                {"name": "structured", "match": {"json_schema": True}, "reply": {"json": "auto"}},
                {"name": "text", "reply": {"text": "free text"}},
            ]
        }
    )
    reply = client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "who?"}], extra_body={"output_schema": PERSON}
    )
    jsonschema.validate(json.loads(reply.choices[0].message.content or ""), PERSON)
    plain = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "who?"}])
    assert plain.choices[0].message.content == "free text"
    assert [r.rule for r in mockopper.requests] == ["structured", "text"]


def test_reasoning_effort_and_thought_signatures_are_accepted(client: openai.OpenAI, mockopper: Mockopper) -> None:
    messages: Any = [
        {"role": "user", "content": "weather?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": "{}"},
                    "thought_signature": "c2lnbmF0dXJl",
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    ]
    reply = client.chat.completions.create(model="gemini/gemini-2.5-pro", messages=messages, reasoning_effort="low")
    assert reply.choices[0].message.content == "Here is what I found with get_weather: sunny"


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"output_schema": "a person"}, "output_schema"),
        ({"reasoning_effort": 3}, "reasoning_effort"),
    ],
)
def test_the_extensions_are_type_checked(client: openai.OpenAI, extra: dict[str, Any], param: str) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], extra_body=extra)
    assert refused.value.param == param  # type: ignore[attr-defined]


def test_a_thought_signature_must_be_a_string(client: openai.OpenAI) -> None:
    messages: Any = [
        {"role": "user", "content": "x"},
        {
            "role": "assistant",
            "tool_calls": [
                {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}, "thought_signature": 1}
            ],
        },
    ]
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model="m", messages=messages)
    assert refused.value.param == "messages[1].tool_calls[0].thought_signature"  # type: ignore[attr-defined]
