"""Organizations of a tenant: create, edit, delete; members and their org roles;
invitations into an organization go through the invitations page."""

from __future__ import annotations

from flask import request

from app.admin.access import console_tenant
from app.admin.common import PAGE_SIZE
from app.admin.common import done
from app.admin.common import errors_of
from app.admin.common import form_list
from app.admin.common import page_args
from app.admin.common import paged
from app.admin.common import respond
from app.admin.common import tenant_route
from app.models import Organization
from app.models import Tenant
from app.services import invitations as invitations_service
from app.services import orgs as orgs_service
from app.services import roles as roles_service
from app.services import users as users_service
from app.services.errors import ServiceError
from app.services.errors import ValidationFailed

TABLE = "admin/_partials/_orgs_table.html"
MEMBERS = "admin/_partials/_org_members.html"


@tenant_route("/orgs")
def orgs_index():
    query, after = page_args()
    rows, next_cursor = paged(
        orgs_service.list_orgs(console_tenant(), query, after=after, limit=PAGE_SIZE + 1)
    )
    return respond("admin/orgs.html", TABLE, orgs=rows, query=query, next_cursor=next_cursor)


def _org_form() -> dict:
    return {
        "name": (request.form.get("name") or "").strip(),
        "slug": (request.form.get("slug") or "").strip(),
        "domains": form_list("domains"),
    }


@tenant_route("/orgs/new", methods=["GET", "POST"])
def orgs_create():
    form = {"name": "", "slug": "", "domains": []}
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = _org_form()
        try:
            org = orgs_service.create_org(
                console_tenant(), form["name"], form["slug"] or None, form["domains"]
            )
        except ServiceError as exc:
            errors = errors_of(exc)
        else:
            return done(f"Organization {org.name} created.", "admin.orgs_show", org_id=org.id)
    return respond("admin/org_new.html", status=422 if errors else 200, form=form, errors=errors)


def _org(org_id: str) -> Organization:
    return orgs_service.get_org(console_tenant(), org_id)  # another tenant's -> 404


def _members(tenant: Tenant, org: Organization, **extra) -> dict:
    return {
        "org": org,
        "members": orgs_service.list_members(tenant, org),
        "org_role_names": [r.name for r in roles_service.list_roles(tenant, "org")],
        "member_errors": {},
        **extra,
    }


def _show(tenant: Tenant, org: Organization, **extra) -> dict:
    pending = [
        inv
        for inv in invitations_service.list_invitations(tenant, "pending")
        if inv.org_id == org.id
    ]
    context = _members(tenant, org, invitations=pending, form=None, errors={})
    context.update(extra)
    return context


@tenant_route("/orgs/<org_id>")
def orgs_show(org_id: str):
    tenant = console_tenant()
    return respond("admin/org.html", **_show(tenant, _org(org_id)))


@tenant_route("/orgs/<org_id>", methods=["POST"], endpoint="orgs_update")
def orgs_update(org_id: str):
    tenant = console_tenant()
    org = _org(org_id)
    form = _org_form()
    try:
        orgs_service.update_org(
            tenant, org, name=form["name"], slug=form["slug"], domains=form["domains"]
        )
    except ServiceError as exc:
        context = _show(tenant, org, form=form, errors=errors_of(exc))
        return respond("admin/org.html", "admin/_partials/_org_form.html", status=422, **context)
    return done(
        "Organization saved.",
        "admin.orgs_show",
        org_id=org.id,
        partial="admin/_partials/_org_form.html",
        context={"org": org, "form": None, "errors": {}},
    )


@tenant_route("/orgs/<org_id>/members", methods=["POST"])
def orgs_add_member(org_id: str):
    tenant = console_tenant()
    org = _org(org_id)
    email = (request.form.get("email") or "").strip()
    try:
        user = users_service.find_by_email(tenant, email)
        if user is None:
            raise ValidationFailed(
                {"email": "no user with this email here; invite them to the organization instead"}
            )
        orgs_service.add_member(tenant, org, user, roles=request.form.getlist("roles"))
    except ServiceError as exc:
        context = _show(tenant, org, member_errors=errors_of(exc), member_email=email)
        return respond("admin/org.html", MEMBERS, status=422, **context)
    return done(
        f"{user.email} added.",
        "admin.orgs_show",
        org_id=org.id,
        partial=MEMBERS,
        context=_members(tenant, org),
    )


@tenant_route("/orgs/<org_id>/members/<user_id>/roles", methods=["POST"])
def orgs_member_roles(org_id: str, user_id: str):
    tenant = console_tenant()
    org = _org(org_id)
    user = users_service.get_user(tenant, user_id)
    try:
        orgs_service.set_member_roles(tenant, org, user, request.form.getlist("roles"))
    except ValidationFailed as exc:
        context = _show(tenant, org, member_errors=errors_of(exc))
        return respond("admin/org.html", MEMBERS, status=422, **context)
    return done(
        f"Roles of {user.email} saved.",
        "admin.orgs_show",
        org_id=org.id,
        partial=MEMBERS,
        context=_members(tenant, org),
    )


@tenant_route("/orgs/<org_id>/members/<user_id>/remove", methods=["POST"])
def orgs_remove_member(org_id: str, user_id: str):
    tenant = console_tenant()
    org = _org(org_id)
    user = users_service.get_user(tenant, user_id)
    try:
        orgs_service.remove_member(tenant, org, user)
    except ValidationFailed as exc:
        context = _show(tenant, org, member_errors=errors_of(exc))
        return respond("admin/org.html", MEMBERS, status=422, **context)
    return done(
        f"{user.email} removed.",
        "admin.orgs_show",
        org_id=org.id,
        partial=MEMBERS,
        context=_members(tenant, org),
    )


@tenant_route("/orgs/<org_id>/delete", methods=["GET", "POST"])
def orgs_delete(org_id: str):
    tenant = console_tenant()
    org = _org(org_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            orgs_service.delete_org(tenant, org, (request.form.get("confirm") or "").strip())
        except ServiceError as exc:
            errors = errors_of(exc)
        else:
            return done(f"Organization {org.name} deleted.", "admin.orgs_index")
    return respond("admin/org_delete.html", status=422 if errors else 200, org=org, errors=errors)
