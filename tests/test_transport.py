"""The upstream transport (`mockopper.transport`): what a forwarding server does with the bytes an upstream sends.

The upstream here is a raw TCP server on loopback that plays scripted bytes, since what is
tested is how the proxy reads HTTP that no SDK or framework would send on purpose: a
status line split across writes, an answer whose body ends with the connection, a 1xx
before the answer, a connection closed under a kept-alive request. The client is the
openai SDK, talking to a mockopper proxy whose scenario answers nothing itself.
"""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import socket
import socketserver
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from mockopper.server import MockServer

MODEL = "acme/model"


def completion(text: str) -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-upstream",
            "object": "chat.completion",
            "created": 1767225600,
            "model": MODEL,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
        }
    ).encode()


def answer(body: bytes, *extra: str) -> bytes:
    head = ["HTTP/1.1 200 OK", "content-type: application/json", f"content-length: {len(body)}", *extra]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


# A script answers the n-th request (from 0) on the c-th connection (from 0): the pieces to
# write (each sent on its own, a moment apart), or None to close the connection unanswered.
Script = Callable[[int, int, bytes], "list[bytes] | None"]


class Upstream(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script: Script = lambda c, n, request: [answer(completion("hello"))]
        self.connections = 0
        self.requests: list[bytes] = []
        self.lock = threading.Lock()
        self.tls = tls
        self.sent: list[bytes] = []  # each piece, once written

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.server_address[1]}/v3/compat"

    def __enter__(self) -> Upstream:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        server: Upstream = self.server  # type: ignore[assignment]
        with server.lock:
            index = server.connections
            server.connections += 1
        sock: socket.socket = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # each piece goes out when written
        if server.tls is None:
            self.exchange(server, index, sock)
            return
        try:
            wrapped = server.tls.wrap_socket(sock, server_side=True)
        except (ssl.SSLError, OSError):
            return  # the client did not trust the certificate
        with wrapped:
            self.exchange(server, index, wrapped)

    def exchange(self, server: Upstream, index: int, sock: socket.socket) -> None:
        buffered = b""
        for n in range(1000):
            while b"\r\n\r\n" not in buffered:
                data = sock.recv(65536)
                if not data:
                    return
                buffered += data
            head, _, rest = buffered.partition(b"\r\n\r\n")
            lengths = [
                line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
            ]
            length = int(lengths[0]) if lengths else 0
            while len(rest) < length:
                rest += sock.recv(65536)
            request, buffered = head + b"\r\n\r\n" + rest[:length], rest[length:]
            with server.lock:
                server.requests.append(request)
            pieces = server.script(index, n, request)
            if pieces is None:
                return
            for piece in pieces:
                if piece == b"":
                    return  # an empty piece: the connection ends here
                sock.sendall(piece)
                server.sent.append(piece)
                time.sleep(0.002)


@pytest.fixture(scope="module")
def upstream() -> Iterator[Upstream]:
    with Upstream() as server:
        yield server


@pytest.fixture(scope="module")
def proxy(upstream: Upstream) -> Iterator[MockServer]:
    with MockServer({"rules": []}, upstream=upstream.url) as server:
        yield server


@pytest.fixture
def client(proxy: MockServer, upstream: Upstream) -> Iterator[openai.OpenAI]:
    upstream.script = lambda c, n, request: [answer(completion("hello"))]
    upstream.requests.clear()
    with openai.OpenAI(base_url=proxy.base_url, api_key="sk-test", max_retries=0) as sdk:
        yield sdk


def ask(client: openai.OpenAI, text: str = "hi") -> Any:
    return client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": text}])


def test_requests_share_one_kept_alive_connection(client: openai.OpenAI, upstream: Upstream) -> None:
    before = upstream.connections
    texts = [ask(client, f"question {i}").choices[0].message.content for i in range(6)]
    assert texts == ["hello"] * 6
    assert upstream.connections - before <= 1  # the first may reuse the connection an earlier test left open
    assert len(upstream.requests) == 6
    first = upstream.requests[0]
    assert first.startswith(b"POST /v3/compat/chat/completions HTTP/1.1\r\n")
    assert b"\r\nhost: 127.0.0.1:" in first.lower()
    assert first.endswith(b'"content":"question 0"}]}')  # the body as the caller sent it


def test_an_answer_split_across_writes_mid_line_is_read_whole(client: openai.OpenAI, upstream: Upstream) -> None:
    raw = answer(completion("in pieces"), "x-upstream: yes")
    upstream.script = lambda c, n, request: [raw[i : i + 7] for i in range(0, len(raw), 7)]
    response = client.chat.completions.with_raw_response.create(
        model=MODEL, messages=[{"role": "user", "content": "hi"}]
    )
    assert response.headers["x-upstream"] == "yes"
    assert response.parse().choices[0].message.content == "in pieces"


def test_a_body_that_ends_with_the_connection_is_passed_on(client: openai.OpenAI, upstream: Upstream) -> None:
    body = completion("until the end")
    head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n"
    upstream.script = lambda c, n, request: [head, body[:20], body[20:], b""]
    assert ask(client).choices[0].message.content == "until the end"
    assert ask(client).choices[0].message.content == "until the end"  # on a new connection: that one is gone


def test_a_chunked_answer_is_passed_on_decoded(client: openai.OpenAI, upstream: Upstream) -> None:
    body = completion("chunk by chunk")
    pieces = [body[i : i + 50] for i in range(0, len(body), 50)]
    framed = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"
    head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
    upstream.script = lambda c, n, request: [head, framed[:33], framed[33:]]
    assert ask(client).choices[0].message.content == "chunk by chunk"
    assert ask(client).choices[0].message.content == "chunk by chunk"


def test_an_interim_1xx_answer_is_skipped(client: openai.OpenAI, upstream: Upstream) -> None:
    early = b"HTTP/1.1 103 Early Hints\r\nlink: </style.css>; rel=preload\r\n\r\n"
    upstream.script = lambda c, n, request: [early, answer(completion("after the hints"))]
    assert ask(client).choices[0].message.content == "after the hints"


def test_a_kept_alive_connection_closed_under_a_request_is_retried_on_a_new_one(
    client: openai.OpenAI, upstream: Upstream
) -> None:
    # Each connection answers its first request and closes under the second, as a server
    # whose keep-alive time ran out at that moment does: nothing of the answer was sent.
    upstream.script = lambda c, n, request: [answer(completion(f"connection {c}"))] if n == 0 else None
    before = upstream.connections
    texts = [ask(client).choices[0].message.content for _ in range(3)]
    assert all(text is not None and text.startswith("connection ") for text in texts)
    assert len(set(texts)) == 3  # each answer came on a connection of its own
    assert upstream.connections - before >= 3


def test_an_answer_that_is_not_http_is_a_502_in_the_surfaces_shape(client: openai.OpenAI, upstream: Upstream) -> None:
    upstream.script = lambda c, n, request: [b"SSH-2.0-OpenSSH_9.6\r\n", b""]
    with pytest.raises(openai.APIStatusError) as caught:
        ask(client)
    assert caught.value.status_code == 502
    assert "could not be reached" in caught.value.message
    upstream.script = lambda c, n, request: [answer(completion("fine again"))]
    assert ask(client).choices[0].message.content == "fine again"


def test_a_body_cut_short_drops_the_callers_connection(client: openai.OpenAI, upstream: Upstream) -> None:
    body = completion("never finished")
    head = f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n".encode()
    upstream.script = lambda c, n, request: [head, body[:30], b""]
    with pytest.raises(openai.APIConnectionError):
        ask(client)
    upstream.script = lambda c, n, request: [answer(completion("fine again"))]
    assert ask(client).choices[0].message.content == "fine again"


def test_a_large_answer_arrives_intact(client: openai.OpenAI, upstream: Upstream) -> None:
    text = "".join(f"line {i:06d} of a long answer.\n" for i in range(120_000))  # about 3.4 MB
    body = completion(text)
    upstream.script = lambda c, n, request: [answer(body)]
    assert ask(client).choices[0].message.content == text


def certificates(folder: Path) -> tuple[Path, ssl.SSLContext]:
    """A certificate authority (its certificate in a file) and a server context for 127.0.0.1 that it signed."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    def name(text: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])

    now = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("mockopper test authority"))
        .issuer_name(name("mockopper test authority"))
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        x509.CertificateBuilder()
        .subject_name(name("127.0.0.1"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(2)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    authority = folder / "authority.pem"
    authority.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    chain = folder / "server.pem"
    chain.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        + leaf.public_bytes(serialization.Encoding.PEM)
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(chain)
    return authority, context


def test_an_https_upstream_is_reached_over_tls_and_kept_alive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    authority, context = certificates(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(authority))  # trusted as the environment says, as httpx does
    with Upstream(context) as tls, MockServer({"rules": []}, upstream=tls.url) as proxy:
        tls.script = lambda c, n, request: [answer(completion(f"secure {n}"))]
        with openai.OpenAI(base_url=proxy.base_url, api_key="sk-test", max_retries=0) as sdk:
            texts = [ask(sdk).choices[0].message.content for _ in range(3)]
        assert texts == ["secure 0", "secure 1", "secure 2"]  # three requests on one connection
        assert tls.connections == 1


def test_an_https_upstream_whose_certificate_is_not_trusted_is_a_502(tmp_path: Path) -> None:
    _, context = certificates(tmp_path)
    with Upstream(context) as tls, MockServer({"rules": []}, upstream=tls.url) as proxy:
        with openai.OpenAI(base_url=proxy.base_url, api_key="sk-test", max_retries=0) as sdk:
            with pytest.raises(openai.APIStatusError) as caught:
                ask(sdk)
        assert caught.value.status_code == 502
        assert "certificate" in caught.value.message.lower()
        assert tls.requests == []


def test_a_proxy_the_environment_names_carries_the_request(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    with Upstream() as forward_proxy:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{forward_proxy.server_address[1]}")
        forward_proxy.script = lambda c, n, request: [answer(completion("via the proxy"))]
        with MockServer({"rules": []}, upstream="http://upstream.invalid/v3/compat") as proxy:
            direct = httpx.Client(trust_env=False)  # the caller itself goes straight to the proxy
            with openai.OpenAI(base_url=proxy.base_url, api_key="sk-test", max_retries=0, http_client=direct) as sdk:
                assert ask(sdk).choices[0].message.content == "via the proxy"
        # the absolute form a forward proxy is sent
        assert forward_proxy.requests[0].startswith(b"POST http://upstream.invalid/v3/compat/chat/completions HTTP/1.1")


def test_no_proxy_sends_straight_to_the_upstream(upstream: Upstream, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as nothing:
        nothing.bind(("127.0.0.1", 0))
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{nothing.getsockname()[1]}")  # nothing listens there
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    upstream.script = lambda c, n, request: [answer(completion("straight there"))]
    with MockServer({"rules": []}, upstream=upstream.url) as proxy:
        with openai.OpenAI(base_url=proxy.base_url, api_key="sk-test", max_retries=0) as sdk:
            assert ask(sdk).choices[0].message.content == "straight there"


def test_credentials_in_the_upstream_url_are_sent_as_basic_auth(upstream: Upstream) -> None:
    upstream.script = lambda c, n, request: [answer(completion("hello"))]
    upstream.requests.clear()
    port = upstream.server_address[1]
    with MockServer({"rules": []}, upstream=f"http://ada:p%40ss@127.0.0.1:{port}/v3/compat") as proxy:
        with openai.OpenAI(base_url=proxy.base_url, api_key="sk-caller", max_retries=0) as sdk:
            ask(sdk)
    head = upstream.requests[0].split(b"\r\n\r\n")[0].lower().split(b"\r\n")
    assert b"authorization: basic " + base64.b64encode(b"ada:p@ss").lower() in head
    assert not any(b"sk-caller" in line for line in head)
    assert f"host: 127.0.0.1:{port}".encode() in head


def test_a_path_is_sent_percent_encoded_as_the_caller_sent_it(proxy: MockServer, upstream: Upstream) -> None:
    from google import genai

    body = {"candidates": [{"content": {"role": "model", "parts": [{"text": "hello"}]}, "finishReason": "STOP"}]}
    upstream.script = lambda c, n, request: [answer(json.dumps(body).encode())]
    upstream.requests.clear()
    sdk = genai.Client(api_key="sk-test", http_options={"base_url": proxy.base_url})
    assert sdk.models.generate_content(model="acme model", contents="hi").text == "hello"
    line = upstream.requests[-1].split(b"\r\n")[0]
    assert line.startswith(b"POST /v3/compat/v1") and line.endswith(b"/models/acme%20model:generateContent HTTP/1.1")


def test_an_idle_connection_that_spoke_out_of_turn_is_not_used_again(client: openai.OpenAI, upstream: Upstream) -> None:
    # Some servers send a 408 on an idle connection before closing it: that answer belongs to no request.
    late = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\n\r\n"
    upstream.script = lambda c, n, request: [answer(completion(f"connection {c}")), late]
    upstream.sent.clear()
    first = ask(client).choices[0].message.content
    deadline = time.monotonic() + 5
    while late not in upstream.sent:
        assert time.monotonic() < deadline
        time.sleep(0.001)
    time.sleep(0.02)  # the 408 has reached the proxy's idle connection
    second = ask(client).choices[0].message.content
    assert first is not None and second is not None
    assert first != second  # the second came on a connection of its own, not as the 408


def test_bytes_after_an_answer_in_the_same_read_are_no_part_of_it(client: openai.OpenAI, upstream: Upstream) -> None:
    late = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\n\r\n"
    upstream.script = lambda c, n, request: [answer(completion(f"connection {c}"), "x-upstream: first") + late]
    response = client.chat.completions.with_raw_response.create(
        model=MODEL, messages=[{"role": "user", "content": "hi"}]
    )
    assert response.status_code == 200
    assert response.headers.get_list("content-length") == [str(len(response.content))]  # not the 408's too
    first = response.parse().choices[0].message.content
    second = ask(client).choices[0].message.content
    assert first is not None and second is not None and first != second  # not back on the connection that spoke


def test_a_408_on_a_kept_alive_connection_sends_the_request_again_on_a_new_one(
    client: openai.OpenAI, upstream: Upstream
) -> None:
    # The idle connection timed out as the request went: the 408 answers no request of the caller's.
    late = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\n\r\n"
    upstream.script = lambda c, n, request: [answer(completion(f"connection {c}"))] if n == 0 else [late, b""]
    ask(client)  # leaves its connection idle in the pool
    before = upstream.connections
    upstream.requests.clear()
    text = ask(client, "again").choices[0].message.content
    assert text == f"connection {upstream.connections - 1}"  # answered on a connection opened for it
    assert upstream.connections > before
    assert [request.endswith(b'"content":"again"}]}') for request in upstream.requests] == [True, True]


def test_a_408_on_a_new_connection_is_the_callers(client: openai.OpenAI, upstream: Upstream) -> None:
    late = b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"
    upstream.script = lambda c, n, request: [late, b""]
    with pytest.raises(openai.APIStatusError) as caught:
        ask(client)
    assert caught.value.status_code == 408
