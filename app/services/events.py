"""Events: what happened, written to the outbox in the transaction that made it happen.

Public API (small and stable): :func:`emit` for a service that changes something, and
:func:`from_audit`, which :func:`app.services.audit.record` calls so that every audited
change yields its event. ``data`` is the resource as the admin API shows it (the same
serializers), never a secret. The worker fans events out to webhook endpoints; a system
can also poll them (:func:`list_events`).
"""

from __future__ import annotations

from datetime import timedelta

from app.extensions import db
from app.models import Event
from app.models import Tenant
from app.models.base import new_id
from app.models.base import utcnow
from app.tenancy import insert_row
from app.tenancy import scope

EVENT_TYPES = (
    "user.created",
    "user.updated",
    "user.deleted",
    "user.email_verified",
    "user.password_changed",
    "user.locked",
    "user.mfa_enrolled",
    "session.created",
    "session.revoked",
    "sign_in.failed",
    "org.created",
    "org.updated",
    "org.deleted",
    "org.member.added",
    "org.member.removed",
    "org.member.roles_changed",
    "invitation.created",
    "invitation.accepted",
    "invitation.revoked",
    "client.created",
    "client.updated",
    "client.deleted",
    "client.secret_rotated",
    "key.rotated",
    "tenant.created",
    "tenant.updated",
    "tenant.suspended",
    "tenant.resumed",
    "tenant.deleted",
    "tenant.quota_exceeded",
)
TEST_EVENT = "webhook.test"
# Events show in /events once this old: a transaction that committed later than a
# younger one (ids are time-ordered) has then landed, so a cursor never skips it.
POLL_SETTLE = timedelta(seconds=2)

# audit action -> event type. The resource comes from the audit target (see _resource).
AUDIT_EVENTS = {
    "user.created": "user.created",
    "signup": "user.created",
    "user.created_by_invitation": "user.created",
    "scim.user_created": "user.created",
    "user.updated": "user.updated",
    "user.profile_updated": "user.updated",
    "user.roles_changed": "user.updated",
    "user.disabled": "user.updated",
    "user.enabled": "user.updated",
    "user.deleted": "user.deleted",
    "email.verified": "user.email_verified",
    "password.changed": "user.password_changed",
    "password.reset": "user.password_changed",
    "login.locked": "user.locked",
    "mfa.totp_enrolled": "user.mfa_enrolled",
    "mfa.passkey_registered": "user.mfa_enrolled",
    "login.succeeded": "session.created",
    "session.ended": "session.revoked",
    "logout": "session.revoked",
    "login.failed": "sign_in.failed",
    "org.created": "org.created",
    "org.updated": "org.updated",
    "org.deleted": "org.deleted",
    "org.member_added": "org.member.added",
    "org.member_removed": "org.member.removed",
    "org.left": "org.member.removed",
    "org.member_deprovisioned": "org.member.removed",  # SCIM active:false or DELETE
    "org.member_roles_changed": "org.member.roles_changed",
    "invitation.created": "invitation.created",
    "invitation.accepted": "invitation.accepted",
    "invitation.revoked": "invitation.revoked",
    "client.created": "client.created",
    "client.updated": "client.updated",
    "client.deleted": "client.deleted",
    "client.secret_rotated": "client.secret_rotated",
    "keys.rotated": "key.rotated",
    "tenant.created": "tenant.created",
    "tenant.renamed": "tenant.updated",
    "tenant.quotas_changed": "tenant.updated",
    "tenant.suspended": "tenant.suspended",
    "tenant.resumed": "tenant.resumed",
    "tenant.deleted": "tenant.deleted",
}


def emit(tenant: Tenant | str, type_: str, data: dict) -> Event:
    """Add an event to the outbox (flushed and committed with the caller's transaction)."""
    return scope(tenant).add(Event(type=type_, data=data))


def from_audit(tenant: Tenant | str, audit_event) -> Event | None:
    """The event an audited change yields, if any (called by ``audit.record``)."""
    found = event_of(tenant, audit_event)
    return emit(*found) if found is not None else None


def emit_now(tenant: Tenant | str, type_: str, data: dict) -> str:
    """:func:`emit` as a Core INSERT sent now (built once per process); the event's id."""
    event_id = new_id("ev")
    scope(tenant).execute_prepared(
        "events.insert",
        _insert_event,
        id=event_id,
        type=type_,
        data=data,
        dispatched_at=None,
        created_at=utcnow(),
    )
    return event_id


def _insert_event(tenant):
    return insert_row(Event, tenant)


def event_of(tenant: Tenant | str, audit_event) -> tuple[Tenant, str, dict] | None:
    """The tenant, type and data of the event an audited change yields, if any."""
    type_ = AUDIT_EVENTS.get(audit_event.action)
    if type_ is None:
        return None
    tenant = tenant if isinstance(tenant, Tenant) else db.session.get(Tenant, tenant)
    data = _resource(tenant, type_, audit_event)
    if data is None:
        return None
    if type_.startswith("tenant."):
        # tenant.* belong to the instance: the system tenant's endpoints receive them.
        from app.services.errors import NotFound
        from app.services.tenants import system_tenant

        try:
            tenant = tenant if tenant.is_system else system_tenant()
        except NotFound:  # an instance without its system tenant (only in bare tests)
            return None
    return tenant, type_, data


def payload(event: Event) -> dict:
    """The body delivered and polled: ``{id, type, timestamp, tenant_id, data}``."""
    from app.api.serializers import timestamp

    return {
        "id": event.id,
        "type": event.type,
        "timestamp": timestamp(event.created_at),
        "tenant_id": event.tenant_id,
        "data": event.data,
    }


def list_events(
    tenant: Tenant, *, after: str | None, limit: int, type_prefix: str = ""
) -> list[Event]:
    """Events oldest first after the cursor (``limit + 1`` rows: the extra says more)."""
    from flask import current_app

    settle = current_app.config.get("EVENTS_POLL_SETTLE_SECONDS", POLL_SETTLE.total_seconds())
    criteria = [Event.type != TEST_EVENT, Event.created_at <= utcnow() - timedelta(seconds=settle)]
    if after:
        criteria.append(Event.id > after)
    if type_prefix:
        criteria.append(Event.type.startswith(type_prefix, autoescape=True))
    stmt = scope(tenant).select(Event, *criteria).order_by(Event.id).limit(limit + 1)
    return list(db.session.scalars(stmt))


def matches(patterns: list[str], type_: str) -> bool:
    """``*`` matches everything, ``user.*`` a family, anything else exactly."""
    for pattern in patterns or ():
        if pattern == "*" or pattern == type_:
            return True
        if pattern.endswith(".*") and type_.startswith(pattern[:-1]):
            return True
    return False


# --- the resource of an audited change ---------------------------------------------------


def _resource(tenant: Tenant, type_: str, audit_event) -> dict | None:
    from app.api import serializers
    from app.models import Client
    from app.models import Invitation
    from app.models import Organization
    from app.models import User

    family, target, extra = type_.split(".", 1)[0], audit_event.target_id, audit_event.data
    data = scope(tenant)
    if family == "user":
        user = data.get(User, target)
        return serializers.user_to_dict(tenant, user) if user else None
    if family == "session":
        session = _flushed_session(tenant, extra.get("session_id") or target)
        return serializers.session_to_dict(session) if session else None
    if family == "sign_in":
        return {
            "user_id": target,
            "email": extra.get("email"),
            "reason": extra.get("reason"),
            "ip": audit_event.ip,
        }
    if family == "org" and type_.startswith("org.member."):
        return _member(tenant, target, extra.get("user_id"))
    if family == "org":
        org = data.get(Organization, target)
        return serializers.org_to_dict(org) if org else None
    if family == "invitation":
        invitation = data.get(Invitation, target)
        return serializers.invitation_to_dict(invitation) if invitation else None
    if family == "client":
        from app.services.clients import client_to_dict

        client = data.get(Client, target)
        return client_to_dict(client) if client else None
    if family == "key":
        from app.services.keys import key_to_dict
        from app.services.keys import list_keys

        return {"keys": [key_to_dict(k) for k in list_keys(tenant) if k.status != "retired"]}
    if family == "tenant":
        subject = db.session.get(Tenant, target) if target else tenant
        return serializers.tenant_to_dict(subject) if subject else None
    return None


def _flushed_session(tenant: Tenant, session_id: str | None):
    """The browser session as this transaction holds it — just added by a sign-in (its id
    and timestamps set), or flushed and unchanged since — else read. A sign-in's session
    need not be read back; its serializer reads plain columns only."""
    from sqlalchemy import inspect

    from app.models import BrowserSession

    if not session_id:
        return None
    loaded = db.session.identity_map.get(db.session.identity_key(BrowserSession, session_id))
    if loaded is not None and loaded.tenant_id == tenant.id:
        state = inspect(loaded)
        if not state.modified and not state.expired_attributes:
            return loaded
    elif loaded is None:
        for pending in db.session.new:
            if (
                isinstance(pending, BrowserSession)
                and pending.id == session_id
                and pending.tenant_id == tenant.id
                and pending.created_at is not None
            ):
                return pending
    return scope(tenant).get(BrowserSession, session_id)


def _member(tenant: Tenant, org_id: str | None, user_id: str | None) -> dict | None:
    from app.models import User
    from app.services import roles

    user = scope(tenant).get(User, user_id)
    if user is None or org_id is None:
        return None
    return {
        "org_id": org_id,
        "user_id": user.id,
        "email": user.email,
        "name": user.name,
        "roles": sorted(roles.org_role_names(tenant, user, org_id) or []),
    }
