"""Verify Gatehouse access tokens in your API (a resource server).

``TokenVerifier`` verifies a token against an allow-list of tenant issuers and your API's
identifier as audience (JWKS cached per issuer and ``kid``). The Flask decorator
``require_token`` lives in :mod:`gatehouse_sdk.flask` (``pip install 'gatehouse-sdk[flask]'``);
it is also importable from here when Flask is installed.

This package never imports the Gatehouse server.
"""

from gatehouse_sdk.jwks import JWKSCache
from gatehouse_sdk.jwks import JWKSFetchError
from gatehouse_sdk.jwks import http_fetch
from gatehouse_sdk.jwks import loopback_fetch
from gatehouse_sdk.verifier import InvalidToken
from gatehouse_sdk.verifier import KeysUnavailable
from gatehouse_sdk.verifier import TokenVerifier
from gatehouse_sdk.verifier import token_permissions
from gatehouse_sdk.verifier import token_roles
from gatehouse_sdk.verifier import token_scopes

__version__ = "0.2.0"

_FLASK_NAMES = ("bearer_challenge", "init_verifier", "require_token")

__all__ = [
    "InvalidToken",
    "JWKSCache",
    "JWKSFetchError",
    "KeysUnavailable",
    "TokenVerifier",
    "http_fetch",
    "loopback_fetch",
    "token_permissions",
    "token_roles",
    "token_scopes",
    *_FLASK_NAMES,
]


def __getattr__(name: str):
    # The Flask helpers are an optional extra: import them only when asked for.
    if name in _FLASK_NAMES:
        try:
            from gatehouse_sdk import flask as flask_helpers
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                f"gatehouse_sdk.{name} needs Flask: pip install 'gatehouse-sdk[flask]'"
            ) from exc
        return getattr(flask_helpers, name)
    raise AttributeError(f"module 'gatehouse_sdk' has no attribute {name!r}")
