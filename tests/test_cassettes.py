"""pytest cassettes: record once against an upstream, then replay offline, as pytest-recording's modes say.

Each case runs a separate pytest (pytester) whose tests use `@pytest.mark.mockopper(cassette=...)`;
the upstream is a mockopper server on loopback started here, given with `--mockopper-upstream`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from mockopper.server import MockServer

UPSTREAM = {
    "rules": [
        {"name": "counted", "match": {"message": "count"}, "reply": {"text": "call {{ call }}"}},
        {"name": "echo", "reply": {"text": "upstream says {{ request.message }}"}},
    ]
}

CONFTEST = """
import openai
import pytest

@pytest.fixture
def client(mockopper):
    return openai.OpenAI(base_url=mockopper.base_url, api_key="sk-recording-key-42", max_retries=0)

def ask(client, text):
    reply = client.chat.completions.create(model="m", messages=[{"role": "user", "content": text}])
    return reply.choices[0].message.content
"""

TESTS = """
import pytest
from conftest import ask

@pytest.mark.mockopper(cassette=True)
def test_hello(mockopper, client):
    assert ask(client, "hello") == "upstream says hello"

@pytest.mark.mockopper(cassette="shared.yaml")
def test_shared(mockopper, client):
    assert ask(client, "count") == "call 1"
    assert ask(client, "count") == "call 2"
"""


@pytest.fixture
def upstream(mockopper_server: MockServer) -> Iterator[MockServer]:
    """The upstream cassettes record from. Set up before `pytester`, which forgets every module imported
    after it starts (here: the server machinery the later tests share); the session's server is up by then."""
    with MockServer(UPSTREAM) as server:
        yield server


def cassette(pytester: pytest.Pytester, name: str) -> dict[str, object]:
    data = yaml.safe_load((pytester.path / "cassettes" / name).read_text())
    assert isinstance(data, dict)
    return data


def test_replay_only_fails_naming_the_cassette_then_once_records_and_replay_runs_offline(
    upstream: MockServer, run_pytest: Callable[..., pytest.RunResult], pytester: pytest.Pytester
) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_app=TESTS)
    result = run_pytest()  # the default mode, none: replay only
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*mockopper: the cassette */cassettes/test_app/test_hello.yaml does not exist yet*",
            "*python -m pytest test_app.py::test_hello --mockopper-record-mode=new_episodes*",
        ]
    )
    assert not (pytester.path / "cassettes").exists() and not upstream.requests

    run_pytest("--mockopper-record-mode=once", "--mockopper-upstream", upstream.base_url).assert_outcomes(passed=2)
    hello = cassette(pytester, "test_app/test_hello.yaml")
    assert [r["match"] for r in hello["rules"]] == [{"model": "m", "message": {"equals": "hello"}, "turn": 1}]  # type: ignore[index]
    [rule] = cassette(pytester, "shared.yaml")["rules"]  # type: ignore[misc]
    assert [r["text"] for r in rule["replies"]] == ["call 1", "call 2"]
    assert "sk-recording-key-42" not in (pytester.path / "cassettes" / "shared.yaml").read_text()
    assert len(upstream.requests) == 3

    upstream.stop()  # offline from here on
    run_pytest().assert_outcomes(passed=2)


def test_new_episodes_records_only_what_the_cassette_lacks_and_all_records_afresh(
    upstream: MockServer, run_pytest: Callable[..., pytest.RunResult], pytester: pytest.Pytester
) -> None:
    pytester.makeconftest(CONFTEST)
    folder = pytester.path / "cassettes"
    folder.mkdir()
    (folder / "extra.yaml").write_text(
        "rules:\n  - name: kept\n    match: {message: {equals: old}}\n    reply: {text: from the cassette}\n"
    )
    pytester.makepyfile(
        test_more="""
import pytest
from conftest import ask

LOCAL = {"rules": [{"name": "local", "match": {"message": "local"}, "reply": {"text": "from the test"}}]}

@pytest.mark.mockopper(cassette="extra.yaml", scenario=LOCAL)
def test_mixed(mockopper, client):
    assert ask(client, "old") == "from the cassette"
    assert ask(client, "local") == "from the test"
    assert ask(client, "new") == "upstream says new"
"""
    )
    args = ("--mockopper-upstream", upstream.base_url)
    run_pytest("--mockopper-record-mode=new_episodes", *args).assert_outcomes(passed=1)
    names = [r["name"] for r in cassette(pytester, "extra.yaml")["rules"]]  # type: ignore[attr-defined]
    assert names == ["kept", "m turn 1: new"]
    assert [r.path for r in upstream.requests] == ["/v3/compat/chat/completions"]  # only "new" went upstream

    upstream.reset()
    result = run_pytest("--mockopper-record-mode=all", *args)
    result.assert_outcomes(failed=1)  # afresh: the cassette's "old" is not served, the upstream answers it
    result.stdout.fnmatch_lines(["*AssertionError*upstream says old*"])
    names = [r["name"] for r in cassette(pytester, "extra.yaml")["rules"]]  # type: ignore[attr-defined]
    assert names == ["m turn 1: old"]


def test_cassette_names_follow_the_test_and_live_beside_the_test_file(tmp_path: Path) -> None:
    from mockopper.plugin import cassette_path

    test_file = tmp_path / "tests" / "test_agent.py"
    assert (
        cassette_path(test_file, "test_loop[openai-1]", True)
        == tmp_path / "tests/cassettes/test_agent/test_loop[openai-1].yaml"
    )
    assert cassette_path(test_file, "test_loop", "agent/loop.yaml") == tmp_path / "tests/cassettes/agent/loop.yaml"
    assert cassette_path(test_file, "test a/b", True).name == "test_a_b.yaml"
