"""The wire format of SCIM: media type, errors (RFC 7644 §3.12), filters (§3.4.2.2, the
equality subset Okta and Entra ID send), PATCH operations (§3.5.2) and pagination."""

from __future__ import annotations

import json
import re

from flask import Response
from flask import request

from app.services.scim import ScimError

MEDIA_TYPE = "application/scim+json"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
MAX_COUNT = 200
_FILTER = re.compile(
    r'^\s*(userName|emails\.value|emails\[type eq "work"\]\.value|externalId|displayName)'
    r'\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$',
    re.IGNORECASE,
)


def scim_json(body: dict, status: int = 200, headers=None) -> Response:
    return Response(json.dumps(body), status=status, mimetype=MEDIA_TYPE, headers=headers)


def error_response(status: int, detail: str, scim_type: str | None = None) -> Response:
    body = {"schemas": [ERROR], "status": str(status), "detail": detail}
    if scim_type:
        body["scimType"] = scim_type
    return scim_json(body, status)


def body() -> dict:
    """The request's JSON object (``application/scim+json`` or ``application/json``)."""
    data = request.get_json(force=True, silent=True)
    if not isinstance(data, dict):
        raise ScimError(400, "The body must be a JSON object.", "invalidSyntax")
    return data


def parse_filter(raw: str | None) -> tuple[str | None, str | None]:
    """(attribute in lower case, value) of an ``attr eq "value"`` filter, or (None, None)."""
    if not raw:
        return None, None
    match = _FILTER.match(raw)
    if not match:
        raise ScimError(
            400,
            'Only filters of the form userName eq "…", emails.value eq "…", externalId eq '
            '"…" (Users) and displayName eq "…" (Groups) are supported.',
            "invalidFilter",
        )
    attribute = match.group(1).lower()
    if attribute.startswith("emails["):
        attribute = "emails.value"
    return attribute, json.loads(f'"{match.group(2)}"')


def paging() -> tuple[int, int]:
    """(startIndex, count) from the query: 1-based, count capped (RFC 7644 §3.4.2.4)."""
    try:
        start = int(request.args.get("startIndex", 1))
        count = int(request.args.get("count", 100))
    except ValueError as exc:
        raise ScimError(400, "startIndex and count must be integers.", "invalidValue") from exc
    return max(start, 1), min(max(count, 0), MAX_COUNT)


def list_response(resources: list[dict], total: int, start: int) -> Response:
    return scim_json(
        {
            "schemas": [LIST],
            "totalResults": total,
            "startIndex": start,
            "itemsPerPage": len(resources),
            "Resources": resources,
        }
    )


def operations(data: dict) -> list[tuple[str, str | None, object]]:
    """The (op, path, value) triples of a PatchOp body; raises ScimError."""
    if PATCH_OP not in (data.get("schemas") or []):
        raise ScimError(400, f"A PATCH body names the schema {PATCH_OP}.", "invalidSyntax")
    ops = data.get("Operations")
    if not isinstance(ops, list) or not ops:
        raise ScimError(400, "Operations must be a non-empty list.", "invalidSyntax")
    out = []
    for op in ops:
        if not isinstance(op, dict):
            raise ScimError(400, "Each operation is an object.", "invalidSyntax")
        name = str(op.get("op", "")).lower()
        if name not in ("add", "replace", "remove"):
            raise ScimError(400, "op must be add, replace or remove.", "invalidSyntax")
        path = op.get("path")
        if path is not None and not isinstance(path, str):
            raise ScimError(400, "path must be a string.", "invalidPath")
        out.append((name, path, op.get("value")))
    return out
