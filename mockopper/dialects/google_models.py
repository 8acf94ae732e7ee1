"""Google's models list: GET `{v1beta,v1,}/models`, paged as the Gemini API pages it.

It shares GET /models with OpenAI and GET /v1/models with Anthropic, and claims a request
by its `x-goog-api-key` header or `?key=`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from mockopper.dialects.base import Call, ModelInfo, RequestError, Route, Surface
from mockopper.dialects.gemini_request import VERSIONS
from mockopper.dialects.google import GoogleErrors

__all__ = ["GoogleModels"]


class GoogleModels(GoogleErrors, Surface):
    """GET `{v1beta,v1,}/models` in Google's shape; claims shared paths by `x-goog-api-key` or `?key=`."""

    api: ClassVar[str] = "models"
    kind: ClassVar[str] = "list"
    routes = tuple(Route(f"{version}/models", ("GET",)) for version in VERSIONS)
    default_page_size: ClassVar[int] = 50

    def claims(self, call: Call) -> bool:
        return "x-goog-api-key" in call.headers or "key" in call.query

    @staticmethod
    def _model(model: ModelInfo) -> dict[str, Any]:
        embedding = "embedding" in model.id
        return {
            "name": f"models/{model.id}",
            "version": "001",
            "displayName": model.display_name,
            "description": f"{model.display_name}, served by mockopper.",
            "inputTokenLimit": 2048 if embedding else 1048576,
            "outputTokenLimit": 1 if embedding else 65536,
            "supportedGenerationMethods": (
                ["embedContent", "batchEmbedContents", "countTokens"]
                if embedding
                else ["generateContent", "streamGenerateContent", "countTokens", "batchGenerateContent"]
            ),
        }

    def list_models(self, models: Sequence[ModelInfo], call: Call) -> Any:
        size = call.query.get("pageSize") or call.query.get("page_size")
        token = call.query.get("pageToken") or call.query.get("page_token") or "0"
        if size is not None and (not size.isdigit() or int(size) < 1):
            raise RequestError(
                400, f"Invalid value for pageSize: {size!r}; expected a positive integer.", param="pageSize"
            )
        if not token.isdigit() or int(token) > len(models):
            raise RequestError(400, f"Invalid page token {token!r}.", param="pageToken")
        start = int(token)
        end = start + min(int(size) if size else self.default_page_size, 1000)
        body: dict[str, Any] = {"models": [self._model(m) for m in models[start:end]]}
        if end < len(models):
            body["nextPageToken"] = str(end)
        return body
