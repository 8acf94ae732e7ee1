"""The admin API under /__mockopper/: health, the journal, reset, and the scenario.

Only loopback clients may use it, unless the server was given an admin token; then
every client must present it (`x-mockopper-token` header, `Authorization: Bearer`, or
`?token=`). Browsers may call it only from pages served on this machine (localhost, any
port) or from origins given by name with `--cors-origin`: a page on the open web cannot
read the journal or swap the scenario through the user's browser. Requests addressed to
a name other than localhost (as after DNS rebinding) are refused.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import re
from collections.abc import AsyncIterator
from importlib import resources
from typing import Any, Protocol
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from mockopper.journal import EVERY, Every, Journal, RequestRecord
from mockopper.loader import ScenarioError, load_text
from mockopper.scenarios import Scenario
from mockopper.sessions import Session, Sessions, check_name

__all__ = ["PREFIX", "Server", "Settings", "routes"]

PREFIX = "/__mockopper"


class Settings(Protocol):
    """The server settings the admin API reads."""

    @property
    def admin_token(self) -> str | None: ...
    @property
    def cors_origins(self) -> tuple[str, ...]: ...
    @property
    def max_body_bytes(self) -> int: ...


class Server(Protocol):
    """What the admin API needs of a server: its state, and the operations that change it."""

    @property
    def settings(self) -> Settings: ...
    @property
    def scenario(self) -> Scenario: ...
    @property
    def journal(self) -> Journal: ...
    @property
    def sessions(self) -> Sessions: ...
    def load(self, scenario: Scenario) -> None: ...
    def reset(self) -> None: ...
    def load_session(self, name: str, scenario: Scenario) -> None: ...
    def reset_session(self, name: str) -> None: ...
    def drop_session(self, name: str) -> bool: ...


def _json(value: Any, status: int = 200) -> Response:
    return Response(
        json.dumps(value, ensure_ascii=False, default=str), status_code=status, media_type="application/json"
    )


def _dump(record: RequestRecord) -> str:
    return json.dumps(record.to_dict(), ensure_ascii=False, default=str)


def _error(status: int, kind: str, message: str, problems: list[str] | None = None) -> Response:
    body: dict[str, Any] = {"type": kind, "message": message}
    if problems is not None:
        body["problems"] = problems
    return _json({"error": body}, status)


def _dump_scenario(scenario: Scenario) -> Any:
    return scenario.model_dump(mode="json", by_alias=True, exclude_none=True)


async def _read_scenario(request: Request, limit: int) -> Scenario | Response:
    """A scenario from a PUT body (YAML or JSON), or the 4xx that lists every problem with it."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            message = f"The scenario is too large: over {limit} bytes (serve --max-body)."
            return _error(413, "request_too_large", message, [])
        chunks.append(chunk)
    try:
        text = b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError:
        return _error(400, "invalid_request_error", "The scenario is not UTF-8 text.", [])
    try:
        return load_text(text, request.query_params.get("name", "<scenario>"))
    except ScenarioError as exc:
        problems = [str(p) for p in exc.problems]
        return _error(400, "invalid_request_error", "\n".join(problems), problems)


def _session_name(request: Request) -> tuple[str, Response | None]:
    name: str = request.path_params["name"]
    refused = check_name(name)
    if refused is not None:
        return name, _error(400, "invalid_request_error", f"Invalid session name: {refused}.")
    return name, None


def _unknown_session(name: str) -> Response:
    return _error(404, "not_found_error", f"There is no session {name!r} (sessions start with their first request).")


def _session_summary(session: Session, requests: int) -> dict[str, Any]:
    return {"name": session.name, "scenario": session.scenario.name, "own_scenario": session.own, "requests": requests}


def _refusal(status: int, message: str) -> Response:
    return _json(
        {"error": {"type": "permission_error" if status == 403 else "authentication_error", "message": message}}, status
    )


# Pages served from this machine: http(s)://localhost, 127.x.x.x or [::1], any port.
LOCAL_ORIGIN = r"https?://(localhost|127(\.\d{1,3}){3}|\[::1\])(:\d+)?"


def _is_loopback(host: str | None) -> bool:
    if host is None:
        return False
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return host in ("localhost", "testclient")


def _local_name(host: str) -> bool:
    """Whether a Host header names this machine's loopback (`localhost:8787`, `127.0.0.1`, `[::1]:8787`)."""
    if host.startswith("["):
        name = host[1:].partition("]")[0]
    else:
        name = host.rpartition(":")[0] if host.count(":") == 1 else host
    name = name.lower()
    if name in ("localhost", "testserver") or name.endswith(".localhost"):
        return True  # testserver: Starlette's TestClient, in-process
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _allowed(mock: Server, request: Request) -> Response | None:
    # A web page on the open web must not read the journal or swap the scenario through the
    # user's browser (which is a loopback client): only pages from this machine, or from
    # origins the server was told about by name, may call the admin API.
    origin = request.headers.get("origin")
    if (
        origin is not None
        and urlsplit(origin).netloc != request.headers.get("host")
        and not re.fullmatch(LOCAL_ORIGIN, origin)
        and origin not in mock.settings.cors_origins
    ):
        return _refusal(
            403, f"The admin API does not answer pages from {origin} (start the server with --cors-origin to allow it)."
        )
    token = mock.settings.admin_token
    if token:
        given = request.headers.get("x-mockopper-token") or request.query_params.get("token") or ""
        auth = request.headers.get("authorization", "")
        if not given and auth[:7].lower() == "bearer ":
            given = auth[7:]
        if not hmac.compare_digest(given.encode(), token.encode()):
            return _refusal(401, "The admin API needs the admin token (x-mockopper-token header or ?token=).")
        return None
    client = request.client.host if request.client else None
    if not _is_loopback(client):
        return _refusal(
            403,
            f"The admin API only answers loopback clients (this one is {client}); "
            "start the server with --admin-token to allow others.",
        )
    host = request.headers.get("host", "")
    if not _local_name(host):  # a DNS name rebound to 127.0.0.1 by a web page
        return _refusal(403, f"The admin API only answers requests addressed to localhost, not {host!r}.")
    return None


def routes(mock: Server) -> list[Route]:
    """The admin routes of one mock server."""

    def guarded(handler: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            refused = _allowed(mock, request)
            if refused is not None:
                return refused
            result: Response = await handler(request)
            return result

        return endpoint

    async def health(request: Request) -> Response:
        scenario = mock.scenario
        return _json(
            {
                "status": "ok",
                "scenario": scenario.name,
                "rules": len(scenario.rules),
                "requests": len(mock.journal),
                "history": len(mock.sessions.default.history),
                "sessions": len(mock.sessions),
                # Tasks on the server's event loop: what an abandoned stream would leave behind.
                "tasks": len(asyncio.all_tasks()),
            }
        )

    def _filtered(request: Request, session: str | Every | None = EVERY) -> list[RequestRecord]:
        q = request.query_params
        unmatched = q.get("unmatched")
        since = q.get("since", "0")
        if session is EVERY and "session" in q:
            session = q["session"] or None  # `?session=` (empty): the default session
        return mock.journal.filter(
            rule=q.get("rule"),
            api=q.get("surface") or q.get("api"),
            model=q.get("model"),
            unmatched=None if unmatched is None else unmatched.lower() in ("1", "true", "yes"),
            session=session,
            since=int(since) if since.isdigit() else 0,
        )

    async def requests(request: Request) -> Response:
        return _json({"requests": [e.to_dict() for e in _filtered(request)]})

    async def clear_requests(request: Request) -> Response:
        mock.journal.clear()
        return _json({"status": "cleared"})

    async def reset(request: Request) -> Response:
        mock.reset()
        return _json({"status": "reset"})

    async def get_scenario(request: Request) -> Response:
        return _json(_dump_scenario(mock.scenario))

    async def put_scenario(request: Request) -> Response:
        scenario = await _read_scenario(request, mock.settings.max_body_bytes)
        if isinstance(scenario, Response):
            return scenario
        mock.load(scenario)
        return _json({"status": "loaded", "scenario": scenario.name, "rules": len(scenario.rules)})

    # --- sessions -------------------------------------------------------------------

    async def list_sessions(request: Request) -> Response:
        out = []
        for name in mock.sessions.names():
            session = mock.sessions.find(name)
            if session is not None:
                out.append(_session_summary(session, len(mock.journal.filter(session=name))))
        return _json({"sessions": out})

    async def get_session_scenario(request: Request) -> Response:
        name, refused = _session_name(request)
        if refused is not None:
            return refused
        session = mock.sessions.find(name)
        if session is None:
            return _unknown_session(name)
        return _json(_dump_scenario(session.scenario))

    async def put_session_scenario(request: Request) -> Response:
        name, refused = _session_name(request)
        if refused is not None:
            return refused
        scenario = await _read_scenario(request, mock.settings.max_body_bytes)
        if isinstance(scenario, Response):
            return scenario
        mock.load_session(name, scenario)
        return _json({"status": "loaded", "session": name, "scenario": scenario.name, "rules": len(scenario.rules)})

    async def session_requests(request: Request) -> Response:
        name, refused = _session_name(request)
        if refused is not None:
            return refused
        return _json({"requests": [e.to_dict() for e in _filtered(request, session=name)]})

    async def reset_session(request: Request) -> Response:
        name, refused = _session_name(request)
        if refused is not None:
            return refused
        mock.reset_session(name)
        return _json({"status": "reset", "session": name})

    async def delete_session(request: Request) -> Response:
        name, refused = _session_name(request)
        if refused is not None:
            return refused
        if not mock.drop_session(name):
            return _unknown_session(name)
        return _json({"status": "deleted", "session": name})

    async def page(request: Request) -> Response:
        html = (resources.files("mockopper") / "static" / "inspector.html").read_text(encoding="utf-8")
        return HTMLResponse(html, headers={"cache-control": "no-store"})

    async def events(request: Request) -> Response:
        """The live feed the inspector reads: every entry, then each one as it is decided and completed."""
        loop = asyncio.get_running_loop()
        # Bounded: a reader that stops reading (a suspended tab) must not hold every record since.
        # When it falls this far behind, it gets the journal afresh instead of what it missed.
        queue: asyncio.Queue[tuple[str, RequestRecord | None]] = asyncio.Queue(maxsize=max(mock.journal.maxlen, 100))

        def offer(item: tuple[str, RequestRecord | None]) -> None:
            try:
                queue.put_nowait(item)
            except asyncio.QueueFull:
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(("resync", None))

        def listener(event: str, record: RequestRecord | None) -> None:
            loop.call_soon_threadsafe(offer, (event, record))

        unsubscribe = mock.journal.subscribe(listener)

        async def feed() -> AsyncIterator[dict[str, str]]:
            try:
                yield {"event": "scenario", "data": mock.scenario.name or ""}
                for entry in mock.journal.entries():
                    yield {"event": "record", "data": _dump(entry)}
                while True:
                    event, record = await queue.get()
                    if event == "resync":
                        yield {"event": "cleared", "data": ""}
                        for entry in mock.journal.entries():
                            yield {"event": "record", "data": _dump(entry)}
                    elif event == "scenario":
                        yield {"event": "scenario", "data": mock.scenario.name or ""}
                    elif event == "cleared":
                        yield {"event": "cleared", "data": ""}
                    elif record is not None:
                        yield {"event": "record", "data": _dump(record)}
            finally:
                unsubscribe()

        from sse_starlette.sse import EventSourceResponse  # only the inspector needs it

        return EventSourceResponse(feed(), ping=15, sep="\n")

    return [
        Route(f"{PREFIX}/", guarded(page), methods=["GET"]),
        Route(f"{PREFIX}", guarded(page), methods=["GET"]),
        Route(f"{PREFIX}/events", guarded(events), methods=["GET"]),
        Route(f"{PREFIX}/health", guarded(health), methods=["GET"]),
        Route(f"{PREFIX}/requests", guarded(requests), methods=["GET"]),
        Route(f"{PREFIX}/requests", guarded(clear_requests), methods=["DELETE"]),
        Route(f"{PREFIX}/reset", guarded(reset), methods=["POST"]),
        Route(f"{PREFIX}/scenario", guarded(get_scenario), methods=["GET"]),
        Route(f"{PREFIX}/scenario", guarded(put_scenario), methods=["PUT"]),
        Route(f"{PREFIX}/sessions", guarded(list_sessions), methods=["GET"]),
        Route(f"{PREFIX}/sessions/{{name:path}}/scenario", guarded(get_session_scenario), methods=["GET"]),
        Route(f"{PREFIX}/sessions/{{name:path}}/scenario", guarded(put_session_scenario), methods=["PUT"]),
        Route(f"{PREFIX}/sessions/{{name:path}}/requests", guarded(session_requests), methods=["GET"]),
        Route(f"{PREFIX}/sessions/{{name:path}}/reset", guarded(reset_session), methods=["POST"]),
        Route(f"{PREFIX}/sessions/{{name:path}}", guarded(delete_session), methods=["DELETE"]),
    ]
