"""/v2/admin/tenants/{tenant}/keys: the tenant's signing keys (public parts) and rotation."""

from __future__ import annotations

from flask import jsonify

from app.api import bp
from app.api.auth import tenant_for
from app.api.pagination import page_of_list
from app.api.pagination import page_params
from app.services import keys as keys_service


@bp.get("/tenants/<tenant_ref>/keys")
def keys_index(tenant_ref):
    tenant = tenant_for(tenant_ref)
    after, limit = page_params()
    keys_service.ensure_keys(tenant)
    rows = keys_service.list_keys(tenant)
    return jsonify(page_of_list(rows, after, limit, keys_service.key_to_dict))


@bp.post("/tenants/<tenant_ref>/keys/rotate")
def keys_rotate(tenant_ref):
    tenant = tenant_for(tenant_ref)
    keys_service.rotate_keys(tenant)
    rows = keys_service.list_keys(tenant)
    return jsonify({"items": [keys_service.key_to_dict(k) for k in rows], "next_cursor": None})
