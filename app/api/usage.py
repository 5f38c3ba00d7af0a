"""/v2/admin/tenants/{tenant}/usage: daily usage figures (``?from=&to=``, ISO dates)."""

from __future__ import annotations

from datetime import date

from flask import jsonify

from app.api import bp
from app.api.auth import tenant_for
from app.api.validation import query_str
from app.quotas import effective
from app.quotas.enforce import day_of
from app.services import usage


@bp.get("/tenants/<tenant_ref>/usage")
def usage_index(tenant_ref):
    tenant = tenant_for(tenant_ref)
    start, end = usage.parse_range(
        query_str("from", max_length=10) or None,
        query_str("to", max_length=10) or None,
        date.fromisoformat(day_of()),
    )
    days = usage.daily(tenant, start, end)
    return jsonify(
        {
            "tenant_id": tenant.id,
            "from": start.isoformat(),
            "to": end.isoformat(),
            "days": days,
            "totals": usage.totals(days),
            "quotas": effective(tenant.quotas),
        }
    )
