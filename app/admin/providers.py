"""Upstream identity providers in the console: register (OpenID Connect by discovery URL,
or the Google, Microsoft and GitHub presets), edit, replace the secret, delete.

The client secret is write only: the form never shows it, an empty field keeps it.
"""

from __future__ import annotations

from flask import request

from app.admin.access import console_tenant
from app.admin.common import done
from app.admin.common import errors_of
from app.admin.common import respond
from app.admin.common import tenant_route
from app.services import providers as providers_service
from app.services.errors import ServiceError

KIND_CHOICES = [
    ("oidc", "OpenID Connect (any provider, by discovery URL)"),
    ("google", "Google"),
    ("microsoft", "Microsoft (work, school and personal accounts)"),
    ("github", "GitHub"),
]


def _data_from_form(*, creating: bool) -> dict:
    data = {
        "name": (request.form.get("name") or "").strip(),
        "client_id": (request.form.get("client_id") or "").strip(),
        "scopes": (request.form.get("scopes") or "").split(),
    }
    kind = request.form.get("kind", "") if creating else None
    if creating:
        data["kind"] = kind
    discovery = (request.form.get("discovery_url") or "").strip()
    if discovery:
        data["discovery_url"] = discovery
    secret = request.form.get("client_secret") or ""
    if creating or secret:
        data["client_secret"] = secret
    return data


@tenant_route("/providers")
def providers_index():
    tenant = console_tenant()
    rows = [providers_service.provider_to_dict(p) for p in providers_service.list_providers(tenant)]
    return respond("admin/providers.html", providers=rows)


@tenant_route("/providers/new", methods=["GET", "POST"])
def providers_create():
    tenant = console_tenant()
    form = {"kind": "oidc", "name": "", "discovery_url": "", "client_id": "", "scopes": []}
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = _data_from_form(creating=True)
        try:
            provider = providers_service.create_provider(tenant, form)
        except ServiceError as exc:
            errors = errors_of(exc)
        else:
            return done(
                f"Provider {provider.name} added. Register its redirect URI at the provider.",
                "admin.providers_show",
                provider_id=provider.id,
            )
    form.pop("client_secret", None)
    return respond(
        "admin/provider_new.html",
        status=422 if errors else 200,
        form=form,
        errors=errors,
        kinds=KIND_CHOICES,
    )


@tenant_route("/providers/<provider_id>")
def providers_show(provider_id: str):
    provider = providers_service.get_provider(console_tenant(), provider_id)
    p = providers_service.provider_to_dict(provider)
    return respond("admin/provider.html", p=p, form=p, errors={})


@tenant_route("/providers/<provider_id>", methods=["POST"], endpoint="providers_update")
def providers_update(provider_id: str):
    tenant = console_tenant()
    provider = providers_service.get_provider(tenant, provider_id)
    data = _data_from_form(creating=False)
    try:
        providers_service.update_provider(tenant, provider, data)
    except ServiceError as exc:
        errors = errors_of(exc)
        p = providers_service.provider_to_dict(provider)
        data.pop("client_secret", None)
        return respond("admin/provider.html", status=422, p=p, form={**p, **data}, errors=errors)
    return done("Provider saved.", "admin.providers_show", provider_id=provider.id)


@tenant_route("/providers/<provider_id>/delete", methods=["POST"])
def providers_delete(provider_id: str):
    tenant = console_tenant()
    provider = providers_service.get_provider(tenant, provider_id)
    name = provider.name
    providers_service.delete_provider(tenant, provider)
    return done(f"Provider {name} deleted.", "admin.providers_index")
