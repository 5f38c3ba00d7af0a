"""Passwordless sign-in by email (#20): a 6-digit code (``email_code``) or a magic link
(``magic_link``), each enabled through the tenant's ``login_methods``.

- A code is valid 10 minutes and allows 5 attempts; it is stored as an HMAC keyed with
  the instance secret and the row id (six digits are too few for a plain digest).
- A link is 256 random bits stored as SHA-256, valid 15 minutes, used once. The browser
  that asked keeps a random value in its session: only there does the link sign in at
  once; any other browser is asked to confirm first (link scanners, and a link sent to
  someone else's inbox, never sign a browser in silently).
- No enumeration, by the answer or by its timing: an unknown address gets the same answer
  (a row without a user), and the request does the same work in the same order as for a
  real account (:func:`start`): the UPDATE of earlier codes (matching nothing), the
  code's INSERT, the audit INSERT, the mail rendered from the same template and one
  outbox INSERT, written ``suppressed`` so that it is never delivered. This is decoy
  work, like the dummy password hash for an unknown address (app.services.authn).
- Both count failures towards the account's lockout, are refused while it is locked, go
  through the tenant's MFA policy at the edge, and sign in with ``amr`` ``otp``
  (RFC 8176: a one-time secret). Using one proves the address, so it is marked verified.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import update

from app.extensions import db
from app.models import LoginCode
from app.models import Tenant
from app.models import User
from app.models.base import new_id
from app.models.base import utcnow
from app.security.tokens import digest
from app.security.tokens import new_token
from app.services import audit
from app.services import users
from app.services.authn import AccountLocked
from app.services.authn import is_locked
from app.services.authn import record_failure
from app.services.errors import PermissionDenied
from app.services.errors import ServiceError
from app.services.settings import get_settings
from app.tenancy import external_url
from app.tenancy import scope

EMAIL_CODE = "email_code"
MAGIC_LINK = "magic_link"
METHODS = (EMAIL_CODE, MAGIC_LINK)
TTL = {EMAIL_CODE: timedelta(minutes=10), MAGIC_LINK: timedelta(minutes=15)}
MAX_ATTEMPTS = 5
AMR = ["otp"]


class InvalidCode(ServiceError):
    status = 401
    title = "Sign-in failed"

    def __init__(self, message: str = ""):
        super().__init__(message or _("That code is not right, or it has expired."))


class InvalidLink(ServiceError):
    status = 400
    title = "Link not valid"

    def __init__(self):
        super().__init__(_("This sign-in link is invalid, used or expired. Ask for a new one."))


def enabled_methods(tenant: Tenant) -> list[str]:
    return [m for m in METHODS if m in get_settings(tenant)["login_methods"]]


def require_method(tenant: Tenant, method: str) -> None:
    if method not in get_settings(tenant)["login_methods"]:
        raise PermissionDenied(_("This sign-in method is not available here."))


def _code_digest(row_id: str, code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{row_id}:{code}".encode(), hashlib.sha256).hexdigest()


def start(tenant: Tenant, email: str, method: str, next_url: str = "") -> tuple[LoginCode, str]:
    """Issue a code or link for ``email`` and mail it when an active account has the
    address; returns the row and the browser value to keep in the asking session."""
    require_method(tenant, method)
    user = users.find_by_email(tenant, email or "")
    now = utcnow()
    # Known or not, the same statements run in the same order (timing must not tell
    # which addresses have accounts): the UPDATE below matches no row for an unknown
    # address ("" is no user's id), and its mail is a suppressed decoy (_mail).
    db.session.execute(  # one live code or link per account and method
        update(LoginCode)
        .where(
            LoginCode.tenant_id == tenant.id,
            LoginCode.user_id == (user.id if user else ""),
            LoginCode.method == method,
            LoginCode.used_at.is_(None),
        )
        .values(used_at=now)
    )
    row_id = new_id("lgc")
    browser = new_token(16)
    secret = f"{secrets.randbelow(10**6):06d}" if method == EMAIL_CODE else new_token()
    row = scope(tenant).add(
        LoginCode(
            id=row_id,
            method=method,
            user_id=user.id if user else None,
            secret_digest=_code_digest(row_id, secret) if method == EMAIL_CODE else digest(secret),
            browser_digest=digest(browser),
            next_url=(next_url or "")[:4000],
            expires_at=now + TTL[method],
        )
    )
    db.session.flush()
    audit.record(
        tenant,
        "login.code_sent",
        target_type="user" if user else None,
        target_id=user.id if user else None,
        method=method,
        email=None if user else (email or "")[:320],
    )
    deliver = user is not None and user.is_active and not is_locked(user)
    _mail(tenant, user if deliver else None, email or "", method, secret)
    return row, browser


def _mail(tenant: Tenant, user: User | None, typed: str, method: str, secret: str) -> None:
    """Queue the ``login_code`` mail for ``user``; without one (unknown, inactive or
    locked), render the same mail to the address as typed and write it ``suppressed``:
    a decoy the worker never delivers, so that both requests cost the same."""
    from app.services import mail_templates

    minutes = int(TTL[method].total_seconds() // 60)
    values = {"code": secret if method == EMAIL_CODE else "", "minutes": minutes, "link": ""}
    if method == MAGIC_LINK:
        values["link"] = external_url(tenant, f"/login/link/{secret}")
    if user is not None:
        mail_templates.send(tenant, "login_code", user, **values)
    else:
        to = typed[:320]
        mail_templates.send(tenant, "login_code", to, suppressed=True, **values)


def verify_code(tenant: Tenant, row_id: str | None, code: str) -> User:
    """The user whose emailed code this is; raises InvalidCode or AccountLocked. Each
    wrong code counts (5 per code, and towards the account's lockout)."""
    row = scope(tenant).get(LoginCode, row_id)
    now = utcnow()
    if row is None or row.method != EMAIL_CODE or row.used_at is not None:
        raise InvalidCode()
    if row.expires_at <= now or row.attempts >= MAX_ATTEMPTS:
        raise InvalidCode(_("This code has expired. Ask for a new one."))
    user = scope(tenant).get(User, row.user_id) if row.user_id else None
    if user is not None and is_locked(user):
        audit.record(tenant, "login.failed", target_type="user", target_id=user.id, reason="locked")
        raise AccountLocked(user.locked_until)
    code = "".join(ch for ch in (code or "") if ch.isdigit())[:6]
    if not hmac.compare_digest(_code_digest(row.id, code), row.secret_digest):
        row.attempts += 1
        if row.attempts >= MAX_ATTEMPTS:
            row.used_at = now
        if user is not None:
            record_failure(tenant, user, get_settings(tenant))
            audit.record(
                tenant, "login.failed", target_type="user", target_id=user.id, reason="bad_code"
            )
        db.session.flush()
        if user is not None and is_locked(user):
            raise AccountLocked(user.locked_until)
        left = MAX_ATTEMPTS - row.attempts
        if left <= 0:
            raise InvalidCode(_("Too many wrong codes. Ask for a new one."))
        raise InvalidCode(
            ngettext(
                "That code is not right. %(num)d attempt left.",
                "That code is not right. %(num)d attempts left.",
                left,
            )
        )
    if user is None or not user.is_active:
        raise InvalidCode()
    return _signed_in(tenant, row, user)


def _signed_in(tenant: Tenant, row: LoginCode, user: User) -> User:
    row.used_at = utcnow()
    user.failed_logins = 0
    user.locked_until = None
    if not user.email_verified:
        user.email_verified = True  # the person just read mail sent to the address
        audit.record(tenant, "email.verified", target_type="user", target_id=user.id)
    db.session.flush()
    return user


def find_link(tenant: Tenant, token: str) -> tuple[LoginCode, User]:
    """The live magic link ``token`` and its user, without using it; raises InvalidLink."""
    if not token or len(token) > 200:
        raise InvalidLink()
    row = scope(tenant).first(
        LoginCode, LoginCode.secret_digest == digest(token), LoginCode.method == MAGIC_LINK
    )
    if row is None or row.used_at is not None or row.expires_at <= utcnow() or not row.user_id:
        raise InvalidLink()
    user = scope(tenant).get(User, row.user_id)
    if user is None or not user.is_active:
        raise InvalidLink()
    return row, user


def same_browser(row: LoginCode, browser: str | None) -> bool:
    """True when the browser that opened the link is the one that asked for it."""
    return bool(browser) and hmac.compare_digest(digest(browser), row.browser_digest)


def use_link(tenant: Tenant, token: str) -> tuple[User, str]:
    """Use a magic link once; returns its user and the page to continue to."""
    require_method(tenant, MAGIC_LINK)
    row, user = find_link(tenant, token)
    if is_locked(user):
        raise AccountLocked(user.locked_until)
    return _signed_in(tenant, row, user), row.next_url
