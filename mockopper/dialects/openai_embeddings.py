"""OpenAI Embeddings: POST /embeddings.

`input` is a string, a list of strings, a token array or a list of token arrays. The
vectors are the engine's (deterministic unit vectors; texts that share words are
closer), `dimensions` long, sent as float lists or, with `encoding_format: base64` (the
OpenAI SDKs' default), as base64 of little-endian float32. A token array has no text
here: each token id counts as a word of its own, and as one prompt token.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from mockopper.answers import Answer
from mockopper.conversation import Conversation
from mockopper.dialects.base import Call, RequestError, Route, Surface, body_object, expect, optional, parse_extras
from mockopper.dialects.openai import OpenAIErrors, bounded
from mockopper.fakes import float32_base64
from mockopper.sse import Event

__all__ = ["Embeddings", "EmbeddingsConversation"]

MAX_INPUTS = 2048
MAX_DIMENSIONS = 4096
_INVALID_INPUT = "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference."


@dataclass(slots=True)
class EmbeddingsConversation(Conversation):
    encoding_format: str = "float"
    token_count: int | None = None  # the prompt size when the input came as token arrays


def _tokens(value: list[Any]) -> list[int] | None:
    """A token array's ids, or None when `value` is not one."""
    if value and all(isinstance(t, int) and not isinstance(t, bool) and t >= 0 for t in value):
        return value
    return None


def _as_text(tokens: list[int]) -> str:
    return " ".join(f"token{t}" for t in tokens)


class Embeddings(OpenAIErrors, Surface):
    api: ClassVar[str] = "embeddings"
    routes = (Route("/embeddings"),)

    def parse(self, body: Any, call: Call) -> Conversation:
        body = body_object(body)
        model = expect(body, "model", str)
        raw = expect(body, "input", str, list)
        texts: list[str] = []
        token_count: int | None = None
        if isinstance(raw, str):
            texts.append(raw)
        elif (tokens := _tokens(raw)) is not None:
            texts.append(_as_text(tokens))
            token_count = len(tokens)
        else:
            if len(raw) > MAX_INPUTS:
                raise RequestError(
                    400,
                    f"Invalid 'input': array too long. Expected an array with maximum length {MAX_INPUTS}, "
                    f"but got an array with length {len(raw)} instead.",
                    param="input",
                    code="array_above_max_length",
                )
            if raw and all(isinstance(item, list) for item in raw):
                token_count = 0
                for item in raw:
                    tokens = _tokens(item)
                    if tokens is None:
                        raise RequestError(400, _INVALID_INPUT, param="input")
                    texts.append(_as_text(tokens))
                    token_count += len(tokens)
            elif raw and all(isinstance(item, str) for item in raw):
                texts.extend(raw)
            else:
                raise RequestError(400, _INVALID_INPUT, param="input")
        if any(not text for text in texts):
            raise RequestError(400, _INVALID_INPUT, param="input")
        dimensions = bounded(body, "dimensions", 1, MAX_DIMENSIONS, integer=True)
        encoding = optional(body, "encoding_format", str, default="float")
        if encoding not in ("float", "base64"):
            raise RequestError(
                400,
                f"Invalid value for 'encoding_format': '{encoding}'. Supported values are: 'float' and 'base64'.",
                param="encoding_format",
                code="invalid_value",
            )
        optional(body, "user", str)
        return EmbeddingsConversation(
            api=self.api,
            model=model,
            inputs=tuple(texts),
            dimensions=dimensions,
            extras=parse_extras(body),
            headers=call.headers,
            encoding_format=encoding,
            token_count=token_count,
        )

    def render(self, conv: Conversation, answer: Answer) -> Any:
        assert isinstance(conv, EmbeddingsConversation)
        tokens = conv.token_count if conv.token_count is not None else answer.input_tokens
        return {
            "object": "list",
            "data": [
                {
                    "object": "embedding",
                    "index": i,
                    "embedding": float32_base64(vector) if conv.encoding_format == "base64" else vector,
                }
                for i, vector in enumerate(answer.vectors)
            ],
            "model": answer.model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }

    def events(self, conv: Conversation, answer: Answer) -> Iterable[Event]:
        raise AssertionError("Embeddings never stream: parse() never sets `stream`.")
