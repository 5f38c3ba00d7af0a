"""The tenant's MFA policy and a user's second factors (DESIGN §1 "Auth config").

Policy (settings ``mfa_policy``): ``off`` (never asked), ``optional`` (asked when the
user has enrolled a factor), ``required`` (everyone), ``required_for_admins`` (holders
of the tenant ``admin`` role). ``mfa_factors`` lists the kinds users may enrol and use.

Authentication Method Reference values (RFC 8176 §2) written into browser sessions and
from there into ID tokens:

- ``pwd``: the password; ``otp``: a TOTP or a single-use recovery code;
- ``hwk``: a passkey (proof of possession of a hardware- or platform-bound key);
- a passwordless passkey sign-in is ``["hwk", "user"]``: the key plus the user test the
  authenticator performed (we require WebAuthn user verification for it), which makes
  it a multi-factor cryptographic authenticator (NIST SP 800-63B §5.1.9).
"""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import delete

from app.extensions import db
from app.models import AuditEvent
from app.models import BrowserSession
from app.models import MfaFactor
from app.models import RecoveryCode
from app.models import Tenant
from app.models import User
from app.security.passwords import verify_password
from app.services import audit
from app.services import recovery_codes
from app.services import totp
from app.services.errors import NotFound
from app.services.errors import ValidationFailed
from app.services.roles import has_tenant_role
from app.services.settings import read_settings
from app.tenancy import scope

KINDS = ("totp", "webauthn")
# amr values that prove a factor beyond the password (RFC 8176).
SECOND_FACTOR_AMR = frozenset({"otp", "hwk", "swk", "mfa"})
AMR_FOR_KIND = {"totp": "otp", "recovery": "otp", "webauthn": "hwk"}
PASSWORDLESS_AMR = ["hwk", "user"]
# acr_values that ask for multi-factor authentication (OIDC Core §3.1.2.1; PAPE's URI).
MFA_ACR_VALUES = frozenset({"mfa", "http://schemas.openid.net/pape/policies/2007/06/multi-factor"})
MAX_FAILURES = 5  # wrong second-factor codes before a pending sign-in is dropped
FAILED_ACTION = "mfa.challenge_failed"


def policy(tenant: Tenant) -> str:
    return read_settings(tenant)["mfa_policy"]


def allowed_factors(tenant: Tenant) -> list[str]:
    """Factor kinds users of this tenant may enrol and use (empty when MFA is off)."""
    if policy(tenant) == "off":
        return []
    return [kind for kind in KINDS if kind in read_settings(tenant)["mfa_factors"]]


def passwordless_enabled(tenant: Tenant) -> bool:
    """True when passkeys may sign in on their own (settings ``passwordless_passkeys``, and
    ``passkey`` among the ``login_methods``)."""
    settings = read_settings(tenant)
    return (
        bool(settings["passwordless_passkeys"])
        and "webauthn" in settings["mfa_factors"]
        and "passkey" in settings["login_methods"]
    )


def user_factors(
    tenant: Tenant, user: User, *, include_disallowed: bool = False
) -> list[MfaFactor]:
    """The user's confirmed factors, oldest first (only allowed kinds unless asked)."""
    rows = scope(tenant).all(
        MfaFactor,
        MfaFactor.user_id == user.id,
        MfaFactor.confirmed_at.is_not(None),
        order_by=MfaFactor.created_at,
    )
    if include_disallowed:
        return rows
    allowed = allowed_factors(tenant)
    return [f for f in rows if f.kind in allowed]


def mfa_required(tenant: Tenant, user: User) -> bool:
    """True when the policy demands a second factor from this user."""
    rule = policy(tenant)
    if rule == "required":
        return True
    if rule == "required_for_admins":
        return has_tenant_role(tenant, user, "admin")
    return False


def needs_second_factor(tenant: Tenant, user: User, *, has_factor: bool | None = None) -> bool:
    """After the password: must this sign-in go through a second factor (or enrolment)?

    ``has_factor``: whether the user has a usable factor, when the caller read it with
    the user (:func:`factor_kind_clauses`); else it is read here."""
    if policy(tenant) == "off":
        return False
    if mfa_required(tenant, user):
        return True
    return has_factor if has_factor is not None else bool(user_factors(tenant, user))


def factor_kind_clauses(tenant_id) -> list:
    """SQL: per kind of :data:`KINDS`, whether the user (``User`` in the enclosing query)
    has a confirmed factor of it, to read along with the user; :func:`has_usable_factor`
    then says what ``bool(user_factors(tenant, user))`` says. One statement whatever the
    tenant allows (no list parameter: it stays a plain statement, compiled once)."""
    from sqlalchemy import exists

    return [
        exists()
        .where(
            MfaFactor.tenant_id == tenant_id,
            MfaFactor.user_id == User.id,
            MfaFactor.confirmed_at.is_not(None),
            MfaFactor.kind == kind,
        )
        .label(f"has_{kind}")
        for kind in KINDS
    ]


def has_usable_factor(tenant: Tenant, kinds_held) -> bool:
    """From :func:`factor_kind_clauses`' values: a confirmed factor of an allowed kind."""
    allowed = allowed_factors(tenant)
    return any(held and kind in allowed for kind, held in zip(KINDS, kinds_held, strict=True))


def must_enroll(tenant: Tenant, user: User) -> bool:
    """MFA is required but the user has no usable factor yet: enrolment is part of sign-in."""
    return mfa_required(tenant, user) and not user_factors(tenant, user)


def amr_satisfies_mfa(amr: list[str] | None) -> bool:
    """Two factors, one of them a second-factor kind: ``pwd`` + ``otp``, a passkey with
    user verification (``hwk`` + ``user``), or ``mfa``. An emailed one-time code alone
    (``otp``, a first factor) is not multi-factor."""
    values = set(amr or ())
    return "mfa" in values or (bool(values & SECOND_FACTOR_AMR) and len(values) >= 2)


def session_satisfies_mfa(session: BrowserSession | None) -> bool:
    """True when the browser session was established with a second factor."""
    return session is not None and amr_satisfies_mfa(session.amr)


def acr_requests_mfa(acr_values: str | None) -> bool:
    """True when an ``acr_values`` request parameter (space separated) asks for MFA."""
    return bool(set((acr_values or "").split()) & MFA_ACR_VALUES)


def session_needs_step_up(
    tenant: Tenant, user: User, session: BrowserSession | None, acr_values: str | None = None
) -> bool:
    """True when an authorization request must first go through the step-up
    (``app.mfa.flow.step_up_redirect``): the client asked for MFA or the policy requires
    it, and the session has no second factor."""
    if session_satisfies_mfa(session) or not allowed_factors(tenant):
        return False  # with MFA off, acr_values is a voluntary claim we cannot meet
    return acr_requests_mfa(acr_values) or mfa_required(tenant, user)


def get_factor(tenant: Tenant, user: User, factor_id: str) -> MfaFactor:
    factor = scope(tenant).get(MfaFactor, factor_id)
    if factor is None or factor.user_id != user.id:
        raise NotFound("No such factor.")
    return factor


def remove_factor(tenant: Tenant, user: User, factor_id: str, *, password: str) -> None:
    """Delete one of the user's factors after re-authentication with the current password;
    raises ValidationFailed (field ``password``) when it is wrong."""
    factor = get_factor(tenant, user, factor_id)
    if not verify_password(user.password_hash, password or ""):
        audit.record(tenant, "mfa.reauth_failed", target_type="user", target_id=user.id)
        raise ValidationFailed({"password": _("That password is not right.")})
    db.session.delete(factor)
    db.session.flush()
    audit.record(
        tenant, "mfa.factor_removed", target_type="user", target_id=user.id, kind=factor.kind
    )
    if not user_factors(tenant, user, include_disallowed=True):
        # Recovery codes only make sense next to a factor.
        _delete_recovery_codes(tenant, user)


def reset_user_mfa(tenant: Tenant, user: User) -> int:
    """Admin action: remove every factor and recovery code of a user; returns factors removed."""
    result = db.session.execute(
        delete(MfaFactor).where(MfaFactor.tenant_id == tenant.id, MfaFactor.user_id == user.id)
    )
    _delete_recovery_codes(tenant, user)
    audit.record(
        tenant, "mfa.reset", target_type="user", target_id=user.id, factors=result.rowcount or 0
    )
    return result.rowcount or 0


def _delete_recovery_codes(tenant: Tenant, user: User) -> None:
    db.session.execute(
        delete(RecoveryCode).where(
            RecoveryCode.tenant_id == tenant.id, RecoveryCode.user_id == user.id
        )
    )


def verify_code(tenant: Tenant, user: User, code: str) -> str | None:
    """Check a one-time code typed at the challenge: a TOTP code (when TOTP is allowed)
    or an unused recovery code. Returns ``"totp"``/``"recovery"``; a wrong code is
    recorded as a failure and gives None."""
    if "totp" in allowed_factors(tenant) and totp.verify(tenant, user, code):
        return "totp"
    if allowed_factors(tenant) and recovery_codes.use(tenant, user, code):
        return "recovery"
    record_failure(tenant, user, "code")
    return None


def record_failure(tenant: Tenant, user: User, method: str) -> None:
    """Note a wrong second-factor attempt (audited; counted by :func:`failures_since`)."""
    audit.record(tenant, FAILED_ACTION, target_type="user", target_id=user.id, method=method)
    db.session.flush()


def failures_since(tenant: Tenant, user: User, since: datetime) -> int:
    """Wrong second-factor attempts for ``user`` since ``since`` (server-side, so a replayed
    cookie cannot reset the count)."""
    return scope(tenant).count(
        AuditEvent,
        AuditEvent.action == FAILED_ACTION,
        AuditEvent.target_id == user.id,
        AuditEvent.created_at >= since,
    )
