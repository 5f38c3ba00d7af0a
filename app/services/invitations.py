"""Invitations to a tenant, optionally to an organization with roles."""

from __future__ import annotations

from datetime import timedelta

from app.extensions import db
from app.models import Invitation
from app.models import Tenant
from app.models.base import utcnow
from app.security.tokens import digest
from app.security.tokens import new_token
from app.services import audit
from app.services.mail import send_mail
from app.services.settings import display_name
from app.services.users import normalize_email
from app.tenancy import external_url

INVITATION_TTL = timedelta(days=7)


def invitation_link(tenant: Tenant, token: str) -> str:
    """The acceptance link, from the tenant's configured origin (never the Host header)."""
    return external_url(tenant, f"/invitations/{token}")


def create_invitation(
    tenant: Tenant,
    email: str,
    *,
    roles: list[str] | None = None,
    org_id: str | None = None,
    invited_by: str | None = None,
) -> tuple[Invitation, str]:
    """Store a single-use, expiring invitation and email its link; returns (row, token)."""
    email = normalize_email(email)
    token = new_token()
    invitation = Invitation(
        email=email,
        org_id=org_id,
        roles=sorted(set(roles or ["member"])),
        token_digest=digest(token),
        invited_by=invited_by,
        expires_at=utcnow() + INVITATION_TTL,
    )
    from app.tenancy import scope

    scope(tenant).add(invitation)
    db.session.flush()
    _send(tenant, invitation, token)
    audit.record(
        tenant,
        "invitation.created",
        target_type="invitation",
        target_id=invitation.id,
        email=email,
        org_id=org_id,
        roles=invitation.roles,
    )
    return invitation, token


def _send(tenant: Tenant, invitation: Invitation, token: str) -> None:
    name = display_name(tenant)
    send_mail(
        tenant,
        invitation.email,
        f"You're invited to {name}",
        f"You have been invited to join {name}.\n\n"
        f"Accept the invitation: {invitation_link(tenant, token)}\n\n"
        f"The link works once and expires on {invitation.expires_at:%Y-%m-%d %H:%M} UTC.\n",
    )
