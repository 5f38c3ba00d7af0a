"""Remembered consents: which scopes a user granted to a (third-party) client."""

from __future__ import annotations

from app.extensions import db
from app.models import Client
from app.models import Consent
from app.models import Grant
from app.models import Tenant
from app.models import User
from app.models.base import utcnow
from app.services import audit
from app.tenancy import scope


def covers(consent: Consent | None, scope_value: str, permissions: dict | None = None) -> bool:
    """True when a remembered consent covers these scopes and, per API (resource
    identifier), these permissions: exactly what was shown before, or less."""
    if consent is None:
        return False
    if not set(scope_value.split()) <= set(consent.scope.split()):
        return False
    remembered = consent.permissions or {}
    return all(
        identifier in remembered and set(names) <= set(remembered[identifier])
        for identifier, names in (permissions or {}).items()
    )


def needs_consent(
    tenant: Tenant, user: User, client: Client, scope_value: str, permissions: dict | None = None
) -> bool:
    """True unless the client is first-party or the user already granted every scope and
    every API permission asked (``{identifier: [names]}``)."""
    if client.first_party:
        return False
    consent = scope(tenant).first(
        Consent, Consent.user_id == user.id, Consent.client_id == client.id
    )
    return not covers(consent, scope_value, permissions)


def grant_consent(
    tenant: Tenant, user: User, client: Client, scope_value: str, permissions: dict | None = None
) -> Consent:
    """Remember (or widen) the user's consent to the client for these scopes and the API
    permissions shown (``{identifier: [names]}``; an API shown with none is remembered)."""
    consent = scope(tenant).first(
        Consent, Consent.user_id == user.id, Consent.client_id == client.id
    )
    if consent is None:
        consent = scope(tenant).add(
            Consent(user_id=user.id, client_id=client.id, scope="", permissions={})
        )
    merged = dict.fromkeys(consent.scope.split() + scope_value.split())
    consent.scope = " ".join(merged)
    if permissions:
        remembered = {k: list(v) for k, v in (consent.permissions or {}).items()}
        for identifier, names in permissions.items():
            remembered[identifier] = sorted(set(remembered.get(identifier, [])) | set(names))
        consent.permissions = remembered
    db.session.flush()
    audit.record(
        tenant,
        "consent.granted",
        target_type="client",
        target_id=client.id,
        scope=consent.scope,
        permissions=consent.permissions or {},
    )
    return consent


def list_consents(tenant: Tenant, user: User) -> list[dict]:
    """The user's remembered consents with the client names, for /account."""
    consents = scope(tenant).all(Consent, Consent.user_id == user.id, order_by=Consent.id)
    clients = {
        c.id: c for c in scope(tenant).all(Client, Client.id.in_([c.client_id for c in consents]))
    }
    return [
        {
            "client_id": c.client_id,
            "client_name": clients[c.client_id].client_name if c.client_id in clients else "",
            "scope": c.scope,
            "permissions": dict(c.permissions or {}),
            "granted_at": c.created_at,
        }
        for c in consents
    ]


def revoke_consent(tenant: Tenant, user: User, client_id: str) -> bool:
    """Forget a consent and revoke the user's grants (refresh families) for that client."""
    consent = scope(tenant).first(
        Consent, Consent.user_id == user.id, Consent.client_id == client_id
    )
    if consent is None:
        return False
    db.session.delete(consent)
    now = utcnow()
    for grant in scope(tenant).all(
        Grant, Grant.user_id == user.id, Grant.client_id == client_id, Grant.revoked_at.is_(None)
    ):
        grant.revoked_at = now
    db.session.flush()
    audit.record(tenant, "consent.revoked", target_type="client", target_id=client_id)
    return True
