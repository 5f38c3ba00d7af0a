"""/v2/admin/tenants/{tenant}/invitations: invite by email (to the tenant and optionally an
organization), resend, revoke. The link itself only ever travels by email."""

from __future__ import annotations

from flask import jsonify

from app.api import bp
from app.api.auth import principal
from app.api.auth import tenant_for
from app.api.pagination import page_of_list
from app.api.pagination import page_params
from app.api.routes import created
from app.api.schemas import SCHEMAS
from app.api.serializers import invitation_to_dict
from app.api.validation import json_body
from app.api.validation import query_str
from app.services import invitations as invitations_service


@bp.get("/tenants/<tenant_ref>/invitations")
def invitations_index(tenant_ref):
    tenant = tenant_for(tenant_ref)
    after, limit = page_params()
    rows = invitations_service.list_invitations(tenant, query_str("status") or None)
    return jsonify(page_of_list(rows, after, limit, invitation_to_dict))


@bp.post("/tenants/<tenant_ref>/invitations")
def invitations_create(tenant_ref):
    tenant = tenant_for(tenant_ref)
    data = json_body(SCHEMAS["InvitationCreate"])
    caller = principal()
    invitation, _token = invitations_service.create_invitation(
        tenant,
        data["email"],
        roles=data.get("roles"),
        org_id=data.get("org_id"),
        org_roles=data.get("org_roles"),
        invited_by=f"{caller.kind}:{caller.id}",
    )
    return created(invitation_to_dict(invitation))


@bp.get("/tenants/<tenant_ref>/invitations/<invitation_id>")
def invitations_show(tenant_ref, invitation_id):
    tenant = tenant_for(tenant_ref)
    invitation = invitations_service.get_invitation(tenant, invitation_id)
    return jsonify(invitation_to_dict(invitation))


@bp.post("/tenants/<tenant_ref>/invitations/<invitation_id>/resend")
def invitations_resend(tenant_ref, invitation_id):
    tenant = tenant_for(tenant_ref)
    invitation = invitations_service.get_invitation(tenant, invitation_id)
    invitations_service.resend_invitation(tenant, invitation)
    return jsonify(invitation_to_dict(invitation))


@bp.post("/tenants/<tenant_ref>/invitations/<invitation_id>/revoke")
def invitations_revoke(tenant_ref, invitation_id):
    tenant = tenant_for(tenant_ref)
    invitation = invitations_service.get_invitation(tenant, invitation_id)
    invitations_service.revoke_invitation(tenant, invitation)
    return jsonify(invitation_to_dict(invitation))
