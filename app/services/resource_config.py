"""The tenant's API resources, role permissions and client resource grants as the token
endpoint needs them: read once per tenant snapshot (three queries), then kept on it, so a
warm token request with ``resource`` reads nothing from the database.

A change to a resource, a role's permissions or a client's grants bumps the tenant's
configuration version (app/tenant_cache.py), which drops the snapshot with this on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

from sqlalchemy import select

from app.extensions import db
from app.models import ClientResourceGrant
from app.models import Resource
from app.models import Role
from app.models import RolePermission
from app.services.permissions import PermissionMap
from app.services.permissions import RoleKey
from app.tenancy import config_of

_EMPTY: MappingProxyType = MappingProxyType({})


@dataclass(frozen=True)
class ResourceEntry:
    """One API resource, read only."""

    id: str
    identifier: str
    name: str
    permissions: tuple[str, ...]  # in the resource's order
    descriptions: MappingProxyType  # name → description
    access_token_ttl_seconds: int | None


@dataclass(frozen=True)
class ResourceConfig:
    """Everything RFC 8707 token requests of one tenant look up."""

    resources: MappingProxyType  # identifier → ResourceEntry
    role_permissions: MappingProxyType  # (kind, role name) → {identifier: permissions}
    client_grants: MappingProxyType  # client id → {identifier: permissions}

    def resource(self, identifier) -> ResourceEntry | None:
        """This tenant's resource with ``identifier`` (never another tenant's), or None."""
        return self.resources.get(identifier) if isinstance(identifier, str) else None

    def grants_of(self, client_id: str) -> MappingProxyType:
        return self.client_grants.get(client_id, _EMPTY)

    def permission_map(self) -> MappingProxyType:
        return self.role_permissions

    @property
    def permission_names(self) -> frozenset[str]:
        """Every permission name of every resource (scope values that are not OIDC's)."""
        return frozenset(p for entry in self.resources.values() for p in entry.permissions)


def _freeze(nested: dict) -> MappingProxyType:
    return MappingProxyType(
        {key: MappingProxyType(dict(value.items())) for key, value in nested.items()}
    )


def load(tenant_id: str) -> ResourceConfig:
    """Read the tenant's resources, role permissions and client grants (three queries)."""
    resources = {}
    for row in db.session.scalars(select(Resource).where(Resource.tenant_id == tenant_id)):
        permissions = tuple(p["name"] for p in row.permissions or [])
        resources[row.identifier] = ResourceEntry(
            id=row.id,
            identifier=row.identifier,
            name=row.name,
            permissions=permissions,
            descriptions=MappingProxyType(
                {p["name"]: p.get("description", "") for p in row.permissions or []}
            ),
            access_token_ttl_seconds=row.access_token_ttl_seconds,
        )
    by_id = {entry.id: entry.identifier for entry in resources.values()}

    roles: dict[RoleKey, dict[str, set[str]]] = {}
    stmt = (
        select(Role.kind, Role.name, RolePermission.resource_id, RolePermission.permission)
        .join(Role, (Role.id == RolePermission.role_id) & (Role.tenant_id == tenant_id))
        .where(RolePermission.tenant_id == tenant_id)
    )
    for kind, name, resource_id, permission in db.session.execute(stmt):
        if resource_id in by_id:
            roles.setdefault((kind, name), {}).setdefault(by_id[resource_id], set()).add(permission)

    grants: dict[str, dict[str, frozenset]] = {}
    for row in db.session.scalars(
        select(ClientResourceGrant).where(ClientResourceGrant.tenant_id == tenant_id)
    ):
        if row.resource_id in by_id:
            grants.setdefault(row.client_id, {})[by_id[row.resource_id]] = frozenset(
                row.permissions or []
            )
    role_map: dict[RoleKey, PermissionMap] = {
        key: {identifier: frozenset(names) for identifier, names in value.items()}
        for key, value in roles.items()
    }
    return ResourceConfig(
        resources=MappingProxyType(resources),
        role_permissions=_freeze(role_map),
        client_grants=_freeze(grants),
    )


def resource_config(tenant) -> ResourceConfig:
    """The tenant's ResourceConfig: from its snapshot when one is at hand (read once per
    snapshot), else read now."""
    snapshot = config_of(tenant)
    if snapshot is None:
        return load(tenant.id)
    return snapshot.derived("resource_config", lambda: load(snapshot.id))
