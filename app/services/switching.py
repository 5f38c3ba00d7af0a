"""Switching what a browser acts as: the active organization of a session, leaving an
organization, and the other tenants where the same browser holds a live session."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _

from app.extensions import db
from app.models import BrowserSession
from app.models import Tenant
from app.models import User
from app.services import audit
from app.services import orgs as orgs_service
from app.services import roles as roles_service
from app.services.errors import PermissionDenied
from app.services.sessions import is_live
from app.tenancy import scope


def switch_org(tenant: Tenant, session: BrowserSession, user: User, org_ref: str | None):
    """Make ``org_ref`` the session's active organization (None clears it); members only."""
    org = None
    if org_ref:
        org = orgs_service.get_org(tenant, org_ref)
        if roles_service.org_role_names(tenant, user, org.id) is None:
            raise PermissionDenied(_("You are not a member of this organization."))
    if session.user_id != user.id or session.tenant_id != tenant.id:
        raise PermissionDenied("Not your session.")
    before = session.active_org_id
    session.active_org_id = org.id if org else None
    db.session.flush()
    if before != session.active_org_id:
        audit.record(
            tenant,
            "org.switched",
            target_type="session",
            target_id=session.id,
            before=before,
            after=session.active_org_id,
        )
    return org


def leave_org(tenant: Tenant, session: BrowserSession | None, user: User, org_ref: str) -> None:
    """The user leaves an organization (not its last owner); it stops being active."""
    org = orgs_service.get_org(tenant, org_ref)
    orgs_service.remove_member(tenant, org, user, action="org.left")
    if session is not None and session.active_org_id == org.id:
        session.active_org_id = None


@dataclass(frozen=True)
class OtherTenant:
    tenant: Tenant
    email: str
    account_url: str


def hinted_origin(tenant: Tenant, *, path_form: bool) -> str:
    """Where the hinted session's cookie lives: the same URL form the hint was shared in.

    A hint seen under ``/t/<slug>`` was set under ``/t/<other>`` on the base host; one seen
    on a subdomain was set on another subdomain. Built from configuration, never the Host.
    """
    scheme, base = current_app.config["URL_SCHEME"], current_app.config["BASE_DOMAIN"]
    if tenant.is_system:
        return f"{scheme}://{base}"
    if path_form:
        return f"{scheme}://{base}/t/{tenant.slug}"
    return f"{scheme}://{tenant.slug}.{base}"


def other_tenants(
    current: Tenant, hints: list[tuple[str, str]], *, path_form: bool = False
) -> list[OtherTenant]:
    """The hinted (tenant id, session id) pairs whose session is still live, except ``current``.

    The hint comes from a signed cookie; liveness is checked here, server-side, in each
    tenant's own scope, so an ended or expired session is never listed.
    """
    found, seen = [], {current.id}
    for tenant_id, session_id in hints:
        if tenant_id in seen:
            continue
        other = db.session.get(Tenant, tenant_id)
        if other is None or not other.is_active:
            continue
        session = scope(other).get(BrowserSession, session_id)
        if session is None or not is_live(session, other):
            continue
        user = scope(other).get(User, session.user_id)
        if user is None or not user.is_active:
            continue
        seen.add(tenant_id)
        origin = hinted_origin(other, path_form=path_form)
        found.append(OtherTenant(other, user.email, origin + "/account"))
    return found
