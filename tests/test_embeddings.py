"""OpenAI Embeddings and the models list through the real `openai` SDK."""

from __future__ import annotations

import base64
import math
import struct

import openai
import pytest

from mockopper.fleet import CATALOGUE
from mockopper.plugin import Mockopper

MODEL = "openai/text-embedding-3-small"


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / (math.hypot(*a) * math.hypot(*b))


def test_default_encoding_is_base64_and_the_sdk_decodes_it(client: openai.OpenAI, mockopper: Mockopper) -> None:
    result = client.embeddings.create(model=MODEL, input="The quick brown fox")
    [item] = result.data
    assert len(item.embedding) == 1536
    assert math.isclose(math.hypot(*item.embedding), 1.0, rel_tol=1e-5)
    assert (result.model, result.object, item.index) == (MODEL, "list", 0)
    assert result.usage.prompt_tokens == result.usage.total_tokens == 5  # ceil(19 chars / 4)
    [record] = mockopper.requests
    assert record.request_body["encoding_format"] == "base64"  # what the SDK asks for by default
    wire = record.response_body["data"][0]["embedding"]
    assert isinstance(wire, str)
    assert list(struct.unpack("<1536f", base64.b64decode(wire))) == item.embedding  # little-endian float32
    assert (record.api, record.reply_kind) == ("embeddings", "embedding")


def test_float_encoding_returns_the_same_vectors(client: openai.OpenAI, mockopper: Mockopper) -> None:
    as_floats = client.embeddings.create(model=MODEL, input=["alpha beta", "gamma"], encoding_format="float")
    as_base64 = client.embeddings.create(model=MODEL, input=["alpha beta", "gamma"])
    assert [d.embedding for d in as_floats.data] == [d.embedding for d in as_base64.data]
    assert [d.index for d in as_floats.data] == [0, 1]
    assert isinstance(mockopper.requests[0].response_body["data"][0]["embedding"], list)


def test_dimensions_are_honoured(client: openai.OpenAI) -> None:
    result = client.embeddings.create(model=MODEL, input="hello", dimensions=256)
    assert len(result.data[0].embedding) == 256
    assert math.isclose(math.hypot(*result.data[0].embedding), 1.0, rel_tol=1e-5)


def test_token_arrays_count_one_prompt_token_per_id(client: openai.OpenAI) -> None:
    result = client.embeddings.create(model=MODEL, input=[[15339, 1917], [15339, 1917, 0]], encoding_format="float")
    assert len(result.data) == 2 and result.usage.prompt_tokens == 5
    single = client.embeddings.create(model=MODEL, input=[15339, 1917])
    assert single.data[0].embedding == result.data[0].embedding


SENTENCES = [
    "How do I bake sourdough bread at home?",
    "The stock market fell sharply on Monday.",
    "Training a puppy to sit takes patience.",
    "Python lists and dictionaries explained.",
]


@pytest.mark.parametrize(
    ("query", "best"),
    [
        ("easy sourdough bread recipe", 0),
        ("why did the stock market fall", 1),
        ("tips for training a puppy", 2),
        ("python dictionaries tutorial", 3),
    ],
)
def test_texts_that_share_words_are_closest(client: openai.OpenAI, query: str, best: int) -> None:
    result = client.embeddings.create(model=MODEL, input=[query, *SENTENCES])
    vectors = [d.embedding for d in result.data]
    scores = [cosine(vectors[0], v) for v in vectors[1:]]
    ranked = sorted(range(len(SENTENCES)), key=lambda i: -scores[i])
    assert ranked[0] == best
    assert scores[best] > scores[ranked[1]] + 0.1


def test_vectors_are_deterministic(client: openai.OpenAI) -> None:
    first = client.embeddings.create(model=MODEL, input="same text")
    second = client.embeddings.create(model=MODEL, input="same text")
    assert first.data[0].embedding == second.data[0].embedding


def test_only_rules_naming_embeddings_answer_them(client: openai.OpenAI, mockopper: Mockopper) -> None:
    mockopper.load("""
rules:
  - name: embeddings quota
    match: {api: embeddings, model: "*-large"}
    reply: {error: {status: 429, message: embedding quota exhausted}}
  - name: everything else
    reply: {text: hello}
""")
    with pytest.raises(openai.RateLimitError, match="embedding quota exhausted"):
        client.embeddings.create(model="openai/text-embedding-3-large", input="x")
    assert len(client.embeddings.create(model=MODEL, input="x").data[0].embedding) == 1536
    assert [r.rule for r in mockopper.requests] == ["embeddings quota", None]


@pytest.mark.parametrize(
    ("body", "param", "fragment"),
    [
        ({"model": MODEL}, "input", "Missing required parameter: 'input'"),
        ({"input": "x"}, "model", "Missing required parameter: 'model'"),
        ({"model": MODEL, "input": ""}, "input", "'$.input' is invalid"),
        ({"model": MODEL, "input": []}, "input", "'$.input' is invalid"),
        ({"model": MODEL, "input": ["a", 1]}, "input", "'$.input' is invalid"),
        ({"model": MODEL, "input": {"text": "a"}}, "input", "expected a string or an array"),
        ({"model": MODEL, "input": "x", "encoding_format": "hex"}, "encoding_format", "'hex'"),
        ({"model": MODEL, "input": "x", "dimensions": 0}, "dimensions", "Expected a value >= 1"),
    ],
)
def test_invalid_requests_get_openai_400s(
    client: openai.OpenAI, body: dict[str, object], param: str, fragment: str
) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        client.post("/embeddings", body=body, cast_to=object)
    assert info.value.param == param
    assert fragment in info.value.message


# --- models -------------------------------------------------------------------------------


def test_models_list_is_the_catalogue_plus_the_models_rules_name(client: openai.OpenAI, mockopper: Mockopper) -> None:
    mockopper.load("rules:\n  - match: {model: acme/house-model}\n    reply: {text: hi}\n")
    ids = [m.id for m in client.models.list()]
    assert ids == [mid for mid, _ in CATALOGUE] + ["acme/house-model"]
    model = client.models.list().data[0]
    assert (model.object, model.owned_by) == ("model", "openai")


def test_models_list_is_the_scenario_fleet(client: openai.OpenAI, mockopper: Mockopper) -> None:
    mockopper.load("""
models:
  openai/gpt-5.5: {}
  anthropic/claude-sonnet-4-6: {error: {status: 503}}
rules:
  - reply: {text: hi}
""")
    assert [m.id for m in client.models.list()] == ["openai/gpt-5.5", "anthropic/claude-sonnet-4-6"]


def test_models_retrieve_finds_one_or_404s(client: openai.OpenAI) -> None:
    model = client.models.retrieve("anthropic/claude-sonnet-4-6")  # the SDK escapes the slash
    assert (model.id, model.owned_by) == ("anthropic/claude-sonnet-4-6", "anthropic")
    with pytest.raises(openai.NotFoundError) as info:
        client.models.retrieve("acme/no-such-model")
    assert info.value.code == "model_not_found"
    assert "The model 'acme/no-such-model' does not exist" in info.value.message
