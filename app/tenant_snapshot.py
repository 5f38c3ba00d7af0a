"""One immutable, per-worker picture of a tenant's configuration: what a protocol request
needs, built once and shared read-only by every request of the worker.

A snapshot holds the tenant's columns, its merged settings (computed once), its issuer
and version; what is derived from it on first use — the signing keys it publishes, its
clients with their secret digests, the discovery and JWKS documents as bytes with their
ETags, the CORS origins — is memoised on the snapshot, so it lives and dies with it.
It is never attached to a SQLAlchemy session. Views that change configuration load rows
and write through the services; the write bumps ``tenants.config_version`` and every
worker drops its snapshot (app/tenant_cache.py).
"""

from __future__ import annotations

import copy
import threading
import time
from dataclasses import dataclass
from dataclasses import field
from types import MappingProxyType
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import SYSTEM_SLUG
from app.models import CustomDomain
from app.models import Tenant

_TENANT_COLUMNS = tuple(Tenant.__table__.columns)
_MAPPED = frozenset(Tenant.__mapper__.columns.keys())  # not the config version columns
_DOMAIN_COLUMNS = tuple(
    column.label(f"domain_{column.key}") for column in CustomDomain.__table__.columns
)


@dataclass(frozen=True, eq=False)
class TenantSnapshot:
    """A tenant as protocol requests see it; quacks like a read-only ``Tenant``."""

    id: str
    slug: str
    name: str
    status: str
    settings: MappingProxyType  # as stored
    merged_settings: MappingProxyType  # with every default filled in
    domains: tuple[str, ...]
    version: int
    issuer: str
    columns: MappingProxyType  # every column, to materialise a row for browser views
    domain_rows: tuple = ()  # the custom domains' columns, likewise
    quotas: MappingProxyType | None = None  # app/quotas: None or absent key = unlimited
    built_at: float = field(default_factory=time.monotonic)
    memo: dict = field(default_factory=dict, repr=False)  # derived, immutable values
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def is_system(self) -> bool:
        return self.slug == SYSTEM_SLUG

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    @property
    def custom_domain(self) -> str | None:
        return self.domains[0] if self.domains else None

    def derived(self, name: str, build):
        """``build()`` once per snapshot (a race may build twice; both results are equal)."""
        try:
            return self.memo[name]
        except KeyError:
            value = build()
            self.memo[name] = value
            return value


@dataclass(frozen=True)
class ClientConfig:
    """A client as the token, introspection and revocation endpoints see it."""

    id: str
    client_name: str
    secret_digest: str | None
    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...]
    grant_types: tuple[str, ...]
    response_types: tuple[str, ...]
    token_endpoint_auth_method: str
    scope: str
    id_token_signed_response_alg: str
    first_party: bool
    roles: tuple[str, ...]
    tenant_id: str
    require_pushed_authorization_requests: bool = False
    dpop_bound_access_tokens: bool = False
    # private_key_jwt / request objects: the client's JWK Set or its URL (not compared:
    # the set is a plain dict, read only).
    jwks: Any = field(default=None, compare=False)
    jwks_uri: str | None = None

    @property
    def client_id(self) -> str:
        return self.id

    @property
    def is_public(self) -> bool:
        return self.token_endpoint_auth_method == "none"

    disabled = False  # disabled clients are never in a snapshot

    @classmethod
    def of(cls, row) -> ClientConfig:
        return cls(
            id=row.id,
            client_name=row.client_name,
            secret_digest=row.secret_digest,
            redirect_uris=tuple(row.redirect_uris or ()),
            post_logout_redirect_uris=tuple(row.post_logout_redirect_uris or ()),
            grant_types=tuple(row.grant_types or ()),
            response_types=tuple(row.response_types or ("code",)),
            token_endpoint_auth_method=row.token_endpoint_auth_method,
            scope=row.scope or "",
            id_token_signed_response_alg=row.id_token_signed_response_alg or "RS256",
            first_party=bool(row.first_party),
            roles=tuple(row.roles or ()),
            tenant_id=row.tenant_id,
            require_pushed_authorization_requests=bool(row.require_pushed_authorization_requests),
            dpop_bound_access_tokens=bool(row.dpop_bound_access_tokens),
            jwks=row.jwks or None,
            jwks_uri=row.jwks_uri or None,
        )


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(v) for v in value)
    return value


def _build(rows) -> TenantSnapshot | None:
    from app.services.settings import merge_settings
    from app.tenancy import tenant_origin

    rows = list(rows)
    if not rows:
        return None
    first = rows[0]
    columns = {column.key: first._mapping[column] for column in _TENANT_COLUMNS}
    domain_rows = tuple(
        MappingProxyType(
            {c.key: row._mapping[f"domain_{c.key}"] for c in CustomDomain.__table__.columns}
        )
        for row in rows
        if row._mapping["domain_id"] is not None
    )
    domains = tuple(d["host"] for d in domain_rows)
    stored = columns.get("settings") or {}
    snapshot = TenantSnapshot(
        id=columns["id"],
        slug=columns["slug"],
        name=columns["name"],
        status=columns["status"],
        settings=_freeze(stored),
        merged_settings=_freeze(merge_settings(stored)),
        domains=domains,
        version=int(columns.get("config_version") or 0),
        issuer="",
        columns=MappingProxyType(columns),
        domain_rows=domain_rows,
        quotas=_freeze(columns["quotas"]) if columns.get("quotas") else None,
    )
    # The issuer needs is_system/custom_domain: computed from the snapshot itself.
    object.__setattr__(snapshot, "issuer", tenant_origin(snapshot))
    return snapshot


def _select():
    # Only verified custom domains route requests and make the issuer (#20): a pending
    # one is not part of the snapshot at all.
    return (
        select(*_TENANT_COLUMNS, *_DOMAIN_COLUMNS)
        .outerjoin(
            CustomDomain,
            (CustomDomain.tenant_id == Tenant.id) & CustomDomain.verified_at.is_not(None),
        )
        .order_by(CustomDomain.id)
    )


def load_by_slug(slug: str) -> TenantSnapshot | None:
    """One query: the tenant with this slug and its custom domains."""
    return _build(db.session.execute(_select().where(Tenant.slug == slug)))


def load_by_domain(hosts: set[str]) -> TenantSnapshot | None:
    """One query: the tenant that registered one of ``hosts`` as its custom domain."""
    owner = (
        select(CustomDomain.tenant_id)
        .where(CustomDomain.host.in_(hosts), CustomDomain.verified_at.is_not(None))
        .limit(1)
    )
    return _build(db.session.execute(_select().where(Tenant.id == owner.scalar_subquery())))


def load_by_id(tenant_id: str) -> TenantSnapshot | None:
    return _build(db.session.execute(_select().where(Tenant.id == tenant_id)))


def materialize(snapshot: TenantSnapshot) -> Tenant:
    """A ``Tenant`` row bound to the request's session, from the snapshot, without SQL
    (attached as loaded, or ``Session.merge(load=False)`` when one of its domain rows is
    in the session already): for browser views, which may change it."""
    from sqlalchemy.orm import make_transient_to_detached
    from sqlalchemy.orm.attributes import set_committed_value

    existing = db.session.identity_map.get(db.session.identity_key(Tenant, snapshot.id))
    if existing is not None:
        return existing
    columns = {k: v for k, v in snapshot.columns.items() if k in _MAPPED}
    tenant = Tenant(**{**columns, "settings": copy.deepcopy(columns["settings"])})
    make_transient_to_detached(tenant)
    domains = []
    for row in snapshot.domain_rows:
        domain = CustomDomain(**row)
        make_transient_to_detached(domain)
        domains.append(domain)
    set_committed_value(tenant, "domains", domains)
    identity_map = db.session.identity_map
    if any(identity_map.get(db.session.identity_key(CustomDomain, d.id)) for d in domains):
        return db.session.merge(tenant, load=False)  # a domain row is loaded already
    # Attached as it is (built for this request alone): as merge(load=False) would
    # leave it, loaded and clean, without copying it into a second instance.
    db.session.add(tenant)
    return tenant
