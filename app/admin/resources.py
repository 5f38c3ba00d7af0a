"""API resources in the console: define an API (identifier, name, permissions, token
lifetime), edit it, delete it. Permissions are typed one per line: ``name description``."""

from __future__ import annotations

from flask import request

from app.admin.access import console_tenant
from app.admin.common import done
from app.admin.common import errors_of
from app.admin.common import respond
from app.admin.common import tenant_route
from app.services import resources as resources_service
from app.services.errors import ServiceError


def permissions_text(permissions: list[dict]) -> str:
    """The textarea's text for a permission list."""
    return "\n".join(f"{p['name']} {p['description']}".strip() for p in permissions or [])


def _permissions_from_text(text: str) -> list[dict]:
    out = []
    for line in (text or "").splitlines():
        name, _, description = line.strip().partition(" ")
        if name:
            out.append({"name": name, "description": description.strip()})
    return out


def _data_from_form(*, creating: bool) -> dict:
    data = {
        "name": request.form.get("name") or "",
        "permissions": _permissions_from_text(request.form.get("permissions", "")),
    }
    ttl = (request.form.get("access_token_ttl_seconds") or "").strip()
    data["access_token_ttl_seconds"] = (int(ttl) if ttl.isdigit() else ttl) if ttl else None
    if creating:
        data["identifier"] = (request.form.get("identifier") or "").strip()
    return data


def _form_values(data: dict) -> dict:
    return {**data, "permissions_text": permissions_text(data.get("permissions", []))}


@tenant_route("/resources")
def resources_index():
    rows = resources_service.list_resources(console_tenant())
    return respond("admin/resources.html", resources=rows)


@tenant_route("/resources/new", methods=["GET", "POST"])
def resources_create():
    tenant = console_tenant()
    form = {"identifier": "", "name": "", "permissions_text": "", "access_token_ttl_seconds": None}
    errors: dict[str, str] = {}
    if request.method == "POST":
        data = _data_from_form(creating=True)
        try:
            resource = resources_service.create_resource(tenant, data)
        except ServiceError as exc:
            errors, form = errors_of(exc), _form_values(data)
        else:
            return done(
                f"API {resource.name} created. Give its permissions to roles next.",
                "admin.resources_show",
                resource_id=resource.id,
            )
    return respond(
        "admin/resource_new.html", status=422 if errors else 200, form=form, errors=errors
    )


@tenant_route("/resources/<resource_id>")
def resources_show(resource_id: str):
    resource = resources_service.get_resource(console_tenant(), resource_id)
    form = {
        "name": resource.name,
        "permissions_text": permissions_text(resource.permissions),
        "access_token_ttl_seconds": resource.access_token_ttl_seconds,
    }
    return respond("admin/resource.html", r=resource, form=form, errors={})


@tenant_route("/resources/<resource_id>", methods=["POST"], endpoint="resources_update")
def resources_update(resource_id: str):
    tenant = console_tenant()
    resource = resources_service.get_resource(tenant, resource_id)
    data = _data_from_form(creating=False)
    try:
        resources_service.update_resource(tenant, resource, data)
    except ServiceError as exc:
        errors = errors_of(exc)
        resource = resources_service.get_resource(tenant, resource_id)
        return respond(
            "admin/resource.html", status=422, r=resource, form=_form_values(data), errors=errors
        )
    return done("API saved.", "admin.resources_show", resource_id=resource.id)


@tenant_route("/resources/<resource_id>/delete", methods=["POST"])
def resources_delete(resource_id: str):
    tenant = console_tenant()
    resource = resources_service.get_resource(tenant, resource_id)
    name = resource.name
    resources_service.delete_resource(tenant, resource)
    return done(f"API {name} deleted.", "admin.resources_index")
