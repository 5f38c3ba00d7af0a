"""One person's data rights (GDPR Art. 15 access, 20 portability, 17 erasure).

:func:`user_data` gathers everything Gatehouse holds about a user in one JSON-able
object (never secrets: no password hash, no factor secrets, no token digests).
:func:`erase_user` ends every session and refresh token, deletes the account and all
that hangs off it, and keeps the audit trail with the person pseudonymised: their id
becomes a stable keyed pseudonym, their email and network details are removed.
"""

from __future__ import annotations

from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import String
from sqlalchemy import cast
from sqlalchemy import delete
from sqlalchemy import or_

from app.extensions import db
from app.models import AuditEvent
from app.models import BrowserSession
from app.models import Consent
from app.models import EmailToken
from app.models import Event
from app.models import Invitation
from app.models import LoginCode
from app.models import MfaFactor
from app.models import OutboxMessage
from app.models import Tenant
from app.models import User
from app.models.base import utcnow
from app.security.passwords import verify_password
from app.security.tokens import pseudonym
from app.services import audit
from app.services import events
from app.services import orgs
from app.services import roles as roles_service
from app.services import upstream
from app.services.errors import ValidationFailed
from app.services.users import end_all_sessions
from app.tenancy import scope

FORMAT = "gatehouse.user-data/1"
# Without a password to re-enter, erasing the account needs a sign-in this recent.
REAUTH_MINUTES = 10


def recently_signed_in(auth_time) -> bool:
    return auth_time is not None and utcnow() - auth_time <= timedelta(minutes=REAUTH_MINUTES)


def confirm_erasure(user: User, password: str, auth_time) -> None:
    """Re-authentication before erasure: the password again, or (for an account without
    one) a sign-in within REAUTH_MINUTES; raises ValidationFailed."""
    if user.password_hash is not None:
        if not verify_password(user.password_hash, password):
            raise ValidationFailed({"password": _("That is not your password.")})
    elif not recently_signed_in(auth_time):
        raise ValidationFailed(
            {
                "password": _(
                    "Sign in again (within %(minutes)d minutes) to confirm.", minutes=REAUTH_MINUTES
                )
            }
        )


def _iso(value):
    return value.isoformat() if value else None


def _events_about(tenant: Tenant, user: User):
    """Audit events that name the user: as actor, as target, or in their data."""
    text = cast(AuditEvent.data, String)
    return (
        scope(tenant)
        .select(AuditEvent)
        .where(
            or_(
                AuditEvent.actor_id == user.id,
                AuditEvent.target_id == user.id,
                text.contains(user.id, autoescape=True),
                text.contains(user.email, autoescape=True),
            )
        )
    )


def user_data(tenant: Tenant, user: User, *, audited: bool = False) -> dict:
    """Everything held about ``user`` (Art. 15), machine-readable (Art. 20)."""
    data = scope(tenant)
    if audited:
        audit.record(tenant, "user.data_exported", target_type="user", target_id=user.id)
    return {
        "format": FORMAT,
        "tenant": {"id": tenant.id, "slug": tenant.slug, "name": tenant.name},
        "profile": {
            "id": user.id,
            "email": user.email,
            "name": user.name,
            "email_verified": user.email_verified,
            "status": user.status,
            "external_id": user.external_id,
            "metadata": user.user_metadata or {},
            "has_password": user.password_hash is not None,
            "created_at": _iso(user.created_at),
            "last_login_at": _iso(user.last_login_at),
            "password_changed_at": _iso(user.password_changed_at),
        },
        "roles": roles_service.tenant_role_names(tenant, user),
        "organizations": [
            {"id": org.id, "slug": org.slug, "name": org.name, "roles": sorted(names)}
            for org, names in orgs.orgs_of(tenant, user)
        ],
        "linked_identities": [
            {
                "provider": provider.name,
                "kind": provider.kind,
                "subject": identity.subject,
                "email": identity.email,
                "linked_at": _iso(identity.created_at),
            }
            for identity, provider in upstream.identities_of(tenant, user)
        ],
        "mfa_factors": [
            {
                "kind": f.kind,
                "name": f.name,
                "created_at": _iso(f.created_at),
                "last_used_at": _iso(f.last_used_at),
            }
            for f in data.all(MfaFactor, MfaFactor.user_id == user.id)
        ],
        "sessions": [
            {
                "id": s.id,
                "ip": s.ip,
                "user_agent": s.user_agent,
                "amr": list(s.amr or []),
                "auth_time": _iso(s.auth_time),
                "last_seen_at": _iso(s.last_seen_at),
                "ended_at": _iso(s.ended_at),
            }
            for s in data.all(BrowserSession, BrowserSession.user_id == user.id)
        ],
        "consents": [
            {"client_id": c.client_id, "scope": c.scope, "granted_at": _iso(c.created_at)}
            for c in data.all(Consent, Consent.user_id == user.id)
        ],
        "audit_events": [
            {
                "action": e.action,
                "at": _iso(e.created_at),
                "ip": e.ip,
                "user_agent": e.user_agent,
                "data": e.data or {},
            }
            for e in db.session.scalars(_events_about(tenant, user).order_by(AuditEvent.id))
        ],
    }


def _scrub(value, replacements: dict[str, str]):
    if isinstance(value, str):
        for old, new in replacements.items():
            value = value.replace(old, new)
        return value
    if isinstance(value, dict):
        return {k: _scrub(v, replacements) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, replacements) for v in value]
    return value


def erase_user(tenant: Tenant, user: User) -> str:
    """Delete the account (Art. 17); returns the pseudonym its audit trail now carries."""
    alias = pseudonym(f"{tenant.id}:{user.id}")
    end_all_sessions(tenant, user)
    replacements = {user.id: alias, user.email: alias}
    for event in db.session.scalars(_events_about(tenant, user)):
        if event.actor_id == user.id:
            event.ip = event.user_agent = None  # where they acted from is theirs too
        event.actor_id = alias if event.actor_id == user.id else event.actor_id
        event.target_id = alias if event.target_id == user.id else event.target_id
        event.data = _scrub(event.data or {}, replacements)
    data = scope(tenant)
    # The outbox keeps copies of what was sent about them (user.created, session.*, …):
    # those copies are pseudonymised like the audit trail.
    for event in data.all(
        Event,
        or_(
            cast(Event.data, String).contains(user.id),
            cast(Event.data, String).contains(user.email),
        ),
    ):
        event.data = _scrub(event.data or {}, replacements)
    for token in data.all(EmailToken, EmailToken.user_id == user.id):
        db.session.delete(token)
    for code in data.all(LoginCode, LoginCode.user_id == user.id):
        db.session.delete(code)
    for invitation in data.all(Invitation, Invitation.email == user.email):
        db.session.delete(invitation)
    db.session.execute(  # mail not yet delivered to them (the outbox is not tenant-owned)
        delete(OutboxMessage).where(
            OutboxMessage.tenant_id == tenant.id, OutboxMessage.to == user.email
        )
    )
    db.session.delete(user)
    db.session.flush()
    by_themselves = audit.current_actor().id == user.id
    audit.record(
        tenant,
        "user.deleted",
        target_type="user",
        target_id=alias,
        actor_id=alias if by_themselves else None,
    )
    # Subscribers need the id they know to deprovision the person; it is an opaque id
    # that nothing in this tenant links to anyone any more.
    events.emit(tenant, "user.deleted", {"id": user.id})
    return alias
