"""Server-side browser sessions: the cookie holds a random token, the row its digest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from sqlalchemy import bindparam
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from app.extensions import db
from app.models import BrowserSession
from app.models import Tenant
from app.models import User
from app.models.base import new_id
from app.models.base import utcnow
from app.security.tokens import digest
from app.security.tokens import new_token
from app.services import backchannel_logout
from app.services.settings import read_settings
from app.tenancy import insert_row
from app.tenancy import scope
from app.tenancy import update_row

# Write last_seen at most this often: idle tracking without a write per request.
TOUCH_INTERVAL = timedelta(seconds=60)


def start_session(
    tenant: Tenant,
    user: User,
    *,
    amr: list[str],
    ip: str = "",
    user_agent: str = "",
    write: bool = True,
) -> tuple[BrowserSession, str]:
    """Open a session for ``user``; returns the row and the cookie token (shown once).

    Written at once with Core statements built once per process (the session INSERT and
    the user's ``last_login_at``), not by the ORM's unit of work at commit; the returned
    row is attached to the request's session as loaded, so later changes to it in this
    request are flushed as usual.

    With ``write=False`` on PostgreSQL the two are left for the sign-in's audit row to
    send in its own statement (``audit.record_now(..., with_session=...)``, called next,
    before anything can flush): :func:`write_pending` sends them otherwise."""
    settings = read_settings(tenant)
    now = utcnow()
    token = new_token()
    values = {
        "id": new_id("ses"),
        "created_at": now,
        "user_id": user.id,
        "token_digest": digest(token),
        "auth_time": now,
        "last_seen_at": now,
        "expires_at": now + timedelta(hours=settings["session_max_hours"]),
        "ended_at": None,
        "amr": list(amr),
        "active_org_id": None,
        "idp": None,
        "ip": ip[:64],
        "user_agent": user_agent[:300],
    }
    db.session.flush()  # what this request changed so far is written first, as before
    rows = scope(tenant)
    pending = None
    if db.engine.dialect.name == "postgresql":  # both in one statement (a WITH)
        named = {f"s_{key}": value for key, value in values.items()}
        if write:
            rows.execute_prepared(
                "sessions.insert_and_last_login", _insert_with_last_login, **named
            )
        else:
            pending = named
    else:
        rows.execute_prepared("sessions.insert", _insert_session, **values)
        rows.execute_prepared("sessions.last_login", _set_last_login, user_id=user.id, now=now)
    set_committed_value(user, "last_login_at", now)
    session = BrowserSession(**values, tenant_id=rows.tenant_id)
    make_transient_to_detached(session)
    db.session.add(session)
    if pending is not None:
        session.unwritten = pending  # not a column: what write_pending / record_now send
    return session, token


def pending_insert(session: BrowserSession) -> dict | None:
    """The ``s_``-named parameters of a session :func:`start_session` left unwritten."""
    return session.__dict__.get("unwritten")


def write_pending(tenant: Tenant, session: BrowserSession) -> None:
    """Send a session's INSERT (with its user's ``last_login_at``) left unwritten."""
    named = session.__dict__.pop("unwritten", None)
    if named is not None:
        with db.session.no_autoflush:  # its INSERT before any UPDATE of it is flushed
            scope(tenant).execute_prepared(
                "sessions.insert_and_last_login", _insert_with_last_login, **named
            )


def sign_in_ctes(tenant) -> list:
    """PostgreSQL: the session's INSERT and the user's ``last_login_at`` as two
    data-modifying CTEs (``s_``-named parameters), for a statement that writes more."""
    insert = _insert_session(tenant, "s_").cte("new_session")
    return [_last_login(tenant), insert]


def _insert_session(tenant, prefix: str = ""):
    return insert_row(BrowserSession, tenant, prefix)


def _insert_with_last_login(tenant):
    """PostgreSQL: the session's INSERT with the user's ``last_login_at`` (its
    ``auth_time``) in a data-modifying WITH: one statement, both or neither. Parameters
    are named ``s_<column>``: a parameter named like a column of ``users`` would be
    added to the UPDATE's SET."""
    return _insert_session(tenant, "s_").add_cte(_last_login(tenant))


def _last_login(tenant):
    return update_row(User, tenant, "s_user_id", last_login_at="s_auth_time").cte("last_login")


def _set_last_login(tenant):
    return update_row(User, tenant, "user_id", last_login_at="now")


def is_live(session: BrowserSession, tenant: Tenant, now=None) -> bool:
    """Not ended, not past its absolute lifetime, not idle too long."""
    now = now or utcnow()
    idle = timedelta(minutes=read_settings(tenant)["session_idle_minutes"])
    return (
        session.ended_at is None and now < session.expires_at and now - session.last_seen_at < idle
    )


def load_session(tenant: Tenant, token: str | None) -> BrowserSession | None:
    """The live session for a cookie token in this tenant, touched; else None."""
    return load_session_and_user(tenant, token)[0]


def load_session_and_user(
    tenant: Tenant, token: str | None
) -> tuple[BrowserSession | None, User | None]:
    """The live session for a cookie token in this tenant, touched, with its user, in
    one query; else ``(None, None)``."""
    if not token or len(token) > 200:
        return None, None
    row = (
        scope(tenant)
        .execute_prepared("sessions.by_token_with_user", _by_token_with_user, digest=digest(token))
        .first()
    )
    if row is None:
        return None, None
    session, user = row
    now = utcnow()
    if not is_live(session, tenant, now):
        if session.ended_at is None:
            session.ended_at = now
        return None, None
    if needs_touch(session, now):
        session.last_seen_at = now
    return session, user


def needs_touch(session, now) -> bool:
    """Whether a live session's ``last_seen_at`` is due to be written (TOUCH_INTERVAL)."""
    return now - session.last_seen_at > TOUCH_INTERVAL


@dataclass(slots=True)
class SessionRow:
    """What a request that only reads the browser session needs of it, as plain values."""

    id: str
    user_id: str
    auth_time: datetime
    last_seen_at: datetime
    expires_at: datetime
    ended_at: datetime | None
    amr: list
    active_org_id: str | None


@dataclass(slots=True)
class SessionUser:
    """The session's user as that request needs it: its id and status."""

    id: str
    status: str

    @property
    def is_active(self) -> bool:
        return self.status == "active"


_SESSION_FIELDS = tuple(SessionRow.__slots__)
_SESSION_USER_FIELDS = tuple(SessionUser.__slots__)


def read_signed_in(tenant: Tenant, token: str | None) -> tuple[SessionRow, SessionUser] | None:
    """The session of a cookie token in this tenant and its user as row values, read
    outside the request's ORM session (no entities to build and track); None when there
    is none. Nothing is checked, touched or ended here: a caller that finds the session
    not live (:func:`is_live`) or its user inactive leaves it to :func:`load_session`."""
    if not token or len(token) > 200:
        return None
    rows = scope(tenant).read_prepared("sessions.signed_in", _signed_in, digest=digest(token))
    if not rows:
        return None
    found, n = rows[0], len(_SESSION_FIELDS)
    return SessionRow(*found[:n]), SessionUser(*found[n:])


def _signed_in(tenant_id):
    sessions, users = BrowserSession.__table__.c, User.__table__.c
    return (
        select(
            *(sessions[name] for name in _SESSION_FIELDS),
            *(users[name] for name in _SESSION_USER_FIELDS),
        )
        .join_from(
            BrowserSession.__table__,
            User.__table__,
            (users.id == sessions.user_id) & (users.tenant_id == tenant_id),
        )
        .where(sessions.tenant_id == tenant_id, sessions.token_digest == bindparam("digest"))
        .limit(1)
    )


def touch(tenant: Tenant, session_id: str, now) -> None:
    """Write a session's ``last_seen_at`` (in the request's transaction), for a session
    read as row values whose touch is due (:func:`needs_touch`)."""
    scope(tenant).execute_prepared("sessions.touch", _touch, session_id=session_id, now=now)


def _touch(tenant_id):
    return update_row(BrowserSession, tenant_id, "session_id", last_seen_at="now")


def _by_token_with_user(tenant_id):
    return (
        select(BrowserSession, User)
        .join(User, (User.id == BrowserSession.user_id) & (User.tenant_id == tenant_id))
        .where(
            BrowserSession.tenant_id == tenant_id,
            BrowserSession.token_digest == bindparam("digest"),
        )
        .limit(1)
    )


def end_session(session: BrowserSession, *, notify: bool = True, reason: str = "logout") -> None:
    """End a session; with ``notify`` its clients hear of it over the back channel
    (OIDC Back-Channel Logout: queued in this transaction, sent by the worker)."""
    if session.ended_at is None:
        session.ended_at = utcnow()
        if notify:
            backchannel_logout.sessions_ended(session.tenant_id, [session.id], reason=reason)


def end_user_sessions(
    tenant: Tenant, user_id: str, *, except_id: str | None = None, reason: str = "revoked"
) -> int:
    """End every live session of a user (password change, admin action), telling their
    clients over the back channel; returns how many."""
    criteria = [
        BrowserSession.tenant_id == tenant.id,
        BrowserSession.user_id == user_id,
        BrowserSession.ended_at.is_(None),
    ]
    if except_id:
        criteria.append(BrowserSession.id != except_id)
    query = scope(tenant).select(BrowserSession, *criteria[1:])
    ids = list(db.session.scalars(query.with_only_columns(BrowserSession.id)))
    if not ids:
        return 0
    result = db.session.execute(
        update(BrowserSession)
        .where(*criteria, BrowserSession.id.in_(ids))
        .values(ended_at=utcnow())
    )
    backchannel_logout.sessions_ended(tenant, ids, reason=reason)
    return result.rowcount or 0


def live_sessions(tenant: Tenant, user_id: str | None = None) -> list[BrowserSession]:
    now = utcnow()
    criteria = [BrowserSession.ended_at.is_(None), BrowserSession.expires_at > now]
    if user_id:
        criteria.append(BrowserSession.user_id == user_id)
    rows = scope(tenant).all(BrowserSession, *criteria, order_by=BrowserSession.last_seen_at.desc())
    return [s for s in rows if is_live(s, tenant, now)]
