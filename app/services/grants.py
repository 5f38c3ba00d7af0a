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
from datetime import datetime
from datetime import timedelta

from sqlalchemy import bindparam
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import null
from sqlalchemy import select
from sqlalchemy import update

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
from app.tenancy import insert_row
from app.tenancy import scope
from app.tenancy import update_row

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


def save_code(tenant: Tenant, code: str, **values) -> str:
    """Store a new code (by digest) with its binding and context; its id.

    A Core INSERT in the request's transaction (built once per process): nothing reads
    the new row back in this request, so no ORM object to build, flush and track."""
    now = utcnow()
    row = {name: None for name in _CODE_OPTIONAL}
    row.update(values)
    row.pop("tenant_id", None)  # the scope's, never the caller's
    row.update(
        id=new_id("cod"),
        code_digest=digest(code),
        created_at=now,
        expires_at=now + CODE_TTL,
    )
    row["amr"] = list(row["amr"] or [])
    row["resources"] = list(row["resources"] or [])
    scope(tenant).execute_prepared("code.insert", _insert_code, **row)
    return row["id"]


# Columns a caller may leave out (the INSERT names every column, so its compiled form is
# the same for every code).
_CODE_OPTIONAL = (
    "session_id",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "org_id",
    "acr",
    "claims_request",
    "used_at",
    "grant_id",
    "amr",
    "resources",
    "dpop_jkt",
)


def _insert_code(tenant):
    """The code INSERT; its tenant is the scope's (``tenant``), whatever the caller says."""
    return insert_row(AuthorizationCode, tenant)


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


def issue_refresh_token(tenant: Tenant, grant: Grant, *, jkt: str | None = None) -> str:
    """A new refresh token in the family (idle expiry, capped by the grant's expiry);
    ``jkt``: the DPoP key it is bound to (RFC 9449 §5, public clients)."""
    token, successor = _successor(tenant, grant)
    # A Core INSERT in the request's transaction: nothing reads the new row back, so no
    # ORM object to build, flush and track (a fifth of a refresh's CPU in the profile).
    db.session.execute(
        _INSERT_REFRESH,
        {
            "id": successor["successor_id"],
            "tenant_id": tenant.id,
            "grant_id": grant.id,
            "token_digest": successor["successor_digest"],
            "expires_at": successor["successor_expires"],
            "created_at": utcnow(),
            "dpop_jkt": jkt,
        },
    )
    return token


def _successor(tenant: Tenant, grant) -> tuple[str, dict]:
    """A new refresh token of ``grant``'s family, and the ``successor_*`` values that
    write it (its id, digest, and idle expiry capped by the grant's expiry)."""
    token = "rt_" + new_token()
    days = get_settings(tenant)["refresh_token_idle_days"]
    return token, {
        "successor_id": new_id("rft"),
        "successor_digest": digest(token),
        "successor_expires": min(utcnow() + timedelta(days=days), grant.expires_at),
    }


def _insert_successor(tenant, grant_id):
    """``INSERT INTO refresh_tokens … SELECT`` the successor (the ``successor_*``
    parameters) for each ``grant_id`` the enclosing WITH yields: none, when it yields
    none (a claim that took nothing)."""
    tokens = RefreshToken.__table__
    successor = select(
        bindparam("successor_id", type_=tokens.c.id.type),
        tenant,
        grant_id,
        bindparam("successor_digest", type_=tokens.c.token_digest.type),
        bindparam("successor_expires", type_=tokens.c.expires_at.type),
        bindparam("now", type_=tokens.c.created_at.type),
        null(),
    )
    columns = ["id", "tenant_id", "grant_id", "token_digest", "expires_at", "created_at"]
    return insert(tokens).from_select([*columns, "dpop_jkt"], successor).returning(tokens.c.id)


_INSERT_REFRESH = insert(RefreshToken.__table__)


def find_refresh_token(tenant: Tenant, token: str | None) -> RefreshToken | None:
    if not token or len(token) > 200:
        return None
    return scope(tenant).first(RefreshToken, RefreshToken.token_digest == digest(token))


@dataclass(slots=True)
class TokenRow:
    """The columns of a presented refresh token that a refresh reads."""

    id: str
    grant_id: str
    expires_at: datetime
    used_at: datetime | None
    dpop_jkt: str | None  # RFC 9449 §5: the DPoP key the token is bound to


@dataclass(slots=True)
class GrantRow:
    """A grant's columns as plain values (no ORM entity to build and track on the hot
    path); ``org_id`` changes on an organization switch (:func:`switch_organization`)."""

    id: str
    client_id: str
    user_id: str | None
    session_id: str | None
    scope: str
    org_id: str | None
    auth_time: datetime | None
    amr: list
    acr: str | None
    claims_request: dict | None  # OIDC Core §5.5 (app/services/claims_request.py)
    expires_at: datetime
    revoked_at: datetime | None
    resources: list


@dataclass(slots=True)
class UserRow:
    """What a refresh needs of the user: the ID token's claims, custom claims, status."""

    id: str
    name: str
    email: str
    email_verified: bool
    created_at: datetime | None
    status: str
    user_metadata: dict

    @property
    def is_active(self) -> bool:
        return self.status == "active"


_TOKEN_FIELDS = tuple(TokenRow.__slots__)
_GRANT_FIELDS = tuple(GrantRow.__slots__)
_USER_FIELDS = tuple(UserRow.__slots__)
_USER_COLUMN = {"user_metadata": "metadata"}  # attribute → column name


@dataclass
class PresentedRefresh:
    """A presented refresh token with everything a refresh grant needs, read at once."""

    row: TokenRow
    grant: GrantRow
    user: UserRow | None
    roles: list[str]  # the user's tenant roles and roles in the grant's organization
    tenant_roles: list[str]
    org_roles: list[str]

    @property
    def is_live(self) -> bool:
        """Unused, unexpired, its grant unrevoked and unexpired (what a claim requires)."""
        now = utcnow()
        grant = self.grant
        return (
            self.row.used_at is None
            and grant.revoked_at is None
            and self.row.expires_at > now
            and grant.expires_at > now
        )


def _role_names(*joins, where):
    """A correlated subquery: the role names reached through ``joins`` (tables, each
    filtered by the tenant in its join condition or ``where``), comma-separated (a comma
    is never in a role name, ROLE_NAME_RE), NULL for none. Plain tables, not mapped
    classes: the whole statement stays Core (no ORM compilation or loading)."""
    roles = Role.__table__.c
    stmt = select(func.aggregate_strings(roles.name, ",")).select_from(joins[0][0])
    for target, on in joins[1:]:
        stmt = stmt.join(target, on)
    return stmt.where(*where).scalar_subquery()


def _roles_of(tenant, user_id, org_id):
    """Two correlated subqueries: the names of the user's tenant roles and of their roles
    in the organization (``user_id`` and ``org_id`` are columns of the outer statement)."""
    roles, user_roles = Role.__table__, UserRole.__table__
    memberships, membership_roles = Membership.__table__, MembershipRole.__table__
    tenant_roles = _role_names(
        (user_roles, None),
        (roles, (roles.c.id == user_roles.c.role_id) & (roles.c.tenant_id == tenant)),
        where=(user_roles.c.user_id == user_id, user_roles.c.tenant_id == tenant),
    )
    org_roles = _role_names(
        (memberships, None),
        (
            membership_roles,
            (membership_roles.c.membership_id == memberships.c.id)
            & (membership_roles.c.tenant_id == tenant),
        ),
        (roles, (roles.c.id == membership_roles.c.role_id) & (roles.c.tenant_id == tenant)),
        where=(
            memberships.c.org_id == org_id,
            memberships.c.user_id == user_id,
            memberships.c.tenant_id == tenant,
        ),
    )
    return tenant_roles, org_roles


def _presented_refresh(tenant):
    """The read behind :func:`find_presented_refresh`; every table filtered by ``tenant``.

    The token is found by its digest alone (a unique index) in a materialised CTE and
    then checked against the tenant; it drives a three-table join, and the user's tenant
    and organization roles come from two correlated subqueries. (A flat eight-table join
    on ``tenant_id = :t AND token_digest = :d`` made PostgreSQL, with statistics taken
    while the token tables were small, walk the tenant's tokens through its
    ``tenant_id`` index once per grant of the tenant: a refresh got slower with every
    refresh of a one-tenant database.) Plain columns, not entities: the rows come back
    as tuples (building and tracking three ORM entities was a fifth of a refresh)."""
    tokens = RefreshToken.__table__.c
    grants = Grant.__table__.c
    users = User.__table__.c
    presented = (
        select(tokens.tenant_id, *(tokens[name] for name in _TOKEN_FIELDS))
        .where(tokens.token_digest == bindparam("digest"))
        .cte("presented")
        .prefix_with("MATERIALIZED")
    )
    token = presented.c
    tenant_roles, org_roles = _roles_of(tenant, grants.user_id, grants.org_id)
    return (
        select(
            *(token[name] for name in _TOKEN_FIELDS),
            *(grants[name] for name in _GRANT_FIELDS),
            *(users[_USER_COLUMN.get(name, name)] for name in _USER_FIELDS),
            tenant_roles,
            org_roles,
        )
        .select_from(presented)
        .join(Grant.__table__, (grants.id == token.grant_id) & (grants.tenant_id == tenant))
        .outerjoin(User.__table__, (users.id == grants.user_id) & (users.tenant_id == tenant))
        .where(token.tenant_id == tenant)
    )


def find_presented_refresh(
    tenant: Tenant, token: str | None, *, outside_session: bool = False
) -> PresentedRefresh | None:
    """One query: the refresh token, its grant, the grant's user and the user's roles
    (tenant roles, plus roles in the grant's active organization, DESIGN §4).
    ``outside_session``: read on the thread's kept autocommit connection (the direct
    path, app/oauth/direct.py, whose rotation is one statement of its own), not in the
    request's transaction."""
    if not token or len(token) > 200:
        return None
    if outside_session:
        rows = scope(tenant).read_prepared(
            "refresh.presented", _presented_refresh, digest=digest(token)
        )
        found = rows[0] if rows else None
    else:
        found = (
            scope(tenant)
            .execute_prepared("refresh.presented", _presented_refresh, digest=digest(token))
            .first()
        )
    if found is None:
        return None
    t, g = len(_TOKEN_FIELDS), len(_TOKEN_FIELDS) + len(_GRANT_FIELDS)
    u = g + len(_USER_FIELDS)
    user = UserRow(*found[g:u]) if found[g] is not None else None
    tenant_names, org_names = found[u], found[u + 1]
    tenant_roles = sorted(set(tenant_names.split(","))) if tenant_names else []
    org_roles = sorted(set(org_names.split(","))) if org_names else []
    return PresentedRefresh(
        row=TokenRow(*found[:t]),
        grant=GrantRow(*found[t:g]),
        user=user,
        roles=sorted(set(tenant_roles) | set(org_roles)),
        tenant_roles=tenant_roles,
        org_roles=org_roles,
    )


def switch_organization(tenant: Tenant, grant: GrantRow, org_id: str) -> None:
    """The grant's active organization is now ``org_id`` (a refresh with
    ``organization``, after the membership was checked)."""
    if org_id == grant.org_id:
        return
    scope(tenant).execute_prepared(
        "refresh.switch_org",
        lambda t: update_row(Grant, t, "grant_id", org_id="new_org_id"),
        grant_id=grant.id,
        new_org_id=org_id,
    )
    grant.org_id = org_id


def _claim_refresh(tenant: Tenant, token_id: str) -> bool:
    """The atomic claim of a refresh token (a statement built once per process)."""
    tokens = RefreshToken.__table__.c
    result = scope(tenant).execute_prepared(
        "refresh.claim",
        lambda t: (
            update(RefreshToken.__table__)
            .where(
                tokens.tenant_id == t,
                tokens.id == bindparam("token_id"),
                tokens.used_at.is_(None),
            )
            .values(used_at=bindparam("now"))
        ),
        token_id=token_id,
        now=utcnow(),
    )
    return (result.rowcount or 0) == 1


def claim_refresh_token(
    tenant: Tenant, presented: PresentedRefresh, client: Client
) -> GrantRow | None:
    """Consume the presented refresh token (found by :func:`find_presented_refresh`): its
    grant, or None. The claim is the atomic ``UPDATE ... WHERE used_at IS NULL``; a token
    already used revokes its family (RFC 9700 §4.14.2)."""
    row, grant = presented.row, presented.grant
    if grant.client_id != client.id:
        return None
    if row.used_at is not None or not _claim_refresh(tenant, row.id):
        revoke_grant(tenant, grant.id, reason="refresh_token_reused")
        return None
    now = utcnow()
    if grant.revoked_at is not None or row.expires_at <= now or grant.expires_at <= now:
        return None
    return grant


def _rotation(tenant):
    """PostgreSQL: the claim of the presented token and the INSERT of its successor in
    ONE statement (a data-modifying WITH): the successor is written only when the claim
    took the token, and the statement commits on its own (autocommit), all or nothing.
    (No parameter is named after a column: SQLAlchemy would add it to the UPDATE's SET.)"""
    table = RefreshToken.__table__
    tokens = table.c
    claimed = (
        update(table)
        .where(
            tokens.tenant_id == tenant,
            tokens.id == bindparam("token_id"),
            tokens.used_at.is_(None),
        )
        .values(used_at=bindparam("now"))
        .returning(tokens.grant_id)
        .cte("claimed")
    )
    return _insert_successor(tenant, claimed.c.grant_id)


def rotate_refresh_token(tenant: Tenant, presented: PresentedRefresh) -> str | None:
    """The direct path's rotation of a live, unbound token (read outside the session by
    :func:`find_presented_refresh`): consume it (``... WHERE used_at IS NULL``) and issue
    its successor, both or neither; the new refresh token, or None when the claim was
    lost (the token was used meanwhile: its family is revoked, RFC 9700 §4.14.2).

    On PostgreSQL one statement (:func:`_rotation`) on the thread's kept connection, in
    autocommit: no transaction to open or commit. Elsewhere the claim and the INSERT in
    the request's transaction, committed with it."""
    row, grant = presented.row, presented.grant
    if db.engine.dialect.name != "postgresql":
        if not _claim_refresh(tenant, row.id):
            revoke_grant(tenant, grant.id, reason="refresh_token_reused")
            return None
        return issue_refresh_token(tenant, grant)
    token, successor = _successor(tenant, grant)
    rotated = scope(tenant).write_prepared(
        "refresh.rotate", _rotation, token_id=row.id, now=utcnow(), **successor
    )
    if len(rotated) != 1:
        revoke_grant(tenant, grant.id, reason="refresh_token_reused")
        return None
    return token


def is_refresh_usable(tenant: Tenant, row: RefreshToken, grant: Grant | None) -> bool:
    now = utcnow()
    return (
        grant is not None
        and grant.revoked_at is None
        and row.used_at is None
        and row.expires_at > now
        and grant.expires_at > now
    )


def use_refresh_token(tenant: Tenant, token: str, client: Client) -> GrantRow | None:
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


# --- the direct code exchange (app/oauth/direct.py) -------------------------------------


@dataclass(slots=True)
class CodeRow:
    """The columns of a presented authorization code that an exchange reads."""

    id: str
    client_id: str
    user_id: str
    session_id: str | None
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    org_id: str | None
    auth_time: datetime
    amr: list
    acr: str | None
    claims_request: dict | None
    expires_at: datetime
    used_at: datetime | None
    resources: list
    dpop_jkt: str | None


_CODE_FIELDS = tuple(CodeRow.__slots__)


@dataclass
class PresentedCode:
    row: CodeRow
    user: UserRow | None
    tenant_roles: list[str]
    org_roles: list[str]


def _presented_code(tenant):
    """The code (by digest, a unique index, then checked against the tenant), its user
    and the user's tenant and organization roles: one Core statement, built once."""
    codes = AuthorizationCode.__table__.c
    users = User.__table__.c
    presented = (
        select(codes.tenant_id, *(codes[name] for name in _CODE_FIELDS))
        .where(codes.code_digest == bindparam("digest"))
        .cte("presented_code")
        .prefix_with("MATERIALIZED")
    )
    code = presented.c
    tenant_roles, org_roles = _roles_of(tenant, code.user_id, code.org_id)
    return (
        select(
            *(code[name] for name in _CODE_FIELDS),
            *(users[_USER_COLUMN.get(name, name)] for name in _USER_FIELDS),
            tenant_roles,
            org_roles,
        )
        .select_from(presented)
        .outerjoin(User.__table__, (users.id == code.user_id) & (users.tenant_id == tenant))
        .where(code.tenant_id == tenant)
    )


def find_presented_code(tenant: Tenant, code: str | None) -> PresentedCode | None:
    """One query: the code, its user and the user's roles; nothing written. Read on the
    thread's kept autocommit connection, outside the request's transaction (the direct
    path's writes are one statement of their own on PostgreSQL, :func:`exchange_code`)."""
    if not code or len(code) > 200:
        return None
    rows = scope(tenant).read_prepared("code.presented", _presented_code, digest=digest(code))
    found = rows[0] if rows else None
    if found is None:
        return None
    c = len(_CODE_FIELDS)
    u = c + len(_USER_FIELDS)
    user = UserRow(*found[c:u]) if found[c] is not None else None
    tenant_names, org_names = found[u], found[u + 1]
    return PresentedCode(
        row=CodeRow(*found[:c]),
        user=user,
        tenant_roles=sorted(set(tenant_names.split(","))) if tenant_names else [],
        org_roles=sorted(set(org_names.split(","))) if org_names else [],
    )


def claim_code(tenant: Tenant, code_id: str, grant_id: str) -> bool:
    """The atomic single use of a code, naming the grant it produces in the same UPDATE
    (so a replay finds the grant to revoke, RFC 6749 §4.1.2); False when already used."""
    codes = AuthorizationCode.__table__.c
    result = scope(tenant).execute_prepared(
        "code.claim",
        lambda t: (
            update(AuthorizationCode.__table__)
            .where(codes.tenant_id == t, codes.id == bindparam("code_id"), codes.used_at.is_(None))
            .values(used_at=bindparam("now"), grant_id=bindparam("new_grant_id"))
        ),
        code_id=code_id,
        now=utcnow(),
        new_grant_id=grant_id,
    )
    return (result.rowcount or 0) == 1


_INSERT_GRANT = insert(Grant.__table__)


def exchange_code(
    tenant: Tenant, client, code: CodeRow, *, with_refresh: bool
) -> tuple[GrantRow, str | None] | None:
    """The direct path's use of a live code (read by :func:`find_presented_code` and
    checked): the single-use claim naming the new grant (a replay finds it to revoke, RFC
    6749 §4.1.2), the grant, and (``with_refresh``) its first refresh token, all or
    nothing. The grant and the refresh token, or None when the claim was lost (the code
    was used meanwhile: Authlib then answers, and revokes what the other use produced).

    On PostgreSQL one statement (:func:`_exchange`), autocommitted on the thread's kept
    connection: no transaction to open or commit. Elsewhere the claim and the INSERTs in
    the request's transaction, committed with it."""
    grant = _grant_of(tenant, client, code, new_id("gnt"))
    if db.engine.dialect.name != "postgresql":
        if not claim_code(tenant, code.id, grant.id):
            return None
        values = {name: getattr(grant, name) for name in _GRANT_FIELDS}
        db.session.execute(
            _INSERT_GRANT, {**values, "tenant_id": tenant.id, "created_at": utcnow()}
        )
        return grant, issue_refresh_token(tenant, grant) if with_refresh else None
    params = {f"grant_{name}": getattr(grant, name) for name in _GRANT_FIELDS}
    refresh = None
    if with_refresh:
        refresh, successor = _successor(tenant, grant)
        params.update(successor)
    written = scope(tenant).write_prepared(
        "code.exchange.refresh" if with_refresh else "code.exchange",
        lambda t: _exchange(t, with_refresh=with_refresh),
        code_id=code.id,
        now=utcnow(),
        **params,
    )
    return (grant, refresh) if len(written) == 1 else None


def _exchange(tenant, *, with_refresh: bool):
    """PostgreSQL: the claim of the code, the INSERT of its grant and (``with_refresh``)
    of the grant's first refresh token in ONE statement (data-modifying WITHs, each
    writing only from the row before it): all or nothing, committed on its own. (No
    parameter is named after a column: SQLAlchemy would add it to the UPDATE's SET.)"""
    codes, grants = AuthorizationCode.__table__, Grant.__table__
    claimed = (
        update(codes)
        .where(
            codes.c.tenant_id == tenant,
            codes.c.id == bindparam("code_id"),
            codes.c.used_at.is_(None),
        )
        .values(used_at=bindparam("now"), grant_id=bindparam("grant_id"))
        .returning(codes.c.id)
        .cte("claimed")
    )
    grant_values = select(
        tenant,
        *(bindparam(f"grant_{name}", type_=grants.c[name].type) for name in _GRANT_FIELDS),
        bindparam("now", type_=grants.c.created_at.type),
    ).select_from(claimed)
    new_grant = (
        insert(grants)
        .from_select(["tenant_id", *_GRANT_FIELDS, "created_at"], grant_values)
        .returning(grants.c.id)
    )
    if not with_refresh:
        return new_grant
    return _insert_successor(tenant, new_grant.cte("new_grant").c.id)


def _grant_of(tenant: Tenant, client, code: CodeRow, grant_id: str) -> GrantRow:
    """The grant a code produces (what :func:`start_grant` makes), not written yet."""
    days = get_settings(tenant)["refresh_token_ttl_days"]
    now = utcnow()
    return GrantRow(
        id=grant_id,
        client_id=client.id,
        user_id=code.user_id,
        session_id=code.session_id,
        scope=code.scope,
        org_id=code.org_id,
        auth_time=code.auth_time,
        amr=list(code.amr or []),
        acr=code.acr,
        claims_request=code.claims_request,
        expires_at=now + timedelta(days=days),
        revoked_at=None,
        resources=list(code.resources or []),
    )
