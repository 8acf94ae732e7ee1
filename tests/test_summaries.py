"""Each journal entry's one-line `asked` and `answered`, on every surface, through the real SDKs."""

from __future__ import annotations

from typing import Any

import anthropic
import httpx2
import openai
import pytest
from surfaces import ALL_APIS, SURFACES, Embeddings, Surface, closed, each_mode

from mockopper import summaries
from mockopper.plugin import Mockopper

SCENARIO = {
    "rules": [
        {
            "name": "weather",
            "match": {"tools": ["get_weather"]},
            "reply": {"tool_calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]},
        },
        {
            "name": "after the tool",
            "match": {"tool_result": "get_weather"},
            "reply": {"text": "Sunny, {{ tool_result }}."},
        },
        {
            "name": "down",
            "match": {"message": "down"},
            "reply": {"error": {"status": 400, "message": "Nope, not today."}},
        },
        {"name": "long", "match": {"message": "long"}, "reply": {"text": "word  \n\n  " * 100}},
        {
            "name": "echo",
            "match": {"api": ALL_APIS, "message": "echo"},
            "reply": {"text": "Echo:\n{{ request.message }}"},
        },
    ]
}


@pytest.fixture(autouse=True)
def scenario(mockopper: Mockopper) -> None:
    mockopper.load(SCENARIO)


@each_mode(SURFACES)
def test_every_surface_journals_what_was_asked_and_answered(
    surface: type[Surface], stream: bool, connect: Any, mockopper: Mockopper
) -> None:
    connect(surface).send("echo  this,\nplease", stream=stream)
    [record] = closed(mockopper)
    assert record.asked == "echo this, please"  # on one line
    if surface is Embeddings:
        assert record.answered == "1 embedding(s) of 1536 dimensions"
    else:
        assert record.answered == "Echo: echo this, please"


def test_a_tool_call_is_answered_as_name_and_arguments_and_its_result_is_what_is_asked(
    client: openai.OpenAI, mockopper: Mockopper
) -> None:
    tools: Any = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    user: Any = {"role": "user", "content": "Weather in Paris?"}
    call = client.chat.completions.create(model="m", messages=[user], tools=tools)
    [tool_call] = call.choices[0].message.tool_calls or []
    history: Any = [
        user,
        {"role": "assistant", "tool_calls": [tool_call.model_dump()]},
        {"role": "tool", "tool_call_id": tool_call.id, "content": "18 degrees"},
    ]
    client.chat.completions.create(model="m", messages=history)
    first, second = mockopper.requests
    assert (first.asked, first.answered) == ("Weather in Paris?", 'get_weather({"city":"Paris"})')
    assert (second.asked, second.answered) == ("[get_weather result] 18 degrees", "Sunny, 18 degrees.")


def test_an_error_is_answered_by_its_message_and_a_miss_by_its_explanation(mockopper: Mockopper) -> None:
    mockopper.allow_unmatched = True
    claude = anthropic.Anthropic(base_url=mockopper.base_url, api_key="k", max_retries=0)
    for text in ("down, please", "nothing matches this"):
        with pytest.raises(anthropic.BadRequestError):
            claude.messages.create(model="m", max_tokens=10, messages=[{"role": "user", "content": text}])
    scripted, miss = mockopper.requests
    assert (scripted.asked, scripted.answered) == ("down, please", "Nope, not today.")
    assert miss.asked == "nothing matches this"
    assert miss.answered is not None and miss.answered.startswith("No rule matched POST /v3/compat/v1/messages")
    assert len(miss.answered) <= summaries.LIMIT and miss.answered.endswith("…")


def test_a_long_answer_is_cut_to_the_limit_and_the_admin_api_lists_both(
    client: openai.OpenAI, mockopper: Mockopper
) -> None:
    client.chat.completions.create(model="m", messages=[{"role": "user", "content": "a long one"}])
    [record] = mockopper.requests
    assert record.answered == ("word " * 40)[: summaries.LIMIT - 1].rstrip() + "…"
    assert len(record.answered) <= summaries.LIMIT
    [listed] = httpx2.get(mockopper.url + "/__mockopper/requests").json()["requests"]
    assert (listed["asked"], listed["answered"]) == ("a long one", record.answered)


def test_a_stream_in_progress_has_what_it_asked_and_is_answered_once_it_completes(mockopper: Mockopper) -> None:
    mockopper.load(
        {"rules": [{"reply": {"text": "one two three", "stream": {"chunk": "word", "ttft_ms": 0, "interval_ms": 5}}}]}
    )
    client = openai.OpenAI(base_url=mockopper.base_url, api_key="k", max_retries=0)
    stream = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "go"}], stream=True)
    next(iter(stream))  # the role chunk: the stream has started and is still playing out
    [record] = mockopper.requests
    assert (record.outcome, record.asked, record.answered) == ("pending", "go", None)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    [record] = closed(mockopper)
    assert (text, record.answered) == ("one two three", "one two three")


def test_a_call_without_a_conversation_has_no_summaries(mockopper: Mockopper) -> None:
    models = httpx2.get(mockopper.base_url + "/models", headers={"authorization": "Bearer k"})
    assert models.status_code == 200
    [record] = mockopper.requests
    assert (record.asked, record.answered) == (None, None)


@pytest.mark.parametrize(
    ("text", "limit", "line"),
    [
        ("", 10, None),
        (" \n\t ", 10, None),
        ("  two\n\nlines  ", 10, "two lines"),
        ("exactly 10", 10, "exactly 10"),
        ("eleven char", 10, "eleven ch…"),
        ("cut after a space x", 9, "cut afte…"),
        ("cut at a space xyz", 8, "cut at…"),
        ("a" + " " * 30 + "b", 10, "a…"),  # only the start of a long text is read: cut, though it fits
    ],
)
def test_a_line_is_one_line_within_its_limit(text: str, limit: int, line: str | None) -> None:
    assert summaries.line(text, limit) == line
