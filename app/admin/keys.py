"""Signing keys: list the tenant's JWKs and rotate them (a sensitive action)."""

from __future__ import annotations

from app.admin.access import console_tenant
from app.admin.access import has_recent_auth
from app.admin.access import recent_auth
from app.admin.common import done
from app.admin.common import respond
from app.admin.common import tenant_route
from app.services import keys as keys_service
from app.tenancy import issuer_for


@tenant_route("/keys")
def keys_index():
    tenant = console_tenant()
    return respond(
        "admin/keys.html",
        keys=keys_service.list_keys(tenant),
        jwks_url=issuer_for(tenant) + "/.well-known/jwks.json",
        recent=has_recent_auth(),
    )


@tenant_route("/keys/rotate", methods=["POST"])
@recent_auth("admin.keys_index")
def keys_rotate():
    keys_service.rotate_keys(console_tenant())
    return done(
        "Keys rotated: the next keys now sign; the previous ones stay published until "
        "the tokens they signed expire.",
        "admin.keys_index",
    )
