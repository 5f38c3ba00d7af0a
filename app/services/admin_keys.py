"""Admin API keys: shown once, stored as SHA-256 digests, revocable."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import AdminApiKey
from app.models import Tenant
from app.models.base import utcnow
from app.security.tokens import digest
from app.security.tokens import new_token
from app.services import audit
from app.services.errors import NotFound
from app.services.tenants import system_tenant

KEY_PREFIX = "gh_admin_"


def create_admin_key(tenant: Tenant | None, name: str = "", created_by: str | None = None):
    """A new key for one tenant, or for the whole instance when ``tenant`` is None.

    Returns ``(row, raw_key)``; the raw key is never stored.
    """
    raw = KEY_PREFIX + new_token(32)
    key = AdminApiKey(
        tenant_id=tenant.id if tenant else None,
        name=(name or "").strip()[:200],
        key_digest=digest(raw),
        prefix=raw[: len(KEY_PREFIX) + 6],
        created_by=created_by,
    )
    db.session.add(key)
    db.session.flush()
    audit.record(
        tenant or system_tenant(),
        "admin_key.created",
        target_type="admin_key",
        target_id=key.id,
        scope="tenant" if tenant else "instance",
    )
    return key, raw


def authenticate_admin_key(raw: str) -> AdminApiKey | None:
    """The live key for a presented bearer value, with its last-used time updated."""
    if not raw or not raw.startswith(KEY_PREFIX) or len(raw) > 200:
        return None
    key = db.session.scalar(select(AdminApiKey).where(AdminApiKey.key_digest == digest(raw)))
    if key is None or key.revoked_at is not None:
        return None
    key.last_used_at = utcnow()
    return key


def list_admin_keys(tenant: Tenant | None) -> list[AdminApiKey]:
    stmt = select(AdminApiKey).order_by(AdminApiKey.created_at.desc())
    stmt = stmt.where(
        AdminApiKey.tenant_id == tenant.id if tenant else AdminApiKey.tenant_id.is_(None)
    )
    return list(db.session.scalars(stmt))


def revoke_admin_key(tenant: Tenant | None, key_id: str) -> AdminApiKey:
    key = db.session.get(AdminApiKey, key_id)
    if key is None or key.tenant_id != (tenant.id if tenant else None):
        raise NotFound("No such API key.")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        audit.record(
            tenant or system_tenant(),
            "admin_key.revoked",
            target_type="admin_key",
            target_id=key.id,
        )
    return key
