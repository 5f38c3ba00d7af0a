"""Authorization codes and grants (refresh-token families): issue, redeem, rotate, revoke.

* A code lives ``CODE_TTL`` (about 60 s), is bound to its client and redirect URI and is
  redeemed once (an atomic ``used_at`` update); presenting it again revokes the grant it
  produced (RFC 6749 §4.1.2, RFC 9700 §4.12).
* A grant is one authorization; its refresh tokens rotate on every use. Presenting a
  rotated token revokes the whole family (RFC 9700 §4.14.2). Each refresh token has an
  idle expiry (``refresh_token_idle_days``) and the grant an absolute one
  (``refresh_token_ttl_days``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import bindparam
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import aliased

from app.extensions import db
from app.models import AuthorizationCode
from app.models import Client
from app.models import Grant
from app.models import Membership
from app.models import MembershipRole
from app.models import RefreshToken
from app.models import Role
from app.models import Tenant
from app.models import User
from app.models import UserRole
from app.models.base import new_id
from app.models.base import utcnow
from app.security.tokens import digest
from app.security.tokens import new_token
from app.services import audit
from app.services.settings import get_settings
from app.tenancy import scope

CODE_TTL = timedelta(seconds=60)


def _claim_once(model, row_id: str) -> bool:
    """Mark a code/refresh token used; False when someone already did (replay or race)."""
    result = db.session.execute(
        update(model)
        .where(model.id == row_id, model.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return (result.rowcount or 0) == 1


# --- authorization codes ----------------------------------------------------------------


def save_code(tenant: Tenant, code: str, **values) -> AuthorizationCode:
    """Store a new code (by digest) with its binding and context."""
    row = AuthorizationCode(code_digest=digest(code), expires_at=utcnow() + CODE_TTL, **values)
    scope(tenant).add(row)
    db.session.flush()
    return row


def redeem_code(tenant: Tenant, code: str, client: Client) -> AuthorizationCode | None:
    """The code row if this client may redeem it now; a replay revokes its grant."""
    if not code or len(code) > 200:
        return None
    row = scope(tenant).first(AuthorizationCode, AuthorizationCode.code_digest == digest(code))
    if row is None or row.client_id != client.id:
        return None
    if row.used_at is not None or not _claim_once(AuthorizationCode, row.id):
        if row.grant_id:
            revoke_grant(tenant, row.grant_id, reason="code_replayed")
        return None
    if row.expires_at <= utcnow():
        return None
    return row


# --- grants and refresh tokens ----------------------------------------------------------


def start_grant(tenant: Tenant, client: Client, **values) -> Grant:
    """A new grant (refresh family) for a client, ending at the absolute expiry."""
    days = get_settings(tenant)["refresh_token_ttl_days"]
    grant = Grant(client_id=client.id, expires_at=utcnow() + timedelta(days=days), **values)
    scope(tenant).add(grant)
    db.session.flush()
    return grant


def issue_refresh_token(tenant: Tenant, grant: Grant) -> str:
    """A new refresh token in the family (idle expiry, capped by the grant's expiry)."""
    days = get_settings(tenant)["refresh_token_idle_days"]
    token = "rt_" + new_token()
    expires = min(utcnow() + timedelta(days=days), grant.expires_at)
    # A Core INSERT in the request's transaction: nothing reads the new row back, so no
    # ORM object to build, flush and track (a fifth of a refresh's CPU in the profile).
    db.session.execute(
        _INSERT_REFRESH,
        {
            "id": new_id("rft"),
            "tenant_id": tenant.id,
            "grant_id": grant.id,
            "token_digest": digest(token),
            "expires_at": expires,
            "created_at": utcnow(),
        },
    )
    return token


_INSERT_REFRESH = insert(RefreshToken.__table__)


def find_refresh_token(tenant: Tenant, token: str | None) -> RefreshToken | None:
    if not token or len(token) > 200:
        return None
    return scope(tenant).first(RefreshToken, RefreshToken.token_digest == digest(token))


@dataclass
class PresentedRefresh:
    """A presented refresh token with everything a refresh grant needs, read at once."""

    row: RefreshToken
    grant: Grant
    user: User | None
    roles: list[str]  # the user's tenant roles and roles in the grant's organization
    tenant_roles: list[str]
    org_roles: list[str]


def _role_names(tenant, *joins, where):
    """A correlated subquery: the role names reached through ``joins`` (every table
    filtered by ``tenant``), comma-separated (a comma is never in a role name,
    ROLE_NAME_RE), NULL for none."""
    stmt = select(func.aggregate_strings(Role.name, ",")).select_from(joins[0][0])
    for target, on in joins[1:]:
        stmt = stmt.join(target, on)
    return stmt.where(*where).scalar_subquery()


def _presented_refresh(tenant):
    """The read behind :func:`find_presented_refresh`; every table filtered by ``tenant``.

    The token is found by its digest alone (a unique index) in a materialised CTE and
    then checked against the tenant; it drives a three-table join, and the user's tenant
    and organization roles come from two correlated subqueries. (A flat eight-table join
    on ``tenant_id = :t AND token_digest = :d`` made PostgreSQL, with statistics taken
    while the token tables were small, walk the tenant's tokens through its
    ``tenant_id`` index once per grant of the tenant: a refresh got slower with every
    refresh of a one-tenant database.)"""
    presented = (
        select(RefreshToken)
        .where(RefreshToken.token_digest == bindparam("digest"))
        .cte("presented")
        .prefix_with("MATERIALIZED")
    )
    token = aliased(RefreshToken, presented)
    tenant_roles = _role_names(
        tenant,
        (UserRole, None),
        (Role, (Role.id == UserRole.role_id) & (Role.tenant_id == tenant)),
        where=(UserRole.user_id == Grant.user_id, UserRole.tenant_id == tenant),
    )
    org_roles = _role_names(
        tenant,
        (Membership, None),
        (
            MembershipRole,
            (MembershipRole.membership_id == Membership.id) & (MembershipRole.tenant_id == tenant),
        ),
        (Role, (Role.id == MembershipRole.role_id) & (Role.tenant_id == tenant)),
        where=(
            Membership.org_id == Grant.org_id,
            Membership.user_id == Grant.user_id,
            Membership.tenant_id == tenant,
        ),
    )
    return (
        select(token, Grant, User, tenant_roles, org_roles)
        .select_from(token)
        .join(Grant, (Grant.id == token.grant_id) & (Grant.tenant_id == tenant))
        .outerjoin(User, (User.id == Grant.user_id) & (User.tenant_id == tenant))
        .where(token.tenant_id == tenant)
    )


def find_presented_refresh(tenant: Tenant, token: str | None) -> PresentedRefresh | None:
    """One query: the refresh token, its grant, the grant's user and the user's roles
    (tenant roles, plus roles in the grant's active organization, DESIGN §4)."""
    if not token or len(token) > 200:
        return None
    found = (
        scope(tenant)
        .execute_prepared("refresh.presented", _presented_refresh, digest=digest(token))
        .first()
    )
    if found is None:
        return None
    row, grant, user, tenant_names, org_names = found
    tenant_roles = sorted(set(tenant_names.split(","))) if tenant_names else []
    org_roles = sorted(set(org_names.split(","))) if org_names else []
    return PresentedRefresh(
        row=row,
        grant=grant,
        user=user,
        roles=sorted(set(tenant_roles) | set(org_roles)),
        tenant_roles=tenant_roles,
        org_roles=org_roles,
    )


def claim_refresh_token(
    tenant: Tenant, presented: PresentedRefresh, client: Client
) -> Grant | None:
    """Consume the presented refresh token (found by :func:`find_presented_refresh`): its
    grant, or None. The claim is the atomic ``UPDATE ... WHERE used_at IS NULL``; a token
    already used revokes its family (RFC 9700 §4.14.2)."""
    row, grant = presented.row, presented.grant
    if grant.client_id != client.id:
        return None
    if row.used_at is not None or not _claim_once(RefreshToken, row.id):
        revoke_grant(tenant, grant.id, reason="refresh_token_reused")
        return None
    now = utcnow()
    if grant.revoked_at is not None or row.expires_at <= now or grant.expires_at <= now:
        return None
    return grant


def is_refresh_usable(tenant: Tenant, row: RefreshToken, grant: Grant | None) -> bool:
    now = utcnow()
    return (
        grant is not None
        and grant.revoked_at is None
        and row.used_at is None
        and row.expires_at > now
        and grant.expires_at > now
    )


def use_refresh_token(tenant: Tenant, token: str, client: Client) -> Grant | None:
    """Consume a refresh token of this client: its grant, or None. Reuse revokes the family."""
    presented = find_presented_refresh(tenant, token)
    return claim_refresh_token(tenant, presented, client) if presented is not None else None


def revoke_grant(tenant: Tenant, grant_id: str, *, reason: str) -> bool:
    """Revoke a family: its refresh tokens and the access tokens whose jti names it."""
    grant = scope(tenant).get(Grant, grant_id)
    if grant is None or grant.revoked_at is not None:
        return False
    grant.revoked_at = utcnow()
    db.session.flush()
    audit.record(tenant, "grant.revoked", target_type="grant", target_id=grant.id, reason=reason)
    return True


def revoke_session_grants(tenant: Tenant, session_id: str, *, reason: str) -> int:
    """Revoke every live grant that hangs off a browser session (logout)."""
    grants = scope(tenant).all(Grant, Grant.session_id == session_id, Grant.revoked_at.is_(None))
    for grant in grants:
        revoke_grant(tenant, grant.id, reason=reason)
    return len(grants)
