"""Cursor pagination: the cursor is an opaque base64url of the last id on the page."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from collections.abc import Sequence
from typing import Any

from flask import request

from app.api.errors import bad_request

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def encode_cursor(last_id: str) -> str:
    return base64.urlsafe_b64encode(last_id.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
    except (ValueError, binascii.Error, UnicodeError) as exc:
        raise bad_request({"cursor": "not a cursor from this API"}) from exc
    if not value or len(value) > 80 or not value.replace("_", "").isalnum():
        raise bad_request({"cursor": "not a cursor from this API"})
    return value


def page_params() -> tuple[str | None, int]:
    """``(after_id, limit)`` from ``?cursor=`` and ``?limit=`` (1..200, default 50)."""
    raw_limit = request.args.get("limit", "")
    if raw_limit:
        if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= MAX_LIMIT:
            raise bad_request({"limit": f"must be a whole number from 1 to {MAX_LIMIT}"})
        limit = int(raw_limit)
    else:
        limit = DEFAULT_LIMIT
    cursor = request.args.get("cursor", "")
    if len(cursor) > 200:
        raise bad_request({"cursor": "not a cursor from this API"})
    return (decode_cursor(cursor) if cursor else None), limit


def page(rows: Sequence, limit: int, serialize: Callable[[Any], dict]) -> dict:
    """The list shape: ``{"items": [...], "next_cursor": ...}``.

    ``rows`` holds up to ``limit + 1`` rows: the extra one only says there is more.
    """
    more = len(rows) > limit
    rows = list(rows)[:limit]
    return {
        "items": [serialize(row) for row in rows],
        "next_cursor": encode_cursor(rows[-1].id) if more and rows else None,
    }


def page_of_list(
    rows: Sequence, after: str | None, limit: int, serialize: Callable[[Any], dict], key=None
) -> dict:
    """Paginate an in-memory list (small collections) ordered by id, after a cursor."""
    key = key or (lambda row: row.id)
    ordered = sorted(rows, key=key)
    if after:
        ordered = [row for row in ordered if key(row) > after]
    more = len(ordered) > limit
    ordered = ordered[:limit]
    return {
        "items": [serialize(row) for row in ordered],
        "next_cursor": encode_cursor(key(ordered[-1])) if more and ordered else None,
    }
