"""Bearer tokens of one organization's SCIM endpoint (DESIGN §3 ``SCIM token``).

The token is shown once at creation; only its SHA-256 digest is stored. A token reaches
exactly one organization of one tenant.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import Organization
from app.models import ScimToken
from app.models import Tenant
from app.models.base import utcnow
from app.security.tokens import digest
from app.security.tokens import new_token
from app.services import audit
from app.services.errors import NotFound
from app.services.errors import ValidationFailed
from app.tenancy import scope

PREFIX = "gh_scim_"
TOUCH_INTERVAL = timedelta(minutes=1)


def create_token(tenant: Tenant, org: Organization, name) -> tuple[ScimToken, str]:
    """A new token for ``org``; returns the row and the token (its only copy)."""
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise ValidationFailed({"name": "is required (at most 200 characters)"})
    token = PREFIX + new_token()
    row = scope(tenant).add(ScimToken(org_id=org.id, name=name.strip(), token_digest=digest(token)))
    db.session.flush()
    audit.record(
        tenant, "scim_token.created", target_type="scim_token", target_id=row.id, org_id=org.id
    )
    return row, token


def list_tokens(tenant: Tenant, org: Organization) -> list[ScimToken]:
    return scope(tenant).all(ScimToken, ScimToken.org_id == org.id, order_by=ScimToken.id)


def revoke_token(tenant: Tenant, org: Organization, token_id: str) -> None:
    row = scope(tenant).first(ScimToken, ScimToken.id == token_id, ScimToken.org_id == org.id)
    if row is None:
        raise NotFound("No such SCIM token.")
    audit.record(
        tenant, "scim_token.revoked", target_type="scim_token", target_id=row.id, org_id=org.id
    )
    db.session.delete(row)
    db.session.flush()


def authenticate(raw: str | None) -> ScimToken | None:
    """The token row for a presented Bearer token (any tenant: the token names it)."""
    if not raw or not raw.startswith(PREFIX) or len(raw) > 200:
        return None
    row = db.session.scalar(select(ScimToken).where(ScimToken.token_digest == digest(raw)))
    if row is not None:
        now = utcnow()
        if row.last_used_at is None or now - row.last_used_at > TOUCH_INTERVAL:
            row.last_used_at = now
    return row


def token_to_dict(row: ScimToken) -> dict:
    return {
        "id": row.id,
        "org_id": row.org_id,
        "name": row.name,
        "created_at": row.created_at.isoformat(),
        "last_used_at": row.last_used_at.isoformat() if row.last_used_at else None,
    }
