"""Token responses (RFC 6749 §5.1): what the token endpoint hands out for each grant.

The grant logic (who may ask, with what) is Authlib's, in app/oauth/grants.py; this
module turns an accepted request into tokens: a grant row (refresh family), a rotated
refresh token, an RFC 9068 access token with DESIGN §4 claims, and the ID token.
"""

from __future__ import annotations

from app.models import BrowserSession
from app.models import Client
from app.models import Grant
from app.models import Organization
from app.models import Tenant
from app.models import User
from app.services import grants as grants_service
from app.services import tokens
from app.services.errors import ValidationFailed
from app.services.roles import org_role_names
from app.services.roles import tenant_role_names
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


def roles_for(tenant: Tenant, user: User, org_id: str | None) -> list[str]:
    """Tenant roles ∪ roles in the active organization (DESIGN §4)."""
    roles = set(tenant_role_names(tenant, user))
    if org_id:
        roles |= set(org_role_names(tenant, user, org_id) or [])
    return sorted(roles)


def user_token_response(
    tenant: Tenant,
    client: Client,
    user: User,
    grant: Grant,
    *,
    include_refresh: bool,
    roles: list[str] | None = None,
) -> dict:
    """Access token (+ rotated refresh token) for the user's grant; no ID token yet.
    ``roles``: the user's roles when the caller already read them (else read here)."""
    access_token, _claims = tokens.mint_access_token(
        tenant,
        client,
        subject=user.id,
        scope=grant.scope,
        roles=roles if roles is not None else roles_for(tenant, user, grant.org_id),
        grant_id=grant.id,
        sid=grant.session_id,
        org_id=grant.org_id,
    )
    body = {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": tokens.access_token_ttl(tenant),
        "scope": grant.scope,
    }
    if include_refresh:
        body["refresh_token"] = grants_service.issue_refresh_token(tenant, grant)
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
        )
    return body


def _connection_of(tenant: Tenant, grant: Grant) -> str | None:
    """The enterprise connection that signed the grant's session in (``amr`` ``ext``)."""
    if "ext" not in (grant.amr or []) or not grant.session_id:
        return None
    session = scope(tenant).get(BrowserSession, grant.session_id)
    return session.idp if session is not None else None


def client_token_response(tenant: Tenant, client: Client, scope_value: str) -> dict:
    """client_credentials: no user; the client's roles and the tenant in the token."""
    access_token, _claims = tokens.mint_access_token(
        tenant, client, subject=client.id, scope=scope_value, roles=list(client.roles or [])
    )
    return {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": tokens.access_token_ttl(tenant),
        "scope": scope_value,
    }
