"""Seeded generation: schema instances that validate, vectors that mean something, stable ids."""

from __future__ import annotations

import math
import random
from typing import Any

import jsonschema
import pytest
from faker import Faker

from mockopper.fakes import embedding, float32_base64, ident, logprobs
from mockopper.schema_instances import schema_instance

SCHEMAS: list[dict[str, Any]] = [
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    {
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 3, "maxLength": 12},
            "age": {"type": "integer", "minimum": 18, "maximum": 99},
            "score": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 4, "uniqueItems": True},
            "kind": {"enum": ["a", "b", "c"]},
            "fixed": {"const": 42},
            "active": {"type": "boolean"},
            "nothing": {"type": "null"},
        },
        "required": ["name", "age", "score", "tags", "kind", "fixed", "active", "nothing"],
        "additionalProperties": False,
    },
    {
        "type": "object",
        "properties": {
            "email": {"type": "string", "format": "email"},
            "when": {"type": "string", "format": "date-time"},
            "day": {"type": "string", "format": "date"},
            "id": {"type": "string", "format": "uuid"},
            "site": {"type": "string", "format": "uri"},
            "code": {"type": "string", "pattern": "^[A-Z]{3}-\\d{4}$"},
            "even": {"type": "integer", "multipleOf": 2, "minimum": 1, "maximum": 9},
        },
        "required": ["email", "when", "day", "id", "site", "code", "even"],
    },
    {
        "$defs": {
            "Node": {
                "type": "object",
                "properties": {
                    "value": {"type": "integer"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
                },
                "required": ["value", "children"],
            }
        },
        "$ref": "#/$defs/Node",
    },
    {
        "type": "object",
        "properties": {
            "pet": {
                "anyOf": [
                    {
                        "type": "object",
                        "properties": {"kind": {"const": "cat"}, "lives": {"type": "integer"}},
                        "required": ["kind", "lives"],
                    },
                    {
                        "type": "object",
                        "properties": {"kind": {"const": "dog"}, "good": {"type": "boolean"}},
                        "required": ["kind", "good"],
                    },
                ]
            },
            "maybe": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        },
        "required": ["pet", "maybe"],
    },
    {
        "definitions": {
            "Address": {"type": "object", "properties": {"street": {"type": "string"}}, "required": ["street"]}
        },
        "type": "object",
        "properties": {
            "home": {"$ref": "#/definitions/Address"},
            "all": {
                "allOf": [
                    {"$ref": "#/definitions/Address"},
                    {"properties": {"zip": {"type": "string"}}, "required": ["zip"]},
                ]
            },
        },
        "required": ["home", "all"],
    },
    {"type": "array", "items": {"type": ["integer", "null"]}, "minItems": 1},
    {
        "type": "object",
        "properties": {
            "pair": {
                "type": "array",
                "prefixItems": [{"type": "string"}, {"type": "number"}],
                "minItems": 2,
                "maxItems": 2,
            }
        },
        "required": ["pair"],
    },
]


@pytest.mark.parametrize("schema", SCHEMAS)
@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_instances_validate(schema: dict[str, Any], seed: int) -> None:
    fake = Faker()
    fake.seed_instance(seed)
    value = schema_instance(schema, random.Random(seed), fake)
    jsonschema.validate(value, schema, format_checker=jsonschema.FormatChecker())


def test_instances_are_deterministic() -> None:
    def make() -> Any:
        fake = Faker()
        fake.seed_instance(9)
        return schema_instance(SCHEMAS[1], random.Random(9), fake)

    assert make() == make()


def test_gemini_uppercase_types_are_understood() -> None:
    value = schema_instance(
        {"type": "OBJECT", "properties": {"n": {"type": "INTEGER"}, "s": {"type": "STRING"}}, "required": ["n", "s"]},
        random.Random(0),
    )
    assert isinstance(value["n"], int) and isinstance(value["s"], str)


def test_property_names_pick_realistic_values() -> None:
    fake = Faker()
    fake.seed_instance(0)
    value = schema_instance(
        {"type": "object", "properties": {"email": {"type": "string"}, "city": {"type": "string"}}},
        random.Random(0),
        fake,
    )
    assert "@" in value["email"]


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_embeddings_are_unit_length_and_deterministic() -> None:
    vector = embedding("The cat sat on the mat.", 1536, 0)
    assert len(vector) == 1536
    assert math.isclose(sum(x * x for x in vector), 1.0, rel_tol=1e-5)
    assert vector == embedding("The cat sat on the mat.", 1536, 0)
    assert vector != embedding("The cat sat on the mat.", 1536, 1)  # the seed matters
    assert len(embedding("x", 256, 0)) == 256


def test_texts_that_share_words_are_closer() -> None:
    base = embedding("how do I reset my password", 1536, 0)
    near = embedding("reset password instructions", 1536, 0)
    far = embedding("quarterly revenue grew in europe", 1536, 0)
    assert cosine(base, near) > cosine(base, far) + 0.3


def test_base64_is_little_endian_float32() -> None:
    assert float32_base64([0.5, -0.25, 1.0]) == "AAAAPwAAgL4AAIA/"  # the verified fixture's bytes


def test_ids_are_stable_and_distinct() -> None:
    assert ident("k", "chatcmpl-") == ident("k", "chatcmpl-")
    assert ident("k", "chatcmpl-") != ident("k", "chatcmpl-", 1)
    assert ident("k", "msg_").startswith("msg_") and len(ident("k", "msg_")) == 28


@pytest.mark.parametrize(
    "text",
    ["Hello from mockopper! It is 42.", "  two  spaces\nand a line", "naïve café, 東京", "x", "", '{"a": [1, 2]}'],
)
@pytest.mark.parametrize("top", [0, 1, 5, 20])
def test_logprobs_read_as_a_models(text: str, top: int) -> None:
    tokens = logprobs(text, top)
    assert "".join(token for (token, _), _ in tokens) == text  # the tokens join back into the text
    for chosen, likeliest in tokens:
        assert chosen[1] <= 0 and str(chosen[1]) != "-0.0"
        assert len({token for token, _ in likeliest}) == len(likeliest) == top  # as many as asked, none twice
        if likeliest:
            assert likeliest[0] == chosen  # the chosen token is the likeliest
            assert [p for _, p in likeliest] == sorted((p for _, p in likeliest), reverse=True)
            assert sum(math.exp(p) for _, p in likeliest) <= 1 + 1e-6
    assert logprobs(text, top) == tokens  # a pure function of the text


def test_logprobs_are_mostly_near_certain() -> None:
    tokens = logprobs(" ".join(f"word{i}" for i in range(400)), 0)
    near = sum(1 for (_, logprob), _ in tokens if math.exp(logprob) > 0.9)
    assert 0.6 * len(tokens) < near < len(tokens)
