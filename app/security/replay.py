"""Single use of short-lived, client-made identifiers: a DPoP proof's ``jti`` (RFC 9449
§11.1), a ``private_key_jwt`` assertion's ``jti`` (RFC 7523 §3, item 7), a request
object's ``jti``.

Kept in the quota store (app/quotas/store.py): Redis when ``REDIS_URL`` is set, so every
worker and instance shares one record; this process' memory otherwise (the embedded,
single-process default). A value is remembered for the lifetime its issuer gave it, and no
longer: past that, the proof or assertion is refused as expired anyway. No database round
trip, so the token, userinfo and introspection paths keep their statement counts.
"""

from __future__ import annotations

import hashlib

from app.quotas.runtime import runtime

MAX_LIFETIME = 3600  # seconds: no identifier is remembered longer


def first_use(kind: str, tenant_id: str, issuer: str, value: str, lifetime: float) -> bool:
    """True the first time ``value`` of ``issuer`` (a client id, a key thumbprint) is
    presented for ``kind`` in this tenant within ``lifetime`` seconds; False on replay."""
    if not isinstance(value, str) or not value:
        return False
    ttl = max(1, min(int(lifetime) + 1, MAX_LIFETIME))
    digest = hashlib.sha256(f"{tenant_id}\0{issuer}\0{value}".encode()).hexdigest()[:40]
    return runtime().store.first_in_window(f"replay:{kind}:{digest}", ttl)
