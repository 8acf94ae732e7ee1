"""`make bench`: mockopper against the ceiling of its stack and the fastest peer, in one run.

Targets, started side by side on this machine:
  mockopper    `mockopper serve` on bench/bench.yaml, with one rule more: a long fixed text
               (the same one aimock is given; bench.yaml's `long` draws its text anew every call)
  starlette    bench/bare.py, a bare Starlette app returning a fixed completion (same uvicorn settings)
  aimock       CopilotKit's aimock (npm @copilotkit/aimock), when node is present

A real load generator (wrk) drives them, the targets interleaved round by round, and the
script prints ratios. It also measures what only mockopper has: start-up time, the pytest
fixture's cost per test, memory while holding 1,000 streams and 1,000 sessions, pacing
accuracy, memory across hundreds of requests that each carry a 20 MB image (the journal
keeps payloads as descriptors, so it stays flat), what forwarding to an upstream adds per
request, and how closely a recorded stream replays.
Nothing here is a test: it prints numbers, it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import http.client
import itertools
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / ".work"
PY = sys.executable
TEXT = "Hello! This is a fixed answer from the benchmark scenario, long enough to stream in several chunks."
UVICORN_FLAGS = ["--log-level", "warning", "--no-access-log", "--lifespan", "off"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def post(url: str, body: dict[str, object], timeout: float = 30) -> bytes:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"authorization": "Bearer bench", "content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return bytes(response.read())


def wait_ready(url: str, deadline: float = 30) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            post(url, {"model": "m", "messages": [{"role": "user", "content": "hello"}]}, timeout=2)
            return
        except Exception:
            time.sleep(0.01)
    raise RuntimeError(f"{url} did not come up")


@dataclass
class Target:
    name: str
    command: list[str]
    port: int
    cwd: Path = ROOT
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        prefix = "/v1" if self.name == "aimock" else "/v3/compat"
        return f"http://127.0.0.1:{self.port}{prefix}/chat/completions"

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.command,
            cwd=self.cwd,
            env={**os.environ, **self.env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_ready(self.url)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)


def aimock_target() -> Target | None:
    if not shutil.which("node") or not shutil.which("npm"):
        return None
    package = WORK / "aimock"
    cli = package / "node_modules/@copilotkit/aimock/dist/cli.js"
    if not cli.exists():
        package.mkdir(parents=True, exist_ok=True)
        (package / "package.json").write_text('{"name": "bench-aimock", "private": true}')
        subprocess.run(["npm", "install", "--silent", "@copilotkit/aimock"], cwd=package, check=True)
    fixtures = package / "fixtures.json"
    fixtures.write_text(
        json.dumps(
            {
                "fixtures": [
                    {"match": {"userMessage": "long fixed"}, "response": {"content": LONG_TEXT}},
                    {"match": {"userMessage": "hello"}, "response": {"content": TEXT}},
                ]
            }
        )
    )
    port = free_port()
    return Target(
        "aimock", ["node", str(cli), "-p", str(port), "-f", str(fixtures), "-c", "20", "--log-level", "silent"], port
    )


def long_text() -> str:
    """A long fixed reply (about 900 chunks of 20 characters), the same every run."""
    from faker import Faker

    fake = Faker()
    fake.seed_instance(0)
    return str(fake.paragraph(nb_sentences=400))


LONG_TEXT = long_text()


@dataclass
class Load:
    rps: float
    p50_ms: float
    p99_ms: float


def wrk(url: str, body: dict[str, object], seconds: int, connections: int) -> Load:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write('wrk.method = "POST"\n')
        script.write(f"wrk.body = {json.dumps(json.dumps(body))}\n")
        script.write('wrk.headers["Content-Type"] = "application/json"\n')
        script.write('wrk.headers["Authorization"] = "Bearer bench"\n')
    out = subprocess.run(
        ["wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds}s", "--latency", "-s", script.name, url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(script.name)
    if "Non-2xx" in out:
        raise RuntimeError(f"{url} answered errors under load:\n{out}")

    def latency(label: str) -> float:
        m = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            return float("nan")
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return Load(rps, latency("50"), latency("99"))


def chat_body(text: str, stream: bool) -> dict[str, object]:
    return {"model": "openai/gpt-5.5", "messages": [{"role": "user", "content": text}], "stream": stream}


def measure_load(
    targets: list[Target], body: dict[str, object], rounds: int, seconds: int, connections: int
) -> dict[str, Load]:
    samples: dict[str, list[Load]] = {t.name: [] for t in targets}
    for _ in range(rounds):
        for target in targets:  # interleaved, so drift in the machine hits every target alike
            samples[target.name].append(wrk(target.url, body, seconds, connections))
    return {
        name: Load(
            statistics.median(s.rps for s in loads),
            statistics.median(s.p50_ms for s in loads),
            statistics.median(s.p99_ms for s in loads),
        )
        for name, loads in samples.items()
    }


def count_chunks(raw: bytes) -> int:
    return sum(1 for line in raw.split(b"\n") if line.startswith(b"data: {"))


def startup_seconds(runs: int = 7) -> float:
    """Median time from `mockopper serve` to its first answer, with bytecode cached as a user's would be."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    times = []
    for _ in range(runs + 1):  # the first writes the bytecode, and is not counted
        port = free_port()
        url = f"http://127.0.0.1:{port}/v3/compat/chat/completions"
        started = time.perf_counter()
        process = subprocess.Popen(
            [str(Path(PY).parent / "mockopper"), "serve", "--port", str(port), "--quiet"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        while True:
            try:
                post(url, chat_body("hi", False), timeout=1)
                break
            except Exception:
                time.sleep(0.002)
        times.append(time.perf_counter() - started)
        process.terminate()
        process.wait()
    return statistics.median(times[1:])


def fixture_overhead_ms(tests: int = 1000) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "test_with.py").write_text(
            f"import pytest\n@pytest.mark.parametrize('i', range({tests}))\ndef test_it(mockopper, i):\n    pass\n"
        )
        Path(tmp, "test_without.py").write_text(
            f"import pytest\n@pytest.mark.parametrize('i', range({tests}))\ndef test_it(i):\n    pass\n"
        )

        def run(name: str) -> float:
            started = time.perf_counter()
            subprocess.run(
                [PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", name], cwd=tmp, capture_output=True, check=True
            )
            return time.perf_counter() - started

        with_, without = [], []
        for _ in range(5):  # interleaved, so that the machine's load weighs on both alike
            with_.append(run("test_with.py"))
            without.append(run("test_without.py"))
        return (statistics.median(with_) - statistics.median(without)) / tests * 1000


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def _stream_client(port: int, text: str, results: list[int]) -> None:
    body = json.dumps(chat_body(text, True)).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"POST /v3/compat/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer b\r\n"
        b"content-type: application/json\r\nconnection: close\r\ncontent-length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )
    await writer.drain()
    data = await reader.read()
    writer.close()
    results.append(data.count(b"data: {"))


def peak_rss_holding_streams(target: Target, streams: int = 1000) -> tuple[int, int, int]:
    """Server RSS (KiB) before, and at peak while `streams` paced streams are open; complete streams."""
    assert target.process is not None
    pid = target.process.pid
    before = rss_kb(pid)
    peak = before
    results: list[int] = []

    async def main() -> None:
        nonlocal peak
        tasks = [asyncio.create_task(_stream_client(target.port, "held", results)) for _ in range(streams)]
        while not all(t.done() for t in tasks):
            peak = max(peak, rss_kb(pid))
            await asyncio.sleep(0.05)
        await asyncio.gather(*tasks)

    asyncio.run(main())
    complete = sum(1 for r in results if r > 10)
    return before, peak, complete


def rss_with_sessions(target: Target, sessions: int = 1000) -> tuple[int, int, int]:
    """Server RSS (KiB) before and after `sessions` sessions each answered a conversation; sessions alive."""
    assert target.process is not None
    before = rss_kb(target.process.pid)
    url = f"http://127.0.0.1:{target.port}/v3/compat/responses"
    for i in range(sessions):
        request = urllib.request.Request(
            url,
            json.dumps({"model": "openai/gpt-5.5", "input": f"hello from session {i}"}).encode(),
            {"authorization": "Bearer b", "content-type": "application/json", "x-mockopper-session": f"s{i}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
    with urllib.request.urlopen(f"http://127.0.0.1:{target.port}/__mockopper/health", timeout=10) as response:
        alive = int(json.loads(response.read())["sessions"])
    return before, rss_kb(target.process.pid), alive


def pacing_accuracy(target: Target, runs: int = 5) -> tuple[float, float, int, float]:
    """Inter-chunk gap error against the scripted 20 ms interval, measured at the client."""
    errors: list[float] = []
    ttft_errors: list[float] = []

    async def one() -> None:
        body = json.dumps(chat_body("paced", True)).encode()
        reader, writer = await asyncio.open_connection("127.0.0.1", target.port)
        writer.write(
            b"POST /v3/compat/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer b\r\n"
            b"content-type: application/json\r\nconnection: close\r\ncontent-length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
            + body
        )
        await writer.drain()
        loop = asyncio.get_running_loop()
        sent = loop.time()
        stamps: list[float] = []
        buffer = b""
        while True:
            data = await reader.read(65536)
            if not data:
                break
            now = loop.time()
            buffer += data
            while b'"content":"' in buffer:
                index = buffer.index(b'"content":"')
                buffer = buffer[index + 11 :]
                stamps.append(now)
        writer.close()
        stamps = stamps[1:]  # the first "content" is the role chunk's empty string
        ttft_errors.append(abs((stamps[0] - sent) * 1000 - 50))
        errors.extend(abs((b - a) * 1000 - 20) for a, b in itertools.pairwise(stamps))

    for _ in range(runs):
        asyncio.run(one())
    errors.sort()
    return statistics.median(errors), errors[int(len(errors) * 0.95)], len(errors), statistics.median(ttft_errors)


def rss_with_large_images(target: Target, requests: int, megabytes: int) -> tuple[int, int, int, float, int]:
    """Server RSS (KiB) before, at peak (sampled every 10 ms) and after `requests` chat requests, each
    carrying a `megabytes` MB PNG as a data URL; the mean seconds per request; the body's size."""
    assert target.process is not None
    pid = target.process.pid
    for _ in range(20):  # settle the allocator on ordinary traffic first
        post(target.url, chat_body("hello", False))
    before = rss_kb(pid)
    image = base64.b64encode(b"\x89PNG\r\n\x1a\n" + os.urandom(megabytes * 1_000_000 - 8))
    content = [{"type": "text", "text": "describe #0000"}, {"type": "image_url", "image_url": {"url": ""}}]
    template = json.dumps({"model": "openai/gpt-5.5", "messages": [{"role": "user", "content": content}]})
    head, tail = template.encode().split(b'"url": ""')
    peak = before
    running = True

    def sample() -> None:
        nonlocal peak
        while running:
            peak = max(peak, rss_kb(pid))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    try:
        for i in range(requests):  # every body differs: in its text, and in the image's last character
            last = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"[i % 26 : i % 26 + 1]
            url = b'"url": "data:image/png;base64,' + image[:-1] + last + b'"'
            body = head.replace(b"#0000", b"#%04d" % i) + url + tail
            request = urllib.request.Request(
                target.url, body, {"authorization": "Bearer bench", "content-type": "application/json"}
            )
            with urllib.request.urlopen(request, timeout=120) as response:
                response.read()
    finally:
        running = False
        sampler.join()
    seconds = (time.perf_counter() - started) / requests
    return before, peak, rss_kb(pid), seconds, len(body)


def image_section(args: argparse.Namespace) -> tuple[str, float]:
    """The large-image memory row, measured on a fresh server of its own; and the growth in MiB."""
    target = Target("mockopper", mockopper_command(0), 0)
    target.port = free_port()
    target.command = mockopper_command(target.port)
    target.start()
    try:
        before, peak, after, seconds, body = rss_with_large_images(target, args.images, args.image_mb)
    finally:
        target.stop()
    growth = (after - before) / 1024
    row = (
        f"| RSS across {args.images} requests with a {args.image_mb} MB image ({body / 1e6:.1f} MB body) | "
        f"{before / 1024:.0f} MiB before -> {peak / 1024:.0f} MiB peak -> {after / 1024:.0f} MiB after "
        f"({growth:+.0f} MiB), {seconds * 1000:.0f} ms per request |"
    )
    return row, growth


def served_scenario() -> Path:
    """bench.yaml with a first rule that streams LONG_TEXT as it is, as aimock does."""
    WORK.mkdir(exist_ok=True)
    rule = (
        "rules:\n  - name: long fixed\n    match: {message: long fixed}\n"
        f"    reply:\n      text: {json.dumps(LONG_TEXT)}\n      stream: {{chunk: 20}}\n"
    )
    served = WORK / "bench.yaml"
    served.write_text((HERE / "bench.yaml").read_text().replace("rules:\n", rule, 1))
    return served


def mockopper_command(port: int) -> list[str]:
    return [
        str(Path(PY).parent / "mockopper"),
        "serve",
        "--scenario",
        str(served_scenario()),
        "--port",
        str(port),
        "--quiet",
    ]


def forwarding_overhead(direct: Target, proxy: Target, requests: int = 600) -> tuple[float, float]:
    """Median latency (ms) of a non-streamed chat request straight to the upstream and through the proxy,
    one at a time on kept-alive connections, interleaved."""
    body = json.dumps(chat_body("hello", False))
    headers = {"authorization": "Bearer bench", "content-type": "application/json"}
    times: dict[str, list[float]] = {"direct": [], "proxy": []}
    connections = {
        "direct": http.client.HTTPConnection("127.0.0.1", direct.port),
        "proxy": http.client.HTTPConnection("127.0.0.1", proxy.port),
    }
    for i in range(requests + 50):
        for name, connection in connections.items():
            started = time.perf_counter()
            connection.request("POST", "/v3/compat/chat/completions", body, headers)
            response = connection.getresponse()
            response.read()
            assert response.status == 200, response.status
            if i >= 50:  # after a warm-up
                times[name].append((time.perf_counter() - started) * 1000)
    for connection in connections.values():
        connection.close()
    return statistics.median(times["direct"]), statistics.median(times["proxy"])


async def _stream_offsets(port: int, text: str) -> list[float]:
    """When each content chunk of a streamed chat reply arrived, in ms from sending the request."""
    body = json.dumps(chat_body(text, True)).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    loop = asyncio.get_running_loop()
    sent = loop.time()
    writer.write(
        b"POST /v3/compat/chat/completions HTTP/1.1\r\nhost: x\r\nauthorization: Bearer b\r\n"
        b"content-type: application/json\r\nconnection: close\r\ncontent-length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )
    await writer.drain()
    offsets: list[float] = []
    while True:
        data = await reader.read(65536)
        if not data:
            break
        now = (loop.time() - sent) * 1000
        offsets += [now] * len(_CONTENT.findall(data))  # a content delta that is not empty
    writer.close()
    return offsets


_CONTENT = re.compile(rb'"content":"(?!")')


def replay_accuracy(upstream: Target, runs: int = 20) -> tuple[float, float, int, int]:
    """Record a paced stream through `mockopper record`, replay it `runs` times: the error of each chunk's
    arrival against its recorded offset (median and p95, ms), the chunks compared, and the chunks recorded."""
    import yaml

    recording = WORK / "recorded.yaml"
    recording.unlink(missing_ok=True)
    base = f"http://127.0.0.1:{upstream.port}/v3/compat"
    mockopper = str(Path(PY).parent / "mockopper")
    recorder = Target("recorder", [mockopper, "record", "--upstream", base, "--out", str(recording), "--quiet"], 0)
    recorder.port = free_port()
    recorder.command += ["--port", str(recorder.port)]
    recorder.start()
    try:
        asyncio.run(_stream_offsets(recorder.port, "record me"))
        deadline = time.monotonic() + 10
        while "record me" not in (recording.read_text() if recording.exists() else ""):
            assert time.monotonic() < deadline, "the recording was not written"
            time.sleep(0.01)
    finally:
        recorder.stop()
    rules = yaml.safe_load(recording.read_text())["rules"]
    [recorded] = [r for r in rules if r["match"].get("message", {}).get("equals") == "record me"]
    at_ms = recorded["reply"]["stream"]["at_ms"]
    replay = Target("replay", [mockopper, "serve", "--scenario", str(recording), "--quiet"], 0)
    replay.port = free_port()
    replay.command += ["--port", str(replay.port)]
    replay.start()
    errors: list[float] = []
    try:
        for _ in range(runs):
            got = asyncio.run(_stream_offsets(replay.port, "record me"))
            assert len(got) == len(at_ms), (len(got), len(at_ms))
            errors.extend(abs(a - b) for a, b in zip(got, at_ms, strict=True))
    finally:
        replay.stop()
    errors.sort()
    return statistics.median(errors), errors[int(len(errors) * 0.95)], len(errors), len(at_ms)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=4, help="length of each wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per measurement")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--no-aimock", action="store_true", help="skip aimock even if node is present")
    parser.add_argument("--images", type=int, default=200, help="requests carrying a large image, for memory")
    parser.add_argument("--image-mb", type=int, default=20, help="size of that image in MB")
    parser.add_argument("--only-images", action="store_true", help="measure only memory across large images")
    args = parser.parse_args()
    if args.only_images:
        print(image_section(args)[0])
        return
    if not shutil.which("wrk"):
        sys.exit("make bench needs wrk (Debian: apt install wrk)")
    WORK.mkdir(exist_ok=True)

    mock = Target("mockopper", mockopper_command(0), 0)
    mock.port = free_port()
    mock.command = mockopper_command(mock.port)
    bare = Target("starlette", [PY, "-m", "uvicorn", "bare:app", "--port", "0", *UVICORN_FLAGS], 0, cwd=HERE)
    bare.port = free_port()
    bare.command[bare.command.index("0")] = str(bare.port)
    targets = [mock, bare]
    mock.start()
    bare.start()

    peer = None if args.no_aimock else aimock_target()
    if peer is not None:
        peer.start()
        targets.append(peer)

    try:
        chunks = {t.name: count_chunks(post(t.url, chat_body("hello", True))) for t in targets}
        long_chunks = {
            t.name: count_chunks(post(t.url, chat_body("long fixed", True))) for t in targets if t.name != "starlette"
        }
        drawn_chunks = count_chunks(post(mock.url, chat_body("long", True)))
        print(
            f"# mockopper bench  (python {sys.version.split()[0]}, {os.cpu_count()} cpus, wrk -c"
            f"{args.connections}, {args.rounds}x{args.seconds}s interleaved)"
        )
        print(f"chunks per streamed reply: {chunks}; long reply: {long_chunks}")
        plain = measure_load(targets, chat_body("hello", False), args.rounds, args.seconds, args.connections)
        streamed = measure_load(targets, chat_body("hello", True), args.rounds, args.seconds, args.connections)
        long_targets = [t for t in targets if t.name != "starlette"]
        long = measure_load(long_targets, chat_body("long fixed", True), args.rounds, args.seconds, 8)
        drawn = measure_load([mock], chat_body("long", True), args.rounds, args.seconds, 8)["mockopper"]
        start = startup_seconds()
        overhead = fixture_overhead_ms()
    finally:
        for target in targets:
            target.stop()
    # Memory and pacing on a fresh server, alone on the machine.
    fresh = Target("mockopper", [*mock.command], free_port())
    fresh.command[fresh.command.index(str(mock.port))] = str(fresh.port)
    fresh.start()
    try:
        before, peak, complete = peak_rss_holding_streams(fresh)
        median_err, p95_err, gaps, ttft_err = pacing_accuracy(fresh)
    finally:
        fresh.stop()
    fresh.port = free_port()
    fresh.command[fresh.command.index("--port") + 1] = str(fresh.port)
    fresh.start()
    try:
        sessions_before, sessions_after, sessions_alive = rss_with_sessions(fresh)
    finally:
        fresh.stop()
    images_row, image_growth = image_section(args)
    # Record and replay: a forwarding proxy in front of a fresh upstream, then a recording replayed.
    upstream = Target("mockopper", [*mock.command], free_port())
    upstream.command[upstream.command.index(str(mock.port))] = str(upstream.port)
    (WORK / "forward.yaml").write_text("rules: []\n")
    proxy = Target(
        "proxy",
        [
            str(Path(PY).parent / "mockopper"),
            "serve",
            "--scenario",
            str(WORK / "forward.yaml"),
            "--upstream",
            f"http://127.0.0.1:{upstream.port}/v3/compat",
            "--port",
            "0",
            "--quiet",
        ],
        free_port(),
    )
    proxy.command[proxy.command.index("0")] = str(proxy.port)
    upstream.start()
    proxy.start()
    try:
        direct_ms, proxied_ms = forwarding_overhead(upstream, proxy)
        replay_median, replay_p95, replay_chunks, recorded_chunks = replay_accuracy(upstream)
    finally:
        proxy.stop()
        upstream.stop()

    def row(label: str, results: dict[str, Load]) -> None:
        m = results["mockopper"]
        cells = [f"{m.rps:8.0f} req/s  p50 {m.p50_ms:6.2f} ms  p99 {m.p99_ms:6.2f} ms"]
        for other in ("starlette", "aimock"):
            if other in results:
                o = results[other]
                cells.append(
                    f"{other} {o.rps:8.0f} req/s (x{m.rps / o.rps:4.2f}), p50 {o.p50_ms:.2f} ms, p99 {o.p99_ms:.2f} ms"
                )
        print(f"| {label} | " + " | ".join(cells) + " |")

    print()
    row("chat, non-streamed", plain)
    row("chat, streamed", streamed)
    for name, result in long.items():
        print(
            f"| long stream, chunks/s | {name}: {result.rps * long_chunks[name]:,.0f} chunks/s "
            f"({result.rps:.1f} streams/s x {long_chunks[name]} chunks) |"
        )
    print(
        f"| long stream, Faker text drawn anew each call | mockopper: {drawn.rps * drawn_chunks:,.0f} chunks/s "
        f"({drawn.rps:.1f} streams/s x {drawn_chunks} chunks) |"
    )
    print(f"| serve start -> first answer | {start:.3f} s |")
    print(f"| pytest fixture, added per test | {overhead:.2f} ms |")
    print(
        f"| RSS holding 1,000 streams | {before / 1024:.0f} MiB fresh -> {peak / 1024:.0f} MiB peak, "
        f"{complete}/1000 complete |"
    )
    print(
        f"| RSS with 1,000 sessions | {sessions_before / 1024:.0f} MiB -> {sessions_after / 1024:.0f} MiB, "
        f"{sessions_alive} sessions alive |"
    )
    print(
        f"| pacing (interval 20 ms, ttft 50 ms) | gap error median {median_err:.2f} ms, p95 {p95_err:.2f} ms "
        f"over {gaps} gaps; ttft error median {ttft_err:.2f} ms |"
    )
    print(images_row)
    print(
        f"| forwarding (non-streamed chat, one at a time) | direct p50 {direct_ms:.2f} ms, through "
        f"`serve --upstream` p50 {proxied_ms:.2f} ms: +{proxied_ms - direct_ms:.2f} ms per request |"
    )
    print(
        f"| replayed chunk offsets vs recorded | error median {replay_median:.2f} ms, p95 {replay_p95:.2f} ms "
        f"over {replay_chunks} chunks ({recorded_chunks}-chunk stream, 20 replays) |"
    )
    print()
    ratio = plain["mockopper"].rps / plain["starlette"].rps
    print(f"targets: non-streamed >= 0.8 x starlette: {ratio:.2f}", end="")
    if "aimock" in plain:
        m_long, a_long = long["mockopper"], long["aimock"]
        long_ratio = (m_long.rps * long_chunks["mockopper"]) / (a_long.rps * long_chunks["aimock"])
        print(
            f"; non-streamed >= 1.2 x aimock: {plain['mockopper'].rps / plain['aimock'].rps:.2f}"
            f"; streamed >= 1.5 x aimock: {streamed['mockopper'].rps / streamed['aimock'].rps:.2f}"
            f"; long stream chunks/s >= 1.5 x aimock: {long_ratio:.2f}",
            end="",
        )
        for label, results in (("non-streamed", plain), ("streamed", streamed), ("long", long)):
            m, a = results["mockopper"], results["aimock"]
            print(
                f"; {label} p50/p99 <= aimock: {m.p50_ms:.2f}/{m.p99_ms:.2f} vs {a.p50_ms:.2f}/{a.p99_ms:.2f}",
                end="",
            )
    print(f"; start < 0.5 s: {start:.3f}; fixture < 2 ms: {overhead:.2f}", end="")
    print(f"; image RSS growth < 100 MiB: {image_growth:.0f}", end="")
    print(f"; forwarding < 1 ms: {proxied_ms - direct_ms:.2f}; replay p95 < 2 ms: {replay_p95:.2f}")


if __name__ == "__main__":
    main()
