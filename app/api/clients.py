"""/v2/admin/tenants/{tenant}/clients: OAuth clients (RFC 7591 metadata names).

The secret is in the create and rotate answers only; it is stored as a digest.
"""

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
from app.api.validation import json_body
from app.services import backchannel_logout
from app.services import clients as clients_service
from app.services import permissions


@bp.get("/tenants/<tenant_ref>/clients")
def clients_index(tenant_ref):
    tenant = tenant_for(tenant_ref)
    after, limit = page_params()
    rows = clients_service.list_clients(tenant)
    grants = permissions.client_grants(tenant, [c.id for c in rows])
    return jsonify(
        page_of_list(rows, after, limit, lambda c: clients_service.client_to_dict(c, grants[c.id]))
    )


@bp.post("/tenants/<tenant_ref>/clients")
def clients_create(tenant_ref):
    tenant = tenant_for(tenant_ref)
    client, secret = clients_service.create_client(tenant, json_body(SCHEMAS["ClientCreate"]))
    payload = clients_service.client_to_dict(client)
    if secret is not None:
        payload["client_secret"] = secret
    return created(payload)


@bp.get("/tenants/<tenant_ref>/clients/<client_id>")
def clients_show(tenant_ref, client_id):
    tenant = tenant_for(tenant_ref)
    return jsonify(clients_service.client_to_dict(clients_service.get_client(tenant, client_id)))


@bp.patch("/tenants/<tenant_ref>/clients/<client_id>")
def clients_update(tenant_ref, client_id):
    tenant = tenant_for(tenant_ref)
    client = clients_service.get_client(tenant, client_id)
    clients_service.update_client(tenant, client, json_body(SCHEMAS["ClientUpdate"]))
    return jsonify(clients_service.client_to_dict(client))


@bp.delete("/tenants/<tenant_ref>/clients/<client_id>")
def clients_delete(tenant_ref, client_id):
    tenant = tenant_for(tenant_ref)
    clients_service.delete_client(tenant, clients_service.get_client(tenant, client_id))
    return no_content()


@bp.post("/tenants/<tenant_ref>/clients/<client_id>/secret")
def clients_rotate_secret(tenant_ref, client_id):
    tenant = tenant_for(tenant_ref)
    client = clients_service.get_client(tenant, client_id)
    secret = clients_service.rotate_client_secret(tenant, client)
    return jsonify({"client_id": client.id, "client_secret": secret})


@bp.get("/tenants/<tenant_ref>/clients/<client_id>/backchannel-logout-deliveries")
def clients_logout_deliveries(tenant_ref, client_id):
    """The client's back-channel logout deliveries, newest first, with every attempt."""
    tenant = tenant_for(tenant_ref)
    client = clients_service.get_client(tenant, client_id)
    before, limit = page_params()
    rows = backchannel_logout.list_deliveries(tenant, client, before=before, limit=limit)
    return jsonify(page(rows, limit, backchannel_logout.delivery_to_dict))
