"""/v2/admin/tenants/{tenant}/webhooks and /events: endpoints, their delivery log,
redelivery, test events, secret rotation, and polling the event stream by cursor.

The system tenant's endpoints receive the instance's ``tenant.*`` events.
"""

from __future__ import annotations

from datetime import timedelta

from flask import jsonify

from app.api import bp
from app.api.auth import tenant_for
from app.api.pagination import encode_cursor
from app.api.pagination import page
from app.api.pagination import page_of_list
from app.api.pagination import page_params
from app.api.routes import created
from app.api.routes import no_content
from app.api.schemas import SCHEMAS
from app.api.validation import json_body
from app.api.validation import query_str
from app.services import events
from app.services import webhooks


def _endpoint(tenant_ref: str, webhook_id: str):
    tenant = tenant_for(tenant_ref)
    return tenant, webhooks.get_endpoint(tenant, webhook_id)


@bp.get("/tenants/<tenant_ref>/webhooks")
def webhooks_index(tenant_ref):
    tenant = tenant_for(tenant_ref)
    after, limit = page_params()
    rows = webhooks.list_endpoints(tenant)
    return jsonify(page_of_list(rows, after, limit, webhooks.endpoint_to_dict))


@bp.post("/tenants/<tenant_ref>/webhooks")
def webhooks_create(tenant_ref):
    tenant = tenant_for(tenant_ref)
    endpoint, secret = webhooks.create_endpoint(tenant, json_body(SCHEMAS["WebhookCreate"]))
    return created({**webhooks.endpoint_to_dict(endpoint), "secret": secret})


@bp.get("/tenants/<tenant_ref>/webhooks/<webhook_id>")
def webhooks_show(tenant_ref, webhook_id):
    _, endpoint = _endpoint(tenant_ref, webhook_id)
    return jsonify(webhooks.endpoint_to_dict(endpoint))


@bp.patch("/tenants/<tenant_ref>/webhooks/<webhook_id>")
def webhooks_update(tenant_ref, webhook_id):
    tenant, endpoint = _endpoint(tenant_ref, webhook_id)
    webhooks.update_endpoint(tenant, endpoint, json_body(SCHEMAS["WebhookUpdate"]))
    return jsonify(webhooks.endpoint_to_dict(endpoint))


@bp.delete("/tenants/<tenant_ref>/webhooks/<webhook_id>")
def webhooks_delete(tenant_ref, webhook_id):
    tenant, endpoint = _endpoint(tenant_ref, webhook_id)
    webhooks.delete_endpoint(tenant, endpoint)
    return no_content()


@bp.post("/tenants/<tenant_ref>/webhooks/<webhook_id>/secret")
def webhooks_rotate_secret(tenant_ref, webhook_id):
    tenant, endpoint = _endpoint(tenant_ref, webhook_id)
    body = json_body(SCHEMAS["WebhookSecretRotate"], required=False)
    overlap = timedelta(seconds=body.get("overlap_seconds", 86400))
    secret = webhooks.rotate_secret(tenant, endpoint, overlap)
    view = webhooks.endpoint_to_dict(endpoint)
    return jsonify(
        {"id": endpoint.id, "secret": secret, "secret_overlap_until": view["secret_overlap_until"]}
    )


@bp.post("/tenants/<tenant_ref>/webhooks/<webhook_id>/test")
def webhooks_test(tenant_ref, webhook_id):
    tenant, endpoint = _endpoint(tenant_ref, webhook_id)
    delivery = webhooks.send_test(tenant, endpoint)
    response = jsonify(webhooks.delivery_to_dict(delivery))
    response.status_code = 202
    return response


@bp.get("/tenants/<tenant_ref>/webhooks/<webhook_id>/deliveries")
def webhooks_deliveries(tenant_ref, webhook_id):
    tenant, endpoint = _endpoint(tenant_ref, webhook_id)
    before, limit = page_params()
    rows = webhooks.list_deliveries(tenant, endpoint, before=before, limit=limit)
    return jsonify(page(rows, limit, webhooks.delivery_to_dict))


@bp.post("/tenants/<tenant_ref>/webhooks/<webhook_id>/deliveries/<delivery_id>/redeliver")
def webhooks_redeliver(tenant_ref, webhook_id, delivery_id):
    tenant, endpoint = _endpoint(tenant_ref, webhook_id)
    delivery = webhooks.redeliver(tenant, endpoint, delivery_id)
    response = jsonify(webhooks.delivery_to_dict(delivery))
    response.status_code = 202
    return response


@bp.get("/tenants/<tenant_ref>/events")
def events_index(tenant_ref):
    """Oldest first after ``cursor``; ``next_cursor`` is where to resume, even at the end."""
    tenant = tenant_for(tenant_ref)
    after, limit = page_params()
    prefix = query_str("type", max_length=64).removesuffix("*")
    rows = events.list_events(tenant, after=after, limit=limit, type_prefix=prefix)
    more = len(rows) > limit
    rows = rows[:limit]
    resume = rows[-1].id if rows else after
    return jsonify(
        {
            "items": [events.payload(row) for row in rows],
            "next_cursor": encode_cursor(resume) if resume else None,
            "has_more": more,
        }
    )
