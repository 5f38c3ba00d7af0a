"""Client authentication beyond Authlib's built-in methods, and brute-force limiting.

``private_key_jwt`` (RFC 7523 §2.2, OIDC Core §9): the client proves itself with a JWT
signed by one of its registered keys (app/services/client_keys.py). Accepted wherever a
client secret is (token, introspection, revocation, PAR, device authorization): the server
adds the method to every endpoint's list (``with_assertions``), and a client registered
for it can use nothing else (``OAuthClient.check_endpoint_auth_method``). The assertion:

* ``iss`` = ``sub`` = the client id (and ``client_id``, when sent, the same);
* ``aud``: the tenant's issuer or its token endpoint URL (one value, or a list of only
  those); anything else is refused (the audience confusion of OpenID's 2025 advisory);
* ``exp`` required, at most :data:`MAX_LIFETIME` seconds after ``iat`` (or now), ``nbf``
  honoured, :data:`LEEWAY` seconds of clock skew;
* ``jti`` required and single use within the assertion's lifetime (app/security/replay.py);
* signed with an algorithm of ``client_keys.SIGNING_ALGS`` (never ``none`` nor ``HS*``).

Brute-force limiting of client authentication, on failures only.

A successful client authentication costs nothing here: only a failed one (``invalid_client``)
is counted, per tenant and client address, in the rate-limit storage (Redis when
``REDIS_URL`` is set, else in-process). Past ``CLIENT_AUTH_FAILURE_LIMIT`` the failing
requests are answered 429 with ``Retry-After``. Client secrets are 256-bit random values,
so the limit protects the server's time, not the secrets: a correct secret is never refused.
"""

from __future__ import annotations

import json
import math
import time

from authlib.oauth2.rfc6749 import InvalidClientError
from authlib.oauth2.rfc7523 import JWTBearerClientAssertion
from flask import Response
from flask import current_app
from limits import parse_many
from limits.storage import MemoryStorage
from limits.strategies import STRATEGIES
from limits.strategies import MovingWindowRateLimiter

from app.extensions import limiter
from app.security import replay
from app.services import client_keys
from app.tenancy import current_tenant
from app.tenancy import issuer_for
from app.web import degraded

PRIVATE_KEY_JWT = "private_key_jwt"
MAX_LIFETIME = 300  # seconds from iat to exp
LEEWAY = 30  # seconds of clock skew
_SECRET_METHODS = {"client_secret_basic", "client_secret_post"}


def with_assertions(methods) -> list[str]:
    """An endpoint's client authentication methods, plus ``private_key_jwt`` wherever a
    client secret is accepted (a signed assertion is at least as strong)."""
    methods = list(methods)
    if PRIVATE_KEY_JWT not in methods and _SECRET_METHODS & set(methods):
        methods.insert(0, PRIVATE_KEY_JWT)
    return methods


def accepted_audiences(tenant) -> tuple[str, str]:
    issuer = issuer_for(tenant)
    return issuer, f"{issuer}/oauth2/token"


def audience_ok(aud, accepted) -> bool:
    """A single accepted value, or a non-empty list of accepted values only."""
    if isinstance(aud, str):
        return aud in accepted
    return isinstance(aud, list) and bool(aud) and all(a in accepted for a in aud)


class PrivateKeyJwt(JWTBearerClientAssertion):
    """RFC 7523 §2.2 client assertions, registered on the server as ``private_key_jwt``."""

    CLIENT_AUTH_METHOD = PRIVATE_KEY_JWT

    def __call__(self, query_client, request):
        data = request.form
        if data.get("client_assertion_type") != self.CLIENT_ASSERTION_TYPE:
            return None
        assertion = data.get("client_assertion")
        if not assertion or len(assertion) > 16384:
            raise _refused("client_assertion is missing or too long.")
        _header, unverified = self.extract_assertion(assertion)
        client_id = unverified.get("sub")
        if not isinstance(client_id, str) or not client_id:
            raise _refused("The assertion has no sub (the client id).")
        if data.get("client_id") not in (None, client_id):
            raise _refused("client_id is not the assertion's subject.")
        client = query_client(client_id)
        if client is None:
            raise _refused("The client does not exist on this server.")
        if not client.check_endpoint_auth_method(PRIVATE_KEY_JWT, "token"):
            # Not this client's method: the ClientAuthentication loop refuses it.
            return client
        try:
            _header, claims = client_keys.verify(client.row, assertion)
        except client_keys.KeyProblem as exc:
            raise _refused(str(exc)) from exc
        self.check_claims(client_id, claims)
        request.client = client
        return client

    def check_claims(self, client_id: str, claims: dict) -> None:
        """RFC 7523 §3, items 1-7, with Gatehouse's limits."""
        now = time.time()
        if claims.get("iss") != client_id or claims.get("sub") != client_id:
            raise _refused("iss and sub must both be the client id.")
        tenant = current_tenant._get_current_object()
        if not audience_ok(claims.get("aud"), accepted_audiences(tenant)):
            raise _refused("aud must be this issuer or its token endpoint URL.")
        problem = client_keys.lifetime_problem(
            claims, "The assertion", max_lifetime=MAX_LIFETIME, leeway=LEEWAY, now=now
        )
        if problem:
            raise _refused(problem)
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti or len(jti) > 200:
            raise _refused("The assertion has no jti.")
        lifetime = claims["exp"] - now + LEEWAY
        if not replay.first_use("client_assertion", tenant.id, client_id, jti, lifetime):
            raise _refused("The assertion was used before (jti).")


def _refused(description: str) -> InvalidClientError:
    # 401 as for a wrong secret (RFC 6749 §5.2 allows it for every client authentication).
    return InvalidClientError(description=description, status_code=401)


NAMESPACE = "client-auth-failures"
_LOCAL = "gatehouse.client_auth_local_limits"
_SHARED = "gatehouse.client_auth_shared_limits"


def _limits():
    return parse_many(current_app.config.get("CLIENT_AUTH_FAILURE_LIMIT", "30 per minute"))


def note_failure(tenant_id: str, oauth_request) -> int:
    """Count one failed client authentication; seconds to wait when over the limit, else 0."""
    raw = getattr(oauth_request, "_request", None)
    address = getattr(raw, "remote_addr", None) or "unknown"
    try:
        return _count(_shared_strategy(), tenant_id, address)
    except Exception as exc:  # noqa: BLE001 - Redis down: count in this process (issue #16)
        degraded.note("rate_limits", exc)
        return _count(_local_strategy(), tenant_id, address)


def _count(strategy, tenant_id: str, address: str) -> int:
    for item in _limits():
        if not strategy.hit(item, NAMESPACE, tenant_id, address):
            reset, _remaining = strategy.get_window_stats(item, NAMESPACE, tenant_id, address)
            return max(1, math.ceil(reset - time.time()))
    return 0


def _shared_strategy():
    """The configured strategy over the shared storage itself (not Flask-Limiter's switch to
    its fallback), so that an unreachable Redis is noticed, counted and logged here."""
    strategy = current_app.extensions.get(_SHARED)
    if strategy is None:
        name = current_app.config.get("RATELIMIT_STRATEGY", "fixed-window")
        strategy = current_app.extensions.setdefault(_SHARED, STRATEGIES[name](limiter.storage))
    return strategy


def _local_strategy():
    """Per-process counters for when the shared storage cannot be reached (fail open)."""
    strategy = current_app.extensions.get(_LOCAL)
    if strategy is None:
        strategy = current_app.extensions.setdefault(
            _LOCAL, MovingWindowRateLimiter(MemoryStorage())
        )
    return strategy


def too_many(retry_after: int) -> Response:
    body = {
        "error": "invalid_client",
        "error_description": "Too many failed client authentications; try again later.",
    }
    response = Response(json.dumps(body), status=429, mimetype="application/json")
    response.headers["Retry-After"] = str(retry_after)
    response.headers["Cache-Control"] = "no-store"
    return response
