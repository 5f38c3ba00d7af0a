"""Token responses (RFC 6749 §5.1): what the token endpoint hands out for each grant.

The grant logic (who may ask, with what) is Authlib's, in app/oauth/grants.py; this
module turns an accepted request into tokens: a grant row (refresh family), a rotated
refresh token, an RFC 9068 access token with DESIGN §4 claims, and the ID token.

With ``resource`` (RFC 8707) the access token is for that API: ``aud`` its identifier,
``scope`` its permissions the user (or client) holds (app/services/audiences.py). The
tenant's custom claims (user metadata, app/services/custom_claims.py) go into the user's
access and ID tokens.
"""

from __future__ import annotations

from app.models import BrowserSession
from app.models import Client
from app.models import Grant
from app.models import Organization
from app.models import Tenant
from app.models import User
from app.services import audiences
from app.services import claims_request
from app.services import custom_claims
from app.services import grants as grants_service
from app.services import tokens
from app.services.errors import ValidationFailed
from app.services.permissions import role_keys
from app.services.resource_config import resource_config
from app.services.roles import org_role_names
from app.services.roles import tenant_role_names
from app.services.settings import get_settings
from app.tenancy import scope


def check_organization(tenant: Tenant, user: User, org_id: str | None) -> list[str]:
    """The user's roles in ``org_id``; raises ValidationFailed when not a member of an
    organization of this tenant."""
    if not org_id or not isinstance(org_id, str) or len(org_id) > 40:
        raise ValidationFailed({"organization": "unknown organization"})
    if scope(tenant).get(Organization, org_id) is None:
        raise ValidationFailed({"organization": "unknown organization"})
    roles = org_role_names(tenant, user, org_id)
    if roles is None:
        raise ValidationFailed({"organization": "the user is not a member of this organization"})
    return roles


def user_role_keys(tenant: Tenant, user: User, org_id: str | None) -> list:
    """The user's role keys: tenant roles, and roles in ``org_id``."""
    org_roles = (org_role_names(tenant, user, org_id) or []) if org_id else []
    return role_keys(tenant_role_names(tenant, user), org_roles)


def roles_for(tenant: Tenant, user: User, org_id: str | None) -> list[str]:
    """Tenant roles ∪ roles in the active organization (DESIGN §4)."""
    return sorted({name for _kind, name in user_role_keys(tenant, user, org_id)})


def user_claims_extra(tenant: Tenant, user: User) -> dict:
    """The tenant's custom claims for this user (metadata keys mapped to claim names)."""
    return custom_claims.claims_for(get_settings(tenant).get("custom_claims"), user.user_metadata)


def check_resource(grant: Grant, resource: str | None) -> None:
    """RFC 8707 §2.2: a token request may only name a resource granted at authorization."""
    if resource is not None and not audiences.granted(grant.resources, resource)[0]:
        raise audiences.InvalidTarget("The resource was not granted to this authorization.")


def user_token_response(
    tenant: Tenant,
    client: Client,
    user: User,
    grant: Grant,
    *,
    include_refresh: bool,
    roles: list[str] | None = None,
    keys: list | None = None,
    resource: str | None = None,
    jkt: str | None = None,
    refresh_jkt: str | None = None,
) -> dict:
    """Access token (+ rotated refresh token) for the user's grant; no ID token yet.
    ``keys``: the user's role keys when the caller already read them (else read here);
    ``resource``: an API granted at authorization (checked with :func:`check_resource`);
    ``jkt``: the DPoP key the access token is bound to (RFC 9449), ``refresh_jkt`` the
    one the refresh token is bound to (public clients)."""
    if keys is None:
        keys = user_role_keys(tenant, user, grant.org_id)
    if roles is None:
        roles = sorted({name for _kind, name in keys})
    audience, ttl, scope_value = None, None, grant.scope
    if resource is not None:
        config = resource_config(tenant)
        entry = audiences.entry_for(config, resource)
        _granted, bound = audiences.granted(grant.resources, resource)
        scope_value = audiences.user_scope(config, resource, grant.scope, keys, bound=bound)
        audience, ttl = resource, audiences.token_ttl(entry, tokens.access_token_ttl(tenant))
    elif grant.resources:  # API permissions stay out of the client's own token
        scope_value = audiences.oidc_scope(grant.scope, resource_config(tenant))
    access_token, _claims = tokens.mint_access_token(
        tenant,
        client,
        subject=user.id,
        scope=scope_value,
        roles=roles,
        grant_id=grant.id,
        sid=grant.session_id,
        org_id=grant.org_id,
        audience=audience,
        ttl=ttl,
        extra=user_claims_extra(tenant, user),
        jkt=jkt,
    )
    body = {
        "access_token": access_token,
        "token_type": "DPoP" if jkt else "Bearer",
        "expires_in": ttl or tokens.access_token_ttl(tenant),
        "scope": scope_value,
    }
    if include_refresh:
        body["refresh_token"] = grants_service.issue_refresh_token(tenant, grant, jkt=refresh_jkt)
    return body


def add_id_token(
    tenant: Tenant,
    client: Client,
    user: User,
    grant: Grant,
    body: dict,
    *,
    nonce: str | None = None,
) -> dict:
    """Add an ID token when the grant has the ``openid`` scope."""
    if "openid" in tokens.scopes_of(grant.scope):
        body["id_token"] = tokens.mint_id_token(
            tenant,
            client,
            user,
            scope=grant.scope,
            auth_time=grant.auth_time,
            amr=grant.amr,
            nonce=nonce,
            sid=grant.session_id,
            org_id=grant.org_id,
            access_token=body["access_token"],
            idp=_connection_of(tenant, grant),
            extra=user_claims_extra(tenant, user) | claims_request.id_token_claims(user, grant),
        )
    return body


def _connection_of(tenant: Tenant, grant: Grant) -> str | None:
    """The enterprise connection that signed the grant's session in (``amr`` ``ext``)."""
    if "ext" not in (grant.amr or []) or not grant.session_id:
        return None
    session = scope(tenant).get(BrowserSession, grant.session_id)
    return session.idp if session is not None else None


def client_token_response(
    tenant: Tenant,
    client: Client,
    scope_value: str,
    resource: str | None = None,
    jkt: str | None = None,
) -> dict:
    """client_credentials: no user; the client's roles and the tenant in the token. With
    ``resource``: a token for that API, bounded by the client's resource_grants (raises
    audiences.InvalidTarget without a grant for it). ``scope_value``: what was asked;
    ``jkt``: the DPoP key the token is bound to (RFC 9449)."""
    audience, ttl = None, None
    if resource is not None:
        config = resource_config(tenant)
        scope_value = audiences.client_scope(config, client.id, resource, scope_value)
        entry = audiences.entry_for(config, resource)
        audience, ttl = resource, audiences.token_ttl(entry, tokens.access_token_ttl(tenant))
    access_token, _claims = tokens.mint_access_token(
        tenant,
        client,
        subject=client.id,
        scope=scope_value,
        roles=list(client.roles or []),
        audience=audience,
        ttl=ttl,
        jkt=jkt,
    )
    return {
        "access_token": access_token,
        "token_type": "DPoP" if jkt else "Bearer",
        "expires_in": ttl or tokens.access_token_ttl(tenant),
        "scope": scope_value,
    }
