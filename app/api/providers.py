"""/v2/admin/tenants/{tenant}/providers: upstream identity providers (DESIGN §3).

``client_secret`` is write only: accepted on create and update, never answered.
"""

from __future__ import annotations

from flask import jsonify

from app.api import bp
from app.api.auth import tenant_for
from app.api.pagination import page_of_list
from app.api.pagination import page_params
from app.api.routes import created
from app.api.routes import no_content
from app.api.schemas import SCHEMAS
from app.api.validation import json_body
from app.services import providers as providers_service


@bp.get("/tenants/<tenant_ref>/providers")
def providers_index(tenant_ref):
    tenant = tenant_for(tenant_ref)
    after, limit = page_params()
    rows = providers_service.list_providers(tenant)
    return jsonify(page_of_list(rows, after, limit, providers_service.provider_to_dict))


@bp.post("/tenants/<tenant_ref>/providers")
def providers_create(tenant_ref):
    tenant = tenant_for(tenant_ref)
    provider = providers_service.create_provider(tenant, json_body(SCHEMAS["ProviderCreate"]))
    return created(providers_service.provider_to_dict(provider))


@bp.get("/tenants/<tenant_ref>/providers/<provider_id>")
def providers_show(tenant_ref, provider_id):
    tenant = tenant_for(tenant_ref)
    provider = providers_service.get_provider(tenant, provider_id)
    return jsonify(providers_service.provider_to_dict(provider))


@bp.patch("/tenants/<tenant_ref>/providers/<provider_id>")
def providers_update(tenant_ref, provider_id):
    tenant = tenant_for(tenant_ref)
    provider = providers_service.get_provider(tenant, provider_id)
    providers_service.update_provider(tenant, provider, json_body(SCHEMAS["ProviderUpdate"]))
    return jsonify(providers_service.provider_to_dict(provider))


@bp.delete("/tenants/<tenant_ref>/providers/<provider_id>")
def providers_delete(tenant_ref, provider_id):
    tenant = tenant_for(tenant_ref)
    providers_service.delete_provider(tenant, providers_service.get_provider(tenant, provider_id))
    return no_content()
