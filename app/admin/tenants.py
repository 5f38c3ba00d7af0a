"""The instance console (system tenant only): list, create, suspend/resume, delete and
open tenants. Opening one leads to ``/admin/tenants/<slug>/``, the tenant views."""

from __future__ import annotations

from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from app.admin import bp
from app.admin.access import console_tenant
from app.admin.access import operator_only
from app.admin.access import recent_auth
from app.admin.common import PAGE_SIZE
from app.admin.common import done
from app.admin.common import errors_of
from app.admin.common import page_args
from app.admin.common import paged
from app.admin.common import respond
from app.services import onboarding
from app.services import tenants as tenants_service
from app.services.errors import ServiceError
from app.services.errors import ValidationFailed
from app.tenancy import issuer_for


@bp.get("/tenants")
@operator_only
def tenants_index():
    query, after = page_args()
    rows, next_cursor = paged(tenants_service.list_tenants(query, after=after, limit=PAGE_SIZE + 1))
    return respond(
        "admin/tenants.html",
        "admin/_partials/_tenants_table.html",
        tenants=rows,
        query=query,
        next_cursor=next_cursor,
        issuer_for=issuer_for,
    )


@bp.route("/tenants/new", methods=["GET", "POST"])
@operator_only
def tenants_create():
    form = {"name": "", "slug": "", "owner_email": ""}
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = {k: (request.form.get(k) or "").strip() for k in form}
        try:
            if not form["owner_email"]:
                raise ValidationFailed({"owner_email": "the owner's email is required"})
            tenant = tenants_service.create_tenant(form["name"], form["slug"])
            onboarding.invite_owner(tenant, form["owner_email"])
        except ServiceError as exc:
            errors = _owner_errors(errors_of(exc))
        else:
            return done(
                f"Tenant {tenant.name} created; an invitation was sent to {form['owner_email']}.",
                "admin.overview",
                tenant_slug=tenant.slug,
            )
    status = 422 if errors else 200
    return respond("admin/tenant_new.html", status=status, form=form, errors=errors)


def _owner_errors(errors: dict[str, str]) -> dict[str, str]:
    # invite_owner validates the address under the invitation's field name.
    if "email" in errors:
        errors["owner_email"] = errors.pop("email")
    return errors


@bp.post("/tenants/<tenant_slug>/status")
@operator_only
@recent_auth("admin.tenants_index")
def tenants_status():
    tenant = console_tenant()
    status = request.form.get("status", "")
    tenants_service.set_status(tenant, status)  # ValidationFailed -> 400 page
    verb = "suspended" if tenant.status == "suspended" else "resumed"
    return done(
        f"Tenant {tenant.name} {verb}.",
        "admin.tenants_index",
        partial="admin/_partials/_tenant_row.html",
        context={"t": tenant, "issuer_for": issuer_for},
    )


@bp.route("/tenants/<tenant_slug>/delete", methods=["GET", "POST"])
@operator_only
@recent_auth("admin.tenants_index")
def tenants_delete():
    tenant = console_tenant()
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            tenants_service.delete_tenant(tenant, (request.form.get("confirm") or "").strip())
        except ServiceError as exc:
            errors = errors_of(exc)
        else:
            return done(f"Tenant {tenant.name} deleted.", "admin.tenants_index")
    status = 422 if errors else 200
    return render_template("admin/tenant_delete.html", t=tenant, errors=errors), status


@bp.get("/tenants/<tenant_slug>/open")
@operator_only
def tenants_open():
    """``Open`` from the list: the tenant's overview in this console."""
    return redirect(url_for("admin.overview", tenant_slug=console_tenant().slug))
