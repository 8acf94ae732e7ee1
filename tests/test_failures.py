"""Bad days on every surface, through the real SDKs: fallback chains, retries, faults, chaos, pacing.

Each test runs against every surface it applies to, driven by that vendor's own SDK
through the adapters in `surfaces.py`. Scripted `retry_after` values are milliseconds,
so no test sleeps through a real backoff; timing checks are loose lower bounds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import openai
import pytest
from surfaces import (
    ALL_APIS,
    STREAMING,
    SURFACES,
    Chat,
    Embeddings,
    Gemini,
    Interactions,
    Messages,
    Responses,
    Surface,
    attempts,
    closed,
    each,
    each_mode,
)

from mockopper.plugin import Mockopper
from mockopper.server import MockServer

TEXT = "one two three four five"
PIECES = ["one", " two", " three", " four", " five"]
ANSWER = {"match": {"api": ALL_APIS}, "reply": {"text": "answered by {{ request.model }}"}}

# --- fallback chains (SPEC 4) -------------------------------------------------------------------

FLEET = {
    "models": {
        "acme/dead": {"error": {"status": 503, "message": "acme/dead is down", "retry_after": 0.01}},
        "acme/busy": {"error": {"status": 429, "message": "acme/busy is out of quota", "retry_after": 0.01}},
        "acme/gone": {"error": {"status": 404, "message": "acme/gone does not exist"}},
        "acme/warming": {
            "fail_first": 2,
            "error": {"status": 503, "message": "acme/warming is starting", "retry_after": 0.01},
        },
        "acme/live": {},
        "acme/backup": {},
    },
    "rules": [
        {
            "match": {"api": ALL_APIS, "model": "acme/picky"},
            "reply": {"error": {"status": 400, "message": "{{ request.model }} refuses"}},
        },
        ANSWER,
    ],
}


@each_mode(SURFACES)
def test_a_fallback_chain_is_answered_by_the_second_model(
    mockopper: Mockopper,
    surface: type[Surface],
    stream: bool,
    connect: Callable[..., Surface],
) -> None:
    mockopper.load(FLEET)
    client = connect(surface, retries=None)  # the SDK's own retries: never needed, the chain rescues
    reply = client.send("hi", model="acme/dead", fallbacks=["acme/live", "acme/backup"], stream=stream)
    assert reply.model == "acme/live"
    assert reply.finished
    if surface is not Embeddings:
        assert reply.text == "answered by acme/live"
    assert reply.headers["x-mockopper-model"] == "acme/live"
    assert reply.headers["x-mockopper-attempts"] == "acme/dead,acme/live"  # acme/backup was never needed
    [record] = mockopper.requests
    assert attempts(record) == [("acme/dead", "error", 503), ("acme/live", "reply", 200)]
    assert record.attempts[0]["detail"] == "models: error"
    assert (record.status, record.answered_by, record.chain) == (
        200,
        "acme/live",
        ["acme/dead", "acme/live", "acme/backup"],
    )


@each_mode(SURFACES)
def test_an_exhausted_chain_raises_the_sdk_exception_with_the_last_failure(
    mockopper: Mockopper,
    surface: type[Surface],
    stream: bool,
    connect: Callable[..., Surface],
) -> None:
    mockopper.load(FLEET)
    client = connect(surface)
    with pytest.raises(client.error_class(429)) as info:
        client.send("hi", model="acme/dead", fallbacks=["acme/busy"], stream=stream)
    error = info.value
    assert client.status_of(error) == 429
    assert "acme/busy is out of quota" in str(error) and "acme/dead" not in str(error)
    headers = client.headers_of(error)
    assert headers["x-mockopper-attempts"] == "acme/dead,acme/busy"
    assert headers["x-mockopper-model"] == "acme/busy"
    [record] = mockopper.requests
    assert attempts(record) == [("acme/dead", "error", 503), ("acme/busy", "error", 429)]
    assert (record.status, record.answered_by) == (429, None)


@each(SURFACES)
@pytest.mark.parametrize(
    ("model", "status", "message"),
    [("acme/gone", 404, "acme/gone does not exist"), ("acme/picky", 400, "acme/picky refuses")],
    ids=["models-404", "rule-400"],
)
def test_a_client_error_is_returned_at_once_without_moving_on(
    mockopper: Mockopper,
    surface: type[Surface],
    model: str,
    status: int,
    message: str,
    connect: Callable[..., Surface],
) -> None:
    mockopper.load(FLEET)
    client = connect(surface, retries=None)  # not retried by the SDK either
    with pytest.raises(client.error_class(status)) as info:
        client.send("hi", model=model, fallbacks=["acme/backup"])
    assert client.status_of(info.value) == status and message in str(info.value)
    assert client.headers_of(info.value)["x-mockopper-attempts"] == model
    [record] = mockopper.requests
    assert attempts(record) == [(model, "error", status)]


@each(SURFACES)
def test_fail_first_fails_a_models_first_calls_then_it_answers(
    mockopper: Mockopper, surface: type[Surface], connect: Callable[..., Surface]
) -> None:
    mockopper.load(FLEET)
    client = connect(surface)
    answered = [client.send("hi", model="acme/warming", fallbacks=["acme/live"]).model for _ in range(3)]
    assert answered == ["acme/live", "acme/live", "acme/warming"]
    details = [r.attempts[0]["detail"] for r in mockopper.requests]
    assert details == ["models: fail_first (1 of 2)", "models: fail_first (2 of 2)", None]


# --- retries: the headers that steer the SDKs' own retry loops ------------------------------------

SHOULD_RETRY = """
rules:
  - match: {message: stop}
    reply: {error: {status: 500, message: do not retry this, should_retry: false, retry_after: 0.01}}
  - match: {message: again}
    reply: {error: {status: 400, message: retry this one, should_retry: true, retry_after: 0.01}}
"""


@pytest.mark.parametrize(
    ("surface", "text", "requests"),
    [
        (Chat, "stop", 1),
        (Chat, "again", 3),  # Stainless SDKs retry even a 400 when told to
        (Messages, "stop", 1),
        (Messages, "again", 3),
        (Interactions, "stop", 5),  # the Interactions client ignores x-should-retry
        (Interactions, "again", 1),
    ],
    ids=lambda v: v.api if isinstance(v, type) else str(v),
)
def test_x_should_retry_steers_the_sdks_that_read_it(
    mockopper: Mockopper,
    surface: type[Surface],
    text: str,
    requests: int,
    connect: Callable[..., Surface],
) -> None:
    mockopper.load(SHOULD_RETRY)
    client = connect(surface, retries=None)
    with pytest.raises(client.error_class(500 if text == "stop" else 400)) as info:
        client.send(text)
    assert client.headers_of(info.value)["x-should-retry"] == ("false" if text == "stop" else "true")
    assert len(mockopper.requests) == requests


@each(SURFACES)
@pytest.mark.parametrize(
    ("retry_after", "seconds", "milliseconds"),
    [(0.01, "1", "10"), (0.25, "1", "250"), (1.5, "2", "1500"), (2, "2", "2000"), (0.0014, "1", "1")],
)
def test_retry_after_headers_round_seconds_up_and_keep_exact_milliseconds(
    mockopper: Mockopper,
    surface: type[Surface],
    retry_after: float,
    seconds: str,
    milliseconds: str,
    connect: Callable[..., Surface],
) -> None:
    mockopper.load(
        {"rules": [{"match": {"api": surface.api}, "reply": {"error": {"status": 503, "retry_after": retry_after}}}]}
    )
    client = connect(surface)
    with pytest.raises(client.error_class(503)) as info:
        client.send("hi")
    headers = client.headers_of(info.value)
    assert (headers["retry-after"], headers["retry-after-ms"]) == (seconds, milliseconds)


@each(SURFACES)
def test_a_429_carries_the_vendors_rate_limit_headers(
    mockopper: Mockopper, surface: type[Surface], connect: Callable[..., Surface]
) -> None:
    mockopper.load(FLEET)
    client = connect(surface)
    with pytest.raises(client.error_class(429)) as info:
        client.send("hi", model="acme/busy")
    headers = client.headers_of(info.value)
    for name in surface.rate_limit_headers:
        assert name in headers, name
    for name in [n for n in headers if "ratelimit" in n]:
        assert name in surface.rate_limit_headers, f"{name} is not a {surface.api} header"
    if surface.rate_limit_headers:
        remaining = [headers[n] for n in surface.rate_limit_headers if "-remaining" in n]
        assert remaining and set(remaining) == {"0"}
    with pytest.raises(client.error_class(503)) as other:
        client.send("hi", model="acme/dead")
    assert not [n for n in client.headers_of(other.value) if "ratelimit" in n]  # only a 429 says why


@each([Interactions, Gemini])
def test_a_google_429_says_when_to_retry_in_its_body(
    mockopper: Mockopper, surface: type[Surface], connect: Callable[..., Surface]
) -> None:
    mockopper.load(FLEET)
    client = connect(surface)
    with pytest.raises(client.error_class(429)) as info:
        client.send("hi", model="acme/busy")
    error = info.value.response.json()["error"]  # type: ignore[attr-defined]
    assert (error["code"], error["status"]) == (429, "RESOURCE_EXHAUSTED")
    assert {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0.01s"} in error["details"]


# --- faults (SPEC 2.2) and where a stream may still fall back (SPEC 4) --------------------------


def fault_rule(model: str, **reply: Any) -> dict[str, Any]:
    return {"match": {"api": ALL_APIS, "model": model}, "reply": {"text": TEXT, **reply}}


FAULTS = {
    "rules": [
        fault_rule("acme/drop", fault={"disconnect_after": 2}),
        fault_rule("acme/cut", fault={"truncate_after": 2}),
        fault_rule("acme/boom", fault={"error_after": 2, "error": {"status": 529, "message": "Overloaded now"}}),
        fault_rule("acme/drop0", fault={"disconnect_after": 0}),
        fault_rule("acme/cut0", fault={"truncate_after": 0}),
        fault_rule("acme/boom0", fault={"error_after": 0}),
        fault_rule("acme/refuse", fault={"error_after": 0, "error": {"status": 400, "message": "refused mid-way"}}),
        fault_rule("acme/hang", fault={"hang": True}),
        fault_rule("acme/late", delay_ms=25),
        {
            "match": {"api": ALL_APIS, "model": "acme/late-error"},
            "reply": {"error": {"status": 400, "message": "late refusal"}, "delay_ms": 25},
        },
        ANSWER,
    ]
}
FAULT_ACTIONS = {"drop": "disconnect_after", "cut": "truncate_after", "boom": "error_after"}


@each(STREAMING)
@pytest.mark.parametrize("fault", ["drop0", "cut0", "boom0"])
def test_a_stream_that_faults_before_its_first_chunk_falls_back(
    mockopper: Mockopper,
    surface: type[Surface],
    fault: str,
    connect: Callable[..., Surface],
) -> None:
    mockopper.load(FAULTS)
    client = connect(surface, retries=None)
    reply = client.send("hi", model=f"acme/{fault}", fallbacks=["acme/live"], stream=True)
    assert (reply.text, reply.model, reply.finished, reply.error) == ("answered by acme/live", "acme/live", True, None)
    [record] = closed(mockopper)
    assert attempts(record) == [(f"acme/{fault}", "fault", 200), ("acme/live", "reply", 200)]
    assert record.attempts[0]["detail"] == FAULT_ACTIONS[fault[:-1]]
    assert record.outcome == "complete"


@each(STREAMING)
def test_a_stream_dropped_after_content_raises_the_sdks_connection_error(
    mockopper: Mockopper,
    surface: type[Surface],
    connect: Callable[..., Surface],
) -> None:
    mockopper.load(FAULTS)
    client = connect(surface, retries=None)  # a stream cut is never retried, nor does it fall back
    pieces: list[str] = []
    with pytest.raises(surface.dropped_stream):
        client.send("hi", model="acme/drop", fallbacks=["acme/live"], stream=True, pieces=pieces)
    assert pieces == PIECES[:2]
    [record] = closed(mockopper)
    assert attempts(record) == [("acme/drop", "fault", 200)]
    assert record.outcome == "disconnect"


@each(STREAMING)
def test_a_truncated_stream_ends_quietly_without_its_final_event(
    mockopper: Mockopper, surface: type[Surface], connect: Callable[..., Surface]
) -> None:
    mockopper.load(FAULTS)
    client = connect(surface, retries=None)
    reply = client.send("hi", model="acme/cut", fallbacks=["acme/live"], stream=True)
    assert (reply.text, reply.model, reply.finished, reply.error) == ("one two", "acme/cut", False, None)
    [record] = closed(mockopper)
    assert attempts(record) == [("acme/cut", "fault", 200)]
    assert record.outcome == "truncate"


@each(STREAMING)
def test_an_in_stream_error_is_raised_or_yielded_as_the_sdk_does(
    mockopper: Mockopper, surface: type[Surface], connect: Callable[..., Surface]
) -> None:
    mockopper.load(FAULTS)
    client = connect(surface, retries=None)
    pieces: list[str] = []
    raised = client.in_stream_error(529)
    if raised is not None:
        with pytest.raises(raised, match="Overloaded now"):
            client.send("hi", model="acme/boom", fallbacks=["acme/live"], stream=True, pieces=pieces)
    else:
        reply = client.send("hi", model="acme/boom", fallbacks=["acme/live"], stream=True, pieces=pieces)
        assert (reply.error, reply.finished) == ("Overloaded now", False)
    assert pieces == PIECES[:2]
    [record] = closed(mockopper)
    assert attempts(record) == [("acme/boom", "fault", 200)]
    assert record.outcome == "error"


@each(SURFACES)
@pytest.mark.parametrize("fault", ["drop", "cut", "boom"])
def test_a_fault_on_a_json_answer_falls_back(
    mockopper: Mockopper, surface: type[Surface], fault: str, connect: Callable[..., Surface]
) -> None:
    mockopper.load(FAULTS)
    client = connect(surface)
    reply = client.send("hi", model=f"acme/{fault}", fallbacks=["acme/live"])
    assert reply.model == "acme/live"
    [record] = mockopper.requests
    assert attempts(record) == [(f"acme/{fault}", "fault", 200), ("acme/live", "reply", 200)]


@each_mode(SURFACES)
def test_a_fault_whose_error_is_not_retryable_does_not_fall_back(
    mockopper: Mockopper, surface: type[Surface], stream: bool, connect: Callable[..., Surface]
) -> None:
    mockopper.load(FAULTS)
    client = connect(surface, retries=None)
    if stream:  # the stream starts, then fails with the scripted error in its own form
        pieces: list[str] = []
        raised = client.in_stream_error(400)
        if raised is not None:
            with pytest.raises(raised, match="refused mid-way"):
                client.send("hi", model="acme/refuse", fallbacks=["acme/live"], stream=True, pieces=pieces)
        else:
            reply = client.send("hi", model="acme/refuse", fallbacks=["acme/live"], stream=True, pieces=pieces)
            assert reply.error == "refused mid-way"
        assert pieces == []
    else:
        with pytest.raises(client.error_class(400), match="refused mid-way"):
            client.send("hi", model="acme/refuse", fallbacks=["acme/live"])
    [record] = closed(mockopper)
    assert attempts(record) == [("acme/refuse", "fault", 200)]


@each(SURFACES)
@pytest.mark.parametrize("fault", ["drop", "cut"])
def test_a_json_answer_that_never_arrives_raises_the_sdks_connection_error(
    mockopper: Mockopper,
    surface: type[Surface],
    fault: str,
    connect: Callable[..., Surface],
) -> None:
    mockopper.load(FAULTS)
    client = connect(surface)
    with pytest.raises(surface.dropped_body):
        client.send("hi", model=f"acme/{fault}")
    [record] = closed(mockopper)
    assert record.outcome == "disconnect"


@each(SURFACES)
def test_error_after_on_a_json_answer_is_the_scripted_error(
    mockopper: Mockopper, surface: type[Surface], connect: Callable[..., Surface]
) -> None:
    mockopper.load(FAULTS)
    client = connect(surface)
    with pytest.raises(client.error_class(529), match="Overloaded now") as info:
        client.send("hi", model="acme/boom")
    assert client.status_of(info.value) == 529


@each_mode(SURFACES)
def test_hang_never_answers_and_the_client_times_out(
    mockopper: Mockopper, surface: type[Surface], stream: bool, connect: Callable[..., Surface]
) -> None:
    mockopper.load(FAULTS)
    client = connect(surface, timeout=0.1)
    with pytest.raises(surface.timed_out):
        client.send("hi", model="acme/hang", stream=stream)
    [record] = closed(mockopper)
    assert record.outcome == "hang"


@each_mode(SURFACES)
def test_delay_ms_holds_the_answer_back(
    mockopper: Mockopper, surface: type[Surface], stream: bool, connect: Callable[..., Surface]
) -> None:
    mockopper.load(FAULTS)
    client = connect(surface)
    started = time.monotonic()
    reply = client.send("hi", model="acme/late", stream=stream)
    assert time.monotonic() - started >= 0.025
    assert reply.finished and (surface is Embeddings or reply.text == TEXT)
    started = time.monotonic()
    with pytest.raises(client.error_class(400), match="late refusal"):
        client.send("hi", model="acme/late-error", stream=stream)
    assert time.monotonic() - started >= 0.025


# --- chaos (SPEC 3) -----------------------------------------------------------------------------

CHAOS = {"seed": 7, "chaos": {"rate": 0.4, "statuses": [429, 500, 503], "retry_after": 0.01}, "rules": [ANSWER]}


def chaos_run(
    server_factory: Callable[..., MockServer], connect: Callable[..., Surface], *, noise: bool
) -> list[object]:
    """Twelve questions on one fresh server; with `noise`, unrelated traffic in between."""
    server = server_factory(CHAOS)
    chat = connect(Chat, server.base_url)
    others = [connect(kind, server.base_url) for kind in (Messages, Responses, Gemini)]
    outcomes: list[object] = []
    for i in range(12):
        if noise:
            # Other questions, other models, and the same question on other surfaces.
            for client, text, model in [
                (chat, f"something else {i}", "acme/model"),
                (chat, f"question {i}", "acme/other"),
                *((other, f"question {i}", "acme/model") for other in others),
            ]:
                try:
                    client.send(text, model=model)
                except Exception as exc:  # a chaos failure, in whatever class that SDK raises
                    assert "(chaos)" in str(exc)
        try:
            chat.send(f"question {i}")
            outcomes.append("answer")
        except openai.APIStatusError as exc:
            assert exc.message.endswith("(chaos)")
            outcomes.append(exc.status_code)
    questions = [
        r for r in server.requests if r.api == "chat" and r.model == "acme/model" and "question" in str(r.request_body)
    ]
    assert [a["outcome"] for r in questions for a in r.attempts] == [
        "reply" if o == "answer" else "chaos" for o in outcomes
    ]
    return outcomes


def test_chaos_gives_the_same_failures_in_two_fresh_runs_whatever_else_is_sent(
    server_factory: Callable[..., MockServer], connect: Callable[..., Surface]
) -> None:
    first = chaos_run(server_factory, connect, noise=False)
    assert "answer" in first and len(set(first) - {"answer"}) >= 2  # a mix of answers and several statuses
    assert chaos_run(server_factory, connect, noise=True) == first  # a fresh server, and other traffic between


def test_an_sdk_retry_draws_chaos_again(mockopper: Mockopper, connect: Callable[..., Surface]) -> None:
    mockopper.load(CHAOS)
    client = connect(Chat, retries=2)
    outcomes = []
    for i in range(8):
        try:
            client.send(f"question {i}")
            outcomes.append("answer")
        except openai.APIStatusError:
            outcomes.append("failed")
    records = mockopper.requests
    assert len(records) > 8  # some calls were retried...
    rescued = [
        [r.attempts[0]["outcome"] for r in records if r.request_body["messages"][0]["content"] == f"question {i}"]
        for i in range(8)
    ]
    assert ["chaos", "reply"] in rescued or ["chaos", "chaos", "reply"] in rescued  # ...and a retry got through
    draws = [r.attempts[0]["detail"] for r in records if r.attempts[0]["outcome"] == "chaos"]
    assert len(set(draws)) == len(draws)  # every attempt drew afresh
    assert all(d.startswith("chaos draw ") and d.endswith(" < 0.4") for d in draws)


@each_mode(SURFACES)
def test_chaos_fails_every_surface_in_its_own_error_shape(
    mockopper: Mockopper,
    surface: type[Surface],
    stream: bool,
    connect: Callable[..., Surface],
) -> None:
    mockopper.load({**CHAOS, "chaos": {"rate": 1, "statuses": [503], "retry_after": 0.01}})
    client = connect(surface)
    with pytest.raises(client.error_class(503), match=r"\(chaos\)") as info:
        client.send("hi", model="acme/model", fallbacks=["acme/backup"], stream=stream)
    assert client.headers_of(info.value)["x-mockopper-attempts"] == "acme/model,acme/backup"
    assert client.headers_of(info.value)["retry-after-ms"] == "10"
    [record] = mockopper.requests
    assert attempts(record) == [("acme/model", "chaos", 503), ("acme/backup", "chaos", 503)]


# --- pacing and chunking on every streaming surface ------------------------------------------------

SCRIPTED = "  Hello,\n\nworld!  Two  spaces,\ta tab,\n- a list item\n- and an émoji 🙂 at the end \n"


@each(STREAMING)
@pytest.mark.parametrize(
    ("chunk", "count"),
    [("word", len(SCRIPTED.split()) + 1), ("char", len(SCRIPTED)), ("line", 5), (7, -(-len(SCRIPTED) // 7))],
    ids=["word", "char", "line", "7"],
)
def test_streamed_text_arrives_exactly_as_scripted_whatever_the_chunking(
    mockopper: Mockopper, surface: type[Surface], chunk: str | int, count: int, connect: Callable[..., Surface]
) -> None:
    mockopper.load({"rules": [{"reply": {"text": SCRIPTED, "stream": {"chunk": chunk}}}]})
    pieces: list[str] = []
    reply = connect(surface).send("hi", stream=True, pieces=pieces)
    assert reply.text == SCRIPTED and reply.finished
    assert len(pieces) == count  # words keep the whitespace before them; the trailing run is its own piece


@each(STREAMING)
def test_pacing_applies_on_every_streaming_surface(
    mockopper: Mockopper, surface: type[Surface], connect: Callable[..., Surface]
) -> None:
    mockopper.load({"rules": [{"reply": {"text": TEXT, "stream": {"ttft_ms": 40, "interval_ms": 15}}}]})
    client = connect(surface)
    arrivals: list[float] = []

    class Clock(list[str]):
        def append(self, piece: str) -> None:
            arrivals.append(time.monotonic())
            super().append(piece)

    started = time.monotonic()
    pieces = Clock()
    assert client.send("hi", stream=True, pieces=pieces).text == TEXT
    # Chunk k is due ttft + k intervals after the request arrives, and never goes out sooner: a
    # lower bound that a slow machine cannot break (10% slack for timers). The upper bound only
    # says the stream was not stalled.
    offsets = [arrival - started for arrival in arrivals]
    assert len(offsets) == 5
    assert all(offset >= 0.9 * (0.04 + k * 0.015) for k, offset in enumerate(offsets)), offsets
    assert offsets[-1] < 5
