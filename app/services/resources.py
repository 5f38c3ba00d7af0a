"""API resources of a tenant (DESIGN §3 "resource"; RFC 8707 resource indicators).

A resource is an API the tenant's apps call: its ``identifier`` (an absolute URI) is the
``aud`` of the access tokens issued for it, its ``permissions`` are the scope values
those tokens may carry. The identifier never changes (resource servers verify it); a
permission removed from a resource is removed from every role and client grant too.
"""

from __future__ import annotations

import re

from sqlalchemy import delete

from app.extensions import db
from app.models import ClientResourceGrant
from app.models import Resource
from app.models import RolePermission
from app.models import Tenant
from app.services import audit
from app.services.errors import Conflict
from app.services.errors import NotFound
from app.services.errors import ValidationFailed
from app.services.integrity import flush_unique
from app.services.names import clean_name
from app.tenancy import scope

MAX_IDENTIFIER = 500
MAX_PERMISSIONS = 100
MAX_PERMISSION_NAME = 100
MAX_DESCRIPTION = 300
TTL_RANGE = (60, 86400)
# Scope values with a meaning of their own: a permission must never be mistaken for them.
RESERVED_PERMISSIONS = frozenset(
    {"openid", "profile", "email", "offline_access", "address", "phone", "admin"}
)
# RFC 3986 §4.3 absolute-URI: scheme ":" hier-part [ "?" query ], no fragment (RFC 8707 §2);
# only the characters a URI may hold (no spaces, quotes, angle brackets, backslashes).
_IDENTIFIER_RE = re.compile(
    r"[A-Za-z][A-Za-z0-9+.\-]*:(?:[A-Za-z0-9\-._~:/?\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})+"
)
# RFC 6749 §3.3 scope-token: %x21 / %x23-5B / %x5D-7E.
_PERMISSION_RE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
FIELDS = ("identifier", "name", "permissions", "access_token_ttl_seconds")


def identifier_problem(value) -> str | None:
    """Why ``value`` cannot be a resource identifier, or None."""
    if not isinstance(value, str) or not value or len(value) > MAX_IDENTIFIER:
        return f"must be an absolute URI of at most {MAX_IDENTIFIER} characters"
    if "#" in value:
        return "must not contain a fragment (RFC 8707 §2)"
    if not _IDENTIFIER_RE.fullmatch(value):
        return "must be an absolute URI such as https://api.example.com (no spaces or quotes)"
    scheme, _, rest = value.partition(":")
    if scheme.lower() in {"http", "https"} and (
        not rest.startswith("//") or len(rest) < 3 or rest[2] in "/?"
    ):
        return "an http(s) identifier needs a host, e.g. https://api.example.com"
    return None


def permission_name_problem(name) -> str | None:
    """Why ``name`` cannot be a permission (an OAuth scope value), or None."""
    if not isinstance(name, str) or not name or len(name) > MAX_PERMISSION_NAME:
        return f"a permission name has 1 to {MAX_PERMISSION_NAME} characters"
    if not _PERMISSION_RE.fullmatch(name):
        return f"{name!r}: no spaces, quotes or backslashes (an OAuth scope value)"
    if name in RESERVED_PERMISSIONS:
        return f"{name!r} is a reserved scope"
    return None


def _permissions(value, errors: dict) -> list[dict]:
    if not isinstance(value, list) or len(value) > MAX_PERMISSIONS:
        errors["permissions"] = f"must be a list of at most {MAX_PERMISSIONS} permissions"
        return []
    out: list[dict] = []
    seen: set[str] = set()
    for item in value:
        if not isinstance(item, dict) or set(item) - {"name", "description"}:
            errors["permissions"] = 'each permission is {"name", "description"}'
            return []
        name = item.get("name")
        problem = permission_name_problem(name)
        if problem:
            errors["permissions"] = problem
            return []
        if name in seen:
            errors["permissions"] = f"{name!r} is listed twice"
            return []
        seen.add(name)
        description = item.get("description") or ""
        if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
            errors["permissions"] = f"a description has at most {MAX_DESCRIPTION} characters"
            return []
        try:
            description = clean_name(description, "permissions", max_length=MAX_DESCRIPTION)
        except ValidationFailed as exc:
            errors.update(exc.errors)
            return []
        out.append({"name": name, "description": description})
    return out


def _validate(data: dict, current: Resource | None) -> dict:
    if not isinstance(data, dict):
        raise ValidationFailed({"resource": "must be an object"})
    errors: dict[str, str] = {}
    for field in sorted(set(data) - set(FIELDS)):
        errors[field] = "unknown field"
    values: dict = {}
    if current is None:
        problem = identifier_problem(data.get("identifier"))
        if problem:
            errors["identifier"] = problem
        values["identifier"] = data.get("identifier")
    elif "identifier" in data and data["identifier"] != current.identifier:
        errors["identifier"] = "cannot change: tokens and APIs refer to it (create another)"
    if current is None or "name" in data:
        try:
            values["name"] = clean_name(data.get("name"), "name", required=True)
        except ValidationFailed as exc:
            errors.update(exc.errors)
    if "permissions" in data or current is None:
        values["permissions"] = _permissions(data.get("permissions", []), errors)
    if "access_token_ttl_seconds" in data:
        ttl = data["access_token_ttl_seconds"]
        low, high = TTL_RANGE
        if ttl is not None and (
            isinstance(ttl, bool) or not isinstance(ttl, int) or not low <= ttl <= high
        ):
            errors["access_token_ttl_seconds"] = (
                f"a whole number of seconds from {low} to {high}, or null (the tenant's)"
            )
        values["access_token_ttl_seconds"] = ttl
    if errors:
        raise ValidationFailed(errors)
    return values


def _taken(identifier: str) -> Conflict:
    return Conflict(f"A resource with identifier {identifier} already exists.", "identifier")


def create_resource(tenant: Tenant, data: dict) -> Resource:
    """A new API resource; Conflict when the tenant already has that identifier."""
    values = _validate(data, None)
    if find_by_identifier(tenant, values["identifier"]) is not None:
        raise _taken(values["identifier"])
    resource = scope(tenant).add(Resource(**values))
    flush_unique(_taken(values["identifier"]))
    audit.record(
        tenant,
        "resource.created",
        target_type="resource",
        target_id=resource.id,
        identifier=resource.identifier,
    )
    return resource


def update_resource(tenant: Tenant, resource: Resource, data: dict) -> Resource:
    """Change name, permissions (replaced as a whole) or token lifetime."""
    _owned(tenant, resource)
    values = _validate(data, resource)
    if "permissions" in values:
        kept = {p["name"] for p in values["permissions"]}
        removed = {p["name"] for p in resource.permissions or []} - kept
        if removed:
            _drop_permissions(tenant, resource, removed)
    for field, value in values.items():
        setattr(resource, field, value)
    db.session.flush()
    audit.record(
        tenant,
        "resource.updated",
        target_type="resource",
        target_id=resource.id,
        fields=sorted(values),
    )
    return resource


def _drop_permissions(tenant: Tenant, resource: Resource, names: set[str]) -> None:
    """Remove permissions that no longer exist from roles and client grants (row by row, so
    the change reaches the tenant's configuration version)."""
    data = scope(tenant)
    for row in data.all(
        RolePermission,
        RolePermission.resource_id == resource.id,
        RolePermission.permission.in_(sorted(names)),
    ):
        db.session.delete(row)
    for grant in data.all(ClientResourceGrant, ClientResourceGrant.resource_id == resource.id):
        grant.permissions = [p for p in grant.permissions or [] if p not in names]


def delete_resource(tenant: Tenant, resource: Resource) -> None:
    """Delete a resource; roles and clients lose its permissions and grants."""
    _owned(tenant, resource)
    for model in (RolePermission, ClientResourceGrant):
        db.session.execute(
            delete(model).where(model.tenant_id == tenant.id, model.resource_id == resource.id)
        )
    audit.record(
        tenant,
        "resource.deleted",
        target_type="resource",
        target_id=resource.id,
        identifier=resource.identifier,
    )
    db.session.delete(resource)
    db.session.flush()


def list_resources(tenant: Tenant) -> list[Resource]:
    """The tenant's resources in creation order."""
    return scope(tenant).all(Resource, order_by=Resource.id)


def get_resource(tenant: Tenant, resource_id: str) -> Resource:
    """The tenant's resource by id (``res_…``); NotFound otherwise."""
    resource = scope(tenant).get(Resource, resource_id) if isinstance(resource_id, str) else None
    if resource is None:
        raise NotFound("No such resource.")
    return resource


def find_by_identifier(tenant: Tenant, identifier) -> Resource | None:
    """The tenant's resource with this identifier, or None (never another tenant's)."""
    if not isinstance(identifier, str) or not identifier or len(identifier) > MAX_IDENTIFIER:
        return None
    return scope(tenant).first(Resource, Resource.identifier == identifier)


def permission_names(resource: Resource) -> list[str]:
    return [p["name"] for p in resource.permissions or []]


def _owned(tenant: Tenant, resource: Resource) -> None:
    if resource is None or resource.tenant_id != tenant.id:
        raise NotFound("No such resource.")
