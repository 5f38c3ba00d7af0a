"""Who is calling the admin API: ``Authorization: Bearer <credential>`` (RFC 6750).

Accepted credentials:

* an admin API key (``gh_admin_...``): an instance key reaches every tenant, a tenant
  key only its own tenant;
* an access token of the *system* tenant, minted with ``client_credentials`` and the
  ``admin`` scope (``sub`` equals ``client_id``) for a confidential client that may use
  no other grant: it reaches every tenant, like an instance key. A user's token never
  is one, whatever scope it carries.

The path's ``{tenant}`` decides the scope, whatever origin the request came to, so the
API answers on every origin. A tenant outside the caller's reach is a 404, never a
403: the API does not reveal that it exists.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import g
from flask import request

from app import rls
from app.api.errors import ApiError
from app.api.errors import forbidden
from app.api.errors import unauthorized
from app.models import Tenant
from app.services import admin_keys
from app.services import audit
from app.services import clients as clients_service
from app.services import tenants as tenants_service
from app.services import tokens
from app.services.errors import NotFound

ADMIN_SCOPE = "admin"
# Endpoints that answer without credentials (the API description is public).
PUBLIC_ENDPOINTS = frozenset({"api.openapi_document"})


@dataclass(frozen=True)
class Principal:
    """The authenticated caller. ``tenant_id`` None means instance-wide reach."""

    kind: str  # "api_key" or "client"
    id: str
    tenant_id: str | None

    @property
    def is_instance(self) -> bool:
        return self.tenant_id is None


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _from_access_token(raw: str) -> Principal | None:
    """A system-tenant client_credentials token carrying the ``admin`` scope, else None."""
    system = tenants_service.system_tenant()
    try:
        claims = tokens.verify_access_token(system, raw)
    except tokens.InvalidToken:
        return None
    if ADMIN_SCOPE not in str(claims.get("scope", "")).split():
        return None
    if tokens.bound_jkt(claims):  # RFC 9449 §7.2: a DPoP-bound token is not a bearer token
        return None
    client_id = claims.get("client_id")
    if not client_id or claims.get("sub") != client_id:
        return None  # a user's token (authorization_code, refresh_token), never an admin
    client = clients_service.authenticating_client(system, client_id)
    if client is None or not clients_service.may_hold_admin(client):
        return None
    return Principal("client", client_id, None)


def authenticate():
    """before_request of the API blueprint: sets ``g.api_principal`` or answers 401/403."""
    if request.endpoint in PUBLIC_ENDPOINTS or request.endpoint is None:
        return None
    raw = _bearer()
    if raw is None:
        return unauthorized("Send an admin API key or token as 'Authorization: Bearer ...'.")
    principal = None
    if raw.startswith(admin_keys.KEY_PREFIX):
        key = admin_keys.authenticate_admin_key(raw)
        if key is not None:
            principal = Principal("api_key", key.id, key.tenant_id)
    elif len(raw) <= 8192:
        principal = _from_access_token(raw)
    if principal is None:
        return unauthorized("The credential is unknown, revoked or expired.", invalid=True)
    if principal.tenant_id is not None:
        home = tenants_service.get_tenant(principal.tenant_id)
        if not home.is_active:
            return forbidden("This key's tenant is suspended.")
    g.api_principal = principal
    audit.act_as(principal.kind, principal.id)
    if principal.is_instance:  # instance-wide reach: every tenant's rows (app/rls.py)
        rls.bypass(f"instance {principal.kind} {principal.id}")
    return None


def principal() -> Principal:
    return g.api_principal


def require_instance() -> None:
    """Instance-wide operations (list or create tenants, instance keys): 403 otherwise."""
    if not principal().is_instance:
        raise ApiError(403, "Forbidden", "This operation needs an instance-wide credential.")


def tenant_for(ref: str) -> Tenant:
    """The tenant named by the path (id or slug) if the caller reaches it; else 404."""
    try:
        tenant = tenants_service.get_tenant(ref)
    except NotFound:
        tenant = None
    caller = principal()
    if tenant is None or (not caller.is_instance and caller.tenant_id != tenant.id):
        raise NotFound("No such tenant.")
    g.api_tenant_id = tenant.id  # its usage counts this call (app/services/usage.py)
    return tenant
