"""/v2/admin/tenants/{tenant}/roles: built-in and custom tenant and organization roles."""

from __future__ import annotations

from flask import jsonify

from app.api import bp
from app.api.auth import tenant_for
from app.api.errors import bad_request
from app.api.pagination import page_of_list
from app.api.pagination import page_params
from app.api.routes import created
from app.api.routes import no_content
from app.api.schemas import SCHEMAS
from app.api.serializers import role_to_dict
from app.api.validation import json_body
from app.api.validation import query_str
from app.services import permissions
from app.services import roles as roles_service


@bp.get("/tenants/<tenant_ref>/roles")
def roles_index(tenant_ref):
    tenant = tenant_for(tenant_ref)
    kind = query_str("kind") or None
    if kind not in (None, "tenant", "org"):
        raise bad_request({"kind": "must be 'tenant' or 'org'"})
    after, limit = page_params()
    rows = roles_service.list_roles(tenant, kind)
    held = permissions.permissions_of_roles(tenant, rows)
    return jsonify(page_of_list(rows, after, limit, lambda r: role_to_dict(r, held[r.id])))


@bp.post("/tenants/<tenant_ref>/roles")
def roles_create(tenant_ref):
    tenant = tenant_for(tenant_ref)
    data = json_body(SCHEMAS["RoleCreate"])
    if "permissions" in data:  # checked before the role is written
        permissions.parse_role_permissions(tenant, data["permissions"])
    role = roles_service.create_role(
        tenant, data.get("kind", "tenant"), data["name"], data.get("description", "")
    )
    if data.get("permissions"):
        permissions.set_role_permissions(tenant, role, data["permissions"])
    return created(role_to_dict(role))


@bp.get("/tenants/<tenant_ref>/roles/<role_id>")
def roles_show(tenant_ref, role_id):
    tenant = tenant_for(tenant_ref)
    return jsonify(role_to_dict(roles_service.get_role(tenant, role_id)))


@bp.patch("/tenants/<tenant_ref>/roles/<role_id>")
def roles_update(tenant_ref, role_id):
    tenant = tenant_for(tenant_ref)
    role = roles_service.get_role(tenant, role_id)
    data = json_body(SCHEMAS["RoleUpdate"])
    roles_service.update_role(tenant, role, data.get("description"))
    if "permissions" in data:  # replaces the list (DESIGN §3 "role")
        permissions.set_role_permissions(tenant, role, data["permissions"])
    return jsonify(role_to_dict(role))


@bp.delete("/tenants/<tenant_ref>/roles/<role_id>")
def roles_delete(tenant_ref, role_id):
    tenant = tenant_for(tenant_ref)
    roles_service.delete_role(tenant, roles_service.get_role(tenant, role_id))
    return no_content()
