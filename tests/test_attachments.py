"""Images, PDFs, audio and files: read on every surface through the real SDKs, matched, templated,
counted as input tokens, and journaled in bounded form."""

from __future__ import annotations

import base64
import gc
import hashlib
import json
import sys
from typing import Any

import anthropic
import httpx2
import openai
import pytest
from google import genai
from google.genai import types

from mockopper import attachments
from mockopper.attachments import IMAGE_TOKENS, Attachment
from mockopper.bounding import bounded
from mockopper.journal import Journal, RequestRecord
from mockopper.plugin import Mockopper
from mockopper.server import MockServer

SCENARIO = """
name: attachments
rules:
  - name: describe
    match: {attachments: image, message: describe}
    reply:
      text: >-
        {{ request.attachments | length }} attachment(s); the first is a {{ request.attachment.type }}
        ({{ request.attachment.media_type }}, {{ request.attachment.bytes | default('?') }} bytes,
        from {{ request.attachment.source }})
  - name: list them
    match: {attachments: true, message: list}
    reply: {text: "{{ request.attachments | json }}"}
  - name: documents
    match: {attachments: [pdf, file]}
    reply:
      text: "a document: {{ request.attachment.media_type }} {{ request.attachment.filename | default('unnamed') }}"
  - name: listen
    match: {attachments: audio}
    reply: {text: "audio of {{ request.attachment.bytes | default('unknown') }} bytes"}
  - name: screenshot
    match: {tool_result: true, attachments: image}
    reply: {text: "the tool sent a {{ request.attachment.media_type }}"}
  - name: text only
    match: {attachments: false}
    reply: {text: no attachments}
"""

# Real file headers, so media types can also be told from the bytes.
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8
PDF = b"%PDF-1.7\n" + b"0123456789abcdef" * 700  # 11,209 bytes: one page by the estimate
WAV = b"RIFF\x24\x08\x00\x00WAVEfmt " + bytes(40_000)  # 40,016 bytes: three seconds by the estimate
GPT, CLAUDE, GEMINI = "openai/gpt-5.5", "anthropic/claude-sonnet-4-6", "gemini/gemini-2.5-pro"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def client(mockopper: Mockopper) -> openai.OpenAI:
    mockopper.load(SCENARIO)
    return openai.OpenAI(base_url=mockopper.base_url, api_key="test-key", max_retries=0)


@pytest.fixture
def claude(mockopper: Mockopper) -> anthropic.Anthropic:
    mockopper.load(SCENARIO)
    return anthropic.Anthropic(base_url=mockopper.base_url, api_key="test-key", max_retries=0)


@pytest.fixture
def google(mockopper: Mockopper) -> genai.Client:
    mockopper.load(SCENARIO)
    return genai.Client(api_key="test-key", http_options=types.HttpOptions(base_url=mockopper.base_url))


def chat(client: openai.OpenAI, *parts: Any, text: str = "describe this") -> Any:
    content = [{"type": "text", "text": text}, *parts]
    return client.chat.completions.create(model=GPT, messages=[{"role": "user", "content": content}])


# --- OpenAI Chat Completions -------------------------------------------------------------------


def test_chat_image_data_url_is_matched_templated_counted_and_journaled(
    client: openai.OpenAI, mockopper: Mockopper
) -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64," + b64(PNG), "detail": "high"}}
    result = chat(client, image)
    assert result.choices[0].message.content == (
        f"1 attachment(s); the first is a image (image/png, {len(PNG)} bytes, from inline)"
    )
    assert result.usage is not None
    assert result.usage.prompt_tokens == 4 + IMAGE_TOKENS  # "describe this" is 13 chars: 4 tokens
    [record] = mockopper.requests
    assert record.attachments == [
        {
            "type": "image",
            "media_type": "image/png",
            "bytes": len(PNG),
            "source": "inline",
            "digest": sha(PNG),
            "url": None,
            "file_id": None,
            "filename": None,
        }
    ]
    url = record.request_body["messages"][0]["content"][1]["image_url"]["url"]
    assert url == f"[image/png, {len(PNG)} bytes, {sha(PNG)}]"
    assert record.request_body["messages"][0]["content"][0] == {"type": "text", "text": "describe this"}


def test_chat_image_url_audio_and_files(client: openai.OpenAI, mockopper: Mockopper) -> None:
    by_url = chat(client, {"type": "image_url", "image_url": {"url": "https://example.com/cat.JPG?size=2"}})
    assert by_url.choices[0].message.content == (
        "1 attachment(s); the first is a image (image/jpeg, ? bytes, from url)"
    )
    audio = {"type": "input_audio", "input_audio": {"data": b64(WAV), "format": "wav"}}
    assert chat(client, audio, text="hear").choices[0].message.content == f"audio of {len(WAV)} bytes"
    pdf = {"type": "file", "file": {"file_data": "data:application/pdf;base64," + b64(PDF), "filename": "r.pdf"}}
    assert chat(client, pdf, text="read").choices[0].message.content == "a document: application/pdf r.pdf"
    uploaded = {"type": "file", "file": {"file_id": "file-abc123", "filename": "notes.csv"}}
    assert chat(client, uploaded, text="read").choices[0].message.content == "a document: text/csv notes.csv"
    kinds = [(a["type"], a["source"], a["url"], a["file_id"]) for r in mockopper.requests for a in r.attachments]
    assert kinds == [
        ("image", "url", "https://example.com/cat.JPG?size=2", None),
        ("audio", "inline", None, None),
        ("pdf", "inline", None, None),
        ("file", "file_id", None, "file-abc123"),
    ]


def test_an_image_url_without_a_known_extension_is_still_an_image(client: openai.OpenAI) -> None:
    result = chat(client, {"type": "image_url", "image_url": {"url": "https://example.com/render?id=7"}})
    assert result.choices[0].message.content == (
        "1 attachment(s); the first is a image (application/octet-stream, ? bytes, from url)"
    )


def test_chat_image_url_must_be_an_object(client: openai.OpenAI, mockopper: Mockopper) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        chat(client, {"type": "image_url", "image_url": "data:image/png;base64," + b64(PNG)})
    assert caught.value.body["message"] == (  # type: ignore[index]
        "Invalid type for 'messages[0].content[1].image_url': expected an object, but got a string instead."
    )
    assert caught.value.body["code"] == "invalid_type"  # type: ignore[index]
    # A refused request is journaled in bounded form too.
    [record] = mockopper.requests
    assert record.status == 400 and b64(PNG) not in json.dumps(record.request_body)


def test_undecodable_base64_is_accepted_with_an_unknown_size(client: openai.OpenAI, mockopper: Mockopper) -> None:
    result = chat(client, {"type": "image_url", "image_url": {"url": "data:image/png;base64,not*base64!"}})
    assert (
        result.choices[0].message.content == "1 attachment(s); the first is a image (image/png, ? bytes, from inline)"
    )
    [record] = mockopper.requests
    assert record.attachments[0]["bytes"] is None
    assert record.attachments[0]["digest"] == sha(b"not*base64!")  # the digest of the text as sent
    described = record.request_body["messages"][0]["content"][1]["image_url"]["url"]
    assert described == f"[image/png, not valid base64, {sha(b'not*base64!')}]"


def test_no_attachment_and_the_near_miss(client: openai.OpenAI, mockopper: Mockopper) -> None:
    assert chat(client, text="describe nothing").choices[0].message.content == "no attachments"
    mockopper.load({"rules": [{"name": "vision", "match": {"attachments": "image"}, "reply": {"text": "seen"}}]})
    mockopper.allow_unmatched = True
    with pytest.raises(openai.BadRequestError) as caught:
        chat(client, {"type": "file", "file": {"file_data": "data:application/pdf;base64," + b64(PDF)}})
    message = caught.value.body["message"]  # type: ignore[index]
    assert "'vision' - attachments: expected an image on the last user message, got a PDF (application/pdf)" in message
    with pytest.raises(openai.BadRequestError) as caught:
        chat(client)
    assert "attachments: expected an image on the last user message, got none" in caught.value.body["message"]  # type: ignore[index]


def test_an_earlier_message_s_attachment_is_not_the_last_one_s(client: openai.OpenAI) -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64," + b64(PNG)}}
    messages: Any = [
        {"role": "user", "content": [{"type": "text", "text": "describe this"}, image]},
        {"role": "assistant", "content": "A gradient."},
        {"role": "user", "content": "list what you saw"},
    ]
    result = client.chat.completions.create(model=GPT, messages=messages)
    assert result.choices[0].message.content == "no attachments"
    assert result.usage is not None and result.usage.prompt_tokens > IMAGE_TOKENS  # still in the prompt


# --- OpenAI Responses ----------------------------------------------------------------------------


def test_responses_input_image_and_input_file(client: openai.OpenAI, mockopper: Mockopper) -> None:
    result = client.responses.create(
        model=GPT,
        input=[
            {
                "role": "user",
                "content": [
                    {"type": "input_text", "text": "list them"},
                    {"type": "input_image", "image_url": "data:image/png;base64," + b64(PNG), "detail": "auto"},
                    {"type": "input_image", "file_id": "file-img", "detail": "low"},
                    {"type": "input_file", "filename": "r.pdf", "file_data": "data:application/pdf;base64," + b64(PDF)},
                    {"type": "input_file", "file_url": "https://example.com/spec.pdf"},
                    {"type": "input_file", "file_id": "file-doc", "filename": "a.txt"},
                ],
            }
        ],
    )
    listed = json.loads(result.output_text)
    assert [(a["type"], a["media_type"], a["source"], a["bytes"]) for a in listed] == [
        ("image", "image/png", "inline", len(PNG)),
        ("image", "application/octet-stream", "file_id", None),
        ("pdf", "application/pdf", "inline", len(PDF)),
        ("pdf", "application/pdf", "url", None),
        ("file", "text/plain", "file_id", None),
    ]
    assert listed[2]["digest"] == sha(PDF) and listed[2]["filename"] == "r.pdf"
    # 3 text tokens, two images, a one-page PDF twice (the URL's size is unknown: one page), a file of unknown size.
    assert result.usage is not None and result.usage.input_tokens == 3 + 2 * IMAGE_TOKENS + 2 * 1500
    body = json.dumps(mockopper.requests[0].request_body)
    assert b64(PNG) not in body and b64(PDF) not in body and f"[application/pdf, {len(PDF)} bytes" in body


def test_a_tool_result_s_image_counts_where_it_is(client: openai.OpenAI) -> None:
    first = client.responses.create(
        model=GPT,
        input="take a screenshot",
        tools=[{"type": "function", "name": "screenshot", "parameters": {"type": "object", "properties": {}}}],
    )
    output = [
        {"type": "input_text", "text": "here it is"},
        {"type": "input_image", "image_url": "data:image/png;base64," + b64(PNG)},
    ]
    result = client.responses.create(
        model=GPT,
        input=[
            {"type": "function_call", "call_id": "call_1", "name": "screenshot", "arguments": "{}"},
            {"type": "function_call_output", "call_id": "call_1", "output": output},  # type: ignore[typeddict-item]
        ],
        previous_response_id=first.id,
    )
    assert result.output_text == "the tool sent a image/png"


def test_continuation_keeps_the_attachment_but_not_its_payload(client: openai.OpenAI, mockopper: Mockopper) -> None:
    image = {"type": "input_image", "image_url": "data:image/png;base64," + b64(PNG), "detail": "auto"}
    first = client.responses.create(
        model=GPT, input=[{"role": "user", "content": [{"type": "input_text", "text": "describe"}, image]}]
    )
    second = client.responses.create(model=GPT, input="list what you saw", previous_response_id=first.id)
    assert second.output_text == "no attachments"  # the last user message carries none
    assert second.usage is not None and second.usage.input_tokens > IMAGE_TOKENS  # the image is still in the prompt
    turn = mockopper.server.app.sessions.default.history.get(first.id)
    assert turn is not None
    [kept] = [a for m in turn.messages for a in m.attachments]
    assert kept.size == len(PNG) and kept.digest == sha(PNG)
    assert all(len(str(v)) < 200 for v in kept.to_dict().values())  # metadata only, never the base64


# --- Anthropic -----------------------------------------------------------------------------------


def test_anthropic_image_and_document_blocks(claude: anthropic.Anthropic, mockopper: Mockopper) -> None:
    message = claude.messages.create(
        model=CLAUDE,
        max_tokens=100,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": b64(PNG)}},
                    {"type": "image", "source": {"type": "url", "url": "https://example.com/a.webp"}},
                    {
                        "type": "document",
                        "source": {"type": "base64", "media_type": "application/pdf", "data": b64(PDF)},
                    },
                    {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "a" * 400}},
                    {"type": "document", "source": {"type": "url", "url": "https://example.com/paper"}},
                    {"type": "text", "text": "list"},
                ],
            }
        ],
    )
    listed = json.loads(message.content[0].text)  # type: ignore[union-attr]
    assert [(a["type"], a["media_type"], a["source"], a["bytes"]) for a in listed] == [
        ("image", "image/png", "inline", len(PNG)),
        ("image", "image/webp", "url", None),
        ("pdf", "application/pdf", "inline", len(PDF)),
        ("file", "text/plain", "inline", 400),
        ("pdf", "application/octet-stream", "url", None),
    ]
    # "list" is one token; 2 images; 2 PDFs of one page; 400 bytes of text as 100 tokens.
    assert message.usage.input_tokens == 1 + 2 * IMAGE_TOKENS + 2 * 1500 + 100
    count = claude.messages.count_tokens(
        model=CLAUDE,
        messages=[
            {
                "role": "user",
                "content": [
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": b64(PNG)}},
                    {"type": "text", "text": "list"},
                ],
            }
        ],
    )
    assert count.input_tokens == 1 + IMAGE_TOKENS
    body = json.dumps([r.request_body for r in mockopper.requests])
    assert b64(PNG) not in body and b64(PDF) not in body


def test_anthropic_tool_result_with_an_image(claude: anthropic.Anthropic) -> None:
    message = claude.messages.create(
        model=CLAUDE,
        max_tokens=100,
        messages=[
            {"role": "user", "content": "look"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "tu_1", "name": "shot", "input": {}}]},
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "tu_1",
                        "content": [
                            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": b64(PNG)}}
                        ],
                    }
                ],
            },
        ],
    )
    assert message.content[0].text == "the tool sent a image/png"  # type: ignore[union-attr]


def test_anthropic_refuses_an_empty_image(claude: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        claude.messages.create(
            model=CLAUDE,
            max_tokens=100,
            messages=[
                {
                    "role": "user",
                    "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": ""}}],
                }
            ],
        )
    assert caught.value.body["error"]["message"] == "messages.0.content.0.image.source.base64: image cannot be empty"  # type: ignore[index]


# --- Google --------------------------------------------------------------------------------------


def test_gemini_part_from_bytes(google: genai.Client, mockopper: Mockopper) -> None:
    result = google.models.generate_content(
        model=GEMINI,
        contents=[types.Part.from_bytes(data=PNG, mime_type="image/png"), "describe this"],
    )
    assert result.text == f"1 attachment(s); the first is a image (image/png, {len(PNG)} bytes, from inline)"
    assert result.usage_metadata is not None and result.usage_metadata.prompt_token_count == 4 + IMAGE_TOKENS
    # google-genai encodes bytes URL-safe; the digest is the file's all the same.
    [record] = mockopper.requests
    assert record.attachments[0]["digest"] == sha(PNG)
    document = google.models.generate_content(
        model=GEMINI,
        contents=[
            types.Part.from_bytes(data=PDF, mime_type="application/pdf"),
            types.Part.from_uri(file_uri="https://example.com/report.pdf", mime_type="application/pdf"),
        ],
    )
    assert document.text == "a document: application/pdf unnamed"


def test_gemini_refuses_base64_that_does_not_decode(mockopper: Mockopper) -> None:
    mockopper.load(SCENARIO)
    body = {
        "contents": [{"parts": [{"text": "describe"}, {"inlineData": {"mimeType": "image/png", "data": "no*good"}}]}]
    }
    response = httpx2.post(
        f"{mockopper.base_url}/v1beta/models/{GEMINI}:generateContent", json=body, headers={"x-goog-api-key": "k"}
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT"
    assert error["message"] == (
        "Invalid value at 'contents[0].parts[1].inlineData.data' (TYPE_BYTES), Base64 decoding failed for \"no*good\""
    )


def test_interactions_image_content(google: genai.Client, mockopper: Mockopper) -> None:
    result = google.interactions.create(
        model="gemini-2.5-flash",
        input=[
            {"type": "text", "text": "describe this"},
            {"type": "image", "data": b64(PNG), "mime_type": "image/png"},
        ],
    )
    assert result.steps[-1].content[0].text == (  # type: ignore[union-attr]
        f"1 attachment(s); the first is a image (image/png, {len(PNG)} bytes, from inline)"
    )
    audio = google.interactions.create(
        model="gemini-2.5-flash",
        input=[{"type": "audio", "uri": "https://example.com/a.mp3", "mime_type": "audio/mpeg"}],
    )
    assert audio.steps[-1].content[0].text == "audio of unknown bytes"  # type: ignore[union-attr]


# --- the journal's bounded form ------------------------------------------------------------------


def test_a_large_image_and_a_large_body_are_journaled_small(mockopper: Mockopper) -> None:
    mockopper.load(SCENARIO)
    client = openai.OpenAI(base_url=mockopper.base_url, api_key="test-key", max_retries=0)
    big = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8192  # a 2 MB "JPEG"
    chat(client, {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64," + b64(big)}})
    long_text = "lorem ipsum " * 50_000  # 600,000 characters of prompt
    client.chat.completions.create(model=GPT, messages=[{"role": "user", "content": long_text}])
    first, second = mockopper.requests
    assert len(json.dumps(first.request_body)) < 1000 and first.notes == []
    kept = second.request_body["messages"][0]["content"]
    head, _, mark = kept.partition("… [")
    assert long_text.startswith(head) and mark == f"{len(long_text) - len(head)} more characters cut]"
    assert len(json.dumps(second.request_body, ensure_ascii=False)) <= 256 * 1024
    [note] = second.notes
    assert note.startswith("request body: about 600") and "past the journal's limit of 262144" in note
    # The admin API serves the same bounded form.
    listed = httpx2.get(mockopper.url + "/__mockopper/requests").json()["requests"]
    assert listed[0]["request_body"] == first.request_body and listed[0]["attachments"] == first.attachments
    assert listed[1]["notes"] == second.notes


def test_the_journal_body_limit_is_a_setting() -> None:
    with MockServer(SCENARIO, journal_body_limit=2048) as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0)
        client.chat.completions.create(model=GPT, messages=[{"role": "user", "content": "word " * 2000}])
        [record] = server.requests
    assert len(json.dumps(record.request_body, ensure_ascii=False)) <= 2048
    assert "past the journal's limit of 2048" in record.notes[0]
    # The response is bounded as well: the reply echoes nothing large here, so it is whole.
    assert record.response_body["choices"][0]["message"]["content"] == "no attachments"


# --- the pieces ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("", 0),
        ("YQ", 1),
        ("YQ==", 1),
        ("YWI", 2),
        ("YWI=", 2),
        ("YWJj", 3),
        ("YWJj\nZGVm\r\n", 6),  # line-wrapped (MIME)
        ("-_-_", 3),  # URL-safe
        ("YQ=", None),  # padding that does not complete a quantum
        ("Y", None),  # a length base64 cannot have
        ("YW=j", None),  # padding in the middle
        ("YWJj=", None),
        ("YWJj ZGVm", None),  # a space is not base64
        ("ÿWJj", None),
    ],
)
def test_the_size_follows_from_length_and_padding(text: str, size: int | None) -> None:
    assert attachments.inline(text).size == size


def test_the_digest_is_the_decoded_bytes_whatever_the_alphabet() -> None:
    data = bytes(range(256)) * 40
    encodings = [base64.b64encode(data), base64.urlsafe_b64encode(data), base64.encodebytes(data)]
    encodings.append(base64.b64encode(data).rstrip(b"="))
    assert {attachments.inline(e.decode()).digest for e in encodings} == {sha(data)}


@pytest.mark.parametrize(
    ("made", "kind", "media_type"),
    [
        (attachments.inline("data:image/webp;base64," + b64(PNG)), "image", "image/webp"),  # the data URL says
        (attachments.inline(b64(PNG), "IMAGE/GIF; x=1"), "image", "image/gif"),  # the vendor's field
        (attachments.inline(b64(b"hello"), filename="talk.MP3"), "audio", "audio/mpeg"),  # the file name
        (attachments.inline(b64(PDF)), "pdf", "application/pdf"),  # the bytes
        (attachments.inline(b64(WAV)), "audio", "audio/wav"),
        (attachments.inline(b64(b"just bytes")), "file", "application/octet-stream"),
        (attachments.inline(b64(b"just bytes"), kind="image"), "image", "application/octet-stream"),
        (attachments.inline("data:text/csv,a%2Cb"), "file", "text/csv"),
        (attachments.linked("https://example.com/v.mp4"), "file", "video/mp4"),
        (attachments.by_file_id("file-1", filename="deck.pdf"), "pdf", "application/pdf"),
    ],
)
def test_kinds_and_media_types(made: Attachment, kind: str, media_type: str) -> None:
    assert (made.kind, made.media_type) == (kind, media_type)


@pytest.mark.parametrize(
    ("attachment", "tokens"),
    [
        (Attachment("image", "image/png", size=30_000_000), 765),
        (Attachment("image", "image/png", source="url"), 765),
        (Attachment("pdf", "application/pdf", size=50_000), 1500),
        (Attachment("pdf", "application/pdf", size=50_001), 3000),
        (Attachment("pdf", "application/pdf", source="url"), 1500),
        (Attachment("audio", "audio/wav", size=160_000), 320),
        (Attachment("audio", "audio/wav", source="file_id"), 32),
        (Attachment("file", "text/plain", size=10), 3),
        (Attachment("file", "text/plain", source="url"), 0),
    ],
)
def test_the_token_estimate(attachment: Attachment, tokens: int) -> None:
    assert attachment.tokens() == tokens


def test_bounded_copies_nothing_it_does_not_change() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
    kept, note = bounded(body, 1024, payloads=True)
    assert kept is body and note is None
    wide = {"items": list(range(5000))}  # the structure alone is past the limit: its JSON's start
    kept, note = bounded(wide, 1024)
    assert note is not None and "kept as the start of its JSON" in note
    assert kept["head"] == json.dumps(wide, separators=(",", ":"))[:1024]


def test_scenario_mistakes_are_reported_at_load() -> None:
    from mockopper.loader import ScenarioError, load_text

    with pytest.raises(ScenarioError) as caught:
        load_text("rules:\n  - match: {attachments: imag}\n    reply: {text: hi}\n", "f.yaml")
    assert any("f.yaml:2: rules[0].match.attachments" in str(p) for p in caught.value.problems)
    with pytest.raises(ScenarioError) as caught:
        load_text("rules:\n  - reply: {text: '{{ request.attachment.size }}'}\n", "f.yaml")
    assert [str(p) for p in caught.value.problems] == [
        "f.yaml:2: rules[0].reply.text: {{ request.attachment.size }}: an attachment has no field 'size'; known "
        "fields are bytes, digest, file_id, filename, media_type, source, type, url"
    ]


def test_nothing_holds_a_payload_once_the_request_is_journaled() -> None:
    # Reference counting alone must free a request's payloads: a reference cycle would keep
    # each 27 MB body alive until the garbage collector happened to run.
    payload = "data:image/png;base64," + b64(PNG) * 4
    body = {"messages": [{"content": [{"image_url": {"url": payload}}]}]}
    baseline = sys.getrefcount(payload)
    record = RequestRecord(seq=1, time=0.0, method="POST", path="/chat/completions")
    gc.disable()
    try:
        with Journal().keeping(record, body):
            attachments.inline(payload)
        assert sys.getrefcount(payload) == baseline
    finally:
        gc.enable()
    assert record.request_body["messages"][0]["content"][0]["image_url"]["url"].startswith("[image/png, ")
