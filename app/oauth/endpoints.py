"""RFC 7662 introspection and RFC 7009 revocation for the request's tenant.

A token of another tenant fails this tenant's signature/issuer/tenant checks and is
therefore unknown here: introspection answers ``{"active": false}``, revocation 200.
"""

from __future__ import annotations

from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint

from app.models import Grant
from app.oauth.models import OAuthToken
from app.services import grants as grants_service
from app.services import tokens
from app.tenancy import current_tenant
from app.tenancy import issuer_for
from app.tenancy import scope


def _access_token(token_string: str) -> OAuthToken | None:
    try:
        claims = tokens.verify_access_token(current_tenant, token_string)
    except tokens.InvalidToken:
        return None
    return OAuthToken("access_token", claims["client_id"], claims=claims)


def _refresh_token(token_string: str) -> OAuthToken | None:
    row = grants_service.find_refresh_token(current_tenant, token_string)
    if row is None:
        return None
    grant = scope(current_tenant).get(Grant, row.grant_id)
    if not grants_service.is_refresh_usable(current_tenant, row, grant):
        return None
    return OAuthToken("refresh_token", grant.client_id, refresh=row, grant=grant)


def find_token(token_string: str, hint: str | None) -> OAuthToken | None:
    """A live token of this tenant (access JWT or refresh token), trying the hint first."""
    if not token_string or len(token_string) > 8192:
        return None
    lookups = [_access_token, _refresh_token]
    if hint == "refresh_token" or token_string.startswith("rt_"):
        lookups.reverse()
    for lookup in lookups:
        token = lookup(token_string)
        if token is not None:
            return token
    return None


class Introspection(IntrospectionEndpoint):
    # Only confidential clients of this tenant may introspect (RFC 7662 §2.1).
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    def query_token(self, token_string, token_type_hint):
        return find_token(token_string, token_type_hint)

    def check_permission(self, token, client, request) -> bool:
        # Access tokens: any confidential client of the tenant (a resource server);
        # refresh tokens: only the client they were issued to.
        return token.kind == "access_token" or token.check_client(client)

    def introspect_token(self, token) -> dict:
        if token.kind == "access_token":
            claims = token.claims
            return {"active": True, "token_type": tokens.token_type_of(claims), **claims}
        grant = token.grant
        return {
            "active": True,
            "token_type": "refresh_token",
            "client_id": grant.client_id,
            "scope": grant.scope,
            "sub": grant.user_id,
            "iss": issuer_for(current_tenant),
            "exp": int(token.refresh.expires_at.timestamp()),
            "tenant_id": current_tenant.id,
        }


class Revocation(RevocationEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def query_token(self, token_string, token_type_hint):
        return find_token(token_string, token_type_hint)

    def revoke_token(self, token, request) -> None:
        tenant = current_tenant._get_current_object()
        if token.kind == "access_token":
            tokens.revoke_access_token(tenant, token.claims)
        else:
            # RFC 7009 §2.1: revoking a refresh token revokes its grant's access tokens too.
            grants_service.revoke_grant(tenant, token.grant.id, reason="revoked_by_client")
