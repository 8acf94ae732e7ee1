"""Security: loopback by default, an admin API closed to the open web, sandboxed templates, safe YAML,
no file reads from anything a request sends, and API keys never shown.

The admin API's loopback and token rules themselves are tested in test_admin.py; this
module adds what a hostile web page, network neighbour, request or scenario could try.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
from google import genai
from google.genai import types as genai_types
from starlette.testclient import TestClient

from mockopper.app import MockApp, Settings
from mockopper.cli import _is_loopback
from mockopper.plugin import Mockopper
from mockopper.server import MockServer

# --- binding ---------------------------------------------------------------------------------


def listening_addresses(port: int) -> set[str]:
    """The local addresses that listen on `port` (from /proc/net/tcp and tcp6)."""
    found = set()
    for name in ("tcp", "tcp6"):
        path = Path("/proc/net") / name
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            address, _, port_hex = fields[1].partition(":")
            if fields[3] == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                raw = bytes.fromhex(address)
                if len(raw) == 4:
                    found.add(socket.inet_ntop(socket.AF_INET, raw[::-1]))
                else:
                    words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
                    found.add(socket.inet_ntop(socket.AF_INET6, words))
    return found


def outward_address() -> str | None:
    """This machine's address on its network (None when it has only loopback)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # a UDP connect sends nothing
        address: str = probe.getsockname()[0]
    except OSError:
        return None
    finally:
        probe.close()
    return None if address.startswith("127.") else address


@dataclass
class Served:
    """`mockopper serve` as a process, with everything it printed."""

    process: subprocess.Popen[str]
    port: int
    out: list[str]
    err: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return self.url + "/v3/compat"


def start_serve(*args: str) -> Iterator[Served]:
    process = subprocess.Popen(
        [sys.executable, "-m", "mockopper.cli", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None and process.stderr is not None
    out: list[str] = []
    while not any(line.lstrip().startswith("Environment") for line in out):
        line = process.stdout.readline()
        assert line, f"serve exited early: {process.stderr.read()}"
        out.append(line)
    port = int(next(line for line in out if line.startswith("Base URL")).split(":")[2].split("/")[0])
    served = Served(process, port, out)
    reader = threading.Thread(target=lambda: served.err.extend(iter(process.stderr.readline, "")), daemon=True)
    reader.start()
    try:
        yield served
    finally:
        process.terminate()
        process.wait(timeout=10)
        reader.join(timeout=5)
        process.stdout.close()
        process.stderr.close()


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    """One `mockopper serve` with no --host, logging each request (the log is checked for keys)."""
    yield from start_serve("--max-body", "4096")


def test_serve_listens_on_loopback_only_by_default(served: Served) -> None:
    assert listening_addresses(served.port) == {"127.0.0.1"}
    assert not any("WARNING" in line for line in served.err)
    outward = outward_address()
    if outward is not None:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((outward, served.port), timeout=5).close()


def test_mock_server_listens_on_loopback_only_by_default() -> None:
    with MockServer() as server:
        assert listening_addresses(server.port) == {"127.0.0.1"}


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.0.2.10", False),
        ("example.com", False),
    ],
)
def test_serve_warns_unless_the_host_is_loopback(host: str, loopback: bool) -> None:
    """What `serve --host` counts as loopback (anything else gets the loud warning, see test_cli)."""
    assert _is_loopback(host) is loopback


def test_serve_max_body_is_the_limit(served: Served) -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "x" * 5000}]}
    response = httpx2.post(served.base_url + "/chat/completions", json=body, headers={"authorization": "Bearer k"})
    assert response.status_code == 413
    assert "the limit is 4096 bytes" in response.json()["error"]["message"]


# --- the admin API answers this machine's pages only ----------------------------------------------

ADMIN_ROUTES = [
    ("GET", "/__mockopper/"),
    ("GET", "/__mockopper/events"),
    ("GET", "/__mockopper/health"),
    ("GET", "/__mockopper/requests"),
    ("DELETE", "/__mockopper/requests"),
    ("POST", "/__mockopper/reset"),
    ("GET", "/__mockopper/scenario"),
    ("PUT", "/__mockopper/scenario"),
]


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
def test_every_admin_route_refuses_a_remote_client(method: str, path: str) -> None:
    with TestClient(MockApp(), client=("203.0.113.9", 40000)) as remote:
        response = remote.request(method, path, content=b"rules: []")
        assert response.status_code == 403
        assert "loopback" in response.json()["error"]["message"]


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
def test_a_page_on_another_origin_cannot_use_the_admin_api(mockopper: Mockopper, method: str, path: str) -> None:
    """The user's browser is a loopback client: a web page must still not read the journal or change anything."""
    evil = {"origin": "http://evil.example"}
    response = httpx2.request(method, mockopper.url + path, headers=evil, content=b"rules: []")
    assert response.status_code == 403
    assert "access-control-allow-origin" not in response.headers
    preflight = httpx2.options(mockopper.url + path, headers={**evil, "access-control-request-method": method})
    assert "access-control-allow-origin" not in preflight.headers
    assert mockopper.app.scenario.name == "default"  # nothing was swapped


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
def test_a_page_served_from_localhost_may_use_the_admin_api(mockopper: Mockopper, method: str, path: str) -> None:
    """A frontend dev server on this machine (say Vite on :5173) drives the mock from the browser."""
    local = {"origin": "http://localhost:5173"}
    preflight = httpx2.options(
        mockopper.url + path,
        headers={**local, "access-control-request-method": method, "access-control-request-headers": "content-type"},
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "http://localhost:5173"
    if path.endswith("/events"):
        return  # a live feed: its headers are checked through the preflight
    response = httpx2.request(method, mockopper.url + path, headers=local, content=b"name: from-localhost\nrules: []\n")
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "http://localhost:5173"


def test_an_origin_named_with_cors_origin_may_use_the_admin_api() -> None:
    with MockServer(cors_origins=("https://app.test",)) as server:
        named = httpx2.get(server.url + "/__mockopper/health", headers={"origin": "https://app.test"})
        assert named.status_code == 200 and named.headers["access-control-allow-origin"] == "https://app.test"
        other = httpx2.get(server.url + "/__mockopper/health", headers={"origin": "https://other.test"})
        assert other.status_code == 403 and "access-control-allow-origin" not in other.headers


def test_a_name_rebound_to_loopback_cannot_use_the_admin_api(mockopper: Mockopper) -> None:
    """DNS rebinding: evil.example resolves to 127.0.0.1, so the page is same-origin with the mock."""
    port = mockopper.server.port
    for host in (f"evil.example:{port}", "evil.example", f"localhost.evil.example:{port}"):
        response = httpx2.get(mockopper.url + "/__mockopper/requests", headers={"host": host})
        assert response.status_code == 403, host
        assert "addressed to localhost" in response.json()["error"]["message"]


def test_the_inspector_own_origin_and_the_compat_api_keep_working(mockopper: Mockopper) -> None:
    own = {"origin": mockopper.url}
    assert httpx2.get(mockopper.url + "/__mockopper/requests", headers=own).status_code == 200
    assert httpx2.post(mockopper.url + "/__mockopper/reset", headers=own).status_code == 200
    for host in ("localhost", "[::1]"):
        headers = {"host": f"{host}:{mockopper.server.port}"}
        assert httpx2.get(mockopper.url + "/__mockopper/health", headers=headers).status_code == 200
    # Browsers may call the compat API itself from any origin (CORS), as the SPEC says.
    compat = httpx2.get(mockopper.base_url + "/models", headers={"origin": "http://app.example", "x-api-key": "k"})
    assert compat.status_code == 200 and compat.headers["access-control-allow-origin"] == "*"


def test_a_forwarded_for_header_does_not_make_a_remote_client_local() -> None:
    outward = outward_address()
    if outward is None:
        pytest.skip("this machine has no address but loopback")
    with MockServer(host="0.0.0.0") as server:
        url = f"http://{outward}:{server.port}/__mockopper/requests"
        for forwarded in ({"x-forwarded-for": "127.0.0.1"}, {"forwarded": "for=127.0.0.1"}, {"x-real-ip": "::1"}):
            response = httpx2.get(url, headers={**forwarded, "host": f"127.0.0.1:{server.port}"})
            assert response.status_code == 403, forwarded
        # the compat API answers remote clients: only the admin API is loopback-only
        chat = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
        compat = httpx2.post(
            f"http://{outward}:{server.port}/v3/compat/chat/completions", json=chat, headers={"x-api-key": "k"}
        )
        assert compat.status_code == 200


# --- templates cannot escape, through a scenario loaded over PUT -------------------------------------

PAYLOADS = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ request.__class__.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ __import__('os').system('touch /tmp/pwned') }}",
    "{{ open('/etc/passwd').read() }}",
    "{{ faker.__class__ }}",
    "{{ faker._Faker__config }}",
    "{{ faker.seed_instance(1) }}",
    "{{ faker.binary(length=1000) }}",
    "{{ faker.pystr_format('{{binary}' '}') }}",  # Faker's own format language reaches any of its attributes
    "{{ faker.name(open('/etc/passwd')) }}",
    "{{ faker.pystr(max_chars=100000000) }}",
    "{{ request.message | attr('__class__') }}",
    "{{ request['__class__'] }}",
    "{{ tool_result.upper() }}",
    "{{ 7*7 }}",
]
PLACES = {
    "text": lambda p: {"text": p},
    "reasoning": lambda p: {"text": "ok", "reasoning": p},
    "arguments": lambda p: {"tool_calls": [{"name": "f", "arguments": p}]},
    "json value": lambda p: {"json": {"answer": p}},
    "error message": lambda p: {"error": {"status": 400, "message": p}},
}


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("payload", PAYLOADS)
def test_template_injection_is_refused_when_the_scenario_is_put(
    mockopper: Mockopper, client: openai.OpenAI, payload: str, place: str
) -> None:
    scenario = {"name": "hostile", "rules": [{"reply": PLACES[place](payload)}]}
    response = httpx2.put(mockopper.url + "/__mockopper/scenario", json=scenario)
    assert response.status_code == 400
    [problem] = response.json()["error"]["problems"]
    assert problem.startswith("<scenario>:") and "{{" in problem
    assert mockopper.app.scenario.name == "default"  # the old scenario still serves
    answer = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    assert answer.choices[0].message.content
    assert not Path("/tmp/pwned").exists()


def put(mockopper: Mockopper, scenario: dict[str, Any]) -> None:
    response = httpx2.put(mockopper.url + "/__mockopper/scenario", json=scenario)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("template", "reason"),
    [
        ("{{ faker.pyint(min_value=9, max_value=1) }}", "faker.pyint(min_value=9, max_value=1) failed"),
        ("{{ faker.domain_name(levels=1000) }}", "faker.domain_name(levels=1000) failed"),
        ("{{ faker.date_between(start_date='soon') }}", "faker.date_between(start_date='soon') failed"),
        ("{{ faker.password(length=-5) }}", "faker.password(length=-5) failed"),
    ],
)
def test_faker_arguments_a_provider_refuses_are_the_scenario_error_not_a_crash(
    mockopper: Mockopper, client: openai.OpenAI, template: str, reason: str
) -> None:
    put(mockopper, {"rules": [{"match": {"message": "bad"}, "reply": {"text": template}}, {"reply": {"text": "ok"}}]})
    with pytest.raises(openai.BadRequestError, match="cannot answer this request") as caught:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "bad"}])
    assert reason in str(caught.value)
    assert caught.value.response.headers["x-should-retry"] == "false"
    answer = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "fine"}])
    assert answer.choices[0].message.content == "ok"


def test_no_faker_provider_blows_up_memory_or_time_at_its_largest_arguments() -> None:
    """Each provider, called with every numeric argument at the largest literal allowed, stays small and quick."""
    import inspect

    from faker import Faker

    from mockopper.conversation import Conversation, Message
    from mockopper.engine import Engine, State
    from mockopper.loader import load
    from mockopper.templates import faker_providers

    fake = Faker()
    slowest = (0.0, "")
    for provider in sorted(faker_providers()):
        try:
            parameters = inspect.signature(getattr(fake, provider)).parameters.values()
        except (TypeError, ValueError):
            continue
        numbers = [
            p.name
            for p in parameters
            if isinstance(p.default, int | float)
            and not isinstance(p.default, bool)
            and p.kind is p.POSITIONAL_OR_KEYWORD
        ]
        arguments = ", ".join(f"{name}=1000" for name in numbers)
        engine = Engine()
        state = State(
            engine.compile(load({"rules": [{"reply": {"text": f"{{{{ faker.{provider}({arguments}) }}}}"}}]}))
        )
        started = time.perf_counter()
        decision = engine.decide(state, Conversation("chat", "m", [Message("user", "hi")]))
        took = time.perf_counter() - started
        slowest = max(slowest, (took, provider))
        if decision.answer is not None:
            assert len(decision.answer.text) < 2_000_000, provider
        else:
            assert decision.failure is not None and decision.failure.status == 400, provider
    assert slowest[0] < 2, f"faker.{slowest[1]} took {slowest[0]:.2f} s"


def test_a_template_cannot_render_without_bound() -> None:
    """`{{ request.message }}` a thousand times over a large message is refused, not built."""
    app = MockApp()
    app.load(
        __import__("mockopper.loader", fromlist=["load"]).load(
            {"rules": [{"reply": {"text": "{{ request.message }}" * 1000}}]}
        )
    )
    with TestClient(app) as local:
        body = {"model": "m", "messages": [{"role": "user", "content": "x" * 100_000}]}
        response = local.post("/v3/compat/chat/completions", json=body, headers={"x-api-key": "k"})
    assert response.status_code == 400
    assert "renders to more than" in response.json()["error"]["message"]


# --- YAML is loaded safely, over PUT too ---------------------------------------------------------------

BOMB = "\n".join(
    ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    + [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
)
HOSTILE_YAML = [
    ("!!python/object/apply:os.system ['touch /tmp/pwned']", "unsupported YAML tag"),
    ("rules: [{reply: {text: !!python/name:os.system }}]", "unsupported YAML tag"),
    ("rules: [{reply: !!python/object:mockopper.app.MockApp {}}]", "unsupported YAML tag"),
    ("rules: [{reply: !custom {text: x}}]", "unsupported YAML tag"),
    ("rules: [{reply: {text: !!set {a, b}}}]", "unsupported YAML tag"),
    (BOMB, "too large"),
    ("base: &b {text: x}\nrules: [{reply: {<<: *b}}]", "merge keys"),
    ("[" * 5000 + "]" * 5000, "nesting depth"),
    ("".join("  " * i + "a:\n" for i in range(3000)), "nesting depth"),
    ("seed: " + "9" * 5000, "cannot read"),
    ("rules: [{reply: {text: \x00}}]", "invalid YAML"),
]


@pytest.mark.parametrize(("text", "problem"), HOSTILE_YAML, ids=[p for _, p in HOSTILE_YAML])
def test_hostile_yaml_is_refused_over_put(mockopper: Mockopper, text: str, problem: str) -> None:
    response = httpx2.put(mockopper.url + "/__mockopper/scenario", content=text.encode())
    assert response.status_code == 400, response.text
    assert problem in response.json()["error"]["message"]
    assert mockopper.app.scenario.name == "default"
    assert not Path("/tmp/pwned").exists()


def test_a_scenario_over_the_body_limit_is_refused(server_factory: Any) -> None:
    server = server_factory(max_body_bytes=1000)
    response = httpx2.put(server.url + "/__mockopper/scenario", content=b"rules: []\n" + b"#" * 2000)
    assert response.status_code == 413
    assert "too large" in response.json()["error"]["message"]


def test_faker_structures_holding_dates_and_decimals_render_as_json(
    mockopper: Mockopper, client: openai.OpenAI
) -> None:
    put(
        mockopper,
        {
            "rules": [
                {"match": {"message": "text"}, "reply": {"text": "{{ faker.profile }} {{ faker.local_latlng }}"}},
                {"reply": {"json": {"person": "{{ faker.profile }}", "where": "{{ faker.local_latlng }}"}}},
            ]
        },
    )
    text = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "text"}])
    assert '"birthdate": "' in (text.choices[0].message.content or "")
    answer = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "json"}])
    value = json.loads(answer.choices[0].message.content or "")
    assert isinstance(value["person"]["birthdate"], str) and isinstance(value["where"], list)


# --- nothing a request sends makes the server read a file --------------------------------------------

_OPENED: list[str] = []
_WATCHING = threading.Event()


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _WATCHING.is_set() and event == "open" and args and isinstance(args[0], str | bytes):
        _OPENED.append(os.fsdecode(args[0]))


sys.addaudithook(_audit)  # audit hooks stay for the process; this one records only while a test watches


def file_vectors(secret: Path) -> list[tuple[str, str, dict[str, Any]]]:
    """Every place a request can name a file: attachments, model ids, paths, schema references."""
    uri, path, up = secret.as_uri(), str(secret), "../" * 12 + str(secret).lstrip("/")
    user = [{"role": "user", "content": "hi"}]
    return [
        (
            "POST",
            "/chat/completions",
            {
                "model": "m",
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "text", "text": "look"},
                            {"type": "image_url", "image_url": {"url": uri}},
                            {"type": "file", "file": {"file_id": path, "filename": path}},
                            {"type": "input_audio", "input_audio": {"data": path, "format": "wav"}},
                        ],
                    }
                ],
            },
        ),
        ("POST", "/chat/completions", {"model": path, "messages": user, "fallback_models": [up, uri]}),
        (
            "POST",
            "/chat/completions",
            {
                "model": "m",
                "messages": user,
                "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"$ref": uri}}},
            },
        ),
        (
            "POST",
            "/chat/completions",
            {
                "model": "m",
                "messages": user,
                "tools": [
                    {
                        "type": "function",
                        "function": {
                            "name": "f",
                            "parameters": {"$ref": path, "properties": {"a": {"$ref": uri + "#/a"}}},
                        },
                    }
                ],
            },
        ),
        (
            "POST",
            "/responses",
            {
                "model": up,
                "input": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "input_image", "image_url": uri},
                            {"type": "input_file", "file_url": uri, "filename": path},
                            {"type": "input_text", "text": "hi"},
                        ],
                    }
                ],
            },
        ),
        ("POST", "/responses", {"model": "m", "input": "hi", "previous_response_id": up}),
        ("POST", "/embeddings", {"model": uri, "input": [path, uri]}),
        (
            "POST",
            "/v1/messages",
            {
                "model": path,
                "max_tokens": 10,
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "image", "source": {"type": "url", "url": uri}},
                            {"type": "document", "source": {"type": "url", "url": uri}},
                            {"type": "document", "source": {"type": "file", "file_id": path}},
                            {"type": "text", "text": "hi"},
                        ],
                    }
                ],
            },
        ),
        (
            "POST",
            f"/v1beta/models/{up}:generateContent",
            {"contents": [{"parts": [{"fileData": {"fileUri": uri, "mimeType": "text/plain"}}, {"text": "hi"}]}]},
        ),
        (
            "POST",
            "/v1beta/models/..%2F..%2F..%2Fetc%2Fpasswd:generateContent",
            {"contents": [{"parts": [{"text": "x"}]}]},
        ),
        ("POST", f"/v1/models/{path}:embedContent", {"content": {"parts": [{"fileData": {"fileUri": uri}}]}}),
        (
            "POST",
            "/v1/interactions",
            {
                "model": up,
                "input": [{"type": "image", "uri": uri}, {"type": "text", "text": "x"}],
                "previous_interaction_id": None,
            },
        ),
        ("GET", f"/models/{path}", {}),
        ("GET", f"/v1/models/{up}", {}),
    ]


def test_nothing_a_request_sends_makes_the_server_read_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "secret-file.txt"
    secret.write_text("MARKER-7f3a")
    app = MockApp()
    with TestClient(app) as local:
        local.post(
            "/v3/compat/chat/completions",
            json={"model": "m", "messages": [{"role": "user", "content": "warm"}]},
            headers={"x-api-key": "k"},
        )  # imports and caches fill on the first request
        _OPENED.clear()
        _WATCHING.set()
        try:
            answers = [
                local.request(method, "/v3/compat" + path, json=body or None, headers={"x-api-key": "k"})
                for method, path, body in file_vectors(secret)
            ]
            put = local.put(f"/__mockopper/scenario?name={secret}", content=b"rules: [{reply: {text: ok}}]")
        finally:
            _WATCHING.clear()
    assert put.status_code == 200
    assert [a.status_code for a in answers if a.status_code >= 500] == []
    assert not any("MARKER-7f3a" in a.text for a in answers)
    touched = [p for p in _OPENED if "secret-file" in p or "passwd" in p]
    assert touched == []


# --- API keys are never shown -------------------------------------------------------------------------

KEYS = {
    "bearer": "sk-bearer-7d1e0a",
    "x-api-key": "sk-xapi-93bc44",
    "x-goog-api-key": "sk-goog-5a2f81",
    "x-opper-api-key": "sk-opper-c06d37",
    "query": "sk-query-1b9e52",
}


def send_with_every_kind_of_key(base_url: str) -> None:
    """One request per way of sending a key, each through the client that sends it that way."""
    openai.OpenAI(base_url=base_url, api_key=KEYS["bearer"], max_retries=0).chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}]
    )
    claude = {"model": "m", "max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    # (the anthropic SDK sends its key as a bearer token: the older clients' header, by hand)
    assert (
        httpx2.post(base_url + "/v1/messages", json=claude, headers={"x-api-key": KEYS["x-api-key"]}).status_code == 200
    )
    # held in a name: the SDK closes its HTTP client when the Client object is collected
    google = genai.Client(api_key=KEYS["x-goog-api-key"], http_options=genai_types.HttpOptions(base_url=base_url))
    google.models.generate_content(model="g", contents="hi")
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    assert (
        httpx2.post(
            base_url + "/chat/completions", json=body, headers={"x-opper-api-key": KEYS["x-opper-api-key"]}
        ).status_code
        == 200
    )
    gemini = {"contents": [{"parts": [{"text": "hi"}]}]}
    assert (
        httpx2.post(
            base_url + "/v1beta/models/g:generateContent", params={"key": KEYS["query"]}, json=gemini
        ).status_code
        == 200
    )


def assert_no_key(text: str, where: str) -> None:
    leaked = [kind for kind, key in KEYS.items() if key in text]
    assert not leaked, f"{where} shows the {leaked} key"


def test_keys_are_redacted_in_the_journal_the_admin_api_the_feed_and_the_log(served: Served) -> None:
    httpx2.delete(served.url + "/__mockopper/requests")
    logged = "".join(served.err).count("/v3/compat/")
    send_with_every_kind_of_key(served.base_url)
    journal = httpx2.get(served.url + "/__mockopper/requests").json()["requests"]
    assert len(journal) == 5
    assert_no_key(json.dumps(journal), "the admin API")
    headers = [r["request_headers"] for r in journal]
    assert headers[0]["authorization"] == "Bearer [redacted]"
    assert headers[1]["x-api-key"] == headers[2]["x-goog-api-key"] == headers[3]["x-opper-api-key"] == "[redacted]"
    assert journal[4]["query"]["key"] == "[redacted]"
    feed = ""
    with httpx2.stream("GET", served.url + "/__mockopper/events", timeout=10) as stream:
        for line in stream.iter_lines():
            feed += line + "\n"
            if feed.count("event: record") == 5:
                break
    assert_no_key(feed, "the inspector feed")
    deadline = time.monotonic() + 10  # the last log line is written after its response
    while "".join(served.err).count("/v3/compat/") < logged + 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    log = "".join(served.err)
    assert log.count("/v3/compat/") >= logged + 5  # the request log is on, a line for each
    assert_no_key(log, "the request log")


def test_keys_are_redacted_in_the_in_process_journal(mockopper: Mockopper) -> None:
    send_with_every_kind_of_key(mockopper.base_url)
    assert len(mockopper.requests) == 5
    assert_no_key(json.dumps([r.to_dict() for r in mockopper.requests], default=str), "the journal")


def test_keys_are_never_echoed_in_error_messages(mockopper: Mockopper) -> None:
    put(mockopper, {"rules": [{"match": {"header": {"authorization": "Bearer team-a"}}, "reply": {"text": "a"}}]})
    mockopper.allow_unmatched = True
    client = openai.OpenAI(base_url=mockopper.base_url, api_key=KEYS["bearer"], max_retries=0)
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    message = str(caught.value)
    assert "header: authorization does not satisfy the rule's condition ([redacted])" in message
    assert "team-a" not in message
    assert_no_key(message + json.dumps(mockopper.requests[0].to_dict(), default=str), "an unmatched request's report")


@pytest.mark.parametrize("kind", KEYS)
def test_a_wrong_key_is_refused_without_being_echoed(kind: str) -> None:
    key = KEYS[kind]
    headers = {"authorization": f"Bearer {key}"} if kind in ("bearer", "query") else {kind: key}
    params = {"key": key} if kind == "query" else {}
    if kind == "query":
        headers = {}
    with TestClient(MockApp(settings=Settings(api_key="the-right-key"))) as local:
        response = local.get("/v3/compat/v1beta/models", headers=headers, params=params)
    assert response.status_code == 401
    assert_no_key(response.text, "a 401")


@pytest.mark.parametrize("model", ["Ā", "模型/名", "a\r\nx-injected: 1", "tab\there"])
def test_a_model_id_that_is_no_header_value_is_percent_encoded_in_headers(mockopper: Mockopper, model: str) -> None:
    """x-mockopper-model carries the model id: never a 500, never a second header."""
    client = openai.OpenAI(base_url=mockopper.base_url, api_key="k", max_retries=0)
    raw = client.chat.completions.with_raw_response.create(model=model, messages=[{"role": "user", "content": "hi"}])
    assert raw.parse().model == model
    assert "x-injected" not in raw.headers
    header = raw.headers["x-mockopper-model"]
    assert header.isascii() and "\r" not in header and "\n" not in header
    assert urllib.parse.unquote(header) == model
