"""Permissions of API resources held through roles and granted to clients.

* A tenant or organization role carries permissions (``{"resource", "permission"}``:
  the resource's identifier and one of its permission names).
* A user's effective permissions are those of their tenant roles plus those of their
  roles in the active organization (DESIGN §4), per resource identifier.
* A client's ``resource_grants`` (``{"resource", "permissions"}``) bound what its
  client_credentials tokens may carry.

:func:`effective_permissions` is the rule itself, a pure function of the roles held and
the tenant's role → permissions map; the token path feeds it from the tenant snapshot
(:mod:`app.services.resource_config`), the admin API from the rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping

from sqlalchemy import select

from app.extensions import db
from app.models import Client
from app.models import ClientResourceGrant
from app.models import Resource
from app.models import Role
from app.models import RolePermission
from app.models import Tenant
from app.models import User
from app.services import audit
from app.services import resources as resources_service
from app.services.errors import ValidationFailed
from app.services.roles import org_role_names
from app.services.roles import tenant_role_names
from app.tenancy import scope

MAX_ENTRIES = 500

# (role kind, role name), e.g. ("tenant", "member") or ("org", "admin").
RoleKey = tuple[str, str]
# {resource identifier: permission names}
PermissionMap = dict[str, frozenset[str]]


def effective_permissions(
    role_keys: Iterable[RoleKey], role_permissions: Mapping[RoleKey, PermissionMap]
) -> PermissionMap:
    """The union of the permissions of the roles held, per resource identifier."""
    out: dict[str, set[str]] = {}
    for key in role_keys:
        for identifier, names in role_permissions.get(key, {}).items():
            out.setdefault(identifier, set()).update(names)
    return {identifier: frozenset(names) for identifier, names in out.items()}


def role_keys(tenant_roles: Iterable[str], org_roles: Iterable[str] = ()) -> list[RoleKey]:
    """Role keys of a user: tenant roles, then roles in the active organization."""
    return [("tenant", n) for n in tenant_roles] + [("org", n) for n in org_roles]


# --- reading the rows ------------------------------------------------------------------


def role_permission_map(tenant: Tenant) -> dict[RoleKey, PermissionMap]:
    """Every role's permissions in the tenant, from the rows (one query)."""
    stmt = (
        select(Role.kind, Role.name, Resource.identifier, RolePermission.permission)
        .join(Role, (Role.id == RolePermission.role_id) & (Role.tenant_id == tenant.id))
        .join(
            Resource,
            (Resource.id == RolePermission.resource_id) & (Resource.tenant_id == tenant.id),
        )
        .where(RolePermission.tenant_id == tenant.id)
    )
    out: dict[RoleKey, dict[str, set[str]]] = {}
    for kind, name, identifier, permission in db.session.execute(stmt):
        out.setdefault((kind, name), {}).setdefault(identifier, set()).add(permission)
    return {
        key: {identifier: frozenset(names) for identifier, names in value.items()}
        for key, value in out.items()
    }


def user_permissions(tenant: Tenant, user: User, org_id: str | None = None) -> PermissionMap:
    """The user's effective permissions (tenant roles + roles in ``org_id``)."""
    org_roles = (org_role_names(tenant, user, org_id) or []) if org_id else []
    keys = role_keys(tenant_role_names(tenant, user), org_roles)
    return effective_permissions(keys, role_permission_map(tenant))


def user_access(tenant: Tenant, user: User, org_id: str | None = None) -> dict:
    """The user's roles and effective permissions, as the admin API shows them; with
    ``org_id``, as in a token whose active organization it is (ValidationFailed on
    ``org`` when the user is not a member)."""
    org_roles: list[str] = []
    if org_id:
        org_roles = org_role_names(tenant, user, org_id)
        if org_roles is None:
            raise ValidationFailed({"org": "the user is not a member of this organization"})
    tenant_roles = tenant_role_names(tenant, user)
    held = effective_permissions(role_keys(tenant_roles, org_roles), role_permission_map(tenant))
    return {
        "user_id": user.id,
        "org_id": org_id,
        "roles": sorted(set(tenant_roles) | set(org_roles)),
        "permissions": permissions_to_list(held),
    }


def permissions_to_list(permissions: PermissionMap) -> list[dict]:
    """``[{"resource", "permission"}]`` sorted, the API's shape."""
    return [
        {"resource": identifier, "permission": name}
        for identifier in sorted(permissions)
        for name in sorted(permissions[identifier])
    ]


# --- permissions of roles ---------------------------------------------------------------


def _resources_by_identifier(tenant: Tenant, identifiers: set[str]) -> dict[str, Resource]:
    if not identifiers:
        return {}
    rows = scope(tenant).all(Resource, Resource.identifier.in_(sorted(identifiers)))
    return {r.identifier: r for r in rows}


def parse_role_permissions(tenant: Tenant, value, field: str = "permissions") -> list[tuple]:
    """Validate ``[{"resource", "permission"}]`` against the tenant's resources; returns
    ``[(resource, permission)]`` de-duplicated. A resource of another tenant is unknown."""
    if not isinstance(value, list) or len(value) > MAX_ENTRIES:
        raise ValidationFailed({field: f"must be a list of at most {MAX_ENTRIES} entries"})
    if not all(
        isinstance(e, dict)
        and set(e) == {"resource", "permission"}
        and all(isinstance(v, str) for v in e.values())
        for e in value
    ):
        raise ValidationFailed({field: 'each entry is {"resource", "permission"} (strings)'})
    found = _resources_by_identifier(tenant, {e["resource"] for e in value})
    out: dict[tuple[str, str], tuple] = {}
    for entry in value:
        resource = found.get(entry["resource"])
        if resource is None:
            raise ValidationFailed({field: f"unknown resource: {entry['resource'][:200]}"})
        if entry["permission"] not in resources_service.permission_names(resource):
            raise ValidationFailed(
                {field: f"{resource.identifier} has no permission {entry['permission'][:100]!r}"}
            )
        out[(resource.id, entry["permission"])] = (resource, entry["permission"])
    return list(out.values())


def set_role_permissions(tenant: Tenant, role: Role, value) -> list[dict]:
    """Replace a role's permissions (validated); returns them in the API's shape."""
    wanted = parse_role_permissions(tenant, value)
    data = scope(tenant)
    current = {
        (r.resource_id, r.permission): r
        for r in data.all(RolePermission, RolePermission.role_id == role.id)
    }
    keys = {(resource.id, name) for resource, name in wanted}
    for key, row in current.items():
        if key not in keys:
            db.session.delete(row)
    for resource, name in wanted:
        if (resource.id, name) not in current:
            data.add(RolePermission(role_id=role.id, resource_id=resource.id, permission=name))
    db.session.flush()
    after = sorted((r.identifier, n) for r, n in wanted)
    audit.record(
        tenant,
        "role.permissions_changed",
        target_type="role",
        target_id=role.id,
        permissions=[f"{identifier} {name}" for identifier, name in after],
    )
    return [{"resource": identifier, "permission": name} for identifier, name in after]


def permissions_of_roles(tenant: Tenant | str, roles: list[Role]) -> dict[str, list[dict]]:
    """``{role id: [{"resource", "permission"}]}`` for these roles (one query)."""
    ids = [r.id for r in roles]
    out: dict[str, list[dict]] = {role_id: [] for role_id in ids}
    if not ids:
        return out
    tenant_id = tenant if isinstance(tenant, str) else tenant.id
    stmt = (
        select(RolePermission.role_id, Resource.identifier, RolePermission.permission)
        .join(
            Resource,
            (Resource.id == RolePermission.resource_id) & (Resource.tenant_id == tenant_id),
        )
        .where(RolePermission.tenant_id == tenant_id, RolePermission.role_id.in_(ids))
        .order_by(Resource.identifier, RolePermission.permission)
    )
    for role_id, identifier, name in db.session.execute(stmt):
        out[role_id].append({"resource": identifier, "permission": name})
    return out


def delete_role_permissions(tenant: Tenant, role: Role) -> None:
    """Before a role is deleted: its permission rows, one by one (a configuration change)."""
    for row in scope(tenant).all(RolePermission, RolePermission.role_id == role.id):
        db.session.delete(row)


# --- resource grants of clients ---------------------------------------------------------


def parse_resource_grants(tenant: Tenant, value, field: str = "resource_grants") -> list[tuple]:
    """Validate ``[{"resource", "permissions": [...]}]``; returns ``[(resource, names)]``."""
    if not isinstance(value, list) or len(value) > 100:
        raise ValidationFailed({field: "must be a list of at most 100 grants"})
    if not all(
        isinstance(e, dict)
        and set(e) == {"resource", "permissions"}
        and isinstance(e["resource"], str)
        and isinstance(e["permissions"], list)
        and all(isinstance(p, str) for p in e["permissions"])
        for e in value
    ):
        raise ValidationFailed(
            {field: 'each grant is {"resource": identifier, "permissions": [names]}'}
        )
    found = _resources_by_identifier(tenant, {e["resource"] for e in value})
    out: dict[str, tuple] = {}
    for entry in value:
        resource = found.get(entry["resource"])
        if resource is None:
            raise ValidationFailed({field: f"unknown resource: {entry['resource'][:200]}"})
        if resource.id in out:
            raise ValidationFailed({field: f"{resource.identifier} is listed twice"})
        known = resources_service.permission_names(resource)
        unknown = [p for p in entry["permissions"] if p not in known]
        if unknown:
            raise ValidationFailed(
                {field: f"{resource.identifier} has no permission {unknown[0][:100]!r}"}
            )
        out[resource.id] = (resource, sorted(set(entry["permissions"])))
    return list(out.values())


def set_client_grants(tenant: Tenant, client: Client, value) -> list[dict]:
    """Replace a client's resource grants (validated); returns them in the API's shape."""
    wanted = parse_resource_grants(tenant, value)
    data = scope(tenant)
    current = {
        g.resource_id: g
        for g in data.all(ClientResourceGrant, ClientResourceGrant.client_id == client.id)
    }
    for resource_id, row in current.items():
        if resource_id not in {r.id for r, _ in wanted}:
            db.session.delete(row)
    for resource, names in wanted:
        row = current.get(resource.id)
        if row is None:
            data.add(
                ClientResourceGrant(client_id=client.id, resource_id=resource.id, permissions=names)
            )
        elif list(row.permissions or []) != names:
            row.permissions = names
    db.session.flush()
    after = sorted(
        ({"resource": r.identifier, "permissions": names} for r, names in wanted),
        key=lambda g: g["resource"],
    )
    audit.record(
        tenant,
        "client.resource_grants_changed",
        target_type="client",
        target_id=client.id,
        resource_grants=after,
    )
    return after


def client_grants(tenant: Tenant | str, client_ids: list[str]) -> dict[str, list[dict]]:
    """``{client id: [{"resource", "permissions"}]}`` (one query)."""
    out: dict[str, list[dict]] = {client_id: [] for client_id in client_ids}
    if not client_ids:
        return out
    tenant_id = tenant if isinstance(tenant, str) else tenant.id
    stmt = (
        select(ClientResourceGrant.client_id, Resource.identifier, ClientResourceGrant.permissions)
        .join(
            Resource,
            (Resource.id == ClientResourceGrant.resource_id) & (Resource.tenant_id == tenant_id),
        )
        .where(
            ClientResourceGrant.tenant_id == tenant_id,
            ClientResourceGrant.client_id.in_(client_ids),
        )
        .order_by(Resource.identifier)
    )
    for client_id, identifier, names in db.session.execute(stmt):
        out[client_id].append({"resource": identifier, "permissions": sorted(names or [])})
    return out
