"""JSON Schema instances: a deterministic value that validates against a schema (JSON Schema, or
Gemini's dialect of it), with plausible values for what a field's name suggests.

A pure function of the schema and the random generator it is given; a hostile schema (sent
by a request) is cut short by fixed bounds rather than generated in full.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import random
import uuid
from collections.abc import Mapping
from typing import Any

from mockopper import plausible
from mockopper.patterns import sample_pattern

__all__ = ["schema_instance"]

Faker = Any  # a seeded faker.Faker; typed loosely to keep faker out of import time
_MAX_DEPTH = 8  # below this depth optional properties and extra array items are generated
# Bounds that keep a hostile schema (sent by a request) from taking unbounded time or memory:
# past them the instance is cut short rather than generated in full.
_HARD_DEPTH = 48
_MAX_VALUES = 10_000
_MAX_ITEMS = 1_000
_MAX_CHARS = 10_000


def schema_instance(
    schema: Mapping[str, Any] | bool | None,
    rng: random.Random,
    fake: Faker | None = None,
    clock: int = 1767225600,
) -> Any:
    """A deterministic value that validates against `schema` (JSON Schema, or Gemini's dialect)."""
    gen = _Generator(schema if isinstance(schema, Mapping) else {}, rng, fake, clock)
    return gen.value(schema, "", 0)


class _Generator:
    def __init__(self, root: Mapping[str, Any], rng: random.Random, fake: Faker | None, clock: int) -> None:
        self.root = root
        self.rng = rng
        self.fake = fake
        self.clock = clock
        self.budget = _MAX_VALUES  # values still to generate

    def resolve(self, schema: Mapping[str, Any], depth: int) -> Mapping[str, Any]:
        seen = 0
        while isinstance(schema, Mapping) and "$ref" in schema and seen < 32:
            ref = schema["$ref"]
            target: Any = None
            if isinstance(ref, str) and ref.startswith("#"):
                target = self.root
                for part in ref[1:].split("/"):
                    if not part:
                        continue
                    part = part.replace("~1", "/").replace("~0", "~")
                    target = target.get(part) if isinstance(target, Mapping) else None
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**target, **rest} if isinstance(target, Mapping) else rest
            seen += 1
        return schema

    def value(self, schema: Any, name: str, depth: int) -> Any:
        if schema is True or schema is None:
            schema = {}
        if schema is False or not isinstance(schema, Mapping):
            return None
        self.budget -= 1
        schema = self.resolve(schema, depth)
        if depth > _HARD_DEPTH or self.budget < 0:
            return _EMPTY.get(_type_of(schema))
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return self.rng.choice(schema["enum"])
        if isinstance(schema.get("allOf"), list):
            merged: dict[str, Any] = {}
            for part in schema["allOf"]:
                part = self.resolve(part, depth) if isinstance(part, Mapping) else {}
                for key, val in part.items():
                    if key == "properties" and isinstance(val, Mapping):
                        merged["properties"] = {**merged.get("properties", {}), **val}
                    elif key == "required" and isinstance(val, list):
                        merged["required"] = [*merged.get("required", []), *val]
                    else:
                        merged.setdefault(key, val)
            rest = {k: v for k, v in schema.items() if k != "allOf"}
            return self.value({**merged, **rest}, name, depth + 1)
        for key in ("anyOf", "oneOf"):
            options = schema.get(key)
            if isinstance(options, list) and options:
                concrete = [o for o in options if not _is_null(self.resolve(o, depth) if isinstance(o, Mapping) else o)]
                if depth >= 3 and len(concrete) < len(options):
                    return None
                choice = self.rng.choice(concrete or options)
                rest = {k: v for k, v in schema.items() if k != key}
                choice = self.resolve(choice, depth) if isinstance(choice, Mapping) else choice
                return self.value({**rest, **choice} if isinstance(choice, Mapping) else choice, name, depth + 1)
        kind = _type_of(schema)
        if kind == "object":
            return self.obj(schema, name, depth)
        if kind == "array":
            return self.arr(schema, name, depth)
        if kind == "integer":
            return self.integer(schema, name)
        if kind == "number":
            return self.number(schema, name)
        if kind == "boolean":
            return self.rng.random() < 0.5
        if kind == "null":
            return None
        return self.string(schema, name)

    def obj(self, schema: Mapping[str, Any], name: str, depth: int) -> dict[str, Any]:
        props = schema.get("properties")
        props = props if isinstance(props, Mapping) else {}
        required = schema.get("required")
        required = {k for k in required if isinstance(k, str)} if isinstance(required, list) else set()
        title = schema.get("title")
        owner = title if isinstance(title, str) and title else name  # what the object is: `City`, or `city`
        out: dict[str, Any] = {}
        for key, sub in props.items():
            if depth >= _MAX_DEPTH and key not in required:
                continue
            out[str(key)] = self.value(sub, plausible.field_name(owner, str(key)), depth + 1)
        for key in required:
            if key not in out:
                out[str(key)] = self.value({}, str(key), depth + 1)
        return out

    def arr(self, schema: Mapping[str, Any], name: str, depth: int) -> list[Any]:
        low = min(_int(schema.get("minItems"), 0), _MAX_ITEMS)
        high = min(_int(schema.get("maxItems"), max(low, 3)), _MAX_ITEMS)
        prefix = schema.get("prefixItems")
        items = schema.get("items", {})
        if isinstance(items, list):  # draft-4 tuple form
            prefix, items = items, schema.get("additionalItems", {})
        if depth >= _MAX_DEPTH:
            count = low
        else:
            count = min(high, max(low, self.rng.randint(1, 3)))
        out: list[Any] = []
        prefix = prefix if isinstance(prefix, list) else []
        unique = schema.get("uniqueItems") is True
        attempts = 0
        while len(out) < count and attempts < count * 10 and self.budget > 0:
            attempts += 1
            index = len(out)
            sub = prefix[index] if index < len(prefix) else items
            value = self.value(sub, plausible.singular(name), depth + 1)
            if unique and value in out:
                continue
            out.append(value)
        return out

    def integer(self, schema: Mapping[str, Any], name: str) -> int:
        low, high = _limits(schema)
        if low is not None:
            low = math.floor(low) + 1 if _excl(schema, "exclusiveMinimum", low) else math.ceil(low)
        if high is not None:
            high = math.ceil(high) - 1 if _excl(schema, "exclusiveMaximum", high) else math.floor(high)
        liked, lean, _ = plausible.number_range(name, integer=True) or _ANY_NUMBER
        start, end = _span(low, high, liked, lean)
        start, end = math.ceil(start), math.floor(end)
        end = max(start, end)
        step = _step(schema)
        if step is not None:
            try:
                value = _multiple(self.rng, step, start, end, low, high)
                if value is not None and value == int(value):
                    return int(value)
            except (OverflowError, ValueError):  # bounds and step too far apart for floats
                pass
        return self.rng.randint(start, end)

    def number(self, schema: Mapping[str, Any], name: str) -> float | int:
        low, high = _limits(schema)
        liked, lean, decimals = plausible.number_range(name, integer=False) or _ANY_NUMBER
        start, end = _span(low, high, liked, lean)
        inside = functools.partial(_inside, schema, low, high)
        step = _step(schema)
        if step is not None:
            try:
                multiple = _multiple(self.rng, step, start, end, low, high)
                if multiple is not None and math.isfinite(multiple) and inside(round(multiple, 10)):
                    return round(multiple, 10)
            except (OverflowError, ValueError):  # bounds and step too far apart for floats
                pass
        # the plausible span, then (when it shrinks to a bound the schema excludes) the span beside the bounds
        for first, last in ((start, end), _near(low, high, lean - liked)):
            raw = self.rng.uniform(first, last)
            if not math.isfinite(raw):  # the span overflows a float
                raw = first / 2 + last / 2
            for digits in (decimals, 4, 8, 17):
                value: float | int = round(raw, digits) if digits else round(raw)
                if inside(value):
                    return value
            if inside(raw):  # a span too narrow for 17 decimals (bounds of 5e-324): the draw as it is
                return raw
        if low is not None and high is not None:
            return low / 2 + high / 2
        return low + 1 if low is not None else high - 1 if high is not None else 0

    def string(self, schema: Mapping[str, Any], name: str) -> str:
        fmt = str(schema.get("format", "")).lower()
        value = self.formatted(fmt)
        if value is None and isinstance(schema.get("pattern"), str):
            value = sample_pattern(schema["pattern"], self.rng)
        if value is None:
            value = self.hinted(name)
        low = min(_int(schema.get("minLength"), 0), _MAX_CHARS)
        high: int | None = _int(schema.get("maxLength"), -1)
        high = None if high is None or high < 0 else high
        if high is not None and len(value) > high:
            value = value[:high].rstrip() or value[:high]
        if len(value) < low:
            value += "".join(self.rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(low - len(value)))
        return value

    def formatted(self, fmt: str) -> str | None:
        moment = dt.datetime.fromtimestamp(self.clock + self.rng.randint(0, 86400 * 365), dt.timezone.utc)
        if fmt == "date-time":
            return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        if fmt == "date":
            return moment.strftime("%Y-%m-%d")
        if fmt == "time":
            return moment.strftime("%H:%M:%S")
        if fmt == "email":
            return str(self.fake.email()) if self.fake is not None else f"user{self.rng.randint(1, 999)}@example.com"
        if fmt in ("uri", "url", "iri", "uri-reference"):
            section = self.rng.choice(["docs", "items", "users", "about"])
            return f"https://example.com/{section}/{self.rng.randint(1, 999)}"
        if fmt == "uuid":
            return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        if fmt == "ipv4":
            return ".".join(str(self.rng.randint(1, 254)) for _ in range(4))
        if fmt == "ipv6":
            return ":".join(f"{self.rng.randint(0, 0xFFFF):x}" for _ in range(8))
        if fmt in ("hostname", "idn-hostname"):
            return f"host{self.rng.randint(1, 99)}.example.com"
        if fmt == "duration":
            return f"PT{self.rng.randint(1, 59)}M"
        return None

    def hinted(self, name: str) -> str:
        value = plausible.text(name, self.rng, self.fake, self.clock) if name else None
        if value is not None:
            return value
        if self.fake is not None:
            return str(self.fake.word())
        return self.rng.choice(["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"])


def _is_null(schema: Any) -> bool:
    return isinstance(schema, Mapping) and _type_of(schema) == "null" and "enum" not in schema


def _type_of(schema: Mapping[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        concrete = [str(k).lower() for k in kind if str(k).lower() != "null"]
        kind = concrete[0] if concrete else "null"
    if isinstance(kind, str):
        return kind.lower()
    if "properties" in schema or "required" in schema or "additionalProperties" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    if "minimum" in schema or "maximum" in schema:
        return "number"
    return "string"


def _int(value: Any, default: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return default
    return int(value)


# What a value is cut short to when a schema nests too deeply or asks for too much.
_EMPTY: dict[str, Any] = {"object": {}, "array": [], "string": "", "integer": 0, "number": 0, "boolean": False}


_ANY_NUMBER: plausible.Range = (0, 100, 2)  # where a number whose name says nothing lands


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return value


def _limits(schema: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """The tightest lower and upper bounds the schema sets (draft 4 and 2020-12 spellings)."""
    low, high = _finite(schema.get("minimum")), _finite(schema.get("maximum"))
    floor, ceiling = _finite(schema.get("exclusiveMinimum")), _finite(schema.get("exclusiveMaximum"))
    if floor is not None and (low is None or floor >= low):
        low = floor
    if ceiling is not None and (high is None or ceiling <= high):
        high = ceiling
    return low, high


def _excl(schema: Mapping[str, Any], key: str, bound: float) -> bool:
    """Whether `bound` (from `_limits`) excludes itself."""
    flag = schema.get(key)
    return flag is True or (_finite(flag) is not None and flag == bound)


def _inside(schema: Mapping[str, Any], low: float | None, high: float | None, value: float) -> bool:
    if low is not None and (value < low or (value == low and _excl(schema, "exclusiveMinimum", low))):
        return False
    return not (high is not None and (value > high or (value == high and _excl(schema, "exclusiveMaximum", high))))


def _span(low: float | None, high: float | None, liked: float, lean: float) -> tuple[float, float]:
    """The plausible range `liked..lean` cut to the bounds; near the bounds when they exclude it."""
    start = liked if low is None else max(low, liked)
    end = lean if high is None else min(high, lean)
    return (start, end) if start <= end else _near(low, high, lean - liked)


def _near(low: float | None, high: float | None, width: float) -> tuple[float, float]:
    """A span of `width` inside the bounds, against the bound there is."""
    width = width or 100
    if low is not None and high is not None:
        return low, high
    if low is not None:
        return low, low + width
    if high is not None:
        return high - width, high
    return 0, width


def _step(schema: Mapping[str, Any]) -> float | None:
    step = _finite(schema.get("multipleOf"))
    return step if step is not None and step > 0 else None


def _multiple(
    rng: random.Random, step: float, start: float, end: float, low: float | None, high: float | None
) -> float | None:
    """A multiple of `step` in `start..end`, else the one nearest that range within the bounds."""
    first, last = math.ceil(start / step), math.floor(end / step)
    if last >= first:
        return rng.randint(first, last) * step
    above, below = first * step, last * step
    if high is None or above <= high:
        return above
    if low is None or below >= low:
        return below
    return None
