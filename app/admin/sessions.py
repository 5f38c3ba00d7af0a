"""Live browser sessions of a tenant; an admin can end one."""

from __future__ import annotations

from app.admin.access import console_tenant
from app.admin.common import done
from app.admin.common import respond
from app.admin.common import tenant_route
from app.models import Tenant
from app.models import User
from app.services import sessions as sessions_service
from app.services import users as users_service
from app.tenancy import scope
from app.web.session import current_session

TABLE = "admin/_partials/_sessions_table.html"


def _table(tenant: Tenant) -> dict:
    rows = sessions_service.live_sessions(tenant)
    ids = {s.user_id for s in rows}
    users = {u.id: u for u in scope(tenant).all(User, User.id.in_(ids))} if ids else {}
    mine = current_session()
    return {"sessions": rows, "users": users, "current_id": mine.id if mine else None}


@tenant_route("/sessions")
def sessions_index():
    return respond("admin/sessions.html", TABLE, **_table(console_tenant()))


@tenant_route("/sessions/<session_id>/end", methods=["POST"])
def sessions_end(session_id: str):
    tenant = console_tenant()
    users_service.end_session_by_id(tenant, session_id)  # NotFound -> 404
    return done("Session ended.", "admin.sessions_index", partial=TABLE, context=_table(tenant))
