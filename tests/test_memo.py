"""The memo: a request seen before is not read again, and its answer's render is spliced, byte for byte."""

from __future__ import annotations

import base64
from typing import Any

import anthropic
import httpx2
import openai
import pytest

from mockopper.answers import Answer
from mockopper.memo import Template, template
from mockopper.plugin import Mockopper
from mockopper.sse import compact_json

SCENARIO = """
rules:
  - name: echo
    match: {message: echo}
    reply: {text: "You said: {{ request.message }}"}
  - name: think
    match: {message: think}
    reply: {text: Forty-two., reasoning: Six times seven.}
  - name: generated
    match: {message: generated}
    reply: {text: "{{ faker.sentence }}"}
  - name: rest
    reply: {text: "Hello there, friend.", stream: {chunk: 5}}
"""


@pytest.mark.mockopper(scenario=SCENARIO)
def test_a_request_seen_again_is_read_once_and_answered_with_fresh_ids(mockopper: Mockopper) -> None:
    with openai.OpenAI(base_url=mockopper.base_url, api_key="k", max_retries=0) as client:
        replies = [
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}]) for _ in range(3)
        ]
    assert len(mockopper.app.pipeline.memo) == 1  # one request, seen three times
    assert len({r.id for r in replies}) == 3  # each call has its own id...
    assert {r.choices[0].message.content for r in replies} == {"Hello there, friend."}  # ...and the same answer
    bodies = [r.response_body for r in mockopper.requests]
    assert all(b["id"] == r.id for b, r in zip(bodies, replies, strict=True))  # the journal has what was sent
    [seen] = [mockopper.app.pipeline.memo.get(key) for key in list(mockopper.app.pipeline.memo._entries)]
    assert seen is not None and [type(r) for r in seen.renders.values()] == [Template]  # made when asked again


def test_spliced_bytes_equal_an_ordinary_render(server_factory: Any) -> None:
    """Answers spliced from a kept render are byte for byte what a server that keeps nothing sends."""
    chat = {"model": "m", "max_tokens": 64, "messages": [{"role": "user", "content": "think"}]}
    responses = {"model": "m", "input": "think"}
    requests = [
        ("/v1/messages", chat),
        ("/chat/completions", chat),
        ("/responses", responses),
        ("/openresponses/responses", responses),
    ]
    kept, fresh = server_factory(SCENARIO), server_factory(SCENARIO)

    def answers(server: Any, forget: bool) -> list[bytes]:
        out = []
        for path, body in requests:
            for stream in (False, True):
                for _ in range(3):
                    if forget:
                        server.app.pipeline.memo.clear()
                    response = httpx2.post(
                        server.base_url + path, json={**body, "stream": stream}, headers={"authorization": "Bearer k"}
                    )
                    out.append(response.content)
        return out

    spliced = answers(kept, forget=False)
    assert len(kept.app.pipeline.memo) == 2 * len(requests)  # each request read once
    assert spliced == answers(fresh, forget=True)
    assert len(set(spliced)) == len(spliced)  # ids and the thinking signature differ per call


@pytest.mark.mockopper(scenario=SCENARIO)
def test_a_stream_seen_again_is_sent_whole_and_the_sdk_reads_it(mockopper: Mockopper) -> None:
    with openai.OpenAI(base_url=mockopper.base_url, api_key="k", max_retries=0) as client:
        for _ in range(2):
            chunks = list(
                client.chat.completions.create(model="m", stream=True, messages=[{"role": "user", "content": "hi"}])
            )
            assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello there, friend."
    first, second = (r.response_events for r in mockopper.requests)
    assert first is not None and second is not None and len(first) == len(second) > 4
    assert first[1:] != second[1:]  # the chunks carry each call's own id


@pytest.mark.mockopper(scenario=SCENARIO)
def test_the_journal_keeps_a_stream_sent_whole_frame_by_frame_as_it_was_sent(mockopper: Mockopper) -> None:
    body = {"model": "m", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    sent = [
        httpx2.post(mockopper.base_url + "/chat/completions", json=body, headers={"authorization": "Bearer k"}).content
        for _ in range(2)
    ]
    listed = httpx2.get(mockopper.url + "/__mockopper/requests").json()["requests"]
    for record, content, shown in zip(mockopper.requests, sent, listed, strict=True):
        events = record.response_events
        assert events is not None and all(e.endswith("\n\n") for e in events)
        assert "".join(events).encode() == content and record.events_omitted == 0
        assert (shown["response_events"], shown["events_omitted"]) == (events, 0)


@pytest.mark.mockopper(scenario=SCENARIO)
def test_content_that_holds_the_placeholder_characters_renders_the_ordinary_way(mockopper: Mockopper) -> None:
    text = "echo \ue000 0 \ue001"
    with anthropic.Anthropic(base_url=mockopper.base_url, api_key="k", max_retries=0) as client:
        for _ in range(2):
            message = client.messages.create(model="m", max_tokens=16, messages=[{"role": "user", "content": text}])
            assert message.content[0].text == f"You said: {text}"  # type: ignore[union-attr]


def test_a_template_that_does_not_reproduce_the_render_is_not_kept() -> None:
    answer = Answer(key="k1", model="m", created=0, text="hi")

    def render(shown: Answer) -> bytes:  # transforms an id after the fact: a template cannot splice that
        return compact_json({"id": base64.b64encode(shown.ident("x_").encode()).decode()}).encode()

    assert template(answer, render) is None
    good = template(answer, lambda shown: compact_json({"id": shown.ident("x_"), "again": shown.ident("x_")}).encode())
    assert good is not None
    assert (
        good.splice("k2")
        == compact_json(
            {"id": Answer(key="k2", model="m", created=0).ident("x_")}
            | {"again": Answer(key="k2", model="m", created=0).ident("x_")}
        ).encode()
    )


@pytest.mark.mockopper(scenario=SCENARIO)
def test_a_continuation_is_read_every_time(mockopper: Mockopper) -> None:
    """A request that names an earlier response reads the session's history: it is never kept."""
    with openai.OpenAI(base_url=mockopper.base_url, api_key="k", max_retries=0) as client:
        first = client.responses.create(model="m", input="echo one")
        before = len(mockopper.app.pipeline.memo)
        for _ in range(2):
            follow = client.responses.create(model="m", input="echo two", previous_response_id=first.id)
            assert follow.output_text == "You said: echo two"
    assert len(mockopper.app.pipeline.memo) == before


@pytest.mark.mockopper(scenario=SCENARIO)
def test_generated_text_renders_anew_each_call(mockopper: Mockopper) -> None:
    with openai.OpenAI(base_url=mockopper.base_url, api_key="k", max_retries=0) as client:
        texts = [
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "generated"}])
            .choices[0]
            .message.content
            for _ in range(6)
        ]
    assert len(set(texts)) == 6
    memo = mockopper.app.pipeline.memo
    [seen] = [memo.get(key) for key in list(memo._entries)]
    assert seen is not None and len(seen.renders) <= 4  # bounded: such renders are never reused...
    assert not any(isinstance(r, Template) for r in seen.renders.values())  # ...so never made templates
