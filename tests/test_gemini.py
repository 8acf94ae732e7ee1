"""The Gemini API (generateContent, its stream, countTokens, embeddings, models) through `google-genai`."""

from __future__ import annotations

import asyncio
import json
import math

import httpx2
import pytest
from google import genai
from google.genai import errors, types
from pydantic import BaseModel

from mockopper.plugin import Mockopper
from mockopper.server import MockServer

SCENARIO = """
name: gemini
rules:
  - name: weather
    match: {message: weather, tools: [get_weather]}
    reply:
      tool_calls:
        - name: get_weather
          arguments: {city: Paris}
  - name: after weather
    match: {tool_result: get_weather}
    reply:
      text: "It is {{ tool_result }} in Paris."
  - name: any tool
    match: {message: pick, tools: true}
    reply: {tool_calls: auto}
  - name: no tools
    match: {message: pick}
    reply: {text: no tools offered}
  - name: person
    match: {json_schema: true}
    reply: {json: auto}
  - name: pirate
    match: {system: pirate}
    reply: {text: Arr!}
  - name: thinking
    match: {message: think}
    reply:
      reasoning: Six times seven is forty-two.
      text: The answer is 42.
  - name: echo
    match: {message: {startswith: echo}}
    reply: {text: "{{ request.model }} / turn {{ request.turn }} / team {{ request.tags.team }}"}
  - name: long
    match: {message: long}
    reply: {text: one two three, finish_reason: length, usage: {input_tokens: 11, output_tokens: 7}}
  - name: filtered
    match: {message: unsafe}
    reply: {text: "", finish_reason: content_filter}
  - name: hello
    match: {message: hello}
    reply:
      text: Hello from mockopper!
"""

WEATHER = types.Tool(
    function_declarations=[
        types.FunctionDeclaration(
            name="get_weather",
            description="Current weather for a city",
            parameters=types.Schema(
                type=types.Type.OBJECT, properties={"city": types.Schema(type=types.Type.STRING)}, required=["city"]
            ),
        )
    ]
)


def client_for(mockopper: Mockopper, **options: object) -> genai.Client:
    """The official SDK, unchanged but for its base URL."""
    return genai.Client(api_key="test-key", http_options=types.HttpOptions(base_url=mockopper.base_url, **options))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def google(mockopper_server: MockServer) -> genai.Client:
    """One client for the module (building one costs ~70 ms); held here because the SDK closes
    its HTTP client when the Client object is collected."""
    return genai.Client(api_key="test-key", http_options=types.HttpOptions(base_url=mockopper_server.base_url))


@pytest.fixture
def gemini(mockopper: Mockopper, google: genai.Client) -> genai.Client:
    mockopper.load(SCENARIO)
    return google


def raw(mockopper: Mockopper, path: str, body: object, **headers: str) -> httpx2.Response:
    return httpx2.post(mockopper.base_url + path, json=body, headers={"x-goog-api-key": "k", **headers})


def user(text: str) -> list[dict[str, object]]:
    return [{"role": "user", "parts": [{"text": text}]}]


# --- generateContent ---------------------------------------------------------------------


def test_generate_content(gemini: genai.Client, mockopper: Mockopper) -> None:
    result = gemini.models.generate_content(model="gemini-2.5-flash", contents="hello there")
    assert result.text == "Hello from mockopper!"
    candidate = (result.candidates or [])[0]
    assert candidate.finish_reason == types.FinishReason.STOP
    assert result.model_version == "gemini-2.5-flash"
    usage = result.usage_metadata
    assert usage is not None
    assert usage.candidates_token_count == 6  # ceil(21 chars / 4)
    assert usage.total_token_count == (usage.prompt_token_count or 0) + 6
    [record] = mockopper.requests
    assert (record.api, record.rule, record.status, record.model) == ("gemini", "hello", 200, "gemini-2.5-flash")
    assert record.path == "/v3/compat/v1/models/gemini-2.5-flash:generateContent"


@pytest.mark.parametrize(
    ("model", "seen"),
    [
        ("gemini-2.5-flash", "gemini-2.5-flash"),
        ("models/gemini-2.5-flash", "gemini-2.5-flash"),
        ("gemini/gemini-2.5-pro", "gemini/gemini-2.5-pro"),
        ("models/gemini/gemini-2.5-pro", "gemini/gemini-2.5-pro"),
    ],
)
def test_model_ids_match_without_the_models_prefix(gemini: genai.Client, model: str, seen: str) -> None:
    result = gemini.models.generate_content(model=model, contents="echo")
    assert result.text == f"{seen} / turn 1 / team "
    assert result.model_version == seen


@pytest.mark.parametrize(
    ("version", "prefix"), [("v1beta", "/v1beta/models/"), ("v1", "/v1/models/"), ("", "/models/")]
)
def test_every_api_version_answers(mockopper: Mockopper, version: str, prefix: str) -> None:
    mockopper.load(SCENARIO)
    client = client_for(mockopper, api_version=version)
    assert client.models.generate_content(model="gemini-2.5-flash", contents="hello").text == "Hello from mockopper!"
    assert mockopper.requests[0].path == f"/v3/compat{prefix}gemini-2.5-flash:generateContent"


def test_vercel_form_keeps_the_provider_in_the_model_id(gemini: genai.Client, mockopper: Mockopper) -> None:
    # @ai-sdk/google calls {baseURL}/{id}:generateContent when the id has a slash.
    response = raw(mockopper, "/v1beta/google/gemini-2.5-flash:generateContent", {"contents": user("echo")})
    assert response.status_code == 200
    body = response.json()
    assert body["candidates"][0]["content"]["parts"] == [{"text": "google/gemini-2.5-flash / turn 1 / team "}]
    assert body["modelVersion"] == "google/gemini-2.5-flash"
    assert mockopper.requests[0].model == "google/gemini-2.5-flash"


def test_system_instruction_is_matched(gemini: genai.Client) -> None:
    config = types.GenerateContentConfig(system_instruction="You are a pirate.")
    assert gemini.models.generate_content(model="m", contents="ahoy", config=config).text == "Arr!"


def test_snake_case_fields_are_read_like_camel_case(gemini: genai.Client, mockopper: Mockopper) -> None:
    body = {
        "contents": user("ahoy"),
        "system_instruction": {"parts": [{"text": "Talk like a pirate."}]},
        "generation_config": {"max_output_tokens": 50},
    }
    response = raw(mockopper, "/v1beta/models/m:generateContent", body)
    assert response.json()["candidates"][0]["content"]["parts"][0]["text"] == "Arr!"


@pytest.mark.parametrize(
    ("text", "finish"),
    [
        ("long", types.FinishReason.MAX_TOKENS),
        ("unsafe", types.FinishReason.SAFETY),
        ("hello", types.FinishReason.STOP),
    ],
)
def test_finish_reasons(gemini: genai.Client, text: str, finish: types.FinishReason) -> None:
    result = gemini.models.generate_content(model="m", contents=text)
    assert (result.candidates or [])[0].finish_reason == finish


def test_scripted_usage(gemini: genai.Client) -> None:
    usage = gemini.models.generate_content(model="m", contents="long").usage_metadata
    assert usage is not None
    assert (usage.prompt_token_count, usage.candidates_token_count, usage.total_token_count) == (11, 7, 18)


def test_reasoning_becomes_thought_parts(gemini: genai.Client) -> None:
    result = gemini.models.generate_content(model="m", contents="think")
    parts = (result.candidates or [])[0].content.parts or []  # type: ignore[union-attr]
    assert [(p.thought, p.text) for p in parts] == [
        (True, "Six times seven is forty-two."),
        (None, "The answer is 42."),
    ]
    assert result.text == "The answer is 42."  # the SDK leaves thoughts out of .text
    usage = result.usage_metadata
    assert usage is not None and usage.thoughts_token_count == 8  # ceil(29 / 4)
    assert usage.total_token_count == (usage.prompt_token_count or 0) + 8 + (usage.candidates_token_count or 0)


# --- streaming ---------------------------------------------------------------------------


def test_stream_text(gemini: genai.Client, mockopper: Mockopper) -> None:
    chunks = list(gemini.models.generate_content_stream(model="gemini-2.5-flash", contents="hello"))
    assert [c.text for c in chunks] == ["Hello", " from", " mockopper!"]
    finishes = [(c.candidates or [])[0].finish_reason for c in chunks]
    assert finishes == [None, None, types.FinishReason.STOP]
    assert [c.usage_metadata is not None for c in chunks] == [False, False, True]
    assert chunks[-1].usage_metadata.candidates_token_count == 6  # type: ignore[union-attr]
    [record] = mockopper.requests
    assert record.stream and record.query == {"alt": "sse"}


def test_candidate_count_gives_that_many_candidates_streamed_or_not(gemini: genai.Client) -> None:
    config = types.GenerateContentConfig(candidate_count=3)
    result = gemini.models.generate_content(model="gemini-2.5-flash", contents="hello", config=config)
    assert [c.index for c in result.candidates or []] == [0, 1, 2]
    assert {"".join(p.text or "" for p in c.content.parts or []) for c in result.candidates or [] if c.content} == {
        "Hello from mockopper!"
    }
    chunks = list(gemini.models.generate_content_stream(model="gemini-2.5-flash", contents="hello", config=config))
    assert all([c.index for c in chunk.candidates or []] == [0, 1, 2] for chunk in chunks)
    assert [c.finish_reason for c in chunks[-1].candidates or []] == [types.FinishReason.STOP] * 3


@pytest.mark.parametrize("count", [0, 9])
def test_a_candidate_count_out_of_range_is_a_400(gemini: genai.Client, count: int) -> None:
    with pytest.raises(errors.ClientError) as info:
        gemini.models.generate_content(
            model="gemini-2.5-flash", contents="hello", config=types.GenerateContentConfig(candidate_count=count)
        )
    assert info.value.code == 400 and "candidate_count" in (info.value.message or "")


def test_stream_reasoning_comes_first_as_thoughts(gemini: genai.Client) -> None:
    chunks = list(gemini.models.generate_content_stream(model="m", contents="think"))
    parts = [p for c in chunks for p in (c.candidates or [])[0].content.parts or []]  # type: ignore[union-attr]
    thoughts = "".join(p.text or "" for p in parts if p.thought)
    text = "".join(p.text or "" for p in parts if not p.thought)
    assert (thoughts, text) == ("Six times seven is forty-two.", "The answer is 42.")
    assert parts[0].thought


def test_stream_without_alt_sse_is_one_json_array(gemini: genai.Client, mockopper: Mockopper) -> None:
    response = raw(mockopper, "/v1beta/models/gemini-2.5-flash:streamGenerateContent", {"contents": user("hello")})
    assert response.headers["content-type"] == "application/json"
    chunks = response.json()
    assert isinstance(chunks, list) and len(chunks) == 3
    assert "".join(c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks) == "Hello from mockopper!"
    assert chunks[-1]["candidates"][0]["finishReason"] == "STOP"
    assert chunks[-1]["usageMetadata"]["candidatesTokenCount"] == 6


def test_stream_is_plain_sse_without_event_lines_or_done(gemini: genai.Client, mockopper: Mockopper) -> None:
    response = raw(mockopper, "/v1beta/models/m:streamGenerateContent?alt=sse", {"contents": user("hello")})
    assert response.headers["content-type"] == "text/event-stream"
    blocks = [b for b in response.text.split("\n\n") if b]
    assert all(b.startswith("data: {") for b in blocks)
    assert len(blocks) == 3


# --- tools -------------------------------------------------------------------------------


def test_function_call(gemini: genai.Client, mockopper: Mockopper) -> None:
    config = types.GenerateContentConfig(tools=[WEATHER])
    result = gemini.models.generate_content(model="m", contents="what's the weather?", config=config)
    [call] = result.function_calls or []
    assert (call.name, call.args) == ("get_weather", {"city": "Paris"})
    assert (result.candidates or [])[0].finish_reason == types.FinishReason.STOP
    assert mockopper.requests[0].reply_kind == "tool_calls"


def test_streamed_function_call_arrives_whole_in_one_chunk(gemini: genai.Client) -> None:
    config = types.GenerateContentConfig(tools=[WEATHER])
    chunks = list(gemini.models.generate_content_stream(model="m", contents="weather?", config=config))
    [chunk] = chunks
    [call] = chunk.function_calls or []
    assert (call.name, call.args) == ("get_weather", {"city": "Paris"})
    assert (chunk.candidates or [])[0].finish_reason == types.FinishReason.STOP


@pytest.mark.parametrize(
    "response",
    [
        {"result": "sunny, 21C"},
        {"name": "get_weather", "content": "sunny, 21C"},  # the Vercel provider's form
    ],
)
def test_two_step_function_loop(gemini: genai.Client, mockopper: Mockopper, response: dict[str, str]) -> None:
    config = types.GenerateContentConfig(tools=[WEATHER])
    contents: list[types.Content] = [types.Content(role="user", parts=[types.Part(text="weather in Paris?")])]
    first = gemini.models.generate_content(model="m", contents=contents, config=config)  # type: ignore[arg-type]
    call = (first.function_calls or [])[0]
    contents.append((first.candidates or [])[0].content)  # type: ignore[arg-type]
    contents.append(
        types.Content(
            role="user",
            parts=[types.Part.from_function_response(name=call.name or "", response=response)],
        )
    )
    second = gemini.models.generate_content(model="m", contents=contents, config=config)  # type: ignore[arg-type]
    assert second.text == "It is sunny, 21C in Paris."
    assert [r.rule for r in mockopper.requests] == ["weather", "after weather"]


def test_automatic_function_calling_runs_the_loop(gemini: genai.Client, mockopper: Mockopper) -> None:
    seen: list[str] = []

    def get_weather(city: str) -> str:
        """Current weather for a city."""
        seen.append(city)
        return "rainy"

    config = types.GenerateContentConfig(tools=[get_weather])
    result = gemini.models.generate_content(model="m", contents="weather in Paris?", config=config)
    assert seen == ["Paris"]
    assert result.text == "It is rainy in Paris."
    assert [r.rule for r in mockopper.requests] == ["weather", "after weather"]


@pytest.mark.parametrize(
    ("mode", "allowed", "answer"),
    [
        (types.FunctionCallingConfigMode.NONE, None, "no tools offered"),
        (types.FunctionCallingConfigMode.ANY, ["get_time"], "get_time"),
        (types.FunctionCallingConfigMode.AUTO, None, "get_weather"),
    ],
)
def test_function_calling_config(
    gemini: genai.Client, mode: types.FunctionCallingConfigMode, allowed: list[str] | None, answer: str
) -> None:
    time_tool = types.FunctionDeclaration(name="get_time", parameters=types.Schema(type=types.Type.OBJECT))
    config = types.GenerateContentConfig(
        tools=[WEATHER, types.Tool(function_declarations=[time_tool])],
        tool_config=types.ToolConfig(
            function_calling_config=types.FunctionCallingConfig(mode=mode, allowed_function_names=allowed)
        ),
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )
    result = gemini.models.generate_content(model="m", contents="pick one", config=config)
    calls = result.function_calls or []
    assert (calls[0].name if calls else result.text) == answer


def test_auto_arguments_follow_gemini_uppercase_schemas(gemini: genai.Client) -> None:
    config = types.GenerateContentConfig(
        tools=[WEATHER],
        tool_config=types.ToolConfig(
            function_calling_config=types.FunctionCallingConfig(mode=types.FunctionCallingConfigMode.ANY)
        ),
    )
    [call] = gemini.models.generate_content(model="m", contents="pick", config=config).function_calls or []
    assert call.name == "get_weather"
    assert isinstance((call.args or {}).get("city"), str)


# --- structured output -------------------------------------------------------------------


class Address(BaseModel):
    street: str
    city: str


class Person(BaseModel):
    name: str
    age: int
    addresses: list[Address]


def test_structured_output_parses_into_pydantic(gemini: genai.Client, mockopper: Mockopper) -> None:
    config = types.GenerateContentConfig(response_mime_type="application/json", response_schema=Person)
    result = gemini.models.generate_content(model="m", contents="who is it?", config=config)
    assert isinstance(result.parsed, Person)
    assert result.parsed.addresses and all(a.city for a in result.parsed.addresses)
    assert mockopper.requests[0].rule == "person"


def test_structured_output_with_a_json_schema(gemini: genai.Client) -> None:
    schema = {
        "type": "object",
        "properties": {"colour": {"type": "string", "enum": ["red", "green"]}, "n": {"type": "integer"}},
        "required": ["colour", "n"],
    }
    config = types.GenerateContentConfig(response_mime_type="application/json", response_json_schema=schema)
    value = json.loads(gemini.models.generate_content(model="m", contents="choose a colour", config=config).text or "")
    assert value["colour"] in ("red", "green") and isinstance(value["n"], int)


# --- countTokens and embeddings ----------------------------------------------------------


def test_count_tokens(gemini: genai.Client, mockopper: Mockopper) -> None:
    result = gemini.models.count_tokens(model="gemini-2.5-flash", contents="count these twenty-eight chars")
    assert result.total_tokens == math.ceil(len("count these twenty-eight chars") / 4)
    [record] = mockopper.requests
    assert (record.api, record.status) == ("count_tokens", 200)


def test_count_tokens_of_a_whole_request(gemini: genai.Client, mockopper: Mockopper) -> None:
    body = {
        "generateContentRequest": {
            "model": "models/m",
            "contents": user("abcd" * 5),
            "systemInstruction": {"parts": [{"text": "abcd"}]},
        }
    }
    assert raw(mockopper, "/v1beta/models/m:countTokens", body).json()["totalTokens"] == 6


def test_count_tokens_rule_can_script_the_count(mockopper: Mockopper, google: genai.Client) -> None:
    mockopper.load("rules: [{match: {api: count_tokens}, reply: {text: x, usage: {input_tokens: 99}}}]")
    assert google.models.count_tokens(model="m", contents="hi").total_tokens == 99


def test_embed_content(gemini: genai.Client, mockopper: Mockopper) -> None:
    config = types.EmbedContentConfig(output_dimensionality=64)
    result = gemini.models.embed_content(
        model="gemini-embedding-001", contents=["the cat sat", "the cat sat down", "stock prices fell"], config=config
    )
    vectors = [e.values or [] for e in result.embeddings or []]
    assert [len(v) for v in vectors] == [64, 64, 64]
    assert all(abs(math.fsum(x * x for x in v) - 1) < 1e-5 for v in vectors)

    def cosine(a: list[float], b: list[float]) -> float:
        return math.fsum(x * y for x, y in zip(a, b, strict=True))

    assert cosine(vectors[0], vectors[1]) > cosine(vectors[0], vectors[2])
    [record] = mockopper.requests
    assert record.api == "embeddings" and record.path.endswith(":batchEmbedContents")
    again = gemini.models.embed_content(model="gemini-embedding-001", contents="the cat sat", config=config)
    assert (again.embeddings or [])[0].values == vectors[0]


def test_embed_content_default_dimensions(gemini: genai.Client) -> None:
    result = gemini.models.embed_content(model="gemini-embedding-001", contents="hello")
    assert len((result.embeddings or [])[0].values or []) == 1536


def test_single_embed_content_as_the_vercel_provider_calls_it(gemini: genai.Client, mockopper: Mockopper) -> None:
    body = {
        "model": "models/gemini-embedding-001",
        "content": {"parts": [{"text": "hello"}]},
        "outputDimensionality": 8,
    }
    response = raw(mockopper, "/v1beta/models/gemini-embedding-001:embedContent", body)
    assert len(response.json()["embedding"]["values"]) == 8


def test_embedding_rule_can_fail(mockopper: Mockopper, google: genai.Client) -> None:
    mockopper.load("rules: [{match: {api: embeddings}, reply: {error: {status: 429, message: quota gone}}}]")
    with pytest.raises(errors.ClientError) as info:
        google.models.embed_content(model="gemini-embedding-001", contents="hello")
    assert (info.value.code, info.value.status, info.value.message) == (429, "RESOURCE_EXHAUSTED", "quota gone")


# --- models ------------------------------------------------------------------------------

FLEET = """
models:
  gemini/gemini-2.5-pro: {display_name: Gemini 2.5 Pro}
  gemini/gemini-embedding-001: {}
  openai/gpt-5.5: {}
rules: []
"""


def test_models_list_in_google_shape(mockopper: Mockopper, google: genai.Client) -> None:
    mockopper.load(FLEET)
    models = list(google.models.list())
    assert [m.name for m in models] == [
        "models/gemini/gemini-2.5-pro",
        "models/gemini/gemini-embedding-001",
        "models/openai/gpt-5.5",
    ]
    assert models[0].display_name == "Gemini 2.5 Pro"
    assert "generateContent" in (models[0].supported_actions or [])
    assert "embedContent" in (models[1].supported_actions or [])


def test_models_list_pages(mockopper: Mockopper, google: genai.Client) -> None:
    mockopper.load(FLEET)
    pager = google.models.list(config={"page_size": 2})
    assert len(pager.page) == 2
    assert [m.name for m in pager][-1] == "models/openai/gpt-5.5"
    assert [r.query.get("pageToken") for r in mockopper.requests] == [None, "2"]


@pytest.mark.parametrize(
    ("path", "headers", "shape"),
    [
        ("/models", {"authorization": "Bearer k"}, "data"),
        ("/models", {"x-goog-api-key": "k"}, "models"),
        ("/models?key=k", {}, "models"),
        ("/v1/models", {"x-goog-api-key": "k"}, "models"),
        ("/v1beta/models", {"x-goog-api-key": "k"}, "models"),
    ],
)
def test_shared_model_list_paths_answer_by_headers(
    mockopper: Mockopper, path: str, headers: dict[str, str], shape: str
) -> None:
    mockopper.load(FLEET)
    response = httpx2.get(mockopper.base_url + path, headers=headers)
    assert response.status_code == 200
    assert shape in response.json()


# --- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "exception", "name"),
    [
        (400, errors.ClientError, "INVALID_ARGUMENT"),
        (401, errors.ClientError, "UNAUTHENTICATED"),
        (403, errors.ClientError, "PERMISSION_DENIED"),
        (404, errors.ClientError, "NOT_FOUND"),
        (429, errors.ClientError, "RESOURCE_EXHAUSTED"),
        (500, errors.ServerError, "INTERNAL"),
        (503, errors.ServerError, "UNAVAILABLE"),
        (504, errors.ServerError, "DEADLINE_EXCEEDED"),
    ],
)
def test_scripted_errors_raise_the_sdk_class(
    mockopper: Mockopper, google: genai.Client, status: int, exception: type[errors.APIError], name: str
) -> None:
    mockopper.load(f"rules: [{{reply: {{error: {{status: {status}, message: 'Scripted {{{{ request.model }}}}'}}}}}}]")
    with pytest.raises(exception) as info:
        google.models.generate_content(model="gemini-2.5-pro", contents="hi")
    assert (info.value.code, info.value.status, info.value.message) == (status, name, "Scripted gemini-2.5-pro")
    assert len(mockopper.requests) == 1  # google-genai models.* never retries by default


def test_rate_limit_error_carries_retry_info(mockopper: Mockopper) -> None:
    mockopper.load("rules: [{reply: {error: {status: 429, retry_after: 1.5}}}]")
    response = raw(mockopper, "/v1beta/models/m:generateContent", {"contents": user("hi")})
    assert response.headers["retry-after"] == "2"
    error = response.json()["error"]
    assert error["status"] == "RESOURCE_EXHAUSTED"
    assert error["details"] == [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1.5s"}]


def test_sdk_retry_options_get_through_a_scripted_429(mockopper: Mockopper) -> None:
    mockopper.load("""
rules:
  - replies:
      - error: {status: 429, retry_after: 0.01}
      - error: {status: 503, retry_after: 0.01}
      - text: third time lucky
""")
    retry = types.HttpRetryOptions(attempts=3, initial_delay=0.01, max_delay=0.02)
    client = client_for(mockopper, retry_options=retry)
    result = client.models.generate_content(model="m", contents="hi")
    assert result.text == "third time lucky"
    assert [r.status for r in mockopper.requests] == [429, 503, 200]


@pytest.mark.parametrize(
    ("body", "param", "fragment"),
    [
        ({}, "contents", "contents is not specified"),
        ({"contents": []}, "contents", "contents is not specified"),
        ({"contents": "hi"}, "contents", "Invalid value at 'contents'"),
        ({"contents": [{"parts": [{"text": 5}]}]}, "contents[0].parts[0].text", "(TYPE_STRING), 5"),
        ({"contents": [{"parts": []}]}, "contents[0].parts", "must not be empty"),
        ({"contents": [{"parts": [{"colour": "red"}]}]}, "contents[0].parts[0]", "required oneof field 'data'"),
        ({"contents": [{"role": "robot", "parts": [{"text": "x"}]}]}, "contents[0].role", "valid role"),
        ({"contents": user("x"), "tools": {}}, "tools", "Invalid value at 'tools'"),
        (
            {"contents": user("x"), "tools": [{"functionDeclarations": [{}]}]},
            "tools[0].functionDeclarations[0].name",
            "Name",
        ),
        (
            {"contents": user("x"), "generationConfig": {"responseSchema": {"type": "OBJECT"}}},
            "generationConfig.responseMimeType",
            "application/json",
        ),
        ({"contents": user("x"), "fallback_models": "openai/gpt-5.5"}, "fallback_models", "fallback_models"),
    ],
)
def test_invalid_requests_get_a_400_naming_the_field(
    mockopper: Mockopper, body: dict[str, object], param: str, fragment: str
) -> None:
    response = raw(mockopper, "/v1beta/models/m:generateContent", body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["status"]) == (400, "INVALID_ARGUMENT")
    assert fragment in error["message"]
    assert error["details"][0]["fieldViolations"][0]["field"] == param
    assert response.headers["x-should-retry"] == "false"


def test_invalid_request_through_the_sdk(gemini: genai.Client) -> None:
    robot = types.Content(role="robot", parts=[types.Part(text="hello")])
    with pytest.raises(errors.ClientError) as info:
        gemini.models.generate_content(model="m", contents=robot)
    assert (info.value.code, info.value.status) == (400, "INVALID_ARGUMENT")
    assert info.value.message == "Please use a valid role: user, model."


@pytest.mark.parametrize("body", [b"{not json", b"", b"[1, 2]"])
def test_malformed_bodies_get_a_google_400(mockopper: Mockopper, body: bytes) -> None:
    response = httpx2.post(
        mockopper.base_url + "/v1beta/models/m:generateContent",
        content=body,
        headers={"x-goog-api-key": "k", "content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"]["status"] == "INVALID_ARGUMENT"


def test_missing_key_is_unauthenticated(mockopper: Mockopper) -> None:
    response = httpx2.post(mockopper.base_url + "/v1beta/models/m:generateContent", json={"contents": user("hi")})
    assert response.status_code == 401
    assert response.json()["error"]["status"] == "UNAUTHENTICATED"


def test_unmatched_request_is_an_invalid_argument_naming_the_closest_rules(
    mockopper: Mockopper, google: genai.Client
) -> None:
    mockopper.load("rules: [{name: weather, match: {model: 'openai/*', message: weather}, reply: {text: sunny}}]")
    mockopper.allow_unmatched = True
    with pytest.raises(errors.ClientError) as info:
        google.models.generate_content(model="gemini-2.5-pro", contents="hello")
    assert (info.value.code, info.value.status) == (400, "INVALID_ARGUMENT")
    assert "model: expected 'openai/*', got 'gemini-2.5-pro'" in (info.value.message or "")
    assert mockopper.requests[0].unmatched


# --- faults and fallback -----------------------------------------------------------------

FAULTS = """
rules:
  - match: {message: drop}
    reply: {text: one two three, fault: {disconnect_after: 1}}
  - match: {message: cut}
    reply: {text: one two three, fault: {truncate_after: 1}}
  - match: {message: fail}
    reply: {text: one two three, fault: {error_after: 2, error: {status: 503, message: upstream melted}}}
  - match: {message: vanish}
    reply:
      text: Checking.
      tool_calls: [{name: get_weather, arguments: {city: Paris}}]
      fault: {disconnect_after: 1}
"""


def test_in_stream_error_raises_server_error(mockopper: Mockopper, google: genai.Client) -> None:
    mockopper.load(FAULTS)
    texts: list[str | None] = []
    with pytest.raises(errors.ServerError) as info:
        for chunk in google.models.generate_content_stream(model="m", contents="fail"):
            texts.append(chunk.text)
    assert texts == ["one", " two"]
    assert (info.value.code, info.value.status, info.value.message) == (503, "UNAVAILABLE", "upstream melted")


def test_non_streamed_error_after_is_a_500(mockopper: Mockopper, google: genai.Client) -> None:
    mockopper.load(FAULTS)
    with pytest.raises(errors.ServerError) as info:
        google.models.generate_content(model="m", contents="fail")
    assert info.value.code == 503


def test_mid_stream_disconnect_raises(mockopper: Mockopper, google: genai.Client) -> None:
    mockopper.load(FAULTS)
    texts: list[str | None] = []
    with pytest.raises(httpx2.RemoteProtocolError):
        for chunk in google.models.generate_content_stream(model="m", contents="drop"):
            texts.append(chunk.text)
    assert texts == ["one"]
    assert mockopper.requests[0].outcome == "disconnect"


def test_function_call_chunk_counts_as_content_for_faults(mockopper: Mockopper, google: genai.Client) -> None:
    mockopper.load(FAULTS)
    chunks = []
    with pytest.raises(httpx2.RemoteProtocolError):
        for chunk in google.models.generate_content_stream(model="m", contents="call, then vanish"):
            chunks.append(chunk)
    assert [c.text for c in chunks] == ["Checking."]  # the call was the second content chunk


def test_truncated_stream_ends_without_a_finish_reason(mockopper: Mockopper, google: genai.Client) -> None:
    mockopper.load(FAULTS)
    chunks = list(google.models.generate_content_stream(model="m", contents="cut"))
    assert [c.text for c in chunks] == ["one"]
    assert (chunks[0].candidates or [])[0].finish_reason is None and chunks[0].usage_metadata is None


FALLBACK = """
models:
  gemini/gemini-2.5-pro: {error: {status: 503, message: pro is down}}
  gemini/gemini-2.5-flash-lite: {error: {status: 429, message: lite is out of quota}}
  gemini/gemini-2.5-flash: {}
rules:
  - reply: {text: "answered by {{ request.model }}"}
"""


def fallback_config(*models: str) -> types.GenerateContentConfig:
    return types.GenerateContentConfig(http_options=types.HttpOptions(extra_body={"fallback_models": list(models)}))


def test_fallback_chain_answered_by_the_second_model(mockopper: Mockopper) -> None:
    mockopper.load(FALLBACK)
    client = client_for(mockopper)
    result = client.models.generate_content(
        model="gemini/gemini-2.5-pro", contents="hi", config=fallback_config("gemini/gemini-2.5-flash")
    )
    assert result.text == "answered by gemini/gemini-2.5-flash"
    assert result.model_version == "gemini/gemini-2.5-flash"
    headers = result.sdk_http_response.headers or {}  # type: ignore[union-attr]
    assert headers["x-mockopper-attempts"] == "gemini/gemini-2.5-pro,gemini/gemini-2.5-flash"
    [record] = mockopper.requests
    assert record.chain == ["gemini/gemini-2.5-pro", "gemini/gemini-2.5-flash"]
    assert record.fallback_models == ["gemini/gemini-2.5-flash"]


def test_exhausted_fallback_chain_raises_the_last_failure(mockopper: Mockopper, google: genai.Client) -> None:
    mockopper.load(FALLBACK)
    with pytest.raises(errors.ClientError) as info:
        google.models.generate_content(
            model="gemini/gemini-2.5-pro", contents="hi", config=fallback_config("gemini/gemini-2.5-flash-lite")
        )
    assert (info.value.code, info.value.message) == (429, "lite is out of quota")


def test_extras_from_client_http_options_are_journaled(mockopper: Mockopper) -> None:
    mockopper.load(SCENARIO)
    client = client_for(mockopper, extra_body={"tags": {"team": "search"}, "span_uuid": "0b1c"})
    assert client.models.generate_content(model="m", contents="echo").text == "m / turn 1 / team search"
    [record] = mockopper.requests
    assert (record.tags, record.span_uuid) == ({"team": "search"}, "0b1c")


def test_default_scenario_agent_loop_terminates(mockopper: Mockopper, google: genai.Client) -> None:
    calls: list[dict[str, object]] = []

    def search_docs(query: str, limit: int) -> str:
        """Search the docs."""
        calls.append({"query": query, "limit": limit})
        return "three pages"

    config = types.GenerateContentConfig(tools=[search_docs])
    result = google.models.generate_content(model="gemini/gemini-2.5-pro", contents="find the docs", config=config)
    assert len(calls) == 1 and isinstance(calls[0]["query"], str) and isinstance(calls[0]["limit"], int)
    assert result.text == "Here is what I found with search_docs: three pages"
    assert [r.rule for r in mockopper.requests] == ["call an offered tool", "answer a tool result"]


def test_async_client_streams(mockopper: Mockopper) -> None:
    mockopper.load(SCENARIO)

    async def run() -> list[str | None]:
        client = client_for(mockopper)
        stream = await client.aio.models.generate_content_stream(model="m", contents="hello")
        return [chunk.text async for chunk in stream]

    assert asyncio.run(run()) == ["Hello", " from", " mockopper!"]
