"""The JavaScript SDKs against `mockopper serve`: runs the node test suite in tests/js.

The suite (openai, @anthropic-ai/sdk, @google/genai and the Vercel AI SDK, versions pinned
in tests/js/package-lock.json) starts its own servers with this interpreter. It needs node
and `npm ci` in tests/js; without them this test skips, unless MOCKOPPER_REQUIRE_JS is set.
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
    env = {**os.environ, "MOCKOPPER_PYTHON": sys.executable, "NO_COLOR": "1"}
    env.pop("NODE_OPTIONS", None)
    result = subprocess.run(
        ["node", "--test", "--test-reporter=spec"],
        cwd=JS,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    output = result.stdout + result.stderr
    if result.returncode != 0:
        pytest.fail(f"node --test tests/js failed (exit {result.returncode}):\n{output}", pytrace=False)
    counts = dict(re.findall(r"^\S+ (tests|pass|fail) (\d+)$", result.stdout, re.MULTILINE))
    assert counts.get("fail") == "0" and int(counts.get("pass", 0)) > 0, output
    assert counts["pass"] == counts["tests"], output
