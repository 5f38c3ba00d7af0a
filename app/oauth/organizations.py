"""Reading a user's organizations for the authorize flow (the org services are another
area's; this only reads Membership/Organization through the tenant scope)."""

from __future__ import annotations

from app.models import BrowserSession
from app.models import Membership
from app.models import Organization
from app.models import Tenant
from app.models import User
from app.services.roles import org_role_names
from app.tenancy import scope


def user_organizations(tenant: Tenant, user: User) -> list[Organization]:
    """The organizations of this tenant the user is a member of, by name."""
    org_ids = [m.org_id for m in scope(tenant).all(Membership, Membership.user_id == user.id)]
    if not org_ids:
        return []
    return scope(tenant).all(Organization, Organization.id.in_(org_ids), order_by=Organization.name)


def session_organization(tenant: Tenant, user: User, session: BrowserSession) -> str | None:
    """The session's active organization, if the user is still a member of it."""
    org_id = session.active_org_id
    if org_id and org_role_names(tenant, user, org_id) is not None:
        return org_id
    return None
