"""The public API: `mockopper.__all__` is pinned, every name in it resolves, and importing the package stays cheap."""

from __future__ import annotations

import subprocess
import sys

import mockopper

PUBLIC = [
    "MockApp",
    "MockServer",
    "RequestRecord",
    "Scenario",
    "ScenarioError",
    "SessionHandle",
    "Settings",
    "__version__",
    "create_app",
    "load_file",
    "load_text",
]


def test_the_public_names_are_pinned() -> None:
    """A name added to or removed from the public API is a deliberate change: update this list with it."""
    assert mockopper.__all__ == PUBLIC


def test_every_public_name_resolves_to_what_its_module_defines() -> None:
    for name in PUBLIC:
        value = getattr(mockopper, name)
        if name != "__version__":
            assert value.__name__ == name
            assert value.__module__.startswith("mockopper.")


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        mockopper.MockSever  # type: ignore[attr-defined]  # noqa: B018
    except AttributeError as exc:
        assert "MockSever" in str(exc)
    else:
        raise AssertionError("a misspelt name resolved")


def test_importing_the_package_pulls_in_nothing_heavy() -> None:
    """pytest imports the plugin (and so the package) in every run where mockopper is installed."""
    heavy = ("starlette", "uvicorn", "faker", "httpx", "pydantic")
    code = f"import sys, mockopper, mockopper.plugin; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
