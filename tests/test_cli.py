"""The `mockopper` command, through click's runner and once as a real process."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import openai
import opperai
import pytest
from click.testing import CliRunner

from mockopper.cli import main


def test_check_accepts_good_files(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("rules:\n  - reply: {text: hi}\n")
    result = CliRunner().invoke(main, ["check", str(good), "default.yaml"])
    assert result.exit_code == 0, result.output
    assert f"{good}: ok (1 rules)" in result.output
    assert "default.yaml: ok (4 rules)" in result.output


def test_check_lists_every_problem_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules:\n  - match: {mesage: hi}\n    reply: {text: hi}\n  - reply: {error: {status: 99}}\n")
    result = CliRunner().invoke(main, ["check", str(bad)])
    assert result.exit_code == 1
    assert f"{bad}:2: rules[0].match.mesage: unknown key 'mesage' (did you mean 'message'?)" in result.output
    assert f"{bad}:4: rules[1].reply.error.status: Input should be greater than or equal to 400, got 99" in (
        result.output
    )


def test_list_shows_rules_in_match_order() -> None:
    result = CliRunner().invoke(main, ["list", "default.yaml"])
    assert result.exit_code == 0
    names = re.findall(r"^\s+\d+\. (.+)$", result.output, re.M)
    assert names == ["call an offered tool", "structured output", "answer a tool result", "answer anything"]
    assert "match  tools=true, tool_result=false" in result.output


def test_schema_is_a_json_schema_of_scenarios() -> None:
    result = CliRunner().invoke(main, ["schema"])
    document = json.loads(result.output)
    assert document["title"] == "mockopper scenario"
    assert {"rules", "models", "seed", "chaos", "guards"} <= set(document["properties"])
    definitions = document["$defs"]
    assert {"price"} <= set(definitions["ModelSpec"]["properties"]) and "cost" in definitions["Reply"]["properties"]
    assert set(definitions["Guard"]["properties"]) == {
        "name",
        "type",
        "custom_patterns",
        "applies_to",
        "action",
        "replacement",
    }


def test_list_shows_the_fleet_s_prices_and_the_guards(tmp_path: Path) -> None:
    path = tmp_path / "opper.yaml"
    path.write_text(
        "models: {acme/x: {price: {input: 1, output: 2}}}\n"
        "guards: [{name: ids, type: regex, custom_patterns: ['ID-[0-9]+'], action: redact}]\n"
        "rules: [{reply: {text: hi, cost: 0.5}}]\n"
    )
    result = CliRunner().invoke(main, ["list", str(path)])
    assert result.exit_code == 0, result.output
    assert "acme/x: price=input=1.0, output=2.0" in result.output
    assert "ids: regex on both, redact" in result.output


def test_serve_refuses_a_broken_scenario(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules: [{reply: {}}]\n")
    result = CliRunner().invoke(main, ["serve", "--scenario", str(bad), "--port", "0"])
    assert result.exit_code == 1
    assert "bad.yaml:1: rules[0].reply: a reply needs one of text, tool_calls, json, error" in result.output


@pytest.mark.parametrize("port", ["99999", "-1", "65536"])
def test_serve_refuses_a_port_out_of_range_in_one_line(port: str) -> None:
    result = CliRunner().invoke(main, ["serve", "--port", port])
    assert result.exit_code == 2
    assert f"Invalid value for '--port' / '-p': {port} is not in the range 0<=x<=65535." in result.output
    assert "Traceback" not in result.output


def test_serve_says_a_folder_is_a_folder_and_what_it_holds(tmp_path: Path) -> None:
    (tmp_path / "chat.yaml").write_text("rules: []\n")
    (tmp_path / "tools.yml").write_text("rules: []\n")
    (tmp_path / "notes.txt").write_text("not a scenario")
    result = CliRunner().invoke(main, ["serve", "--scenario", f"{tmp_path}/", "--port", "0"])
    assert result.exit_code == 1
    assert f"{tmp_path}/: is a folder, not a scenario file (scenario files in it: chat.yaml, tools.yml)" in (
        result.output
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(main, ["check", str(empty)])
    assert result.exit_code == 1
    assert f"{empty}: is a folder, not a scenario file (it holds no .yaml or .yml files)" in result.output


def test_serve_as_a_process_on_a_free_port() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "mockopper.cli", "serve", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        lines = []
        while not any(line.lstrip().startswith("Environment") for line in lines):
            line = process.stdout.readline()
            assert line, f"serve exited early: {process.stderr.read() if process.stderr else ''}"
            lines.append(line)
        base_url = next(line for line in lines if line.startswith("Base URL")).split()[-1]
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/v3/compat", base_url)
        client = openai.OpenAI(base_url=base_url, api_key="k", max_retries=5)
        answer = client.chat.completions.create(model="openai/gpt-5.5", messages=[{"role": "user", "content": "hi"}])
        assert answer.choices[0].message.content
        assert time.perf_counter() - started < 30
        setup = "".join(lines)
        assert f'OpenAI(base_url="{base_url}", api_key="mock")' in setup
        assert f'Anthropic(base_url="{base_url}", api_key="mock")' in setup
        root = base_url.removesuffix("/v3/compat")
        assert f'Opper(base_url="{root}", api_key="mock")' in setup
        assert opperai.Opper(base_url=root, api_key="mock").models.list().models  # the line works as printed
    finally:
        process.terminate()
        process.communicate(timeout=10)


def _start_serve(*args: str) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "mockopper.cli", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    base_url = ""
    while True:
        line = process.stdout.readline()
        assert line, "serve exited early"
        if line.startswith("Base URL"):
            base_url = line.split()[-1]
        if line.startswith("Watching") or (line.lstrip().startswith("Environment") and "--watch" not in args):
            return process, base_url


def test_watch_reloads_and_keeps_the_last_good_scenario(tmp_path: Path) -> None:
    scenario = tmp_path / "live.yaml"
    scenario.write_text("rules:\n  - reply: {text: first version}\n")
    process, base_url = _start_serve("--scenario", str(scenario), "--watch", "--quiet")
    client = openai.OpenAI(base_url=base_url, api_key="k", max_retries=0)

    def answer() -> str:
        result = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
        return result.choices[0].message.content or ""

    def eventually(expected: str) -> None:
        deadline = time.monotonic() + 10
        while answer() != expected:
            assert time.monotonic() < deadline, f"never saw {expected!r}"
            time.sleep(0.05)

    try:
        assert answer() == "first version"
        scenario.write_text("rules:\n  - reply: {text: second version}\n")
        eventually("second version")
        scenario.write_text("rules:\n  - reply: {txt: broken}\n")
        assert process.stderr is not None
        report = ""
        while "unknown key" not in report:
            report += process.stderr.readline()
        assert f"{scenario}:2: rules[0].reply.txt: unknown key 'txt' (did you mean 'text'?)" in report
        assert "still serving the last good scenario" in report
        assert answer() == "second version"
        scenario.write_text("rules:\n  - reply: {text: third version}\n")
        eventually("third version")
    finally:
        process.terminate()
        process.communicate(timeout=10)


def test_serve_warns_loudly_when_not_on_loopback() -> None:
    process, _ = _start_serve("--host", "0.0.0.0")
    try:
        process.terminate()
        _, err = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert "WARNING: listening on 0.0.0.0, not loopback" in err
