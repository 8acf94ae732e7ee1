"""What OpenAI's surfaces share: the error body, rate-limit headers, attachments, and the models list."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from mockopper import attachments, fakes
from mockopper.answers import Failure
from mockopper.attachments import Attachment
from mockopper.dialects.base import Call, ModelInfo, RequestError, Route, Surface, invalid_type, optional, retry_headers
from mockopper.exchange import Exchange, RecordedError

__all__ = [
    "CHAT_PARTS",
    "ERROR_TYPES",
    "RESPONSES_PARTS",
    "OpenAIErrors",
    "OpenAIModels",
    "attachment",
    "bounded",
    "error_type",
    "token_logprobs",
]

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


def bounded(body: Mapping[str, Any], key: str, low: float, high: float, *, integer: bool = False) -> Any:
    """An optional number between `low` and `high` (None when absent); a 400 as OpenAI words it when outside."""
    value = optional(body, key, int if integer else float)
    if value is not None and not low <= value <= high:
        kind = "integer" if integer else "decimal"
        below = value < low
        side, bound = ("below minimum", f">= {low:g}") if below else ("above maximum", f"<= {high:g}")
        raise RequestError(
            400,
            f"Invalid '{key}': {kind} {side} value. Expected a value {bound}, but got {value} instead.",
            param=key,
            code=f"{kind}_{'below_min' if below else 'above_max'}_value",
        )
    return value


def token_logprobs(text: str, top: int) -> list[dict[str, Any]]:
    """The text's tokens with their log probabilities and `top` alternatives, as Chat and Responses spell them."""
    return [
        {**_logprob(chosen), "top_logprobs": [_logprob(choice) for choice in likeliest]}
        for chosen, likeliest in fakes.logprobs(text, top)
    ]


def _logprob(choice: fakes.Choice) -> dict[str, Any]:
    token, logprob = choice
    return {"token": token, "logprob": logprob, "bytes": list(token.encode())}


def error_type(failure: Failure) -> str:
    if failure.type:
        return failure.type
    status = failure.status
    return ERROR_TYPES.get(status, "invalid_request_error" if status < 500 else "api_error")


class OpenAIErrors:
    """Mixed into OpenAI surfaces: `{"error": {"message", "type", "param", "code"}}`."""

    def error_kind(self, failure: Failure) -> str:
        """The error `type` a failure is named with (OpenResponses names its own)."""
        return error_type(failure)

    def error_body(self, failure: Failure) -> Any:
        return {
            "error": {
                "message": failure.message,
                "type": self.error_kind(failure),
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


# --- attachments: the content parts of Chat Completions and Responses -------------------------

# Chat Completions spells them image_url, input_audio and file (and accepts Responses'
# input_image and input_file); Responses input_image, input_file, input_audio and
# (OpenResponses) input_video.
CHAT_PARTS = ("image_url", "input_audio", "file", "input_image", "input_file")
RESPONSES_PARTS = ("input_image", "input_file", "input_audio", "input_video")
_AUDIO_FORMATS = {"mp3": "audio/mpeg", "wav": "audio/wav"}


def _text(part: Mapping[str, Any], key: str, where: str) -> str | None:
    value = part.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise invalid_type(f"{where}.{key}", "a string", value)
    return value


def _inner(part: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = part.get(key)
    if value is None:
        raise RequestError(
            400,
            f"Missing required parameter: '{where}.{key}'.",
            param=f"{where}.{key}",
            code="missing_required_parameter",
        )
    if not isinstance(value, Mapping):
        raise invalid_type(f"{where}.{key}", "an object", value)
    return value


def _missing(where: str, *keys: str) -> RequestError:
    shown = " or ".join(f"'{where}.{k}'" for k in keys)
    return RequestError(
        400, f"Missing required parameter: {shown}.", param=f"{where}.{keys[0]}", code="missing_required_parameter"
    )


def attachment(part: Mapping[str, Any], where: str) -> Attachment:
    """The attachment an OpenAI content part (in CHAT_PARTS or RESPONSES_PARTS) carries, or a 400 naming the field."""
    kind = part["type"]
    if kind == "image_url":  # Chat: {"image_url": {"url": "data:... or https://...", "detail"}}
        spec = _inner(part, "image_url", where)
        url = _text(spec, "url", f"{where}.image_url")
        if url is None:
            raise _missing(f"{where}.image_url", "url")
        return attachments.linked(url, kind="image")
    if kind == "input_audio":  # {"input_audio": {"data": base64, "format": "wav" | "mp3"}}
        spec = _inner(part, "input_audio", where)
        data = _text(spec, "data", f"{where}.input_audio")
        if data is None:
            raise _missing(f"{where}.input_audio", "data")
        fmt = _text(spec, "format", f"{where}.input_audio") or ""
        return attachments.inline(data, _AUDIO_FORMATS.get(fmt.lower(), f"audio/{fmt.lower()}"), kind="audio")
    if kind == "file":  # Chat: {"file": {"file_data": data URL, "filename"} | {"file_id"}}
        spec = _inner(part, "file", where)
        return _file(spec, f"{where}.file", "file_data", None, "file_id")
    if kind == "input_image":  # Responses: {"image_url": URL or data URL} | {"file_id"}
        url = _text(part, "image_url", where)
        if url is not None:
            return attachments.linked(url, kind="image")
        file_id = _text(part, "file_id", where)
        if file_id is None:
            raise _missing(where, "image_url", "file_id")
        return attachments.by_file_id(file_id, kind="image")
    if kind == "input_file":  # Responses: {"file_data", "filename"} | {"file_url"} | {"file_id"}
        return _file(part, where, "file_data", "file_url", "file_id")
    if kind == "input_video":  # OpenResponses: {"video_url": URL or data URL}
        url = _text(part, "video_url", where)
        if url is None:
            raise _missing(where, "video_url")
        return attachments.linked(url)
    raise AssertionError(f"{kind!r} is not an attachment part")


def _file(spec: Mapping[str, Any], where: str, data_key: str, url_key: str | None, id_key: str) -> Attachment:
    filename = _text(spec, "filename", where)
    data = _text(spec, data_key, where)
    if data is not None:
        return attachments.inline(data, filename=filename)
    url = _text(spec, url_key, where) if url_key else None
    if url is not None:
        return attachments.linked(url, filename=filename)
    file_id = _text(spec, id_key, where)
    if file_id is None:
        keys = [data_key, *([url_key] if url_key else []), id_key]
        raise _missing(where, *keys)
    return attachments.by_file_id(file_id, filename=filename)
