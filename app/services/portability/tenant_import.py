"""Applying the sections of a whole-tenant export (see ``tenant_export``) to a tenant.

What exists is kept and matched (API resources by identifier, roles by kind and name,
organizations by slug, providers by kind and name, clients and signing keys by id); what
is missing is created (a new role or client with its API permissions or grants),
keeping the original ids where they are free, so tokens, ``sub`` claims, org ids and
provider callback URLs stay the same. Users go through the same importer as a user
file. Providers arrive without their client secret (the export omits it): set it again.
"""

from __future__ import annotations

from datetime import datetime

from cryptography.hazmat.primitives import serialization

from app.extensions import db
from app.models import Client
from app.models import Organization
from app.models import Role
from app.models import SigningKey
from app.models import Tenant
from app.models import UpstreamProvider
from app.security import crypto
from app.services import permissions
from app.services import resources
from app.services.errors import ServiceError
from app.services.portability.tenant_export import CLIENT_FIELDS
from app.services.settings import update_settings
from app.tenancy import scope

SECTIONS = (
    "settings",
    "resources",
    "roles",
    "organizations",
    "providers",
    "clients",
    "signing_keys",
)


class ExportRejected(ServiceError):
    title = "Not a Gatehouse tenant export"


def _free(model, id_) -> bool:
    return isinstance(id_, str) and 0 < len(id_) <= 40 and db.session.get(model, id_) is None


def _time(value):
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def apply_section(tenant: Tenant, key: str, value) -> list[str]:
    """Apply one section; returns notes about what was skipped (and why)."""
    if key == "gatehouse_export":
        if value != 1:
            raise ExportRejected(f"unsupported export version {value!r}")
        return []
    handler = {
        "settings": _settings,
        "resources": _resources,
        "roles": _roles,
        "organizations": _organizations,
        "providers": _providers,
        "clients": _clients,
        "signing_keys": _signing_keys,
    }.get(key)
    if handler is None:
        return []
    if not isinstance(value, list | dict):
        raise ExportRejected(f"{key}: malformed section")
    notes = handler(tenant, value)
    db.session.flush()
    return notes


def _settings(tenant: Tenant, value: dict) -> list[str]:
    update_settings(tenant, value)
    return []


def _resources(tenant: Tenant, rows: list) -> list[str]:
    notes = []
    for row in rows:
        if resources.find_by_identifier(tenant, row.get("identifier")) is not None:
            continue
        try:
            resources.create_resource(tenant, row)
        except ServiceError as exc:
            notes.append(f"resource {str(row.get('identifier'))[:200]}: {exc.message}")
    return notes


def _with_permissions(tenant: Tenant, notes: list, what: str, apply) -> None:
    try:
        apply()
    except ServiceError as exc:
        notes.append(f"{what}: {exc.message}")


def _roles(tenant: Tenant, rows: list) -> list[str]:
    data = scope(tenant)
    existing = {(r.kind, r.name) for r in data.all(Role)}
    notes: list[str] = []
    for row in rows:
        role = None
        if (row["kind"], row["name"]) not in existing:
            role = data.add(
                Role(kind=row["kind"], name=row["name"], description=row.get("description", ""))
            )
            db.session.flush()
        elif row.get("permissions"):
            role = data.first(Role, Role.kind == row["kind"], Role.name == row["name"])
            if permissions.permissions_of_roles(tenant, [role])[role.id]:
                role = None  # an existing role keeps the permissions it has
        if role is not None and row.get("permissions"):
            _with_permissions(
                tenant,
                notes,
                f"role {row['name']}",
                lambda role=role, row=row: permissions.set_role_permissions(
                    tenant, role, row["permissions"]
                ),
            )
    return notes


def _organizations(tenant: Tenant, rows: list) -> list[str]:
    data = scope(tenant)
    existing = {o.slug for o in data.all(Organization)}
    for row in rows:
        if row["slug"] in existing:
            continue
        org = Organization(name=row["name"], slug=row["slug"], domains=row.get("domains", []))
        if _free(Organization, row.get("id")):
            org.id = row["id"]
        data.add(org)
    return []


def _providers(tenant: Tenant, rows: list) -> list[str]:
    data = scope(tenant)
    existing = {(p.kind, p.name) for p in data.all(UpstreamProvider)}
    notes = []
    for row in rows:
        if (row["kind"], row["name"]) in existing:
            continue
        provider = UpstreamProvider(
            kind=row["kind"],
            name=row["name"],
            discovery_url=row.get("discovery_url"),
            client_id=row["client_id"],
            scopes=row.get("scopes", []),
        )
        if _free(UpstreamProvider, row.get("id")):
            provider.id = row["id"]
        data.add(provider)
        notes.append(f"provider {row['name']}: set its client secret again")
    return notes


def _clients(tenant: Tenant, rows: list) -> list[str]:
    data = scope(tenant)
    notes = []
    for row in rows:
        client_id = row.get("client_id")
        if data.get(Client, client_id) is not None:
            continue
        if not _free(Client, client_id):
            notes.append(f"client {client_id}: the id is taken on this instance, skipped")
            continue
        client = Client(**{f: row[f] for f in CLIENT_FIELDS if f in row})
        client.id = client_id
        data.add(client)
        if row.get("resource_grants"):
            db.session.flush()
            _with_permissions(
                tenant,
                notes,
                f"client {client_id}",
                lambda client=client, row=row: permissions.set_client_grants(
                    tenant, client, row["resource_grants"]
                ),
            )
    return notes


def _signing_keys(tenant: Tenant, rows: list) -> list[str]:
    data = scope(tenant)
    if data.count(SigningKey):
        return ["signing keys: the tenant already has keys, the exported ones were skipped"]
    for row in rows:
        pem = row["private_key_pem"].encode()
        serialization.load_pem_private_key(pem, password=None)  # refuse garbage early
        if not _free(SigningKey, row.get("id")):
            continue
        key = SigningKey(
            alg=row["alg"],
            status=row["status"],
            private_key_encrypted=crypto.encrypt(pem),
            public_jwk=row["public_jwk"],
            activated_at=_time(row.get("activated_at")),
            retire_after=_time(row.get("retire_after")),
        )
        key.id = row["id"]
        data.add(key)
    return []
