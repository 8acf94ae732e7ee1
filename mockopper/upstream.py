"""Forwarding to an upstream compat API (`serve --upstream URL`): requests as sent, answers as they arrive.

A request no rule answers goes to the same path under the upstream's base URL (the part
after `/v3/compat`, query string kept) with the caller's own headers and key, less the
hop-by-hop ones. The answer streams back chunk by chunk as the upstream sends it, and is
captured on the way (with when each piece arrived) for the journal and the recorder. An
upstream that cannot be reached is a 502 in the surface's error shape, one that does not
answer in time a 504; one that drops its connection midway drops the caller's too.

The `Forwarder` owns its server's connections to the upstream (a `transport.Pool`, or an
`httpx.AsyncClient` when the environment names a proxy for the upstream), made on first
use in the server's event loop and closed when the server shuts down.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mockopper.exchange import Exchange
from mockopper.pacing import KEEP_BYTES
from mockopper.sse import ServerEvent, SSEReader
from mockopper.transport import Origin, Pool, Response

__all__ = ["Capture", "Forwarder", "Forwarding", "Unavailable", "display_url"]

# Headers that belong to one connection, not to the request (RFC 9110 7.6.1), and ours.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
_NOT_FORWARDED = _HOP_BY_HOP | {"host", "content-length", "accept-encoding"}
# What this server sets itself on the way back: framing, its own date and name, CORS.
_NOT_RETURNED = _HOP_BY_HOP | {"date", "server"}
# The most of an answer kept for recording; a bigger one is passed on but not recorded.
MAX_RECORDED_BYTES = 64 * 1024 * 1024
_PATH_SAFE = "/:@!$&'()*+,;=%~"  # kept as they are in a path, as httpx keeps them


def display_url(url: str) -> str:
    """A URL without its user info or query, fit to print and to write into a recording."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return f"{parts.scheme}://{host}{parts.path}"


class Unavailable(Exception):
    """The upstream could not be reached (502) or did not answer in time (504)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Forwarder:
    """Sends requests on to one upstream base URL (such as `https://api.opper.ai/v3/compat`).

    Through its own connection pool (`transport.Pool`), or, when the environment names a
    proxy for the upstream (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, less `NO_PROXY`),
    through httpx's client, which goes by those.
    """

    def __init__(self, base_url: str, *, timeout: float = 600, connect_timeout: float = 10) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"The upstream must be an http:// or https:// URL, got {base_url!r}.")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.connect_timeout = min(connect_timeout, timeout)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        self._origin: Origin = (parts.scheme, parts.hostname, port)
        authority = parts.netloc.rpartition("@")[2]
        self._host = authority.encode("ascii") if authority.isascii() else authority.encode("idna")
        self._credentials: bytes | None = None  # from the URL's user info: they stand in for the caller's, as in httpx
        if parts.username is not None or parts.password is not None:
            pair = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}".encode()
            self._credentials = b"Basic " + base64.b64encode(pair)
        self._base_path = parts.path.rstrip("/")
        self._pool = None if _proxied(parts.scheme, parts.hostname) else Pool()
        self._client: httpx.AsyncClient | None = None

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            timeout = httpx.Timeout(self.timeout, connect=self.connect_timeout)
            self._client = httpx.AsyncClient(timeout=timeout, follow_redirects=False)
        return self._client

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
        if self._pool is not None:
            await self._pool.aclose()

    async def open(self, method: str, path: str, query: bytes, headers: list[tuple[str, str]], body: bytes) -> Response:
        """Send a request for `path` (under the compat base) and return the upstream's answer as it starts
        (its body still to read); raises Unavailable."""
        try:
            if self._pool is None:
                client = self.client()
                request = client.build_request(method, self.url(path, query), headers=headers, content=body)
                return Response.of(await client.send(request, stream=True))
            target = (self._base_path + quote(path, safe=_PATH_SAFE)).encode("ascii")
            if query:
                target += b"?" + query
            sent = [(b"host", self._host), *((k.encode("latin-1"), v.encode("latin-1")) for k, v in headers)]
            if self._credentials is not None:
                sent = [pair for pair in sent if pair[0] != b"authorization"]
                sent.append((b"authorization", self._credentials))
            sent.append((b"connection", b"keep-alive"))
            return await self._pool.send(
                method,
                self._origin,
                target,
                sent,
                body,
                connect_timeout=self.connect_timeout,
                read_timeout=self.timeout,
            )
        except httpx.TimeoutException:
            raise Unavailable(504, f"The upstream {display_url(self.base_url)} did not answer in time.") from None
        except (httpx.HTTPError, OSError) as exc:
            reason = str(exc) or type(exc).__name__
            message = f"The upstream {display_url(self.base_url)} could not be reached: {reason}."
            raise Unavailable(502, message) from None

    async def turn(
        self,
        path: str,
        headers: Iterable[tuple[bytes, bytes]],
        body: bytes,
        started: float,
        send: Callable[[str], Awaitable[None]],
    ) -> Capture:
        """A WebSocket turn, forwarded as the streamed HTTP request it stands for: each event's data goes to
        `send` as one text frame (the `[DONE]` sentinel of an SSE stream is not a WebSocket frame).

        Sent whole even when the caller has gone (so a recording keeps it); raises Unavailable.
        """
        sent = [(k, v) for k, v in Forwarder.headers(headers) if not k.startswith("sec-websocket")]
        sent.append(("content-type", "application/json"))
        response = await self.open("POST", path, b"", sent, body)
        capture = Capture(status=response.status_code, headers=_merged(response.headers))
        streamed = capture.headers.get("content-type", "").startswith("text/event-stream")
        reader = SSEReader() if streamed else None
        capture.events = [] if streamed else None
        try:
            async for chunk in response.aiter_raw():
                events = Forwarding.take(capture, reader, chunk, _ms(started))
                for event in events:
                    if event.data.strip() != "[DONE]" and not capture.client_closed:
                        try:
                            await send(event.data)
                        except Exception:  # the caller left: read on, for the recording
                            capture.client_closed = True
            if reader is not None and capture.events is not None:
                capture.events.extend(reader.close(_ms(started)))
        except httpx.HTTPError:
            capture.dropped = True
        finally:
            await response.aclose()
        return capture

    def url(self, path: str, query: bytes) -> str:
        """The upstream URL for `path` (under the compat base) with the request's query string."""
        url = self.base_url + path
        return url + "?" + query.decode("latin-1") if query else url

    @staticmethod
    def headers(raw: Iterable[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
        """The caller's headers as forwarded: without hop-by-hop ones (and those `connection` names), host,
        content-length (recomputed) or mockopper's own; the answer comes back uncompressed."""
        pairs = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in raw]
        named = {n.strip().lower() for k, v in pairs if k == "connection" for n in v.split(",")}
        out = [
            (k, v) for k, v in pairs if k not in _NOT_FORWARDED and k not in named and not k.startswith("x-mockopper")
        ]
        out.append(("accept-encoding", "identity"))
        return out


@dataclass(slots=True)
class Capture:
    """An answer as it passed through: what the journal keeps and what the recorder reads."""

    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytearray = field(default_factory=bytearray)
    events: list[ServerEvent] | None = None
    frames: list[str] = field(default_factory=list)  # the stream's events as text, for the journal (bounded)
    kept: int = 0
    omitted: int = 0
    size: int = 0  # bytes that came back
    dropped: bool = False  # the upstream's connection ended mid-answer
    client_closed: bool = False  # the caller left before the answer ended
    oversized: bool = False  # too big to record
    done: bool = False  # handed to on_done

    @property
    def outcome(self) -> str:
        """How the exchange ended, in the journal's words."""
        return "disconnect" if self.dropped else "client_closed" if self.client_closed else "complete"

    def exchange(self) -> Exchange:
        return Exchange(self.status, self.headers, bytes(self.body), self.events, self.dropped)

    def journal_body(self) -> Any:
        """The body for the journal: JSON when it parses, else text, cut at the journal's bound."""
        raw = bytes(self.body[:KEEP_BYTES])
        try:
            return json.loads(raw) if len(self.body) <= KEEP_BYTES else raw.decode("utf-8", "replace") + " [cut]"
        except ValueError:
            return raw.decode("utf-8", "replace")

    def keep(self, event: ServerEvent) -> None:
        text = (f"event: {event.name}\n" if event.name else "") + f"data: {event.data}\n\n"
        if self.kept < KEEP_BYTES:
            self.frames.append(text)
            self.kept += len(text)
        else:
            self.omitted += 1


class Forwarding:
    """The ASGI response for a forwarded request: the upstream's answer, passed on as it arrives.

    `refuse(status, message)` renders the surface's own error when the upstream cannot be
    reached (502) or does not answer in time (504). `on_done(capture)` runs once the
    exchange is over (capture None: nothing came back). With `finish` the upstream's answer
    is read to its end even after the caller leaves, so a recording keeps it whole.
    """

    def __init__(
        self,
        forwarder: Forwarder,
        method: str,
        path: str,
        query: bytes,
        headers: Sequence[tuple[bytes, bytes]],
        body: bytes,
        *,
        started: float,
        refuse: Callable[[int, str], ASGIApp],
        on_done: Callable[[Capture | None], None],
        finish: bool = False,
    ) -> None:
        self.forwarder = forwarder
        self.method = method
        self.path = path
        self.query = query
        self.headers = Forwarder.headers(headers)
        self.body = body
        self.started = started
        self.refuse = refuse
        self.on_done = on_done
        self.finish = finish

    def _ms(self) -> float:
        return _ms(self.started)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            response = await self.forwarder.open(self.method, self.path, self.query, self.headers, self.body)
        except Unavailable as exc:
            await self.refuse(exc.status, exc.message)(scope, receive, send)
            self.on_done(None)
            return
        capture = Capture(status=response.status_code, headers=_merged(response.headers))
        try:
            await self._relay(response, capture, receive, send)
        finally:
            await response.aclose()
            if not capture.done:
                capture.done = True
                self.on_done(capture)

    async def _relay(self, response: Response, capture: Capture, receive: Receive, send: Send) -> None:
        streamed = capture.headers.get("content-type", "").startswith("text/event-stream")
        reader = SSEReader() if streamed else None
        if streamed:
            capture.events = []
        start: Message = {
            "type": "http.response.start",
            "status": response.status_code,
            "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers if _returned(k)],
        }
        gone = asyncio.Event()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        watcher = asyncio.ensure_future(watch())
        try:
            await send(start)
            async for chunk in response.aiter_raw():
                at = self._ms()
                if not gone.is_set():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                elif not self.finish:
                    capture.client_closed = True
                    return
                self.take(capture, reader, chunk, at)
            if reader is not None and capture.events is not None:
                for event in reader.close(self._ms()):
                    capture.events.append(event)
                    capture.keep(event)
            capture.client_closed = gone.is_set()
            # Journaled and recorded before the answer's end goes out: a client that has the whole
            # answer finds it in the journal and the recording.
            capture.done = True
            self.on_done(capture)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except httpx.HTTPError:
            # The upstream dropped the connection (or stopped sending): so does this server, by
            # returning without finishing the body.
            capture.dropped = True
            if reader is not None and capture.events is not None:
                capture.events.extend(reader.close(self._ms()))
        finally:
            watcher.cancel()

    @staticmethod
    def take(capture: Capture, reader: SSEReader | None, chunk: bytes, at: float) -> list[ServerEvent]:
        """Capture one piece of the answer; returns the stream events it completed."""
        capture.size += len(chunk)
        if reader is None:
            if capture.size <= MAX_RECORDED_BYTES:
                capture.body += chunk
            else:
                capture.oversized = True
            return []
        events = reader.feed(chunk, at)
        if capture.size > MAX_RECORDED_BYTES:
            capture.oversized = True
            return events
        assert capture.events is not None
        for event in events:
            capture.events.append(event)
            capture.keep(event)
        return events


def _proxied(scheme: str, host: str) -> bool:
    """Whether the environment names a proxy for this upstream (as httpx reads it: urllib's way)."""
    proxies = urllib.request.getproxies()
    return bool(proxies.get(scheme) or proxies.get("all")) and not urllib.request.proxy_bypass(host)


def _merged(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Headers as one value each: a repeated header's values joined with commas, as httpx's `items()` does."""
    out: dict[str, str] = {}
    for name, value in headers:
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


def _returned(name: str) -> bool:
    """Whether an upstream's response header goes back to the caller (this server's CORS answers browsers)."""
    return name not in _NOT_RETURNED and not name.startswith("access-control-")


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
