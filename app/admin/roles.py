"""Tenant and organization roles in the console: create custom roles, describe them, and
choose the API permissions each carries (checkboxes per resource)."""

from __future__ import annotations

from flask import request

from app.admin.access import console_tenant
from app.admin.common import done
from app.admin.common import errors_of
from app.admin.common import respond
from app.admin.common import tenant_route
from app.models import Role
from app.services import permissions as permissions_service
from app.services import resources as resources_service
from app.services import roles as roles_service
from app.services.errors import ServiceError


def _checked_permissions() -> list[dict]:
    """Checkbox values are ``<identifier> <permission>`` (neither holds a space)."""
    out = []
    for value in request.form.getlist("permissions"):
        identifier, _, name = value.partition(" ")
        out.append({"resource": identifier, "permission": name})
    return out


def _page(role: Role, errors=None, status=200, description=None, checked=None):
    tenant = console_tenant()
    held = permissions_service.permissions_of_roles(tenant, [role])[role.id]
    if checked is None:
        checked = held
    return respond(
        "admin/role.html",
        status=status,
        role=role,
        description=role.description if description is None else description,
        resources=resources_service.list_resources(tenant),
        checked={f"{p['resource']} {p['permission']}" for p in checked},
        errors=errors or {},
    )


@tenant_route("/roles")
def roles_index():
    tenant = console_tenant()
    # Tenant roles first (they apply everywhere), built-in before custom.
    rows = sorted(
        roles_service.list_roles(tenant), key=lambda r: (r.kind != "tenant", not r.builtin, r.name)
    )
    held = permissions_service.permissions_of_roles(tenant, rows)
    return respond("admin/roles.html", roles=rows, held=held)


@tenant_route("/roles/new", methods=["GET", "POST"])
def roles_create():
    tenant = console_tenant()
    form = {"kind": "tenant", "name": "", "description": ""}
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = {k: (request.form.get(k) or "").strip() for k in form}
        try:
            role = roles_service.create_role(
                tenant, form["kind"], form["name"], form["description"]
            )
        except ServiceError as exc:
            errors = errors_of(exc)
        else:
            return done(
                f"Role {role.name} created. Choose its permissions.",
                "admin.roles_show",
                role_id=role.id,
            )
    return respond("admin/role_new.html", status=422 if errors else 200, form=form, errors=errors)


@tenant_route("/roles/<role_id>")
def roles_show(role_id: str):
    return _page(roles_service.get_role(console_tenant(), role_id))


@tenant_route("/roles/<role_id>", methods=["POST"], endpoint="roles_update")
def roles_update(role_id: str):
    tenant = console_tenant()
    role = roles_service.get_role(tenant, role_id)
    description = request.form.get("description", "")
    checked = _checked_permissions()
    try:
        roles_service.update_role(tenant, role, description)
        permissions_service.set_role_permissions(tenant, role, checked)
    except ServiceError as exc:
        errors = errors_of(exc)
        role = roles_service.get_role(tenant, role_id)
        return _page(role, errors, 422, description, checked)
    return done(f"Role {role.name} saved.", "admin.roles_show", role_id=role.id)


@tenant_route("/roles/<role_id>/delete", methods=["POST"])
def roles_delete(role_id: str):
    tenant = console_tenant()
    role = roles_service.get_role(tenant, role_id)
    name = role.name
    roles_service.delete_role(tenant, role)
    return done(f"Role {name} deleted.", "admin.roles_index")
