"""Scenario files -> `Scenario` models, with every problem reported as `file:line: path: message`.

YAML is composed safely (no language-specific tags) into nodes that keep their line
numbers; pydantic validates the plain data, and each validation error is mapped back
to the line of the key or value it is about.
"""

from __future__ import annotations

import difflib
import functools
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from mockopper.scenarios import Scenario

__all__ = ["Problem", "ScenarioError", "ScenarioNotFound", "bundled_names", "load", "load_file", "load_text", "resolve"]

_MAX_NODES = 200_000
_PLAIN_TAGS = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})

# libyaml's composer is much faster; the pure-Python one behaves the same.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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


class ScenarioError(ValueError):
    """A scenario that cannot be loaded; `problems` lists everything wrong with it."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class ScenarioNotFound(ScenarioError):
    """Neither a file nor a bundled scenario has that name."""


Path_ = tuple[str | int, ...]


class _Builder:
    """Turns composed YAML nodes into plain data, remembering each path's line."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.lines: dict[Path_, int] = {}
        self.problems: list[Problem] = []
        self.count = 0
        self.constructor = _Loader("")

    def build(self, node: yaml.Node, path: Path_) -> Any:
        self.count += 1
        if self.count > _MAX_NODES:
            raise ScenarioError([Problem(self.filename, node.start_mark.line + 1, "", "the document is too large")])
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in _PLAIN_TAGS:
            self.problems.append(
                Problem(
                    self.filename,
                    node.start_mark.line + 1,
                    _fmt(path),
                    f"unsupported YAML tag {node.tag!r} (only plain YAML values are allowed)",
                )
            )
            return None
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    self.problems.append(
                        Problem(
                            self.filename,
                            key_node.start_mark.line + 1,
                            _fmt(path),
                            "YAML merge keys ('<<') are not supported",
                        )
                    )
                    continue
                if not isinstance(key_node, yaml.ScalarNode):
                    self.problems.append(
                        Problem(
                            self.filename,
                            key_node.start_mark.line + 1,
                            _fmt(path),
                            "mapping keys must be plain strings",
                        )
                    )
                    continue
                key = str(self.scalar(key_node, path))
                if key in out:
                    self.problems.append(
                        Problem(
                            self.filename, key_node.start_mark.line + 1, _fmt((*path, key)), f"duplicate key {key!r}"
                        )
                    )
                    continue
                self.lines[(*path, key)] = key_node.start_mark.line + 1
                out[key] = self.build(value_node, (*path, key))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self.scalar(node, path)

    def scalar(self, node: yaml.Node, path: Path_) -> Any:
        try:
            value = self.constructor.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError:
            self.problems.append(
                Problem(
                    self.filename,
                    node.start_mark.line + 1,
                    _fmt(path),
                    f"unsupported YAML tag {node.tag!r} (only plain YAML values are allowed)",
                )
            )
            return None
        except (ValueError, OverflowError) as exc:  # an integer of 5,000 digits, a date out of range...
            shown = str(getattr(node, "value", ""))
            shown = shown if len(shown) <= 40 else shown[:37] + "..."
            self.problems.append(
                Problem(self.filename, node.start_mark.line + 1, _fmt(path), f"cannot read {shown!r}: {exc}")
            )
            return None
        if not isinstance(value, (str, int, float, bool, type(None))):
            return str(value)  # dates and times read as text
        return value


def _fmt(path: Path_) -> str:
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


def _problems_from(exc: ValidationError, data: Any, lines: dict[Path_, int], filename: str) -> list[Problem]:
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
        problems.append(Problem(filename, line, _fmt(path), text))
    problems.sort(key=lambda p: (p.line or 0, p.path))
    return problems


def load_text(text: str, filename: str = "<scenario>", *, default_name: str | None = None) -> Scenario:
    """Parse and validate scenario YAML (or JSON); raises ScenarioError listing every problem."""
    builder = _Builder(filename)
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = (exc.problem or str(exc)).strip()
        raise ScenarioError([Problem(filename, line, "", f"invalid YAML: {problem}")]) from None
    except yaml.YAMLError as exc:
        raise ScenarioError([Problem(filename, None, "", f"invalid YAML: {exc}")]) from None
    data: Any = {} if node is None else builder.build(node, ())
    return _validate(data, builder.lines, builder.problems, filename, default_name)


def load(data: Mapping[str, Any], filename: str = "<dict>") -> Scenario:
    """Validate a scenario given as a dict."""
    return _validate(dict(data), {}, [], filename, None)


def _validate(
    data: Any, lines: dict[Path_, int], problems: list[Problem], filename: str, default_name: str | None
) -> Scenario:
    if not isinstance(data, dict):
        problems.append(Problem(filename, lines.get((), None), "", "a scenario must be a mapping"))
        raise ScenarioError(problems)
    scenario = None
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        problems.extend(_problems_from(exc, data, lines, filename))
    if problems:
        raise ScenarioError(problems)
    assert scenario is not None
    if scenario.name is None and default_name:
        scenario = scenario.model_copy(update={"name": default_name})
    return scenario


def bundled_dir() -> Path:
    return Path(str(resources.files("mockopper") / "bundled"))


def bundled_names() -> list[str]:
    return sorted(p.name for p in bundled_dir().glob("*.yaml"))


def resolve(name: str | Path) -> Path:
    """A scenario path: the file if it exists, else the bundled scenario of that name."""
    path = Path(name)
    if path.is_file():
        return path
    if path.is_dir():
        inside = sorted(p.name for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
        shown = (
            f"scenario files in it: {', '.join(inside[:10])}{', ...' if len(inside) > 10 else ''}"
            if inside
            else "it holds no .yaml or .yml files"
        )
        raise ScenarioNotFound([Problem(str(name), None, "", f"is a folder, not a scenario file ({shown})")])
    if path.parent == Path(".") or str(path.parent) == "":
        for candidate in (path.name, f"{path.name}.yaml"):
            bundled = bundled_dir() / candidate
            if bundled.is_file():
                return bundled
    known = ", ".join(bundled_names())
    raise ScenarioNotFound(
        [Problem(str(name), None, "", f"no such file, and no bundled scenario of that name (bundled: {known})")]
    )


@functools.lru_cache(maxsize=64)
def _load_cached(path: str, mtime_ns: int, size: int) -> Scenario:
    text = Path(path).read_text(encoding="utf-8")
    return load_text(text, path, default_name=Path(path).stem)


def load_file(name: str | Path) -> Scenario:
    """Load a scenario file (or a bundled one by bare name)."""
    path = resolve(name)
    try:
        stat = path.stat()
        return _load_cached(str(path), stat.st_mtime_ns, stat.st_size)
    except UnicodeDecodeError as exc:
        raise ScenarioError([Problem(str(path), None, "", f"not UTF-8 text: {exc}")]) from None
    except OSError as exc:
        raise ScenarioError([Problem(str(path), None, "", f"cannot read the file: {exc.strerror}")]) from None
