"""/v2/admin/tenants/{tenant}/orgs and .../orgs/{org}/members."""

from __future__ import annotations

from flask import jsonify

from app.api import bp
from app.api.auth import tenant_for
from app.api.pagination import page
from app.api.pagination import page_of_list
from app.api.pagination import page_params
from app.api.routes import created
from app.api.routes import no_content
from app.api.schemas import SCHEMAS
from app.api.serializers import member_to_dict
from app.api.serializers import org_to_dict
from app.api.validation import json_body
from app.api.validation import query_str
from app.services import orgs as orgs_service
from app.services import users as users_service
from app.services.errors import NotFound
from app.services.errors import ValidationFailed


@bp.get("/tenants/<tenant_ref>/orgs")
def orgs_index(tenant_ref):
    tenant = tenant_for(tenant_ref)
    after, limit = page_params()
    rows = orgs_service.list_orgs(tenant, query_str("q"), after=after, limit=limit + 1)
    return jsonify(page(rows, limit, org_to_dict))


@bp.post("/tenants/<tenant_ref>/orgs")
def orgs_create(tenant_ref):
    tenant = tenant_for(tenant_ref)
    data = json_body(SCHEMAS["OrgCreate"])
    org = orgs_service.create_org(tenant, data["name"], data.get("slug"), data.get("domains"))
    return created(org_to_dict(org))


@bp.get("/tenants/<tenant_ref>/orgs/<org_ref>")
def orgs_show(tenant_ref, org_ref):
    tenant = tenant_for(tenant_ref)
    return jsonify(org_to_dict(orgs_service.get_org(tenant, org_ref)))


@bp.patch("/tenants/<tenant_ref>/orgs/<org_ref>")
def orgs_update(tenant_ref, org_ref):
    tenant = tenant_for(tenant_ref)
    org = orgs_service.get_org(tenant, org_ref)
    orgs_service.update_org(tenant, org, **json_body(SCHEMAS["OrgUpdate"]))
    return jsonify(org_to_dict(org))


@bp.delete("/tenants/<tenant_ref>/orgs/<org_ref>")
def orgs_delete(tenant_ref, org_ref):
    tenant = tenant_for(tenant_ref)
    org = orgs_service.get_org(tenant, org_ref)
    data = json_body(SCHEMAS["OrgDelete"], required=False)
    orgs_service.delete_org(tenant, org, data.get("confirm") or query_str("confirm"))
    return no_content()


# --- members ---------------------------------------------------------------------------


def _member(tenant, org, user_id: str) -> dict:
    for entry in orgs_service.list_members(tenant, org):
        if entry["user"].id == user_id:
            return entry
    raise NotFound("This user is not a member of the organization.")


@bp.get("/tenants/<tenant_ref>/orgs/<org_ref>/members")
def members_index(tenant_ref, org_ref):
    tenant = tenant_for(tenant_ref)
    org = orgs_service.get_org(tenant, org_ref)
    after, limit = page_params()
    rows = orgs_service.list_members(tenant, org)
    return jsonify(
        page_of_list(rows, after, limit, member_to_dict, key=lambda e: e["membership"].id)
    )


@bp.post("/tenants/<tenant_ref>/orgs/<org_ref>/members")
def members_add(tenant_ref, org_ref):
    tenant = tenant_for(tenant_ref)
    org = orgs_service.get_org(tenant, org_ref)
    data = json_body(SCHEMAS["MemberAdd"])
    try:
        user = users_service.get_user(tenant, data["user_id"])
    except NotFound as exc:
        raise ValidationFailed({"user_id": "no such user in this tenant"}) from exc
    orgs_service.add_member(tenant, org, user, data.get("roles") or ["member"])
    return created(member_to_dict(_member(tenant, org, user.id)))


@bp.get("/tenants/<tenant_ref>/orgs/<org_ref>/members/<user_id>")
def members_show(tenant_ref, org_ref, user_id):
    tenant = tenant_for(tenant_ref)
    org = orgs_service.get_org(tenant, org_ref)
    return jsonify(member_to_dict(_member(tenant, org, user_id)))


@bp.put("/tenants/<tenant_ref>/orgs/<org_ref>/members/<user_id>/roles")
def members_roles(tenant_ref, org_ref, user_id):
    tenant = tenant_for(tenant_ref)
    org = orgs_service.get_org(tenant, org_ref)
    user = users_service.get_user(tenant, user_id)
    roles = json_body(SCHEMAS["RolesReplace"])["roles"]
    orgs_service.set_member_roles(tenant, org, user, roles)
    return jsonify(member_to_dict(_member(tenant, org, user.id)))


@bp.delete("/tenants/<tenant_ref>/orgs/<org_ref>/members/<user_id>")
def members_remove(tenant_ref, org_ref, user_id):
    tenant = tenant_for(tenant_ref)
    org = orgs_service.get_org(tenant, org_ref)
    orgs_service.remove_member(tenant, org, users_service.get_user(tenant, user_id))
    return no_content()
