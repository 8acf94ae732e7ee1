"""Opper's own endpoints under the server root: `/v3/models`, `/v3/spans`, `/v3/traces`.

Bodies are in the shapes of Opper's OpenAPI description: `{"data": ...}` for spans and
traces, `ModelsResponse` for models, and `ErrorResponse` (`{"error": {"code", "message",
"details"}}`) for every error: a malformed body is a 400 naming the field, an unknown id a
404, a missing key a 401 (the models list needs none). `GET /v3/traces/{id}` also repeats
the trace's fields beside `data`, because the `opperai` SDK reads them from the top level.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mockopper.auth import authenticate
from mockopper.engine import Compiled
from mockopper.fleet import fleet
from mockopper.opper.models import QueryError, models_body, query_integer
from mockopper.opper.spans import Span, parse_time
from mockopper.opper.tracing import TraceStore
from mockopper.sessions import HEADER as SESSION_HEADER
from mockopper.sessions import Sessions, check_name
from mockopper.sse import compact_json

__all__ = ["routes"]

_MAX_TRACES_PAGE = 100
_CREATE_STRINGS = ("name", "trace_id", "parent_id", "type", "input", "output", "error")
_UPDATE_STRINGS = ("output", "error")
_TIMES = ("start_time", "end_time")
_OBJECTS = ("meta", "metadata", "tags")


class _Refused(Exception):
    def __init__(self, status: int, code: str, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


def _json(value: Any, status: int = 200) -> Response:
    return Response(compact_json(value), status_code=status, media_type="application/json")


def _error(exc: _Refused) -> Response:
    return _json({"error": {"code": exc.code, "message": exc.message, "details": exc.details}}, exc.status)


def _bad_field(name: str, message: str) -> _Refused:
    return _Refused(400, "invalid_request", message, {"field": name})


async def _body(request: Request, limit: int) -> Mapping[str, Any]:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _Refused(413, "request_too_large", f"The request body is larger than {limit} bytes.")
    raw = await request.body()
    if len(raw) > limit:
        raise _Refused(413, "request_too_large", f"The request body is larger than {limit} bytes.")
    try:
        # Strict JSON: UTF-8, no NaN or Infinity, no lone surrogate escapes (which could not be answered back).
        body = json.loads(raw.decode("utf-8"), parse_constant=_no_constant) if raw.strip() else None
        compact_json(body).encode("utf-8")
    except (ValueError, RecursionError) as exc:
        detail = "it is nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise _Refused(400, "invalid_json", f"The request body is not valid JSON: {detail}.") from None
    if not isinstance(body, dict):
        raise _Refused(400, "invalid_request", "The request body must be a JSON object.")
    return body


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _fields(body: Mapping[str, Any], strings: tuple[str, ...]) -> dict[str, Any]:
    """The span fields of a body, type-checked as Opper's schema types them (null counts as absent)."""
    out: dict[str, Any] = {}
    for name in strings:
        value = body.get(name)
        if value is not None and not isinstance(value, str):
            raise _bad_field(name, f"Invalid field '{name}': expected a string, got {type(value).__name__}.")
        if value is not None:
            out[name] = value
    for name in _TIMES:
        value = body.get(name)
        if value is None:
            continue
        if not isinstance(value, str) or parse_time(value) is None:
            raise _bad_field(
                name, f"Invalid field '{name}': expected an RFC 3339 date-time such as '2026-01-01T00:00:00Z'."
            )
        out[name] = value
    for name in _OBJECTS:
        value = body.get(name)
        if value is not None and not isinstance(value, dict):
            raise _bad_field(name, f"Invalid field '{name}': expected an object, got {type(value).__name__}.")
        if value is not None:
            out[name] = value
    return out


def _missing(kind: str, ident: str) -> _Refused:
    return _Refused(404, "not_found", f"No {kind} with id {ident!r}.", {"id": ident})


def routes(store: TraceStore, sessions: Sessions, *, max_body: int, api_key: str | None) -> list[Route]:
    """The /v3 routes of one mock server: its trace store, and its sessions' scenarios (for the models list).

    A request's key is checked as the compat API checks it (`api_key`: the one key accepted).
    """

    def session_of(request: Request) -> str | None:
        """The session the request names (`x-mockopper-session`), None for the default; a 400 for a bad name."""
        name = request.headers.get(SESSION_HEADER)
        problem = check_name(name) if name is not None else None
        if problem is not None:
            raise _Refused(
                400, "invalid_session", f"Invalid {SESSION_HEADER} header: {problem}.", {"field": SESSION_HEADER}
            )
        return name

    def compiled(request: Request) -> Compiled:
        """The scenario of the request's session, else the server's."""
        name = session_of(request)
        return (sessions.get(name) if name is not None else sessions.default).state.compiled

    def endpoint(
        methods: dict[str, Callable[[Request], Awaitable[Response]]], *, key: bool = True
    ) -> Callable[[Request], Awaitable[Response]]:
        async def handle(request: Request) -> Response:
            handler = methods.get(request.method)
            try:
                if handler is None:
                    allowed = ", ".join(methods)
                    raise _Refused(405, "method_not_allowed", f"{request.method} is not allowed here; use {allowed}.")
                if key:
                    headers = {k.lower(): v for k, v in request.headers.items()}
                    failure = authenticate(headers, dict(request.query_params), api_key)
                    if failure is not None:
                        raise _Refused(401, "unauthorized", failure.message)
                return await handler(request)
            except _Refused as exc:
                return _error(exc)

        return handle

    async def list_models(request: Request) -> Response:
        serving = compiled(request)
        scenario = serving.scenario
        try:
            body = models_body(fleet(scenario, serving.now()), scenario, request.query_params)
        except QueryError as exc:
            raise _bad_field(exc.param, str(exc)) from None
        return _json(body)

    def span_data(span: Span) -> dict[str, Any]:
        return {"data": span.to_dict()}

    async def create_span(request: Request) -> Response:
        body = await _body(request, max_body)
        if not isinstance(body.get("name"), str) or not body["name"]:
            raise _bad_field("name", "Missing required field 'name': a span needs a name (a non-empty string).")
        fields = _fields(body, _CREATE_STRINGS)
        span = store.create(fields, compiled(request).seed, compact_json(body), session_of(request))
        created = {"id": span.id, "trace_id": span.trace_id, "name": span.name}
        if span.parent_id is not None:
            created["parent_id"] = span.parent_id
        if span.type is not None:
            created["type"] = span.type
        return _json({"data": created})

    async def get_span(request: Request) -> Response:
        span_id = request.path_params["id"]
        span = store.span(span_id)
        if span is None:
            raise _missing("span", span_id)
        return _json(span_data(span))

    async def update_span(request: Request) -> Response:
        span_id = request.path_params["id"]
        body = await _body(request, max_body)
        span = store.update(span_id, _fields(body, _UPDATE_STRINGS))
        if span is None:
            raise _missing("span", span_id)
        return _json(span_data(span))

    async def delete_span(request: Request) -> Response:
        span_id = request.path_params["id"]
        if not store.delete_span(span_id):
            raise _missing("span", span_id)
        return Response(status_code=204)

    async def list_traces(request: Request) -> Response:
        query = request.query_params
        try:
            limit = min(query_integer(query, "limit", _MAX_TRACES_PAGE, 1), _MAX_TRACES_PAGE)
            offset = query_integer(query, "offset", 0, 0)
        except QueryError as exc:
            raise _bad_field(exc.param, str(exc)) from None
        items, total = store.traces(name=query.get("name"), limit=limit, offset=offset, session=session_of(request))
        return _json({"data": items, "meta": {"total": total, "limit": limit, "offset": offset}})

    async def get_trace(request: Request) -> Response:
        trace_id = request.path_params["id"]
        trace = store.trace(trace_id)
        if trace is None:
            raise _missing("trace", trace_id)
        return _json({"data": trace, **trace})

    async def delete_trace(request: Request) -> Response:
        trace_id = request.path_params["id"]
        if not store.delete_trace(trace_id):
            raise _missing("trace", trace_id)
        return Response(status_code=204)

    # Every method reaches the endpoint, which answers those a path does not take with a 405.
    every = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    return [
        Route("/v3/models", endpoint({"GET": list_models}, key=False), methods=every),
        Route("/v3/spans", endpoint({"POST": create_span}), methods=every),
        Route(
            "/v3/spans/{id:path}",
            endpoint({"GET": get_span, "PATCH": update_span, "DELETE": delete_span}),
            methods=every,
        ),
        Route("/v3/traces", endpoint({"GET": list_traces}), methods=every),
        Route("/v3/traces/{id:path}", endpoint({"GET": get_trace, "DELETE": delete_trace}), methods=every),
    ]
