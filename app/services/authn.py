"""Password sign-in and self sign-up rules.

:func:`authenticate` only checks the password and the account's state and returns the
user; starting the browser session is the edge's job (``app.auth.flow``), so a second
factor can slot in between the two.

No enumeration: an unknown email, a wrong password and a disabled account all raise
:class:`InvalidCredentials` with one message, after the same argon2 work
(``verify_password`` hashes against a dummy when there is no user).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import bindparam
from sqlalchemy import select

from app.extensions import db
from app.models import Tenant
from app.models import User
from app.models.base import utcnow
from app.security.foreign_hashes import kind_of
from app.security.passwords import verify_password
from app.services import audit
from app.services import email_tokens
from app.services import mfa
from app.services import users
from app.services.credentials import rehash_if_needed
from app.services.errors import Conflict
from app.services.errors import PermissionDenied
from app.services.errors import ServiceError
from app.services.errors import ValidationFailed
from app.services.settings import email_domain_allowed
from app.services.settings import get_settings
from app.services.settings import read_settings
from app.tenancy import scope

GENERIC_FAILURE = "Incorrect email or password."


class InvalidCredentials(ServiceError):
    status = 401
    title = "Sign-in failed"

    def __init__(self):
        super().__init__(_("Incorrect email or password."))


class AccountLocked(ServiceError):
    """Too many failures in a row: sign-in is refused until ``until``."""

    status = 429
    title = "Temporarily locked"

    def __init__(self, until: datetime):
        minutes = max(1, round((until - utcnow()).total_seconds() / 60))
        super().__init__(
            ngettext(
                "Too many failed attempts. Try again in %(num)d minute, or reset your password.",
                "Too many failed attempts. Try again in %(num)d minutes, or reset your password.",
                minutes,
            )
        )
        self.until = until


class EmailNotVerified(ServiceError):
    """The password was right but the tenant wants a verified address first."""

    status = 403
    title = "Email not verified"

    def __init__(self, user: User):
        super().__init__(
            _("Confirm your email address first: open the link we emailed you, or send a new one.")
        )
        self.user = user


def is_locked(user: User, now: datetime | None = None) -> bool:
    return bool(user.locked_until and user.locked_until > (now or utcnow()))


def record_failure(tenant: Tenant, user: User, settings: dict) -> None:
    """Count a failed first factor; lock the account at the tenant's threshold."""
    user.failed_logins += 1
    if user.failed_logins >= settings["lockout_threshold"]:
        user.locked_until = utcnow() + timedelta(minutes=settings["lockout_minutes"])
        user.failed_logins = 0
        audit.record(
            tenant,
            "login.locked",
            target_type="user",
            target_id=user.id,
            minutes=settings["lockout_minutes"],
        )


@dataclass(frozen=True)
class PasswordSignIn:
    """A correct password: the user, and whether they have a usable second factor (read
    with the user, for :func:`app.mfa.flow.second_factor_redirect`)."""

    user: User
    has_factor: bool


def authenticate(tenant: Tenant, email: str, password: str) -> User:
    """The user whose email and password these are; raises InvalidCredentials,
    AccountLocked or EmailNotVerified. Counts failures and locks per tenant policy."""
    return check_password(tenant, email, password).user


def _find_for_sign_in(tenant: Tenant, email: str) -> tuple[User | None, bool]:
    """The user with this address and whether they have a usable second factor: one
    query, built once per process, read as row values outside the request's ORM session;
    the user is then attached to the session as loaded (``TenantScope.attach_loaded``),
    so what the sign-in changes (failure counters, a rehash, ``last_login_at``) is
    written by the unit of work as before."""
    try:
        normalized = users.normalize_email(email, strict=False)
    except ValidationFailed:
        return None, False
    rows = scope(tenant).read_prepared("authn.sign_in_user", _sign_in_user, email=normalized)
    if not rows:
        return None, False
    found, n = rows[0], len(_USER_ATTRIBUTES)
    user = scope(tenant).attach_loaded(User, dict(zip(_USER_ATTRIBUTES, found[:n], strict=True)))
    return user, mfa.has_usable_factor(tenant, found[n:])


_USER_ATTRIBUTES = tuple(attr.key for attr in User.__mapper__.column_attrs)


def _sign_in_user(tenant_id):
    columns = [User.__mapper__.column_attrs[key].columns[0] for key in _USER_ATTRIBUTES]
    return (
        select(*columns, *mfa.factor_kind_clauses(tenant_id))
        .where(User.tenant_id == tenant_id, User.email == bindparam("email"))
        .limit(1)
    )


def check_password(tenant: Tenant, email: str, password: str) -> PasswordSignIn:
    """:func:`authenticate`, which also says whether the user has a second factor."""
    settings = read_settings(tenant)
    user, has_factor = _find_for_sign_in(tenant, email or "")
    # Always pay for one argon2 verification, whoever asks.
    ok = verify_password(user.password_hash if user else None, password or "")
    if user is None:
        audit.record(tenant, "login.failed", reason="unknown_user", email=(email or "")[:320])
        raise InvalidCredentials()
    if is_locked(user):
        audit.record(tenant, "login.failed", target_type="user", target_id=user.id, reason="locked")
        raise AccountLocked(user.locked_until)
    if not ok or not user.is_active:
        reason = "bad_password" if not ok else "disabled"
        if not ok:
            record_failure(tenant, user, settings)
        audit.record(tenant, "login.failed", target_type="user", target_id=user.id, reason=reason)
        db.session.flush()
        if is_locked(user):
            raise AccountLocked(user.locked_until)
        raise InvalidCredentials()
    if user.failed_logins:  # assigned only when it changes: no UPDATE, no dirty row
        user.failed_logins = 0
    if user.locked_until is not None:
        user.locked_until = None
    imported = kind_of(user.password_hash) in ("bcrypt", "django_pbkdf2_sha256")
    if rehash_if_needed(user, password) and imported:  # first sign-in after an import
        audit.record(tenant, "password.upgraded", target_type="user", target_id=user.id)
    db.session.flush()
    if settings["require_email_verification"] and not user.email_verified:
        raise EmailNotVerified(user)
    return PasswordSignIn(user, has_factor)


# --- self sign-up -----------------------------------------------------------------------

SIGNUP_CLOSED = {
    "invite_only": "Sign-up here is by invitation only. Ask an administrator to invite you.",
    "closed": "Sign-up is closed here.",
}


def signup_refusal(tenant: Tenant) -> str | None:
    """Why self sign-up is unavailable in this tenant, or None when it is open."""
    if tenant.is_system:
        return _(SIGNUP_CLOSED["closed"])
    message = SIGNUP_CLOSED.get(get_settings(tenant)["signup_mode"])
    return _(message) if message else None


def signup_email_problem(tenant: Tenant, email: str) -> str | None:
    """Why this tenant's sign-up refuses the address (its allowed domains), or None."""
    if email_domain_allowed(tenant, email):
        return None
    domains = ", ".join(get_settings(tenant)["allowed_email_domains"])
    return _("Sign-up is limited to addresses at %(domains)s.", domains=domains)


def sign_up(tenant: Tenant, email: str, password: str, name: str = "") -> User | None:
    """Create a self-registered account and email a verification link.

    Returns the new user, or None when the address already has an account and the
    tenant requires verification: then the owner gets a notice by mail and the caller
    answers exactly as for a new account (no enumeration).
    """
    refusal = signup_refusal(tenant)
    if refusal:
        raise PermissionDenied(refusal)
    normalized, name = users.new_account_fields(
        tenant, email, name or "", password, email_rule=lambda a: signup_email_problem(tenant, a)
    )
    existing = users.find_by_email(tenant, normalized)
    if existing is None:
        try:
            user = users.create_user(
                tenant, normalized, name=name or "", password=password, audit_action="signup"
            )
        except Conflict:
            # A concurrent sign-up with this address won the race (the transaction was
            # rolled back): answer exactly as for the second of two sequential sign-ups.
            existing = users.find_by_email(tenant, normalized)
        else:
            email_tokens.send_verification(tenant, user)
            return user
    if existing is not None and get_settings(tenant)["require_email_verification"]:
        email_tokens.send_already_registered(tenant, existing)
        return None
    raise ValidationFailed({"email": "An account with this email already exists. Sign in instead."})


def verify_email(tenant: Tenant, token: str) -> User:
    """Mark the address of a verification token's user as confirmed (token used once)."""
    user = email_tokens.consume_token(tenant, token, email_tokens.VERIFY)
    if not user.email_verified:
        user.email_verified = True
        audit.record(tenant, "email.verified", target_type="user", target_id=user.id)
        # A verified address at an organization's domain joins it (domain auto-join).
        from app.services import orgs

        orgs.auto_join(tenant, user)
    return user


def request_password_reset(tenant: Tenant, email: str) -> None:
    """Queue a reset for this address: the same work whether or not an account has it
    (no timing difference); the worker mails a link only to an active account
    (:func:`send_reset_if_known`)."""
    from app.services import mail

    email = (email or "")[:320]
    audit.record(tenant, "password.reset_requested", email=email)
    mail.queue_job(tenant, "password_reset", email=email)


def send_reset_if_known(tenant: Tenant, email: str) -> bool:
    """The worker's half of a reset request: mail a link if an active account has it."""
    user = users.find_by_email(tenant, email or "")
    if user is None or not user.is_active:
        return False
    email_tokens.send_reset(tenant, user)
    audit.record(tenant, "password.reset_mailed", target_type="user", target_id=user.id)
    return True
