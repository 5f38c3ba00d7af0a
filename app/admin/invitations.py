"""Invitations of a tenant (optionally into an organization): send, resend, revoke."""

from __future__ import annotations

from flask import request
from flask_login import current_user

from app.admin.access import console_tenant
from app.admin.common import done
from app.admin.common import errors_of
from app.admin.common import respond
from app.admin.common import tenant_route
from app.models import Tenant
from app.services import invitations as invitations_service
from app.services import orgs as orgs_service
from app.services import roles as roles_service
from app.services.errors import ServiceError

TABLE = "admin/_partials/_invitations_table.html"


def _table(tenant: Tenant, **extra) -> dict:
    return {
        "invitations": invitations_service.list_invitations(tenant),
        "status_of": invitations_service.status_of,
        "org_names": {o.id: o.name for o in orgs_service.list_orgs(tenant, limit=200)},
        **extra,
    }


def _form_context(tenant: Tenant, form: dict, errors: dict) -> dict:
    return {
        "form": form,
        "errors": errors,
        "role_names": [r.name for r in roles_service.list_roles(tenant, "tenant")],
        "org_role_names": [r.name for r in roles_service.list_roles(tenant, "org")],
        "orgs": orgs_service.list_orgs(tenant, limit=200),
    }


@tenant_route("/invitations")
def invitations_index():
    return respond("admin/invitations.html", TABLE, **_table(console_tenant()))


@tenant_route("/invitations/new", methods=["GET", "POST"])
def invitations_create():
    tenant = console_tenant()
    form = {
        "email": "",
        "roles": ["member"],
        "org_id": request.args.get("org_id", ""),
        "org_roles": ["member"],
    }
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = {
            "email": (request.form.get("email") or "").strip(),
            "roles": request.form.getlist("roles"),
            "org_id": request.form.get("org_id") or "",
            "org_roles": request.form.getlist("org_roles"),
        }
        try:
            invitation, _token = invitations_service.create_invitation(
                tenant,
                form["email"],
                roles=form["roles"] or ["member"],
                org_id=form["org_id"] or None,
                org_roles=(form["org_roles"] or None) if form["org_id"] else None,
                invited_by=current_user.id,
            )
        except ServiceError as exc:
            errors = errors_of(exc)
        else:
            return done(f"Invitation sent to {invitation.email}.", "admin.invitations_index")
    return respond(
        "admin/invitation_new.html",
        status=422 if errors else 200,
        **_form_context(tenant, form, errors),
    )


@tenant_route("/invitations/<invitation_id>/resend", methods=["POST"])
def invitations_resend(invitation_id: str):
    tenant = console_tenant()
    invitation = invitations_service.get_invitation(tenant, invitation_id)  # NotFound -> 404
    invitations_service.resend_invitation(tenant, invitation)
    return done(
        f"Invitation re-sent to {invitation.email}.",
        "admin.invitations_index",
        partial=TABLE,
        context=_table(tenant),
    )


@tenant_route("/invitations/<invitation_id>/revoke", methods=["POST"])
def invitations_revoke(invitation_id: str):
    tenant = console_tenant()
    invitation = invitations_service.get_invitation(tenant, invitation_id)
    invitations_service.revoke_invitation(tenant, invitation)
    return done(
        f"Invitation to {invitation.email} revoked.",
        "admin.invitations_index",
        partial=TABLE,
        context=_table(tenant),
    )
