"""Opper's own endpoints and headers under bad input: never a 500, always an error in the expected shape.

Bodies for /v3/spans are any JSON (and some that is not JSON), queries any text, the
X-Opper-* headers of a compat call any printable value; each answer is below 500 and,
when it is an error, Opper's `ErrorResponse` (the /v3 routes) or OpenAI's error body
(Chat Completions).
"""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockopper.plugin import Mockopper

AUTH = {"authorization": "Bearer test-key"}
ODD = ["", " ", "\x00", "\u2028", "é" * 50, "null", "2026-13-45T99:99:99Z", "2026-01-01T00:00:00Z", "{}", "x" * 3000]
text = st.one_of(st.sampled_from(ODD), st.text(max_size=40))
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), text)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4)
)
span_fields = ["name", "trace_id", "parent_id", "type", "input", "output", "error", "start_time", "end_time", "meta"]
span_bodies = st.one_of(
    json_values,
    st.dictionaries(st.sampled_from([*span_fields, "metadata", "tags", "extra"]), json_values, max_size=6),
    st.fixed_dictionaries({"name": text}, optional={f: json_values for f in span_fields[1:]}),
)
# Printable ASCII without surrounding spaces: what an HTTP client lets through.
header_value = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60).map(str.strip)
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def error_response(response: httpx2.Response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400 and response.status_code != 405:
        error = response.json()["error"]
        assert isinstance(error["code"], str) and isinstance(error["message"], str)


@pytest.fixture
def client(mockopper: Mockopper) -> Any:
    with httpx2.Client(base_url=mockopper.url, headers=AUTH) as client:
        yield client


@FUZZ
@given(body=span_bodies, raw=st.one_of(st.none(), st.binary(max_size=60)))
def test_span_bodies(client: Any, body: Any, raw: bytes | None) -> None:
    content = raw if raw is not None else json.dumps(body).encode()
    created = client.post("/v3/spans", content=content)
    error_response(created)
    span_id = created.json()["data"]["id"] if created.status_code == 200 else "unknown"
    error_response(client.patch(f"/v3/spans/{span_id}", content=content))
    error_response(client.get(f"/v3/spans/{span_id}"))
    if created.status_code == 200:
        trace = client.get(f"/v3/traces/{created.json()['data']['trace_id']}")
        assert trace.status_code == 200 and trace.json()["data"]["span_count"] >= 1


@FUZZ
@given(
    query=st.dictionaries(
        st.sampled_from(
            ["limit", "offset", "name", "type", "provider", "q", "sort", "order", "deprecated", "capability"]
        ),
        text,
        max_size=4,
    )
)
def test_list_queries(client: Any, query: dict[str, str]) -> None:
    error_response(client.get("/v3/traces", params=query))
    error_response(client.get("/v3/models", params=query))


@FUZZ
@given(
    headers=st.dictionaries(
        st.sampled_from(
            [
                "X-Opper-Guard-Input",
                "X-Opper-Guard-Output",
                "X-Opper-Guard-Action",
                "X-Opper-Parent-Span-Id",
                "X-Opper-Name",
            ]
        ),
        header_value,
        max_size=5,
    ),
    message=st.one_of(text, st.sampled_from(["mail jane@example.com", "key sk-" + "a" * 30, "you idiot"])),
    stream=st.booleans(),
)
def test_opper_headers_on_a_compat_call(client: Any, headers: dict[str, str], message: str, stream: bool) -> None:
    response = client.post(
        "/v3/compat/chat/completions",
        headers=headers,
        json={"model": "m", "messages": [{"role": "user", "content": message}], "stream": stream},
    )
    assert response.status_code < 500, response.text
    assert response.headers["x-opper-trace-id"]
    if response.status_code >= 400:
        assert set(response.json()["error"]) == {"message", "type", "param", "code"}
