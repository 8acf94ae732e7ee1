"""A Gemini generateContent request as a conversation: contents, system instruction, tools and
tool config, generation config; and the routes its methods are served at.

Paths are `{v1beta,v1,}/models/{model}:{method}` (the Google SDKs) and
`{v1beta,v1}/{provider}/{model}:{method}` (the Vercel provider, which drops `models/`
when the id has a slash).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mockopper.conversation import Conversation, Tool
from mockopper.dialects.base import Call, RequestError, Route, parse_extras
from mockopper.dialects.gemini_contents import parse_contents, read_parts
from mockopper.dialects.gemini_fields import (
    TYPE_URL,
    field,
    invalid,
    read_bounded,
    read_int32,
    read_message,
    read_name,
    read_repeated,
    read_string,
    snake,
)
from mockopper.dialects.google import strip_models

__all__ = ["VERSIONS", "GeminiConversation", "generate_request", "model_in_path", "model_routes"]

VERSIONS = ("/v1beta", "/v1", "")
_MAX_CANDIDATES = 8  # of `generationConfig.candidateCount`


def model_routes(*methods: str) -> tuple[Route, ...]:
    """One route per API version and method: the SDK form first, then the Vercel form."""
    routes = [
        Route(f"{version}/models/{{model:path}}:{method}", params={"method": method})
        for method in methods
        for version in VERSIONS
    ]
    routes += [
        Route(f"{version}/{{model:path}}:{method}", params={"method": method})
        for method in methods
        for version in VERSIONS
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


def _system(body: Mapping[str, Any], where: str) -> str:
    key, raw = field(body, "systemInstruction")
    if raw is None:
        return ""
    if isinstance(raw, str):
        return raw
    content = read_message(raw, f"{where}{key}", "Content")
    return "\n".join(read_parts(content, f"{where}{key}").texts)


def _tools(body: Mapping[str, Any], where: str) -> tuple[Tool, ...]:
    key, raw = field(body, "tools")
    tools: list[Tool] = []
    for i, item in enumerate(read_repeated(raw, f"{where}{key}", "Tool")):
        here = f"{where}{key}[{i}]"
        tool = read_message(item, here, "Tool")
        decl_key, declarations = field(tool, "functionDeclarations")
        for j, decl in enumerate(read_repeated(declarations, f"{here}.{decl_key}", "FunctionDeclaration")):
            there = f"{here}.{decl_key}[{j}]"
            decl = read_message(decl, there, "FunctionDeclaration")
            name = read_name(decl, there)
            schema = field(decl, "parametersJsonSchema")[1] or field(decl, "parameters")[1]
            description = read_string(decl.get("description"), f"{there}.description") or ""
            tools.append(Tool(name, description, schema if isinstance(schema, Mapping) else {}))
    return tuple(tools)


def _tool_choice(
    body: Mapping[str, Any], tools: tuple[Tool, ...], where: str
) -> tuple[tuple[Tool, ...], str, str | None]:
    key, raw = field(body, "toolConfig")
    if raw is None:
        return tools, "auto", None
    config = read_message(raw, f"{where}{key}", "ToolConfig")
    fc_key, fc = field(config, "functionCallingConfig")
    if fc is None:
        return tools, "auto", None
    here = f"{where}{key}.{fc_key}"
    fc = read_message(fc, here, "FunctionCallingConfig")
    mode = read_string(fc.get("mode"), f"{here}.mode") or "AUTO"
    if mode.upper() not in ("AUTO", "ANY", "NONE", "VALIDATED", "MODE_UNSPECIFIED"):
        raise RequestError(
            400,
            f"Invalid value at '{here}.mode' (type.googleapis.com/google.ai.generativelanguage.v1beta."
            f'FunctionCallingConfig.Mode), "{mode}"',
            param=f"{here}.mode",
        )
    names_key, names = field(fc, "allowedFunctionNames")
    allowed = [
        read_string(n, f"{here}.{names_key}[{i}]")
        for i, n in enumerate(read_repeated(names, f"{here}.{names_key}", "TYPE_STRING"))
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


def _generation(body: Mapping[str, Any], where: str) -> tuple[Mapping[str, Any] | None, bool, int | None, int]:
    """The structured-output schema, whether JSON is asked for, the output token cap and the candidate count."""
    key, raw = field(body, "generationConfig")
    if raw is None:
        return None, False, None, 1
    here = f"{where}{key}"
    config = read_message(raw, here, "GenerationConfig")
    mime_key, mime = field(config, "responseMimeType")
    mime = read_string(mime, f"{here}.{mime_key}")
    schema_key, schema = field(config, "responseJsonSchema")
    if schema is None:
        schema_key, schema = field(config, "responseSchema")
    if schema is not None and not isinstance(schema, Mapping):
        raise invalid(f"{here}.{schema_key}", TYPE_URL.format("Schema"), schema)
    if schema is not None and mime not in ("application/json", "text/x.enum"):
        raise RequestError(
            400,
            f"* GenerateContentRequest.{here}.{mime_key}: response_mime_type must be 'application/json' or "
            f"'text/x.enum' when {snake(schema_key)} is set" + (f", not '{mime}'." if mime else "; it is not set."),
            param=f"{here}.{mime_key}",
        )
    max_key, max_tokens = field(config, "maxOutputTokens")
    candidates = read_bounded(config, "candidateCount", f"{here}.", "GenerateContentRequest", _MAX_CANDIDATES)
    return schema, mime == "application/json", read_int32(max_tokens, f"{here}.{max_key}"), candidates or 1


def generate_request(
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
    schema, wants_json, max_tokens, candidates = _generation(body, where)
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
        choices=candidates,
        extras=parse_extras(body),
        headers=call.headers,
        method=method,
    )


def model_in_path(call: Call) -> str:
    model = strip_models(call.path_params.get("model", ""))
    if not model:
        raise RequestError(404, "The model id in the path is empty.", param="model")
    return model
