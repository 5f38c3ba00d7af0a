"""JSON for the hot paths: orjson where its answer is the standard library's, the
standard library where it is not.

orjson encodes and decodes a token's claims in a tenth of ``json``'s time (bench/NOTES.md),
but it differs at the edges: it refuses to encode integers beyond 64 bits and non-string
keys (``json`` writes them), and it decodes such integers as floats (``json`` keeps them
exact). Custom claims can carry any JSON an administrator stored, so those cases go to
``json``: the bytes and values are always what they were before orjson.
"""

from __future__ import annotations

import json
import re

import orjson

# Twenty digits in a row may be an integer orjson cannot hold (64 bits has at most 20).
_LONG_DIGITS = re.compile(rb"\d{20}")
_LONG_DIGITS_TEXT = re.compile(r"\d{20}")


def dumps(value, *, sort_keys: bool = False, newline: bool = False) -> bytes:
    """Compact JSON bytes of ``value`` (non-ASCII as UTF-8)."""
    try:
        return orjson.dumps(value, option=_OPTIONS[sort_keys, newline])
    except orjson.JSONEncodeError:  # a big integer, a non-string key, ...: json's answer
        text = json.dumps(value, separators=(",", ":"), sort_keys=sort_keys)
        return (text + "\n" if newline else text).encode()


_OPTIONS = {
    (False, False): 0,
    (True, False): orjson.OPT_SORT_KEYS,
    (False, True): orjson.OPT_APPEND_NEWLINE,
    (True, True): orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE,
}


def loads(raw):
    """The value of the JSON ``raw`` (str, bytes or a buffer, as a database driver hands
    it over), as ``json.loads`` gives it; raises ValueError on bad JSON."""
    text = isinstance(raw, str)
    if not (_LONG_DIGITS_TEXT if text else _LONG_DIGITS).search(raw):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass  # NaN, a lone surrogate, ...: what json accepts, json reads
    return json.loads(raw if text else bytes(raw))
