"""The signed-in user's own profile and sessions (self-service)."""

from __future__ import annotations

from app.extensions import db
from app.models import BrowserSession
from app.models import Tenant
from app.models import User
from app.services import audit
from app.services import sessions
from app.services.errors import NotFound
from app.services.names import clean_name
from app.tenancy import scope


def update_profile(tenant: Tenant, user: User, *, name: str) -> User:
    """Change the user's display name."""
    name = clean_name(name)
    if name != user.name:
        before, user.name = user.name, name
        audit.record(
            tenant, "user.profile_updated", target_type="user", target_id=user.id, before=before
        )
        db.session.flush()
    return user


def own_sessions(tenant: Tenant, user: User) -> list[BrowserSession]:
    """The user's live browser sessions, most recently used first."""
    return sessions.live_sessions(tenant, user.id)


def end_own_session(tenant: Tenant, user: User, session_id: str) -> BrowserSession:
    """End one of the user's own sessions; another user's id is simply not found."""
    session = scope(tenant).get(BrowserSession, session_id)
    if session is None or session.user_id != user.id:
        raise NotFound("No such session.")
    sessions.end_session(session, reason="revoked")
    audit.record(tenant, "session.ended", target_type="session", target_id=session.id)
    db.session.flush()
    return session
