"""mockopper: a local, offline, deterministic mock of Opper's compat API.

Point the OpenAI, Anthropic or Google SDK at `MockServer(...).base_url` (or at
`mockopper serve`) and get scripted, repeatable answers from a YAML scenario.

The public names are imported lazily, so `import mockopper` (which pytest does for the
plugin) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
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

_LAZY = {
    "MockApp": "mockopper.app",
    "Settings": "mockopper.settings",
    "create_app": "mockopper.app",
    "MockServer": "mockopper.server",
    "SessionHandle": "mockopper.server",
    "RequestRecord": "mockopper.journal",
    "Scenario": "mockopper.scenarios",
    "ScenarioError": "mockopper.loader",
    "load_file": "mockopper.loader",
    "load_text": "mockopper.loader",
}

if TYPE_CHECKING:
    from mockopper.app import MockApp, create_app
    from mockopper.journal import RequestRecord
    from mockopper.loader import ScenarioError, load_file, load_text
    from mockopper.scenarios import Scenario
    from mockopper.server import MockServer, SessionHandle
    from mockopper.settings import Settings


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mockopper' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
