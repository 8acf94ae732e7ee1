"""The output format a prompt asks for: recognised from the prompt, answered on every surface.

The frameworks themselves (instructor, DSPy, LangChain) are the clients in
test_framework_*.py; here the prompts are written by hand, in wordings no framework uses,
to show that recognition reads what a prompt says rather than one library's sentences.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import anthropic
import jsonschema
import openai
import pytest
from click.testing import CliRunner
from google import genai
from google.genai import types

from mockopper import formats
from mockopper.cli import main
from mockopper.conversation import Conversation, Message
from mockopper.loader import ScenarioError, load
from mockopper.plugin import Mockopper
from mockopper.server import MockServer

MOVIE = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "year": {"type": "integer", "minimum": -9007199254740991, "maximum": 9007199254740991},
        "director": {"type": "string"},
        "rating": {"type": "number", "minimum": 0, "maximum": 10},
    },
    "required": ["title", "year", "director", "rating"],
}
ASK = f"Reply only with JSON conforming to this schema:\n{json.dumps(MOVIE)}"
FENCED = f"Your output must be valid JSON matching the schema below.\n```json\n{json.dumps(MOVIE, indent=2)}\n```"


def conv(user: str, system: str = "", **fields: Any) -> Conversation:
    return Conversation(api="chat", model="m", messages=[Message("user", user)], system=system, **fields)


# --- recognition ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user", "system"),
    [
        ("Tell me about Alien.", ASK),  # in the system text
        (f"Tell me about Alien. {ASK}", ""),  # in the user message, inside prose
        ("Tell me about Alien.", FENCED),  # fenced, pretty-printed
        ("Tell me about Alien.", f"{FENCED}\n\nNo prose before or after it."),
    ],
)
def test_a_schema_near_words_asking_for_json_is_a_json_request(user: str, system: str) -> None:
    fmt = formats.requested(conv(user, system))
    assert fmt is not None and fmt.kind == "json"
    assert fmt.schema == MOVIE


def test_the_last_schema_is_the_one_asked_for_after_an_example() -> None:
    example = {"properties": {"foo": {"type": "array", "items": {"type": "string"}}}, "required": ["foo"]}
    prompt = (
        f"Format the output as JSON. For example, for the schema {json.dumps(example)} the object "
        '{"foo": ["bar"]} is an instance; {"properties": {"foo": ["bar"]}} is not.\n'
        f"The schema to follow:\n{json.dumps(MOVIE)}"
    )
    fmt = formats.requested(conv(prompt))
    assert fmt is not None and fmt.schema == MOVIE


@pytest.mark.parametrize(
    "user",
    [
        "What is JSON?",
        "Explain this json file: " + json.dumps({"name": "demo", "items": [1, 2, 3]}),
        "Explain this JSON schema: " + json.dumps(MOVIE),  # a schema, but nothing asks for output in JSON
        "Here is my config, what does it do? " + json.dumps(MOVIE),  # a schema, no word of JSON
        "Return the answer in plain words, no json.",
        "Is {not json} valid?",
    ],
)
def test_ordinary_prompts_ask_for_no_format(user: str) -> None:
    assert formats.requested(conv(user)) is None


def test_a_code_block_is_used_when_the_prompt_asks_for_one() -> None:
    asked = formats.requested(conv("Answer within a ```json block.", ASK))
    refused = formats.requested(conv("Do not wrap it in a fence (no ```json).", ASK))
    assert asked is not None and asked.fenced
    assert refused is not None and not refused.fenced


def test_json_mode_without_a_schema_answers_a_small_object() -> None:
    fmt = formats.requested(conv("Give me a fact as JSON.", wants_json=True))
    assert fmt is not None and fmt.kind == "json" and fmt.schema == formats.ANY_OBJECT


def test_json_mode_takes_a_schema_without_words_around_it() -> None:
    fmt = formats.requested(conv("Alien", json.dumps(MOVIE), wants_json=True))
    assert fmt is not None and fmt.schema == MOVIE


def test_the_requests_own_schema_comes_first() -> None:
    own = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    fmt = formats.requested(conv("Alien", ASK, json_schema=own, wants_json=True))
    assert fmt is not None and fmt.schema == own


MARKERS = """Answer in sections. Fields: `topic` (str), `score` (float), `labels` (list[str]),
`verdict` (Literal['yes', 'no']), `count` (int), `flag` (bool), `owner` (Person).

[[ ## topic ## ]]
{topic}

[[ ## score ## ]]
{score}

[[ ## labels ## ]]
{labels}

[[ ## verdict ## ]]
{verdict}

[[ ## count ## ]]
{count}

[[ ## flag ## ]]
{flag}

[[ ## owner ## ]]
{owner}   (JSON for the schema {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]})

[[ ## completed ## ]]"""


def sections(text: str) -> dict[str, str]:
    parts = re.split(r"\[\[ ## (\w+) ## \]\]", text)
    return {name: value.strip() for name, value in zip(parts[1::2], parts[2::2], strict=True)}


def test_field_markers_are_answered_with_values_of_the_stated_types() -> None:
    fmt = formats.requested(conv("[[ ## topic ## ]]\nBirds\n\nFill in the rest.", MARKERS))
    assert fmt is not None and fmt.kind == "fields"
    assert fmt.fields == ("score", "labels", "verdict", "count", "flag", "owner")  # topic is given
    from random import Random

    from mockopper.schema_instances import schema_instance

    for seed in range(5):
        got = sections(formats.render(fmt, schema_instance(fmt.schema, Random(seed))))
        assert list(got) == [*fmt.fields, "completed"]
        float(got["score"])
        assert isinstance(json.loads(got["labels"]), list)
        assert got["verdict"] in ("yes", "no")
        assert 0 <= int(got["count"]) <= 20  # a count is small
        assert got["flag"] in ("True", "False")
        assert isinstance(json.loads(got["owner"])["name"], str)


def test_a_placeholder_template_near_json_words_is_a_json_request() -> None:
    prompt = 'Respond with a JSON object like {"city": "{city}", "population": "{population}  (an int)"}.'
    fmt = formats.requested(conv(prompt + " Fields: `population` (int)."))
    assert fmt is not None and fmt.kind == "json"
    assert fmt.schema["properties"] == {"city": {"type": "string"}, "population": {"type": "integer"}}


@pytest.mark.parametrize(
    ("declared", "schema"),
    [
        ("int", {"type": "integer"}),
        ("Optional[int]", {"type": "integer"}),
        ("int | None", {"type": "integer"}),
        ("list[float]", {"type": "array", "items": {"type": "number"}}),
        ("typing.List[str]", {"type": "array", "items": {"type": "string"}}),
        ("dict[str, int]", {"type": "object"}),
        ("Literal[1, 2]", {"enum": [1, 2]}),
        ("Literal['a', 'b']", {"enum": ["a", "b"]}),
        ("Literal[__import__('os')]", {"type": "string"}),  # never evaluated
        ("SomeModel", {"type": "string"}),
    ],
)
def test_declared_types(declared: str, schema: dict[str, Any]) -> None:
    assert formats._type_schema(declared) == schema


def test_a_hostile_prompt_is_read_in_bounded_time() -> None:
    prompt = "json output " + '{"a": [' * 5000 + "{" * 100_000
    assert formats.requested(conv(prompt, wants_json=True)) is not None  # the small object
    assert formats.requested(conv(prompt)) is None


# --- the scenario key --------------------------------------------------------------------------


def test_format_auto_needs_text_alone() -> None:
    load({"rules": [{"reply": {"format": "auto", "text": "hi"}}]})
    for reply in ({"format": "auto"}, {"format": "auto", "json": "auto"}, {"format": "auto", "tool_calls": "auto"}):
        with pytest.raises(ScenarioError, match="format: auto"):
            load({"rules": [{"reply": reply}]})
    with pytest.raises(ScenarioError, match="auto"):
        load({"rules": [{"reply": {"format": "json", "text": "hi"}}]})


def test_the_cli_knows_format_auto(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - reply:\n      format: auto\n      json: auto\n")
    result = CliRunner().invoke(main, ["check", str(bad)])
    assert result.exit_code == 1 and f"{bad}:2: rules[0].reply: 'format: auto' goes with text alone" in result.output
    reply = json.loads(CliRunner().invoke(main, ["schema"]).output)["$defs"]["Reply"]
    assert {"const": "auto", "type": "string"} in reply["properties"]["format"]["anyOf"]
    assert "reply  text (format: auto)" in CliRunner().invoke(main, ["list", "default.yaml"]).output


# --- through every surface ------------------------------------------------------------------------


def check_movie(value: Any) -> None:
    jsonschema.validate(value, MOVIE)
    assert 1950 <= value["year"] <= 2030  # a year, though the schema allows +-2^53
    assert " " in value["director"]  # a person's name


def test_chat_json_mode(client: openai.OpenAI, mockopper: Mockopper) -> None:
    result = client.chat.completions.create(
        model="openai/gpt-5.5",
        messages=[{"role": "system", "content": ASK}, {"role": "user", "content": "Alien"}],
        response_format={"type": "json_object"},
    )
    check_movie(json.loads(result.choices[0].message.content or ""))
    assert mockopper.requests[0].rule == "structured output"


def test_chat_json_mode_without_a_schema(client: openai.OpenAI) -> None:
    result = client.chat.completions.create(
        model="openai/gpt-5.5",
        messages=[{"role": "user", "content": "A fact, as JSON"}],
        response_format={"type": "json_object"},
    )
    value = json.loads(result.choices[0].message.content or "")
    assert isinstance(value, dict) and isinstance(value["answer"], str)


def test_chat_schema_in_the_prompt_without_json_mode_streams(client: openai.OpenAI, mockopper: Mockopper) -> None:
    stream = client.chat.completions.create(
        model="openai/gpt-5.5", messages=[{"role": "user", "content": f"Alien. {FENCED}"}], stream=True
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    check_movie(json.loads(text))
    assert mockopper.requests[0].rule == "answer anything"


def test_chat_field_markers(client: openai.OpenAI) -> None:
    result = client.chat.completions.create(
        model="openai/gpt-5.5",
        messages=[{"role": "system", "content": MARKERS}, {"role": "user", "content": "[[ ## topic ## ]]\nBirds"}],
    )
    assert list(sections(result.choices[0].message.content or "")) == [
        *("score", "labels", "verdict", "count", "flag", "owner"),
        "completed",
    ]


@pytest.mark.parametrize("path", ["", "/openresponses"])
def test_responses_json_mode(mockopper: Mockopper, path: str) -> None:
    with openai.OpenAI(base_url=mockopper.base_url + path, api_key="k", max_retries=0) as client:
        result = client.responses.create(
            model="openai/gpt-5.5", instructions=ASK, input="Alien", text={"format": {"type": "json_object"}}
        )
    check_movie(json.loads(result.output_text))


def test_anthropic_prefill_is_continued(mockopper: Mockopper) -> None:
    with anthropic.Anthropic(base_url=mockopper.base_url, api_key="k", max_retries=0) as client:
        result = client.messages.create(
            model="anthropic/claude-sonnet-4-6",
            max_tokens=500,
            system=ASK,
            messages=[{"role": "user", "content": "Alien"}, {"role": "assistant", "content": "{"}],
        )
    [block] = result.content
    assert block.type == "text" and not block.text.startswith("{")  # the prefill is not repeated
    check_movie(json.loads("{" + block.text))
    assert mockopper.requests[0].rule == "structured output"


def test_anthropic_prefill_without_a_schema(mockopper: Mockopper) -> None:
    with anthropic.Anthropic(base_url=mockopper.base_url, api_key="k", max_retries=0) as client:
        result = client.messages.create(
            model="anthropic/claude-sonnet-4-6",
            max_tokens=500,
            messages=[{"role": "user", "content": "A fact as JSON"}, {"role": "assistant", "content": "{"}],
        )
    [block] = result.content
    assert block.type == "text"
    assert isinstance(json.loads("{" + block.text)["answer"], str)


def test_anthropic_schema_in_the_system_prompt(mockopper: Mockopper) -> None:
    with anthropic.Anthropic(base_url=mockopper.base_url, api_key="k", max_retries=0) as client:
        result = client.messages.create(
            model="anthropic/claude-sonnet-4-6",
            max_tokens=500,
            system=ASK,
            messages=[{"role": "user", "content": "Alien"}],
        )
    [block] = result.content
    assert block.type == "text"
    check_movie(json.loads(block.text))


@pytest.fixture(scope="module")
def google(mockopper_server: MockServer) -> genai.Client:
    return genai.Client(api_key="k", http_options=types.HttpOptions(base_url=mockopper_server.base_url))


def test_gemini_json_mime_type_without_a_schema(mockopper: Mockopper, google: genai.Client) -> None:
    result = google.models.generate_content(
        model="gemini/gemini-2.5-pro",
        contents="Alien",
        config=types.GenerateContentConfig(system_instruction=ASK, response_mime_type="application/json"),
    )
    check_movie(json.loads(result.text or ""))
    assert mockopper.requests[0].rule == "structured output"


def test_interactions_json_mime_type_without_a_schema(mockopper: Mockopper, google: genai.Client) -> None:
    result = google.interactions.create(
        model="gemini/gemini-2.5-pro",
        input="Alien",
        system_instruction=ASK,
        response_format={"type": "text", "mime_type": "application/json"},
    )
    check_movie(json.loads(result.output_text or ""))


@pytest.mark.parametrize("question", ["What is JSON?", 'Explain this json file: {"a": 1}'])
def test_ordinary_prompts_get_text(client: openai.OpenAI, question: str) -> None:
    result = client.chat.completions.create(model="openai/gpt-5.5", messages=[{"role": "user", "content": question}])
    text = result.choices[0].message.content or ""
    assert text.endswith(".") and "{" not in text and "[[" not in text


def test_answers_are_deterministic(client: openai.OpenAI, mockopper: Mockopper) -> None:
    def ask() -> str:
        result = client.chat.completions.create(
            model="openai/gpt-5.5", messages=[{"role": "system", "content": MARKERS}, {"role": "user", "content": "x"}]
        )
        return result.model_dump_json()

    first = ask()
    mockopper.reset()  # a generated value depends on the rule's call count: start the count again
    assert ask() == first
