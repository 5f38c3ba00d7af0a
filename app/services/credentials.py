"""Changing and resetting passwords.

Every change or reset ends every *other* browser session of the user (a stolen
session does not survive the victim changing their password) and clears a lockout.
"""

from __future__ import annotations

from flask_babel import gettext as _

from app.extensions import db
from app.models import Tenant
from app.models import User
from app.models.base import utcnow
from app.security.passwords import hash_password
from app.security.passwords import needs_rehash
from app.security.passwords import verify_password
from app.services import audit
from app.services import email_tokens
from app.services import sessions
from app.services.errors import ValidationFailed
from app.services.password_policy import password_problems


def _set_password(tenant: Tenant, user: User, new_password: str, keep_session_id: str | None):
    problems = password_problems(tenant, new_password, user.email)
    if problems:
        raise ValidationFailed({"new_password": " ".join(problems)})
    user.password_hash = hash_password(new_password)
    user.password_changed_at = utcnow()
    user.failed_logins = 0
    user.locked_until = None
    ended = sessions.end_user_sessions(tenant, user.id, except_id=keep_session_id)
    db.session.flush()
    return ended


def change_password(
    tenant: Tenant,
    user: User,
    current_password: str,
    new_password: str,
    *,
    keep_session_id: str | None = None,
) -> int:
    """Change a password after checking the current one; returns how many sessions ended."""
    if not verify_password(user.password_hash, current_password or ""):
        raise ValidationFailed({"password": _("That is not your current password.")})
    ended = _set_password(tenant, user, new_password, keep_session_id)
    audit.record(
        tenant, "password.changed", target_type="user", target_id=user.id, sessions_ended=ended
    )
    return ended


def reset_password(
    tenant: Tenant, token: str, new_password: str, *, keep_session_id: str | None = None
) -> User:
    """Set a new password with an emailed reset token (used up only on success)."""
    user = email_tokens.check_token(tenant, token, email_tokens.RESET)
    problems = password_problems(tenant, new_password, user.email)
    if problems:
        raise ValidationFailed({"password": " ".join(problems)})
    email_tokens.consume_token(tenant, token, email_tokens.RESET)
    ended = _set_password(tenant, user, new_password, keep_session_id)
    user.email_verified = True  # the reset link proved the mailbox
    audit.record(
        tenant, "password.reset", target_type="user", target_id=user.id, sessions_ended=ended
    )
    return user


def rehash_if_needed(user: User, password: str) -> bool:
    """After a successful check: re-hash with the current argon2 parameters if they changed."""
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        return True
    return False
