"""The Gemini API: generateContent and its stream, countTokens, embeddings and the models list.

Paths are `{v1beta,v1,}/models/{model}:{method}` (the Google SDKs) and
`{v1beta,v1}/{provider}/{model}:{method}` (the Vercel provider, which drops `models/`
when the id has a slash). The REST API reads field names in camelCase or snake_case;
so does this dialect.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from mockopper import attachments
from mockopper.answers import Answer, Failure, ToolCall
from mockopper.conversation import Attachment, Conversation, Message, Tool, ToolCallRef
from mockopper.dialects.base import (
    Call,
    ModelInfo,
    RequestError,
    Route,
    Surface,
    body_object,
    parse_extras,
    with_cost,
)
from mockopper.dialects.google import GoogleErrors, function_args, result_text, strip_models, thought_tokens
from mockopper.exchange import Exchange, Recorded
from mockopper.sse import Event

__all__ = [
    "GeminiConversation",
    "GeminiCountTokens",
    "GeminiEmbed",
    "GeminiGenerate",
    "GoogleModels",
    "parse_contents",
]

_VERSIONS = ("/v1beta", "/v1", "")
_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1beta.{}"
_ROLES = ("user", "model", "function", "tool")
_DATA_FIELDS = (
    "text",
    "inlineData",
    "fileData",
    "functionCall",
    "functionResponse",
    "executableCode",
    "codeExecutionResult",
    "toolCall",
    "toolResponse",
)
_FINISH = {"stop": "STOP", "length": "MAX_TOKENS", "tool_calls": "STOP", "content_filter": "SAFETY"}
MAX_DIMENSIONS = 3072
MAX_BATCH = 100  # requests in one batchEmbedContents, as the API allows


def model_routes(*methods: str) -> tuple[Route, ...]:
    """One route per API version and method: the SDK form first, then the Vercel form."""
    routes = [
        Route(f"{version}/models/{{model:path}}:{method}", params={"method": method})
        for method in methods
        for version in _VERSIONS
    ]
    routes += [
        Route(f"{version}/{{model:path}}:{method}", params={"method": method})
        for method in methods
        for version in _VERSIONS
        if version
    ]
    return tuple(routes)


@dataclass(slots=True)
class GeminiConversation(Conversation):
    """A Gemini request: the method it came in on decides how the answer is shaped."""

    method: str = "generateContent"

    @property
    def array_stream(self) -> bool:
        """`:streamGenerateContent` without `alt=sse`: the chunks as one JSON array."""
        return self.method == "streamGenerateContent" and not self.stream


# --- reading bodies ------------------------------------------------------------------------


@functools.lru_cache(maxsize=256)
def _snake(name: str) -> str:
    """`generationConfig` -> `generation_config` (field names are a fixed set: cached)."""
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def field(obj: Mapping[str, Any], name: str) -> tuple[str, Any]:
    """A field by its camelCase name or its snake_case spelling, and the key it was under."""
    if name in obj:
        return name, obj[name]
    snake = _snake(name)
    if snake in obj:
        return snake, obj[snake]
    return name, None


def invalid(where: str, expected: str, value: Any) -> RequestError:
    """The REST API's message for a value of the wrong type."""
    shown = json.dumps(value, ensure_ascii=False)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return RequestError(400, f"Invalid value at '{where}' ({expected}), {shown}", param=where)


def _message(value: Any, where: str, type_name: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise invalid(where, _TYPE.format(type_name), value)
    return value


def _repeated(value: Any, where: str, type_name: str) -> list[Any]:
    """A repeated field; `type_name` is its message type, or a scalar kind such as `TYPE_STRING`."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid(where, type_name if type_name.startswith("TYPE_") else _TYPE.format(type_name), value)
    return value


def _string(value: Any, where: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise invalid(where, "TYPE_STRING", value)
    return value


def _integer(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 10:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not -(2**31) <= value < 2**31:
        raise invalid(where, "TYPE_INT32", value)
    return value


@dataclass(slots=True)
class _Parts:
    texts: list[str]
    calls: list[ToolCallRef]
    results: list[Message]
    attachments: list[Attachment]


def _parts(content: Mapping[str, Any], where: str) -> _Parts:
    key, raw = field(content, "parts")
    parts = _repeated(raw, f"{where}.{key}", "Part")
    if not parts:
        raise RequestError(
            400, f"* GenerateContentRequest.{where}.parts: contents.parts must not be empty.", param=f"{where}.parts"
        )
    out = _Parts([], [], [], [])
    for i, item in enumerate(parts):
        here = f"{where}.{key}[{i}]"
        part = _message(item, here, "Part")
        present = [name for name in _DATA_FIELDS if field(part, name)[1] is not None]
        if not present:
            raise RequestError(
                400,
                f"* GenerateContentRequest.{here}.data: required oneof field 'data' must have one initialized field",
                param=here,
            )
        text_key, text = field(part, "text")
        if text is not None:
            text = _string(text, f"{here}.{text_key}")
            thought = field(part, "thought")[1]
            if thought is not None and not isinstance(thought, bool):
                raise invalid(f"{here}.thought", "TYPE_BOOL", thought)
            if not thought:
                out.texts.append(text or "")
        call_key, call = field(part, "functionCall")
        if call is not None:
            call = _message(call, f"{here}.{call_key}", "FunctionCall")
            name = _string(call.get("name"), f"{here}.{call_key}.name")
            if not name:
                raise RequestError(
                    400,
                    f"* GenerateContentRequest.{here}.{call_key}.name: Name cannot be empty.",
                    param=f"{here}.{call_key}.name",
                )
            args = call.get("args")
            if args is not None:
                _message(args, f"{here}.{call_key}.args", "google.protobuf.Struct")
            arguments = json.dumps(args or {}, ensure_ascii=False, separators=(",", ":"))
            out.calls.append(ToolCallRef(str(call.get("id") or ""), name, arguments))
        response_key, response = field(part, "functionResponse")
        if response is not None:
            response = _message(response, f"{here}.{response_key}", "FunctionResponse")
            name = _string(response.get("name"), f"{here}.{response_key}.name")
            if not name:
                raise RequestError(
                    400,
                    f"* GenerateContentRequest.{here}.{response_key}.name: Name cannot be empty.",
                    param=f"{here}.{response_key}.name",
                )
            call_id = response.get("id")
            parts_key, carried = field(response, "parts")  # multimodal function responses
            there = f"{here}.{response_key}.{parts_key}"
            media = [
                _media(_message(p, f"{there}[{j}]", "FunctionResponsePart"), f"{there}[{j}]")
                for j, p in enumerate(_repeated(carried, there, "FunctionResponsePart"))
            ]
            out.results.append(
                Message(
                    "tool",
                    result_text(response.get("response"), name),
                    tool_name=name,
                    tool_call_id=str(call_id) if call_id else None,
                    attachments=tuple(a for a in media if a is not None),
                )
            )
        attachment = _media(part, here)
        if attachment is not None:
            out.attachments.append(attachment)
    return out


def _media(part: Mapping[str, Any], here: str) -> Attachment | None:
    """The attachment in a part's `inlineData` (base64 `data`) or `fileData` (a `fileUri`), if any.

    Undecodable base64 is refused as the REST API refuses any bytes field it cannot decode.
    """
    key, blob = field(part, "inlineData")
    if blob is not None:
        where = f"{here}.{key}"
        blob = _message(blob, where, "Blob")
        data_key, data = field(blob, "data")
        mime_key, mime = field(blob, "mimeType")
        name_key, name = field(blob, "displayName")
        data = _string(data, f"{where}.{data_key}") or ""
        attachment = attachments.inline(
            data,
            _string(mime, f"{where}.{mime_key}"),
            _string(name, f"{where}.{name_key}"),
            data_url=False,
        )
        if not attachment.valid:
            shown = data if len(data) <= 80 else data[:77] + "..."
            raise RequestError(
                400,
                f"Invalid value at '{where}.{data_key}' (TYPE_BYTES), Base64 decoding failed for \"{shown}\"",
                param=f"{where}.{data_key}",
            )
        return attachment
    key, ref = field(part, "fileData")
    if ref is not None:
        where = f"{here}.{key}"
        ref = _message(ref, where, "FileData")
        uri_key, uri = field(ref, "fileUri")
        mime_key, mime = field(ref, "mimeType")
        name_key, name = field(ref, "displayName")
        return attachments.linked(
            _string(uri, f"{where}.{uri_key}") or "",
            _string(mime, f"{where}.{mime_key}"),
            _string(name, f"{where}.{name_key}"),
        )
    return None


def parse_contents(raw: Any, where: str) -> list[Message]:
    """`contents` as messages: model turns are the assistant, function responses are tool results."""
    messages: list[Message] = []
    for i, item in enumerate(_repeated(raw, where, "Content")):
        here = f"{where}[{i}]"
        content = _message(item, here, "Content")
        role = _string(content.get("role"), f"{here}.role") or "user"
        if role not in _ROLES:
            raise RequestError(400, "Please use a valid role: user, model.", param=f"{here}.role")
        parts = _parts(content, here)
        if role == "model":
            messages.append(Message("assistant", "".join(parts.texts), tool_calls=tuple(parts.calls)))
            continue
        messages.extend(parts.results)
        if parts.texts or parts.attachments or not parts.results:
            messages.append(Message("user", "\n".join(parts.texts), attachments=tuple(parts.attachments)))
    return messages


def _system(body: Mapping[str, Any], where: str) -> str:
    key, raw = field(body, "systemInstruction")
    if raw is None:
        return ""
    if isinstance(raw, str):
        return raw
    content = _message(raw, f"{where}{key}", "Content")
    return "\n".join(_parts(content, f"{where}{key}").texts)


def _tools(body: Mapping[str, Any], where: str) -> tuple[Tool, ...]:
    key, raw = field(body, "tools")
    tools: list[Tool] = []
    for i, item in enumerate(_repeated(raw, f"{where}{key}", "Tool")):
        here = f"{where}{key}[{i}]"
        tool = _message(item, here, "Tool")
        decl_key, declarations = field(tool, "functionDeclarations")
        for j, decl in enumerate(_repeated(declarations, f"{here}.{decl_key}", "FunctionDeclaration")):
            there = f"{here}.{decl_key}[{j}]"
            decl = _message(decl, there, "FunctionDeclaration")
            name = _string(decl.get("name"), f"{there}.name")
            if not name:
                raise RequestError(
                    400,
                    f"* GenerateContentRequest.{there}.name: Name cannot be empty.",
                    param=f"{there}.name",
                )
            schema = field(decl, "parametersJsonSchema")[1] or field(decl, "parameters")[1]
            description = _string(decl.get("description"), f"{there}.description") or ""
            tools.append(Tool(name, description, schema if isinstance(schema, Mapping) else {}))
    return tuple(tools)


def _tool_choice(
    body: Mapping[str, Any], tools: tuple[Tool, ...], where: str
) -> tuple[tuple[Tool, ...], str, str | None]:
    key, raw = field(body, "toolConfig")
    if raw is None:
        return tools, "auto", None
    config = _message(raw, f"{where}{key}", "ToolConfig")
    fc_key, fc = field(config, "functionCallingConfig")
    if fc is None:
        return tools, "auto", None
    here = f"{where}{key}.{fc_key}"
    fc = _message(fc, here, "FunctionCallingConfig")
    mode = _string(fc.get("mode"), f"{here}.mode") or "AUTO"
    if mode.upper() not in ("AUTO", "ANY", "NONE", "VALIDATED", "MODE_UNSPECIFIED"):
        raise RequestError(
            400,
            f"Invalid value at '{here}.mode' (type.googleapis.com/google.ai.generativelanguage.v1beta."
            f'FunctionCallingConfig.Mode), "{mode}"',
            param=f"{here}.mode",
        )
    names_key, names = field(fc, "allowedFunctionNames")
    allowed = [
        _string(n, f"{here}.{names_key}[{i}]")
        for i, n in enumerate(_repeated(names, f"{here}.{names_key}", "TYPE_STRING"))
    ]
    if allowed:
        declared = {t.name for t in tools}
        for i, name in enumerate(allowed):
            if name not in declared:
                raise RequestError(
                    400,
                    f"* GenerateContentRequest.{here}.{names_key}[{i}]: '{name}' is not a declared function name.",
                    param=f"{here}.{names_key}[{i}]",
                )
        tools = tuple(t for t in tools if t.name in allowed)
    mode = mode.upper()
    if mode == "NONE":
        return tools, "none", None
    if mode == "ANY":
        if len(tools) == 1:
            return tools, "function", tools[0].name
        return tools, "required", None
    return tools, "auto", None


def _generation(body: Mapping[str, Any], where: str) -> tuple[Mapping[str, Any] | None, bool, int | None]:
    """The structured-output schema, whether JSON is asked for, and the output token cap."""
    key, raw = field(body, "generationConfig")
    if raw is None:
        return None, False, None
    here = f"{where}{key}"
    config = _message(raw, here, "GenerationConfig")
    mime_key, mime = field(config, "responseMimeType")
    mime = _string(mime, f"{here}.{mime_key}")
    schema_key, schema = field(config, "responseJsonSchema")
    if schema is None:
        schema_key, schema = field(config, "responseSchema")
    if schema is not None and not isinstance(schema, Mapping):
        raise invalid(f"{here}.{schema_key}", _TYPE.format("Schema"), schema)
    if schema is not None and mime not in ("application/json", "text/x.enum"):
        raise RequestError(
            400,
            f"* GenerateContentRequest.{here}.{mime_key}: response_mime_type must be 'application/json' or "
            f"'text/x.enum' when {_snake(schema_key)} is set" + (f", not '{mime}'." if mime else "; it is not set."),
            param=f"{here}.{mime_key}",
        )
    max_key, max_tokens = field(config, "maxOutputTokens")
    return schema, mime == "application/json", _integer(max_tokens, f"{here}.{max_key}")


def _generate_request(
    body: Mapping[str, Any], *, api: str, model: str, call: Call, method: str, where: str = "", required: bool = True
) -> GeminiConversation:
    key, contents = field(body, "contents")
    if required and not contents:
        raise RequestError(
            400, f"* GenerateContentRequest.{where}contents: contents is not specified", param=f"{where}contents"
        )
    messages = parse_contents(contents, f"{where}{key}")
    tools = _tools(body, where)
    tools, mode, required_tool = _tool_choice(body, tools, where)
    schema, wants_json, max_tokens = _generation(body, where)
    return GeminiConversation(
        api=api,
        model=model,
        messages=messages,
        system=_system(body, where),
        tools=tools,
        tool_choice=mode,
        required_tool=required_tool,
        json_schema=schema if wants_json else None,
        wants_json=wants_json,
        max_tokens=max_tokens,
        extras=parse_extras(body),
        headers=call.headers,
        method=method,
    )


def _model(call: Call) -> str:
    model = strip_models(call.path_params.get("model", ""))
    if not model:
        raise RequestError(404, "The model id in the path is empty.", param="model")
    return model


# --- answers -------------------------------------------------------------------------------


def _function_call(call: ToolCall) -> dict[str, Any]:
    out: dict[str, Any] = {"name": call.name, "args": function_args(call)}
    if call.id:
        out["id"] = call.id
    return out


class GeminiGenerate(GoogleErrors, Surface):
    """`:generateContent` and `:streamGenerateContent`.

    With `alt=sse` (what every SDK sends) the stream is SSE: one `data:` chunk per text
    piece, a function call whole in one chunk, `finishReason` and `usageMetadata` in the
    last. Without it the real API answers the same chunks as one JSON array; mockopper
    sends that array in one body, so for matching, pacing and faults it is not a stream.
    """

    api: ClassVar[str] = "gemini"
    routes = model_routes("generateContent", "streamGenerateContent")

    def parse(self, body: Any, call: Call) -> Conversation:
        body = body_object(body)
        method = call.path_params.get("method", "generateContent")
        conv = _generate_request(body, api=self.api, model=_model(call), call=call, method=method)
        conv.stream = method == "streamGenerateContent" and call.query.get("alt") == "sse"
        return conv

    # --- answers ----------------------------------------------------------------------

    def _head(self, answer: Answer) -> dict[str, Any]:
        return {"modelVersion": answer.model, "responseId": answer.ident("", "response", 22)}

    @staticmethod
    def _usage(answer: Answer) -> dict[str, Any]:
        thoughts = thought_tokens(answer)
        usage: dict[str, Any] = {
            "promptTokenCount": answer.input_tokens,
            "candidatesTokenCount": answer.output_tokens - thoughts,
            "totalTokenCount": answer.input_tokens + answer.output_tokens,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": answer.input_tokens}],
        }
        if thoughts:
            usage["thoughtsTokenCount"] = thoughts
        return usage

    @staticmethod
    def _candidate(parts: list[dict[str, Any]], finish: str | None = None) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}} if parts else {}
        if finish:
            candidate["finishReason"] = finish
        candidate["index"] = 0
        return candidate

    def render(self, conv: Conversation, answer: Answer) -> Any:
        if isinstance(conv, GeminiConversation) and conv.array_stream:
            return [dict(event.data) for event in self.events(conv, answer) if isinstance(event.data, Mapping)]
        parts: list[dict[str, Any]] = []
        if answer.reasoning:
            parts.append({"text": answer.reasoning, "thought": True})
        if answer.text:
            parts.append({"text": answer.text})
        parts.extend({"functionCall": _function_call(call)} for call in answer.tool_calls)
        finish = _FINISH[answer.finish_reason]
        if not parts and finish != "SAFETY":
            parts.append({"text": ""})
        return {
            "candidates": [self._candidate(parts, finish)],
            "usageMetadata": self._usage(answer),
            **self._head(answer),
        }

    def events(self, conv: Conversation, answer: Answer) -> Iterable[Event]:
        head = self._head(answer)
        chunks: list[tuple[list[dict[str, Any]], float | None]] = [
            ([{"text": piece, "thought": True}], at) for piece, at in answer.timed_reasoning()
        ]
        chunks += [([{"text": piece}], at) for piece, at in answer.timed_text()]
        # A function call goes out whole, when its last argument chunk was recorded.
        chunks += [([{"functionCall": _function_call(call)}], _last(call.at_ms)) for call in answer.tool_calls]
        finish = _FINISH[answer.finish_reason]
        usage = with_cost(self._usage(answer), answer)
        last = len(chunks) - 1
        for i, (parts, at) in enumerate(chunks):
            if i < last:
                yield Event({"candidates": [self._candidate(parts)], **head}, content=True, at_ms=at)
            else:
                final = {"candidates": [self._candidate(parts, finish)], "usageMetadata": usage, **head}
                yield Event(final, content=True, at_ms=at)
        if not chunks:
            parts = [] if finish == "SAFETY" else [{"text": ""}]
            yield Event({"candidates": [self._candidate(parts, finish)], "usageMetadata": usage, **head})

    def error_events(self, conv: Conversation, answer: Answer | None, failure: Failure) -> Iterable[Event]:
        return [Event(self.error_body(failure))]

    def read_body(self, conv: Conversation, body: Any) -> Recorded:
        from mockopper.dialects.google_recorded import read_generate

        return read_generate(body)

    def read_stream(self, conv: Conversation, exchange: Exchange) -> Recorded:
        from mockopper.dialects.google_recorded import read_generate_stream

        return read_generate_stream(exchange)


def _last(offsets: Sequence[float]) -> float | None:
    return offsets[-1] if offsets else None


class GeminiCountTokens(GoogleErrors, Surface):
    """`:countTokens`: `contents`, or a whole `generateContentRequest`."""

    api: ClassVar[str] = "count_tokens"
    routes = model_routes("countTokens")

    def parse(self, body: Any, call: Call) -> Conversation:
        body = body_object(body)
        model = _model(call)
        key, request = field(body, "generateContentRequest")
        if request is not None:
            request = _message(request, key, "GenerateContentRequest")
            conv = _generate_request(
                request, api=self.api, model=model, call=call, method="countTokens", where=f"{key}."
            )
        else:
            if not field(body, "contents")[1]:
                raise RequestError(
                    400,
                    "* CountTokensRequest: either contents or generate_content_request must be specified.",
                    param="contents",
                )
            conv = _generate_request(body, api=self.api, model=model, call=call, method="countTokens")
        conv.extras = parse_extras(body)
        return conv

    def render(self, conv: Conversation, answer: Answer) -> Any:
        return {
            "totalTokens": answer.input_tokens,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": answer.input_tokens}],
        }


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
        content = _message(content, f"{where}{key}", "Content")
        text = "\n".join(_parts(content, f"{where}{key}").texts)
        dims_key, dims = field(request, "outputDimensionality")
        dims = _integer(dims, f"{where}{dims_key}")
        if dims is not None and not 1 <= dims <= MAX_DIMENSIONS:
            raise RequestError(
                400,
                f"* EmbedContentRequest.{where}{dims_key}: output_dimensionality must be between 1 and "
                f"{MAX_DIMENSIONS}, got {dims}.",
                param=f"{where}{dims_key}",
            )
        return text, dims

    def parse(self, body: Any, call: Call) -> Conversation:
        body = body_object(body)
        method = call.path_params.get("method", "embedContent")
        if method == "batchEmbedContents":
            key, raw = field(body, "requests")
            requests = _repeated(raw, key, "EmbedContentRequest")
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
                self._request(_message(r, f"{key}[{i}]", "EmbedContentRequest"), f"{key}[{i}].")
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
            model=_model(call),
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


class GoogleModels(GoogleErrors, Surface):
    """GET `{v1beta,v1,}/models` in Google's shape; claims shared paths by `x-goog-api-key` or `?key=`."""

    api: ClassVar[str] = "models"
    kind: ClassVar[str] = "list"
    routes = tuple(Route(f"{version}/models", ("GET",)) for version in _VERSIONS)
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
