"""Opper's cost (SPEC 7.1), through the real SDKs: `X-Opper-Cost`, `cost` in bodies, `usage.cost` in streams.

The prices here are the scenario's (`price:`), the built-in table's, or the default; each
expected cost is worked out by hand from the tokens the response itself reports.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import anthropic
import httpx2
import openai
import pytest
from google import genai
from opper_schemas import check
from surfaces import ALL_APIS, SURFACES, Embeddings, Gemini, Messages, Surface, each, each_mode

from mockopper.opper.cost import DEFAULT_PRICE, PRICES
from mockopper.plugin import Mockopper

SCENARIO = {
    "name": "cost",
    "models": {
        "acme/priced": {"price": {"input": 2, "output": 8}},
        "globbed/*": {"price": {"input": 0.5, "output": 1.5}},
        "acme/down": {"error": {"status": 503, "message": "acme/down is down"}},
    },
    "rules": [
        {"name": "scripted", "match": {"message": "scripted"}, "reply": {"text": "Scripted.", "cost": 0.25}},
        {"name": "refused", "match": {"message": "refuse"}, "reply": {"error": {"status": 400, "message": "no"}}},
        {"name": "plain", "match": {"api": ALL_APIS, "message": "plain"}, "reply": {"text": "Plain answer here."}},
        {
            "name": "tokens",
            "match": {"api": ALL_APIS},
            "reply": {"text": "Hello there.", "usage": {"input_tokens": 1000, "output_tokens": 500}},
        },
    ],
}
AUTH = {"authorization": "Bearer test-key"}


@pytest.fixture(autouse=True)
def scenario(mockopper: Mockopper) -> None:
    mockopper.load(SCENARIO)


@each_mode(SURFACES)
def test_answers_carry_the_cost_header_and_streams_do_not(
    surface: type[Surface], stream: bool, connect: Any, mockopper: Mockopper
) -> None:
    reply = connect(surface).send("what does it cost", model="acme/priced", stream=stream)
    [record] = mockopper.requests
    # 1000 input tokens at $2 per million, 500 output tokens at $8 (embeddings: their input only).
    expected = 0.002 if surface is Embeddings else 0.006
    assert record.cost == expected
    if stream:
        assert "x-opper-cost" not in reply.headers
    else:
        assert reply.headers["x-opper-cost"] == ("0.002" if surface is Embeddings else "0.006")


def test_chat_and_responses_bodies_carry_cost(mockopper: Mockopper) -> None:
    client = openai.OpenAI(base_url=mockopper.base_url, api_key="k", max_retries=0)
    chat = client.chat.completions.create(model="acme/priced", messages=[{"role": "user", "content": "hi"}])
    assert chat.model_extra == {"cost": 0.006}
    raw = client.responses.with_raw_response.create(model="acme/priced", input="hi")
    assert (raw.parse().model_extra or {})["cost"] == 0.006
    check("ResponsesResponse", json.loads(raw.text))
    body = httpx2.post(
        mockopper.base_url + "/chat/completions",
        headers=AUTH,
        json={"model": "acme/priced", "messages": [{"role": "user", "content": "hi"}]},
    ).json()
    assert check("ChatResponse", body)["cost"] == 0.006


@pytest.mark.parametrize(
    ("path", "body", "schema"),
    [
        ("/openresponses", {"model": "acme/priced", "input": "hi"}, "ORResponse"),
        (
            "/v1/messages",
            {"model": "acme/priced", "max_tokens": 9, "messages": [{"role": "user", "content": "hi"}]},
            "MessagesResponse",
        ),
        ("/embeddings", {"model": "acme/priced", "input": "hi"}, "EmbeddingsResponse"),
    ],
    ids=["openresponses", "messages", "embeddings"],
)
def test_other_bodies_keep_their_published_shape(
    mockopper: Mockopper, path: str, body: dict[str, Any], schema: str
) -> None:
    response = httpx2.post(mockopper.base_url + path, headers=AUTH, json=body)
    assert response.status_code == 200
    # Opper's schemas give these bodies no `cost`: the header carries it.
    assert "cost" not in check(schema, response.json())
    assert Decimal(response.headers["x-opper-cost"]) > 0


def test_chat_stream_usage_chunk_carries_the_cost(mockopper: Mockopper) -> None:
    client = openai.OpenAI(base_url=mockopper.base_url, api_key="k", max_retries=0)
    chunks = list(
        client.chat.completions.create(
            model="acme/priced",
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    usage = chunks[-1].usage
    assert usage is not None and (usage.prompt_tokens, usage.completion_tokens) == (1000, 500)
    assert usage.model_extra == {"cost": 0.006}


@pytest.mark.parametrize("path", ["", "/openresponses"], ids=["responses", "openresponses"])
def test_response_completed_usage_carries_the_cost(mockopper: Mockopper, path: str) -> None:
    client = openai.OpenAI(base_url=mockopper.base_url + path, api_key="k", max_retries=0)
    events = list(client.responses.create(model="acme/priced", input="hi", stream=True))
    completed = events[-1]
    assert completed.type == "response.completed"
    assert completed.response.usage is not None and completed.response.usage.model_extra == {"cost": 0.006}
    created = events[0]
    assert created.type == "response.created" and created.response.usage is None


def test_message_delta_usage_carries_the_cost(mockopper: Mockopper) -> None:
    client = anthropic.Anthropic(base_url=mockopper.base_url, api_key="k", max_retries=0)
    events = list(
        client.messages.create(
            model="acme/priced", max_tokens=100, messages=[{"role": "user", "content": "hi"}], stream=True
        )
    )
    [delta] = [e for e in events if e.type == "message_delta"]
    assert delta.usage.output_tokens == 500
    assert delta.usage.model_extra == {"cost": 0.006}


def test_interaction_completed_usage_carries_the_cost(mockopper: Mockopper) -> None:
    client = genai.Client(api_key="k", http_options={"base_url": mockopper.base_url})
    events = list(client.interactions.create(model="acme/priced", input="hi", stream=True))
    [done] = [e for e in events if e.event_type == "interaction.completed"]
    assert done.interaction.usage.model_extra["cost"] == 0.006


def test_gemini_stream_usage_metadata_carries_the_cost(mockopper: Mockopper) -> None:
    # google-genai drops response fields it does not declare, so the wire is read directly.
    response = httpx2.post(
        mockopper.base_url + "/v1beta/models/acme/priced:streamGenerateContent?alt=sse",
        headers={"x-goog-api-key": "k"},
        json={"contents": [{"role": "user", "parts": [{"text": "hi"}]}]},
    )
    chunks = [json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: ")]
    assert [c["usageMetadata"]["cost"] for c in chunks if "usageMetadata" in c] == [0.006]
    assert "x-opper-cost" not in response.headers


@pytest.mark.parametrize(
    ("model", "price"),
    [
        ("acme/priced", (2, 8)),  # the fleet
        ("globbed/anything", (0.5, 1.5)),  # a fleet glob
        ("openai/gpt-4o-mini", (0.15, 0.6)),  # the built-in table
        ("anthropic/claude-sonnet-4-6", (3, 15)),
        ("someone/unknown", (1, 4)),  # the default
    ],
)
def test_prices_come_from_the_fleet_the_table_or_the_default(
    mockopper: Mockopper, model: str, price: tuple[float, float]
) -> None:
    client = openai.OpenAI(base_url=mockopper.base_url, api_key="k", max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model=model, messages=[{"role": "user", "content": "plain question"}]
    )
    usage = raw.parse().usage
    assert usage is not None
    expected = (usage.prompt_tokens * Decimal(str(price[0])) + usage.completion_tokens * Decimal(str(price[1]))) / (
        10**6
    )
    assert Decimal(raw.headers["x-opper-cost"]) == expected
    assert raw.parse().model_extra == {"cost": float(expected)}


def test_the_documented_table_and_default() -> None:
    assert PRICES["openai/gpt-5.5"].input == 1.25 and PRICES["openai/gpt-5.5"].output == 10
    assert (DEFAULT_PRICE.input, DEFAULT_PRICE.output) == (1.0, 4.0)


def test_a_reply_may_script_its_cost(connect: Any, mockopper: Mockopper) -> None:
    for surface in (s for s in SURFACES if s is not Embeddings):
        reply = connect(surface).send("scripted please", model="acme/priced")
        assert reply.headers["x-opper-cost"] == "0.25", surface.api
    assert {r.cost for r in mockopper.requests} == {0.25}


def test_failed_attempts_cost_nothing(mockopper: Mockopper) -> None:
    client = openai.OpenAI(base_url=mockopper.base_url, api_key="k", max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model="acme/down", messages=[{"role": "user", "content": "hi"}], extra_body={"fallback_models": ["acme/priced"]}
    )
    assert raw.headers["x-mockopper-attempts"] == "acme/down,acme/priced"
    assert raw.headers["x-opper-cost"] == "0.006"  # the answering model's tokens only
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model="acme/priced", messages=[{"role": "user", "content": "refuse"}])
    assert "x-opper-cost" not in refused.value.response.headers
    with pytest.raises(openai.InternalServerError) as down:
        client.chat.completions.create(model="acme/down", messages=[{"role": "user", "content": "hi"}])
    assert "x-opper-cost" not in down.value.response.headers
    assert [r.cost for r in mockopper.requests] == [0.006, 0.0, 0.0]


def test_token_counts_cost_nothing(mockopper: Mockopper) -> None:
    claude = anthropic.Anthropic(base_url=mockopper.base_url, api_key="k", max_retries=0)
    raw = claude.messages.with_raw_response.count_tokens(
        model="acme/priced", messages=[{"role": "user", "content": "how many tokens is this"}]
    )
    assert raw.parse().input_tokens > 0 and raw.headers["x-opper-cost"] == "0"
    google = genai.Client(api_key="k", http_options={"base_url": mockopper.base_url})
    counted = google.models.count_tokens(model="acme/priced", contents="how many tokens is this")
    assert counted.sdk_http_response is not None and counted.sdk_http_response.headers is not None
    assert counted.sdk_http_response.headers["x-opper-cost"] == "0"


def test_the_header_is_plain_decimal_even_for_tiny_costs(mockopper: Mockopper) -> None:
    mockopper.load({"rules": []})  # embeddings are generated: 1 token of "hi"
    client = openai.OpenAI(base_url=mockopper.base_url, api_key="k", max_retries=0)
    raw = client.embeddings.with_raw_response.create(model="openai/text-embedding-3-small", input="hi")
    assert raw.parse().usage.prompt_tokens == 1
    assert raw.headers["x-opper-cost"] == "0.00000002"  # $0.02 per million, no exponent


@each([Messages, Gemini])
def test_the_same_request_costs_the_same_every_run(surface: type[Surface], connect: Any, mockopper: Mockopper) -> None:
    mockopper.load("default.yaml")
    first = connect(surface).send("tell me something", model="gemini/gemini-2.5-flash").headers["x-opper-cost"]
    mockopper.reset()
    again = connect(surface).send("tell me something", model="gemini/gemini-2.5-flash").headers["x-opper-cost"]
    assert first == again and Decimal(first) > 0
