"""What OpenAI's surfaces share: the error body, rate-limit headers, and the models list."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

from mockopper.dialects.base import Call, ModelInfo, RequestError, Route, Surface, retry_headers
from mockopper.engine import Failure
from mockopper.exchange import Exchange, RecordedError

__all__ = ["ERROR_TYPES", "OpenAIErrors", "OpenAIModels", "error_type"]

# The error `type` for each status when a scenario does not name one.
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    409: "conflict_error",
    413: "request_too_large",
    422: "invalid_request_error",
    429: "rate_limit_error",
    500: "api_error",
    502: "api_error",
    503: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def error_type(failure: Failure) -> str:
    if failure.type:
        return failure.type
    status = failure.status
    return ERROR_TYPES.get(status, "invalid_request_error" if status < 500 else "api_error")


class OpenAIErrors:
    """Mixed into OpenAI surfaces: `{"error": {"message", "type", "param", "code"}}`."""

    def error_body(self, failure: Failure) -> Any:
        return {
            "error": {
                "message": failure.message,
                "type": error_type(failure),
                "param": failure.param,
                "code": failure.code,
            }
        }

    def error_headers(self, failure: Failure) -> list[tuple[str, str]]:
        headers = retry_headers(failure)
        if failure.status == 429:
            reset = f"{math.ceil(failure.retry_after or 1)}s"
            headers += [
                ("x-ratelimit-limit-requests", "60"),
                ("x-ratelimit-remaining-requests", "0"),
                ("x-ratelimit-reset-requests", reset),
                ("x-ratelimit-limit-tokens", "100000"),
                ("x-ratelimit-remaining-tokens", "0"),
                ("x-ratelimit-reset-tokens", reset),
            ]
        return headers

    def read_error(self, exchange: Exchange) -> RecordedError:
        from mockopper.dialects.openai_recorded import read_error

        return read_error(exchange)


class OpenAIModels(OpenAIErrors, Surface):
    """GET /models (the OpenAI list shape) and GET /models/{id} (one model, or a 404)."""

    api: ClassVar[str] = "models"
    kind: ClassVar[str] = "list"
    routes = (Route("/models", ("GET",)), Route("/models/{model:path}", ("GET",)))

    def list_models(self, models: Sequence[ModelInfo], call: Call) -> Any:
        wanted = call.path_params.get("model")
        if wanted is not None:
            for model in models:
                if model.id == wanted:
                    return self.get_model(model)
            raise RequestError(
                404,
                f"The model '{wanted}' does not exist or you do not have access to it.",
                param="model",
                code="model_not_found",
                type="invalid_request_error",
            )
        return {
            "object": "list",
            "data": [{"id": m.id, "object": "model", "created": m.created, "owned_by": m.owned_by} for m in models],
        }

    def get_model(self, model: ModelInfo) -> Any:
        return {"id": model.id, "object": "model", "created": model.created, "owned_by": model.owned_by}
