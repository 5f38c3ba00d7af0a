"""Emailed single-use tokens: address verification and password reset.

A token is 256 random bits, stored only as its SHA-256 digest, expires, and works
once. Issuing a new token of a purpose retires the user's earlier unused ones. Links
come from the tenant's configured origin (:func:`app.tenancy.external_url`), never
from the request's Host or X-Forwarded-* headers.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import update

from app.extensions import db
from app.models import EmailToken
from app.models import Tenant
from app.models import User
from app.models.base import utcnow
from app.security.tokens import digest
from app.security.tokens import new_token
from app.services.errors import ServiceError
from app.services.mail import send_mail
from app.services.settings import display_name
from app.tenancy import external_url
from app.tenancy import scope

log = logging.getLogger("gatehouse.mail")

VERIFY = "verify"
RESET = "reset"
TTL = {VERIFY: timedelta(hours=48), RESET: timedelta(hours=1)}
PATHS = {VERIFY: "/email/verify/{token}", RESET: "/password/reset/{token}"}


class InvalidToken(ServiceError):
    """The link is unknown here, used, or expired (one message for all three)."""

    status = 400
    title = "Link not valid"

    def __init__(self, purpose: str):
        if purpose == VERIFY:
            super().__init__(
                _("This verification link is invalid or has expired. Ask for a new one.")
            )
        else:
            super().__init__(
                _("This password reset link is invalid or has expired. Ask for a new one.")
            )


def issue_token(tenant: Tenant, user: User, purpose: str) -> str:
    """Store a fresh token for ``user`` (retiring unused ones); returns it (shown once)."""
    now = utcnow()
    db.session.execute(
        update(EmailToken)
        .where(
            EmailToken.tenant_id == tenant.id,
            EmailToken.user_id == user.id,
            EmailToken.purpose == purpose,
            EmailToken.used_at.is_(None),
        )
        .values(used_at=now)
    )
    token = new_token()
    scope(tenant).add(
        EmailToken(
            purpose=purpose,
            user_id=user.id,
            token_digest=digest(token),
            expires_at=now + TTL[purpose],
        )
    )
    db.session.flush()
    return token


def link_for(tenant: Tenant, purpose: str, token: str) -> str:
    return external_url(tenant, PATHS[purpose].format(token=token))


def _find(tenant: Tenant, token: str, purpose: str) -> tuple[EmailToken, User]:
    if not token or len(token) > 200:
        raise InvalidToken(purpose)
    row = scope(tenant).first(
        EmailToken, EmailToken.token_digest == digest(token), EmailToken.purpose == purpose
    )
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        raise InvalidToken(purpose)
    user = scope(tenant).get(User, row.user_id)
    if user is None or not user.is_active:
        raise InvalidToken(purpose)
    return row, user


def check_token(tenant: Tenant, token: str, purpose: str) -> User:
    """The user a live token belongs to, without using it; raises InvalidToken."""
    return _find(tenant, token, purpose)[1]


def consume_token(tenant: Tenant, token: str, purpose: str) -> User:
    """Use a live token once and return its user; raises InvalidToken."""
    row, user = _find(tenant, token, purpose)
    row.used_at = utcnow()
    db.session.flush()
    return user


def _deliver(tenant: Tenant, to: str, subject: str, text: str) -> None:
    """Queue the mail: the worker sends it, so an SMTP failure or delay never changes the
    answer (which would reveal which addresses have accounts) and only delays delivery."""
    send_mail(tenant, to, subject, text)


def send_verification(tenant: Tenant, user: User) -> None:
    """Email ``user`` a link that confirms their address (template ``verify_email``)."""
    from app.services import mail_templates

    link = link_for(tenant, VERIFY, issue_token(tenant, user, VERIFY))
    mail_templates.send(tenant, "verify_email", user, link=link, hours=48)


def send_reset(tenant: Tenant, user: User) -> None:
    """Email ``user`` a link to choose a new password (template ``reset_password``)."""
    from app.services import mail_templates

    link = link_for(tenant, RESET, issue_token(tenant, user, RESET))
    mail_templates.send(tenant, "reset_password", user, link=link, hours=1)


def send_already_registered(tenant: Tenant, user: User) -> None:
    """Tell an existing account that someone tried to sign up with its address."""
    name = display_name(tenant)
    _deliver(
        tenant,
        user.email,
        f"You already have a {name} account",
        f"Someone (perhaps you) tried to sign up for {name} with this address, which "
        "already has an account.\n\n"
        f"Sign in: {external_url(tenant, '/login')}\n"
        f"Forgot your password? {external_url(tenant, '/password/forgot')}\n",
    )
