"""Users of a tenant: search, create, edit, roles, disable, reset email, end sessions."""

from __future__ import annotations

from flask import request
from flask_login import current_user

from app.admin.access import console_tenant
from app.admin.common import PAGE_SIZE
from app.admin.common import done
from app.admin.common import errors_of
from app.admin.common import page_args
from app.admin.common import paged
from app.admin.common import refused
from app.admin.common import respond
from app.admin.common import tenant_route
from app.models import Tenant
from app.models import User
from app.services import email_tokens
from app.services import mfa as mfa_service
from app.services import roles as roles_service
from app.services import sessions as sessions_service
from app.services import users as users_service
from app.services.errors import ServiceError

TABLE = "admin/_partials/_users_table.html"
ROW = "admin/_partials/_user_row.html"
PROFILE = "admin/_partials/_user_profile.html"


def _role_names(tenant: Tenant) -> list[str]:
    return [r.name for r in roles_service.list_roles(tenant, "tenant")]


def _row_context(tenant: Tenant, user: User) -> dict:
    return {"u": user, "roles_of": {user.id: roles_service.tenant_role_names(tenant, user)}}


@tenant_route("/users")
def users_index():
    tenant = console_tenant()
    query, after = page_args()
    rows, next_cursor = paged(
        users_service.list_users(tenant, query, after=after, limit=PAGE_SIZE + 1)
    )
    roles_of = {u.id: roles_service.tenant_role_names(tenant, u) for u in rows}
    return respond(
        "admin/users.html",
        TABLE,
        users=rows,
        roles_of=roles_of,
        query=query,
        next_cursor=next_cursor,
    )


@tenant_route("/users/new", methods=["GET", "POST"])
def users_create():
    tenant = console_tenant()
    form = {"email": "", "name": "", "roles": ["member"]}
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = {
            "email": (request.form.get("email") or "").strip(),
            "name": (request.form.get("name") or "").strip(),
            "roles": request.form.getlist("roles"),
        }
        password = request.form.get("password") or None
        try:
            user = users_service.create_user(
                tenant,
                form["email"],
                name=form["name"],
                password=password,
                roles=form["roles"],
                email_verified=bool(request.form.get("email_verified")),
            )
            if password is None:  # no password: they choose one through the reset link
                email_tokens.send_reset(tenant, user)
        except ServiceError as exc:
            errors = errors_of(exc)
        else:
            return done(f"User {user.email} created.", "admin.users_show", user_id=user.id)
    return respond(
        "admin/user_new.html",
        status=422 if errors else 200,
        form=form,
        errors=errors,
        role_names=_role_names(tenant),
    )


def _user(tenant: Tenant, user_id: str) -> User:
    return users_service.get_user(tenant, user_id)  # another tenant's id -> NotFound (404)


def _show_context(tenant: Tenant, user: User, **extra) -> dict:
    return {
        "u": user,
        "user_roles": roles_service.tenant_role_names(tenant, user),
        "role_names": _role_names(tenant),
        "user_sessions": sessions_service.live_sessions(tenant, user.id),
        "is_self": user.id == current_user.id and tenant.id == current_user.tenant_id,
        "errors": {},
        **extra,
    }


@tenant_route("/users/<user_id>")
def users_show(user_id: str):
    tenant = console_tenant()
    return respond("admin/user.html", **_show_context(tenant, _user(tenant, user_id)))


@tenant_route("/users/<user_id>", methods=["POST"], endpoint="users_update")
def users_update(user_id: str):
    """Inline edit of the profile card (name, email, verified)."""
    tenant = console_tenant()
    user = _user(tenant, user_id)
    data = {
        "name": (request.form.get("name") or "").strip(),
        "email": (request.form.get("email") or "").strip(),
        "email_verified": bool(request.form.get("email_verified")),
    }
    try:
        users_service.update_user(tenant, user, data)
    except ServiceError as exc:
        context = _show_context(tenant, user, errors=errors_of(exc), form=data)
        return respond("admin/user.html", PROFILE, status=422, **context)
    return done(
        "Profile saved.",
        "admin.users_show",
        user_id=user.id,
        partial=PROFILE,
        context=_show_context(tenant, user),
    )


@tenant_route("/users/<user_id>/roles", methods=["POST"])
def users_roles(user_id: str):
    tenant = console_tenant()
    user = _user(tenant, user_id)
    roles = request.form.getlist("roles")
    if _is_self(tenant, user) and "admin" not in roles:
        return refused(
            "You cannot remove your own admin role; ask another admin.",
            "admin.users_show",
            user_id=user.id,
        )
    users_service.set_tenant_roles(tenant, user, roles)
    return done("Roles saved.", "admin.users_show", user_id=user.id)


def _is_self(tenant: Tenant, user: User) -> bool:
    return user.id == current_user.id and tenant.id == current_user.tenant_id


@tenant_route("/users/<user_id>/status", methods=["POST"])
def users_status(user_id: str):
    tenant = console_tenant()
    user = _user(tenant, user_id)
    status = request.form.get("status", "")
    back = request.form.get("back") == "show"
    if _is_self(tenant, user) and status != "active":
        return refused(
            "You cannot disable your own account; ask another admin.",
            "admin.users_show" if back else "admin.users_index",
            user_id=user.id if back else None,
            partial=None if back else ROW,
            context=_row_context(tenant, user),
        )
    users_service.set_user_status(tenant, user, status)
    verb = "enabled" if user.status == "active" else "disabled"
    return done(
        f"{user.email} {verb}.",
        "admin.users_show" if back else "admin.users_index",
        user_id=user.id if back else None,
        partial=None if back else ROW,
        context=_row_context(tenant, user),
    )


@tenant_route("/users/<user_id>/reset", methods=["POST"])
def users_reset(user_id: str):
    tenant = console_tenant()
    user = _user(tenant, user_id)
    if not user.is_active:
        return refused(
            "This user is disabled; enable them before sending a reset email.",
            "admin.users_show",
            user_id=user.id,
        )
    email_tokens.send_reset(tenant, user)
    return done(
        f"A password reset email was sent to {user.email}.", "admin.users_show", user_id=user.id
    )


@tenant_route("/users/<user_id>/sessions/end", methods=["POST"])
def users_end_sessions(user_id: str):
    tenant = console_tenant()
    user = _user(tenant, user_id)
    count = users_service.end_all_sessions(tenant, user)
    return done(f"Ended {count} session(s) of {user.email}.", "admin.users_show", user_id=user.id)


@tenant_route("/users/<user_id>/mfa/reset", methods=["POST"])
def users_reset_mfa(user_id: str):
    tenant = console_tenant()
    user = _user(tenant, user_id)
    removed = mfa_service.reset_user_mfa(tenant, user)
    return done(
        f"Removed {removed} second factor(s) of {user.email}; they enrol again at next sign-in "
        "if the policy requires it.",
        "admin.users_show",
        user_id=user.id,
    )


@tenant_route("/users/<user_id>/delete", methods=["POST"])
def users_delete(user_id: str):
    tenant = console_tenant()
    user = _user(tenant, user_id)
    if _is_self(tenant, user):
        return refused(
            "You cannot delete your own account here.", "admin.users_show", user_id=user.id
        )
    email = user.email
    users_service.delete_user(tenant, user)
    return done(f"User {email} deleted.", "admin.users_index")
