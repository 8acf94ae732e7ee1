"""Every code block in README.md runs as written (or says, in a comment before it, why it does not).

- ```python: run; a block that talks to `http://127.0.0.1:8787` runs against the test
  server (the URL rewritten in the text run, not in the README), a block of pytest tests
  (taking the `mockopper` fixture) runs under pytester. A `print(...)  # <literal>` line
  must print that literal.
- ```sh: each line is a `mockopper ...` command, run (a `serve`, which runs until stopped,
  cannot be).
- ```yaml: loads as a scenario; a block marked `<!-- fragment: rules -->` as rules.
- ```js: parses (`node --check`), and runs against the test server when the JS SDKs are
  installed (`npm ci` in tests/js).
- Any other block, or one that cannot run here (it installs, needs the network or a real
  key), is marked `<!-- not run: why -->` right before it.
"""

from __future__ import annotations

import ast
import contextlib
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openai
import pytest
from click.testing import CliRunner

from mockopper.cli import main
from mockopper.loader import load_text
from mockopper.plugin import Mockopper

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
NODE_MODULES = ROOT / "tests" / "js" / "node_modules"
SERVE_URL = "http://127.0.0.1:8787"  # where the README's `mockopper serve` listens
RUNNABLE = ("python", "sh", "yaml", "js")
FENCE = re.compile(r"^\s*```(?P<lang>[\w-]*)\s*$")
MARK = re.compile(r"^\s*<!--\s*(?P<mark>.*?)\s*-->\s*$")


@dataclass(frozen=True)
class Block:
    lang: str
    text: str
    line: int  # of the opening fence
    mark: str | None  # the HTML comment right before the block

    @property
    def skipped(self) -> str | None:
        """Why the block is not run, when it is marked so."""
        if self.mark is None or not self.mark.startswith("not run:"):
            return None
        return self.mark.removeprefix("not run:").strip()

    def __str__(self) -> str:
        return f"README.md:{self.line}"


def read_blocks(text: str) -> list[Block]:
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        start = i
        i += 1
        while i < len(lines) and lines[i].strip() != "```":
            i += 1
        assert i < len(lines), f"README.md:{start + 1}: a code block that never closes"
        body = textwrap.dedent("\n".join(lines[start + 1 : i])) + "\n"
        before = next((line for line in reversed(lines[:start]) if line.strip()), "")
        mark = MARK.match(before)
        blocks.append(Block(opening["lang"], body, start + 1, mark["mark"] if mark else None))
        i += 1
    return blocks


BLOCKS = read_blocks(README.read_text(encoding="utf-8"))


def run(lang: str, *, where: Any = None) -> Any:
    """The README's blocks of one language that are not marked `not run`, one parameter each."""
    chosen = [b for b in BLOCKS if b.lang == lang and b.skipped is None and (where is None or where(b))]
    return pytest.mark.parametrize("block", chosen, ids=[str(b) for b in chosen])


def is_pytest(block: Block) -> bool:
    return bool(re.search(r"^def test_\w+\(.*\bmockopper\b", block.text, re.MULTILINE))


# --- what is run, and what is not ------------------------------------------------------------


def test_every_block_is_run_or_marked_with_the_reason_it_is_not() -> None:
    assert len(BLOCKS) > 10
    for block in BLOCKS:
        if block.mark is not None and block.mark.startswith("not run"):
            assert block.skipped, f"{block}: say why the block is not run: `<!-- not run: the reason -->`"
            assert block.lang != "yaml", f"{block}: a scenario always loads; mark it a fragment if it is one"
        else:
            assert block.lang in RUNNABLE, (
                f"{block}: a ```{block.lang} block cannot run: mark it `<!-- not run: why -->`"
            )
        if block.mark is not None and not block.skipped:
            assert block.mark in ("fragment: rules",), f"{block}: unknown mark <!-- {block.mark} -->"


# --- Python ----------------------------------------------------------------------------------


def literal_prints(source: str) -> dict[int, str]:
    """The lines of `print(...)  # <a Python literal>`: what each must print."""
    expected: dict[int, str] = {}
    lines = source.splitlines()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
            _, hash_, comment = lines[node.lineno - 1].partition("  # ")
            if hash_:
                with contextlib.suppress(ValueError, SyntaxError):
                    ast.literal_eval(comment.strip())
                    expected[node.lineno] = comment.strip()
    return expected


@run("python", where=lambda b: not is_pytest(b))
def test_a_python_block_runs_as_written(block: Block, mockopper: Mockopper) -> None:
    source = block.text.replace(SERVE_URL, mockopper.url)
    printed: dict[int, str] = {}

    def recording_print(*args: Any, **kwargs: Any) -> None:
        caller = sys._getframe(1)
        out = io.StringIO()
        print(*args, file=out, **{k: v for k, v in kwargs.items() if k != "file"})
        printed[caller.f_lineno] = out.getvalue().rstrip("\n")

    exec(compile(source, str(block), "exec"), {"__name__": "readme", "print": recording_print})
    for line, expected in literal_prints(source).items():
        assert printed.get(line) == expected, f"README.md:{block.line + line}: printed {printed.get(line)!r}"
    if SERVE_URL in block.text:
        assert mockopper.requests, f"{block}: the block sent nothing to the server"
        assert all(r.status == 200 for r in mockopper.requests), [(r.path, r.status) for r in mockopper.requests]


@run("python", where=is_pytest)
def test_a_pytest_block_passes_under_pytest(
    block: Block, pytester: pytest.Pytester, run_pytest: Callable[..., pytest.RunResult]
) -> None:
    pytester.makepyfile(**{f"test_readme_{block.line}": block.text})
    result = run_pytest()
    result.assert_outcomes(passed=len(re.findall(r"^def test_", block.text, re.MULTILINE)))


def test_the_near_miss_example_is_what_a_miss_says(mockopper: Mockopper) -> None:
    [example] = [b for b in BLOCKS if b.text.startswith("No rule matched")]
    weather = {"name": "weather", "match": {"model": "openai/*", "message": "weather"}, "reply": {"text": "sunny"}}
    mockopper.load({"rules": [weather]})
    mockopper.allow_unmatched = True
    client = openai.OpenAI(base_url=mockopper.base_url, api_key="k", max_retries=0)
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(
            model="anthropic/claude-sonnet-4-6", messages=[{"role": "user", "content": "hello"}]
        )
    assert refused.value.response.headers["x-should-retry"] == "false"
    assert isinstance(refused.value.body, dict)
    assert " ".join(example.text.split()) == refused.value.body["message"]


# --- shell -----------------------------------------------------------------------------------


@run("sh")
def test_a_shell_block_of_mockopper_commands_runs(
    block: Block, mockopper: Mockopper, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    commands = [shlex.split(line, comments=True) for line in block.text.splitlines()]
    for args in filter(None, commands):
        assert args[0] == "mockopper", f"{block}: only `mockopper ...` commands run here: mark the block not run"
        assert args[1] not in ("serve", "record"), f"{block}: `mockopper {args[1]}` runs until stopped: mark it"
        args = [arg.replace(SERVE_URL, mockopper.url) for arg in args]
        result = CliRunner().invoke(main, args[1:])
        assert result.exit_code == 0, f"{block}: {shlex.join(args)}\n{result.output}"


# --- YAML ------------------------------------------------------------------------------------


@run("yaml")
def test_a_yaml_block_is_a_valid_scenario(block: Block) -> None:
    text = block.text
    if block.mark == "fragment: rules":
        text = "rules:\n" + textwrap.indent(text, "  ")
    scenario = load_text(text, str(block))
    assert scenario.rules or scenario.guards


# --- JavaScript ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def node() -> str:
    found = shutil.which("node")
    if found is None:
        if os.environ.get("MOCKOPPER_REQUIRE_JS"):
            pytest.fail("node is required (MOCKOPPER_REQUIRE_JS is set)")
        pytest.skip("node is not installed")
    return found


@run("js")
def test_a_js_block_parses_and_runs(block: Block, node: str, mockopper: Mockopper, tmp_path: Path) -> None:
    script = tmp_path / "block.mjs"
    script.write_text(block.text.replace(SERVE_URL, mockopper.url))
    checked = subprocess.run([node, "--check", str(script)], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, f"{block}: {checked.stderr}"
    if not NODE_MODULES.is_dir():
        if os.environ.get("MOCKOPPER_REQUIRE_JS"):
            pytest.fail("run `npm ci` in tests/js (MOCKOPPER_REQUIRE_JS is set)")
        return  # parsed; running it needs the JS SDKs
    (tmp_path / "node_modules").symlink_to(NODE_MODULES)
    ran = subprocess.run([node, str(script)], capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, f"{block}: {ran.stderr}"
    assert mockopper.requests and all(r.status == 200 for r in mockopper.requests)
