"""Admin API keys over the API: instance keys at /v2/admin/admin-keys, tenant keys at
/v2/admin/tenants/{tenant}/admin-keys. The key itself is in the create answer only."""

from __future__ import annotations

from flask import jsonify

from app.api import bp
from app.api.auth import principal
from app.api.auth import require_instance
from app.api.auth import tenant_for
from app.api.pagination import page_of_list
from app.api.pagination import page_params
from app.api.routes import created
from app.api.routes import no_content
from app.api.schemas import SCHEMAS
from app.api.serializers import admin_key_to_dict
from app.api.validation import json_body
from app.services import admin_keys


def _index(tenant):
    after, limit = page_params()
    rows = admin_keys.list_admin_keys(tenant)
    return jsonify(page_of_list(rows, after, limit, admin_key_to_dict))


def _create(tenant):
    data = json_body(SCHEMAS["AdminKeyCreate"], required=False)
    caller = principal()
    key, raw = admin_keys.create_admin_key(
        tenant, data.get("name", ""), created_by=f"{caller.kind}:{caller.id}"
    )
    return created({**admin_key_to_dict(key), "key": raw})


@bp.get("/admin-keys")
def instance_keys_index():
    require_instance()
    return _index(None)


@bp.post("/admin-keys")
def instance_keys_create():
    require_instance()
    return _create(None)


@bp.delete("/admin-keys/<key_id>")
def instance_keys_revoke(key_id):
    require_instance()
    admin_keys.revoke_admin_key(None, key_id)
    return no_content()


@bp.get("/tenants/<tenant_ref>/admin-keys")
def tenant_keys_index(tenant_ref):
    return _index(tenant_for(tenant_ref))


@bp.post("/tenants/<tenant_ref>/admin-keys")
def tenant_keys_create(tenant_ref):
    return _create(tenant_for(tenant_ref))


@bp.delete("/tenants/<tenant_ref>/admin-keys/<key_id>")
def tenant_keys_revoke(tenant_ref, key_id):
    admin_keys.revoke_admin_key(tenant_for(tenant_ref), key_id)
    return no_content()
