"""OIDC Discovery 1.0 / RFC 8414 metadata and the JWKS, per tenant.

The issuer is the tenant's canonical origin (app.tenancy.issuer_for); fetched under any
other form (e.g. ``/t/<slug>`` when routing is by subdomain) the document redirects to the
canonical URL, so "the issuer equals the URL it was fetched from" always holds.
"""

from __future__ import annotations

import hashlib
import json

from flask import Response
from flask import redirect
from flask import request

from app.extensions import db
from app.oauth import bp
from app.services import keys
from app.services.clients import AUTH_METHODS
from app.services.clients import ID_TOKEN_ALGS
from app.services.clients import SCOPES
from app.tenancy import current_config
from app.tenant_cache import changed_tenants

# Browsers and relying parties may keep discovery a while; JWKS only a minute, so a
# ``next`` key (published one whole rotation before it signs) is seen well before it signs.
DISCOVERY_MAX_AGE = 300
JWKS_MAX_AGE = 60

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


def prepared(body: dict) -> tuple[bytes, str]:
    """A JSON document as bytes, and its strong ETag (unquoted)."""
    data = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    return data, hashlib.sha256(data).hexdigest()[:32]


def _send(document: tuple[bytes, str], max_age: int) -> Response:
    data, etag = document
    if request.if_none_match.contains(etag):
        response = Response(status=304)
    else:
        response = Response(data, mimetype="application/json")
    response.set_etag(etag)
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.route("/.well-known/openid-configuration")
def openid_configuration():
    snapshot = current_config._get_current_object()
    if _fetched_from() != snapshot.issuer:
        return redirect(f"{snapshot.issuer}{request.path}", code=308)
    document = snapshot.derived("discovery", lambda: prepared(metadata(snapshot.issuer)))
    return _send(document, DISCOVERY_MAX_AGE)


@bp.route("/.well-known/jwks.json")
def jwks():
    snapshot = current_config._get_current_object()
    document = snapshot.memo.get("jwks")
    if document is None:
        document = prepared(keys.jwks(snapshot))
        if snapshot.id not in changed_tenants(db.session()):  # keys made now: not kept
            snapshot.memo["jwks"] = document
    return _send(document, JWKS_MAX_AGE)
