"""A tenant's overview: head counts and the 30-day sign-in chart. ``/admin`` itself is the
instance console on the system origin and the overview everywhere else."""

from __future__ import annotations

from flask import g
from flask import redirect
from flask import url_for

from app.admin.access import console_tenant
from app.admin.access import is_operator
from app.admin.chart import build_chart
from app.admin.chart import daily_logins
from app.admin.common import respond
from app.admin.common import tenant_route
from app.models import Client
from app.models import Organization
from app.models import User
from app.services import sessions as sessions_service
from app.tenancy import issuer_for
from app.tenancy import scope


@tenant_route("/")
def index():
    if is_operator() and not g.console_slug:
        return redirect(url_for("admin.tenants_index"))
    return redirect(url_for("admin.overview"))


@tenant_route("/overview")
def overview():
    tenant = console_tenant()
    data = scope(tenant)
    counts = {
        "users": data.count(User),
        "organizations": data.count(Organization),
        "clients": data.count(Client),
        "sessions": len(sessions_service.live_sessions(tenant)),
    }
    chart = build_chart(daily_logins(tenant))
    return respond("admin/overview.html", counts=counts, chart=chart, issuer=issuer_for(tenant))
