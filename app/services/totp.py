"""TOTP (RFC 6238) second factor: enrolment, confirmation and verification.

The shared secret is encrypted at rest (app.security.crypto). A code is accepted for
the current 30-second step and one step either side (RFC 6238 §5.2 allows a small
window for clock drift), and never twice: the step of the last accepted code is kept
on the factor and only later steps are accepted (RFC 6238 §5.2, "MUST NOT accept the
second attempt of the same OTP"). The update is conditional so that two concurrent
requests with the same code cannot both win.

Time comes from ``app.config["TOTP_CLOCK"]`` when set (a callable returning Unix
seconds; tests use a controllable clock), else ``time.time``.
"""

from __future__ import annotations

import hmac
import time

import pyotp
import segno
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete
from sqlalchemy import or_
from sqlalchemy import update

from app.extensions import db
from app.models import MfaFactor
from app.models import Tenant
from app.models import User
from app.models.base import utcnow
from app.security import crypto
from app.services import audit
from app.services.errors import NotFound
from app.services.errors import ValidationFailed
from app.services.settings import display_name
from app.tenancy import scope

STEP_SECONDS = 30
DIGITS = 6
VALID_WINDOW = 1  # steps accepted either side of the current one


def now() -> float:
    clock = current_app.config.get("TOTP_CLOCK")
    return float(clock()) if clock else time.time()


def normalize_code(code: str | None) -> str:
    """Strip the spaces and dashes people type; empty when it cannot be a TOTP code."""
    cleaned = "".join((code or "").split()).replace("-", "")
    return cleaned if len(cleaned) == DIGITS and cleaned.isdigit() else ""


def begin_enrolment(tenant: Tenant, user: User, name: str = "Authenticator app") -> MfaFactor:
    """Start enrolling a TOTP factor (unconfirmed; replaces an earlier unconfirmed one)."""
    db.session.execute(
        delete(MfaFactor).where(
            MfaFactor.tenant_id == tenant.id,
            MfaFactor.user_id == user.id,
            MfaFactor.kind == "totp",
            MfaFactor.confirmed_at.is_(None),
        )
    )
    secret = pyotp.random_base32()  # 160 bits, RFC 4226 §4 R6 recommends at least that
    factor = scope(tenant).add(
        MfaFactor(
            user_id=user.id,
            kind="totp",
            name=(name or "Authenticator app")[:100],
            secret_encrypted=crypto.encrypt(secret.encode()),
        )
    )
    db.session.flush()
    return factor


def pending_enrolment(tenant: Tenant, user: User, factor_id: str | None) -> MfaFactor | None:
    """The user's unconfirmed TOTP factor with this id, if any."""
    factor = scope(tenant).get(MfaFactor, factor_id)
    if factor is None or factor.user_id != user.id or factor.kind != "totp":
        return None
    return factor if factor.confirmed_at is None else None


def secret_of(factor: MfaFactor) -> str:
    return crypto.decrypt(factor.secret_encrypted or "").decode()


def provisioning_uri(tenant: Tenant, user: User, factor: MfaFactor) -> str:
    """The ``otpauth://`` URI that authenticator apps read from the QR code."""
    return pyotp.TOTP(secret_of(factor)).provisioning_uri(
        name=user.email, issuer_name=display_name(tenant)
    )


def qr_svg(uri: str) -> str:
    """The URI as an inline SVG QR code (no scripts, no style attributes: CSP-safe)."""
    return segno.make(uri, error="m").svg_inline(
        scale=5, dark="#111827", light="#ffffff", title="QR code for your authenticator app"
    )


def _matching_step(secret: str, code: str, at: float) -> int | None:
    """The time step (within the window) whose code equals ``code``, else None."""
    totp = pyotp.TOTP(secret)
    current = int(at // STEP_SECONDS)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _claim_step(factor: MfaFactor, step: int) -> bool:
    """Record ``step`` as used unless it (or a later one) already was: replay protection."""
    result = db.session.execute(
        update(MfaFactor)
        .where(
            MfaFactor.id == factor.id,
            or_(MfaFactor.last_used_step.is_(None), MfaFactor.last_used_step < step),
        )
        .values(last_used_step=step, last_used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if (result.rowcount or 0) != 1:
        return False
    factor.last_used_step = step
    return True


def confirm_enrolment(tenant: Tenant, user: User, factor_id: str, code: str) -> MfaFactor:
    """Confirm an enrolment with a first code from the app; raises ValidationFailed."""
    factor = pending_enrolment(tenant, user, factor_id)
    if factor is None:
        raise NotFound(_("This enrolment has expired. Start again."))
    code = normalize_code(code)
    step = _matching_step(secret_of(factor), code, now()) if code else None
    if step is None or not _claim_step(factor, step):
        raise ValidationFailed({"code": _("That code is not right. Check the app and try again.")})
    factor.confirmed_at = utcnow()
    audit.record(tenant, "mfa.totp_enrolled", target_type="user", target_id=user.id)
    return factor


def verify(tenant: Tenant, user: User, code: str) -> MfaFactor | None:
    """The confirmed TOTP factor the code is valid for (consumed), else None."""
    code = normalize_code(code)
    if not code:
        return None
    at = now()
    factors = scope(tenant).all(
        MfaFactor,
        MfaFactor.user_id == user.id,
        MfaFactor.kind == "totp",
        MfaFactor.confirmed_at.is_not(None),
    )
    for factor in factors:
        step = _matching_step(secret_of(factor), code, at)
        if step is not None and _claim_step(factor, step):
            return factor
    return None
