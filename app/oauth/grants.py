"""Authlib grants for the tenant of the request: authorization_code (+ PKCE S256, + OpenID
Connect), refresh_token (rotation, reuse detection, organization switch), client_credentials.

Authlib validates the requests (client authentication, redirect URI binding, scopes, PKCE,
nonce, prompt); storage and token minting are Gatehouse services.
"""

from __future__ import annotations

import secrets
from contextlib import contextmanager

from authlib.oauth2.rfc6749 import InvalidGrantError
from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.hooks import hooked
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core.grants import OpenIDCode as _OpenIDCode

from app.models import User
from app.oauth import dpop
from app.oauth.errors import InvalidTargetError
from app.oauth.models import OAuthCode
from app.oauth.models import OAuthToken
from app.services import audiences
from app.services import grants as grants_service
from app.services import issuance
from app.services.errors import ValidationFailed
from app.services.settings import get_settings
from app.tenancy import current_tenant
from app.tenancy import reading_tenant
from app.tenancy import scope

CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]


@contextmanager
def invalid_target():
    """audiences.InvalidTarget (a resource unknown, not granted, deleted since) as the
    RFC 8707 error."""
    try:
        yield
    except audiences.InvalidTarget as exc:
        raise InvalidTargetError(str(exc)) from exc


def requested_resource(oauth_request) -> str | None:
    """The token request's ``resource`` (RFC 8707): at most one per token request here."""
    values = oauth_request._request.values.getlist("resource")  # the Werkzeug request
    if len(values) > 1:
        raise InvalidTargetError("Ask for one resource per token request.")
    return values[0] if values else None


def _active_user(user_id: str | None) -> User | None:
    user = scope(current_tenant).get(User, user_id)
    return user if user is not None and user.is_active else None


def _pkce_required(client) -> bool:
    """Public clients always; confidential ones where the tenant asks (OAuth 2.1)."""
    if client.is_public:
        return True
    return bool(get_settings(reading_tenant())["require_pkce_for_confidential_clients"])


class S256CodeChallenge(CodeChallenge):
    """PKCE (RFC 7636) with S256 only: ``plain`` (explicit or by default) is refused
    (RFC 9700 §2.1.1), and public clients must send a challenge."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant, redirect_uri):
        data = grant.request.payload.data
        challenge, method = data.get("code_challenge"), data.get("code_challenge_method")
        if challenge and method != "S256":
            raise InvalidRequestError("code_challenge_method must be S256.")
        if not challenge and _pkce_required(grant.request.client.row):
            raise InvalidRequestError("PKCE (code_challenge, S256) is required for this client.")
        super().validate_code_challenge(grant, redirect_uri)


class OpenIDCode(_OpenIDCode):
    """OpenID Connect on the code flow: Authlib checks nonce and prompt; the ID token is
    minted by app.services.tokens with the tenant's cached keys."""

    def exists_nonce(self, nonce, request) -> bool:
        return False  # codes are single use; a nonce is bound to its code, not global

    def process_token(self, grant, response):
        return response[1]  # the ID token is added in AuthorizationCodeGrant


def new_code() -> str:
    """An authorization code: 48 URL-safe characters from 36 random bytes (288 bits;
    Authlib's default, 48 ``SystemRandom().choice`` calls over [A-Za-z0-9], is ~286 bits
    at 4% of a signed-in authorization's CPU). Only its SHA-256 digest is stored."""
    return secrets.token_urlsafe(36)


def store_code(
    code: str,
    *,
    client_id: str,
    user_id: str,
    session,
    redirect_uri: str | None,
    scope: str | None,
    data,
    org_id: str | None = None,
    acr: str | None = None,
    claims_request: dict | None = None,
    resources: list | None = None,
) -> None:
    """Store an issued code with what it binds: the client, the user and their
    ``session`` (its id, ``auth_time`` and ``amr``), the request's ``data`` (nonce, PKCE
    challenge, ``dpop_jkt``) and the interaction's outcome (organization, acr, claims
    request, resources). For Authlib's grant and the direct authorization alike."""
    grants_service.save_code(
        reading_tenant(),
        code,
        client_id=client_id,
        user_id=user_id,
        session_id=session.id,
        # RFC 6749 §4.1.3: the token request must repeat redirect_uri only if the
        # authorization request carried it ("" = it was omitted, the default was used).
        redirect_uri=redirect_uri or "",
        scope=scope or "",
        nonce=(data.get("nonce") or None),
        code_challenge=data.get("code_challenge"),
        code_challenge_method=data.get("code_challenge_method"),
        org_id=org_id,
        auth_time=session.auth_time,
        amr=list(session.amr or []),
        acr=acr,
        claims_request=claims_request,
        resources=resources or [],
        dpop_jkt=dpop.requested_jkt(data.get("dpop_jkt")),
    )


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS

    def generate_authorization_code(self) -> str:
        return new_code()

    def save_authorization_code(self, code, request):
        context = request.gatehouse  # set by the authorize view: session, organization
        store_code(
            code,
            client_id=request.client.row.id,
            user_id=request.user.id,
            session=context["session"],
            redirect_uri=request.payload.redirect_uri,
            scope=context.get("scope") or request.scope,
            data=request.payload.data,
            org_id=context.get("org_id"),
            acr=context.get("acr"),
            claims_request=context.get("claims_request"),
            resources=context.get("resources"),
        )

    def query_authorization_code(self, code, client):
        # A client that must use DPoP and sent no proof keeps its code (checked first).
        jkt = dpop.key_for_grant(self.request._request, client.row)
        row = grants_service.redeem_code(current_tenant, code, client.row)
        if row is not None and row.dpop_jkt and row.dpop_jkt != jkt:
            # RFC 9449 §10: the code is for the key the authorization request named only
            # (the code is used up: a code stolen without the key is spent, not retried).
            raise InvalidGrantError("The code is bound to another DPoP key (dpop_jkt).")
        return OAuthCode(row) if row is not None else None

    def delete_authorization_code(self, authorization_code):
        """Nothing to do: the code was marked used atomically when redeemed."""

    def authenticate_user(self, authorization_code):
        return _active_user(authorization_code.row.user_id)

    @hooked
    def create_token_response(self):
        client = self.request.client
        code = self.request.authorization_code.row
        user = self.authenticate_user(self.request.authorization_code)
        if user is None:
            raise InvalidGrantError("The user of this code is no longer active.")
        self.request.user = user
        tenant = current_tenant._get_current_object()
        resource = requested_resource(self.request)
        if resource is not None and not audiences.granted(code.resources, resource)[0]:
            raise InvalidTargetError("The resource was not named in the authorization request.")
        grant = grants_service.start_grant(
            tenant,
            client.row,
            user_id=user.id,
            session_id=code.session_id,
            scope=code.scope,
            org_id=code.org_id,
            auth_time=code.auth_time,
            amr=list(code.amr or []),
            acr=code.acr,
            claims_request=code.claims_request,
            resources=list(code.resources or []),
        )
        code.grant_id = grant.id
        jkt = dpop.bound_jkt(self.request._request)
        with invalid_target():
            body = issuance.user_token_response(
                tenant,
                client.row,
                user,
                grant,
                include_refresh=client.check_grant_type("refresh_token"),
                resource=resource,
                jkt=jkt,
                refresh_jkt=dpop.refresh_key_for(client.row, jkt),
            )
        issuance.add_id_token(tenant, client.row, user, grant, body, nonce=code.nonce)
        return 200, body, self.TOKEN_RESPONSE_HEADER


class RefreshTokenGrant(grants.RefreshTokenGrant):
    """Rotation on every use; a rotated token presented again revokes the family."""

    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_AUTH_METHODS
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token):
        # Only a lookup here (token, grant, user and roles in one query): the token is
        # consumed in create_token_response, once the rest of the request (scope,
        # organization) has been validated.
        presented = grants_service.find_presented_refresh(current_tenant, refresh_token)
        if presented is None:
            return None
        token = OAuthToken(
            "refresh_token", presented.grant.client_id, refresh=presented.row, grant=presented.grant
        )
        token.presented = presented
        return token

    def authenticate_user(self, refresh_token):
        user = refresh_token.presented.user
        return user if user is not None and user.is_active else None

    def revoke_old_credential(self, refresh_token):
        """Done by grants.claim_refresh_token (atomic)."""

    @hooked
    def create_token_response(self):
        tenant = current_tenant._get_current_object()
        client = self.request.client
        presented = self.request.refresh_token.presented
        user = self.authenticate_user(self.request.refresh_token)
        if user is None:
            raise InvalidGrantError("The user of this token is no longer active.")
        org_id = self.request.payload.data.get("organization")
        org_roles = presented.org_roles
        if org_id:
            try:
                org_roles = issuance.check_organization(tenant, user, org_id)
            except ValidationFailed as exc:
                raise InvalidRequestError(exc.errors["organization"]) from exc
        # RFC 8707 §2.2: only a resource granted at authorization; checked before the
        # refresh token is used up.
        resource = requested_resource(self.request)
        with invalid_target():
            issuance.check_resource(presented.grant, resource)
            if resource is not None:
                audiences.entry_for(issuance.resource_config(tenant), resource)
        # RFC 9449 §5: a bound refresh token only with a proof of its key; checked before
        # the token is used up.
        jkt = dpop.key_for_grant(self.request._request, client.row)
        bound = presented.row.dpop_jkt
        if bound and jkt != bound:
            raise InvalidGrantError(
                "The refresh token is bound to a DPoP key: send a DPoP proof made with it."
            )
        grant = grants_service.claim_refresh_token(tenant, presented, client.row)
        if grant is None:
            raise InvalidGrantError("The refresh token is invalid, expired or revoked.")
        if org_id:
            grants_service.switch_organization(tenant, grant, org_id)
        keys = issuance.role_keys(presented.tenant_roles, org_roles)
        with invalid_target():
            body = issuance.user_token_response(
                tenant,
                client.row,
                user,
                grant,
                include_refresh=True,
                keys=keys,
                resource=resource,
                jkt=jkt,
                refresh_jkt=bound or dpop.refresh_key_for(client.row, jkt),
            )
        issuance.add_id_token(tenant, client.row, user, grant, body)
        self.request.user = user
        return 200, body, self.TOKEN_RESPONSE_HEADER


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    """No user: the token carries the tenant and the client's roles."""

    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

    @hooked
    def create_token_response(self):
        client = self.request.client
        requested = self.request.payload.scope
        resource = requested_resource(self.request)
        scope_value = client_credentials_scope(client.row, requested, resource)
        jkt = dpop.key_for_grant(self.request._request, client.row)
        with invalid_target():
            body = issuance.client_token_response(
                current_tenant._get_current_object(), client.row, scope_value, resource, jkt
            )
        return 200, body, self.TOKEN_RESPONSE_HEADER


def client_credentials_scope(client, requested: str | None, resource: str | None = None) -> str:
    """The scope of a client_credentials token: the requested scopes the client registered
    (all of them when none is requested), never ``openid`` or ``offline_access`` (no
    user). Unknown scopes are dropped, not an error (as for every grant here). With a
    ``resource`` (RFC 8707) what was asked, which the client's resource grants then bound
    (issuance.client_token_response)."""
    if resource is not None:
        return requested or ""
    allowed = [s for s in client.scope.split() if s not in {"openid", "offline_access"}]
    if not requested:
        return " ".join(allowed)
    return " ".join(s for s in dict.fromkeys(requested.split()) if s in allowed)


__all__ = [
    "AuthorizationCodeGrant",
    "ClientCredentialsGrant",
    "OpenIDCode",
    "RefreshTokenGrant",
    "S256CodeChallenge",
]
