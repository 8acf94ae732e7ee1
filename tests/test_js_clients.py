"""The JavaScript SDKs against `mockopper serve`: runs the node test suite in tests/js.

The suite (openai, @anthropic-ai/sdk, @google/genai and the Vercel AI SDK, versions pinned
in tests/js/package-lock.json) runs its files in parallel against one `mockopper serve`,
each file in its own session, as a vitest user's suite would. It needs node and `npm ci`
in tests/js; without them this test skips, unless MOCKOPPER_REQUIRE_JS is set.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

JS = Path(__file__).parent / "js"
TIMEOUT_S = 300


def _missing() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    if not (JS / "node_modules").is_dir():
        return "the JS clients are not installed (run `npm ci` in tests/js)"
    return None


def test_js_clients_against_mockopper_serve() -> None:
    missing = _missing()
    if missing is not None:
        if os.environ.get("MOCKOPPER_REQUIRE_JS"):
            pytest.fail(f"MOCKOPPER_REQUIRE_JS is set but {missing}")
        pytest.skip(missing)
    with subprocess.Popen(
        [sys.executable, "-m", "mockopper.cli", "serve", "--port", "0", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as server:
        try:
            url = _base_url(server)
            output, returncode, stdout = _run_suite(url)
        finally:
            server.terminate()
    if returncode != 0:
        pytest.fail(f"node --test tests/js failed (exit {returncode}):\n{output}", pytrace=False)
    counts = dict(re.findall(r"^\S+ (tests|pass|fail) (\d+)$", stdout, re.MULTILINE))
    assert counts.get("fail") == "0" and int(counts.get("pass", 0)) > 0, output
    assert counts["pass"] == counts["tests"], output


def _base_url(server: subprocess.Popen[str]) -> str:
    assert server.stdout is not None
    for line in server.stdout:
        match = re.match(r"Base URL\s+(http://\S+?)/v3/compat\s*$", line)
        if match:
            return match.group(1)  # serve --quiet prints nothing more
    raise AssertionError("mockopper serve exited without printing its base URL")


def _run_suite(url: str) -> tuple[str, int, str]:
    env = {**os.environ, "MOCKOPPER_PYTHON": sys.executable, "MOCKOPPER_URL": url, "NO_COLOR": "1"}
    env.pop("NODE_OPTIONS", None)
    result = subprocess.run(
        ["node", "--test", "--test-concurrency=4", "--test-reporter=spec"],
        cwd=JS,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    return result.stdout + result.stderr, result.returncode, result.stdout
