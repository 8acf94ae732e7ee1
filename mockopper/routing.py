"""The route table: every surface's paths into the pipeline, the admin and /v3 routes, CORS, and what no route takes.

Routes are declared from the dialect registry (`Surface.routes`, `Surface.websocket_routes`);
where several surfaces share a path, one endpoint serves them and the pipeline picks the
surface by the request's headers. A path no route takes gets a 404 (or a 405 in the error
shape of the surface that owns the path).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.routing import BaseRoute, Match, WebSocketRoute
from starlette.routing import Route as StarletteRoute
from starlette.types import ASGIApp, Lifespan, Receive, Scope, Send

from mockopper import admin
from mockopper.answers import Failure
from mockopper.dialects.base import Call, Route, Surface, not_found_body
from mockopper.opper import layer
from mockopper.pipeline import Pipeline, pick
from mockopper.respond import json_bytes
from mockopper.streaming import BodyResponse
from mockopper.websocket import Conversations

__all__ = ["BASE_PATH", "Endpoint", "Table", "build"]

BASE_PATH = "/v3/compat"

# Response headers a page on another origin may read (CORS).
EXPOSED = [
    "x-mockopper-model",
    "x-mockopper-attempts",
    "x-mockopper-rule",
    "x-request-id",
    "request-id",
    "retry-after",
    "retry-after-ms",
    "x-should-retry",
    layer.COST_HEADER,
    layer.TRACE_HEADER,
]


class Endpoint:
    """The ASGI endpoint for one compat path: the pipeline, for the surfaces that share the path."""

    def __init__(self, pipeline: Pipeline, route: Route, surfaces: Sequence[Surface]) -> None:
        self.pipeline = pipeline
        self.route = route
        self.surfaces = list(surfaces)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.pipeline.handle(scope, receive, self.route, self.surfaces)
        await response(scope, receive, send)


class Table:
    """A server's routes: the Starlette app with all of them, and the static compat paths on their own.

    The static paths (no parameters) are what most requests take; the app serves them
    without the router and its middleware unless a browser asks (an `origin` header).
    """

    def __init__(self, asgi: Starlette, static: dict[tuple[str, str], Endpoint]) -> None:
        self.asgi = asgi
        self.static = static


def build(
    pipeline: Pipeline,
    surfaces: Sequence[Surface],
    *,
    extra: Sequence[BaseRoute],
    cors_origins: Sequence[str],
    lifespan: Lifespan[Any] | None = None,
) -> Table:
    """The route table of a server: the compat surfaces, then `extra` (admin, /v3), then what no route takes."""
    by_path: dict[tuple[str, tuple[str, ...]], list[Surface]] = {}
    first: dict[tuple[str, tuple[str, ...]], Route] = {}
    for surface in surfaces:
        for route in surface.routes:
            key = (route.path, route.methods)
            by_path.setdefault(key, []).append(surface)
            first.setdefault(key, route)
    endpoints = {key: Endpoint(pipeline, first[key], shared) for key, shared in by_path.items()}
    static = {
        (BASE_PATH + path, method): endpoint
        for (path, methods), endpoint in endpoints.items()
        if "{" not in path
        for method in methods
    }
    routes: list[BaseRoute] = [
        StarletteRoute(BASE_PATH + path, endpoint, methods=list(methods))
        for (path, methods), endpoint in endpoints.items()
    ]
    routes += [
        WebSocketRoute(BASE_PATH + route.path, Conversations(pipeline, route, surface))
        for surface in surfaces
        for route in surface.websocket_routes
    ]
    compat = list(routes)
    routes += extra
    unrouted = _Unrouted(compat, lambda: pipeline.sessions.default)
    routes.append(StarletteRoute("/{path:path}", unrouted))
    app = Starlette(routes=routes, middleware=middleware(cors_origins), lifespan=lifespan)
    app.router.default = unrouted  # a path the catch-all cannot take either (a line break in it)
    return Table(app, static)


def middleware(cors_origins: Sequence[str]) -> list[Middleware]:
    return [Middleware(_CORS, origins=cors_origins)]


class _CORS:
    """CORS: the compat API answers the configured origins (any by default); the admin API only
    pages served from this machine (localhost) and origins configured by name, so a page on
    the open web cannot read the journal or swap the scenario through the user's browser."""

    def __init__(self, app: ASGIApp, origins: Sequence[str]) -> None:
        common: dict[str, Any] = {"allow_methods": ["*"], "allow_headers": ["*"], "max_age": 600}
        self.compat = CORSMiddleware(app, allow_origins=list(origins), expose_headers=EXPOSED, **common)
        self.admin = CORSMiddleware(
            app, allow_origins=[o for o in origins if o != "*"], allow_origin_regex=admin.LOCAL_ORIGIN, **common
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(admin.PREFIX):
            await self.admin(scope, receive, send)
        else:
            await self.compat(scope, receive, send)


class _Unrouted:
    """Every request no route took: a 405 in the error shape of the surface that owns the path, else a 404.

    An ASGI class rather than a function so that its route takes every method: a POST to an
    unknown path is a 404, not Starlette's plain-text 405.
    """

    def __init__(self, compat: Sequence[BaseRoute], session: Callable[[], Any]) -> None:
        self.compat = compat
        self.session = session

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        method, path = scope["method"], scope["path"]
        owners = [r for r in self.compat if isinstance(r, StarletteRoute) and r.matches(scope)[0] is Match.PARTIAL]
        response: ASGIApp
        if owners:
            # The most specific template owns the path: `/v1/models/{model}:countTokens` over `/v1/models/{model}`.
            route = max(owners, key=lambda r: len(re.sub(r"{[^}]*}", "", r.path)))
            allowed = ", ".join(sorted(route.methods or ()))
            endpoint = route.endpoint
            assert isinstance(endpoint, Endpoint)
            request = Request(scope)
            headers_in = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
            call = Call(method, path, {}, dict(request.query_params), headers_in, self.session())
            surface = pick(endpoint.surfaces, call)
            failure = Failure(
                405,
                f"Method {method} is not allowed on {path}; it takes {allowed}.",
                code="method_not_allowed",
                should_retry=False,
                source="request",
            )
            headers = [("allow", allowed), *surface.error_headers(failure)]
            response = BodyResponse(405, json_bytes(surface.error_body(failure)), headers)
        else:
            message = f"Unknown path {method} {path}. mockopper serves the compat API under {BASE_PATH}."
            response = BodyResponse(404, json_bytes(not_found_body(message)))
        await response(scope, receive, send)
