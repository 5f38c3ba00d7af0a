"""Bringing a new tenant to life: its first admin."""

from __future__ import annotations

from app.models import Invitation
from app.models import Tenant
from app.services import invitations


def invite_owner(tenant: Tenant, email: str) -> Invitation:
    """Invite the tenant's owner; accepting makes them the tenant's ``admin``."""
    invitation, _token = invitations.create_invitation(
        tenant, email, roles=["admin"], invited_by="system"
    )
    return invitation
