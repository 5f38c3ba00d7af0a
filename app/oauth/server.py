"""The Authlib authorization server, resource protector and endpoints, for the request's
tenant. Everything tenant-specific (clients, issuer, keys) is looked up per request
through ``current_tenant``, so one server object serves every tenant."""

from __future__ import annotations

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.integrations.flask_oauth2 import ResourceProtector
from authlib.integrations.flask_oauth2.requests import FlaskOAuth2Request
from authlib.oauth2.rfc6750 import BearerTokenValidator
from authlib.oauth2.rfc9207 import IssuerParameter
from flask import Flask
from flask import g
from flask import request as flask_request

from app.oauth import client_auth
from app.oauth import endpoints
from app.oauth import grants
from app.oauth import token_exchange
from app.oauth.models import OAuthClient
from app.oauth.models import OAuthToken
from app.services import clients as clients_service
from app.services import tokens
from app.tenancy import current_tenant
from app.tenancy import issuer_for
from app.tenancy import reading_tenant


class GatehouseOAuth2Request(FlaskOAuth2Request):
    """Authlib's request; whether plain http is allowed is decided by configuration
    (URL_SCHEME, DESIGN §5: http only for local development), not by the scheme Werkzeug
    sees behind a TLS-terminating proxy, so Authlib's own https check is satisfied here."""

    def __init__(self, request):
        super().__init__(_SchemeView(request))
        self._request = request


class _SchemeView:
    """Just enough of a Flask request for FlaskOAuth2Request.__init__, with an https URL."""

    def __init__(self, request):
        self.method = request.method
        self.headers = request.headers
        environ = request.environ
        # request.url re-quotes every part (costly, and only read by a few grants).
        query = environ.get("QUERY_STRING")
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        self.url = f"https://{request.host}{path}{'?' + query if query else ''}"
        self.values = request.values


class TenantAuthorizationServer(AuthorizationServer):
    """Authlib's Flask server; clients come from the request's tenant only."""

    def create_oauth2_request(self, request):
        return GatehouseOAuth2Request(request if request is not None else flask_request)

    def query_client(self, client_id):
        # One lookup per request and client id (Authlib asks several times).
        cache = g.setdefault("oauth_clients", {})
        if client_id not in cache:
            row = clients_service.authenticating_client(reading_tenant(), client_id)
            cache[client_id] = OAuthClient(row) if row is not None else None
        return cache[client_id]

    def authenticate_client(self, request, methods, endpoint="token"):
        # private_key_jwt wherever a client secret is accepted (app/oauth/client_auth.py).
        return super().authenticate_client(request, client_auth.with_assertions(methods), endpoint)

    def save_token(self, token, request):
        """Nothing to do: grants persist their grant rows and refresh tokens themselves."""

    def handle_error_response(self, request, error):
        # Brute force on client authentication: counted on failures only (no cost on
        # success); past the limit a failing client gets 429 instead of 401.
        if error.error == "invalid_client":
            retry_after = client_auth.note_failure(current_tenant.id, request)
            if retry_after:
                return client_auth.too_many(retry_after)
        return super().handle_error_response(request, error)


class TenantIssuerParameter(IssuerParameter):
    """RFC 9207: ``iss`` on every authorization response."""

    def get_issuer(self) -> str:
        return issuer_for(reading_tenant())


class AccessTokenValidator(BearerTokenValidator):
    """Bearer access tokens: RFC 9068 JWTs of THIS tenant (app.services.tokens)."""

    def authenticate_token(self, token_string):
        try:
            claims = tokens.verify_access_token(current_tenant, token_string)
        except tokens.InvalidToken:
            return None
        return OAuthToken("access_token", claims["client_id"], claims=claims)


def _build_server() -> TenantAuthorizationServer:
    server = TenantAuthorizationServer()
    server.register_grant(
        grants.AuthorizationCodeGrant,
        [grants.S256CodeChallenge(required=True), grants.OpenIDCode(require_nonce=False)],
    )
    server.register_grant(grants.RefreshTokenGrant)
    server.register_grant(grants.ClientCredentialsGrant)
    server.register_endpoint(endpoints.Introspection)
    server.register_endpoint(endpoints.Revocation)
    server.register_extension(TenantIssuerParameter())
    server.register_client_auth_method(client_auth.PRIVATE_KEY_JWT, client_auth.PrivateKeyJwt())
    return server


# Built once at import (like an unbound extension); nothing per-tenant is stored on it.
authorization = _build_server()
require_oauth = ResourceProtector()
require_oauth.register_token_validator(AccessTokenValidator())


def init_app(app: Flask) -> None:
    authorization.init_app(app)
    token_exchange.init_app(app)  # RFC 8693, registered from its own module
