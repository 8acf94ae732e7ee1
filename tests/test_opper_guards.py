"""Opper's guardrails (SPEC 7.4) on every surface, through the real SDKs, and the built-in detectors.

A blocked call must never show what the guard found: not in the error, the journal, the
admin API or the trace. The tests send recognisable values and look for them everywhere.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
from click.testing import CliRunner
from opper_schemas import check
from surfaces import ALL_APIS, STREAMING, SURFACES, Embeddings, Surface, each, each_mode

from mockopper.cli import main
from mockopper.loader import ScenarioError, load_text
from mockopper.opper.detectors import BUILTIN
from mockopper.plugin import Mockopper

EMAIL = "jane.doe@example.com"
CARD = "4111 1111 1111 1111"
SCENARIO = {
    "name": "guards",
    "rules": [
        {
            "name": "leak",
            "match": {"api": ALL_APIS, "message": "leak"},
            "reply": {"text": f"Write to bob@example.org or pay with {CARD}."},
        },
        {"name": "saw the address", "match": {"message": "@example.com"}, "reply": {"text": "I saw an address."}},
        {"name": "echo", "match": {"api": ALL_APIS}, "reply": {"text": "You said: {{ request.message }}"}},
    ],
}
TEXT_SURFACES = [s for s in SURFACES if s is not Embeddings]
TEXT_STREAMING = [s for s in STREAMING if s is not Embeddings]


def guard(side: str, checks: str, action: str | None = None) -> dict[str, str]:
    headers = {f"X-Opper-Guard-{side}": checks}
    if action is not None:
        headers["X-Opper-Guard-Action"] = action
    return headers


@pytest.fixture(autouse=True)
def scenario(mockopper: Mockopper) -> None:
    mockopper.load(SCENARIO)


def everything_recorded(mockopper: Mockopper) -> str:
    """The journal, the admin API's view of it, and every trace, as one text."""
    records = [r.to_dict() for r in mockopper.requests]
    admin = httpx2.get(mockopper.url + "/__mockopper/requests").text
    auth = {"authorization": "Bearer k"}
    traces = [httpx2.get(f"{mockopper.url}/v3/traces/{r['trace_id']}", headers=auth).text for r in records]
    return json.dumps(records, default=str) + admin + "".join(traces)


# --- input ---------------------------------------------------------------------------------


@each(SURFACES)
def test_an_input_block_is_the_surfaces_400_before_any_model(
    surface: type[Surface], connect: Any, mockopper: Mockopper
) -> None:
    client = connect(surface)
    with pytest.raises(client.error_class(400)) as refused:
        client.send(f"please mail {EMAIL} today", headers=guard("Input", "pii", "block"))
    assert client.status_of(refused.value) == 400
    message = str(refused.value)
    assert "input guard 'pii'" in message and "an email address" in message
    assert EMAIL not in message
    [record] = mockopper.requests
    assert (record.status, record.reply_kind, record.rule, record.attempts) == (400, "blocked", None, [])
    assert record.guard_findings[0]["kind"] == "email"
    assert EMAIL not in everything_recorded(mockopper)


@each(TEXT_SURFACES)
def test_input_redaction_happens_before_matching_and_templates(
    surface: type[Surface], connect: Any, mockopper: Mockopper
) -> None:
    reply = connect(surface).send(f"my address is {EMAIL}", headers=guard("Input", "pii", "redact"))
    # Unredacted, the message would match "saw the address"; redacted, the echo rule answers.
    assert reply.text == "You said: my address is ***"
    [record] = mockopper.requests
    assert record.rule == "echo"
    assert EMAIL not in everything_recorded(mockopper)


def test_input_redaction_reaches_the_embedded_text(mockopper: Mockopper) -> None:
    client = openai.OpenAI(base_url=mockopper.base_url, api_key="k", max_retries=0)
    redacted = client.embeddings.create(
        model="m", input=f"mail {EMAIL}", encoding_format="float", extra_headers=guard("Input", "pii", "redact")
    )
    plain = client.embeddings.create(model="m", input="mail ***", encoding_format="float")
    assert redacted.data[0].embedding == plain.data[0].embedding
    assert EMAIL not in json.dumps(mockopper.requests[0].request_body)


@each(SURFACES)
def test_input_flag_lets_the_call_through_and_records_the_finding(
    surface: type[Surface], connect: Any, mockopper: Mockopper
) -> None:
    reply = connect(surface).send(f"plain words, {EMAIL}", headers=guard("Input", "pii"))  # flag: the default
    if surface is not Embeddings:
        assert reply.text == "I saw an address."
    [record] = mockopper.requests
    where = "input[0]" if surface is Embeddings else "messages[0]"
    assert record.guard_findings == [{"check": "pii", "side": "input", "kind": "email", "where": where}]
    trace = httpx2.get(f"{mockopper.url}/v3/traces/{record.trace_id}", headers={"authorization": "Bearer k"}).json()
    [span] = check("GetTraceResponse", trace)["data"]["spans"]
    assert span["meta"]["guards"] == record.guard_findings
    [event] = trace["data"]["events"]
    assert (event["kind"], event["span_id"], event["data"]) == ("guardrail", span["id"], record.guard_findings[0])


# --- output --------------------------------------------------------------------------------


@each_mode(TEXT_SURFACES)
def test_output_redaction_reaches_every_chunk(
    surface: type[Surface], stream: bool, connect: Any, mockopper: Mockopper
) -> None:
    pieces: list[str] = []
    reply = connect(surface).send("leak it", stream=stream, pieces=pieces, headers=guard("Output", "pii", "redact"))
    assert reply.text == "Write to *** or pay with ***."
    if stream:
        assert len(pieces) > 1 and "".join(pieces) == reply.text
    [record] = mockopper.requests
    assert sorted(f["kind"] for f in record.guard_findings) == ["card_number", "email"]
    recorded = everything_recorded(mockopper)
    assert "bob@example.org" not in recorded and CARD not in recorded


@each(TEXT_SURFACES)
def test_an_output_block_answers_the_surfaces_400(surface: type[Surface], connect: Any, mockopper: Mockopper) -> None:
    client = connect(surface)
    with pytest.raises(client.error_class(400)) as refused:
        client.send("leak it", headers=guard("Output", "pii", "block"))
    message = str(refused.value)
    assert "output guard 'pii'" in message and "a payment card number" in message
    assert CARD not in message
    [record] = mockopper.requests
    assert (record.status, record.reply_kind, record.cost) == (400, "blocked", 0.0)
    assert CARD not in everything_recorded(mockopper)


@each(TEXT_STREAMING)
def test_an_output_block_ends_a_stream_with_its_error_event(
    surface: type[Surface], connect: Any, mockopper: Mockopper
) -> None:
    client = connect(surface)
    pieces: list[str] = []
    raised = client.in_stream_error(400)
    if raised is not None:
        with pytest.raises(raised) as failed:
            client.send("leak it", stream=True, pieces=pieces, headers=guard("Output", "pii", "block"))
        message = str(failed.value)
    else:
        reply = client.send("leak it", stream=True, pieces=pieces, headers=guard("Output", "pii", "block"))
        assert reply.error is not None and not reply.finished
        message = reply.error
    assert "output guard 'pii'" in message
    assert pieces == []  # the error comes before any content
    [record] = mockopper.requests
    assert record.outcome == "error" and CARD not in everything_recorded(mockopper)


# --- the headers, the scenario's guards ----------------------------------------------------


@each(SURFACES)
def test_an_unknown_guard_action_is_a_400_naming_the_header(
    surface: type[Surface], connect: Any, mockopper: Mockopper
) -> None:
    client = connect(surface)
    with pytest.raises(client.error_class(400)) as refused:
        client.send("hello", headers=guard("Input", "pii", "quarantine"))
    assert "X-Opper-Guard-Action" in str(refused.value) and "'quarantine'" in str(refused.value)


@each(SURFACES)
def test_an_unknown_check_is_a_400_naming_the_header(
    surface: type[Surface], connect: Any, mockopper: Mockopper
) -> None:
    client = connect(surface)
    with pytest.raises(client.error_class(400)) as refused:
        client.send("hello", headers=guard("Output", "pii, profanity"))
    assert "X-Opper-Guard-Output" in str(refused.value) and "'profanity'" in str(refused.value)


def test_the_openai_error_names_the_header_as_its_param(mockopper: Mockopper) -> None:
    client = openai.OpenAI(base_url=mockopper.base_url, api_key="k", max_retries=0)
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(
            model="m", messages=[{"role": "user", "content": "hi"}], extra_headers=guard("Input", "pii", "nope")
        )
    assert refused.value.param == "X-Opper-Guard-Action"  # type: ignore[attr-defined]
    assert refused.value.response.headers["x-should-retry"] == "false"


SCENARIO_GUARDS = {
    "name": "scenario guards",
    "guards": [
        {
            "name": "order ids",
            "type": "regex",
            "custom_patterns": [r"ORD-\d{6}"],
            "applies_to": "input",
            "action": "redact",
            "replacement": "[order]",
        },
        {"name": "no keys out", "type": "secrets", "applies_to": "output", "action": "block"},
    ],
    "rules": [
        {"name": "key", "match": {"message": "key"}, "reply": {"text": "Use sk-proj-abcdefghijklmnopqrstuvwx123."}},
        {"name": "echo", "reply": {"text": "Order noted: {{ request.message }}"}},
    ],
}


def test_scenario_guards_check_every_request(mockopper: Mockopper, client: openai.OpenAI) -> None:
    mockopper.load(SCENARIO_GUARDS)
    reply = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "cancel ORD-123456"}])
    assert reply.choices[0].message.content == "Order noted: cancel [order]"
    with pytest.raises(openai.BadRequestError) as refused:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "which key?"}])
    assert "output guard 'no keys out'" in str(refused.value) and "an API key" in str(refused.value)
    assert "sk-proj" not in str(refused.value)
    # A header naming a scenario guard runs it with the header's action.
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": "cancel ORD-654321"}],
            extra_headers=guard("Input", "order ids", "block"),
        )
    kinds = [[f["kind"] for f in r.guard_findings] for r in mockopper.requests]
    assert kinds == [["custom_patterns[0]"], ["api_key"], ["custom_patterns[0]"]]
    assert "ORD-654321" not in everything_recorded(mockopper)


# --- OpenResponses: the guard item --------------------------------------------------------


def test_openresponses_carries_a_guard_item_only_when_a_guard_ran(mockopper: Mockopper) -> None:
    client = openai.OpenAI(base_url=mockopper.base_url + "/openresponses", api_key="k", max_retries=0)
    plain = client.responses.with_raw_response.create(model="m", input=f"hello {EMAIL}")
    assert [item["type"] for item in json.loads(plain.text)["output"]] == ["message"]
    guarded = client.responses.with_raw_response.create(
        model="m", input=f"hello {EMAIL}", extra_headers=guard("Input", "pii,secrets")
    )
    body = check("ORResponse", json.loads(guarded.text))
    items = [item for item in body["output"] if item["type"] == "opper:guard"]
    assert [(i["name"], i["guard_type"], i["flagged"], i["status"]) for i in items] == [
        ("pii", "pii", True, "completed"),
        ("secrets", "secrets", False, "completed"),
    ]
    assert items[0]["findings"] == [{"check": "pii", "side": "input", "kind": "email", "where": "messages[0]"}]
    assert all(item["id"] for item in items)
    assert guarded.parse().output_text == "I saw an address."


def test_openresponses_streams_the_guard_item_as_an_output_item(mockopper: Mockopper) -> None:
    with httpx2.stream(
        "POST",
        mockopper.base_url + "/openresponses",
        headers={"authorization": "Bearer k", **guard("Output", "pii", "redact")},
        json={"model": "m", "input": "leak it", "stream": True},
    ) as response:
        text = response.read().decode()
    events = [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: {")]
    assert [e["sequence_number"] for e in events] == list(range(len(events)))
    added = [e["item"]["type"] for e in events if e["type"] == "response.output_item.added"]
    assert added == ["opper:guard", "message"]
    completed = events[-1]["response"]
    assert completed["status"] == "completed" and completed["output"][0]["flagged"] is True
    assert "bob@example.org" not in text and CARD not in text


# --- detectors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("check_name", "text", "kinds"),
    [
        ("pii", "reach me at jane.doe+news@mail.example.co.uk", ["email"]),
        ("pii", "call +46 70 123 45 67 or (555) 123-4567", ["phone_number", "phone_number"]),
        ("pii", "card 4242-4242-4242-4242", ["card_number"]),
        ("pii", "card 4242 4242 4242 4241", []),  # fails the Luhn check
        ("pii", "IBAN GB82 WEST 1234 5698 7654 32", ["iban"]),
        ("pii", "IBAN GB82 WEST 1234 5698 7654 33", []),  # fails mod-97
        ("pii", "order 1767225600123 on 2026-01-01 id 123e4567-e89b-12d3-a456-426614174000", []),
        ("secrets", "key sk-ant-api03-abcdefghijklmnopqrstuvwxyz", ["api_key"]),
        ("secrets", "aws AKIAIOSFODNN7EXAMPLE here", ["aws_access_key_id"]),
        ("secrets", "token ghp_" + "a" * 36, ["github_token"]),
        ("secrets", "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----", ["private_key"]),
        ("secrets", "skeleton sk-short and AKIA-ish words", []),
        ("toxicity", "you are an IDIOT, shut   up", ["toxic_language", "toxic_language"]),
        ("toxicity", "a stupidly good idea", []),
    ],
)
def test_the_builtin_detectors(check_name: str, text: str, kinds: list[str]) -> None:
    assert [kind for kind, _, _ in BUILTIN[check_name](text)] == kinds


def test_a_detector_reports_where_not_what() -> None:
    text = f"mail {EMAIL} now"
    [(kind, start, end)] = BUILTIN["pii"](text)
    assert (kind, text[start:end]) == ("email", EMAIL)


BAD_GUARDS = textwrap.dedent(
    """\
    name: bad guards
    guards:
      - name: ids
        type: regex
        custom_patterns:
          - "ID-[0-9]+"
          - "([a-z"
      - name: empty
        type: regex
    """
)


def test_a_guard_regex_that_does_not_compile_is_a_file_line_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as refused:
        load_text(BAD_GUARDS, "bad.yaml")
    problems = [str(p) for p in refused.value.problems]
    assert problems[0].startswith("bad.yaml:7: guards[0].custom_patterns[1]: invalid regular expression '([a-z'")
    assert problems[1] == "bad.yaml:8: guards[1]: a regex guard needs at least one pattern in custom_patterns"
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_GUARDS)
    for command in (["check", str(path)], ["serve", "--scenario", str(path), "--port", "0"]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code != 0
        assert f"{path}:7: guards[0].custom_patterns[1]: invalid regular expression" in result.output
