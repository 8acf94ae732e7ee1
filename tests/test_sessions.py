"""Sessions (SPEC 9): `x-mockopper-session` gives a client its own counters, history, journal and scenario."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import anthropic
import httpx2
import openai
import opperai
import pytest
from surfaces import SURFACES, Surface

from mockopper.plugin import Mockopper
from mockopper.server import MockServer
from mockopper.sessions import HEADER as SESSION

SEQUENCE = """
name: sequence
rules:
  - name: counted
    match: {api: [chat, responses, openresponses, embeddings, messages, interactions, gemini]}
    replies:
      - text: first
      - text: second
      - text: third
"""


@pytest.fixture
def admin(mockopper: Mockopper) -> Iterator[httpx2.Client]:
    with httpx2.Client(base_url=mockopper.url + "/__mockopper") as http:
        yield http


def chat(mockopper: Mockopper, session: str | None, text: str = "hi", **kwargs: object) -> str:
    headers = mockopper.session(session).headers if session else None
    client = openai.OpenAI(base_url=mockopper.base_url, api_key="k", max_retries=0, default_headers=headers)
    with client:
        reply = client.chat.completions.create(
            model="acme/model", messages=[{"role": "user", "content": text}], **kwargs
        )  # type: ignore[call-overload]
    return str(reply.choices[0].message.content)


@pytest.mark.mockopper(scenario=SEQUENCE)
@pytest.mark.parametrize("surface", [s for s in SURFACES if s.api != "embeddings"], ids=lambda s: s.api)
def test_each_session_counts_its_own_replies_on_every_surface(mockopper: Mockopper, surface: type[Surface]) -> None:
    """Two clients walking the same `replies` list in two sessions each see it from the start."""
    a = surface(mockopper.base_url, headers=mockopper.session("a").headers)
    b = surface(mockopper.base_url, headers=mockopper.session("b").headers)
    try:
        assert a.send("hello").text == "first"
        assert b.send("hello").text == "first"
        assert a.send("hello").text == "second"
        assert chat(mockopper, None) == "first"  # the default session has its own count too
        assert b.send("hello").text == "second"
    finally:
        a.close()
        b.close()


def test_fail_first_and_times_are_per_session(mockopper: Mockopper) -> None:
    mockopper.load(
        """
        models:
          acme/flaky: {fail_first: 1, error: {status: 503}}
        rules:
          - {name: once, times: 1, match: {message: once}, reply: {text: used}}
          - {name: rest, reply: {text: "{{ request.model }}"}}
        """
    )
    for name in ("a", "b"):
        with pytest.raises(openai.InternalServerError):
            _flaky(mockopper, name)
        assert _flaky(mockopper, name) == "acme/flaky"
        assert chat(mockopper, name, "once") == "used"
        assert chat(mockopper, name, "once") == "acme/model"  # `times: 1` is spent in this session only


def _flaky(mockopper: Mockopper, session: str) -> str:
    client = openai.OpenAI(
        base_url=mockopper.base_url, api_key="k", max_retries=0, default_headers=mockopper.session(session).headers
    )
    with client:
        reply = client.chat.completions.create(model="acme/flaky", messages=[{"role": "user", "content": "x"}])
    return str(reply.choices[0].message.content)


def test_previous_response_id_resolves_only_in_its_own_session(mockopper: Mockopper) -> None:
    a = openai.OpenAI(
        base_url=mockopper.base_url, api_key="k", max_retries=0, default_headers={"x-mockopper-session": "a"}
    )
    b = openai.OpenAI(
        base_url=mockopper.base_url, api_key="k", max_retries=0, default_headers={"x-mockopper-session": "b"}
    )
    with a, b:
        first = a.responses.create(model="openai/gpt-5.5", input="remember this")
        follow = a.responses.create(model="openai/gpt-5.5", input="and this", previous_response_id=first.id)
        assert follow.status == "completed"
        with pytest.raises(openai.BadRequestError) as refused:
            b.responses.create(model="openai/gpt-5.5", input="and this", previous_response_id=first.id)
    assert refused.value.code == "previous_response_not_found"


CHAOS = """
seed: 3
chaos: {rate: 0.5, statuses: [503]}
rules: [{reply: {text: ok}}]
"""


@pytest.mark.mockopper(scenario=CHAOS)
def test_chaos_draws_in_a_session_ignore_other_sessions(mockopper: Mockopper) -> None:
    """The same requests draw the same chaos outcomes in a fresh session, whatever ran elsewhere."""

    def outcomes(session: str) -> list[str]:
        out = []
        for i in range(12):
            try:
                out.append(chat(mockopper, session, f"question {i % 3}"))
            except openai.InternalServerError:
                out.append("503")
        return out

    first = outcomes("a")
    assert "503" in first and "ok" in first
    assert outcomes("a") != first  # the same content seen again draws again...
    assert outcomes("b") == first  # ...but a fresh session starts its counts afresh


def test_a_session_serves_its_own_scenario_and_the_rest_keep_theirs(mockopper: Mockopper) -> None:
    mockopper.session("own").load({"rules": [{"reply": {"text": "from my own scenario"}}]})
    assert chat(mockopper, "own") == "from my own scenario"
    assert chat(mockopper, "other") != "from my own scenario"
    assert chat(mockopper, None) != "from my own scenario"
    # Loading the server's scenario changes every session without one of its own.
    mockopper.load({"rules": [{"reply": {"text": "server-wide"}}]})
    assert chat(mockopper, "other") == "server-wide"
    assert chat(mockopper, None) == "server-wide"
    assert chat(mockopper, "own") == "from my own scenario"


def test_the_admin_api_manages_sessions(mockopper: Mockopper, admin: httpx2.Client) -> None:
    loaded = admin.put("/sessions/team%20a/scenario", content="rules: [{reply: {text: scripted}}]")
    assert loaded.status_code == 200, loaded.text
    assert loaded.json()["session"] == "team a"
    assert chat(mockopper, "team a") == "scripted"
    chat(mockopper, "team a")
    chat(mockopper, "b")
    chat(mockopper, None)

    listing = {s["name"]: s for s in admin.get("/sessions").json()["sessions"]}
    assert listing["team a"] == {"name": "team a", "scenario": None, "own_scenario": True, "requests": 2}
    assert listing["b"]["own_scenario"] is False and listing["b"]["requests"] == 1
    assert admin.get("/sessions/team a/scenario").json()["rules"][0]["reply"]["text"] == "scripted"

    assert [r["session"] for r in admin.get("/sessions/team a/requests").json()["requests"]] == ["team a"] * 2
    assert len(admin.get("/requests", params={"session": "b"}).json()["requests"]) == 1
    assert [r["session"] for r in admin.get("/requests", params={"session": ""}).json()["requests"]] == [None]
    assert len(admin.get("/requests").json()["requests"]) == 4

    # A session's reset forgets its requests and counters, keeps its scenario and leaves the others alone.
    assert admin.post("/sessions/team a/reset").json() == {"status": "reset", "session": "team a"}
    assert admin.get("/sessions/team a/requests").json()["requests"] == []
    assert len(admin.get("/requests").json()["requests"]) == 2
    assert chat(mockopper, "team a") == "scripted"

    assert admin.delete("/sessions/team a").json() == {"status": "deleted", "session": "team a"}
    assert "team a" not in {s["name"] for s in admin.get("/sessions").json()["sessions"]}
    assert admin.delete("/sessions/team a").status_code == 404
    assert admin.get("/sessions/team a/scenario").status_code == 404
    assert chat(mockopper, "team a") != "scripted"  # it starts afresh on the server's scenario


def test_an_invalid_session_scenario_lists_every_problem_and_keeps_the_old_one(
    mockopper: Mockopper, admin: httpx2.Client
) -> None:
    mockopper.session("s").load({"rules": [{"reply": {"text": "kept"}}]})
    refused = admin.put(
        "/sessions/s/scenario",
        content="rules:\n  - reply: {text: a, json: {}}\n  - match: {modle: x}\n    reply: {text: b}\n",
    )
    assert refused.status_code == 400
    problems = refused.json()["error"]["problems"]
    assert len(problems) == 2, problems
    assert all(p.startswith("<scenario>:") for p in problems)
    assert chat(mockopper, "s") == "kept"


@pytest.mark.parametrize(
    ("name", "why"),
    [("", "empty"), ("x" * 129, "129 characters")],
)
def test_a_bad_session_name_is_the_surfaces_400(mockopper: Mockopper, name: str, why: str) -> None:
    client = openai.OpenAI(
        base_url=mockopper.base_url, api_key="k", max_retries=0, default_headers={"x-mockopper-session": name}
    )
    with client, pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert why in refused.value.message
    assert refused.value.response.headers["x-should-retry"] == "false"
    claude = anthropic.Anthropic(
        base_url=mockopper.base_url, api_key="k", max_retries=0, default_headers={"x-mockopper-session": name}
    )
    with claude, pytest.raises(anthropic.BadRequestError) as by_anthropic:
        claude.messages.create(model="m", max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    assert by_anthropic.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]


def test_a_session_name_outside_ascii_is_a_400(mockopper: Mockopper) -> None:
    """No SDK sends a header value outside ASCII (they refuse to encode one), so this one goes by hand."""
    response = httpx2.post(
        mockopper.base_url + "/chat/completions",
        json={"model": "m", "messages": [{"role": "user", "content": "hi"}]},
        headers=[(b"authorization", b"Bearer k"), (b"x-mockopper-session", "caf\xe9".encode("latin-1"))],
    )
    assert response.status_code == 400
    assert "printable ASCII" in response.json()["error"]["message"]


def test_sessions_past_the_limit_drop_the_least_recently_used() -> None:
    with MockServer({"rules": [{"replies": [{"text": "1"}, {"text": "2"}]}]}, max_sessions=2) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0)

        def ask(session: str) -> str:
            reply = client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "x"}], extra_headers={"x-mockopper-session": session}
            )
            return str(reply.choices[0].message.content)

        with client:
            assert [ask("a"), ask("b"), ask("a")] == ["1", "1", "2"]  # a is now the most recent
            ask("c")  # drops b
            assert sorted(server.app.sessions.names()) == ["a", "c"]
            assert ask("a") == "2"  # a kept its count
            assert ask("b") == "1"  # b starts afresh


def test_concurrent_sessions_never_see_each_others_sequences(mockopper: Mockopper) -> None:
    """Twelve clients in parallel, each in its own session, each walks the replies from the start."""
    mockopper.load({"rules": [{"replies": [{"text": str(i)} for i in range(1, 6)]}]})
    seen: dict[str, list[str]] = {}

    def run(name: str) -> None:
        seen[name] = [chat(mockopper, name) for _ in range(5)]

    threads = [threading.Thread(target=run, args=(f"worker-{i}",)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {f"worker-{i}": ["1", "2", "3", "4", "5"] for i in range(12)}


def test_the_fixture_resets_sessions_between_tests(mockopper: Mockopper) -> None:
    assert len(mockopper.app.sessions) == 0  # earlier tests made sessions; each test starts without them
    session = mockopper.session("mine")
    assert session.headers == {"x-mockopper-session": "mine"}
    chat(mockopper, "mine")
    assert [r.session for r in session.requests] == ["mine"]
    assert [r.session for r in mockopper.requests] == ["mine"]
    with pytest.raises(ValueError, match="Invalid session name"):
        mockopper.session("")


@pytest.mark.filterwarnings("ignore:connect\\(\\) must be used as a context manager:DeprecationWarning")
def test_a_websocket_connection_is_served_in_its_handshakes_session(mockopper: Mockopper) -> None:
    mockopper.session("ws").load({"rules": [{"replies": [{"text": "one"}, {"text": "two"}]}]})
    client = openai.OpenAI(
        base_url=mockopper.base_url, api_key="k", max_retries=0, default_headers=mockopper.session("ws").headers
    )
    with client, client.responses.connect() as connection:
        texts = []
        for _ in range(2):
            connection.response.create(model="m", input="hi")
            done = next(e for e in connection if e.type == "response.completed")
            texts.append(done.response.output_text)
    assert texts == ["one", "two"]
    assert [(r.method, r.session) for r in mockopper.session("ws").requests] == [("WEBSOCKET", "ws")] * 2


def test_trace_ids_in_a_session_ignore_other_sessions(mockopper: Mockopper) -> None:
    """A session's trace ids depend on its own traffic only."""

    def trace_ids(session: str, times: int) -> list[str]:
        client = openai.OpenAI(
            base_url=mockopper.base_url, api_key="k", max_retries=0, default_headers=mockopper.session(session).headers
        )
        with client:
            return [
                client.chat.completions.with_raw_response.create(
                    model="m", messages=[{"role": "user", "content": "same question"}]
                ).headers["x-opper-trace-id"]
                for _ in range(times)
            ]

    alone = trace_ids("b", 3)
    assert len(set(alone)) == 3  # each call of the same content is its own trace
    mockopper.reset()
    trace_ids("a", 3)  # the same calls in another session first...
    assert trace_ids("b", 3) == alone  # ...do not move this session's ids


def test_a_session_lists_only_its_own_traces_and_a_reset_forgets_them(mockopper: Mockopper) -> None:
    """`/v3/traces` is per session, as the journal is: parallel runners never read each other's traces."""

    def traced(session: str | None, text: str) -> str:
        headers = mockopper.session(session).headers if session else None
        with openai.OpenAI(base_url=mockopper.base_url, api_key="k", max_retries=0, default_headers=headers) as client:
            raw = client.chat.completions.with_raw_response.create(
                model="acme/model", messages=[{"role": "user", "content": text}]
            )
        return raw.headers["x-opper-trace-id"]

    def listed(session: str | None) -> list[str]:
        headers = mockopper.session(session).headers if session else None
        opper = opperai.Opper(base_url=mockopper.url, api_key="k", headers=headers)
        return [t.id for t in opper.traces.list().data]

    first_a, in_b, in_default = traced("a", "hi"), traced("b", "hi"), traced(None, "hi")
    client_span = opperai.Opper(base_url=mockopper.url, api_key="k", headers=mockopper.session("b").headers)
    made = client_span.spans.create(name="a client's span in b")
    assert listed("a") == [first_a]
    assert listed("b") == [made.trace_id, in_b]
    assert listed(None) == [in_default]
    assert len({first_a, in_b, in_default}) == 3

    mockopper.session("a").reset()
    assert listed("a") == []
    assert listed("b") == [made.trace_id, in_b]  # another session's traces stay
    assert traced("a", "hi") == first_a  # its ids start afresh, as a new session's do
    refused = httpx2.get(mockopper.url + "/v3/traces", headers={"authorization": "Bearer k", SESSION: "x" * 129})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "invalid_session"
