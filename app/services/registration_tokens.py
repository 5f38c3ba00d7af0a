"""Initial access tokens (RFC 7591 §3): Bearer tokens a tenant admin mints so that
software may register OAuth clients at ``/oauth2/register`` while the tenant's
``dynamic_registration`` is ``initial_access_token``.

A token is shown once at creation and stored only as its SHA-256 digest (a 256-bit
random secret: never argon2). It belongs to one tenant, may expire (``expires_in``
seconds) and may be limited to ``max_uses`` registrations; a use is claimed with one
conditional UPDATE, so two concurrent registrations cannot both take the last one.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import or_
from sqlalchemy import update

from app import rls
from app.extensions import db
from app.models import InitialAccessToken
from app.models import Tenant
from app.models.base import utcnow
from app.security.tokens import digest
from app.security.tokens import new_token
from app.services import audit
from app.services.errors import NotFound
from app.services.errors import ValidationFailed
from app.tenancy import scope

PREFIX = "gh_iat_"
MAX_EXPIRES_IN = 365 * 86400
MAX_USES = 1_000_000


def _positive_int(value, field: str, high: int, errors: dict):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        errors[field] = f"must be a whole number from 1 to {high} (or null: no limit)"
    return value


def create_token(
    tenant: Tenant, name, *, expires_in=None, max_uses=None
) -> tuple[InitialAccessToken, str]:
    """A new initial access token; returns the row and the token (its only copy)."""
    errors: dict[str, str] = {}
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        errors["name"] = "is required (at most 200 characters)"
    _positive_int(expires_in, "expires_in", MAX_EXPIRES_IN, errors)
    _positive_int(max_uses, "max_uses", MAX_USES, errors)
    if errors:
        raise ValidationFailed(errors)
    token = PREFIX + new_token()
    row = scope(tenant).add(
        InitialAccessToken(
            name=name.strip(),
            token_digest=digest(token),
            expires_at=utcnow() + timedelta(seconds=expires_in) if expires_in else None,
            max_uses=max_uses,
            uses=0,
        )
    )
    db.session.flush()
    audit.record(
        tenant,
        "registration_token.created",
        target_type="registration_token",
        target_id=row.id,
        expires_in=expires_in,
        max_uses=max_uses,
    )
    return row, token


def list_tokens(tenant: Tenant) -> list[InitialAccessToken]:
    return scope(tenant).all(InitialAccessToken, order_by=InitialAccessToken.id)


def revoke_token(tenant: Tenant, token_id: str) -> InitialAccessToken:
    """Delete a token: it registers nothing more (clients it registered stay)."""
    row = scope(tenant).get(InitialAccessToken, token_id)
    if row is None:
        raise NotFound("No such initial access token.")
    audit.record(
        tenant, "registration_token.revoked", target_type="registration_token", target_id=row.id
    )
    db.session.delete(row)
    db.session.flush()
    return row


def status_of(row: InitialAccessToken, now=None) -> str:
    """``active``, ``expired`` or ``used`` (every allowed use taken)."""
    now = now or utcnow()
    if row.expires_at is not None and row.expires_at <= now:
        return "expired"
    if row.max_uses is not None and row.uses >= row.max_uses:
        return "used"
    return "active"


def find_usable(tenant: Tenant, raw: str | None) -> InitialAccessToken | None:
    """This tenant's token for a presented Bearer value, if it is still usable (another
    tenant's token is None here: the lookup is scoped)."""
    if not raw or not raw.startswith(PREFIX) or len(raw) > 200:
        return None
    row = scope(tenant).first(InitialAccessToken, InitialAccessToken.token_digest == digest(raw))
    if row is None or status_of(row) != "active":
        return None
    return row


def claim_use(tenant: Tenant, row: InitialAccessToken) -> bool:
    """Take one use of ``row`` atomically; False when none is left (or it expired)."""
    now = utcnow()
    table = InitialAccessToken
    rls.use_tenant(tenant.id)  # TenantScope has no UPDATE helper: its filter is written here
    result = db.session.execute(
        update(table)
        .where(
            table.tenant_id == tenant.id,
            table.id == row.id,
            or_(table.max_uses.is_(None), table.uses < table.max_uses),
            or_(table.expires_at.is_(None), table.expires_at > now),
        )
        .values(uses=table.uses + 1, last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def token_to_dict(row: InitialAccessToken) -> dict:
    return {
        "id": row.id,
        "name": row.name,
        "created_at": row.created_at.isoformat(),
        "expires_at": row.expires_at.isoformat() if row.expires_at else None,
        "max_uses": row.max_uses,
        "uses": row.uses,
        "last_used_at": row.last_used_at.isoformat() if row.last_used_at else None,
        "status": status_of(row),
    }
