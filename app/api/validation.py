"""Request bodies and query parameters, checked against the schemas of the OpenAPI document.

The JSON Schema subset used by :mod:`app.api.schemas` (type, enum, lengths, bounds,
pattern, items, properties, required, additionalProperties) is checked here, so the
document and the behaviour cannot drift apart. Domain rules stay in the services.
"""

from __future__ import annotations

import json
import re
from datetime import UTC
from datetime import datetime
from typing import Any

from flask import request

from app.api.errors import bad_request
from app.api.errors import unsupported_media_type

_TYPES = {
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "array": list,
    "object": dict,
    "null": type(None),
}


def _type_ok(value: Any, name: str) -> bool:
    if name in ("integer", "number") and isinstance(value, bool):
        return False
    if name == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _TYPES[name])


def check(schema: dict, value: Any, where: str, errors: dict[str, str]) -> None:
    """Add ``{field path: message}`` to ``errors`` for every way ``value`` breaks ``schema``."""
    types = schema.get("type")
    if types:
        names = types if isinstance(types, list) else [types]
        if not any(_type_ok(value, n) for n in names):
            errors[where] = f"must be {' or '.join(names)}"
            return
    if "enum" in schema and value not in schema["enum"]:
        errors[where] = f"must be one of: {', '.join(map(str, schema['enum']))}"
        return
    if isinstance(value, str):
        _check_string(schema, value, where, errors)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        low, high = schema.get("minimum"), schema.get("maximum")
        if (low is not None and value < low) or (high is not None and value > high):
            errors[where] = f"must be from {low} to {high}"
    elif isinstance(value, list):
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors[where] = f"at most {schema['maxItems']} items"
            return
        for index, item in enumerate(value):
            check(schema.get("items", {}), item, f"{where}[{index}]", errors)
    elif isinstance(value, dict):
        _check_object(schema, value, where, errors)


def _python_pattern(pattern: str) -> str:
    """A JSON Schema (ECMA-262) pattern for Python's ``re``: ECMA's ``$`` is the end of the
    input, Python's also matches before a trailing newline, so it becomes ``\\Z``."""
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        return pattern[:-1] + "\\Z"
    return pattern


def _check_string(schema: dict, value: str, where: str, errors: dict[str, str]) -> None:
    if "\x00" in value:
        errors[where] = "must not contain NUL characters"
    elif len(value) < schema.get("minLength", 0):
        errors[where] = f"at least {schema['minLength']} characters"
    elif "maxLength" in schema and len(value) > schema["maxLength"]:
        errors[where] = f"at most {schema['maxLength']} characters"
    elif "pattern" in schema and not re.search(_python_pattern(schema["pattern"]), value):
        errors[where] = "has an invalid format"


def _check_object(schema: dict, value: dict, where: str, errors: dict[str, str]) -> None:
    prefix = f"{where}." if where else ""
    properties = schema.get("properties", {})
    for name in schema.get("required", []):
        if name not in value:
            errors[prefix + name] = "is required"
    for name, item in value.items():
        if name in properties:
            check(properties[name], item, prefix + name, errors)
        elif schema.get("additionalProperties") is False:
            errors[prefix + name] = "unknown field"


def json_body(schema: dict, *, required: bool = True) -> dict:
    """The request's JSON object, validated; raises 415 or 400 problems.

    An empty body is ``{}`` when the body is optional, else a 400.
    """
    raw = request.get_data(cache=True)
    if not raw.strip():
        if required:
            raise bad_request({"body": "a JSON object is required"})
        data: Any = {}
    else:
        if not request.is_json:
            raise unsupported_media_type()
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise bad_request({"body": f"malformed JSON: {exc}"}, "Malformed JSON.") from exc
    if not isinstance(data, dict):
        raise bad_request({"body": "must be a JSON object"})
    errors: dict[str, str] = {}
    check(schema, data, "", errors)
    if errors:
        raise bad_request(errors)
    return data


def query_str(name: str, *, max_length: int = 200) -> str:
    """A query parameter as text ('' when absent), refused if absurd."""
    value = request.args.get(name, "")
    if "\x00" in value or len(value) > max_length:
        raise bad_request({name: f"at most {max_length} characters, no NUL"})
    return value.strip()


def query_time(name: str) -> datetime | None:
    """An RFC 3339 timestamp query parameter (UTC when no offset is given)."""
    value = query_str(name, max_length=64)
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise bad_request({name: "must be an RFC 3339 date-time"}) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
