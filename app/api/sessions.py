"""/v2/admin/tenants/{tenant}/sessions: the tenant's live browser sessions."""

from __future__ import annotations

from flask import jsonify

from app.api import bp
from app.api.auth import tenant_for
from app.api.pagination import page_of_list
from app.api.pagination import page_params
from app.api.routes import no_content
from app.api.serializers import session_to_dict
from app.api.validation import query_str
from app.services import sessions as sessions_service
from app.services import users as users_service


@bp.get("/tenants/<tenant_ref>/sessions")
def sessions_index(tenant_ref):
    tenant = tenant_for(tenant_ref)
    after, limit = page_params()
    rows = sessions_service.live_sessions(tenant, query_str("user_id", max_length=40) or None)
    return jsonify(page_of_list(rows, after, limit, session_to_dict))


@bp.delete("/tenants/<tenant_ref>/sessions/<session_id>")
def sessions_delete(tenant_ref, session_id):
    tenant = tenant_for(tenant_ref)
    users_service.end_session_by_id(tenant, session_id)
    return no_content()
