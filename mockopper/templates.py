"""`{{ ... }}` templates: a tiny, sandboxed expression language.

An expression is a dotted name from a fixed set (`request.model`, `tool_result`, `call`,
`faker.PROVIDER`, ...), optionally called with literal arguments (Faker providers only),
followed by filters (`| upper`). Nothing is evaluated as Python: names are looked up in
a whitelist, so a scenario can never reach Python internals, files or the network.
"""

from __future__ import annotations

import ast
import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from mockopper.attachments import ATTACHMENT_FIELDS

__all__ = ["Expr", "RenderContext", "Template", "TemplateError", "compile_template", "escape"]

_BLOCK = re.compile(r"\{\{(.*?)\}\}", re.S)
_NAME = r"[A-Za-z][A-Za-z0-9_]*"
_CALL = re.compile(rf"^\s*({_NAME}(?:\.{_NAME})*)\s*(?:\((.*)\))?\s*$", re.S)

REQUEST_FIELDS = frozenset(
    {"model", "requested_model", "message", "system", "api", "tags", "turn", "stream", "attachments", "attachment"}
)

ROOTS = frozenset({"request", "tool_result", "tool_name", "call", "faker"})

# Providers that build large binary or structured payloads, or need optional packages.
_FAKER_DENIED = frozenset(
    {
        "binary",
        "zip",
        "tar",
        "image",
        "json",
        "json_bytes",
        "xml",
        "csv",
        "tsv",
        "psv",
        "dsv",
        "fixed_width",
        "pystruct",
        "pyiterable",
        "pylist",
        "pyset",
        "pytuple",
        "pydict",
        # evaluates its argument as a Faker format, which calls any attribute of Faker by name
        "pystr_format",
    }
)
_MAX_NUMBER = 1000
_MAX_STRING = 1000
MAX_RENDERED = 16 * 1024 * 1024  # characters one template may render to


class TemplateError(ValueError):
    """A template that cannot be compiled; the message quotes the bad expression."""


class RenderContext(Protocol):
    """What a template can see while it renders."""

    def lookup(self, path: tuple[str, ...]) -> Any: ...

    def faker(self, provider: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any: ...


def _upper(v: Any) -> Any:
    return _text(v).upper()


def _json_filter(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False, default=str)


_FILTERS: dict[str, Callable[..., Any]] = {
    "upper": _upper,
    "lower": lambda v: _text(v).lower(),
    "title": lambda v: _text(v).title(),
    "capitalize": lambda v: _text(v).capitalize(),
    "strip": lambda v: _text(v).strip(),
    "json": _json_filter,
    "length": lambda v: len(v) if isinstance(v, (str, list, dict)) else len(_text(v)),
    "default": lambda v, fallback="": fallback if v in (None, "") else v,
    "truncate": lambda v, n=80: _text(v)[: int(n)],
}


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, (list, tuple, dict)):
        # Faker's structures hold dates and Decimals (faker.profile): those read as their text
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


# Providers every Faker release has: checking these needs no Faker (importing it costs ~50 ms).
_COMMON_PROVIDERS = frozenset(
    """name first_name last_name email user_name company job city country street_address address
    postcode phone_number url domain_name word words sentence sentences paragraph paragraphs text
    uuid4 date date_time iso8601 time color_name currency_code language_name pyint pyfloat pybool
    random_int random_element catch_phrase bs ipv4 ipv6 file_name""".split()
)


@functools.lru_cache(maxsize=1)
def faker_providers() -> frozenset[str]:
    """Names of the public Faker provider methods (en_US), read once."""
    from faker import Faker

    names: set[str] = set()
    for provider in Faker().providers:
        for name in dir(provider):
            if not name.startswith("_") and callable(getattr(provider, name, None)):
                names.add(name)
    from faker.providers import BaseProvider

    plumbing = {n for n in dir(BaseProvider) if not n.startswith("_")} - {
        "random_int",
        "random_digit",
        "random_digit_not_null",
        "random_number",
        "random_letter",
        "random_letters",
        "random_lowercase_letter",
        "random_uppercase_letter",
        "random_element",
        "random_elements",
        "randomize_nb_elements",
        "numerify",
        "lexify",
        "bothify",
        "hexify",
        "language_code",
        "locale",
    }
    return frozenset(names - plumbing - _FAKER_DENIED)


@dataclass(frozen=True, slots=True)
class Expr:
    """One `{{ ... }}` expression, compiled."""

    source: str
    path: tuple[str, ...]
    args: tuple[Any, ...]
    kwargs: tuple[tuple[str, Any], ...]
    filters: tuple[tuple[str, tuple[Any, ...]], ...]

    def evaluate(self, ctx: RenderContext) -> Any:
        if not self.path[0]:  # a quoted literal: its value is its one argument
            value = self.args[0]
        elif self.path[0] == "faker":
            value = ctx.faker(self.path[1], self.args, dict(self.kwargs))
        else:
            value = ctx.lookup(self.path)
        for name, args in self.filters:
            value = _FILTERS[name](value, *args)
        return value


@dataclass(frozen=True, slots=True)
class Template:
    """A compiled template: literal text and expressions, in order."""

    source: str
    parts: tuple[str | Expr, ...]
    is_static: bool = False  # no expressions: renders as its source
    fixed: str | None = None  # what it renders to when that needs no request (literals only), else None

    def render(self, ctx: RenderContext) -> str:
        if self.is_static:
            return self.source
        out: list[str] = []
        size = 0
        for part in self.parts:
            text = part if isinstance(part, str) else _text(part.evaluate(ctx))
            size += len(text)
            if size > MAX_RENDERED:
                raise TemplateError(f"the template renders to more than {MAX_RENDERED} characters")
            out.append(text)
        return "".join(out)

    def render_value(self, ctx: RenderContext) -> Any:
        """Like `render`, but a template that is one expression keeps its value's type."""
        if len(self.parts) == 1 and isinstance(self.parts[0], Expr):
            value = self.parts[0].evaluate(ctx)
            if value is None or isinstance(value, (str, int, float, bool)):
                return value
            if isinstance(value, (list, tuple, dict)):
                return json.loads(_text(value))  # plain JSON values all the way down
            return _text(value)
        return self.render(ctx)


def _literal(text: str, source: str) -> Any:
    text = text.strip()
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise TemplateError(
            f"{{{{{source}}}}}: argument {text!r} is not a literal (use numbers, quoted strings, true/false)"
        ) from None
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        if abs(value) > _MAX_NUMBER:
            raise TemplateError(f"{{{{{source}}}}}: argument {value} is larger than {_MAX_NUMBER}")
        return value
    if isinstance(value, str):
        if len(value) > _MAX_STRING:
            raise TemplateError(f"{{{{{source}}}}}: a string argument is over {_MAX_STRING} chars")
        return value
    raise TemplateError(f"{{{{{source}}}}}: argument {text!r} is not a number, string or boolean")


def _split_args(text: str) -> list[str]:
    """Split an argument list on top-level commas, respecting quotes."""
    out: list[str] = []
    current: list[str] = []
    quote: str | None = None
    for ch in text:
        if quote:
            current.append(ch)
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
            current.append(ch)
        elif ch == ",":
            out.append("".join(current))
            current = []
        else:
            current.append(ch)
    if "".join(current).strip():
        out.append("".join(current))
    return out


def _arguments(text: str | None, source: str) -> tuple[tuple[Any, ...], tuple[tuple[str, Any], ...]]:
    if not text or not text.strip():
        return (), ()
    args: list[Any] = []
    kwargs: list[tuple[str, Any]] = []
    for piece in _split_args(text):
        m = re.match(rf"^\s*({_NAME})\s*=(?!=)(.*)$", piece, re.S)
        if m:
            kwargs.append((m.group(1), _literal(m.group(2), source)))
        elif kwargs:
            raise TemplateError(f"{{{{{source}}}}}: positional argument after keyword argument")
        else:
            args.append(_literal(piece, source))
    return tuple(args), tuple(kwargs)


def _split_filters(text: str) -> list[str]:
    out: list[str] = []
    current: list[str] = []
    quote: str | None = None
    for ch in text:
        if quote:
            current.append(ch)
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
            current.append(ch)
        elif ch == "|":
            out.append("".join(current))
            current = []
        else:
            current.append(ch)
    out.append("".join(current))
    return out


def _compile_expr(source: str) -> Expr:
    pieces = _split_filters(source)
    quoted = pieces[0].strip()
    if len(pieces) == 1 and quoted[:1] in ("'", '"') and quoted[-1:] == quoted[:1] and len(quoted) > 1:
        # A quoted string stands for itself: `{{ '{{' }}` writes a literal `{{`.
        value = _literal(quoted, source)
        if not isinstance(value, str):
            raise TemplateError(f"{{{{{source}}}}} is not a name such as request.message or faker.name")
        return Expr(source.strip(), ("",), (value,), (), ())
    head = _CALL.match(pieces[0])
    if not head:
        raise TemplateError(f"{{{{{source}}}}} is not a name such as request.message or faker.name")
    path = tuple(head.group(1).split("."))
    root = path[0]
    if root not in ROOTS:
        raise TemplateError(f"{{{{{source}}}}}: unknown name {root!r}; known names are " + ", ".join(sorted(ROOTS)))
    if root == "request":
        if len(path) < 2 or path[1] not in REQUEST_FIELDS:
            raise TemplateError(
                f"{{{{{source}}}}}: request has no field {'.'.join(path[1:])!r}; known fields are "
                + ", ".join(sorted(REQUEST_FIELDS))
            )
        if path[1] == "attachment" and len(path) == 3 and path[2] not in ATTACHMENT_FIELDS:
            raise TemplateError(
                f"{{{{{source}}}}}: an attachment has no field {path[2]!r}; known fields are "
                + ", ".join(sorted(ATTACHMENT_FIELDS))
            )
        if len(path) > (3 if path[1] in ("tags", "attachment") else 2):
            raise TemplateError(f"{{{{{source}}}}}: {'.'.join(path)} has no such field")
    elif root == "faker":
        if len(path) != 2:
            raise TemplateError(f"{{{{{source}}}}}: use faker.PROVIDER, such as faker.name")
        if path[1] not in _COMMON_PROVIDERS and path[1] not in faker_providers():
            raise TemplateError(f"{{{{{source}}}}}: Faker has no provider {path[1]!r}")
    elif len(path) > 1:
        raise TemplateError(f"{{{{{source}}}}}: {root} has no field {'.'.join(path[1:])!r}")
    if head.group(2) is not None and root != "faker":
        raise TemplateError(f"{{{{{source}}}}}: only faker providers take arguments")
    args, kwargs = _arguments(head.group(2), source)
    filters: list[tuple[str, tuple[Any, ...]]] = []
    for piece in pieces[1:]:
        m = _CALL.match(piece)
        if not m or "." in m.group(1):
            raise TemplateError(f"{{{{{source}}}}}: {piece.strip()!r} is not a filter")
        name = m.group(1)
        if name not in _FILTERS:
            raise TemplateError(
                f"{{{{{source}}}}}: unknown filter {name!r}; known filters are " + ", ".join(sorted(_FILTERS))
            )
        fargs, fkwargs = _arguments(m.group(2), source)
        if fkwargs:
            raise TemplateError(f"{{{{{source}}}}}: filters take positional arguments only")
        filters.append((name, fargs))
    return Expr(source.strip(), path, args, kwargs, tuple(filters))


@functools.lru_cache(maxsize=4096)
def compile_template(source: str) -> Template:
    """Compile `source`; raises TemplateError (a ValueError) naming the bad expression."""
    parts: list[str | Expr] = []
    pos = 0
    for m in _BLOCK.finditer(source):
        if m.start() > pos:
            parts.append(source[pos : m.start()])
        parts.append(_compile_expr(m.group(1)))
        pos = m.end()
    if pos < len(source):
        parts.append(source[pos:])
    rest = "".join(p for p in parts if isinstance(p, str))
    if "{{" in rest:
        raise TemplateError("unclosed '{{' in template (close it with '}}')")
    fixed = None
    if all(isinstance(p, str) or not p.path[0] for p in parts):
        fixed = "".join(p if isinstance(p, str) else p.args[0] for p in parts)
    return Template(source, tuple(parts), all(isinstance(p, str) for p in parts), fixed)


def escape(text: str) -> str:
    """`text` as a template that renders to exactly `text` (each `{{` becomes `{{ '{{' }}`)."""
    return text.replace("{{", "{{ '{{' }}") if "{{" in text else text
