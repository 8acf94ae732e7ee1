"""create_app(): one mock server: its state (sessions, journal, traces, upstream) and its ASGI app.

Every compat request goes through the one pipeline (`pipeline.Pipeline`):

    begin -> authenticate -> read the body -> parse -> guard the input
          -> decide (the rules, or the upstream) -> guard the output -> record -> respond

`MockApp` owns the state the stages work on and the operations the admin API and the
pytest plugin call (load a scenario, reset, sessions); `routing` builds the route table.
See docs/architecture.md for the request's path and where to add a surface, a match
key, a reply key or a guard.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send

from mockopper import admin
from mockopper.dialects import all_surfaces
from mockopper.engine import Engine
from mockopper.forwarding import Upstream
from mockopper.journal import Journal
from mockopper.loader import load_file
from mockopper.opper.routes import routes as opper_routes
from mockopper.opper.tracing import TraceStore
from mockopper.pipeline import Pipeline
from mockopper.routing import BASE_PATH, build
from mockopper.scenarios import Scenario
from mockopper.sessions import Sessions
from mockopper.settings import Settings

__all__ = ["BASE_PATH", "MockApp", "Settings", "create_app"]


class MockApp:
    """One mock server: its sessions (each a scenario, counters and history), its journal, its ASGI app."""

    def __init__(self, scenario: Scenario | None = None, settings: Settings | None = None) -> None:
        self.settings = settings = settings or Settings()
        self.engine = Engine(seed=settings.seed)
        compiled = self.engine.compile(scenario or load_file("default.yaml"))
        self.sessions = Sessions(compiled, limit=settings.max_sessions, history_size=settings.history_size)
        self.journal = Journal(settings.journal_size, settings.journal_body_limit)
        self.traces = TraceStore(settings.trace_size)  # each call's span is read from its journal record
        self.journal.subscribe(self.traces.on_journal)
        self.upstream = Upstream(
            settings.upstream,
            timeout=settings.upstream_timeout,
            record=settings.record,
            redact=settings.redact,
            base_path=BASE_PATH,
        )
        self.pipeline = Pipeline(settings, self.engine, self.sessions, self.journal, self.traces, self.upstream)
        extra = [
            *admin.routes(self),
            *opper_routes(self.traces, self.sessions, max_body=settings.max_body_bytes, api_key=settings.api_key),
        ]
        table = build(
            self.pipeline, all_surfaces(), extra=extra, cors_origins=settings.cors_origins, lifespan=self._lifespan
        )
        self.asgi: Starlette = table.asgi
        self._static = table.static

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The compat paths without parameters skip the router and its middleware, unless a
        # browser is asking (an `origin` header): then CORS has a say.
        if scope["type"] == "http":
            endpoint = self._static.get((scope["path"], scope["method"]))
            if endpoint is not None and not any(name == b"origin" for name, _ in scope["headers"]):
                await endpoint(scope, receive, send)
                return
        await self.asgi(scope, receive, send)

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        yield
        await self.upstream.aclose()  # the upstream connection pool goes with the server

    # --- state ------------------------------------------------------------------------

    @property
    def scenario(self) -> Scenario:
        """The server's scenario: what the default session, and every session without its own, serves."""
        return self.sessions.default.scenario

    def load(self, scenario: Scenario) -> None:
        """Serve another scenario from now on (atomic), with fresh counters."""
        self.sessions.load(self.engine.compile(scenario))
        self.traces.clear()
        self.pipeline.memo.clear()
        self.journal.notify("scenario")

    def reset(self) -> None:
        """Forget the journal, the traces, every named session and every counter; keep the scenario."""
        self.sessions.reset()
        self.journal.clear()
        self.traces.clear()
        self.pipeline.memo.clear()

    def load_session(self, name: str, scenario: Scenario) -> None:
        """Serve `scenario` in session `name` (created if new), with fresh counters."""
        self.sessions.get(name).serve(self.engine.compile(scenario), own=True)
        self.journal.notify("scenario")

    def reset_session(self, name: str) -> None:
        """Forget session `name`'s counters, history, journal entries and traces; keep its scenario."""
        session = self.sessions.find(name)
        if session is not None:
            session.reset()
        self.journal.clear(session=name)
        self.traces.forget(name)

    def drop_session(self, name: str) -> bool:
        """Forget session `name` altogether (its journal entries and traces too); False if there was none."""
        self.journal.clear(session=name)
        self.traces.forget(name)
        return self.sessions.drop(name)


def create_app(scenario: Scenario | str | None = None, **settings: Any) -> MockApp:
    """A mock server's ASGI app for `scenario` (a model, a file, a bundled name, or the default)."""
    if isinstance(scenario, str):
        scenario = load_file(scenario)
    return MockApp(scenario, Settings(**settings))
