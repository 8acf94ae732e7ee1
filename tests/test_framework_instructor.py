"""instructor, in every mode it offers for the OpenAI, Anthropic and Google clients, against the default scenario.

No rule is written: the bundled default answers each mode the way a cooperative model
does (a tool call, a JSON object to the schema in the system prompt, a ```json block),
so the first attempt validates and instructor never re-asks.

instructor pins `jiter` below what current openai releases need, so it is installed
without its pins (`pip install --no-deps instructor`, as `make install` and CI do);
without it these tests skip, unless MOCKOPPER_REQUIRE_INSTRUCTOR is set.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from typing import Any

import anthropic
import openai
import pytest
from google import genai
from google.genai import types
from pydantic import BaseModel

from mockopper.plugin import Mockopper
from mockopper.server import MockServer

try:
    import instructor
except ImportError as exc:  # pragma: no cover - depends on the install
    if os.environ.get("MOCKOPPER_REQUIRE_INSTRUCTOR"):
        raise
    pytest.skip(f"instructor is not installed ({exc}); pip install --no-deps instructor", allow_module_level=True)

pytestmark = pytest.mark.usefixtures("no_network")

# Every mode the installed instructor accepts for each client; the older provider-prefixed
# names are deprecated aliases, still in use, so they are run too.
MODES = {
    "openai": [
        "TOOLS",
        "PARALLEL_TOOLS",
        "JSON",
        "MD_JSON",
        "JSON_SCHEMA",
        "RESPONSES_TOOLS",
        "RESPONSES_TOOLS_WITH_INBUILT_TOOLS",
        "FUNCTIONS",
        "TOOLS_STRICT",
        "JSON_O1",
    ],
    "anthropic": [
        "TOOLS",
        "PARALLEL_TOOLS",
        "JSON",
        "JSON_SCHEMA",
        "ANTHROPIC_TOOLS",
        "ANTHROPIC_REASONING_TOOLS",
        "ANTHROPIC_JSON",
        "ANTHROPIC_PARALLEL_TOOLS",
    ],
    "genai": ["TOOLS", "JSON", "GENAI_TOOLS", "GENAI_JSON", "GENAI_STRUCTURED_OUTPUTS"],
}
MODELS = {"openai": "openai/gpt-5.5", "anthropic": "anthropic/claude-sonnet-4-6", "genai": "gemini/gemini-2.5-pro"}


class Movie(BaseModel):
    title: str
    year: int
    director: str
    rating: float


@pytest.fixture(scope="module")
def clients(mockopper_server: MockServer) -> Iterable[dict[str, Any]]:
    base = mockopper_server.base_url
    made = {
        "openai": openai.OpenAI(base_url=base, api_key="k", max_retries=0),
        "anthropic": anthropic.Anthropic(base_url=base, api_key="k", max_retries=0),
        "genai": genai.Client(api_key="k", http_options=types.HttpOptions(base_url=base)),
    }
    yield made
    made["openai"].close()
    made["anthropic"].close()


def patch(provider: str, client: Any, mode: str) -> Any:
    make = {"openai": instructor.from_openai, "anthropic": instructor.from_anthropic, "genai": instructor.from_genai}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the provider-prefixed aliases
        return make[provider](client, mode=instructor.Mode[mode])


def accepted(provider: str, client: Any) -> set[str]:
    found = set()
    for mode in instructor.Mode:
        try:
            patch(provider, client, mode.name)
        except Exception:
            continue
        found.add(mode.name)
    return found


@pytest.mark.parametrize("provider", list(MODES))
def test_every_mode_the_installed_version_offers_is_covered(provider: str, clients: dict[str, Any]) -> None:
    assert accepted(provider, clients[provider]) == set(MODES[provider])


def check(movie: Movie) -> None:
    assert movie.title and " " in movie.director  # a title and a person's name
    assert 1950 <= movie.year <= 2030  # a year, not noise


@pytest.mark.parametrize(("provider", "mode"), [(p, m) for p, modes in MODES.items() for m in modes])
def test_mode_validates_first_time(provider: str, mode: str, clients: dict[str, Any], mockopper: Mockopper) -> None:
    client = patch(provider, clients[provider], mode)
    kwargs: dict[str, Any] = {
        "model": MODELS[provider],
        "messages": [{"role": "user", "content": "Tell me about the film Alien (1979)."}],
        "max_retries": 1,
    }
    if provider == "anthropic":
        kwargs["max_tokens"] = 1024
    with warnings.catch_warnings():
        # this anthropic SDK has no `output_format`: instructor says so and puts the schema in the prompt
        warnings.filterwarnings("ignore", "Anthropic client does not support `output_format`", UserWarning)
        if mode.endswith("PARALLEL_TOOLS"):
            movies = list(client.create(response_model=Iterable[Movie], **kwargs))
            assert movies
            for movie in movies:
                check(movie)
        else:
            check(client.create(response_model=Movie, **kwargs))
    assert len(mockopper.requests) == 1  # no re-ask: the first answer validated


def test_json_mode_reads_the_schema_from_the_system_prompt(clients: dict[str, Any], mockopper: Mockopper) -> None:
    movie = patch("openai", clients["openai"], "JSON").create(
        response_model=Movie,
        model=MODELS["openai"],
        messages=[{"role": "user", "content": "Alien"}],
        max_retries=1,
    )
    check(movie)
    [record] = mockopper.requests
    assert record.request_body["response_format"] == {"type": "json_object"}
    assert "json_schema" in record.request_body["messages"][0]["content"]  # the schema is only in the prompt


def test_md_json_mode_gets_a_fenced_block(clients: dict[str, Any], mockopper: Mockopper) -> None:
    check(
        patch("openai", clients["openai"], "MD_JSON").create(
            response_model=Movie, model=MODELS["openai"], messages=[{"role": "user", "content": "Alien"}], max_retries=1
        )
    )
    [record] = mockopper.requests
    content = record.response_body["choices"][0]["message"]["content"]
    assert content.startswith("```json\n{") and content.endswith("}\n```")
