"""The output format a request asks for, read from the request and its prompt, and answers in it.

Frameworks ask for structure in two ways: through the API (a JSON schema, JSON mode, an
assistant prefill of `{`, which the dialects put on the `Conversation`) or in the prompt
itself. This module reads the prompt, vendor-neutrally:

- a JSON Schema object in the system text or a user message, near words asking for JSON
  output (instructor's JSON modes, LangChain's output parsers);
- field markers `[[ ## name ## ]]` whose values the last user message does not fill (DSPy's
  ChatAdapter), typed by what the prompt states: `` `answer` (int) ``, `Literal[...]`,
  `list[str]`, a JSON schema or "one of: a; b" beside the field;
- a JSON object whose values are `{name}` placeholders (DSPy's JSONAdapter in JSON mode).

An ordinary prompt that mentions JSON without carrying a schema asks for nothing.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from mockopper.conversation import Conversation
from mockopper.sse import compact_json

__all__ = ["ANY_OBJECT", "Format", "render", "requested"]

# The object JSON mode answers when nothing says which fields it should have.
ANY_OBJECT: Mapping[str, Any] = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}

# Bounds on the prompt text searched, so a huge or hostile prompt costs little.
_MAX_TEXT = 200_000
_MAX_DECODES = 400
_MAX_FIELDS = 200
_MAX_EARLIER = 20  # earlier user messages read
_MAX_NOTE = 20_000  # what is read beside one field

_JSON_TYPES = frozenset({"object", "array", "string", "integer", "number", "boolean", "null"})
_SCHEMA_WORDS = frozenset(
    {"properties", "items", "enum", "required", "$defs", "definitions", "anyOf", "oneOf", "allOf"}
)
# Words that, beside "JSON", ask for output rather than talk about JSON.
_ASKING = re.compile(
    r"\b(output|outputs|respond|response|return|reply|answer|format|formatted|conform|conforms|adhere|match"
    r"|instance|produce|provide|generate)\b",
    re.IGNORECASE,
)
_JSON_WORD = re.compile(r"json", re.IGNORECASE)
_BEFORE = 1000  # how far before a schema the words asking for JSON may stand
_AFTER = 300
# A ```json block named in words (not one the prompt itself fences a value in), and a refusal of one.
_FENCE_NAMED = re.compile(r"```json(?!\s*[{\[])", re.IGNORECASE)
_FENCE_REFUSED = re.compile(r"\b(no|not|don't|without|never)\b[^.\n]{0,30}$", re.IGNORECASE)
_OPENING = re.compile(r'\{\s*["}]')  # where a JSON object can start
_MARKER = re.compile(r"\[\[ ## (\w+) ## \]\]")
_LINE_MARKER = re.compile(r"^\[\[ ## (\w+) ## \]\][ \t]*$", re.MULTILINE)
_DECLARED = re.compile(r"`(\w+)`\s*\(([^()\n]*(?:\([^()\n]*\)[^()\n]*)*)\)")  # `name` (type)
_TYPE_LIKE = re.compile(r"^[\w.]+(\[.*\])?( \| [\w.]+(\[.*\])?)*$")
_DONE = "completed"


@dataclass(frozen=True, slots=True)
class Format:
    """What the answer should look like: a JSON value, or fields behind `[[ ## name ## ]]` markers."""

    kind: Literal["json", "fields"]
    schema: Mapping[str, Any]  # what the JSON value (or the fields, as one object) validates against
    fields: tuple[str, ...] = ()  # the output fields, in order (kind "fields")
    closing: str | None = None  # the marker that ends a fields answer, when the prompt names one
    fenced: bool = False  # JSON inside a ```json block, as the prompt asks


def requested(conv: Conversation) -> Format | None:
    """The format the request asks its answer in, or None for ordinary text."""
    if conv.json_schema is not None:
        return Format("json", conv.json_schema)
    texts = _prompt(conv)
    if conv.wants_json:
        schema = _schema_in(texts, asked=False)
        if schema is None:
            found = _template(texts, asked=False) or _fields(conv, texts)
            schema = found.schema if found is not None else ANY_OBJECT
        return Format("json", schema)
    found = _fields(conv, texts)
    if found is not None:
        return found
    fenced = any(_asks_fence(t) for t in texts)
    schema = _schema_in(texts, asked=True)
    if schema is not None:
        return Format("json", schema, fenced=fenced)
    found = _template(texts, asked=True)
    return Format("json", found.schema, fenced=fenced) if found is not None else None


def render(fmt: Format, value: Any) -> str:
    """The answer's text: compact JSON (fenced when asked), or each field behind its marker."""
    if fmt.kind == "json":
        text = compact_json(value)
        return f"```json\n{text}\n```" if fmt.fenced else text
    parts = []
    for name in fmt.fields:
        item = value.get(name) if isinstance(value, Mapping) else None
        parts.append(f"[[ ## {name} ## ]]\n{_field_text(item)}")
    if fmt.closing:
        parts.append(f"[[ ## {fmt.closing} ## ]]")
    return "\n\n".join(parts)


def _field_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "True" if value else "False"
    if value is None:
        return "None"
    return compact_json(value)


# --- reading the prompt -------------------------------------------------------------------


def _prompt(conv: Conversation) -> list[str]:
    """The texts a format is asked for in: the last user message, the system text, then earlier user messages."""
    users = [m.text[:_MAX_TEXT] for m in conv.messages if m.role == "user" and m.text]
    return users[-1:] + ([conv.system[:_MAX_TEXT]] if conv.system else []) + users[-2::-1][:_MAX_EARLIER]


def _objects(text: str) -> Iterator[tuple[int, int, Any]]:
    """Each top-level JSON object in `text` with where it starts and ends (nested ones are not repeated)."""
    decoder = json.JSONDecoder()
    position = 0
    decodes = 0
    while decodes < _MAX_DECODES:
        found = _OPENING.search(text, position)
        if found is None:
            return
        start = found.start()
        decodes += 1
        try:
            value, end = decoder.raw_decode(text, start)
        except (ValueError, RecursionError):
            position = start + 1
            continue
        yield start, end, value
        position = end


def _is_schema(value: Any) -> bool:
    if not isinstance(value, Mapping):
        return False
    props = value.get("properties")
    if isinstance(props, Mapping) and props and all(isinstance(v, (Mapping, bool)) for v in props.values()):
        return True
    kind = value.get("type")
    return isinstance(kind, str) and kind in _JSON_TYPES and bool(_SCHEMA_WORDS & value.keys())


def _asks_json(text: str, start: int, end: int) -> bool:
    """Whether words near `text[start:end]` ask for JSON output."""
    window = text[max(0, start - _BEFORE) : start] + " " + text[end : end + _AFTER]
    return bool(_JSON_WORD.search(window)) and bool(_ASKING.search(window))


def _schema_in(texts: list[str], *, asked: bool) -> Mapping[str, Any] | None:
    """The last JSON Schema in the first text that carries one (instructions put examples first)."""
    for text in texts:
        found = None
        for start, end, value in _objects(text):
            if _is_schema(value) and (not asked or _asks_json(text, start, end)):
                found = value
        if found is not None:
            return dict(found)
    return None


def _asks_fence(text: str) -> bool:
    """Whether the text asks for the answer inside a ```json block."""
    return any(not _FENCE_REFUSED.search(text[max(0, m.start() - 40) : m.start()]) for m in _FENCE_NAMED.finditer(text))


# --- fields: `[[ ## name ## ]]` markers and `{name}` templates -----------------------------


def _fields(conv: Conversation, texts: list[str]) -> Format | None:
    """Output fields behind markers: every marker the prompt shows whose value the last user message does not give."""
    names: dict[str, None] = {}  # in order of first appearance
    for text in (conv.system, *texts):
        names.update(dict.fromkeys(_MARKER.findall(text)))
    if not names:
        return None
    last = conv.last_user_text or ""
    given = set(_LINE_MARKER.findall(last))
    outputs = [n for n in names if n not in given and n != _DONE][:_MAX_FIELDS]
    if not outputs:
        return None
    prompt = "\n".join(texts)
    declared = _declared(prompt)
    properties = {name: _field_schema(name, prompt, declared) for name in outputs}
    schema = {"type": "object", "properties": properties, "required": outputs}
    closing = _DONE if _DONE in names else None
    return Format("fields", schema, fields=tuple(outputs), closing=closing)


def _template(texts: list[str], *, asked: bool) -> Format | None:
    """A JSON object whose values are `{name}` placeholders: the answer's fields, laid out."""
    for text in texts:
        for start, end, value in _objects(text):
            if not isinstance(value, Mapping) or not value or (asked and not _asks_json(text, start, end)):
                continue
            holes = {k: v for k, v in value.items() if isinstance(v, str) and v.startswith("{" + str(k) + "}")}
            if len(holes) != len(value):
                continue
            prompt = "\n".join(texts)
            declared = _declared(prompt)
            properties = {
                k: _field_schema(k, prompt, declared, v[len(k) + 2 :]) for k, v in list(holes.items())[:_MAX_FIELDS]
            }
            return Format("json", {"type": "object", "properties": properties, "required": list(holes)})
    return None


def _declared(prompt: str) -> dict[str, str]:
    """Types the prompt states for names: `` `answer` (int) ``, the first statement of each name."""
    found: dict[str, str] = {}
    for match in _DECLARED.finditer(prompt):
        if _TYPE_LIKE.match(match.group(2).strip()):  # not `answer` (must be formatted as ...)
            found.setdefault(match.group(1), match.group(2).strip())
    return found


def _field_schema(name: str, prompt: str, types: Mapping[str, str], note: str | None = None) -> Mapping[str, Any]:
    """The schema of one field from what the prompt says about it: a JSON schema, a declared type, a note."""
    if note is None:  # what follows the field's `{name}` placeholder on its line
        placeholder = "{" + name + "}"
        at = prompt.find(placeholder)
        end = prompt.find("\n", at) if at >= 0 else -1
        note = prompt[at + len(placeholder) : end if end >= 0 else None][:_MAX_NOTE] if at >= 0 else ""
    for _, _, value in _objects(note):
        if _is_schema(value):
            return dict(value)
    declared = types.get(name)
    if declared is not None:
        schema = _type_schema(declared)
        if "enum" in schema or schema.get("type") != "string":
            return schema
    options = re.search(r"\bone of:\s*(.+)$", note)
    if options:
        return {"type": "string", "enum": [o.strip() for o in options.group(1).split(";") if o.strip()]}
    if declared is not None:
        return _type_schema(declared)
    lowered = f" {note.lower()} "
    if "true or false" in lowered:
        return _SCALARS["bool"]
    return next((_SCALARS[t] for t in ("int", "float", "bool") if f" {t} " in lowered), _SCALARS["str"])


_SCALARS: dict[str, Mapping[str, Any]] = {
    "str": {"type": "string"},
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "bool": {"type": "boolean"},
    "dict": {"type": "object"},
    "list": {"type": "array", "items": {"type": "string"}},
}
_GENERIC = re.compile(r"^(\w+(?:\.\w+)*)\[(.*)\]$")


def _type_schema(declared: str, depth: int = 0) -> Mapping[str, Any]:
    """A schema for a type written as Python writes it: `int`, `list[str]`, `Literal['a', 'b']`, `Optional[int]`."""
    text = declared.strip()
    if depth > 8:
        return {}
    if " | " in text:
        parts = [p for p in text.split(" | ") if p.strip() not in ("None", "NoneType")]
        return _type_schema(parts[0], depth + 1) if parts else {"type": "null"}
    generic = _GENERIC.match(text)
    if generic is None:
        return _SCALARS.get(text.split(".")[-1].lower(), {"type": "string"})
    outer, inner = generic.group(1).split(".")[-1].lower(), generic.group(2)
    if outer == "literal":
        try:
            values = ast.literal_eval(f"[{inner}]")
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            return {"type": "string"}
        return {"enum": values} if values else {"type": "string"}
    if outer == "optional":
        return _type_schema(inner, depth + 1)
    if outer == "union":
        return _type_schema(inner.split(",")[0], depth + 1)
    if outer in ("list", "set", "tuple", "sequence", "frozenset"):
        item = inner.split(",")[0] if outer == "tuple" else inner
        return {"type": "array", "items": _type_schema(item, depth + 1)}
    if outer in ("dict", "mapping"):
        return {"type": "object"}
    return {"type": "string"}
