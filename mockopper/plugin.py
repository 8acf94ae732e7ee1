"""The pytest plugin (entry point `pytest11`): the `mockopper` fixture and marker.

One server runs per session; each test gets it with fresh state and its own scenario.
A request that no rule matched fails the test with the near-miss report. Everything
heavy (starlette, uvicorn, faker) is imported only when a test asks for the fixture,
so pytest runs that don't use it pay nothing.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from mockopper.journal import RequestRecord
    from mockopper.scenarios import Scenario
    from mockopper.server import MockServer, ScenarioSource, SessionHandle

__all__ = ["Mockopper"]

_MARKER = (
    "mockopper(scenario=None, *, allow_unmatched=False): the scenario the `mockopper` fixture serves to this "
    "test (a path, a bundled name such as 'flaky.yaml', a dict or YAML text); allow_unmatched lets requests "
    "that no rule matches pass without failing the test."
)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", _MARKER)


class Mockopper:
    """The `mockopper` fixture: the session's server, reset for this test."""

    def __init__(self, server: MockServer) -> None:
        self.server = server
        self.allow_unmatched = False

    @property
    def base_url(self) -> str:
        """The compat base URL for an SDK: `http://127.0.0.1:PORT/v3/compat`."""
        return self.server.base_url

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def app(self) -> Any:
        return self.server.app

    def load(self, scenario: ScenarioSource) -> Scenario:
        """Serve another scenario (path, bundled name, dict or YAML text), with fresh counters."""
        return self.server.load(scenario)

    def reset(self) -> None:
        """Forget this test's requests and every counter."""
        self.server.reset()

    @property
    def requests(self) -> list[RequestRecord]:
        """This test's requests, oldest first."""
        return self.server.requests

    def session(self, name: str) -> SessionHandle:
        """Session `name` of the server: give a client its `.headers` (`default_headers=`), `.load()` a
        scenario into it alone, read its `.requests`."""
        return self.server.session(name)

    @property
    def unmatched(self) -> list[RequestRecord]:
        return [r for r in self.server.requests if r.unmatched]

    def __iter__(self) -> Iterator[RequestRecord]:
        return iter(self.requests)

    def check_unmatched(self) -> None:
        if self.allow_unmatched:
            return
        misses = self.unmatched
        if misses:
            lines = [f"mockopper: {len(misses)} request(s) matched no rule:"]
            lines += [f"  #{r.seq} {r.explanation}" for r in misses]
            pytest.fail("\n".join(lines), pytrace=False)


@pytest.fixture(scope="session")
def mockopper_settings() -> dict[str, Any]:
    """Settings for the session's mock server (api_key, admin_token, ...); override to change them."""
    return {}


@pytest.fixture
def mockopper_scenario() -> ScenarioSource:
    """The scenario tests get unless their marker names one; override to change it (default: default.yaml)."""
    return None


@pytest.fixture(scope="session")
def mockopper_server(mockopper_settings: dict[str, Any]) -> Generator[MockServer, None, None]:
    """The session's mock server."""
    from mockopper.server import MockServer

    server = MockServer(**mockopper_settings).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mockopper(
    request: pytest.FixtureRequest, mockopper_server: MockServer, mockopper_scenario: ScenarioSource
) -> Mockopper:
    """A running mock server with fresh state: `.base_url`, `.load()`, `.requests`, `.reset()`."""
    marker = request.node.get_closest_marker("mockopper")
    scenario = mockopper_scenario
    handle = Mockopper(mockopper_server)
    if marker is not None:
        if marker.args:
            scenario = marker.args[0]
        scenario = marker.kwargs.get("scenario", scenario)
        handle.allow_unmatched = bool(marker.kwargs.get("allow_unmatched", False))
    mockopper_server.load(scenario)
    mockopper_server.reset()
    return handle


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    result = yield
    funcargs = getattr(item, "funcargs", {})
    handle = funcargs.get("mockopper")
    if isinstance(handle, Mockopper):
        handle.check_unmatched()
    return result
