"""Load: many concurrent streams, exact sequences under concurrency, and clients that leave mid-stream.

The heavy versions are marked `slow` (`make test-all` runs them); a lighter version of
each runs by default. Memory is measured on a `mockopper serve` process (its RSS from
/proc/PID/status), never on the test process.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest

from mockopper.plugin import Mockopper
from mockopper.server import MockServer

STORY = " ".join(f"word{i}" for i in range(40))  # 40 word chunks per stream

STREAMS = {
    "rules": [
        {
            "name": "story",
            "match": {"message": {"startswith": "client"}},
            "reply": {
                "text": "Answer for {{ request.message }}: " + STORY,
                "stream": {"ttft_ms": 500, "interval_ms": 2},
            },
        }
    ]
}


def expected(name: str) -> str:
    return f"Answer for {name}: {STORY}"


async def stream_one(client: openai.AsyncOpenAI, name: str, opened: list[int], peak: list[int]) -> str:
    stream = await client.chat.completions.create(
        model="openai/gpt-5.5", messages=[{"role": "user", "content": name}], stream=True
    )
    opened[0] += 1
    peak[0] = max(peak[0], opened[0])
    pieces = []
    try:
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                pieces.append(chunk.choices[0].delta.content)
    finally:
        opened[0] -= 1
    return "".join(pieces)


async def many_streams(base_url: str, count: int) -> tuple[dict[str, str], int]:
    names = [f"client {i}" for i in range(count)]
    opened, peak = [0], [0]
    async with openai.AsyncOpenAI(base_url=base_url, api_key="k", max_retries=0, timeout=120) as client:
        texts = await asyncio.gather(*(stream_one(client, name, opened, peak) for name in names))
    return dict(zip(names, texts, strict=True)), peak[0]


@pytest.mark.parametrize("count", [pytest.param(500, marks=pytest.mark.slow), 50])
def test_concurrent_streams_arrive_complete_and_uncorrupted(mockopper: Mockopper, count: int) -> None:
    mockopper.load(STREAMS)
    started = time.perf_counter()
    texts, peak = asyncio.run(many_streams(mockopper.base_url, count))
    print(f"\n{count} streams in {time.perf_counter() - started:.2f} s, {peak} open at once")
    wrong = {name: text for name, text in texts.items() if text != expected(name)}
    assert not wrong, f"{len(wrong)} of {count} streams differ, e.g. {next(iter(wrong.items()))}"
    assert peak >= count * 0.8, f"only {peak} streams were open at once"
    records = mockopper.requests
    assert len(records) == count
    assert Counter(r.outcome for r in records) == {"complete": count}


# --- exact counts under concurrency ------------------------------------------------------------


def sequence_scenario(steps: int, times: int) -> dict[str, object]:
    return {
        "rules": [
            {
                "name": "sequence",
                "match": {"message": "step"},
                "replies": [{"text": f"step {i + 1} of call {{{{ call }}}}"} for i in range(steps)],
            },
            {"name": "limited", "match": {"message": "limited"}, "times": times, "reply": {"text": "limited"}},
            {"name": "overflow", "match": {"message": "limited"}, "reply": {"text": "overflow"}},
        ]
    }


async def ask_all(base_url: str, text: str, count: int, width: int) -> list[str]:
    gate = asyncio.Semaphore(width)
    async with openai.AsyncOpenAI(base_url=base_url, api_key="k", max_retries=0) as client:

        async def ask() -> str:
            async with gate:
                answer = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": text}])
                return answer.choices[0].message.content or ""

        return await asyncio.gather(*(ask() for _ in range(count)))


@pytest.mark.parametrize("count", [pytest.param(1000, marks=pytest.mark.slow), 50])
def test_a_replies_sequence_serves_each_step_exactly_once_under_concurrency(mockopper: Mockopper, count: int) -> None:
    mockopper.load(sequence_scenario(count, 1))
    answers = asyncio.run(ask_all(mockopper.base_url, "step", count, 50))
    assert sorted(answers) == sorted(f"step {i} of call {i}" for i in range(1, count + 1))


@pytest.mark.parametrize("count", [pytest.param(1000, marks=pytest.mark.slow), 50])
def test_times_is_exact_under_concurrency(mockopper: Mockopper, count: int) -> None:
    limit = count * 2 // 5
    mockopper.load(sequence_scenario(1, limit))
    answers = asyncio.run(ask_all(mockopper.base_url, "limited", count, 50))
    assert Counter(answers) == {"limited": limit, "overflow": count - limit}
    assert Counter(r.rule for r in mockopper.requests) == {"limited": limit, "overflow": count - limit}


@pytest.mark.parametrize("count", [pytest.param(1000, marks=pytest.mark.slow), 100])
def test_concurrent_requests_from_threads_keep_counts_exact(mockopper: Mockopper, count: int) -> None:
    """The same with blocking clients on 50 threads (the way a threaded test suite calls the mock)."""
    from concurrent.futures import ThreadPoolExecutor

    mockopper.load(sequence_scenario(count, count * 2 // 5))
    client = openai.OpenAI(base_url=mockopper.base_url, api_key="k", max_retries=0)

    def ask(text: str) -> str:
        answer = client.chat.completions.create(model="m", messages=[{"role": "user", "content": text}])
        return answer.choices[0].message.content or ""

    with ThreadPoolExecutor(50) as pool:
        steps = list(pool.map(ask, ["step"] * count))
        limited = list(pool.map(ask, ["limited"] * count))
    assert sorted(steps) == sorted(f"step {i} of call {i}" for i in range(1, count + 1))
    assert Counter(limited) == {"limited": count * 2 // 5, "overflow": count - count * 2 // 5}


# --- clients that leave ------------------------------------------------------------------------------

LEAVING = """
rules:
  - name: paced stream
    match: {message: paced}
    reply:
      text: "{{ faker.paragraph(nb_sentences=20) }}"
      stream: {chunk: word, interval_ms: 20}
  - name: slow start
    match: {message: slow}
    reply:
      text: never mind
      stream: {ttft_ms: 60000}
  - name: hang
    match: {message: hang}
    reply: {text: never, fault: {hang: true}}
  - name: delayed body
    match: {message: delayed}
    reply: {text: late, delay_ms: 60000}
"""


@dataclass
class Served:
    process: subprocess.Popen[str]
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_kb(self) -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
        assert match is not None
        return int(match.group(1))

    def health(self) -> dict[str, int]:
        return httpx2.get(self.url + "/__mockopper/health").json()  # type: ignore[no-any-return]


def serve(tmp_path: Path, scenario: str, *args: str) -> Iterator[Served]:
    path = tmp_path / "scenario.yaml"
    path.write_text(scenario)
    process = subprocess.Popen(
        [sys.executable, "-m", "mockopper.cli", "serve", "--port", "0", "--quiet", "--scenario", str(path), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    port = 0
    while not port:
        line = process.stdout.readline()
        assert line, f"serve exited early: {process.stderr.read() if process.stderr else ''}"
        if line.startswith("Base URL"):
            port = int(line.split(":")[-1].split("/")[0])
    try:
        yield Served(process, port)
    finally:
        process.terminate()
        _, err = process.communicate(timeout=10)
        assert "Traceback" not in err, err


@pytest.fixture
def leaving_server(tmp_path: Path) -> Iterator[Served]:
    yield from serve(tmp_path, LEAVING, "--journal-size", "100")


def _request(message: str, stream: bool) -> bytes:
    body = json.dumps({"model": "m", "stream": stream, "messages": [{"role": "user", "content": message}]}).encode()
    head = (
        "POST /v3/compat/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer k\r\n"
        f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


KINDS = [("paced", True), ("paced", True), ("slow", True), ("hang", True), ("delayed", False)]


async def leave_one(port: int, index: int) -> None:
    """Ask for an answer, read the first bytes of a paced stream (or nothing), then drop the connection."""
    message, stream = KINDS[index % len(KINDS)]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(_request(message, stream))
    await writer.drain()
    if message == "paced":
        received = b""
        while b"data: " not in received:  # mid-stream: the headers and a chunk or two have arrived
            chunk = await reader.read(4096)
            assert chunk, "the server closed a paced stream early"
            received += chunk
    else:
        await asyncio.sleep(0.005)  # the request has reached the server and waits there
    writer.transport.abort()  # a reset, as a killed client leaves it


async def leave_many(port: int, count: int, width: int = 200) -> None:
    gate = asyncio.Semaphore(width)

    async def one(index: int) -> None:
        async with gate:
            await leave_one(port, index)

    await asyncio.gather(*(one(i) for i in range(count)))


def settle(server: Served, tasks: int) -> dict[str, int]:
    """Health once the server has noticed every departed client (or after 10 s)."""
    deadline = time.monotonic() + 10
    health = server.health()
    while health["tasks"] > tasks and time.monotonic() < deadline:
        time.sleep(0.05)
        health = server.health()
    return health


def abort_and_measure(server: Served, warmup: int, count: int) -> tuple[int, int, int]:
    """RSS (kB) after a warm-up of departed clients and after `count` more, and the tasks left."""
    idle = server.health()["tasks"]
    asyncio.run(leave_many(server.port, warmup))
    assert settle(server, idle)["tasks"] == idle
    start = server.rss_kb()
    asyncio.run(leave_many(server.port, count))
    after = settle(server, idle)
    end = server.rss_kb()
    assert after["tasks"] == idle, f"{after['tasks']} tasks remain, {idle} when idle"
    assert after["requests"] == 100  # the journal kept its last 100
    return start, end, after["tasks"]


def test_clients_that_leave_mid_stream_leave_nothing_behind(leaving_server: Served) -> None:
    start, end, _ = abort_and_measure(leaving_server, warmup=200, count=500)
    assert end - start < 8 * 1024, f"RSS grew from {start} kB to {end} kB over 500 departed clients"


@pytest.mark.slow
def test_ten_thousand_departed_clients_leave_nothing_behind(leaving_server: Served) -> None:
    start, end, tasks = abort_and_measure(leaving_server, warmup=2000, count=10_000)
    print(f"\nRSS {start} kB -> {end} kB after 10,000 departed clients; {tasks} tasks")
    assert end - start < 5 * 1024, f"RSS grew from {start} kB to {end} kB over 10,000 departed clients"


def test_a_server_in_a_thread_cancels_what_departed_clients_left() -> None:
    """The same through MockServer, the way the pytest fixture runs it: no task outlives its client."""
    with MockServer(LEAVING) as server:
        baseline = httpx2.get(server.url + "/__mockopper/health").json()["tasks"]
        asyncio.run(leave_many(server.port, 300, width=100))
        deadline = time.monotonic() + 10
        while (tasks := httpx2.get(server.url + "/__mockopper/health").json()["tasks"]) > baseline:
            assert time.monotonic() < deadline, f"{tasks} tasks remain, {baseline} before"
            time.sleep(0.05)
        outcomes = Counter(r.outcome for r in server.requests)
        assert outcomes["client_closed"] + outcomes["hang"] == 300, outcomes


# --- the journal and the continuation history are bounded -----------------------------------------


def test_the_journal_keeps_only_the_newest_requests(server_factory: Any) -> None:
    server = server_factory(journal_size=10)
    client = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0)
    for i in range(25):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": f"hi {i}"}])
    records = server.requests
    assert [r.seq for r in records] == list(range(16, 26))
    assert records[-1].request_body["messages"][0]["content"] == "hi 24"
    assert httpx2.get(server.url + "/__mockopper/requests").json()["requests"][0]["seq"] == 16


def test_the_continuation_history_keeps_only_the_newest_answers(server_factory: Any) -> None:
    server = server_factory(history_size=5)
    client = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0)
    ids = [client.responses.create(model="m", input=f"turn {i}").id for i in range(12)]
    assert len(server.app.sessions.default.history) <= 5
    with pytest.raises(openai.BadRequestError, match="not found"):
        client.responses.create(model="m", input="again", previous_response_id=ids[0])
    assert client.responses.create(model="m", input="again", previous_response_id=ids[-1]).output_text


SOAK = """
seed: 3
chaos: {rate: 0.001, statuses: [503]}
rules:
  - name: stream
    match: {stream: true}
    reply:
      text: "Streamed answer to {{ request.message }}, call {{ call }}."
  - name: text
    reply:
      text: "Answer to {{ request.message }}, call {{ call }}."
"""


async def soak(port: int, start: int, count: int) -> None:
    """`count` requests, each with content never sent before: chat (plain and streamed) and stored responses."""
    limits = httpx2.Limits(max_connections=20)
    async with httpx2.AsyncClient(base_url=f"http://127.0.0.1:{port}/v3/compat", limits=limits) as http:
        gate = asyncio.Semaphore(20)

        async def one(i: int) -> None:
            async with gate:
                if i % 3 == 2:
                    body: dict[str, Any] = {"model": "m", "input": f"soak {i}"}
                    response = await http.post("/responses", json=body, headers={"x-api-key": "k"})
                else:
                    body = {"model": "m", "stream": i % 3 == 1, "messages": [{"role": "user", "content": f"soak {i}"}]}
                    response = await http.post("/chat/completions", json=body, headers={"x-api-key": "k"})
                assert response.status_code in (200, 503), response.text

        await asyncio.gather(*(one(i) for i in range(start, start + count)))


@pytest.fixture
def soak_server(tmp_path: Path) -> Iterator[Served]:
    yield from serve(tmp_path, SOAK, "--journal-size", "50", "--history-size", "50")


def soak_and_measure(server: Served, warmup: int, count: int) -> tuple[int, int]:
    asyncio.run(soak(server.port, 0, warmup))
    start = server.rss_kb()
    asyncio.run(soak(server.port, warmup, count))
    end = server.rss_kb()
    health = server.health()
    assert health["requests"] == 50 and health["history"] <= 50, health
    return start, end


def test_a_soak_does_not_grow_memory(soak_server: Served) -> None:
    start, end = soak_and_measure(soak_server, warmup=300, count=700)
    assert end - start < 6 * 1024, f"RSS grew from {start} kB to {end} kB over 700 requests"


@pytest.mark.slow
def test_a_long_soak_does_not_grow_memory(soak_server: Served) -> None:
    # The warm-up fills every bounded store (journal, history, chaos counts) before the measure.
    start, end = soak_and_measure(soak_server, warmup=11_000, count=20_000)
    print(f"\nRSS {start} kB -> {end} kB over 20,000 requests")
    assert end - start < 2 * 1024, f"RSS grew from {start} kB to {end} kB over 20,000 requests"


def test_chaos_forgets_the_oldest_contents_it_counted() -> None:
    """Chaos counts every distinct request content (so that a retry draws again); the count is bounded."""
    from mockopper.conversation import Conversation, Message
    from mockopper.engine import Engine, State
    from mockopper.loader import load

    engine = Engine()
    scenario = load({"chaos": {"rate": 0.5, "statuses": [503]}, "rules": [{"reply": {"text": "ok"}}]})
    state = State(engine.compile(scenario))
    draws = [
        engine.decide(state, Conversation("chat", "m", [Message("user", f"x{i}")])).reply_kind for i in range(12_000)
    ]
    assert 0.4 < draws.count("error") / len(draws) < 0.6
    assert len(state.counters.chaos_seen) == 10_000
    retried = Conversation("chat", "m", [Message("user", "x11999")])  # recent: its count goes on
    fresh = State(engine.compile(scenario))
    engine.decide(fresh, Conversation("chat", "m", [Message("user", "x11999")]))
    assert engine.decide(state, retried).attempts == engine.decide(fresh, retried).attempts


async def big_requests(port: int, count: int, size: int) -> None:
    async with httpx2.AsyncClient(base_url=f"http://127.0.0.1:{port}/v3/compat") as http:
        gate = asyncio.Semaphore(10)

        async def one(i: int) -> None:
            async with gate:
                body = {"model": "m", "messages": [{"role": "user", "content": f"{i} " + "x" * size}]}
                response = await http.post("/chat/completions", json=body, headers={"x-api-key": "k"})
                assert response.status_code == 200

        await asyncio.gather(*(one(i) for i in range(count)))


@pytest.fixture
def plain_server(tmp_path: Path) -> Iterator[Served]:
    # Small journal and trace store: what is measured is the feed, not bounded stores filling up.
    yield from serve(tmp_path, "rules: [{reply: {text: ok}}]", "--journal-size", "50", "--trace-size", "50")


@pytest.mark.parametrize("count", [pytest.param(4000, marks=pytest.mark.slow), 600])
def test_an_inspector_that_stops_reading_does_not_grow_memory(plain_server: Served, count: int) -> None:
    """A live feed whose reader stalls (a suspended tab) holds a bounded backlog, not every record since.

    Each record carries its 40 kB request body: a feed that kept what it could not send would
    hold 24 MB after 600 of them.
    """
    stalled = socket.create_connection(("127.0.0.1", plain_server.port))
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        stalled.sendall(f"GET /__mockopper/events HTTP/1.1\r\nhost: 127.0.0.1:{plain_server.port}\r\n\r\n".encode())
        asyncio.run(big_requests(plain_server.port, 150, 40_000))  # fills the socket buffers
        start = plain_server.rss_kb()
        asyncio.run(big_requests(plain_server.port, count, 40_000))
        end = plain_server.rss_kb()
    finally:
        stalled.close()
    assert end - start < 10 * 1024, f"RSS grew from {start} kB to {end} kB with a stalled feed"
