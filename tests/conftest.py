"""Shared fixtures: real SDK clients pointed at the session's mock server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest

from mockopper.plugin import Mockopper
from mockopper.server import MockServer, ScenarioSource


@pytest.fixture
def client(mockopper: Mockopper) -> openai.OpenAI:
    """The official OpenAI SDK, unchanged but for its base URL; no retries unless a test asks."""
    return openai.OpenAI(base_url=mockopper.base_url, api_key="test-key", max_retries=0)


def fresh_server(scenario: ScenarioSource = None, **settings: Any) -> MockServer:
    return MockServer(scenario, **settings)


@pytest.fixture
def server_factory() -> Iterator[Any]:
    """Start extra servers (for tests that need fresh ones); all are stopped afterwards."""
    started: list[MockServer] = []

    def start(scenario: ScenarioSource = None, **settings: Any) -> MockServer:
        server = MockServer(scenario, **settings).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
