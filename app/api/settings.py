"""/v2/admin/tenants/{tenant}/settings: the tenant's auth configuration."""

from __future__ import annotations

from flask import jsonify

from app.api import bp
from app.api.auth import tenant_for
from app.api.schemas import SCHEMAS
from app.api.validation import json_body
from app.services import audit
from app.services.settings import get_settings
from app.services.settings import update_settings


@bp.get("/tenants/<tenant_ref>/settings")
def settings_show(tenant_ref):
    return jsonify(get_settings(tenant_for(tenant_ref)))


@bp.patch("/tenants/<tenant_ref>/settings")
def settings_update(tenant_ref):
    tenant = tenant_for(tenant_ref)
    changes = json_body(SCHEMAS["SettingsUpdate"])
    settings = update_settings(tenant, changes)
    if changes:
        audit.record(
            tenant,
            "settings.updated",
            target_type="tenant",
            target_id=tenant.id,
            fields=sorted(changes),
        )
    return jsonify(settings)
