"""The upstream's connections: lean HTTP/1.1 over asyncio, parsed by httptools.

httpx's client and transport (httpcore and h11, over anyio) spend about a millisecond of
CPU on each request, and forwarding spends it on every request no rule answers. `Pool`
writes a request in one piece, reads its answer with httptools (uvicorn's parser), and
keeps each connection alive for the next request to the same origin. `Forwarder` sends
through it unless the environment names a proxy for the upstream: then httpx's own client
goes, as it always did, and its answer is wrapped in the same `Response`.

The errors are httpx's (`ConnectError`, `ConnectTimeout`, `ReadTimeout`, `ReadError`,
`RemoteProtocolError`), so both ways are handled alike.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import cast

import httptools
import httpx

__all__ = ["Origin", "Pool", "Response"]

_READ_AHEAD = 1 << 20  # bytes of body taken ahead of the reader before the connection stops reading


class _Connection(asyncio.Protocol):
    """One connection to an upstream host, carrying one exchange at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.lost: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self.reset()

    def reset(self) -> None:
        """Ready for the next exchange."""
        self.parser = httptools.HttpResponseParser(self)
        self.status = 0
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: deque[bytes] = deque()
        self.buffered = 0
        self.received = False  # a byte of the answer came
        self.headed = False  # its status line and headers are in
        self.complete = False  # and its body, to the end
        self.error: Exception | None = None
        self.paused = False
        self.keep_alive = False
        self._interim = False  # a 1xx answer is passing: the answer proper follows it
        self._extra = False  # bytes after the answer (a 408 before closing): no request's, and not kept

    # --- asyncio --------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not asyncio.Transport subclasses

    def data_received(self, data: bytes) -> None:
        self.received = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self.error = exc
            self.close()
        self._wake()

    def connection_lost(self, exc: BaseException | None) -> None:
        self.closed, self.lost = True, exc
        if self.headed and not self.complete and self._until_close():
            self.complete = True  # a body without a length ends where the connection does
        self._wake()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    # --- httptools ------------------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self.complete:
            self._extra = True

    def on_status(self, status: bytes) -> None:
        if not self._extra:
            self.reason += status

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self._extra:
            self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        if self._extra:
            return
        status = self.parser.get_status_code()
        if 100 <= status < 200:
            self.headers, self.reason, self._interim = [], b"", True
            return
        self.status, self.headed = status, True

    def on_body(self, body: bytes) -> None:
        if self._extra:
            return
        self.chunks.append(body)
        self.buffered += len(body)
        if self.buffered > _READ_AHEAD and self.transport is not None and not self.paused:
            self.paused = True
            self.transport.pause_reading()

    def on_message_complete(self) -> None:
        if self._extra:
            return
        if self._interim:
            self._interim = False
            return
        self.complete = True
        self.keep_alive = self.parser.should_keep_alive()  # read now: the parser forgets it for the next message

    # --- one exchange ---------------------------------------------------------------------

    def _until_close(self) -> bool:
        names = {name.lower() for name, _ in self.headers}
        return b"content-length" not in names and b"transfer-encoding" not in names

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self, timeout: float | None) -> None:
        """Until something arrives (or the connection goes); TimeoutError past `timeout` seconds."""
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(self._waiter, timeout)
        finally:
            self._waiter = None

    async def head(self, message: bytes, timeout: float | None) -> None:
        """Send a request and wait for its answer's status line and headers."""
        assert self.transport is not None
        self.transport.write(message)
        while not self.headed:
            if self.error is not None or self.closed:
                return
            await self.wait(timeout)

    async def body(self, timeout: float | None) -> AsyncIterator[bytes]:
        """The answer's body, piece by piece as it arrives."""
        while True:
            while self.chunks:
                chunk = self.chunks.popleft()
                self.buffered -= len(chunk)
                yield chunk
            if self.paused and self.transport is not None and not self.closed:
                self.paused = False
                self.transport.resume_reading()
            if self.complete or self.error is not None or self.closed:
                return
            await self.wait(timeout)

    def reusable(self) -> bool:
        return self.complete and self.keep_alive and not self._extra and not self.closed and self.error is None


Origin = tuple[str, str, int]  # scheme, host, port


class Response:
    """An upstream's answer as it starts: its status and headers (names in lower case), its body still to read."""

    __slots__ = ("_chunks", "_close", "headers", "status_code")

    def __init__(
        self,
        status_code: int,
        headers: list[tuple[str, str]],
        chunks: AsyncIterator[bytes],
        close: Callable[[], Awaitable[None]],
    ) -> None:
        self.status_code = status_code
        self.headers = headers
        self._chunks = chunks
        self._close = close

    @classmethod
    def of(cls, response: httpx.Response) -> Response:
        """An answer httpx's own client received (through a proxy the environment names)."""
        return cls(response.status_code, list(response.headers.multi_items()), response.aiter_raw(), response.aclose)

    def aiter_raw(self) -> AsyncIterator[bytes]:
        """The body as it arrives (not decompressed)."""
        return self._chunks

    async def aclose(self) -> None:
        await self._close()


class Pool:
    """HTTP/1.1 over kept-alive connections (at most `max_idle` idle ones per origin)."""

    def __init__(self, *, max_idle: int = 64) -> None:
        self._idle: dict[Origin, list[_Connection]] = {}
        self._max_idle = max_idle
        self._ssl: ssl.SSLContext | None = None  # made on the first https connection, as httpx makes its own

    async def send(
        self,
        method: str,
        origin: Origin,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        *,
        connect_timeout: float | None,
        read_timeout: float | None,
    ) -> Response:
        """Send a request (`headers` complete but for its length) and return the answer as it starts.

        A kept-alive connection the upstream closed under the request, before a byte of the
        answer came, is a connection its keep-alive time ran out on: the request goes again on
        another. So does one that answers 408 (Request Timeout), as browsers take it: the
        server timed the idle connection out as the request was on its way. Raises httpx's
        errors (`ConnectError`, `ConnectTimeout`, `ReadTimeout`, `RemoteProtocolError`,
        `ReadError`).
        """
        message = _message(method, target, headers, body)
        while True:
            connection, reused = self._take(origin), True
            if connection is None:
                connection, reused = await self._connect(origin, connect_timeout), False
            try:
                await connection.head(message, read_timeout)
            except (TimeoutError, asyncio.TimeoutError):
                connection.close()
                raise httpx.ReadTimeout("The upstream did not answer in time.") from None
            except BaseException:  # the caller left while it waited: the connection is mid-exchange
                connection.close()
                raise
            if connection.headed and reused and connection.status == 408:
                connection.close()  # its idle time ran out as the request went: a 408 meant for no request
                continue
            if connection.headed:
                if method == "HEAD":  # its answer has a length but never a body
                    connection.complete = True
                break
            connection.close()
            if not (reused and not connection.received):
                raise _failure(connection, "Server disconnected without sending a response.")
        body_of = _Body(self, origin, connection, read_timeout)
        headers_in = [(name.decode("latin-1").lower(), value.decode("latin-1")) for name, value in connection.headers]
        return Response(connection.status, headers_in, body_of.chunks(), body_of.aclose)

    def _take(self, origin: Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        while idle:
            connection = idle.pop()
            if not connection.closed and not connection.received:
                return connection
            connection.close()  # gone, or it spoke out of turn (a 408 before closing): not for a new request
        return None

    def give_back(self, origin: Origin, connection: _Connection) -> None:
        idle = self._idle.setdefault(origin, [])
        if connection.reusable() and len(idle) < self._max_idle:
            connection.reset()
            idle.append(connection)
        else:
            connection.close()

    async def _connect(self, origin: Origin, timeout: float | None) -> _Connection:
        scheme, name, port = origin
        tls = None
        if scheme == "https":
            if self._ssl is None:
                self._ssl = httpx.create_ssl_context()  # certifi's roots, or SSL_CERT_FILE / SSL_CERT_DIR
                self._ssl.set_alpn_protocols(["http/1.1"])
            tls = self._ssl
        loop = asyncio.get_running_loop()
        try:
            _, connection = await asyncio.wait_for(
                loop.create_connection(_Connection, name, port, ssl=tls, server_hostname=name if tls else None),
                timeout,
            )
        except (TimeoutError, asyncio.TimeoutError):
            raise httpx.ConnectTimeout(f"Connecting to {name}:{port} timed out.") from None
        except OSError as exc:
            raise httpx.ConnectError(str(exc) or type(exc).__name__) from None
        return connection

    async def aclose(self) -> None:
        """Close the idle connections (at once: no TLS goodbye), before the event loop closes."""
        for idle in self._idle.values():
            for connection in idle:
                connection.abort()
        self._idle.clear()
        await asyncio.sleep(0)  # their transports finish closing on the loop's next turn


class _Body:
    """A response's body as it arrives; the connection goes back to the pool once the body is read."""

    def __init__(self, pool: Pool, origin: Origin, connection: _Connection, timeout: float | None) -> None:
        self._pool, self._origin, self._connection, self._timeout = pool, origin, connection, timeout
        self._done = False

    async def chunks(self) -> AsyncIterator[bytes]:
        connection = self._connection
        try:
            async for chunk in connection.body(self._timeout):
                yield chunk
        except (TimeoutError, asyncio.TimeoutError):
            await self.aclose()
            raise httpx.ReadTimeout("The upstream stopped sending.") from None
        if not connection.complete:
            await self.aclose()
            raise _failure(connection, "Peer closed connection without sending complete message body.")
        self._done = True
        self._pool.give_back(self._origin, connection)

    async def aclose(self) -> None:
        if not self._done:  # not read to its end: the connection cannot carry another exchange
            self._done = True
            self._connection.close()


def _message(method: str, target: bytes, headers: list[tuple[bytes, bytes]], body: bytes) -> bytes:
    """The request as it goes on the wire: request line, headers, length and body, in one piece."""
    lines = [b"%s %s HTTP/1.1" % (method.encode("ascii"), target)]
    lines += [b"%s: %s" % pair for pair in headers]
    if body or method in ("POST", "PUT", "PATCH"):  # as httpx does
        lines.append(b"content-length: %d" % len(body))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def _failure(connection: _Connection, message: str) -> httpx.TransportError:
    if connection.error is not None:
        return httpx.RemoteProtocolError(f"Invalid HTTP from the upstream: {connection.error}")
    if connection.lost is not None:
        return httpx.ReadError(str(connection.lost) or type(connection.lost).__name__)
    return httpx.RemoteProtocolError(message)
