"""/v2/admin/tenants/{tenant}/domains: custom domains (DESIGN §3 ``domain``)."""

from __future__ import annotations

from flask import jsonify

from app.api import bp
from app.api.auth import require_instance
from app.api.auth import tenant_for
from app.api.pagination import page_of_list
from app.api.pagination import page_params
from app.api.routes import created
from app.api.routes import no_content
from app.api.schemas import SCHEMAS
from app.api.validation import json_body
from app.services import custom_domains


@bp.get("/tenants/<tenant_ref>/domains")
def domains_index(tenant_ref):
    tenant = tenant_for(tenant_ref)
    after, limit = page_params()
    rows = custom_domains.list_domains(tenant)
    return jsonify(page_of_list(rows, after, limit, custom_domains.domain_to_dict))


@bp.post("/tenants/<tenant_ref>/domains")
def domains_create(tenant_ref):
    tenant = tenant_for(tenant_ref)
    data = json_body(SCHEMAS["DomainCreate"])
    return created(custom_domains.domain_to_dict(custom_domains.add_domain(tenant, data["host"])))


@bp.get("/tenants/<tenant_ref>/domains/<custom_domain_id>")
def domains_show(tenant_ref, custom_domain_id):
    tenant = tenant_for(tenant_ref)
    return jsonify(
        custom_domains.domain_to_dict(custom_domains.get_domain(tenant, custom_domain_id))
    )


@bp.post("/tenants/<tenant_ref>/domains/<custom_domain_id>/verify")
def domains_verify(tenant_ref, custom_domain_id):
    tenant = tenant_for(tenant_ref)
    row = custom_domains.get_domain(tenant, custom_domain_id)
    operator = bool(json_body(SCHEMAS["OrgDomainVerify"], required=False).get("operator"))
    if operator:
        require_instance()
    custom_domains.verify_domain(tenant, row, operator=operator)
    return jsonify(custom_domains.domain_to_dict(row))


@bp.delete("/tenants/<tenant_ref>/domains/<custom_domain_id>")
def domains_delete(tenant_ref, custom_domain_id):
    tenant = tenant_for(tenant_ref)
    custom_domains.delete_domain(tenant, custom_domains.get_domain(tenant, custom_domain_id))
    return no_content()
