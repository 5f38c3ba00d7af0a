"""OAuth clients: register, edit redirect URIs and grant types, rotate the secret (shown
once in the response, never stored), delete."""

from __future__ import annotations

import json

from flask import request

from app.admin.access import console_tenant
from app.admin.access import has_recent_auth
from app.admin.access import recent_auth
from app.admin.common import done
from app.admin.common import errors_of
from app.admin.common import form_list
from app.admin.common import respond
from app.admin.common import tenant_route
from app.models import Client
from app.services import backchannel_logout
from app.services import clients as clients_service
from app.services import permissions as permissions_service
from app.services import resources as resources_service
from app.services.errors import ServiceError
from app.tenancy import issuer_for

FORM = "admin/_partials/_client_form.html"


def _data_from_form() -> dict:
    """The client form in RFC 7591 field names (the service validates every value)."""
    return {
        "client_name": (request.form.get("client_name") or "").strip(),
        "redirect_uris": form_list("redirect_uris"),
        "post_logout_redirect_uris": form_list("post_logout_redirect_uris"),
        "grant_types": request.form.getlist("grant_types"),
        "token_endpoint_auth_method": request.form.get("token_endpoint_auth_method", ""),
        "scope": " ".join(request.form.getlist("scope")),
        "id_token_signed_response_alg": request.form.get("id_token_signed_response_alg", ""),
        "first_party": bool(request.form.get("first_party")),
        "require_pushed_authorization_requests": bool(
            request.form.get("require_pushed_authorization_requests")
        ),
        "dpop_bound_access_tokens": bool(request.form.get("dpop_bound_access_tokens")),
        "roles": form_list("roles"),
        "backchannel_logout_uri": (request.form.get("backchannel_logout_uri") or "").strip(),
        "backchannel_logout_session_required": bool(
            request.form.get("backchannel_logout_session_required")
        ),
        "jwks": _jwks_from_form(),
        "jwks_uri": (request.form.get("jwks_uri") or "").strip() or None,
    }


def _jwks_from_form():
    """The JWK Set as JSON; text that is not JSON is passed on for the service to refuse."""
    text = (request.form.get("jwks") or "").strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _choices() -> dict:
    return {
        "grant_choices": sorted(clients_service.GRANT_TYPES),
        "scope_choices": ["openid", "profile", "email", "offline_access"],
        "auth_methods": [
            ("client_secret_basic", "Confidential: client_secret_basic"),
            ("client_secret_post", "Confidential: client_secret_post"),
            ("private_key_jwt", "Confidential: private_key_jwt (signed JWT, no secret)"),
            ("none", "Public (PKCE, no secret)"),
        ],
        "issuer": issuer_for(console_tenant()),
    }


def _api_access(client: Client) -> dict:
    """The client's resource grants and the tenant's APIs, for the API access panel (and
    its recent back-channel logout deliveries, for the panel under it)."""
    tenant = console_tenant()
    grants = permissions_service.client_grants(tenant, [client.id])[client.id]
    return {
        "apis": resources_service.list_resources(tenant),
        "granted": {g["resource"]: set(g["permissions"]) for g in grants},
        "logout_deliveries": backchannel_logout.list_deliveries(tenant, client, limit=20)[:20],
    }


@tenant_route("/clients")
def clients_index():
    return respond("admin/clients.html", clients=clients_service.list_clients(console_tenant()))


@tenant_route("/clients/new", methods=["GET", "POST"])
def clients_create():
    tenant = console_tenant()
    form = {"client_name": "", **clients_service.DEFAULTS}
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = _data_from_form()
        try:
            client, secret = clients_service.create_client(tenant, form)
        except ServiceError as exc:
            errors = errors_of(exc)
        else:
            # Rendered, not redirected: the secret exists only in this response.
            return respond(
                "admin/client.html",
                c=client,
                secret=secret,
                form=None,
                errors={},
                recent=has_recent_auth(),
                created=True,
                **_choices(),
                **_api_access(client),
            )
    return respond(
        "admin/client_new.html",
        status=422 if errors else 200,
        form=form,
        errors=errors,
        **_choices(),
    )


def _client(client_id: str) -> Client:
    return clients_service.get_client(console_tenant(), client_id)  # NotFound -> 404


@tenant_route("/clients/<client_id>")
def clients_show(client_id: str):
    client = _client(client_id)
    return respond(
        "admin/client.html",
        c=client,
        form=None,
        errors={},
        recent=has_recent_auth(),
        **_choices(),
        **_api_access(client),
    )


@tenant_route("/clients/<client_id>/resource-grants", methods=["POST"])
def clients_resource_grants(client_id: str):
    """The API access panel: which APIs (and permissions) client_credentials tokens and
    token exchanges may reach."""
    tenant = console_tenant()
    client = _client(client_id)
    chosen: dict[str, list[str]] = {i: [] for i in request.form.getlist("grant")}
    for value in request.form.getlist("permission"):
        identifier, _, name = value.partition(" ")
        chosen.setdefault(identifier, []).append(name)
    grants = [{"resource": i, "permissions": names} for i, names in chosen.items()]
    try:
        permissions_service.set_client_grants(tenant, client, grants)
    except ServiceError as exc:
        context = {"c": client, "form": None, "errors": {}, "recent": has_recent_auth()}
        access = {**_api_access(client), "access_errors": errors_of(exc)}
        return respond("admin/client.html", status=422, **context, **_choices(), **access)
    return done("API access saved.", "admin.clients_show", client_id=client.id)


@tenant_route("/clients/<client_id>", methods=["POST"], endpoint="clients_update")
def clients_update(client_id: str):
    """Inline edit of the client's settings card."""
    tenant = console_tenant()
    client = _client(client_id)
    data = _data_from_form()
    try:
        clients_service.update_client(tenant, client, data)
    except ServiceError as exc:
        context = {"c": client, "form": data, "errors": errors_of(exc), "recent": has_recent_auth()}
        return respond(
            "admin/client.html", FORM, status=422, **context, **_choices(), **_api_access(client)
        )
    return done(
        "Client saved.",
        "admin.clients_show",
        client_id=client.id,
        partial=FORM,
        context={"c": client, "form": None, "errors": {}, **_choices()},
    )


@tenant_route("/clients/<client_id>/secret", methods=["POST"])
@recent_auth("admin.clients_show")
def clients_rotate_secret(client_id: str):
    tenant = console_tenant()
    client = _client(client_id)
    secret = clients_service.rotate_client_secret(tenant, client)
    return respond(
        "admin/client.html",
        "admin/_partials/_client_secret.html",
        c=client,
        secret=secret,
        form=None,
        errors={},
        recent=True,
        **_choices(),
        **_api_access(client),
    )


@tenant_route("/clients/<client_id>/delete", methods=["POST"])
def clients_delete(client_id: str):
    tenant = console_tenant()
    client = _client(client_id)
    name = client.client_name
    clients_service.delete_client(tenant, client)
    return done(f"Client {name} deleted.", "admin.clients_index")
