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
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from mockopper.journal import RequestRecord
from mockopper.loader import ScenarioError, load_text

if TYPE_CHECKING:
    from mockopper.app import MockApp

__all__ = ["PREFIX", "routes"]

PREFIX = "/__mockopper"


def _json(value: Any, status: int = 200) -> Response:
    return Response(
        json.dumps(value, ensure_ascii=False, default=str), status_code=status, media_type="application/json"
    )


def _dump(record: RequestRecord) -> str:
    return json.dumps(record.to_dict(), ensure_ascii=False, default=str)


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


def _allowed(mock: MockApp, request: Request) -> Response | None:
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


def routes(mock: MockApp) -> list[Route]:
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
                "history": len(mock.history),
                # Tasks on the server's event loop: what an abandoned stream would leave behind.
                "tasks": len(asyncio.all_tasks()),
            }
        )

    async def requests(request: Request) -> Response:
        q = request.query_params
        unmatched = q.get("unmatched")
        since = q.get("since", "0")
        entries = mock.journal.filter(
            rule=q.get("rule"),
            api=q.get("surface") or q.get("api"),
            model=q.get("model"),
            unmatched=None if unmatched is None else unmatched.lower() in ("1", "true", "yes"),
            since=int(since) if since.isdigit() else 0,
        )
        return _json({"requests": [e.to_dict() for e in entries]})

    async def clear_requests(request: Request) -> Response:
        mock.journal.clear()
        return _json({"status": "cleared"})

    async def reset(request: Request) -> Response:
        mock.reset()
        return _json({"status": "reset"})

    async def get_scenario(request: Request) -> Response:
        return _json(mock.scenario.model_dump(mode="json", by_alias=True, exclude_none=True))

    async def put_scenario(request: Request) -> Response:
        limit = mock.settings.max_body_bytes
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                message = f"The scenario is too large: over {limit} bytes (serve --max-body)."
                return _json({"error": {"type": "request_too_large", "message": message, "problems": []}}, 413)
            chunks.append(chunk)
        raw = b"".join(chunks)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return _json(
                {
                    "error": {
                        "type": "invalid_request_error",
                        "message": "The scenario is not UTF-8 text.",
                        "problems": [],
                    }
                },
                400,
            )
        try:
            scenario = load_text(text, request.query_params.get("name", "<scenario>"))
        except ScenarioError as exc:
            problems = [str(p) for p in exc.problems]
            return _json(
                {"error": {"type": "invalid_request_error", "message": "\n".join(problems), "problems": problems}}, 400
            )
        mock.load(scenario)
        return _json({"status": "loaded", "scenario": scenario.name, "rules": len(scenario.rules)})

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
    ]
