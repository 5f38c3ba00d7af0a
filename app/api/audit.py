"""/v2/admin/tenants/{tenant}/audit: the audit trail, newest first, with filters."""

from __future__ import annotations

from flask import jsonify

from app.api import bp
from app.api.auth import tenant_for
from app.api.pagination import page
from app.api.pagination import page_params
from app.api.serializers import audit_event_to_dict
from app.api.validation import query_str
from app.api.validation import query_time
from app.services import audit_query


@bp.get("/tenants/<tenant_ref>/audit")
def audit_index(tenant_ref):
    tenant = tenant_for(tenant_ref)
    before, limit = page_params()
    rows = audit_query.list_events(
        tenant,
        actor=query_str("actor", max_length=80) or None,
        action=query_str("action", max_length=64) or None,
        target=query_str("target", max_length=80) or None,
        since=query_time("since"),
        until=query_time("until"),
        before=before,
        limit=limit + 1,
    )
    return jsonify(page(rows, limit, audit_event_to_dict))
