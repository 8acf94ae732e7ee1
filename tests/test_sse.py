"""The JSON the wire carries: the standard library's compact bytes, whichever encoder wrote them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockopper.sse import Event, compact_bytes, compact_json, frame

_STDLIB = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def stdlib(value: Any) -> str:
    text = _STDLIB.encode(value)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029").replace("\x85", "\\u0085")


floats = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(min_value=-1e-3, max_value=1e-3, allow_nan=False),  # where the encoders write floats differently
    st.sampled_from([1e-05, 1.5e-05, 9.9e-05, 1e-06, 1e16, -0.0, 1e22, 5e-324]),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),  # past 64 bits too
    floats,
    st.text(),
    st.text(alphabet='ab\u2028\u2029\x85\x00\x1f"\\é😀 0.00001e-'),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(st.text(max_size=5), inner, max_size=5),
        st.dictionaries(st.integers(), inner, max_size=3),  # keys the standard encoder turns into strings
    ),
    max_leaves=20,
)


@given(values)
def test_the_bytes_are_the_standard_encoders(value: Any) -> None:
    assert compact_json(value) == stdlib(value)
    assert compact_bytes(value) == stdlib(value).encode()


@pytest.mark.parametrize(
    ("value", "wire"),
    [
        ({"a": [1, 2.5, None, True]}, '{"a":[1,2.5,null,true]}'),
        ([1e-05, 1e-06, 0.0001], "[1e-05,1e-06,0.0001]"),
        ("line\u2028break\x85", '"line\\u2028break\\u0085"'),
        ({1: "x"}, '{"1":"x"}'),
        (2**65, str(2**65)),
    ],
)
def test_known_values(value: Any, wire: str) -> None:
    assert compact_json(value) == wire


def test_an_event_frames_its_payload_on_one_data_line() -> None:
    assert frame(Event({"t": "a\u2028b"}, name="delta")) == b'event: delta\ndata: {"t":"a\\u2028b"}\n\n'
    assert frame(Event("[DONE]")) == b"data: [DONE]\n\n"
