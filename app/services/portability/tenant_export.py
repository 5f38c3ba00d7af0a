"""A tenant as one JSON document, written piece by piece (users in batches).

Contents: settings, API resources, roles (with their API permissions), organizations,
upstream providers (client secrets omitted: re-enter them in the target), clients (secret
digests, so existing secrets keep working; resource grants), users (argon2id or imported
hashes, tenant roles, memberships, linked identities) and, only when asked, signing keys
with their private parts in PEM (treat such a file like the keys themselves). ``users``
is the last key, so an importer can stream it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator

from sqlalchemy import select

from app.extensions import db
from app.models import Client
from app.models import LinkedIdentity
from app.models import Membership
from app.models import MembershipRole
from app.models import Organization
from app.models import Resource
from app.models import Role
from app.models import SigningKey
from app.models import Tenant
from app.models import UpstreamProvider
from app.models import User
from app.models import UserRole
from app.models.base import utcnow
from app.security import crypto
from app.services import audit
from app.services import permissions
from app.services.settings import get_settings
from app.tenancy import scope

FORMAT_VERSION = 1
BATCH = 500
CLIENT_FIELDS = (
    "client_name",
    "secret_digest",
    "redirect_uris",
    "post_logout_redirect_uris",
    "grant_types",
    "response_types",
    "token_endpoint_auth_method",
    "scope",
    "id_token_signed_response_alg",
    "first_party",
    "require_pushed_authorization_requests",
    "dpop_bound_access_tokens",
    "roles",
    "disabled",
    "backchannel_logout_uri",
    "backchannel_logout_session_required",
    "jwks",
    "jwks_uri",
)


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _dump(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _sections(tenant: Tenant, with_signing_keys: bool) -> list[tuple[str, object]]:
    data = scope(tenant)
    roles = data.all(Role, order_by=Role.id)
    held = permissions.permissions_of_roles(tenant, roles)
    clients = data.all(Client, order_by=Client.id)
    grants = permissions.client_grants(tenant, [c.id for c in clients])
    sections: list[tuple[str, object]] = [
        ("gatehouse_export", FORMAT_VERSION),
        ("exported_at", _iso(utcnow())),
        ("tenant", {"id": tenant.id, "slug": tenant.slug, "name": tenant.name}),
        ("settings", get_settings(tenant)),
        (
            "resources",
            [
                {
                    "identifier": r.identifier,
                    "name": r.name,
                    "permissions": list(r.permissions or []),
                    "access_token_ttl_seconds": r.access_token_ttl_seconds,
                }
                for r in data.all(Resource, order_by=Resource.id)
            ],
        ),
        (
            "roles",
            [
                {
                    "kind": r.kind,
                    "name": r.name,
                    "description": r.description,
                    "permissions": held[r.id],
                }
                for r in roles
            ],
        ),
        (
            "organizations",
            [
                {"id": o.id, "slug": o.slug, "name": o.name, "domains": list(o.domains or [])}
                for o in data.all(Organization, order_by=Organization.id)
            ],
        ),
        (
            "providers",
            [
                {
                    "id": p.id,
                    "kind": p.kind,
                    "name": p.name,
                    "discovery_url": p.discovery_url,
                    "client_id": p.client_id,
                    "scopes": list(p.scopes or []),
                }
                for p in data.all(UpstreamProvider, order_by=UpstreamProvider.id)
            ],
        ),
        (
            "clients",
            [
                {
                    "client_id": c.id,
                    **{f: getattr(c, f) for f in CLIENT_FIELDS},
                    "resource_grants": grants[c.id],
                }
                for c in clients
            ],
        ),
    ]
    if with_signing_keys:
        sections.append(
            (
                "signing_keys",
                [
                    {
                        "id": k.id,
                        "alg": k.alg,
                        "status": k.status,
                        "public_jwk": k.public_jwk,
                        "private_key_pem": crypto.decrypt(k.private_key_encrypted).decode(),
                        "activated_at": _iso(k.activated_at),
                        "retire_after": _iso(k.retire_after),
                    }
                    for k in data.all(SigningKey, order_by=SigningKey.id)
                    if k.status != "retired"
                ],
            )
        )
    return sections


def _user_batches(tenant: Tenant) -> Iterator[list[dict]]:
    data = scope(tenant)
    role_names = {r.id: r.name for r in data.all(Role)}
    org_slugs = {o.id: o.slug for o in data.all(Organization)}
    provider_names = {p.id: p.name for p in data.all(UpstreamProvider)}
    after = ""
    while True:
        users = list(
            db.session.scalars(data.select(User, User.id > after).order_by(User.id).limit(BATCH))
        )
        if not users:
            return
        ids = [u.id for u in users]
        roles = defaultdict(list)
        for row in data.all(UserRole, UserRole.user_id.in_(ids)):
            roles[row.user_id].append(role_names[row.role_id])
        memberships = defaultdict(list)
        rows = db.session.execute(
            select(Membership.user_id, Membership.org_id, MembershipRole.role_id)
            .outerjoin(MembershipRole, MembershipRole.membership_id == Membership.id)
            .where(Membership.tenant_id == tenant.id, Membership.user_id.in_(ids))
        )
        grouped = defaultdict(list)
        for user_id, org_id, role_id in rows:
            grouped[(user_id, org_id)].extend([role_names[role_id]] if role_id else [])
        for (user_id, org_id), names in grouped.items():
            memberships[user_id].append({"org": org_slugs[org_id], "roles": sorted(names)})
        identities = defaultdict(list)
        for row in data.all(LinkedIdentity, LinkedIdentity.user_id.in_(ids)):
            identities[row.user_id].append(
                {
                    "provider": provider_names[row.provider_id],
                    "subject": row.subject,
                    "email": row.email,
                }
            )
        yield [
            {
                "id": u.id,
                "email": u.email,
                "name": u.name,
                "email_verified": u.email_verified,
                "status": u.status,
                "external_id": u.external_id,
                "metadata": u.user_metadata or {},
                "password_hash": u.password_hash,
                "roles": sorted(roles[u.id]),
                "organizations": sorted(memberships[u.id], key=lambda m: m["org"]),
                "identities": identities[u.id],
                "created_at": _iso(u.created_at),
            }
            for u in users
        ]
        after = ids[-1]
        db.session.expunge_all()


def export_tenant(tenant: Tenant, *, with_signing_keys: bool = False) -> Iterator[str]:
    """The export as chunks of JSON text (``users`` last, streamed in batches); the
    export is audited now, the text is produced as the caller reads it."""
    audit.record(
        tenant,
        "tenant.exported",
        target_type="tenant",
        target_id=tenant.id,
        signing_keys=with_signing_keys,
    )
    head = _sections(tenant, with_signing_keys)
    db.session.flush()
    return _chunks(tenant.id, head)


def _chunks(tenant_id: str, head: list[tuple[str, object]]) -> Iterator[str]:
    yield "{"
    for key, value in head:
        yield f"{_dump(key)}:{_dump(value)},\n"
    yield '"users":['
    first = True
    for batch in _user_batches(db.session.get(Tenant, tenant_id)):
        for user in batch:
            yield ("" if first else ",\n") + _dump(user)
            first = False
    yield "]}\n"
