"""Resource-server helpers for APIs that accept Gatehouse access tokens.

``TokenVerifier`` verifies a token against an allow-list of tenant issuers (JWKS
cached per issuer and ``kid``); ``require_token`` protects Flask views with it and
answers per RFC 6750. See static/sdk/README.md ("Python resource servers").
"""

from app.sdk.decorators import bearer_challenge
from app.sdk.decorators import init_verifier
from app.sdk.decorators import require_token
from app.sdk.jwks import JWKSCache
from app.sdk.jwks import JWKSFetchError
from app.sdk.jwks import http_fetch
from app.sdk.jwks import loopback_fetch
from app.sdk.verifier import InvalidToken
from app.sdk.verifier import KeysUnavailable
from app.sdk.verifier import TokenVerifier
from app.sdk.verifier import token_roles
from app.sdk.verifier import token_scopes

__all__ = [
    "InvalidToken",
    "JWKSCache",
    "JWKSFetchError",
    "KeysUnavailable",
    "TokenVerifier",
    "bearer_challenge",
    "http_fetch",
    "init_verifier",
    "loopback_fetch",
    "require_token",
    "token_roles",
    "token_scopes",
]
