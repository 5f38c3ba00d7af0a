"""OIDC Discovery 1.0 / RFC 8414 metadata and the JWKS, per tenant.

Served by app/oauth/protocol.py from bytes prepared once per tenant snapshot, with an
ETag. The issuer is the tenant's canonical origin (app.tenancy.issuer_for); fetched under
any other form (e.g. ``/t/<slug>`` when routing is by subdomain) the document redirects to
the canonical URL, so "the issuer equals the URL it was fetched from" always holds.
"""

from __future__ import annotations

import hashlib
import json

from flask import g

from app.oauth.dpop import ALGORITHMS as DPOP_ALGORITHMS
from app.oauth.form_post import RESPONSE_MODES
from app.services.claims_request import acr_values_supported
from app.services.client_keys import SIGNING_ALGS
from app.services.clients import AUTH_METHODS
from app.services.clients import DEVICE_CODE
from app.services.clients import ID_TOKEN_ALGS
from app.services.clients import SCOPES
from app.services.clients import TOKEN_EXCHANGE
from app.services.registration import is_enabled as registration_enabled
from app.services.settings import DEFAULTS
from app.services.settings import get_settings

# Browsers and relying parties may keep discovery a while; JWKS only a minute, so a
# ``next`` key (published one whole rotation before it signs) is seen well before it signs.
DISCOVERY_MAX_AGE = 300
JWKS_MAX_AGE = 60

CLAIMS = [
    "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "at_hash", "sid", "azp",
    "name", "updated_at", "email", "email_verified", "tenant_id", "org_id",
]  # fmt: skip


def metadata(issuer: str, settings=None) -> dict:
    """What this provider really supports, and nothing else. ``settings``: the tenant's
    (by default the request's tenant snapshot's)."""
    if settings is None:
        settings = _request_settings()
    document = {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oauth2/authorize",
        "token_endpoint": f"{issuer}/oauth2/token",
        "userinfo_endpoint": f"{issuer}/oauth2/userinfo",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "introspection_endpoint": f"{issuer}/oauth2/introspect",
        "revocation_endpoint": f"{issuer}/oauth2/revoke",
        "end_session_endpoint": f"{issuer}/oauth2/logout",
        "device_authorization_endpoint": f"{issuer}/oauth2/device_authorization",
        "scopes_supported": sorted(SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": list(RESPONSE_MODES),
        "grant_types_supported": [
            "authorization_code",
            "refresh_token",
            "client_credentials",
            DEVICE_CODE,
            TOKEN_EXCHANGE,
        ],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": sorted(ID_TOKEN_ALGS, reverse=True),
        "userinfo_signing_alg_values_supported": ["none"],
        "token_endpoint_auth_methods_supported": sorted(AUTH_METHODS),
        # private_key_jwt (RFC 7523): the algorithms a client assertion may be signed with.
        "token_endpoint_auth_signing_alg_values_supported": list(SIGNING_ALGS),
        "introspection_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
        ],
        "introspection_endpoint_auth_signing_alg_values_supported": list(SIGNING_ALGS),
        "revocation_endpoint_auth_methods_supported": sorted(AUTH_METHODS),
        "revocation_endpoint_auth_signing_alg_values_supported": list(SIGNING_ALGS),
        "code_challenge_methods_supported": ["S256"],
        # RFC 9449 §5.1: DPoP proofs (app/oauth/dpop.py).
        "dpop_signing_alg_values_supported": list(DPOP_ALGORITHMS),
        "claims_supported": CLAIMS,
        # OIDC Core §5.5 / §2 (app/services/claims_request.py); no aggregated or
        # distributed claims.
        "claims_parameter_supported": True,
        "claim_types_supported": ["normal"],
        "acr_values_supported": acr_values_supported(settings),
        # RFC 9101: signed request objects by value (``request``, also pushed to PAR);
        # ``request_uri`` only as PAR's own (no fetching from other hosts).
        "request_parameter_supported": True,
        "request_object_signing_alg_values_supported": list(SIGNING_ALGS),
        "request_uri_parameter_supported": False,
        # prompt=select_organization is Gatehouse's own value (an organization picker).
        "prompt_values_supported": ["none", "login", "consent", "select_organization"],
        "authorization_response_iss_parameter_supported": True,
        # RFC 9126 §5
        "pushed_authorization_request_endpoint": f"{issuer}/oauth2/par",
        "require_pushed_authorization_requests": bool(
            settings.get("require_pushed_authorization_requests")
        ),
        "frontchannel_logout_supported": False,
        # OIDC Back-Channel Logout 1.0 §2.1: logout tokens carry ``sid`` (and ``sub``).
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
    }
    # RFC 7591 §3 / RFC 8414 §2: only where the tenant turned registration on (discovery
    # is built once per snapshot, and every settings change makes a new snapshot).
    if registration_enabled(settings):
        document["registration_endpoint"] = f"{issuer}/oauth2/register"
    return document


def _request_settings() -> dict:
    snapshot = g.get("tenant_config") if g else None
    return get_settings(snapshot) if snapshot is not None else DEFAULTS


def prepared(body: dict) -> tuple[bytes, str]:
    """A JSON document as bytes, and its strong ETag (unquoted)."""
    data = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    return data, hashlib.sha256(data).hexdigest()[:32]
