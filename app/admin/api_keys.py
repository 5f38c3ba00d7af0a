"""Admin API keys for the REST API: a tenant's own, or instance-wide ones on the system
console. A new key is shown once in the response and never stored (only its digest)."""

from __future__ import annotations

from flask import request
from flask_login import current_user

from app.admin.access import console_tenant
from app.admin.access import has_recent_auth
from app.admin.access import recent_auth
from app.admin.common import done
from app.admin.common import respond
from app.admin.common import tenant_route
from app.models import Tenant
from app.services import admin_keys

TABLE = "admin/_partials/_api_keys.html"


def _key_owner() -> Tenant | None:
    """Keys made on the system tenant's console are instance keys (every tenant)."""
    tenant = console_tenant()
    return None if tenant.is_system else tenant


def _context(**extra) -> dict:
    owner = _key_owner()
    return {
        "keys": admin_keys.list_admin_keys(owner),
        "instance_keys": owner is None,
        "recent": has_recent_auth(),
        **extra,
    }


@tenant_route("/api-keys")
def api_keys_index():
    return respond("admin/api_keys.html", TABLE, **_context())


@tenant_route("/api-keys", methods=["POST"], endpoint="api_keys_create")
@recent_auth("admin.api_keys_index")
def api_keys_create():
    name = (request.form.get("name") or "").strip()
    key, raw = admin_keys.create_admin_key(_key_owner(), name, created_by=current_user.id)
    # Rendered, never redirected: the raw key exists only in this response.
    return respond("admin/api_keys.html", TABLE, **_context(new_key=key, raw_key=raw))


@tenant_route("/api-keys/<key_id>/revoke", methods=["POST"])
@recent_auth("admin.api_keys_index")
def api_keys_revoke(key_id: str):
    key = admin_keys.revoke_admin_key(_key_owner(), key_id)  # NotFound -> 404
    return done(
        f"API key {key.name or key.prefix} revoked.",
        "admin.api_keys_index",
        partial=TABLE,
        context=_context(),
    )
