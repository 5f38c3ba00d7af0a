"""/v2/admin/tenants/{tenant}/orgs/{org}/connections, /domains and /scim-tokens:
an organization's enterprise SSO (DESIGN §3 ``connection``, ``SCIM token``)."""

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
from app.services import connections as connections_service
from app.services import org_domains
from app.services import orgs as orgs_service
from app.services import scim_tokens

ORG = "/tenants/<tenant_ref>/orgs/<org_ref>"


def _tenant_org(tenant_ref, org_ref):
    tenant = tenant_for(tenant_ref)
    return tenant, orgs_service.get_org(tenant, org_ref)


# --- connections ------------------------------------------------------------------------


@bp.get(f"{ORG}/connections")
def connections_index(tenant_ref, org_ref):
    tenant, org = _tenant_org(tenant_ref, org_ref)
    after, limit = page_params()
    rows = connections_service.list_connections(tenant, org)
    return jsonify(
        page_of_list(
            rows, after, limit, lambda c: connections_service.connection_to_dict(tenant, c)
        )
    )


@bp.post(f"{ORG}/connections")
def connections_create(tenant_ref, org_ref):
    tenant, org = _tenant_org(tenant_ref, org_ref)
    data = json_body(SCHEMAS["ConnectionCreate"])
    connection = connections_service.create_connection(tenant, org, data)
    return created(connections_service.connection_to_dict(tenant, connection))


@bp.get(f"{ORG}/connections/<connection_id>")
def connections_show(tenant_ref, org_ref, connection_id):
    tenant, org = _tenant_org(tenant_ref, org_ref)
    connection = connections_service.get_connection(tenant, connection_id, org)
    return jsonify(connections_service.connection_to_dict(tenant, connection))


@bp.patch(f"{ORG}/connections/<connection_id>")
def connections_update(tenant_ref, org_ref, connection_id):
    tenant, org = _tenant_org(tenant_ref, org_ref)
    connection = connections_service.get_connection(tenant, connection_id, org)
    data = json_body(SCHEMAS["ConnectionUpdate"])
    connections_service.update_connection(tenant, org, connection, data)
    return jsonify(connections_service.connection_to_dict(tenant, connection))


@bp.delete(f"{ORG}/connections/<connection_id>")
def connections_delete(tenant_ref, org_ref, connection_id):
    tenant, org = _tenant_org(tenant_ref, org_ref)
    connection = connections_service.get_connection(tenant, connection_id, org)
    connections_service.delete_connection(tenant, connection)
    return no_content()


# --- verified email domains ---------------------------------------------------------------


@bp.get(f"{ORG}/domains")
def org_domains_index(tenant_ref, org_ref):
    tenant, org = _tenant_org(tenant_ref, org_ref)
    after, limit = page_params()
    rows = org_domains.list_domains(tenant, org)
    return jsonify(page_of_list(rows, after, limit, org_domains.domain_to_dict))


@bp.post(f"{ORG}/domains")
def org_domains_create(tenant_ref, org_ref):
    tenant, org = _tenant_org(tenant_ref, org_ref)
    data = json_body(SCHEMAS["OrgDomainCreate"])
    return created(org_domains.domain_to_dict(org_domains.add_domain(tenant, org, data["domain"])))


@bp.post(f"{ORG}/domains/<domain_id>/verify")
def org_domains_verify(tenant_ref, org_ref, domain_id):
    tenant, org = _tenant_org(tenant_ref, org_ref)
    row = org_domains.get_domain(tenant, org, domain_id)
    operator = bool(json_body(SCHEMAS["OrgDomainVerify"], required=False).get("operator"))
    if operator:
        require_instance()
    org_domains.verify_domain(tenant, row, operator=operator)
    return jsonify(org_domains.domain_to_dict(row))


@bp.delete(f"{ORG}/domains/<domain_id>")
def org_domains_delete(tenant_ref, org_ref, domain_id):
    tenant, org = _tenant_org(tenant_ref, org_ref)
    org_domains.delete_domain(tenant, org_domains.get_domain(tenant, org, domain_id))
    return no_content()


# --- SCIM tokens ---------------------------------------------------------------------------


@bp.get(f"{ORG}/scim-tokens")
def scim_tokens_index(tenant_ref, org_ref):
    tenant, org = _tenant_org(tenant_ref, org_ref)
    after, limit = page_params()
    rows = scim_tokens.list_tokens(tenant, org)
    return jsonify(page_of_list(rows, after, limit, scim_tokens.token_to_dict))


@bp.post(f"{ORG}/scim-tokens")
def scim_tokens_create(tenant_ref, org_ref):
    tenant, org = _tenant_org(tenant_ref, org_ref)
    data = json_body(SCHEMAS["ScimTokenCreate"])
    row, token = scim_tokens.create_token(tenant, org, data["name"])
    return created({**scim_tokens.token_to_dict(row), "token": token})


@bp.delete(f"{ORG}/scim-tokens/<token_id>")
def scim_tokens_delete(tenant_ref, org_ref, token_id):
    tenant, org = _tenant_org(tenant_ref, org_ref)
    scim_tokens.revoke_token(tenant, org, token_id)
    return no_content()
