"""/v2/admin/tenants/{tenant}/resources: the tenant's APIs and their permissions
(RFC 8707 resource indicators); and a user's effective permissions."""

from __future__ import annotations

from flask import jsonify

from app.api import bp
from app.api.auth import tenant_for
from app.api.pagination import page_of_list
from app.api.pagination import page_params
from app.api.routes import created
from app.api.routes import no_content
from app.api.schemas import SCHEMAS
from app.api.serializers import resource_to_dict
from app.api.validation import json_body
from app.api.validation import query_str
from app.services import orgs as orgs_service
from app.services import permissions
from app.services import resources as resources_service
from app.services import users as users_service


@bp.get("/tenants/<tenant_ref>/resources")
def resources_index(tenant_ref):
    tenant = tenant_for(tenant_ref)
    after, limit = page_params()
    rows = resources_service.list_resources(tenant)
    return jsonify(page_of_list(rows, after, limit, resource_to_dict))


@bp.post("/tenants/<tenant_ref>/resources")
def resources_create(tenant_ref):
    tenant = tenant_for(tenant_ref)
    resource = resources_service.create_resource(tenant, json_body(SCHEMAS["ResourceCreate"]))
    return created(resource_to_dict(resource))


@bp.get("/tenants/<tenant_ref>/resources/<resource_id>")
def resources_show(tenant_ref, resource_id):
    tenant = tenant_for(tenant_ref)
    return jsonify(resource_to_dict(resources_service.get_resource(tenant, resource_id)))


@bp.patch("/tenants/<tenant_ref>/resources/<resource_id>")
def resources_update(tenant_ref, resource_id):
    tenant = tenant_for(tenant_ref)
    resource = resources_service.get_resource(tenant, resource_id)
    resources_service.update_resource(tenant, resource, json_body(SCHEMAS["ResourceUpdate"]))
    return jsonify(resource_to_dict(resource))


@bp.delete("/tenants/<tenant_ref>/resources/<resource_id>")
def resources_delete(tenant_ref, resource_id):
    tenant = tenant_for(tenant_ref)
    resources_service.delete_resource(tenant, resources_service.get_resource(tenant, resource_id))
    return no_content()


@bp.get("/tenants/<tenant_ref>/users/<user_id>/permissions")
def users_permissions(tenant_ref, user_id):
    """What the user's tokens may carry: tenant roles, plus roles in ``?org=``."""
    tenant = tenant_for(tenant_ref)
    user = users_service.get_user(tenant, user_id)
    org_ref = query_str("org", max_length=100)
    org = orgs_service.get_org(tenant, org_ref) if org_ref else None
    return jsonify(permissions.user_access(tenant, user, org.id if org else None))
