"""OIDC Discovery 1.0 / RFC 8414 metadata and the JWKS, per tenant.

The issuer is the tenant's canonical origin (app.tenancy.issuer_for); fetched under any
other form (e.g. ``/t/<slug>`` when routing is by subdomain) the document redirects to the
canonical URL, so "the issuer equals the URL it was fetched from" always holds.
"""

from __future__ import annotations

from flask import jsonify
from flask import redirect
from flask import request

from app.oauth import bp
from app.services import keys
from app.services.clients import AUTH_METHODS
from app.services.clients import ID_TOKEN_ALGS
from app.services.clients import SCOPES
from app.tenancy import current_tenant
from app.tenancy import issuer_for

CLAIMS = [
    "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "amr", "at_hash", "sid", "azp",
    "name", "updated_at", "email", "email_verified", "tenant_id", "org_id",
]  # fmt: skip


def metadata(issuer: str) -> dict:
    """What this provider really supports, and nothing else."""
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oauth2/authorize",
        "token_endpoint": f"{issuer}/oauth2/token",
        "userinfo_endpoint": f"{issuer}/oauth2/userinfo",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "introspection_endpoint": f"{issuer}/oauth2/introspect",
        "revocation_endpoint": f"{issuer}/oauth2/revoke",
        "end_session_endpoint": f"{issuer}/oauth2/logout",
        "scopes_supported": sorted(SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": sorted(ID_TOKEN_ALGS, reverse=True),
        "userinfo_signing_alg_values_supported": ["none"],
        "token_endpoint_auth_methods_supported": sorted(AUTH_METHODS),
        "introspection_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
        ],
        "revocation_endpoint_auth_methods_supported": sorted(AUTH_METHODS),
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": CLAIMS,
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        # prompt=select_organization is Gatehouse's own value (an organization picker).
        "prompt_values_supported": ["none", "login", "consent", "select_organization"],
        "authorization_response_iss_parameter_supported": True,
        "frontchannel_logout_supported": False,
        "backchannel_logout_supported": False,
    }


def _fetched_from() -> str:
    return f"{request.scheme}://{request.host.lower()}{request.script_root}"


@bp.route("/.well-known/openid-configuration")
def openid_configuration():
    issuer = issuer_for(current_tenant)
    if _fetched_from() != issuer:
        return redirect(f"{issuer}{request.path}", code=308)
    response = jsonify(metadata(issuer))
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.route("/.well-known/jwks.json")
def jwks():
    response = jsonify(keys.jwks(current_tenant))
    response.headers["Cache-Control"] = "public, max-age=60"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response
