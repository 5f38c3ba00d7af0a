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
from limits.storage import MemoryStorage
from limits.strategies import STRATEGIES
from limits.strategies import MovingWindowRateLimiter

from app.extensions import limiter
from app.web import degraded

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
