"""/v2/admin/tenants/{tenant}/users: list and search, create, read, update, delete,
end sessions, replace roles."""

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
from app.api.serializers import session_to_dict
from app.api.serializers import user_to_dict
from app.api.validation import json_body
from app.api.validation import query_str
from app.services import mfa as mfa_service
from app.services import sessions as sessions_service
from app.services import users as users_service


@bp.get("/tenants/<tenant_ref>/users")
def users_index(tenant_ref):
    tenant = tenant_for(tenant_ref)
    after, limit = page_params()
    rows = users_service.list_users(tenant, query_str("q"), after=after, limit=limit + 1)
    return jsonify(page(rows, limit, lambda user: user_to_dict(tenant, user)))


@bp.post("/tenants/<tenant_ref>/users")
def users_create(tenant_ref):
    tenant = tenant_for(tenant_ref)
    data = json_body(SCHEMAS["UserCreate"])
    user = users_service.create_user(
        tenant,
        data["email"],
        name=data.get("name", ""),
        password=data.get("password"),
        roles=data.get("roles"),
        email_verified=data.get("email_verified", False),
        metadata=data.get("metadata"),
        external_id=data.get("external_id"),
    )
    return created(user_to_dict(tenant, user))


@bp.get("/tenants/<tenant_ref>/users/<user_id>")
def users_show(tenant_ref, user_id):
    tenant = tenant_for(tenant_ref)
    return jsonify(user_to_dict(tenant, users_service.get_user(tenant, user_id)))


@bp.patch("/tenants/<tenant_ref>/users/<user_id>")
def users_update(tenant_ref, user_id):
    tenant = tenant_for(tenant_ref)
    user = users_service.get_user(tenant, user_id)
    users_service.update_user(tenant, user, json_body(SCHEMAS["UserUpdate"]))
    return jsonify(user_to_dict(tenant, user))


@bp.delete("/tenants/<tenant_ref>/users/<user_id>")
def users_delete(tenant_ref, user_id):
    tenant = tenant_for(tenant_ref)
    users_service.delete_user(tenant, users_service.get_user(tenant, user_id))
    return no_content()


@bp.put("/tenants/<tenant_ref>/users/<user_id>/roles")
def users_roles(tenant_ref, user_id):
    tenant = tenant_for(tenant_ref)
    user = users_service.get_user(tenant, user_id)
    users_service.set_tenant_roles(tenant, user, json_body(SCHEMAS["RolesReplace"])["roles"])
    return jsonify(user_to_dict(tenant, user))


@bp.get("/tenants/<tenant_ref>/users/<user_id>/sessions")
def users_sessions(tenant_ref, user_id):
    tenant = tenant_for(tenant_ref)
    user = users_service.get_user(tenant, user_id)
    after, limit = page_params()
    rows = sessions_service.live_sessions(tenant, user.id)
    return jsonify(page_of_list(rows, after, limit, session_to_dict))


@bp.delete("/tenants/<tenant_ref>/users/<user_id>/sessions")
@bp.post("/tenants/<tenant_ref>/users/<user_id>/sessions/revoke")
def users_end_sessions(tenant_ref, user_id):
    tenant = tenant_for(tenant_ref)
    user = users_service.get_user(tenant, user_id)
    ended = users_service.end_all_sessions(tenant, user)
    return jsonify({"ended": ended})


@bp.delete("/tenants/<tenant_ref>/users/<user_id>/mfa")
def users_reset_mfa(tenant_ref, user_id):
    """Remove every second factor and recovery code of the user (audited ``mfa.reset``)."""
    tenant = tenant_for(tenant_ref)
    user = users_service.get_user(tenant, user_id)
    removed = mfa_service.reset_user_mfa(tenant, user)
    return jsonify({"removed": removed})
