"""/v2/admin/tenants: list, create (and invite the owner), read, rename, suspend, delete."""

from __future__ import annotations

from flask import jsonify

from app.api import bp
from app.api.auth import require_instance
from app.api.auth import tenant_for
from app.api.pagination import page
from app.api.pagination import page_params
from app.api.routes import created
from app.api.routes import no_content
from app.api.schemas import SCHEMAS
from app.api.serializers import tenant_to_dict
from app.api.validation import json_body
from app.api.validation import query_str
from app.services import onboarding
from app.services import tenants as tenants_service
from app.services.errors import ValidationFailed
from app.services.users import normalize_email


@bp.get("/tenants")
def tenants_index():
    require_instance()
    after, limit = page_params()
    rows = tenants_service.list_tenants(query_str("q"), after=after, limit=limit + 1)
    return jsonify(page(rows, limit, tenant_to_dict))


@bp.post("/tenants")
def tenants_create():
    require_instance()
    data = json_body(SCHEMAS["TenantCreate"])
    try:
        owner_email = normalize_email(data["owner_email"])
    except ValidationFailed as exc:  # report it under the request's field name
        raise ValidationFailed({"owner_email": exc.errors["email"]}) from exc
    tenant = tenants_service.create_tenant(data["name"], data["slug"])
    onboarding.invite_owner(tenant, owner_email)
    return created(tenant_to_dict(tenant))


@bp.get("/tenants/<tenant_ref>")
def tenants_show(tenant_ref):
    return jsonify(tenant_to_dict(tenant_for(tenant_ref)))


@bp.patch("/tenants/<tenant_ref>")
def tenants_update(tenant_ref):
    tenant = tenant_for(tenant_ref)
    data = json_body(SCHEMAS["TenantUpdate"])
    if "status" in data and data["status"] != tenant.status:
        # A tenant key must not lift (or impose) its own tenant's suspension.
        require_instance()
    if "quotas" in data:
        require_instance()  # a tenant never sets its own limits
    if "name" in data:
        tenants_service.rename_tenant(tenant, data["name"])
    if "status" in data:
        tenants_service.set_status(tenant, data["status"])
    if "quotas" in data:
        tenants_service.set_quotas(tenant, data["quotas"])
    return jsonify(tenant_to_dict(tenant))


@bp.delete("/tenants/<tenant_ref>")
def tenants_delete(tenant_ref):
    tenant = tenant_for(tenant_ref)
    require_instance()
    data = json_body(SCHEMAS["TenantDelete"], required=False)
    confirm = data.get("confirm") or query_str("confirm")
    tenants_service.delete_tenant(tenant, confirm)
    return no_content()
