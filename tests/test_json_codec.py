"""app/json_codec: orjson's speed, json's answers (what json reads and writes, it still does)."""

from __future__ import annotations

import json
import math

import pytest

from app import json_codec

VALUES = [
    {"sub": "usr_1", "roles": ["admin"], "exp": 1764574800, "org_id": None, "ok": True},
    {"n": 123456789012345678901234567890, "m": -(2**70)},  # beyond 64 bits
    {"name": "Zo\u00eb \u2014 \u6771\u4eac", "f": 0.1, "e": 1e300},
    {"nested": {"a": [1, {"b": "c"}]}, "empty": {}},
]


@pytest.mark.parametrize("value", VALUES)
def test_what_json_reads_back_from_dumps_is_the_value(value):
    assert json.loads(json_codec.dumps(value)) == value
    assert json_codec.loads(json_codec.dumps(value)) == value


@pytest.mark.parametrize("value", VALUES)
@pytest.mark.parametrize("kind", [str, bytes, memoryview])
def test_loads_gives_jsons_answer_for_every_input_kind(value, kind):
    text = json.dumps(value)
    raw = text if kind is str else kind(text.encode())
    assert json_codec.loads(raw) == json.loads(text)


def test_non_string_keys_are_written_as_json_writes_them():
    assert json_codec.dumps({1: "x", 2.5: "y"}) == b'{"1":"x","2.5":"y"}'


def test_sorted_keys_and_a_newline_as_flask_writes():
    assert json_codec.dumps({"b": 1, "a": 2}, sort_keys=True, newline=True) == b'{"a":2,"b":1}\n'


def test_what_only_json_accepts_is_still_read():
    assert math.isnan(json_codec.loads("NaN"))
    assert json_codec.loads('"\\ud800"') == "\ud800"  # a lone surrogate


@pytest.mark.parametrize("raw", [b"{bad", b"", b'{"a":1', "[1,]"])
def test_bad_json_is_a_value_error(raw):
    with pytest.raises(ValueError):
        json_codec.loads(raw)
