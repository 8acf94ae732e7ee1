"""Generated values look like data, by field name, and never leave the schema's bounds."""

from __future__ import annotations

import math
import random
import re
from typing import Any

import jsonschema
import pytest
from faker import Faker
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mockopper.plausible import number_range, words
from mockopper.schema_instances import schema_instance

SAFE = 9007199254740991  # what zod and JavaScript's Number.MAX_SAFE_INTEGER put as bounds


def fake(seed: int = 0) -> Faker:
    made = Faker()
    made.seed_instance(seed)
    return made


def values(name: str, schema: dict[str, Any], seeds: range = range(20)) -> list[Any]:
    wrapped = {"type": "object", "properties": {name: schema}, "required": [name]}
    return [schema_instance(wrapped, random.Random(seed), fake(seed))[name] for seed in seeds]


@pytest.mark.parametrize(
    ("name", "low", "high"),
    [
        ("year", 1950, 2030),
        ("releaseYear", 1950, 2030),
        ("birth_year", 1950, 2030),
        ("age", 18, 90),
        ("count", 0, 20),
        ("item_count", 0, 20),
        ("number_of_items", 0, 20),
        ("legs", 0, 20),  # a plural noun: how many
        ("percentage", 0, 100),
        ("rating", 1, 5),
        ("month", 1, 12),
        ("hour", 0, 23),
        ("latitude", -90, 90),
        ("whatever", 0, 100),  # a name that says nothing: a small number, not +-2^53
        ("n", 0, 100),
    ],
)
def test_integers_land_where_their_name_says(name: str, low: int, high: int) -> None:
    for value in values(name, {"type": "integer", "minimum": -SAFE, "maximum": SAFE}):
        assert isinstance(value, int) and low <= value <= high, (name, value)


def test_prices_have_two_decimals_and_probabilities_stay_in_zero_one() -> None:
    for value in values("price", {"type": "number"}):
        assert 1 <= value <= 500 and round(value, 2) == value
    for value in values("confidence", {"type": "number"}):
        assert 0 <= value <= 1


@pytest.mark.parametrize(
    ("name", "pattern"),
    [
        ("email", r"^[^@\s]+@[^@\s]+\.\w+$"),
        ("contactEmail", r"^[^@\s]+@[^@\s]+\.\w+$"),
        ("website_url", r"^https://"),
        ("homepage", r"^https://"),
        ("name", r"^\S+ \S+"),
        ("director", r"^\S+ \S+"),
        ("created_at", r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"),
        ("birthday", r"^\d{4}-\d\d-\d\d$"),
        ("date_of_birth", r"^\d{4}-\d\d-\d\d$"),
        ("start_time", r"^\d\d:\d\d$"),
        ("uuid", r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$"),
        ("user_id", r"^[0-9a-f]{12}$"),
        ("phone_number", r"\d{3}"),
        ("year", r"^(19[5-9]\d|20[0-3]\d)$"),
        ("status", r"^(active|pending|completed)$"),
    ],
)
def test_strings_look_like_what_their_name_says(name: str, pattern: str) -> None:
    for value in values(name, {"type": "string"}):
        assert re.search(pattern, value), (name, value)


def test_cities_and_countries_come_from_faker() -> None:
    [city] = values("city", {"type": "string"}, range(1))
    [country] = values("country", {"type": "string"}, range(1))
    assert city == fake(0).city()  # the same seeded provider, so a real-looking place
    assert country and country[0].isupper()


def test_a_name_is_read_by_what_owns_it() -> None:
    """A `City`'s `name` is a city and a `Company`'s a company; a `User`'s stays a person's name."""
    name = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    by_title = schema_instance({**name, "title": "City"}, random.Random(0), fake(0))
    by_field = schema_instance({"type": "object", "properties": {"company": name}}, random.Random(0), fake(0))
    listed = schema_instance(
        {"type": "object", "properties": {"cities": {"type": "array", "items": name}}}, random.Random(0), fake(0)
    )
    person = schema_instance({**name, "title": "User"}, random.Random(0), fake(0))
    assert by_title["name"] == fake(0).city()
    assert by_field["company"]["name"] == fake(0).company()
    assert listed["cities"][0]["name"] == fake(0).city()
    assert person["name"] == fake(0).name()


def test_words_not_substrings_decide() -> None:
    assert words("capacityHTTPValue_2") == ["capacity", "http", "value", "2"]
    # "capacity" holds "city", "candidate" holds "date": neither is one
    for value in values("capacity", {"type": "string"}, range(5)) + values("candidate", {"type": "string"}, range(5)):
        assert not re.search(r"\d{4}-\d\d", value)
    assert number_range("validity", integer=False) is None  # no "id" in it


# --- bounds always win ------------------------------------------------------------------------

NAMES = st.sampled_from(["", "year", "age", "count", "price", "percentage", "rating", "latitude", "id", "x", "items"])
BOUND = st.one_of(st.none(), st.integers(-(10**6), 10**6), st.floats(-1e6, 1e6, allow_nan=False))


def within(value: float, schema: dict[str, Any]) -> bool:
    checks = [
        "minimum" not in schema or value >= schema["minimum"],
        "maximum" not in schema or value <= schema["maximum"],
        "exclusiveMinimum" not in schema or value > schema["exclusiveMinimum"],
        "exclusiveMaximum" not in schema or value < schema["exclusiveMaximum"],
    ]
    return all(checks)


def bounded(kind: str, low: Any, high: Any, low_open: bool, high_open: bool) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": kind}
    if low is not None:
        schema["exclusiveMinimum" if low_open else "minimum"] = low
    if high is not None:
        schema["exclusiveMaximum" if high_open else "maximum"] = high
    return schema


def satisfiable(kind: str, schema: dict[str, Any]) -> bool:
    low = schema.get("minimum", schema.get("exclusiveMinimum", -math.inf))
    high = schema.get("maximum", schema.get("exclusiveMaximum", math.inf))
    if kind == "integer":
        low = math.floor(low) + 1 if "exclusiveMinimum" in schema else math.ceil(low) if low != -math.inf else low
        high = math.ceil(high) - 1 if "exclusiveMaximum" in schema else math.floor(high) if high != math.inf else high
        return low <= high
    open_range = "exclusiveMinimum" in schema or "exclusiveMaximum" in schema
    return low < high if open_range else low <= high


@settings(max_examples=300, deadline=None)
@example(kind="number", name="", low=5e-324, high=5e-324, low_open=False, high_open=False, seed=0)  # subnormal
@given(
    kind=st.sampled_from(["integer", "number"]),
    name=NAMES,
    low=BOUND,
    high=BOUND,
    low_open=st.booleans(),
    high_open=st.booleans(),
    seed=st.integers(0, 2**32),
)
def test_numbers_honour_every_bound(
    kind: str, name: str, low: Any, high: Any, low_open: bool, high_open: bool, seed: int
) -> None:
    schema = bounded(kind, low, high, low_open, high_open)
    if not satisfiable(kind, schema):
        return
    [value] = values(name, schema, range(seed, seed + 1))
    assert within(value, schema), (schema, value)
    if kind == "integer":
        assert isinstance(value, int)


@settings(max_examples=200, deadline=None)
@given(
    name=NAMES,
    low=st.one_of(st.none(), st.integers(-(10**5), 10**5)),
    span=st.integers(0, 10**5),
    step=st.integers(1, 500),
    seed=st.integers(0, 2**32),
)
def test_integer_multiples_honour_their_bounds(name: str, low: int | None, span: int, step: int, seed: int) -> None:
    schema: dict[str, Any] = {"type": "integer", "multipleOf": step}
    if low is not None:
        schema |= {"minimum": low, "maximum": low + span}
        if math.floor((low + span) / step) < math.ceil(low / step):
            return  # no multiple in range
    [value] = values(name, schema, range(seed, seed + 1))
    jsonschema.validate(value, schema)


@settings(max_examples=100, deadline=None)
@given(
    name=st.sampled_from(["email", "name", "created_at", "year", "url", "id", "title", "reasoning", "x"]),
    low=st.integers(0, 40),
    extra=st.integers(0, 40),
    seed=st.integers(0, 2**32),
)
def test_strings_honour_their_lengths(name: str, low: int, extra: int, seed: int) -> None:
    schema = {"type": "string", "minLength": low, "maxLength": low + extra}
    [value] = values(name, schema, range(seed, seed + 1))
    jsonschema.validate(value, schema)


def test_generation_is_deterministic() -> None:
    schema = {"type": "object", "properties": {n: {"type": "string"} for n in ("email", "city", "created_at")}}
    assert values("person", schema, range(3)) == values("person", schema, range(3))


@settings(max_examples=200, deadline=None)
@given(
    name=NAMES,
    low=st.one_of(st.none(), st.integers(-1000, 1000)),
    span=st.integers(1, 1000),
    step=st.sampled_from([0.01, 0.1, 0.25, 0.5, 2.5, 7.0]),
    seed=st.integers(0, 2**32),
)
def test_number_multiples_honour_their_bounds(name: str, low: int | None, span: int, step: float, seed: int) -> None:
    schema: dict[str, Any] = {"type": "number", "multipleOf": step}
    if low is not None:
        schema |= {"minimum": low, "maximum": low + span}
        if math.floor((low + span) / step) < math.ceil(low / step):
            return  # no multiple in range
    [value] = values(name, schema, range(seed, seed + 1))
    assert within(value, schema), (schema, value)
    assert math.isclose(value / step, round(value / step), abs_tol=1e-6), (schema, value)
