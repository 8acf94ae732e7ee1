"""Shared fixtures (real SDK clients pointed at the session's mock server) and the run's own setup."""

from __future__ import annotations

import gc
import ipaddress
import os
import re
import socket
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import certifi
import openai
import pytest
from surfaces import Surface

from mockopper.plugin import Mockopper
from mockopper.server import MockServer, ScenarioSource


def pytest_configure(config: pytest.Config) -> None:
    """Give the run a trust store of one certificate (`SSL_CERT_FILE`, which the SDKs' HTTP clients honour).

    Tests speak plain HTTP to loopback and never reach the network, so no certificate is ever
    checked; but every SDK client loads its trust store when it is built, and parsing the
    system's takes about 25 ms, more than most tests. One certificate takes a fraction of a
    millisecond (and no TLS connection to anywhere could be verified against it).
    """
    first = re.search(
        r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----\n", Path(certifi.where()).read_text(), re.S
    )
    assert first is not None, "certifi's bundle holds no certificate"
    folder = Path(tempfile.mkdtemp(prefix="mockopper-tests-"))
    (folder / "trust.pem").write_text(first.group(0))
    config.stash[_TRUST] = (folder, os.environ.get("SSL_CERT_FILE"))
    os.environ["SSL_CERT_FILE"] = str(folder / "trust.pem")


def pytest_unconfigure(config: pytest.Config) -> None:
    folder, before = config.stash.get(_TRUST, (None, None))
    if folder is None:
        return
    (folder / "trust.pem").unlink()
    folder.rmdir()
    if before is None:
        os.environ.pop("SSL_CERT_FILE", None)
    else:
        os.environ["SSL_CERT_FILE"] = before


_TRUST = pytest.StashKey[tuple[Path, "str | None"]]()


def pytest_collectreport(report: pytest.CollectReport) -> None:
    """Freeze what each test module's imports made (the SDKs and frameworks: most of a run's objects,
    alive until it ends), so that no garbage collection walks them again."""
    gc.freeze()


@pytest.fixture
def run_pytest(pytester: pytest.Pytester) -> Callable[..., pytest.RunResult]:
    """Run pytest on pytester's files inside this process, with the mockopper plugin alone.

    Not the other plugins installed beside it (langsmith's, faker's, hypothesis'...): a run
    would import each, and rewrite the asserts of every module in its package, again.
    """

    def run(*args: str) -> pytest.RunResult:
        return pytester.runpytest_inprocess(
            "-p", "no:cacheprovider", "--disable-plugin-autoload", "-p", "mockopper", *args
        )

    return run


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


@pytest.fixture(scope="module")
def sdk_clients() -> Iterator[dict[tuple[Any, ...], Surface]]:
    """`Surface` clients kept for a module: building one costs tens of milliseconds (TLS setup), using one none."""
    made: dict[tuple[Any, ...], Surface] = {}
    yield made
    for client in made.values():
        client.close()


@pytest.fixture
def connect(mockopper: Mockopper, sdk_clients: dict[tuple[Any, ...], Surface]) -> Callable[..., Surface]:
    """A `Surface` client for the session's server (or `base_url`), with the given retries and timeout."""

    def make(surface: type[Surface], base_url: str | None = None, **options: Any) -> Surface:
        url = base_url or mockopper.base_url
        key = (surface, url, *sorted(options.items()))
        if key not in sdk_clients:
            sdk_clients[key] = surface(url, **options)
        return sdk_clients[key]

    return make


def _loopback(host: Any) -> bool:
    if host in ("localhost", None, b"localhost"):
        return True
    try:
        return ipaddress.ip_address(host.decode() if isinstance(host, bytes) else str(host)).is_loopback
    except ValueError:
        return False


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything resolves or connects beyond this machine (a framework fetching model data)."""
    resolve, connect = socket.getaddrinfo, socket.socket.connect

    def guarded_resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        assert _loopback(host), f"tried to resolve {host!r}: tests never reach the network"
        return resolve(host, *args, **kwargs)

    def guarded_connect(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            assert _loopback(address[0]), f"tried to connect to {address!r}: tests never reach the network"
        return connect(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", guarded_resolve)
    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
