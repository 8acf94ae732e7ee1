"""The admin API under /__mockopper/ (raw HTTP: it is mockopper's own API, no SDK speaks it)."""

from __future__ import annotations

import threading

import httpx2
import openai
import pytest
from starlette.testclient import TestClient

from mockopper.app import MockApp, Settings
from mockopper.plugin import Mockopper
from mockopper.server import MockServer


def ask(client: openai.OpenAI, text: str, model: str = "openai/gpt-5.5") -> str:
    return (
        client.chat.completions.create(model=model, messages=[{"role": "user", "content": text}])
        .choices[0]
        .message.content
        or ""
    )


def test_health(mockopper: Mockopper) -> None:
    body = httpx2.get(mockopper.url + "/__mockopper/health").json()
    assert body["status"] == "ok" and body["scenario"] == "default"


def test_requests_are_listed_and_filtered(mockopper: Mockopper, client: openai.OpenAI) -> None:
    mockopper.load({"rules": [{"name": "hi", "match": {"message": "hi"}, "reply": {"text": "hello"}}]})
    mockopper.allow_unmatched = True
    ask(client, "hi")
    ask(client, "hi", model="anthropic/claude-sonnet-4-6")
    with pytest.raises(openai.BadRequestError):
        ask(client, "bye")
    url = mockopper.url + "/__mockopper/requests"
    assert len(httpx2.get(url).json()["requests"]) == 3
    assert [r["rule"] for r in httpx2.get(url, params={"rule": "hi"}).json()["requests"]] == ["hi", "hi"]
    [miss] = httpx2.get(url, params={"unmatched": "true"}).json()["requests"]
    assert miss["unmatched"] and "No rule matched" in miss["explanation"]
    [claude] = httpx2.get(url, params={"model": "anthropic/claude-sonnet-4-6"}).json()["requests"]
    assert claude["answered_by"] == "anthropic/claude-sonnet-4-6"
    assert len(httpx2.get(url, params={"surface": "chat"}).json()["requests"]) == 3
    assert httpx2.get(url, params={"surface": "messages"}).json()["requests"] == []
    assert claude["request_headers"]["authorization"] == "Bearer [redacted]"
    assert httpx2.delete(url).json() == {"status": "cleared"}
    assert httpx2.get(url).json()["requests"] == []


def test_reset_restarts_every_counter(mockopper: Mockopper, client: openai.OpenAI) -> None:
    mockopper.load(
        {
            "models": {"flaky/model": {"fail_first": 1, "error": {"status": 400}}},
            "rules": [
                {"name": "once", "times": 1, "reply": {"text": "only once"}},
                {"replies": [{"text": "one"}, {"text": "two"}]},
            ],
        }
    )
    mockopper.allow_unmatched = True
    assert [ask(client, "x"), ask(client, "x"), ask(client, "x")] == ["only once", "one", "two"]
    with pytest.raises(openai.BadRequestError):
        ask(client, "x", model="flaky/model")
    assert ask(client, "x", model="flaky/model") == "two"
    assert httpx2.post(mockopper.url + "/__mockopper/reset").json() == {"status": "reset"}
    assert mockopper.requests == []
    assert [ask(client, "x"), ask(client, "x")] == ["only once", "one"]
    with pytest.raises(openai.BadRequestError):
        ask(client, "x", model="flaky/model")


def test_put_scenario_as_yaml_and_json(mockopper: Mockopper, client: openai.OpenAI) -> None:
    url = mockopper.url + "/__mockopper/scenario"
    response = httpx2.put(url, content="name: swapped\nrules:\n  - reply: {text: from yaml}\n")
    assert response.json() == {"status": "loaded", "scenario": "swapped", "rules": 1}
    assert ask(client, "x") == "from yaml"
    response = httpx2.put(url, json={"name": "as-json", "rules": [{"reply": {"text": "from json"}}]})
    assert response.status_code == 200
    assert ask(client, "x") == "from json"
    current = httpx2.get(url).json()
    assert current["name"] == "as-json" and current["rules"][0]["reply"] == {"text": "from json"}


def test_put_a_broken_scenario_lists_every_problem_and_keeps_the_old_one(
    mockopper: Mockopper, client: openai.OpenAI
) -> None:
    mockopper.load({"rules": [{"reply": {"text": "still here"}}]})
    response = httpx2.put(
        mockopper.url + "/__mockopper/scenario",
        content="rules:\n  - match: {mesage: x}\n    reply: {text: a}\n  - reply: {}\n",
    )
    assert response.status_code == 400
    assert response.json()["error"]["problems"] == [
        "<scenario>:2: rules[0].match.mesage: unknown key 'mesage' (did you mean 'message'?)",
        "<scenario>:4: rules[1].reply: a reply needs one of text, tool_calls, json, error",
    ]
    assert ask(client, "x") == "still here"


def test_a_swap_is_atomic_under_concurrent_traffic(mockopper: Mockopper, client: openai.OpenAI) -> None:
    first = {
        "rules": [
            {"name": "a", "match": {"message": "x"}, "reply": {"text": "A"}},
            {"name": "a2", "reply": {"text": "A"}},
        ]
    }
    second = {
        "rules": [
            {"name": "b", "match": {"message": "x"}, "reply": {"text": "B"}},
            {"name": "b2", "reply": {"text": "B"}},
        ]
    }
    mockopper.load(first)
    answers: list[str] = []
    stop = threading.Event()

    def traffic() -> None:
        while not stop.is_set():
            answers.append(ask(client, "x"))

    thread = threading.Thread(target=traffic)
    thread.start()
    for i in range(20):
        httpx2.put(mockopper.url + "/__mockopper/scenario", json=second if i % 2 == 0 else first)
    stop.set()
    thread.join()
    assert set(answers) <= {"A", "B"} and answers
    assert all(r.rule in ("a", "b") for r in mockopper.requests)  # never half of one and half of the other


def test_non_loopback_clients_are_refused() -> None:
    app = MockApp()
    with TestClient(app, client=("10.1.2.3", 50000)) as remote:
        response = remote.get("/__mockopper/requests")
        assert response.status_code == 403
        assert "only answers loopback clients" in response.json()["error"]["message"]
        assert remote.get("/__mockopper/").status_code == 403
        # The compat API itself is not restricted.
        assert (
            remote.post(
                "/v3/compat/chat/completions",
                headers={"authorization": "Bearer k"},
                json={"model": "m", "messages": [{"role": "user", "content": "hi"}]},
            ).status_code
            == 200
        )
    with TestClient(app, client=("127.0.0.1", 50000)) as local:
        assert local.get("/__mockopper/health").status_code == 200


def test_an_admin_token_is_then_required_from_everyone() -> None:
    app = MockApp(settings=Settings(admin_token="s3cret"))
    with TestClient(app, client=("10.1.2.3", 50000)) as remote:
        assert remote.get("/__mockopper/health").status_code == 401
        assert remote.get("/__mockopper/health", headers={"x-mockopper-token": "wrong"}).status_code == 401
        assert remote.get("/__mockopper/health", headers={"x-mockopper-token": "s3cret"}).status_code == 200
        assert remote.get("/__mockopper/health?token=s3cret").status_code == 200
    with TestClient(app, client=("127.0.0.1", 50000)) as local:
        assert local.get("/__mockopper/health").status_code == 401


def test_the_inspector_page_ships_everything_it_needs() -> None:
    with MockServer() as server:
        html = httpx2.get(server.url + "/__mockopper/").text
    assert "<title>mockopper inspector</title>" in html
    assert "http://" not in html.replace("http://127", "") and "https://" not in html  # no external resources
