"""A scenario's problems, located: a `Problem` reads `file:line: path: message`.

pydantic's validation errors become problems on the line of the key or value they are
about, with the path spelt as in the file (`rules[2].reply.text`) and a "did you mean"
for a misspelt key.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from mockopper.scenarios import Scenario

__all__ = ["Path_", "Problem", "fmt", "problems_from"]

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario, located in its file."""

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


def fmt(path: Path_) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _clean_loc(loc: tuple[Any, ...], data: Any) -> Path_:
    """Keep only the parts of a pydantic location that exist in the data (drops union tags)."""
    out: list[str | int] = []
    current = data
    for part in loc:
        if isinstance(current, dict) and isinstance(part, str) and part in current:
            current = current[part]
            out.append(part)
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            current = current[part]
            out.append(part)
        elif isinstance(current, dict) and isinstance(part, str) and part not in current:
            # a missing or unknown key: keep it if it is the last real step
            if not _is_union_tag(part):
                out.append(part)
                break
    return tuple(out)


def _is_union_tag(part: str) -> bool:
    return (
        any(ch in part for ch in "[]'")
        or part
        in {
            "str",
            "int",
            "float",
            "bool",
            "list",
            "dict",
            "none",
            "TextLookup",
            "function-after",
            "function-before",
            "function-wrap",
            "literal",
        }
        or part[:1].isupper()
        or part.startswith(("literal[", "list[", "dict["))
    )


def _model_at(path: Path_) -> type[BaseModel] | None:
    """The pydantic model that validates the mapping at `path`, if there is one."""
    annotation: Any = Scenario
    for part in path:
        model = _pick_model(annotation)
        if isinstance(part, int):
            annotation = _item_type(annotation)
            continue
        if model is not None:
            field = None
            for name, info in model.model_fields.items():
                if part in (name, info.alias):
                    field = info
            if field is None:
                return None
            annotation = field.annotation
        else:
            annotation = _value_type(annotation)
    return _pick_model(annotation)


def _args(annotation: Any) -> tuple[Any, ...]:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _args(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        out: list[Any] = []
        for arg in typing.get_args(annotation):
            out.extend(_args(arg))
        return tuple(out)
    return (annotation,)


def _pick_model(annotation: Any) -> type[BaseModel] | None:
    for arg in _args(annotation):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def _item_type(annotation: Any) -> Any:
    for arg in _args(annotation):
        if typing.get_origin(arg) is list:
            return typing.get_args(arg)[0]
    return None


def _value_type(annotation: Any) -> Any:
    for arg in _args(annotation):
        if typing.get_origin(arg) is dict:
            return typing.get_args(arg)[1]
    return None


def _message(error: Mapping[str, Any], path: Path_) -> str:
    kind = error["type"]
    msg = str(error["msg"])
    if kind == "extra_forbidden" and path:
        key = path[-1]
        model = _model_at(path[:-1])
        known = sorted({info.alias or name for name, info in model.model_fields.items()} if model else set())
        hint = difflib.get_close_matches(str(key), known, n=1)
        if hint:
            return f"unknown key {key!r} (did you mean {hint[0]!r}?)"
        return f"unknown key {key!r}" + (f"; expected one of {', '.join(known)}" if known else "")
    if kind == "missing":
        return "this key is required"
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix) :]
    if "input" in error and kind not in ("value_error", "assertion_error"):
        shown = error["input"]
        if isinstance(shown, (str, int, float, bool)) or shown is None:
            msg = f"{msg}, got {shown!r}"
    return msg


def problems_from(exc: ValidationError, data: Any, lines: dict[Path_, int], filename: str) -> list[Problem]:
    by_path: dict[Path_, list[str]] = {}
    for error in exc.errors(include_url=False):
        path = _clean_loc(tuple(error["loc"]), data)
        message = _message(error, path)
        bucket = by_path.setdefault(path, [])
        if message not in bucket:
            bucket.append(message)
    # A union member that failed deeper says more than another member's "Input should be ...".
    for path in list(by_path):
        deeper = any(len(other) > len(path) and other[: len(path)] == path for other in by_path)
        if deeper and all(m.startswith("Input should be") for m in by_path[path]):
            del by_path[path]
    problems = []
    for path, messages in by_path.items():
        line = None
        for cut in range(len(path), -1, -1):
            if path[:cut] in lines:
                line = lines[path[:cut]]
                break
        # A union reports one error per member; the specific ones say more than "not a list".
        specific = [m for m in messages if not m.startswith("Input should be a valid")]
        text = "; or ".join(specific or messages)
        problems.append(Problem(filename, line, fmt(path), text))
    problems.sort(key=lambda p: (p.line or 0, p.path))
    return problems
