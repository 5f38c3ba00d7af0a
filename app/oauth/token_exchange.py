"""OAuth 2.0 Token Exchange (RFC 8693) at ``/oauth2/token``, on the shared Authlib server.

``grant_type=urn:ietf:params:oauth:grant-type:token-exchange`` with ``subject_token`` (an
access token of this tenant), ``subject_token_type``
``urn:ietf:params:oauth:token-type:access_token``, ``resource`` (RFC 8707) and/or
``audience`` naming one API resource of this tenant, optionally ``scope`` and
``requested_token_type`` (access tokens only). The client authenticates as a
confidential client (any method it uses; public clients cannot) and must hold the grant
type. Delegation only: the authenticated client is the actor, so ``actor_token`` is
refused. The answer (§2.2.1) has ``issued_token_type`` and no refresh token.

The rules live in app/services/token_exchange.py.
"""

from __future__ import annotations

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc6749 import UnauthorizedClientError
from authlib.oauth2.rfc6749.grants import BaseGrant
from authlib.oauth2.rfc6749.grants import TokenEndpointMixin
from authlib.oauth2.rfc6749.hooks import hooked
from flask import Flask

from app.oauth.errors import InvalidTargetError
from app.oauth.grants import CLIENT_AUTH_METHODS
from app.services import token_exchange
from app.services.clients import TOKEN_EXCHANGE
from app.services.token_exchange import ACCESS_TOKEN_TYPE
from app.tenancy import current_tenant

# Parameters that may appear once at most (RFC 6749 §3.2: "MUST NOT be included more
# than once"); ``resource`` and ``audience`` may repeat in RFC 8693, one target here.
_SINGLE = (
    "subject_token",
    "subject_token_type",
    "requested_token_type",
    "scope",
    "actor_token",
    "actor_token_type",
)


class UnsupportedTokenTypeError(OAuth2Error):
    """A ``subject_token_type`` or ``requested_token_type`` this server does not exchange
    (the code of the OAuth error registry, RFC 7009 §2.2.1)."""

    error = "unsupported_token_type"
    status_code = 400


_ERRORS = {
    "invalid_request": InvalidRequestError,
    "invalid_target": InvalidTargetError,
}


class TokenExchangeGrant(BaseGrant, TokenEndpointMixin):
    """RFC 8693 §2.1–2.2 (delegation semantics, §1.1)."""

    GRANT_TYPE = TOKEN_EXCHANGE
    # Every way a confidential client authenticates here; ``none`` cannot (RFC 8693 §2.1:
    # the exchange is the actor's, and the actor must be known).
    TOKEN_ENDPOINT_AUTH_METHODS = [m for m in CLIENT_AUTH_METHODS if m != "none"]

    def validate_token_request(self):
        client = self.authenticate_token_endpoint_client()  # invalid_client (counted)
        if not client.check_grant_type(self.GRANT_TYPE):
            raise UnauthorizedClientError("This client may not use token exchange.")
        values = self.request._request.values  # the Werkzeug request
        for name in _SINGLE:
            if len(values.getlist(name)) > 1:
                raise InvalidRequestError(f"{name} may be given once.")
        if values.get("actor_token") or values.get("actor_token_type"):
            raise InvalidRequestError(
                "actor_token is not supported: the authenticated client is the actor."
            )
        if not values.get("subject_token"):
            raise InvalidRequestError("subject_token is required.")
        subject_type = values.get("subject_token_type")
        if not subject_type:
            raise InvalidRequestError("subject_token_type is required.")
        if subject_type != ACCESS_TOKEN_TYPE:
            raise UnsupportedTokenTypeError(
                f"Only {ACCESS_TOKEN_TYPE} subject tokens are exchanged."
            )
        requested = values.get("requested_token_type")
        if requested is not None and requested != ACCESS_TOKEN_TYPE:
            raise UnsupportedTokenTypeError(f"Only {ACCESS_TOKEN_TYPE} tokens are issued.")
        self.request.client = client

    @hooked
    def create_token_response(self):
        values = self.request._request.values
        client = self.request.client
        try:
            target = token_exchange.target_of(
                values.getlist("resource"), values.getlist("audience")
            )
            body = token_exchange.exchange(
                current_tenant._get_current_object(),
                client.row,
                values["subject_token"],
                target,
                values.get("scope"),
            )
        except token_exchange.ExchangeRefused as exc:
            raise _ERRORS[exc.error](description=exc.description) from exc
        return 200, body, self.TOKEN_RESPONSE_HEADER


def init_app(app: Flask) -> None:
    """Register the grant with the shared server (once per process: it outlives each app
    the tests build)."""
    from app.oauth.server import authorization

    if not any(cls is TokenExchangeGrant for cls, _ext in authorization._token_grants):
        authorization.register_grant(TokenExchangeGrant)
