"""Brute-force limiting of client authentication, on failures only.

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

from flask import Response
from flask import current_app
from limits import parse_many

from app.extensions import limiter

NAMESPACE = "client-auth-failures"


def _limits():
    return parse_many(current_app.config.get("CLIENT_AUTH_FAILURE_LIMIT", "30 per minute"))


def note_failure(tenant_id: str, oauth_request) -> int:
    """Count one failed client authentication; seconds to wait when over the limit, else 0."""
    raw = getattr(oauth_request, "_request", None)
    address = getattr(raw, "remote_addr", None) or "unknown"
    strategy = limiter.limiter
    for item in _limits():
        if not strategy.hit(item, NAMESPACE, tenant_id, address):
            reset, _remaining = strategy.get_window_stats(item, NAMESPACE, tenant_id, address)
            return max(1, math.ceil(reset - time.time()))
    return 0


def too_many(retry_after: int) -> Response:
    body = {
        "error": "invalid_client",
        "error_description": "Too many failed client authentications; try again later.",
    }
    response = Response(json.dumps(body), status=429, mimetype="application/json")
    response.headers["Retry-After"] = str(retry_after)
    response.headers["Cache-Control"] = "no-store"
    return response
