"""One import record, checked and normalised to Gatehouse's shape.

Gatehouse's shape (JSON Lines, or the elements of a JSON array)::

    {"email", "name", "email_verified", "external_id", "status", "metadata",
     "password_hash", "roles": ["admin"],
     "organizations": [{"org": "<slug or org_...>", "roles": ["owner"]}],
     "identities": [{"provider": "<idp_..., name or kind>", "subject": "...", "email": "..."}]}

Records in Auth0's shapes (the bulk user export and the password-hash export, see
README "Importing from Auth0") are recognised and mapped by :func:`from_auth0`.
"""

from __future__ import annotations

import json

from app.security.foreign_hashes import UnsupportedHash
from app.security.foreign_hashes import check_format
from app.services.errors import ValidationFailed
from app.services.names import clean_name

METADATA_MAX_BYTES = 16 * 1024
FIELDS = {
    "email",
    "name",
    "email_verified",
    "external_id",
    "status",
    "metadata",
    "password_hash",
    "roles",
    "organizations",
    "identities",
}
# Gatehouse exports also carry these (read only); an import ignores them.
IGNORED = {"id", "created_at", "last_login_at"}
AUTH0_KEYS = {
    "user_id",
    "_id",
    "passwordHash",
    "user_metadata",
    "app_metadata",
    "given_name",
    "family_name",
    "nickname",
    "blocked",
    "custom_password_hash",
    "connection",
}
# Auth0 social connection → Gatehouse provider kind.
AUTH0_PROVIDERS = {"google-oauth2": "google", "github": "github", "windowslive": "microsoft"}


class RecordError(ValueError):
    """What is wrong with one record (reported with its line, the job goes on)."""


def metadata_problem(value: object) -> str | None:
    """Why ``value`` cannot be a user's metadata, or None: a JSON object of at most 16 KB."""
    if not isinstance(value, dict):
        return "must be a JSON object"
    try:
        size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
    except (TypeError, ValueError):
        return "must be JSON"
    if size > METADATA_MAX_BYTES:
        return f"at most {METADATA_MAX_BYTES} bytes of JSON (this is {size})"
    return None


def is_auth0(record: dict) -> bool:
    return "external_id" not in record and bool(AUTH0_KEYS & record.keys())


def _auth0_name(record: dict) -> str:
    given = " ".join(
        str(record[k]) for k in ("given_name", "family_name") if isinstance(record.get(k), str)
    )
    for value in (record.get("name"), given, record.get("nickname")):
        if isinstance(value, str) and value.strip() and value != record.get("email"):
            return value.strip()
    return ""


def _auth0_hash(record: dict):
    for key in ("passwordHash", "password_hash"):
        if record.get(key):
            return record[key]
    custom = record.get("custom_password_hash")
    if isinstance(custom, dict) and isinstance(custom.get("hash"), dict):
        return custom["hash"].get("value")
    return None


def from_auth0(record: dict) -> dict:
    """Map an Auth0 user (bulk export or password-hash export) to Gatehouse's shape."""
    external_id = record.get("user_id")
    oid = record.get("_id")
    if external_id is None and oid is not None:
        oid = oid.get("$oid") if isinstance(oid, dict) else oid
        external_id = f"auth0|{oid}"
    out: dict = {"email": record.get("email")}
    if _auth0_name(record):  # the password-hash export has no name: leave it as it is
        out["name"] = _auth0_name(record)
    if external_id is not None:
        out["external_id"] = str(external_id)
    if "email_verified" in record:
        out["email_verified"] = record["email_verified"]
    if record.get("blocked") is True:
        out["status"] = "disabled"
    password_hash = _auth0_hash(record)
    if password_hash:
        out["password_hash"] = password_hash
    metadata = dict(record.get("user_metadata") or {})
    if record.get("app_metadata"):
        metadata["app_metadata"] = record["app_metadata"]
    if metadata:
        out["metadata"] = metadata
    identities = []
    for identity in record.get("identities") or []:
        if not isinstance(identity, dict) or identity.get("provider") in (None, "auth0"):
            continue
        provider = identity["provider"]
        identities.append(
            {
                "provider": AUTH0_PROVIDERS.get(provider, identity.get("connection") or provider),
                "subject": str(identity.get("user_id", "")),
            }
        )
    if identities:
        out["identities"] = identities
    return out


def _string(record: dict, key: str, limit: int) -> str | None:
    value = record.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit or "\x00" in value:
        raise RecordError(f"{key}: must be text of at most {limit} characters")
    return value


def _names(value, where: str) -> list[str]:
    if not isinstance(value, list) or len(value) > 50:
        raise RecordError(f"{where}: must be a list of role names")
    if not all(isinstance(v, str) and 0 < len(v) <= 64 for v in value):
        raise RecordError(f"{where}: must be a list of role names")
    return sorted(set(value))


def _organizations(value) -> list[dict]:
    if not isinstance(value, list) or len(value) > 200:
        raise RecordError("organizations: must be a list of {org, roles}")
    out = []
    for index, item in enumerate(value):
        where = f"organizations[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("org"), str):
            raise RecordError(f"{where}: needs 'org' (a slug or org_ id)")
        out.append({"org": item["org"], "roles": _names(item.get("roles", ["member"]), where)})
    return out


def _identities(value) -> list[dict]:
    if not isinstance(value, list) or len(value) > 50:
        raise RecordError("identities: must be a list of {provider, subject}")
    out = []
    for index, item in enumerate(value):
        where = f"identities[{index}]"
        if not isinstance(item, dict):
            raise RecordError(f"{where}: must be an object")
        provider, subject = item.get("provider"), item.get("subject")
        if not isinstance(provider, str) or not isinstance(subject, str) or not subject:
            raise RecordError(f"{where}: needs 'provider' and 'subject'")
        if len(subject) > 500 or len(provider) > 100:
            raise RecordError(f"{where}: too long")
        email = item.get("email")
        out.append({"provider": provider, "subject": subject, "email": email if email else None})
    return out


def normalize(record: object) -> dict:
    """The record checked field by field; raises RecordError naming the first problem.

    Only the keys present in the record are in the answer (absent = leave as is)."""
    if not isinstance(record, dict):
        raise RecordError("each user must be a JSON object")
    if is_auth0(record):
        record = from_auth0(record)
    unknown = set(record) - FIELDS - IGNORED
    if unknown:
        raise RecordError(f"unknown field: {', '.join(sorted(unknown))}")
    out: dict = {}
    email = _string(record, "email", 320)
    if not email:
        raise RecordError("email: is required")
    out["email"] = email
    name = _string(record, "name", 200)
    if name is not None:
        try:
            out["name"] = clean_name(name)  # the shared rule for names (NFC, no controls)
        except ValidationFailed as exc:
            raise RecordError(f"name: {exc.errors.get('name', exc.message)}") from exc
    external_id = _string(record, "external_id", 255)
    if external_id is not None:
        out["external_id"] = external_id.strip()
    if "email_verified" in record:
        if not isinstance(record["email_verified"], bool):
            raise RecordError("email_verified: must be true or false")
        out["email_verified"] = record["email_verified"]
    if "status" in record:
        if record["status"] not in ("active", "disabled"):
            raise RecordError("status: must be 'active' or 'disabled'")
        out["status"] = record["status"]
    if "metadata" in record:
        problem = metadata_problem(record["metadata"])
        if problem:
            raise RecordError(f"metadata: {problem}")
        out["metadata"] = record["metadata"]
    if record.get("password_hash") is not None:
        try:
            check_format(record["password_hash"])
        except UnsupportedHash as exc:
            raise RecordError(f"password_hash: {exc}") from exc
        out["password_hash"] = record["password_hash"]
    if "roles" in record:
        out["roles"] = _names(record["roles"], "roles")
    if "organizations" in record:
        out["organizations"] = _organizations(record["organizations"])
    if "identities" in record:
        out["identities"] = _identities(record["identities"])
    return out
