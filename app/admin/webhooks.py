"""Webhook endpoints in the console: add, edit, enable/disable, rotate the secret (shown
once), send a test event, and the delivery log with redelivery (HTMX partial)."""

from __future__ import annotations

from flask import request

from app.admin.access import console_tenant
from app.admin.access import recent_auth
from app.admin.common import done
from app.admin.common import errors_of
from app.admin.common import form_list
from app.admin.common import is_htmx
from app.admin.common import respond
from app.admin.common import tenant_route
from app.services import events
from app.services import webhooks
from app.services.errors import ServiceError

LOG = "admin/_partials/_webhook_deliveries.html"


def _form() -> dict:
    return {
        "url": (request.form.get("url") or "").strip(),
        "description": (request.form.get("description") or "").strip(),
        "events": form_list("events") or ["*"],
    }


def _page(endpoint, *, status=200, form=None, errors=None, **extra):
    tenant = console_tenant()
    view = webhooks.endpoint_to_dict(endpoint)
    rows = webhooks.list_deliveries(tenant, endpoint, limit=25)[:25]
    return respond(
        "admin/webhook.html",
        status=status,
        w=view,
        form=form or view,
        errors=errors or {},
        deliveries=rows,
        event_types=events.EVENT_TYPES,
        **extra,
    )


@tenant_route("/webhooks")
def webhooks_index():
    tenant = console_tenant()
    rows = [webhooks.endpoint_to_dict(e) for e in webhooks.list_endpoints(tenant)]
    return respond("admin/webhooks.html", endpoints=rows)


@tenant_route("/webhooks/new", methods=["GET", "POST"])
def webhooks_create():
    tenant = console_tenant()
    form, errors = {"url": "", "description": "", "events": ["*"]}, {}
    if request.method == "POST":
        form = _form()
        try:
            endpoint, secret = webhooks.create_endpoint(tenant, form)
        except ServiceError as exc:
            errors = errors_of(exc)
        else:
            # Rendered, never redirected: the secret exists only in this response.
            return _page(endpoint, secret=secret, notice="Endpoint added.")
    return respond(
        "admin/webhook_new.html",
        status=422 if errors else 200,
        form=form,
        errors=errors,
        event_types=events.EVENT_TYPES,
    )


@tenant_route("/webhooks/<webhook_id>")
def webhooks_show(webhook_id: str):
    return _page(webhooks.get_endpoint(console_tenant(), webhook_id))


@tenant_route("/webhooks/<webhook_id>", methods=["POST"], endpoint="webhooks_update")
def webhooks_update(webhook_id: str):
    tenant = console_tenant()
    endpoint = webhooks.get_endpoint(tenant, webhook_id)
    data = {**_form(), "enabled": request.form.get("enabled") == "on"}
    try:
        webhooks.update_endpoint(tenant, endpoint, data)
    except ServiceError as exc:
        errors = errors_of(exc)
        endpoint = webhooks.get_endpoint(tenant, webhook_id)
        return _page(endpoint, status=422, form=data, errors=errors)
    return done("Endpoint saved.", "admin.webhooks_show", webhook_id=endpoint.id)


@tenant_route("/webhooks/<webhook_id>/secret", methods=["POST"])
@recent_auth("admin.webhooks_show")
def webhooks_rotate_secret(webhook_id: str):
    tenant = console_tenant()
    endpoint = webhooks.get_endpoint(tenant, webhook_id)
    secret = webhooks.rotate_secret(tenant, endpoint)
    return _page(endpoint, secret=secret, notice="New secret: the old one also signs for 24 h.")


@tenant_route("/webhooks/<webhook_id>/test", methods=["POST"])
def webhooks_test(webhook_id: str):
    tenant = console_tenant()
    endpoint = webhooks.get_endpoint(tenant, webhook_id)
    webhooks.send_test(tenant, endpoint)
    return done(
        "Test event queued: it shows in the log once sent.",
        "admin.webhooks_show",
        webhook_id=endpoint.id,
        partial=LOG,
        context=_log_context(endpoint),
    )


@tenant_route("/webhooks/<webhook_id>/deliveries")
def webhooks_deliveries(webhook_id: str):
    endpoint = webhooks.get_endpoint(console_tenant(), webhook_id)
    if not is_htmx():  # opened directly: the endpoint's page, its log included
        return _page(endpoint)
    return respond(LOG, LOG, **_log_context(endpoint))


@tenant_route("/webhooks/<webhook_id>/deliveries/<delivery_id>/redeliver", methods=["POST"])
def webhooks_redeliver(webhook_id: str, delivery_id: str):
    tenant = console_tenant()
    endpoint = webhooks.get_endpoint(tenant, webhook_id)
    try:
        webhooks.redeliver(tenant, endpoint, delivery_id)
        message = "Delivery queued again."
    except ServiceError as exc:
        message = errors_of(exc).get("enabled") or exc.message
    return done(
        message,
        "admin.webhooks_show",
        webhook_id=endpoint.id,
        partial=LOG,
        context=_log_context(endpoint),
    )


@tenant_route("/webhooks/<webhook_id>/delete", methods=["POST"])
def webhooks_delete(webhook_id: str):
    tenant = console_tenant()
    endpoint = webhooks.get_endpoint(tenant, webhook_id)
    url = endpoint.url
    webhooks.delete_endpoint(tenant, endpoint)
    return done(f"Endpoint {url} deleted.", "admin.webhooks_index")


def _log_context(endpoint) -> dict:
    rows = webhooks.list_deliveries(console_tenant(), endpoint, limit=25)[:25]
    return {"w": webhooks.endpoint_to_dict(endpoint), "deliveries": rows}
