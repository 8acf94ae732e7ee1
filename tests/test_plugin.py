"""The pytest plugin, tested with pytester in pytest runs of their own."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import pytest

RunPytest = Callable[..., pytest.RunResult]

CONFTEST = """
import openai
import pytest

@pytest.fixture
def client(mockopper):
    return openai.OpenAI(base_url=mockopper.base_url, api_key="k", max_retries=0)
"""


def test_fixture_marker_and_state_reset(pytester: pytest.Pytester, run_pytest: RunPytest) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        test_app="""
import pytest

def ask(client, text):
    return client.chat.completions.create(model="m", messages=[{"role": "user", "content": text}])

@pytest.mark.mockopper(scenario={"rules": [{"name": "seq", "replies": [{"text": "one"}, {"text": "two"}]}]})
def test_first(mockopper, client):
    assert ask(client, "a").choices[0].message.content == "one"
    assert ask(client, "b").choices[0].message.content == "two"
    assert [r.rule for r in mockopper.requests] == ["seq", "seq"]

@pytest.mark.mockopper(scenario={"rules": [{"name": "seq", "replies": [{"text": "one"}, {"text": "two"}]}]})
def test_second_starts_fresh(mockopper, client):
    assert ask(client, "a").choices[0].message.content == "one"
    assert len(mockopper.requests) == 1

def test_default_scenario(mockopper, client):
    assert ask(client, "hello").choices[0].message.content
    assert mockopper.requests[0].rule == "answer anything"

@pytest.mark.mockopper("flaky.yaml")
def test_bundled_by_name(mockopper):
    assert mockopper.app.scenario.name == "flaky"

def test_load_yaml_text(mockopper, client):
    mockopper.load("rules:\\n  - reply: {text: from text}\\n")
    assert ask(client, "x").choices[0].message.content == "from text"
"""
    )
    run_pytest().assert_outcomes(passed=5)


def test_an_unmatched_request_fails_the_test_with_the_near_miss_report(
    pytester: pytest.Pytester, run_pytest: RunPytest
) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        test_app="""
import openai
import pytest

SCENARIO = {"rules": [{"name": "weather", "match": {"message": "weather"}, "reply": {"text": "sunny"}}]}

@pytest.mark.mockopper(scenario=SCENARIO)
def test_unmatched(mockopper, client):
    try:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hello"}])
    except openai.BadRequestError:
        pass  # the application swallowed the error: the test must still fail

@pytest.mark.mockopper(scenario=SCENARIO, allow_unmatched=True)
def test_allowed(mockopper, client):
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hello"}])
"""
    )
    result = run_pytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*mockopper: 1 request(s) matched no rule:*",
            "*No rule matched POST /v3/compat/chat/completions (model 'm'). Closest: 'weather' - message: expected to "
            "contain 'weather', got 'hello'*",
        ]
    )


def test_the_plugin_is_found_by_its_entry_point_and_registers_its_marker(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--markers")  # a pytest of its own, which loads what is installed
    result.stdout.fnmatch_lines(["@pytest.mark.mockopper(scenario=None, *, cassette=None, allow_unmatched=False)*"])


def test_the_plugin_imports_nothing_heavy() -> None:
    code = (
        "import sys, mockopper.plugin; heavy = [m for m in ('starlette', 'uvicorn', 'faker', 'pydantic', "
        "'yaml', 'httpx') if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_mockserver_outside_pytest() -> None:
    code = """
import openai
from mockopper import MockServer
with MockServer({"rules": [{"reply": {"text": "hi"}}]}) as server:
    client = openai.OpenAI(base_url=server.base_url, api_key="k")
    answer = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
    print(answer.choices[0].message.content)
    print(len(server.requests))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["hi", "1"]
