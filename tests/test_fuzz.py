"""Bad input on every surface: property-based fuzzing with hypothesis.

Every request the strategies below can build (valid bodies, nearly-valid ones with a
field deleted, retyped or replaced, garbage JSON and bytes, huge and deeply nested JSON,
broken UTF-8, odd content types, duplicated or missing credentials, weird query
strings, unknown paths and methods) must get a response below 500; every error must
come in the error shape of the surface that owns the path; the API key must never be
echoed back; and the server must keep serving. Most examples run in-process against
the ASGI app (fast); a smaller run goes through a real uvicorn server.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import re
import socket
import traceback
import urllib.parse
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import openai
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from mockopper.app import MockApp, Settings
from mockopper.server import MockServer

BASE = "/v3/compat"
KEY = "sk-fuzz-Zq81secret"  # must never appear in a response
LIMIT = 64 * 1024  # the body limit of the fuzzed servers (small, so oversized bodies are cheap to build)

# The default run fuzzes a sample of each kind of input; `-m slow` fuzzes at depth.
settings.register_profile(
    "fuzz",
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    print_blob=True,
)
settings.register_profile("fuzz-slow", settings.get_profile("fuzz"), max_examples=6000)
FUZZ = settings.get_profile("fuzz")
FUZZ_SLOW = settings.get_profile("fuzz-slow")
FUZZ_SERVER = settings(FUZZ, max_examples=100)
FUZZ_SERVER_SLOW = settings(FUZZ, max_examples=1500)


# --- what a surface's errors look like -------------------------------------------------------


def openai_shape(body: Any, status: int) -> None:
    error = body["error"]
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["type"], str) and error["type"]
    assert "param" in error and "code" in error


def anthropic_shape(body: Any, status: int) -> None:
    assert body["type"] == "error"
    error = body["error"]
    assert isinstance(error["type"], str) and error["type"]
    assert isinstance(error["message"], str) and error["message"]


def google_shape(body: Any, status: int) -> None:
    error = body["error"]
    assert error["code"] == status
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["status"], str) and error["status"].isupper()


def any_shape(body: Any, status: int) -> None:
    """Paths that belong to no surface: a body every vendor's SDK can read."""
    openai_shape(body, status)
    anthropic_shape(body, status)
    google_shape(body, status)


SHAPES = {"openai": openai_shape, "anthropic": anthropic_shape, "google": google_shape, "any": any_shape}

_GOOGLE_METHODS = (":generateContent", ":streamGenerateContent", ":countTokens", ":embedContent", ":batchEmbedContents")


def owner(method: str, path: str, query: bytes, headers: Sequence[tuple[bytes, bytes]]) -> tuple[str, bool]:
    """(error shape, whether method and path name an endpoint) for a request, from the SPEC's table."""
    if not path.startswith(BASE + "/"):
        return "any", False
    p = path[len(BASE) :]
    get = method in ("GET", "HEAD")
    goog = any(k.lower() == b"x-goog-api-key" for k, _ in headers) or "key" in dict(
        urllib.parse.parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    )
    openai_posts = (
        "/chat/completions",
        "/responses",
        "/responses/compact",
        "/embeddings",
        "/openresponses",
        "/openresponses/responses",
        "/openresponses/responses/compact",
    )
    if p in openai_posts:
        return "openai", method == "POST"
    if p in ("/v1/messages", "/messages", "/v1/messages/count_tokens"):
        return "anthropic", method == "POST"
    if p in ("/v1/interactions", "/v1beta/interactions"):
        return "google", method == "POST"
    if p == "/models":
        return ("google" if goog else "openai"), get
    if p == "/v1/models":
        return ("google" if goog else "anthropic"), get
    if p == "/v1beta/models":
        return "google", get
    # GET /models/{id} and /v1/models/{id} retrieve a model (ids may hold ':', as in `llama3:8b`).
    if p.startswith("/models/") and (get or not p.endswith(_GOOGLE_METHODS)):
        return "openai", get
    if p.startswith("/v1/models/") and (get or not p.endswith(_GOOGLE_METHODS)):
        return "anthropic", get
    if p.endswith(_GOOGLE_METHODS) and p.startswith(("/v1beta/", "/v1/", "/models/")):
        return "google", method == "POST"
    return "any", False


CREDENTIALS = (b"x-api-key", b"x-goog-api-key", b"x-opper-api-key")


def authenticated(headers: Sequence[tuple[bytes, bytes]], query: bytes) -> bool:
    """Whether a request carries an API key, by the SPEC's list of ways (the last of a repeated header counts)."""
    last = {k.lower(): v for k, v in headers}
    auth = last.get(b"authorization", b"")
    if auth[:7].lower() == b"bearer " and auth[7:].strip():
        return True
    if any(last.get(name) for name in CREDENTIALS):
        return True
    params = dict(urllib.parse.parse_qsl(query.decode("latin-1"), keep_blank_values=True))
    return bool(params.get("key"))


# --- seeds: one or more valid requests per surface -------------------------------------------

WEATHER_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
ANSWER_SCHEMA = {
    "type": "object",
    "properties": {"answer": {"type": "string"}, "items": {"type": "array", "items": {"type": "integer"}}},
    "required": ["answer"],
    "additionalProperties": False,
}
EXTRAS = {"fallback_models": ["anthropic/claude-sonnet-4-6"], "tags": {"team": "a"}, "span_uuid": "s", "evaluate": True}


@dataclass(frozen=True)
class Seed:
    method: str
    path: str
    body: Any = None
    query: str = ""


SEEDS: list[Seed] = [
    # OpenAI Chat Completions
    Seed("POST", "/chat/completions", {"model": "openai/gpt-5.5", "messages": [{"role": "user", "content": "hi"}]}),
    Seed(
        "POST",
        "/chat/completions",
        {
            "model": "openai/gpt-5.5",
            "stream": True,
            "stream_options": {"include_usage": True},
            "messages": [
                {"role": "system", "content": "be brief"},
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "weather?"},
                        {"type": "image_url", "image_url": {"url": "file:///etc/passwd"}},
                    ],
                },
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            ],
            "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": WEATHER_SCHEMA}}],
            "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
            "max_tokens": 50,
            **EXTRAS,
        },
    ),
    Seed(
        "POST",
        "/chat/completions",
        {
            "model": "openai/gpt-5.5",
            "messages": [{"role": "developer", "content": "json"}, {"role": "user", "content": "give json"}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": ANSWER_SCHEMA}},
        },
    ),
    # OpenAI Responses, compaction and OpenResponses
    Seed("POST", "/responses", {"model": "openai/gpt-5.5", "input": "hi", "instructions": "be brief"}),
    Seed(
        "POST",
        "/responses",
        {
            "model": "openai/gpt-5.5",
            "stream": True,
            "input": [
                {"role": "user", "content": [{"type": "input_text", "text": "weather?"}]},
                {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "think"}]},
                {"type": "function_call", "call_id": "c1", "name": "get_weather", "arguments": '{"city":"Paris"}'},
                {"type": "function_call_output", "call_id": "c1", "output": "sunny"},
            ],
            "tools": [{"type": "function", "name": "get_weather", "parameters": WEATHER_SCHEMA, "strict": True}],
            "tool_choice": "auto",
            "reasoning": {"effort": "low", "summary": "auto"},
            "text": {"format": {"type": "json_schema", "name": "a", "schema": ANSWER_SCHEMA}},
            "previous_response_id": None,
            "store": True,
            **EXTRAS,
        },
    ),
    Seed("POST", "/responses", {"model": "openai/gpt-5.5", "input": "hi", "previous_response_id": "resp_unknown"}),
    Seed("POST", "/responses/compact", {"model": "openai/gpt-5.5", "input": [{"role": "user", "content": "hi"}]}),
    Seed("POST", "/openresponses", {"model": "openai/gpt-5.5", "input": "hi", "stream": True}),
    Seed("POST", "/openresponses/responses", {"model": "openai/gpt-5.5", "input": [{"role": "user", "content": "x"}]}),
    Seed("POST", "/openresponses/responses/compact", {"model": "m", "input": "hi"}),
    # OpenAI Embeddings
    Seed("POST", "/embeddings", {"model": "text-embedding-3-small", "input": "hello", "encoding_format": "base64"}),
    Seed("POST", "/embeddings", {"model": "e", "input": ["a", "b"], "dimensions": 8, "encoding_format": "float"}),
    Seed("POST", "/embeddings", {"model": "e", "input": [[1, 2, 3]], "dimensions": 4}),
    # Anthropic
    Seed(
        "POST",
        "/v1/messages",
        {"model": "claude-sonnet-4", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}]},
    ),
    Seed(
        "POST",
        "/v1/messages",
        {
            "model": "anthropic/claude-sonnet-4-6",
            "max_tokens": 2000,
            "stream": True,
            "system": [{"type": "text", "text": "be brief"}],
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "weather?"},
                        {"type": "image", "source": {"type": "url", "url": "file:///etc/passwd"}},
                    ],
                },
                {
                    "role": "assistant",
                    "content": [
                        {"type": "thinking", "thinking": "hm", "signature": "sig"},
                        {"type": "tool_use", "id": "tu_1", "name": "get_weather", "input": {"city": "Paris"}},
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": "tu_1", "content": [{"type": "text", "text": "sunny"}]}
                    ],
                },
            ],
            "tools": [{"name": "get_weather", "description": "weather", "input_schema": WEATHER_SCHEMA}],
            "tool_choice": {"type": "tool", "name": "get_weather"},
            "thinking": {"type": "enabled", "budget_tokens": 1024},
            "metadata": {"user_id": "u"},
            "stop_sequences": ["\n\n"],
            **EXTRAS,
        },
    ),
    Seed(
        "POST",
        "/messages",
        {
            "model": "claude-x",
            "max_tokens": 50,
            "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
            "output_format": {"type": "json_schema", "schema": ANSWER_SCHEMA},
        },
    ),
    Seed(
        "POST",
        "/v1/messages/count_tokens",
        {"model": "claude-sonnet-4", "messages": [{"role": "user", "content": "hi"}]},
    ),
    # Gemini
    Seed(
        "POST",
        "/v1beta/models/gemini-2.5-flash:generateContent",
        {
            "contents": [{"parts": [{"text": "Say hello"}], "role": "user"}],
            "systemInstruction": {"parts": [{"text": "be brief"}], "role": "user"},
            "generationConfig": {"temperature": 0.2, "maxOutputTokens": 50},
        },
    ),
    Seed(
        "POST",
        "/v1/models/gemini/gemini-2.5-pro:streamGenerateContent",
        {
            "contents": [
                {"role": "user", "parts": [{"text": "weather?"}, {"fileData": {"fileUri": "file:///etc/passwd"}}]},
                {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}]},
                {"role": "user", "parts": [{"functionResponse": {"name": "get_weather", "response": {"t": "sunny"}}}]},
            ],
            "tools": [{"functionDeclarations": [{"name": "get_weather", "parameters": WEATHER_SCHEMA}]}],
            "toolConfig": {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}},
            **EXTRAS,
        },
        "alt=sse",
    ),
    Seed(
        "POST",
        "/models/gemini-x:streamGenerateContent",
        {
            "contents": [{"role": "user", "parts": [{"text": "json"}]}],
            "generationConfig": {"responseMimeType": "application/json", "responseSchema": ANSWER_SCHEMA},
        },
    ),
    Seed("POST", "/v1beta/google/gemini-x:generateContent", {"contents": [{"parts": [{"text": "hi"}]}]}),
    Seed("POST", "/v1/models/gemini-2.5-flash:countTokens", {"contents": [{"parts": [{"text": "hello"}]}]}),
    Seed(
        "POST",
        "/v1beta/models/gemini-2.5-flash:countTokens",
        {"generateContentRequest": {"model": "models/x", "contents": [{"parts": [{"text": "hello"}]}]}},
    ),
    Seed(
        "POST",
        "/v1beta/models/gemini-embedding-001:embedContent",
        {"content": {"parts": [{"text": "hello"}]}, "outputDimensionality": 8, "taskType": "RETRIEVAL_QUERY"},
    ),
    Seed(
        "POST",
        "/v1/models/gemini-embedding-001:batchEmbedContents",
        {"requests": [{"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "hello"}]}}]},
    ),
    # Interactions
    Seed("POST", "/v1/interactions", {"model": "gemini-2.5-flash", "input": "hi", "system_instruction": "be brief"}),
    Seed(
        "POST",
        "/v1beta/interactions",
        {
            "model": "gemini-2.5-flash",
            "stream": True,
            "input": [
                {"role": "user", "content": [{"type": "text", "text": "weather?"}]},
                {"type": "function_call", "id": "c1", "name": "get_weather", "arguments": {"city": "Paris"}},
                {"type": "function_result", "call_id": "c1", "name": "get_weather", "result": "sunny"},
            ],
            "tools": [{"type": "function", "name": "get_weather", "parameters": WEATHER_SCHEMA}],
            "generation_config": {"tool_choice": "any", "max_output_tokens": 100},
            "response_format": ANSWER_SCHEMA,
            "previous_interaction_id": None,
            **EXTRAS,
        },
    ),
    # Kitchen sinks: the optional branches of each parser, so that retyping reaches them
    Seed(
        "POST",
        "/chat/completions",
        {
            "model": "openai/gpt-5.5",
            "n": 1,
            "logprobs": True,
            "top_logprobs": 2,
            "modalities": ["text"],
            "reasoning_effort": "low",
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}},
                        {"type": "file", "file": {"file_id": "../../etc/passwd"}},
                        "bare string part",
                    ],
                },
                {"role": "assistant", "content": [{"type": "refusal", "refusal": "no"}]},
                {"role": "function", "name": "f", "content": "legacy"},
                {"role": "user", "content": "again", "name": "u"},
            ],
            "tools": [{"type": "function", "function": {"name": "f", "description": "d", "strict": True}}],
            "tool_choice": {"type": "allowed_tools", "allowed_tools": {"mode": "required", "tools": []}},
            "response_format": {"type": "json_object"},
        },
    ),
    Seed(
        "POST",
        "/responses",
        {
            "model": "openai/gpt-5.5",
            "input": [
                {"type": "message", "role": "developer", "content": "sys", "phase": "commentary"},
                {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "hi"}]},
                {"type": "custom_tool_call", "call_id": "c2", "name": "grep", "input": "x"},
                {"type": "custom_tool_call_output", "call_id": "c2", "output": [{"type": "input_text", "text": "y"}]},
                {"type": "web_search_call", "id": "ws_1", "status": "completed"},
                {"role": "user", "content": [{"type": "input_image", "image_url": "file:///etc/passwd"}]},
            ],
            "tools": [
                {"type": "function", "name": "f", "parameters": WEATHER_SCHEMA},
                {"type": "web_search"},
                {"type": "custom", "name": "grep"},
            ],
            "tool_choice": {"type": "allowed_tools", "mode": "auto", "tools": [{"type": "function", "name": "f"}]},
            "text": {"format": {"type": "json_object"}, "verbosity": "low"},
            "max_output_tokens": 100,
            "max_tool_calls": 3,
            "metadata": {"k": "v"},
            "truncation": "auto",
            "service_tier": "flex",
            "top_logprobs": 1,
            "temperature": 0.5,
            "include": ["reasoning.encrypted_content"],
        },
    ),
    Seed(
        "POST",
        "/responses",
        {
            "model": "m",
            "input": [{"type": "item_reference", "id": "msg_unknown"}],
            "tools": [{"type": "function", "name": "f"}],
            "tool_choice": {"type": "function", "name": "f"},
        },
    ),
    Seed(
        "POST",
        "/v1/messages",
        {
            "model": "claude-x",
            "max_tokens": 5000,
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "document", "source": {"type": "url", "url": "file:///etc/passwd"}},
                        {"type": "search_result", "source": "s", "title": "t", "content": []},
                    ],
                },
                {
                    "role": "assistant",
                    "content": [
                        {"type": "redacted_thinking", "data": "x"},
                        {"type": "text", "text": "ok"},
                        {"type": "tool_use", "id": "tu_9", "name": "f", "input": {}},
                    ],
                },
                {
                    "role": "user",
                    "content": [{"type": "tool_result", "tool_use_id": "tu_9", "is_error": True, "content": "x"}],
                },
            ],
            "tools": [
                {"type": "web_search_20250305", "name": "web_search"},
                {"type": "bash_20250124", "name": "bash"},
                {"name": "f", "input_schema": {"type": "object"}},
            ],
            "tool_choice": {"type": "any", "disable_parallel_tool_use": True},
            "thinking": {"type": "adaptive", "display": "omitted"},
            "output_config": {"format": {"type": "json_schema", "schema": ANSWER_SCHEMA}, "effort": "low"},
            "temperature": 0.5,
            "top_k": 3,
            "top_p": 0.9,
        },
    ),
    Seed(
        "POST",
        "/v1/messages/count_tokens",
        {
            "model": "claude-x",
            "system": "s",
            "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
            "tools": [{"name": "f", "input_schema": WEATHER_SCHEMA}],
            "tool_choice": {"type": "auto"},
            "thinking": {"type": "enabled", "budget_tokens": 1024},
        },
    ),
    Seed(
        "POST",
        "/v1beta/models/gemini-2.5-flash:generateContent",
        {
            "contents": [
                {"role": "user", "parts": [{"inlineData": {"mimeType": "image/png", "data": "AAAA"}}, {"text": "x"}]},
                {"role": "model", "parts": [{"text": "thinking", "thought": True}, {"text": "ok"}]},
                {"role": "user", "parts": [{"text": "json?"}]},
            ],
            "system_instruction": "plain string system",
            "tools": [{"function_declarations": [{"name": "f", "parametersJsonSchema": WEATHER_SCHEMA}]}],
            "tool_config": {"function_calling_config": {"mode": "NONE"}},
            "generation_config": {
                "response_mime_type": "application/json",
                "response_json_schema": ANSWER_SCHEMA,
                "max_output_tokens": "50",
                "thinkingConfig": {"thinkingBudget": 100, "includeThoughts": True},
            },
        },
    ),
    Seed(
        "POST",
        "/v1/interactions",
        {
            "agent": "deep-research",
            "input": [
                {"role": "user", "content": "plain"},
                {"role": "model", "content": [{"type": "text", "text": "ok"}]},
                {"type": "user_input", "content": [{"type": "text", "text": "more"}, {"type": "image", "uri": "x"}]},
                {"type": "model_output", "content": [{"type": "text", "text": "out"}]},
                {"type": "thought", "summary": []},
            ],
            "tools": [{"type": "function", "name": "f"}, {"type": "google_search"}],
            "generation_config": {
                "tool_choice": {"allowed_tools": {"mode": "validated", "tools": ["f"]}},
                "thinking_level": "low",
            },
            "response_mime_type": "application/json",
            "response_format": [{"type": "text", "mime_type": "application/json", "schema": ANSWER_SCHEMA}],
            "store": False,
        },
    ),
    # Models lists and retrieval, and paths no surface owns
    Seed("GET", "/models"),
    Seed("GET", "/models/openai/gpt-5.5"),
    Seed("GET", "/v1/models", query="limit=2"),
    Seed("GET", "/v1/models/anthropic/claude-sonnet-4-6"),
    Seed("GET", "/v1beta/models", query="pageSize=2"),
    Seed("GET", "/v1/models", query="key=" + KEY),
    Seed("POST", "/nope", {"model": "m"}),
    Seed("GET", "/../../etc/passwd"),
]


# --- strategies --------------------------------------------------------------------------------

ODD_STRINGS = [
    "",
    " ",
    "\x00",
    "\ud800",  # a lone surrogate: written as the escape \ud800, or as bytes that are not UTF-8
    "\ud83d\ude00",
    "../../../../etc/passwd",
    "file:///etc/passwd",
    "/etc/passwd",
    "{{ request.message }}",
    "{{ ''.__class__ }}",
    "%s%s%n",
    "é" * 300,
    "x" * 5000,
    "9" * 5000,
    "²",
    "NaN",
    "models/",
    "..",
    "null",
]
ODD_NUMBERS = [0, -1, 1, 2**31, 2**63, -(2**63), 10**30, 1e308, -1e308, 1e-308, 0.5, 10**100]

# One value of every JSON type, for retyping a field.
RETYPED: list[Any] = [None, True, False, 0, -7, 2.5, "", "text", [], [1], ["a", "b"], {}, {"k": "v"}, [[]], [{}]]

# JSON schemas that a naive instance generator would take forever on, or recurse through.
HOSTILE_SCHEMAS: list[Any] = [
    {"type": "array", "minItems": 10**9},
    {"type": "array", "minItems": 10**30, "maxItems": 10**30},
    {"type": "array", "minItems": 1e308},
    {"type": "array", "minItems": -5, "maxItems": -10},
    {"type": "string", "minLength": 10**9},
    {"type": "string", "minLength": 1e308, "maxLength": 3},
    {"type": "string", "pattern": "(a{1000}){1000}"},
    {"type": "string", "pattern": "[\\u0000-\\uffff]{5}(?P<x>a)(?P=x)"},
    {"type": "string", "pattern": "(("},
    {"type": "string", "format": "date-time"},
    {"type": "integer", "minimum": 10**400 if False else 1e308, "maximum": -1e308},
    {"type": "integer", "minimum": 1e308},
    {"type": "number", "minimum": -1e308, "maximum": 1e308, "multipleOf": 1e-308},
    {"type": "integer", "multipleOf": 0},
    {"type": "integer", "multipleOf": 1e-300, "minimum": 0, "maximum": 10},
    {"type": "object", "properties": {"a": {"$ref": "#"}}, "required": ["a"]},
    {"type": "array", "items": {"$ref": "#"}, "minItems": 1},
    {"$ref": "#/definitions/a", "definitions": {"a": {"$ref": "#/definitions/b"}, "b": {"$ref": "#/definitions/a"}}},
    {"$ref": "#/$defs/x/" + "a/" * 50},
    {"$ref": 5},
    {"allOf": [{"allOf": [{"allOf": [{"type": "object", "required": ["x"]}]}]}]},
    {"type": "object", "required": [[], {}, 1, None]},
    {
        "type": "object",
        "properties": {f"p{i}": {"$ref": "#"} for i in range(10)},
        "required": [f"p{i}" for i in range(10)],
    },
    {"type": "object", "properties": {f"p{i}": {"$ref": "#"} for i in range(12)}},
    {"anyOf": []},
    {"oneOf": [{"type": "null"}]},
    {"enum": []},
    {"enum": [{"a": [1, 2]}, None]},
    {"type": ["null"]},
    {"type": [[]]},
    {"type": {"x": 1}},
    {"type": "OBJECT", "properties": {"a": {"type": "STRING", "enum": [1]}}},
    {"type": "array", "prefixItems": [{"type": "integer"}] * 5, "items": False, "uniqueItems": True, "minItems": 50},
    {"type": "array", "items": {"enum": [1]}, "uniqueItems": True, "minItems": 1000},
    {
        "type": "array",
        "items": {"type": "array", "items": {"type": "array", "minItems": 50}, "minItems": 50},
        "minItems": 50,
    },
]

leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(ODD_STRINGS),
    st.sampled_from(ODD_NUMBERS),
)
json_values = st.recursive(
    leaves,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=10), kids, max_size=4),
    max_leaves=16,
)


def paths_of(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from paths_of(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from paths_of(child, (*prefix, index))


def with_value(body: Any, path: tuple[Any, ...], value: Any, *, delete: bool = False) -> Any:
    value = copy.deepcopy(value)  # values come from shared tables, and later mutations edit in place
    if not path:
        return value
    parent = body
    for part in path[:-1]:
        parent = parent[part]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return body


def nested(depth: int, kind: str) -> str:
    """A placeholder that `dumps` replaces with JSON nested `depth` deep (too deep for json.dumps to write)."""
    return f"<<deep {depth} {kind}>>"


_DEEP = re.compile(r'"<<deep (\d+) (list|dict)>>"')


def _deep_json(match: re.Match[str]) -> str:
    depth = int(match.group(1))
    if match.group(2) == "list":
        return "[" * depth + "1" + "]" * depth
    return '{"a":' * depth + "1" + "}" * depth


def _looks_like_schema(body: Any, path: tuple[Any, ...]) -> bool:
    value = body
    for part in path:
        value = value[part]
    return isinstance(value, dict) and ("properties" in value or value.get("type") in ("object", "OBJECT", "string"))


@st.composite
def mutated(draw: st.DrawFn, body: Any) -> Any:
    """The body with one to three fields deleted, retyped, replaced or grown."""
    body = copy.deepcopy(body)
    for _ in range(draw(st.integers(1, 3))):
        paths = list(paths_of(body))
        path = draw(st.sampled_from(paths))
        action = draw(
            st.sampled_from(["replace", "retype", "retype", "delete", "deep", "odd", "wrap", "unknown_key", "schema"])
        )
        if action == "delete" and path:
            body = with_value(body, path, None, delete=True)
        elif action == "deep":
            depth = draw(st.sampled_from([20, 200, 600, 900, 990, 3000]))
            body = with_value(body, path, nested(depth, draw(st.sampled_from(["list", "dict"]))))
        elif action == "retype":
            body = with_value(body, path, draw(st.sampled_from(RETYPED)))
        elif action == "schema":
            schemas = [p for p in paths if _looks_like_schema(body, p)] or [path]
            body = with_value(body, draw(st.sampled_from(schemas)), draw(st.sampled_from(HOSTILE_SCHEMAS)))
        elif action == "odd":
            body = with_value(body, path, draw(st.sampled_from(ODD_STRINGS + ODD_NUMBERS)))
        elif action == "wrap":
            current = body
            for part in path:
                current = current[part]
            body = with_value(body, path, draw(st.sampled_from([[current], {"value": current}, [current, current]])))
        elif action == "unknown_key" and isinstance(body, dict):
            body[draw(st.text(max_size=12))] = draw(json_values)
        else:
            body = with_value(body, path, draw(json_values))
    return body


def dumps(body: Any, ascii: bool = False) -> bytes:
    text = _DEEP.sub(_deep_json, json.dumps(body, ensure_ascii=ascii))
    return text.encode("utf-8", "surrogatepass")


@st.composite
def bodies(draw: st.DrawFn, seed: Seed) -> bytes:
    kind = draw(
        st.sampled_from(
            ["valid", "mutated", "mutated", "mutated", "mutated", "json", "bytes", "broken", "utf8", "huge", "deep"]
        )
    )
    base = seed.body if seed.body is not None else {}
    if kind == "valid":
        return dumps(base)
    if kind == "mutated":
        return dumps(draw(mutated(base)), ascii=draw(st.booleans()))
    if kind == "json":
        return dumps(draw(json_values))
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "broken":
        raw = dumps(base)
        cut = draw(st.integers(0, max(0, len(raw) - 1)))
        return draw(
            st.sampled_from(
                [
                    raw[:cut],
                    raw[:cut] + b"\x00" + raw[cut:],
                    raw.replace(b":", b"=", 1),
                    raw + b"garbage",
                    raw.replace(b'"', b"'"),
                    b'{"model": NaN, "x": Infinity, "y": -Infinity}',
                    b'{"a": 1e400, "b": -1e400}',
                    b"\xef\xbb\xbf" + raw,  # a UTF-8 byte-order mark
                    raw.decode("utf-8").encode("utf-16"),
                ]
            )
        )
    if kind == "utf8":
        raw = dumps(base)
        where = draw(st.integers(0, len(raw)))
        return (
            raw[:where] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"])) + raw[where:]
        )
    if kind == "huge":
        size = draw(st.sampled_from([LIMIT // 2, LIMIT + 1, 3 * LIMIT]))
        shape = draw(st.sampled_from(["string", "list", "keys"]))
        if shape == "string":
            padded = with_value(copy.deepcopy(base), (), base) if not isinstance(base, dict) else dict(base)
            return dumps({**padded, "pad": "x" * size}) if isinstance(padded, dict) else dumps(["x" * size])
        if shape == "list":
            return dumps({**base, "pad": [0] * (size // 2)}) if isinstance(base, dict) else b"[" + b"0," * size + b"0]"
        return dumps({**base, **{f"k{i}": i for i in range(size // 12)}}) if isinstance(base, dict) else b"{}"
    depth = draw(st.sampled_from([100, 990, 5000, 100_000]))
    return (b"[" * depth + b"]" * depth) if draw(st.booleans()) else (b'{"a":' * depth + b"1" + b"}" * depth)


AUTH = ["bearer", "x-api-key", "x-goog-api-key", "x-opper-api-key", "query", "none", "double", "empty", "lower"]
CONTENT_TYPES = [
    b"application/json",
    None,
    b"text/plain",
    b"application/x-www-form-urlencoded",
    b"multipart/form-data; boundary=xyz",
    b"application/json; charset=latin-1",
    b"application/json; charset=utf-8; charset=ascii",
    b";;;",
    b"\xff\xfe",
]
QUERIES = [
    "",
    "alt=sse",
    "alt=json",
    "alt=%ZZ",
    "a=1&a=2&a",
    "key",
    "key=&key=",
    "%00=%00",
    "&&&==&",
    "x=" + "y" * 5000,
    "pageSize=-1",
    "pageSize=99999999999999999999999",
    "pageToken=%F0%9F%98%80",
    "limit=abc&after_id=%2e%2e%2f",
    "before_id=1&after_id=2",
    "q=%E2%28%A1",
]


@dataclass
class Probe:
    method: str
    path: str
    query: bytes
    headers: list[tuple[bytes, bytes]]
    chunks: list[bytes]
    authenticated: bool
    declared_length: bool

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    def describe(self) -> str:
        query = self.query[:200]
        headers = [(k, v[:100]) for k, v in self.headers]
        return f"{self.method} {self.path[:200]}?{query!r} headers={headers!r} body={self.body[:300]!r}"

    def __repr__(self) -> str:
        return f"Probe({self.describe()}, {len(self.body)} bytes in {len(self.chunks)} chunks)"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # how hypothesis shows a failing example
        printer.text(repr(self))


@st.composite
def probes(draw: st.DrawFn) -> Probe:
    seed = draw(st.sampled_from(SEEDS))
    method = seed.method
    if draw(st.integers(0, 9)) == 0:
        method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "BREW"]))
    path = BASE + seed.path
    if draw(st.integers(0, 14)) == 0:
        path = draw(
            st.sampled_from(
                [
                    BASE + "/v1beta/models/" + "a" * 3000 + ":generateContent",
                    BASE + "/v1beta/models/..%2F..%2Fetc%2Fpasswd:generateContent",
                    BASE + "/v1/models/../../../etc/passwd:countTokens",
                    BASE + "/v1beta/models/:generateContent",
                    BASE + "/v1beta/models/models/:embedContent",
                    BASE + "/v1beta/models/x:unknownMethod",
                    BASE + "/models/%00",
                    BASE + "/v1/models/é",
                    BASE + "/chat/completions/",
                    BASE + "//chat//completions",
                    BASE,
                    "/",
                    "/v1/chat/completions",
                    BASE + "/" + draw(st.text(max_size=30)),
                ]
            )
        )
    query = seed.query
    if draw(st.booleans()):
        query = draw(st.sampled_from(QUERIES))
    headers: list[tuple[bytes, bytes]] = []
    auth = draw(st.sampled_from(AUTH))
    key = KEY.encode()
    if auth == "bearer":
        headers.append((b"authorization", b"Bearer " + key))
    elif auth == "lower":
        headers.append((b"authorization", b"bearer " + key))
    elif auth in ("x-api-key", "x-goog-api-key", "x-opper-api-key"):
        headers.append((auth.encode(), key))
    elif auth == "query":
        query = (query + "&" if query else "") + "key=" + KEY
    elif auth == "double":
        headers += [
            (b"authorization", b"Bearer " + key),
            (b"authorization", b"Basic Zm9vOmJhcg=="),
            (b"x-api-key", key),
        ]
    elif auth == "empty":
        headers += [(b"authorization", b"Bearer "), (b"x-api-key", b"")]
    content_type = draw(st.sampled_from(CONTENT_TYPES))
    if content_type is not None:
        headers.append((b"content-type", content_type))
    if draw(st.integers(0, 4)) == 0:
        headers.append(
            draw(
                st.sampled_from(
                    [
                        (b"x-goog-api-key", key),
                        (b"anthropic-version", b"\xff\xfe"),
                        (b"accept", b"text/event-stream"),
                        (b"accept-encoding", b"gzip, br, zstd"),
                        (b"x-stainless-timeout", b"NOT_GIVEN"),
                        (b"user-agent", b"x" * 8000),
                        (b"content-encoding", b"gzip"),
                        (b"transfer-encoding", b"chunked"),
                        (b"content-length", b"-1"),
                        (b"content-length", b"abc"),
                        (b"content-length", b"99999999999999999999"),
                        (b"origin", b"http://evil.example"),
                    ]
                )
            )
        )
    raw = draw(bodies(seed)) if method not in ("GET", "HEAD") or draw(st.integers(0, 5)) == 0 else b""
    declared = draw(st.booleans()) and not any(k == b"content-length" for k, _ in headers)
    if declared:
        headers.append((b"content-length", str(len(raw)).encode()))
    pieces = draw(st.integers(1, 4))
    step = max(1, len(raw) // pieces)
    chunks = [raw[i : i + step] for i in range(0, len(raw), step)] or [b""]
    raw_query = query.encode("latin-1", "replace")
    return Probe(method, path, raw_query, headers, chunks, authenticated(headers, raw_query), declared)


# --- driving the app in-process ----------------------------------------------------------------


@dataclass
class Answer:
    status: int = 0
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.decode("latin-1").lower() == name:
                return value.decode("latin-1")
        return None


async def call_asgi(app: Any, probe: Probe) -> Answer:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": probe.method,
        "scheme": "http",
        "path": urllib.parse.unquote(probe.path),
        "raw_path": probe.path.encode("utf-8"),
        "query_string": probe.query,
        "root_path": "",
        "headers": probe.headers,
        "client": ("127.0.0.1", 50123),
        "server": ("127.0.0.1", 8787),
        "state": {},
    }
    pending = list(probe.chunks)
    finished = asyncio.Event()
    answer = Answer()
    pieces: list[bytes] = []

    async def receive() -> dict[str, Any]:
        if pending:
            chunk = pending.pop(0)
            return {"type": "http.request", "body": chunk, "more_body": bool(pending)}
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            assert answer.status == 0, "the response was started twice"
            answer.status = message["status"]
            answer.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            pieces.append(message.get("body", b""))
            if not message.get("more_body", False):
                finished.set()

    await asyncio.wait_for(app(scope, receive, send), timeout=20)
    finished.set()
    answer.body = b"".join(pieces)
    return answer


# --- the properties ------------------------------------------------------------------------------


def check(probe: Probe, status: int, content_type: str | None, body: bytes) -> None:
    """The properties every answer must have."""
    where = probe.describe()
    assert 100 <= status < 500, f"{status} for {where}: {body[:500]!r}"
    assert KEY.encode() not in body, f"the API key was echoed for {where}"
    shape, endpoint = owner(probe.method, probe.path, probe.query, probe.headers)
    if probe.method == "OPTIONS":
        return  # CORS preflights and OPTIONS answers belong to the CORS middleware
    if endpoint and not probe.authenticated:
        assert status == 401, f"{status} without an API key for {where}: {body[:300]!r}"
    if probe.method == "HEAD":
        return  # no body over HTTP
    if status >= 400:
        assert content_type is not None and content_type.startswith("application/json"), f"{content_type}: {where}"
        document = json.loads(body)
        try:
            SHAPES[shape](document, status)
        except (AssertionError, KeyError, TypeError) as exc:
            raise AssertionError(f"{status} not in the {shape} error shape for {where}: {document!r}") from exc
        return
    assert endpoint, f"{status} for a path no surface owns: {where}"
    if content_type is not None and content_type.startswith("text/event-stream"):
        for line in body.decode("utf-8").splitlines():
            if line.startswith("data: ") and line != "data: [DONE]":
                json.loads(line[6:])
    else:
        json.loads(body)
    if probe.method == "POST":
        assert probe.body.lstrip()[:1] == b"{", f"{status} for a body that is not a JSON object: {where}"


_STILL_THERE = b'{"model":"m","messages":[{"role":"user","content":"still there?"}]}'
HEALTHY = Probe(
    "POST",
    BASE + "/chat/completions",
    b"",
    [(b"authorization", b"Bearer k"), (b"content-length", str(len(_STILL_THERE)).encode())],
    [_STILL_THERE],
    True,
    True,
)


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(scope="module")
def app() -> MockApp:
    return MockApp(settings=Settings(max_body_bytes=LIMIT, journal_size=50, history_size=50))


def in_process(app: MockApp, loop: asyncio.AbstractEventLoop, probe: Probe, *, healthy: bool = True) -> None:
    try:
        answer = loop.run_until_complete(call_asgi(app, probe))
    except Exception as exc:
        raise AssertionError(f"the app raised for {probe.describe()}:\n{traceback.format_exc()}") from exc
    check(probe, answer.status, answer.header("content-type"), answer.body)
    if healthy:
        assert loop.run_until_complete(call_asgi(app, HEALTHY)).status == 200


@FUZZ
@given(probe=probes())
def test_every_surface_survives_bad_input(app: MockApp, loop: asyncio.AbstractEventLoop, probe: Probe) -> None:
    in_process(app, loop, probe)


@pytest.mark.slow
@FUZZ_SLOW
@given(probe=probes())
def test_every_surface_survives_bad_input_long_run(app: MockApp, loop: asyncio.AbstractEventLoop, probe: Probe) -> None:
    in_process(app, loop, probe)


# --- every field of every seed, systematically ------------------------------------------------

DELETE = object()
SWEEP = [DELETE, None, True, 0, "x", [], {}]
SWEEP_SLOW = [DELETE, *RETYPED, *ODD_STRINGS, *ODD_NUMBERS, *HOSTILE_SCHEMAS]


def sweep(app: MockApp, loop: asyncio.AbstractEventLoop, seed: Seed, values: Sequence[Any]) -> int:
    """Every field of the seed, deleted or replaced by each value in turn; returns the requests sent."""
    sent = 0
    for path in list(paths_of(seed.body)):
        for value in values:
            if value is DELETE and not path:
                continue
            body = with_value(copy.deepcopy(seed.body), path, value, delete=value is DELETE)
            probe = Probe(
                seed.method,
                BASE + seed.path,
                seed.query.encode(),
                [(b"authorization", b"Bearer " + KEY.encode()), (b"content-type", b"application/json")],
                [dumps(body)],
                True,
                False,
            )
            in_process(app, loop, probe, healthy=False)
            sent += 1
    assert loop.run_until_complete(call_asgi(app, HEALTHY)).status == 200
    return sent


BODIES = [seed for seed in SEEDS if seed.body is not None]


@pytest.mark.parametrize("seed", BODIES, ids=lambda seed: seed.path)
def test_every_field_deleted_or_of_the_wrong_type(app: MockApp, loop: asyncio.AbstractEventLoop, seed: Seed) -> None:
    assert sweep(app, loop, seed, SWEEP) > 0


@pytest.mark.slow
@pytest.mark.parametrize("seed", BODIES, ids=lambda seed: seed.path)
def test_every_field_given_every_odd_value(app: MockApp, loop: asyncio.AbstractEventLoop, seed: Seed) -> None:
    assert sweep(app, loop, seed, SWEEP_SLOW) > 0


def test_the_seeds_are_valid_requests(app: MockApp, loop: asyncio.AbstractEventLoop) -> None:
    """The fuzzing starts from requests that succeed, so that mutations reach deep into each parser."""
    refused = []
    for seed in SEEDS:
        body = [dumps(seed.body)] if seed.body is not None else [b""]
        probe = Probe(seed.method, BASE + seed.path, seed.query.encode(), [(b"x-api-key", b"k")], body, True, True)
        answer = loop.run_until_complete(call_asgi(app, probe))
        if answer.status != 200:
            refused.append((seed.path, answer.status))
    assert refused == [
        ("/responses", 400),  # previous_response_id that was never given out
        ("/responses", 404),  # item_reference to an unknown item
        ("/nope", 404),
        ("/../../etc/passwd", 404),
    ]


# --- over a real server -------------------------------------------------------------------------


class _Errors(logging.Handler):
    """Collects what uvicorn logs at ERROR: a traceback in the app shows up here."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[MockServer, _Errors]]:
    errors = _Errors()
    logger = logging.getLogger("uvicorn.error")
    logger.addHandler(errors)
    try:
        with MockServer(max_body_bytes=LIMIT, journal_size=50, history_size=50) as running:
            yield running, errors
    finally:
        logger.removeHandler(errors)


def raw_http(port: int, probe: Probe, *, chunked: bool) -> tuple[int, dict[str, str], bytes]:
    """Send exactly these bytes (no client normalises the path, query or headers) and read the answer.

    The connection is kept alive, as the SDKs' clients keep theirs, and closed once the answer is read.
    """
    target = probe.path.encode("utf-8") + (b"?" + probe.query if probe.query else b"")
    lines = [probe.method.encode() + b" " + target + b" HTTP/1.1", b"host: 127.0.0.1"]
    lines += [k + b": " + v for k, v in probe.headers]
    if chunked:
        lines.append(b"transfer-encoding: chunked")
        payload = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in probe.chunks if c) + b"0\r\n\r\n"
    else:
        payload = probe.body
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + payload)
        reader = sock.makefile("rb")
        status_line = reader.readline().decode("latin-1")
        headers: dict[str, str] = {}
        while (line := reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        status = int(status_line.split()[1])
        if probe.method == "HEAD" or status in (204, 304):
            body = b""
        elif headers.get("transfer-encoding") == "chunked":
            body = b""
            while size := int(reader.readline().split(b";")[0], 16):
                body += reader.read(size)
                reader.readline()
        elif "content-length" in headers:
            body = reader.read(int(headers["content-length"]))
        else:
            body = reader.read()
    return status, headers, body


# Headers that make the request itself bad HTTP: uvicorn refuses those before the app sees them.
_NOT_HTTP = (b"content-length", b"transfer-encoding")


@FUZZ_SERVER
@given(probe=probes())
def test_a_real_server_survives_bad_input(server: tuple[MockServer, _Errors], probe: Probe) -> None:
    over_http(server, probe)


@pytest.mark.slow
@FUZZ_SERVER_SLOW
@given(probe=probes())
def test_a_real_server_survives_bad_input_long_run(server: tuple[MockServer, _Errors], probe: Probe) -> None:
    over_http(server, probe)


def over_http(server: tuple[MockServer, _Errors], probe: Probe) -> None:
    """The probe sent over a socket; the answer is the surface's own (or uvicorn's, for bad HTTP)."""
    running, errors = server
    probe.headers = [(k, v) for k, v in probe.headers if k not in _NOT_HTTP]
    chunked = not probe.declared_length and len(probe.chunks) > 1
    if not chunked:
        probe.headers.append((b"content-length", str(len(probe.body)).encode()))
    status, headers, body = raw_http(running.port, probe, chunked=chunked)
    if status == 400 and headers.get("content-type", "").startswith("text/plain"):
        # uvicorn's own answer to a request line it cannot parse (such as a path with spaces)
        assert body == (b"" if probe.method == "HEAD" else b"Invalid HTTP request received."), body
        return
    check(probe, status, headers.get("content-type"), body)
    assert not errors.records, [r.getMessage() for r in errors.records]
    assert raw_http(running.port, HEALTHY, chunked=False)[0] == 200


def test_the_real_server_still_serves_an_sdk(server: tuple[MockServer, _Errors]) -> None:
    running, errors = server
    client = openai.OpenAI(base_url=running.base_url, api_key="k", max_retries=0)
    answer = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "still there?"}])
    assert answer.choices[0].message.content
    assert not errors.records


# --- oversized bodies -----------------------------------------------------------------------------

SMALL = 2048
POSTS = sorted(
    {(s.path, owner("POST", BASE + s.path, b"", [])[0]) for s in SEEDS if s.method == "POST" and s.path != "/nope"}
)


@pytest.fixture(scope="module")
def small_server() -> Iterator[MockServer]:
    with MockServer(max_body_bytes=SMALL) as running:
        yield running


def _padded(size: int) -> bytes:
    body = b'{"model": "m", "pad": "'
    return body + b"x" * (size - len(body) - 2) + b'"}'


@pytest.mark.parametrize(("path", "shape"), POSTS)
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_over_the_limit_is_a_413_in_the_surface_shape(
    small_server: MockServer, path: str, shape: str, chunked: bool
) -> None:
    raw = _padded(SMALL + 1)
    headers = [(b"authorization", b"Bearer k"), (b"content-type", b"application/json")]
    if not chunked:
        headers.append((b"content-length", str(len(raw)).encode()))
    chunks = [raw[i : i + 500] for i in range(0, len(raw), 500)]
    probe = Probe("POST", BASE + path, b"", headers, chunks, True, not chunked)
    status, response_headers, body = raw_http(small_server.port, probe, chunked=chunked)
    assert status == 413, body
    document = json.loads(body)
    SHAPES[shape](document, 413)
    assert str(SMALL) in body.decode()  # the message names the limit
    assert response_headers.get("x-should-retry") == "false"


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_at_the_limit_is_read(small_server: MockServer, chunked: bool) -> None:
    raw = _padded(SMALL)
    headers = [(b"authorization", b"Bearer k")] + ([] if chunked else [(b"content-length", str(len(raw)).encode())])
    chunks = [raw[i : i + 700] for i in range(0, len(raw), 700)]
    probe = Probe("POST", BASE + "/embeddings", b"", headers, chunks, True, not chunked)
    status, _, body = raw_http(small_server.port, probe, chunked=chunked)
    assert status == 400 and b"input" in body  # read and parsed: the body just lacks `input`


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_client_that_does_not_keep_the_connection_alive_still_reads_the_413(
    small_server: MockServer, chunked: bool
) -> None:
    """The rest of an oversized body is read and dropped before the 413, or closing would reset the connection."""
    raw = _padded(8 * 1024 * 1024)
    headers = [(b"authorization", b"Bearer k"), (b"connection", b"close")]
    if not chunked:
        headers.append((b"content-length", str(len(raw)).encode()))
    chunks = [raw[i : i + 65536] for i in range(0, len(raw), 65536)]
    probe = Probe("POST", BASE + "/v1/messages", b"", headers, chunks, True, not chunked)
    status, _, body = raw_http(small_server.port, probe, chunked=chunked)
    assert status == 413
    anthropic_shape(json.loads(body), 413)


def test_an_sdk_gets_its_own_413_error(small_server: MockServer) -> None:
    small_server.reset()
    client = openai.OpenAI(base_url=small_server.base_url, api_key="k", max_retries=2)
    with pytest.raises(openai.APIStatusError, match="Request body too large") as caught:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x" * 100_000}])
    assert caught.value.status_code == 413
    assert len(small_server.requests) == 1  # not retried


# --- what fuzzing found, pinned ---------------------------------------------------------------------

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
RESPONSES_ITEM = {"model": "m", "input": [{"role": "user", "content": "hi"}, {"type": {}, "call_id": "c"}]}
GEMINI = {"contents": [{"parts": [{"text": "hi"}]}]}
REGRESSIONS: list[tuple[str, str, bytes, int, str]] = [
    # Strict JSON: lone surrogates, NaN and Infinity, numbers past a double, UTF-16, nesting
    ("POST", "/chat/completions", b'{"model":"m\\udc00","messages":[]}', 400, "lone UTF-16 surrogate"),
    ("POST", "/embeddings", b'{"model":"m","input":"\\ud800"}', 400, "lone UTF-16 surrogate"),
    ("POST", "/chat/completions", b'{"model":"m","messages":[],"temperature":NaN}', 400, "NaN is not a JSON value"),
    ("POST", "/v1/messages", b'{"model":"m","max_tokens":Infinity}', 400, "Infinity is not a JSON value"),
    ("POST", "/v1/interactions", b'{"model":"m","input":"x","temperature":1e400}', 400, "1e400 is too large"),
    ("POST", "/chat/completions", json.dumps(CHAT).encode("utf-16"), 400, "not UTF-8"),
    ("POST", "/chat/completions", dumps({**CHAT, "x": nested(129, "list")}), 400, "more than 128 levels"),
    (
        "POST",
        "/chat/completions",
        dumps({"model": "m", "messages": [{"role": "user", "content": "😀 \\ud83d"}]}),
        200,
        "",
    ),
    # A field of the wrong type where a value was looked up in a set
    ("POST", "/chat/completions", dumps({**CHAT, "tools": [{"type": ["function"]}]}), 400, "tools[0].type"),
    (
        "POST",
        "/chat/completions",
        dumps({**CHAT, "tool_choice": {"type": "allowed_tools", "allowed_tools": []}}),
        400,
        "tool_choice.allowed_tools",
    ),
    ("POST", "/responses", dumps(RESPONSES_ITEM), 400, "input[1].type"),
    (
        "POST",
        "/v1/messages",
        dumps(
            {**CHAT, "max_tokens": 5, "tools": [{"name": "f", "input_schema": {}}], "tool_choice": {"type": ["tool"]}}
        ),
        400,
        "tool_choice.type",
    ),
    ("POST", "/v1/interactions", dumps({"model": "m", "input": [{"type": ["text"], "text": "x"}]}), 400, ".type"),
    ("POST", "/v1/interactions", dumps({"model": "m", "input": "x", "response_format": {"type": []}}), 200, ""),
    (
        "POST",
        "/v1/interactions",
        dumps(
            {
                "model": "m",
                "input": "x",
                "tools": [{"type": "function", "name": "f"}],
                "generation_config": {"tool_choice": {"allowed_tools": {"mode": "any", "tools": [["f"]]}}},
            }
        ),
        400,
        "allowed_tools.tools",
    ),
    # Numbers as strings that int() refuses, and batches without end
    (
        "POST",
        "/v1beta/models/g:generateContent",
        dumps({**GEMINI, "generationConfig": {"maxOutputTokens": "9" * 5000}}),
        400,
        "TYPE_INT32",
    ),
    (
        "POST",
        "/v1beta/models/g:generateContent",
        dumps({**GEMINI, "generationConfig": {"maxOutputTokens": "²"}}),
        400,
        "TYPE_INT32",
    ),
    (
        "POST",
        "/v1beta/models/e:batchEmbedContents",
        dumps({"requests": [{"content": {"parts": [{"text": "a"}]}}] * 101}),
        400,
        "at most 100 requests",
    ),
    # Methods and paths: JSON in the owning surface's shape, never Starlette's plain text
    ("GET", "/chat/completions", b"", 405, "not allowed"),
    ("DELETE", "/v1/messages", b"", 405, "not allowed"),
    ("PATCH", "/v1/models/g:countTokens", b"", 405, "not allowed"),
    ("POST", "/models", b"", 405, "not allowed"),
    ("POST", "/nope", b"{}", 404, "Unknown path"),
    ("PUT", "/", b"{}", 404, "Unknown path"),
    ("POST", "/\n0", b"{}", 404, "Unknown path"),  # a line break: not even the catch-all route takes it
]


@pytest.mark.parametrize(
    ("method", "path", "raw", "status", "message"),
    REGRESSIONS,
    ids=[f"{r[0]} {r[1]} {r[4] or r[3]}" for r in REGRESSIONS],
)
def test_what_fuzzing_found(
    app: MockApp, loop: asyncio.AbstractEventLoop, method: str, path: str, raw: bytes, status: int, message: str
) -> None:
    full = BASE + path if path != "/" else path
    probe = Probe(method, full, b"", [(b"x-api-key", b"k")], [raw], True, False)
    answer = loop.run_until_complete(call_asgi(app, probe))
    assert answer.status == status, answer.body
    check(probe, answer.status, answer.header("content-type"), answer.body)
    assert message in answer.body.decode()
    if status == 405:
        assert answer.header("allow")


def test_a_get_on_a_gemini_method_path_retrieves_a_model_of_that_id(
    app: MockApp, loop: asyncio.AbstractEventLoop
) -> None:
    """GET /v1/models/{id} is Anthropic's model retrieval, and ids may hold ':' (`llama3:8b`)."""
    probe = Probe("GET", BASE + "/v1/models/g:countTokens", b"", [(b"x-api-key", b"k")], [b""], True, False)
    answer = loop.run_until_complete(call_asgi(app, probe))
    assert answer.status == 404
    assert json.loads(answer.body)["error"] == {"type": "not_found_error", "message": "model: g:countTokens"}


@pytest.mark.parametrize("schema", HOSTILE_SCHEMAS, ids=lambda s: json.dumps(s)[:60])
def test_a_hostile_schema_gets_a_bounded_instance_at_once(schema: Any) -> None:
    import random

    from mockopper.schema_instances import schema_instance

    value = schema_instance(schema, random.Random(1))
    assert len(json.dumps(value, allow_nan=False)) < 2_000_000


@pytest.mark.parametrize("schema", HOSTILE_SCHEMAS[:6], ids=lambda s: json.dumps(s)[:60])
def test_json_auto_answers_a_hostile_schema(app: MockApp, loop: asyncio.AbstractEventLoop, schema: Any) -> None:
    body = {**CHAT, "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}}
    probe = Probe("POST", BASE + "/chat/completions", b"", [(b"x-api-key", b"k")], [dumps(body)], True, False)
    answer = loop.run_until_complete(call_asgi(app, probe))
    assert answer.status == 200
    json.loads(json.loads(answer.body)["choices"][0]["message"]["content"])


# --- WebSocket turns ----------------------------------------------------------------------------------

WS_PATHS = [BASE + "/responses", BASE + "/openresponses/responses"]
WS_SEEDS = [
    {"type": "response.create", **{k: v for k, v in seed.body.items() if k != "stream"}}
    for seed in SEEDS
    if seed.path in ("/responses", "/openresponses", "/openresponses/responses") and isinstance(seed.body, dict)
]
TERMINAL = {"error", "response.completed", "response.incomplete", "response.failed"}


@st.composite
def ws_frames(draw: st.DrawFn) -> str | bytes:
    seed = draw(st.sampled_from(WS_SEEDS))
    kind = draw(st.sampled_from(["valid", "mutated", "mutated", "json", "bytes", "utf8", "deep"]))
    if kind == "valid":
        raw = dumps(seed)
    elif kind == "mutated":
        raw = dumps(draw(mutated(seed)), ascii=draw(st.booleans()))
    elif kind == "json":
        raw = dumps(draw(json_values))
    elif kind == "bytes":
        return draw(st.binary(max_size=100))
    elif kind == "utf8":
        raw = dumps(seed)[:-2] + b"\xff\xfe"
    else:
        raw = b'{"type":"response.create","input":' + b"[" * 5000 + b"]" * 5000 + b"}"
    try:
        return raw.decode("utf-8") if draw(st.booleans()) else raw
    except UnicodeDecodeError:
        return raw


def read_turn(ws: Any) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    while not events or events[-1].get("type") not in TERMINAL:
        events.append(json.loads(ws.receive_text()))
    return events


@settings(FUZZ, max_examples=50)
@given(path=st.sampled_from(WS_PATHS), frames=st.lists(ws_frames(), min_size=1, max_size=4))
def test_a_websocket_survives_bad_turns(app: MockApp, path: str, frames: list[str | bytes]) -> None:
    websocket_turns(app, path, frames)


@pytest.mark.slow
@settings(FUZZ_SLOW, max_examples=1500)
@given(path=st.sampled_from(WS_PATHS), frames=st.lists(ws_frames(), min_size=1, max_size=4))
def test_a_websocket_survives_bad_turns_long_run(app: MockApp, path: str, frames: list[str | bytes]) -> None:
    websocket_turns(app, path, frames)


def websocket_turns(app: MockApp, path: str, frames: list[str | bytes]) -> None:
    """Each frame is answered (an answer or a 4xx error event) and the connection still serves a turn."""
    with TestClient(app) as client, client.websocket_connect(path, headers={"authorization": "Bearer k"}) as ws:
        for frame in frames:
            if isinstance(frame, bytes):
                ws.send_bytes(frame)
            else:
                ws.send_text(frame)
            last = read_turn(ws)[-1]
            if last["type"] == "error":
                assert 400 <= last["status"] < 500, last
                assert last["error"]["message"], last
            assert KEY not in json.dumps(last)
        ws.send_text(json.dumps({"type": "response.create", "model": "m", "input": "still there?"}))
        assert read_turn(ws)[-1]["type"] == "response.completed"
