"""Opper's tracing (SPEC 7.2): trace ids on every compat response, /v3/spans and /v3/traces, and the
`opperai` SDK (spans, traces, `opper.trace(...)`, its `Agent`) pointed at the server root.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import anthropic
import httpx2
import openai
import opperai
import pytest
from opper_schemas import check
from opperai.agent import Agent, tool
from surfaces import ALL_APIS, SURFACES, Surface, each, each_mode

from mockopper.plugin import Mockopper

AUTH = {"authorization": "Bearer test-key"}
SCENARIO = {
    "name": "tracing",
    "clock": 1767225600,  # 2026-01-01T00:00:00Z
    "rules": [{"name": "answer", "match": {"api": ALL_APIS}, "reply": {"text": "Traced answer."}}],
}


@pytest.fixture(autouse=True)
def scenario(mockopper: Mockopper) -> None:
    mockopper.load(SCENARIO)


@pytest.fixture
def opper(mockopper: Mockopper) -> opperai.Opper:
    return opperai.Opper(base_url=mockopper.url, api_key="test-key")


def trace_of(mockopper: Mockopper, trace_id: str) -> dict[str, Any]:
    response = httpx2.get(f"{mockopper.url}/v3/traces/{trace_id}", headers=AUTH)
    assert response.status_code == 200, response.text
    return check("GetTraceResponse", response.json())["data"]  # type: ignore[no-any-return]


# --- compat calls --------------------------------------------------------------------------


@each_mode(SURFACES)
def test_every_call_gets_a_trace_with_its_span(
    surface: type[Surface], stream: bool, connect: Any, mockopper: Mockopper
) -> None:
    reply = connect(surface).send("trace this call", model="openai/gpt-5.5", stream=stream)
    trace_id = reply.headers["x-opper-trace-id"]
    assert str(uuid.UUID(trace_id)) == trace_id
    trace = trace_of(mockopper, trace_id)
    [span] = trace["spans"]
    [record] = mockopper.requests
    assert (trace["id"], trace["span_count"], trace["name"]) == (trace_id, 1, f"{surface.api} openai/gpt-5.5")
    assert span["input"] == "trace this call"
    assert span["meta"]["model"] == "openai/gpt-5.5" and span["meta"]["cost"] == record.cost
    assert set(span["meta"]["usage"]) == {"input_tokens", "output_tokens"}
    if surface.api != "embeddings":
        assert span["output"] == "Traced answer."
    assert span["status"] == "ok" and span["type"] == "generation"
    # On the scenario clock: a call of its own starts its trace at the clock.
    assert span["start_time"] == trace["start_time"] == "2026-01-01T00:00:00.000Z"


def test_trace_ids_depend_on_the_request_and_its_count_only(connect: Any, mockopper: Mockopper) -> None:
    from surfaces import Chat

    client = connect(Chat)

    def ids() -> list[str]:
        return [client.send(text).headers["x-opper-trace-id"] for text in ("one", "two", "one")]

    first = ids()
    assert len(set(first)) == 3  # the second "one" is another call: another trace
    mockopper.reset()
    assert ids() == first
    mockopper.reset()
    client.send("unrelated traffic")
    assert client.send("two").headers["x-opper-trace-id"] == first[1]


def test_a_call_with_a_parent_header_joins_that_span_s_trace(opper: opperai.Opper, mockopper: Mockopper) -> None:
    root = opper.spans.create(name="pipeline", start_time="2026-03-01T12:00:00Z")
    client = openai.OpenAI(base_url=mockopper.base_url, api_key="k", max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model="openai/gpt-5.5",
        messages=[{"role": "user", "content": "child call"}],
        extra_headers={"X-Opper-Parent-Span-Id": root.id.upper(), "X-Opper-Name": "summarize"},
    )
    assert raw.headers["x-opper-trace-id"] == root.trace_id
    trace = opper.traces.get(root.trace_id)
    assert (trace.name, trace.span_count) == ("pipeline", 2)
    child = trace.spans[1]
    assert (child.name, child.parent_id, child.trace_id) == ("summarize", root.id, root.trace_id)
    assert child.start_time == "2026-03-01T12:00:00.001Z"  # its parent's start, plus a ms per span before it


def test_span_uuid_in_the_body_attaches_the_call(opper: opperai.Opper, mockopper: Mockopper) -> None:
    root = opper.spans.create(name="agent run")
    claude = anthropic.Anthropic(base_url=mockopper.base_url, api_key="k", max_retries=0)
    raw = claude.messages.with_raw_response.create(
        model="anthropic/claude-sonnet-4-6",
        max_tokens=50,
        messages=[{"role": "user", "content": "hi"}],
        extra_body={"span_uuid": root.id, "tags": {"team": "search"}},
    )
    assert raw.headers["x-opper-trace-id"] == root.trace_id
    spans = opper.traces.get(root.trace_id).spans
    assert [(s.name, s.parent_id, s.tags) for s in spans] == [
        ("agent run", None, None),
        ("messages anthropic/claude-sonnet-4-6", root.id, {"team": "search"}),
    ]


def test_a_parent_unknown_here_still_groups_its_children(connect: Any, mockopper: Mockopper) -> None:
    from surfaces import Chat

    parent = "9b2f6a3e-1c4d-4e5f-8a7b-0c1d2e3f4a5b"
    client = connect(Chat)
    traces = {client.send(t, headers={"X-Opper-Parent-Span-Id": parent}).headers["x-opper-trace-id"] for t in "ab"}
    [trace_id] = traces
    assert [s["parent_id"] for s in trace_of(mockopper, trace_id)["spans"]] == [parent, parent]


@each(SURFACES)
def test_a_parent_header_that_is_not_a_uuid_is_a_400_naming_it(
    surface: type[Surface], connect: Any, mockopper: Mockopper
) -> None:
    client = connect(surface)
    with pytest.raises(client.error_class(400)) as refused:
        client.send("hello", headers={"X-Opper-Parent-Span-Id": "span-42"})
    assert "X-Opper-Parent-Span-Id" in str(refused.value) and "'span-42' is not a UUID" in str(refused.value)
    assert client.headers_of(refused.value)["x-opper-trace-id"]  # errors are traced too


def test_refused_calls_are_traced_with_their_error(mockopper: Mockopper) -> None:
    response = httpx2.post(mockopper.base_url + "/chat/completions", json={"model": "m", "messages": []})
    assert response.status_code == 401
    [span] = trace_of(mockopper, response.headers["x-opper-trace-id"])["spans"]
    assert span["status"] == "error" and "Missing API key" in span["error"]


# --- /v3/spans -----------------------------------------------------------------------------


def test_spans_round_trip_through_the_sdk_in_opper_s_shapes(opper: opperai.Opper, mockopper: Mockopper) -> None:
    created = opper.spans.create(
        name="retrieve", type="retrieval", input="the query", meta={"k": 3}, tags={"env": "test"}
    )
    raw = httpx2.get(f"{mockopper.url}/v3/spans/{created.id}", headers=AUTH).json()
    assert check("GetSpanResponse", raw)["data"]["status"] == "in_progress"
    opper.spans.update(created.id, output="three documents", end_time="2026-01-01T00:00:01Z", meta={"k": 4})
    span = opper.spans.get(created.id)
    assert (span.name, span.type, span.input, span.output) == ("retrieve", "retrieval", "the query", "three documents")
    assert (span.meta, span.tags, span.status, span.end_time) == (
        {"k": 4},
        {"env": "test"},
        "ok",
        "2026-01-01T00:00:01Z",
    )
    child = opper.spans.create(name="rank", parent_id=created.id)
    assert (child.trace_id, child.parent_id) == (created.trace_id, created.id)
    body = httpx2.post(mockopper.url + "/v3/spans", headers=AUTH, json={"name": "raw", "type": "x"}).json()
    assert set(check("CreateSpanResponse", body)["data"]) == {"id", "trace_id", "name", "type"}
    opper.spans.delete(child.id)
    with pytest.raises(opperai.NotFoundError):
        opper.spans.get(child.id)
    assert opper.traces.get(created.trace_id).span_count == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": ""}, "name"),
        ({"name": 7}, "name"),
        ({"name": "s", "start_time": "yesterday"}, "start_time"),
        ({"name": "s", "end_time": 1767225600}, "end_time"),
        ({"name": "s", "meta": "not an object"}, "meta"),
        ({"name": "s", "tags": ["a"]}, "tags"),
        ({"name": "s", "parent_id": 12}, "parent_id"),
        ({"name": "s", "input": {"q": 1}}, "input"),
    ],
)
def test_a_malformed_span_is_a_400_naming_the_field(mockopper: Mockopper, body: dict[str, Any], field: str) -> None:
    response = httpx2.post(mockopper.url + "/v3/spans", headers=AUTH, json=body)
    assert response.status_code == 400
    error = check("ErrorResponse", response.json())["error"]
    assert error["details"] == {"field": field} and f"'{field}'" in error["message"]


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"[1, 2]", b"", b'{"name": NaN}', b'{"name": "\\ud800"}', b'{"name": "\xff"}', b"[" * 100_000],
)
def test_a_span_body_that_is_not_a_json_object_is_a_400(mockopper: Mockopper, raw: bytes) -> None:
    response = httpx2.post(mockopper.url + "/v3/spans", headers=AUTH, content=raw)
    assert response.status_code == 400 and check("ErrorResponse", response.json())


def test_updating_a_span_checks_its_fields(opper: opperai.Opper, mockopper: Mockopper) -> None:
    span = opper.spans.create(name="s")
    response = httpx2.patch(f"{mockopper.url}/v3/spans/{span.id}", headers=AUTH, json={"output": ["x"]})
    assert response.status_code == 400 and response.json()["error"]["details"] == {"field": "output"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v3/spans/nope"),
        ("PATCH", "/v3/spans/nope"),
        ("DELETE", "/v3/spans/nope"),
        ("GET", "/v3/traces/nope"),
        ("DELETE", "/v3/traces/nope"),
    ],
)
def test_unknown_spans_and_traces_are_404s(mockopper: Mockopper, method: str, path: str) -> None:
    response = httpx2.request(method, mockopper.url + path, headers=AUTH, json={} if method == "PATCH" else None)
    assert response.status_code == 404
    error = check("ErrorResponse", response.json())["error"]
    assert error["code"] == "not_found" and "'nope'" in error["message"]


def test_tracing_endpoints_need_a_key_and_say_so_in_opper_s_shape(mockopper: Mockopper) -> None:
    for method, path in (("POST", "/v3/spans"), ("GET", "/v3/traces"), ("GET", "/v3/spans/x")):
        response = httpx2.request(method, mockopper.url + path, json={"name": "x"} if method == "POST" else None)
        assert (
            response.status_code == 401 and check("ErrorResponse", response.json())["error"]["code"] == "unauthorized"
        )
    assert httpx2.put(mockopper.url + "/v3/spans", headers=AUTH).status_code == 405


# --- /v3/traces ----------------------------------------------------------------------------


def test_traces_list_newest_first_with_limit_offset_and_name(opper: opperai.Opper, mockopper: Mockopper) -> None:
    for name in ("Nightly import", "checkout", "nightly export"):
        opper.spans.create(name=name)
    page = opper.traces.list(limit=2)
    assert [t.name for t in page.data] == ["nightly export", "checkout"]
    assert page.meta == {"total": 3, "limit": 2, "offset": 0}
    assert [t.name for t in opper.traces.list(limit=2, offset=2).data] == ["Nightly import"]
    assert [t.name for t in opper.traces.list(name="NIGHTLY").data] == ["nightly export", "Nightly import"]
    assert all(t.span_count == 1 and t.status == "in_progress" for t in page.data)
    response = httpx2.get(mockopper.url + "/v3/traces?limit=lots", headers=AUTH)
    assert response.status_code == 400 and response.json()["error"]["details"] == {"field": "limit"}


def test_reset_forgets_every_trace(opper: opperai.Opper, mockopper: Mockopper) -> None:
    span = opper.spans.create(name="before the reset")
    assert httpx2.post(mockopper.url + "/__mockopper/reset").status_code == 200
    assert opper.traces.list().data == []
    with pytest.raises(opperai.NotFoundError):
        opper.spans.get(span.id)


def test_the_store_is_bounded(server_factory: Any) -> None:
    server = server_factory(SCENARIO, trace_size=3)
    opper = opperai.Opper(base_url=server.url, api_key="k")
    for i in range(5):
        opper.spans.create(name=f"trace {i}")
    assert [t.name for t in opper.traces.list().data] == ["trace 4", "trace 3", "trace 2"]


def test_calls_past_the_bound_keep_the_newest_traces_however_often_they_are_read(server_factory: Any) -> None:
    # Calls that begin traces are put in them when the store is next read: reading after
    # every call and reading once at the end must give the same traces, ids and all.
    def run(read_each_time: bool) -> tuple[list[str], list[Any]]:
        server = server_factory(SCENARIO, trace_size=3)
        client = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0)
        opper = opperai.Opper(base_url=server.url, api_key="k")
        ids = []
        for i in range(5):
            raw = client.chat.completions.with_raw_response.create(
                model="openai/gpt-5.5", messages=[{"role": "user", "content": f"call {i}"}]
            )
            ids.append(raw.headers["x-opper-trace-id"])
            if read_each_time:
                opper.traces.list()
        listed = [t.id for t in opper.traces.list().data]
        assert listed == ids[:1:-1]  # the newest three, newest first
        return ids, [opper.traces.get(t) for t in listed]

    assert run(read_each_time=False) == run(read_each_time=True)


def test_a_journal_entry_shows_the_span_id_its_trace_has(mockopper: Mockopper) -> None:
    client = openai.OpenAI(base_url=mockopper.base_url, api_key="k", max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model="openai/gpt-5.5", messages=[{"role": "user", "content": "which span?"}]
    )
    # The journal read first (the trace not yet asked for), then the trace.
    [entry] = httpx2.get(mockopper.url + "/__mockopper/requests").json()["requests"]
    [span] = trace_of(mockopper, raw.headers["x-opper-trace-id"])["spans"]
    assert str(uuid.UUID(entry["span"]["id"])) == entry["span"]["id"] == span["id"] == mockopper.requests[0].span_id
    assert entry["span"]["input"] == span["input"] == "which span?"


def test_span_text_is_clipped_past_8_kib_whether_written_at_once_or_when_read(mockopper: Mockopper) -> None:
    long_answer = "word " * 2000  # 10,000 characters
    mockopper.load(
        {
            "name": "long texts",
            "rules": [
                {"name": "long", "match": {"message": "long answer"}, "reply": {"text": long_answer}},
                {"name": "short", "reply": {"text": "Short answer."}},
            ],
        }
    )
    client = openai.OpenAI(base_url=mockopper.base_url, api_key="k", max_retries=0)
    long_prompt = "tell me " * 3000  # a body the memo does not keep
    cases = [("long answer", long_answer), (long_prompt, "Short answer."), ("short", "Short answer.")]
    for prompt, answer in cases:
        raw = client.chat.completions.with_raw_response.create(
            model="openai/gpt-5.5", messages=[{"role": "user", "content": prompt}]
        )
        assert raw.parse().choices[0].message.content == answer
        [span] = trace_of(mockopper, raw.headers["x-opper-trace-id"])["spans"]
        for shown, text in ((span["input"], prompt), (span["output"], answer)):
            if len(text) <= 8192:
                assert shown == text
            else:
                assert shown == text[:8192] + f"... [{len(text) - 8192} more characters]"
        assert span["meta"]["usage"]["output_tokens"] == raw.parse().usage.completion_tokens


def test_trace_and_traced_calls_with_the_sdk(opper: opperai.Opper, mockopper: Mockopper) -> None:
    client = openai.OpenAI(base_url=mockopper.base_url, api_key="k", max_retries=0)
    with opper.trace("pipeline", input="a question") as root:
        with opper.trace("step") as step:
            client.chat.completions.create(
                model="openai/gpt-5.5",
                messages=[{"role": "user", "content": "inner"}],
                extra_headers={"X-Opper-Parent-Span-Id": step.id},
            )
        opper.embeddings.create(input="a question", model="openai/text-embedding-3-small")
    assert step.trace_id == root.trace_id
    trace = opper.traces.get(root.trace_id)
    assert (trace.name, trace.status) == ("pipeline", "ok")
    assert [(s.name, s.parent_id) for s in trace.spans] == [
        ("pipeline", None),
        ("step", root.id),
        ("chat openai/gpt-5.5", step.id),
    ]
    assert all(s.end_time for s in trace.spans) and trace.duration_ms is not None


def test_the_agent_runs_traced_on_the_default_scenario(mockopper: Mockopper) -> None:
    mockopper.load("default.yaml")
    calls: list[str] = []

    @tool
    def lookup_weather(city: str) -> str:
        """The weather in a city."""
        calls.append(city)
        return f"sunny in {city}"

    agent = Agent(
        name="forecaster",
        instructions="Answer with the weather.",
        tools=[lookup_weather],
        model="anthropic/claude-sonnet-4-6",
        client={"api_key": "test-key", "base_url": mockopper.url},
    )

    async def run() -> Any:
        try:
            return await agent.run("What is the weather in Lund?")
        finally:
            # The SDK has no close(): close its HTTP client on the loop that opened it.
            http = agent._or_client._client._async_client
            if http is not None:
                await http.aclose()

    result = asyncio.run(run())
    assert len(calls) == 1 and calls[0] in str(result.output)
    opper = opperai.Opper(base_url=mockopper.url, api_key="test-key")
    [listed] = opper.traces.list(name="forecaster").data
    trace = opper.traces.get(listed.id)
    root = trace.spans[0]
    assert (root.name, root.parent_id, root.output) == ("forecaster", None, str(result.output))
    by_type: dict[str | None, list[Any]] = {}
    for span in trace.spans[1:]:
        by_type.setdefault(span.type, []).append(span)
    generations, tools = by_type["generation"], by_type["tool"]
    assert len(generations) == 2 and all(g.parent_id == root.id for g in generations)
    assert all(g.name == "forecaster" and g.meta["model"] == "anthropic/claude-sonnet-4-6" for g in generations)
    assert [t.name for t in tools] == ["lookup_weather"] and tools[0].output == f"sunny in {calls[0]}"
    assert all(r.api == "openresponses" and r.trace_id == listed.id for r in mockopper.requests)


def test_clock_real_puts_spans_on_the_wall_clock(connect: Any, mockopper: Mockopper) -> None:
    from surfaces import Chat

    from mockopper.opper.spans import parse_time

    mockopper.load({**SCENARIO, "clock": "real"})
    before = int(time.time() * 1000)
    reply = connect(Chat).send("what time is it")
    [span] = trace_of(mockopper, reply.headers["x-opper-trace-id"])["spans"]
    started = parse_time(span["start_time"])
    assert started is not None and started >= before - 1000  # a lower bound only: the wall clock, not the scenario's
