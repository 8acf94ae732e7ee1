"""DSPy programs against the default scenario, through LiteLLM, with no rule written.

The ChatAdapter asks for `[[ ## field ## ]]` sections in its prompt; the JSONAdapter asks
for a JSON object, through structured outputs, JSON mode or the prompt alone, depending
on what LiteLLM says the model supports. Each gets its fields back, typed as declared, on
the first call (the ChatAdapter's fallback to JSON is switched off, so it cannot hide a
miss). Importing DSPy takes a second or two, so it is confined to this module.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from typing import Any, Literal

import pytest
from pydantic import BaseModel

from mockopper.plugin import Mockopper
from mockopper.server import MockServer

# LiteLLM fetches a model price list over the network unless told to use its own copy;
# DSPy keeps a disk cache that would answer a repeated call without a request.
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
os.environ.setdefault("DSPY_CACHEDIR", os.path.join(tempfile.gettempdir(), "mockopper-dspy-cache"))

import dspy
import litellm

litellm.telemetry = False
dspy.configure_cache(enable_disk_cache=False, enable_memory_cache=False)

pytestmark = pytest.mark.usefixtures("no_network")

# What LiteLLM knows of each model decides how the JSONAdapter asks for JSON.
JSON_PATHS = {
    "openai/gpt-4o-mini": "json_schema",  # structured outputs: the request carries the schema
    "openai/gpt-3.5-turbo": "json_object",  # JSON mode: the fields are only in the prompt
    "openai/some-local-model": None,  # unknown to LiteLLM: the prompt alone asks for JSON
}


class Person(BaseModel):
    name: str
    age: int


class Typed(dspy.Signature):
    """Answer the question about the film."""

    question: str = dspy.InputField()
    year: int = dspy.OutputField()
    score: float = dspy.OutputField()
    sequel: bool = dspy.OutputField()
    genres: list[str] = dspy.OutputField()
    mood: Literal["tense", "calm"] = dspy.OutputField()
    director: Person = dspy.OutputField()


@pytest.fixture(scope="module")
def base_url(mockopper_server: MockServer) -> str:
    return mockopper_server.base_url


@pytest.fixture
def lm(base_url: str, mockopper: Mockopper) -> Iterator[Any]:
    def make(model: str = "openai/gpt-4o-mini", adapter: Any = None) -> Any:
        made = dspy.LM(model, api_base=base_url, api_key="k", cache=False, num_retries=0)
        return dspy.context(lm=made, adapter=adapter or dspy.ChatAdapter(use_json_adapter_fallback=False))

    yield make


ADAPTERS = {
    "chat": lambda: dspy.ChatAdapter(use_json_adapter_fallback=False),
    "json": lambda: dspy.JSONAdapter(),
}


@pytest.mark.parametrize("adapter", list(ADAPTERS))
def test_predict(lm: Any, mockopper: Mockopper, adapter: str) -> None:
    with lm("openai/some-local-model", ADAPTERS[adapter]()):
        result = dspy.Predict("question -> answer")(question="Who directed Alien?")
    assert isinstance(result.answer, str) and result.answer
    assert len(mockopper.requests) == 1


@pytest.mark.parametrize("adapter", list(ADAPTERS))
def test_chain_of_thought_with_an_int_answer(lm: Any, mockopper: Mockopper, adapter: str) -> None:
    with lm("openai/some-local-model", ADAPTERS[adapter]()):
        result = dspy.ChainOfThought("question -> answer: int")(question="How many crew are on the Nostromo?")
    assert isinstance(result.answer, int) and 0 <= result.answer <= 100
    assert isinstance(result.reasoning, str) and " " in result.reasoning
    assert len(mockopper.requests) == 1


def check_typed(result: Any) -> None:
    assert isinstance(result.year, int) and 1950 <= result.year <= 2030
    assert isinstance(result.score, float)
    assert isinstance(result.sequel, bool)
    assert isinstance(result.genres, list) and all(isinstance(g, str) for g in result.genres)
    assert result.mood in ("tense", "calm")
    assert isinstance(result.director, Person) and 18 <= result.director.age <= 90
    assert isinstance(result.reasoning, str)


def test_chat_adapter_typed_fields(lm: Any, mockopper: Mockopper) -> None:
    with lm():
        check_typed(dspy.ChainOfThought(Typed)(question="Tell me about Alien."))
    [record] = mockopper.requests
    assert "response_format" not in record.request_body
    content = record.response_body["choices"][0]["message"]["content"]
    assert content.startswith("[[ ## reasoning ## ]]\n") and content.endswith("[[ ## completed ## ]]")


@pytest.mark.parametrize("model", list(JSON_PATHS))
def test_json_adapter_typed_fields(lm: Any, mockopper: Mockopper, model: str) -> None:
    with lm(model, dspy.JSONAdapter()):
        check_typed(dspy.ChainOfThought(Typed)(question="Tell me about Alien."))
    [record] = mockopper.requests
    asked = (record.request_body.get("response_format") or {}).get("type")
    assert asked == JSON_PATHS[model]  # each way of asking for JSON is exercised


def test_an_ordinary_prompt_through_litellm_is_text(base_url: str, mockopper: Mockopper) -> None:
    made = dspy.LM("openai/gpt-4o-mini", api_base=base_url, api_key="k", cache=False, num_retries=0)
    [text] = made("What is JSON?")
    assert "[[" not in text and "{" not in text
