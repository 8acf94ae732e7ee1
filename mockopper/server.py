"""MockServer: a mock server in a background thread, for tests and scripts.

uvicorn serves the app on a socket bound before the thread starts (port 0 picks a
free port), so the base URL is known at once and start-up costs a few milliseconds.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import uvicorn

from mockopper.app import BASE_PATH, MockApp, Settings
from mockopper.journal import RequestRecord
from mockopper.loader import FileCache, ScenarioNotFound, load, load_file, load_text
from mockopper.scenarios import Scenario
from mockopper.sessions import HEADER as SESSION_HEADER
from mockopper.sessions import check_name

__all__ = [
    "MockServer",
    "ScenarioSource",
    "SessionHandle",
    "bind",
    "quiet_dropped_connections",
    "to_scenario",
    "uvicorn_config",
]

ScenarioSource = Scenario | str | Path | dict[str, Any] | None


class _DroppedConnection(logging.Filter):
    """Hide uvicorn's complaint about a response left unfinished: that is how a fault drops a connection."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "returned without completing response" not in record.getMessage()


def quiet_dropped_connections() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DroppedConnection) for f in logger.filters):
        logger.addFilter(_DroppedConnection())


def to_scenario(source: ScenarioSource, cache: FileCache | None = None) -> Scenario:
    """A scenario from a model, a dict, YAML text, a file path or a bundled name (files through `cache`)."""
    if source is None:
        return load_file("default.yaml", cache)
    if isinstance(source, Scenario):
        return source
    if isinstance(source, dict):
        return load(source)
    if isinstance(source, Path):
        return load_file(source, cache)
    if "\n" not in source:
        try:
            return load_file(source, cache)
        except ScenarioNotFound:
            if ":" not in source:
                raise
    return load_text(source, "<text>")


def uvicorn_config(app: Any, **overrides: Any) -> uvicorn.Config:
    """How mockopper runs uvicorn: quiet, no access log, a short graceful shutdown, and no
    proxy-headers middleware (nothing reads the client's address)."""
    settings: dict[str, Any] = {
        "log_level": "warning",
        "access_log": False,
        "lifespan": "on",
        "timeout_graceful_shutdown": 1,
        "proxy_headers": False,
    }
    return uvicorn.Config(app, **{**settings, **overrides})


def bind(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening socket; port 0 picks a free one."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


class MockServer:
    """A running mock server. Use as a context manager, or call start() and stop()."""

    def __init__(
        self, scenario: ScenarioSource = None, *, host: str = "127.0.0.1", port: int = 0, **settings: Any
    ) -> None:
        self.files = FileCache()  # each test loads its scenario: a file is read once per version
        self.app = MockApp(to_scenario(scenario, self.files), Settings(**settings))
        self.host = host
        self._port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    # --- lifecycle --------------------------------------------------------------------

    def start(self) -> MockServer:
        assert self._thread is None, "MockServer.start() was called twice; stop() it first."
        quiet_dropped_connections()
        self._socket = bind(self.host, self._port)
        self._port = self._socket.getsockname()[1]
        self._server = uvicorn.Server(uvicorn_config(self.app, ws_ping_interval=None))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name=f"mockopper:{self._port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"The mock server on port {self._port} failed to start.")
            time.sleep(0.001)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- where it is ------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._port}"

    @property
    def base_url(self) -> str:
        """The compat base URL to give an SDK: `http://127.0.0.1:PORT/v3/compat`."""
        return self.url + BASE_PATH

    # --- state ------------------------------------------------------------------------

    def load(self, scenario: ScenarioSource) -> Scenario:
        """Serve another scenario (a path, a bundled name, a dict or YAML text), with fresh counters."""
        loaded = to_scenario(scenario, self.files)
        self.app.load(loaded)
        return loaded

    def reset(self) -> None:
        """Forget the journal and every counter."""
        self.app.reset()

    @property
    def requests(self) -> list[RequestRecord]:
        """Every request in the journal, oldest first."""
        return self.app.journal.entries()

    def session(self, name: str) -> SessionHandle:
        """Session `name`: its own counters, history, journal and (after `.load()`) scenario.

        Give a client its `.headers`: `OpenAI(base_url=..., default_headers=server.session("a").headers)`.
        """
        return SessionHandle(self.app, name, self.files)


class SessionHandle:
    """One session of a running server, as a test sees it: the header that selects it and its state."""

    def __init__(self, app: MockApp, name: str, files: FileCache | None = None) -> None:
        refused = check_name(name)
        if refused is not None:
            raise ValueError(f"Invalid session name {name!r}: {refused}.")
        self.app = app
        self.name = name
        self._files = files

    @property
    def headers(self) -> dict[str, str]:
        """The header that puts a client's requests in this session (for `default_headers=`)."""
        return {SESSION_HEADER: self.name}

    def load(self, scenario: ScenarioSource) -> Scenario:
        """Serve another scenario in this session only, with fresh counters."""
        loaded = to_scenario(scenario, self._files)
        self.app.load_session(self.name, loaded)
        return loaded

    def reset(self) -> None:
        """Forget this session's requests, counters and history; keep its scenario."""
        self.app.reset_session(self.name)

    @property
    def requests(self) -> list[RequestRecord]:
        """This session's requests, oldest first."""
        return self.app.journal.filter(session=self.name)

    def __repr__(self) -> str:
        return f"<SessionHandle {self.name!r}>"
