"""Reading an uploaded file one record at a time, never the whole file in memory.

A file is a JSON array of users, JSON Lines (one user per line), or a whole-tenant export
(a JSON object whose first key is ``gatehouse_export``). ``line`` is the line number in
JSON Lines and the 1-based position of the element in a JSON array.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import BinaryIO

import ijson
from ijson.common import ObjectBuilder

from app.services.portability.records import RecordError

MAX_LINE_BYTES = 1024 * 1024
_EXPORT_START = re.compile(rb'^\s*\{\s*"gatehouse_export"\s*:')


class SourceError(ValueError):
    """The file cannot be read further (broken JSON array, not JSON at all)."""

    def __init__(self, line: int, message: str):
        super().__init__(message)
        self.line = line


def sniff(stream: BinaryIO) -> str:
    """``array``, ``lines`` or ``tenant``; the stream is rewound."""
    head = stream.read(4096)
    stream.seek(0)
    if _EXPORT_START.match(head):
        return "tenant"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith(b"["):
        return "array"
    return "lines"


def _lines(stream: BinaryIO) -> Iterator[tuple[int, object]]:
    number = 0
    while True:
        raw = stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        number += 1
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):  # skip the rest of the line
                raw = stream.readline(MAX_LINE_BYTES)
            yield number, RecordError(f"line longer than {MAX_LINE_BYTES} bytes")
            continue
        text = raw.strip()
        if number == 1:
            text = text.removeprefix(b"\xef\xbb\xbf")
        if not text:
            continue
        try:
            yield number, json.loads(text)
        except (ValueError, RecursionError) as exc:
            yield number, RecordError(f"malformed JSON: {exc}")


def _array(stream: BinaryIO) -> Iterator[tuple[int, object]]:
    position = 0
    try:
        for item in ijson.items(stream, "item", use_float=True):
            position += 1
            yield position, item
    except ijson.JSONError as exc:
        raise SourceError(position + 1, f"malformed JSON array: {exc}") from exc


def records(stream: BinaryIO) -> Iterator[tuple[int, object]]:
    """(line, record) pairs; a record that could not be parsed is a RecordError."""
    kind = sniff(stream)
    if kind == "array":
        return _array(stream)
    if kind == "lines":
        return _lines(stream)
    raise SourceError(1, "a whole-tenant export: import it with `gatehouse import SLUG`")


# --- whole-tenant exports ---------------------------------------------------------------


def _build(first: tuple, events) -> object:
    """The value whose first event is ``first``, built from ``events``."""
    builder = ObjectBuilder()
    _, event, value = first
    builder.event(event, value)
    depth = 1 if event in ("start_map", "start_array") else 0
    while depth:
        _, event, value = next(events)
        builder.event(event, value)
        if event in ("start_map", "start_array"):
            depth += 1
        elif event in ("end_map", "end_array"):
            depth -= 1
    return builder.value


def _users(events) -> Iterator[tuple[int, object]]:
    for position, first in enumerate(events, 1):
        if first[1] == "end_array" and first[0] == "users":
            return
        yield position, _build(first, events)


def sections(stream: BinaryIO) -> Iterator[tuple[str, object]]:
    """The top-level keys of a tenant export with their values; ``users`` comes as a lazy
    iterator of (position, record) that must be consumed before the next section."""
    events = ijson.parse(stream, use_float=True)
    try:
        for prefix, event, value in events:
            if prefix != "" or event != "map_key":
                continue
            first = next(events)
            if value == "users" and first[1] == "start_array":
                yield "users", _users(events)
            else:
                yield value, _build(first, events)
    except (ijson.JSONError, StopIteration) as exc:
        raise SourceError(0, f"malformed tenant export: {exc}") from exc
