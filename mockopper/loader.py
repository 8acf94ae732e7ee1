"""Scenario files -> `Scenario` models, with every problem reported as `file:line: path: message`.

YAML is composed safely (no language-specific tags) into nodes that keep their line
numbers; pydantic validates the plain data, and each validation error is mapped back
to the line of the key or value it is about (`problems.py`). A file is found by path or
by a bundled scenario's name; a `FileCache` keeps what was loaded for its owner.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from mockopper.problems import Path_, Problem, fmt, problems_from
from mockopper.scenarios import Scenario

__all__ = [
    "FileCache",
    "Problem",
    "ScenarioError",
    "ScenarioNotFound",
    "bundled_names",
    "load",
    "load_file",
    "load_text",
    "resolve",
]

_MAX_NODES = 200_000
_PLAIN_TAGS = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})

# libyaml's composer is much faster; the pure-Python one behaves the same.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ScenarioError(ValueError):
    """A scenario that cannot be loaded; `problems` lists everything wrong with it."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class ScenarioNotFound(ScenarioError):
    """Neither a file nor a bundled scenario has that name."""


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
                    fmt(path),
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
                            fmt(path),
                            "YAML merge keys ('<<') are not supported",
                        )
                    )
                    continue
                if not isinstance(key_node, yaml.ScalarNode):
                    self.problems.append(
                        Problem(
                            self.filename,
                            key_node.start_mark.line + 1,
                            fmt(path),
                            "mapping keys must be plain strings",
                        )
                    )
                    continue
                key = str(self.scalar(key_node, path))
                if key in out:
                    self.problems.append(
                        Problem(
                            self.filename, key_node.start_mark.line + 1, fmt((*path, key)), f"duplicate key {key!r}"
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
                    fmt(path),
                    f"unsupported YAML tag {node.tag!r} (only plain YAML values are allowed)",
                )
            )
            return None
        except (ValueError, OverflowError) as exc:  # an integer of 5,000 digits, a date out of range...
            shown = str(getattr(node, "value", ""))
            shown = shown if len(shown) <= 40 else shown[:37] + "..."
            self.problems.append(
                Problem(self.filename, node.start_mark.line + 1, fmt(path), f"cannot read {shown!r}: {exc}")
            )
            return None
        if not isinstance(value, (str, int, float, bool, type(None))):
            return str(value)  # dates and times read as text
        return value


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
        problems.extend(problems_from(exc, data, lines, filename))
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


class FileCache:
    """Scenario files as loaded, so that a file is read again only once it changes (its size or
    modification time); past `limit` files the least recently loaded is forgotten.

    Owned by what loads the same files again and again (a `MockServer` loads one per test).
    """

    def __init__(self, limit: int = 64) -> None:
        self._loaded: OrderedDict[tuple[str, int, int], Scenario] = OrderedDict()
        self._limit = limit
        self._lock = threading.Lock()

    def get(self, key: tuple[str, int, int]) -> Scenario | None:
        with self._lock:
            scenario = self._loaded.get(key)
            if scenario is not None:
                self._loaded.move_to_end(key)
            return scenario

    def put(self, key: tuple[str, int, int], scenario: Scenario) -> None:
        with self._lock:
            self._loaded[key] = scenario
            if len(self._loaded) > self._limit:
                self._loaded.popitem(last=False)


def load_file(name: str | Path, cache: FileCache | None = None) -> Scenario:
    """Load a scenario file (or a bundled one by bare name), from `cache` when it holds this version."""
    path = resolve(name)
    try:
        stat = path.stat()
        key = (str(path), stat.st_mtime_ns, stat.st_size)
        scenario = cache.get(key) if cache is not None else None
        if scenario is None:
            scenario = load_text(path.read_text(encoding="utf-8"), str(path), default_name=path.stem)
            if cache is not None:
                cache.put(key, scenario)
        return scenario
    except UnicodeDecodeError as exc:
        raise ScenarioError([Problem(str(path), None, "", f"not UTF-8 text: {exc}")]) from None
    except OSError as exc:
        raise ScenarioError([Problem(str(path), None, "", f"cannot read the file: {exc.strerror}")]) from None
