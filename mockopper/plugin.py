"""The pytest plugin (entry point `pytest11`): the `mockopper` fixture and marker, and cassettes.

One server runs per session; each test gets it with fresh state and its own scenario.
A request that no rule matched fails the test with the near-miss report. Everything
heavy (starlette, uvicorn, faker) is imported only when a test asks for the fixture,
so pytest runs that don't use it pay nothing.

Cassettes: `@pytest.mark.mockopper(cassette="name.yaml")` (or `cassette=True` for the
default name, `cassettes/<test module>/<test name>.yaml`) serves a recorded scenario,
relative to a `cassettes/` folder beside the test file, ahead of the test's own rules.
`--mockopper-record-mode` says when the session's server forwards what the cassette lacks
to `--mockopper-upstream` and records it there, as pytest-recording spells it: `none`
(replay only), `once` (record a cassette that does not exist yet), `new_episodes` (record
what the cassette lacks) or `all` (record every request afresh).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from mockopper.journal import RequestRecord
    from mockopper.scenarios import Scenario
    from mockopper.server import MockServer, ScenarioSource, SessionHandle

__all__ = ["Mockopper"]

_MARKER = (
    "mockopper(scenario=None, *, cassette=None, allow_unmatched=False): the scenario the `mockopper` fixture "
    "serves to this test (a path, a bundled name such as 'flaky.yaml', a dict or YAML text); cassette: a "
    "recorded scenario served ahead of it (a file under cassettes/ beside the test file, or True for "
    "cassettes/<module>/<test>.yaml), recorded as --mockopper-record-mode says; allow_unmatched lets requests "
    "that no rule matches pass without failing the test."
)
RECORD_MODES = ("none", "once", "new_episodes", "all")
DEFAULT_UPSTREAM = "https://api.opper.ai/v3/compat"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mockopper")
    group.addoption(
        "--mockopper-record-mode",
        choices=RECORD_MODES,
        default="none",
        help="When cassettes record: none (replay only, the default), once (record missing cassettes), "
        "new_episodes (record what a cassette lacks) or all (record afresh).",
    )
    group.addoption(
        "--mockopper-upstream",
        default=DEFAULT_UPSTREAM,
        metavar="URL",
        help=f"The compat API cassettes record from (default {DEFAULT_UPSTREAM}).",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", _MARKER)


class Mockopper:
    """The `mockopper` fixture: the session's server, reset for this test."""

    def __init__(self, server: MockServer) -> None:
        self.server = server
        self.allow_unmatched = False
        self.cassette: Path | None = None  # the cassette this test replays (and perhaps records into)
        self.record_command: str | None = None  # how to record what the cassette lacks

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
            if self.cassette is not None:
                state = "has no recording for" if self.cassette.exists() else "does not exist yet, so it cannot answer"
                lines += [
                    f"mockopper: the cassette {self.cassette} {state} them; record them with:",
                    f"  {self.record_command}",
                ]
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
def mockopper_server(
    request: pytest.FixtureRequest, mockopper_settings: dict[str, Any]
) -> Generator[MockServer, None, None]:
    """The session's mock server (with the upstream cassettes record from, when a record mode is on)."""
    from mockopper.server import MockServer

    settings = dict(mockopper_settings)
    if request.config.getoption("mockopper_record_mode", "none") != "none":
        settings.setdefault("upstream", request.config.getoption("mockopper_upstream"))
    server = MockServer(**settings).start()
    server.app.upstream.enabled = False  # only a test whose cassette records forwards anything
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mockopper(
    request: pytest.FixtureRequest, mockopper_server: MockServer, mockopper_scenario: ScenarioSource
) -> Generator[Mockopper, None, None]:
    """A running mock server with fresh state: `.base_url`, `.load()`, `.requests`, `.reset()`."""
    marker = request.node.get_closest_marker("mockopper")
    scenario = mockopper_scenario
    handle = Mockopper(mockopper_server)
    cassette: Any = None
    if marker is not None:
        if marker.args:
            scenario = marker.args[0]
        scenario = marker.kwargs.get("scenario", scenario)
        handle.allow_unmatched = bool(marker.kwargs.get("allow_unmatched", False))
        cassette = marker.kwargs.get("cassette")
    app = mockopper_server.app
    if cassette:
        named = scenario is not None or (marker is not None and (bool(marker.args) or "scenario" in marker.kwargs))
        _with_cassette(request, handle, cassette, scenario, explicit=named)
    else:
        app.upstream.enabled, app.upstream.recorder = False, None
        mockopper_server.load(scenario)
    mockopper_server.reset()
    try:
        yield handle
    finally:
        app.upstream.enabled, app.upstream.recorder = False, None


def cassette_path(test_file: Path, test_name: str, cassette: str | Path | bool) -> Path:
    """Where a test's cassette lives: under `cassettes/` beside the test file (`True`: named after the test)."""
    folder = test_file.parent / "cassettes"
    if cassette is True:
        return folder / test_file.stem / (re.sub(r"[^\w.\-\[\]]+", "_", test_name) + ".yaml")
    return folder / Path(str(cassette))


def _with_cassette(
    request: pytest.FixtureRequest, handle: Mockopper, cassette: Any, scenario: ScenarioSource, *, explicit: bool
) -> None:
    """Serve the cassette's rules ahead of the test's own (none, unless it names a scenario), recording as the
    record mode says."""
    from mockopper.loader import load_file
    from mockopper.recorder import Recorder
    from mockopper.scenarios import Scenario
    from mockopper.server import to_scenario

    server = handle.server
    config = request.config
    mode = config.getoption("mockopper_record_mode", "none")
    path = cassette_path(Path(str(request.node.path)), request.node.name, cassette)
    records = mode in ("new_episodes", "all") or (mode == "once" and not path.exists())
    base = to_scenario(scenario, server.files) if explicit else Scenario(name="cassette")
    recorded = load_file(path, server.files).rules if path.exists() and mode != "all" else []
    combined = base.model_copy(update={"rules": [*recorded, *base.rules]})
    server.load(combined)
    app = server.app
    app.upstream.enabled = records and app.upstream.forwarder is not None
    app.upstream.recorder = None
    if app.upstream.enabled and app.upstream.forwarder is not None:
        from mockopper.upstream import display_url

        source = display_url(app.upstream.forwarder.base_url)
        app.upstream.recorder = Recorder(path, redact=app.settings.redact, fresh=mode == "all", source=source)
    handle.cassette = path
    upstream = config.getoption("mockopper_upstream", DEFAULT_UPSTREAM)
    command = f"python -m pytest {shlex.quote(request.node.nodeid)} --mockopper-record-mode=new_episodes"
    if upstream != DEFAULT_UPSTREAM:
        command += f" --mockopper-upstream {shlex.quote(upstream)}"
    handle.record_command = command


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    funcargs = getattr(item, "funcargs", {})
    handle = funcargs.get("mockopper")
    try:
        result = yield
    except Exception:
        # A request the cassette lacks usually fails the test through the SDK's own error:
        # say which cassette and how to record it instead.
        if isinstance(handle, Mockopper) and handle.cassette is not None:
            handle.check_unmatched()
        raise
    if isinstance(handle, Mockopper):
        handle.check_unmatched()
    return result
