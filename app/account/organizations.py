"""/account/organizations: my organizations (switch, leave) and my other tenants."""

from __future__ import annotations

from flask import flash
from flask import g
from flask import redirect
from flask import render_template
from flask import url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_login import login_required

from app.account import bp
from app.invitations.forms import ConfirmForm
from app.services import orgs as orgs_service
from app.services import switching
from app.services.errors import ValidationFailed
from app.tenancy import current_tenant
from app.web import tenant_hints
from app.web.session import current_session


@bp.get("/organizations")
@login_required
def organizations():
    session = current_session()
    return render_template(
        "account/organizations.html",
        memberships=orgs_service.orgs_of(current_tenant, current_user),
        active_org_id=session.active_org_id if session else None,
        other_tenants=switching.other_tenants(
            current_tenant, tenant_hints.read(), path_form=g.get("tenant_form") == "path"
        ),
        form=ConfirmForm(),
    )


@bp.post("/organizations/<org_id>/switch")
@login_required
def switch_organization(org_id: str):
    if ConfirmForm().validate_on_submit():
        org = switching.switch_org(current_tenant, current_session(), current_user, org_id)
        flash(_("You are now acting in %(org)s.", org=org.name), "success")
    return redirect(url_for("account.organizations"))


@bp.post("/organizations/clear")
@login_required
def clear_organization():
    if ConfirmForm().validate_on_submit():
        switching.switch_org(current_tenant, current_session(), current_user, None)
        flash(_("No organization is active."), "success")
    return redirect(url_for("account.organizations"))


@bp.get("/organizations/<org_id>/leave")
@login_required
def leave_organization(org_id: str):
    """Ask for confirmation before leaving."""
    org = orgs_service.get_org(current_tenant, org_id)
    return render_template("account/leave_organization.html", org=org, form=ConfirmForm())


@bp.post("/organizations/<org_id>/leave")
@login_required
def leave_organization_submit(org_id: str):
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for("account.leave_organization", org_id=org_id))
    org = orgs_service.get_org(current_tenant, org_id)
    try:
        switching.leave_org(current_tenant, current_session(), current_user, org.id)
    except ValidationFailed:  # its one refusal: the last owner (orgs.remove_member)
        message = _(
            "You are the last owner of %(org)s: name another owner before you leave.", org=org.name
        )
        flash(message, "error")
        return redirect(url_for("account.organizations"))
    flash(_("You left %(org)s.", org=org.name), "success")
    return redirect(url_for("account.organizations"))
