"""Gemini embeddings: `:embedContent` (one content) and `:batchEmbedContents` (what the Google SDKs call)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from mockopper.answers import Answer
from mockopper.conversation import Conversation
from mockopper.dialects.base import Call, RequestError, Surface, body_object, parse_extras
from mockopper.dialects.gemini_contents import read_parts
from mockopper.dialects.gemini_fields import field, read_bounded, read_message, read_repeated
from mockopper.dialects.gemini_request import GeminiConversation, model_in_path, model_routes
from mockopper.dialects.google import GoogleErrors

__all__ = ["MAX_BATCH", "MAX_DIMENSIONS", "GeminiEmbed"]

MAX_DIMENSIONS = 3072
MAX_BATCH = 100  # requests in one batchEmbedContents, as the API allows


class GeminiEmbed(GoogleErrors, Surface):
    """`:embedContent` (one content) and `:batchEmbedContents` (what the Google SDKs call)."""

    api: ClassVar[str] = "embeddings"
    routes = model_routes("embedContent", "batchEmbedContents")

    @staticmethod
    def _request(request: Mapping[str, Any], where: str) -> tuple[str, int | None]:
        key, content = field(request, "content")
        if content is None:
            raise RequestError(
                400, f"* EmbedContentRequest.{where}content: content is not specified", param=f"{where}content"
            )
        content = read_message(content, f"{where}{key}", "Content")
        text = "\n".join(read_parts(content, f"{where}{key}").texts)
        dims = read_bounded(request, "outputDimensionality", where, "EmbedContentRequest", MAX_DIMENSIONS)
        return text, dims

    def parse(self, body: Any, call: Call) -> Conversation:
        body = body_object(body)
        method = call.path_params.get("method", "embedContent")
        if method == "batchEmbedContents":
            key, raw = field(body, "requests")
            requests = read_repeated(raw, key, "EmbedContentRequest")
            if not requests:
                raise RequestError(400, "* BatchEmbedContentsRequest.requests: requests is not specified", param=key)
            if len(requests) > MAX_BATCH:
                raise RequestError(
                    400,
                    f"* BatchEmbedContentsRequest.requests: at most {MAX_BATCH} requests can be in one batch, "
                    f"got {len(requests)}.",
                    param=key,
                )
            parsed = [
                self._request(read_message(r, f"{key}[{i}]", "EmbedContentRequest"), f"{key}[{i}].")
                for i, r in enumerate(requests)
            ]
        else:
            parsed = [self._request(body, "")]
        asked = {dims for _, dims in parsed}
        if len(asked) > 1:
            raise RequestError(
                400,
                "Every request in one batch must ask for the same outputDimensionality; got "
                + ", ".join(str(d) for d in sorted(asked, key=lambda d: d or 0))
                + ".",
                param="requests",
            )
        return GeminiConversation(
            api=self.api,
            model=model_in_path(call),
            inputs=tuple(text for text, _ in parsed),
            dimensions=parsed[0][1],
            extras=parse_extras(body),
            headers=call.headers,
            method=method,
        )

    def render(self, conv: Conversation, answer: Answer) -> Any:
        if isinstance(conv, GeminiConversation) and conv.method == "embedContent":
            return {"embedding": {"values": answer.vectors[0]}}
        return {"embeddings": [{"values": vector} for vector in answer.vectors]}
