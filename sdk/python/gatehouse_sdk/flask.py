"""``require_token``: protect Flask views with Gatehouse access tokens (RFC 6750).
Needs the ``flask`` extra: ``pip install 'gatehouse-sdk[flask]'``.

    verifier = TokenVerifier(issuers=[...], audience="https://api.example.com")
    init_verifier(app, verifier)

    @app.get("/api/projects")
    @require_token(permissions=["read:projects"])
    def projects():
        tenant_id = g.token_claims["tenant_id"]   # scope every query by it
        ...

A missing or invalid token (another API's token among them: wrong ``aud``) answers 401
with ``WWW-Authenticate: Bearer`` (with ``error="invalid_token"`` when a token was
presented, RFC 6750 §3.1); a valid token that lacks a permission, a role or the tenant
answers 403 ``error="insufficient_scope"`` naming the permissions needed (§3.1).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from collections.abc import Iterable

from flask import Flask
from flask import current_app
from flask import g
from flask import jsonify
from flask import request

from gatehouse_sdk.verifier import InvalidToken
from gatehouse_sdk.verifier import KeysUnavailable
from gatehouse_sdk.verifier import TokenVerifier
from gatehouse_sdk.verifier import token_roles
from gatehouse_sdk.verifier import token_scopes

EXTENSION_KEY = "gatehouse.token_verifier"

TenantRule = str | Iterable[str] | Callable[[], str | Iterable[str] | None] | None


def init_verifier(app: Flask, verifier: TokenVerifier, *, realm: str | None = None) -> None:
    """Make ``verifier`` the one ``require_token`` uses in ``app``."""
    app.extensions[EXTENSION_KEY] = verifier
    app.config.setdefault("GATEHOUSE_REALM", realm or "api")


def _quote(value: str) -> str:
    # RFC 6750 §3: auth-param values are quoted strings; keep them to safe characters.
    return '"' + value.replace("\\", "").replace('"', "'") + '"'


def bearer_challenge(status: int, error: str | None = None, description: str = "", **params):
    """A JSON error response with the RFC 6750 ``WWW-Authenticate`` challenge."""
    parts = [f"realm={_quote(current_app.config.get('GATEHOUSE_REALM', 'api'))}"]
    if error:
        parts.append(f"error={_quote(error)}")
    if description:
        parts.append(f"error_description={_quote(description)}")
    parts.extend(f"{name}={_quote(value)}" for name, value in params.items() if value)
    body = {"error": error or "unauthorized"}
    if description:
        body["error_description"] = description
    response = jsonify(body)
    response.status_code = status
    response.headers["WWW-Authenticate"] = "Bearer " + ", ".join(parts)
    response.headers["Cache-Control"] = "no-store"
    return response


def bearer_token() -> str | None:
    """The token of an ``Authorization: Bearer`` header (RFC 6750 §2.1), if any."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _allowed_tenants(rule: TenantRule) -> set[str] | None:
    value = rule() if callable(rule) else rule
    if value is None:
        return None
    return {value} if isinstance(value, str) else set(value)


def require_token(
    scopes: Iterable[str] = (),
    roles: Iterable[str] = (),
    tenant: TenantRule = None,
    verifier: TokenVerifier | None = None,
    *,
    permissions: Iterable[str] = (),
):
    """Decorator: require a valid access token; its claims go on ``g.token_claims``.

    ``permissions`` (API permissions, carried in ``scope``) and ``scopes``: every one must
    be granted. ``roles``: at least one must be held. ``tenant``: a tenant id, several, or
    a callable returning them for this request (e.g. from the URL); the token's
    ``tenant_id`` must be one of them.
    """
    needed_scopes = set(scopes) | set(permissions)
    any_roles = set(roles)

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            token = bearer_token()
            if token is None:
                # RFC 6750 §3.1: no error code when no credentials were presented.
                return bearer_challenge(401)
            checker = verifier or current_app.extensions.get(EXTENSION_KEY)
            if checker is None:
                raise RuntimeError("require_token needs init_verifier(app, verifier) first")
            try:
                claims = checker.verify(token)
            except InvalidToken as exc:
                return bearer_challenge(401, "invalid_token", exc.description)
            except KeysUnavailable:
                response = bearer_challenge(503, "temporarily_unavailable", "try again later")
                response.headers["Retry-After"] = "5"
                return response
            missing = needed_scopes - token_scopes(claims)
            if missing:
                return bearer_challenge(
                    403,
                    "insufficient_scope",
                    "the token lacks a required permission",
                    scope=" ".join(sorted(needed_scopes)),
                )
            if any_roles and not any_roles & token_roles(claims):
                return bearer_challenge(
                    403, "insufficient_scope", "the token lacks a required role"
                )
            allowed = _allowed_tenants(tenant)
            if allowed is not None and claims.get("tenant_id") not in allowed:
                return bearer_challenge(
                    403, "insufficient_scope", "the token is for another tenant"
                )
            g.token_claims = claims
            return view(*args, **kwargs)

        return wrapper

    return decorate
