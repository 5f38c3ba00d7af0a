"""SAML RelayState: which request a response answers, and where to go afterwards.

The IdP POSTs to the ACS from another site, so SameSite=Lax cookies (the Flask session)
do not come along: the outstanding request travels in the RelayState instead, signed
with the instance secret and valid ten minutes. A response's InResponseTo must name that
request, and each assertion is consumed once (the replay store), so a RelayState is no
more reusable than the response it came with.
"""

from __future__ import annotations

from itsdangerous import BadSignature
from itsdangerous import URLSafeTimedSerializer

from app.security.crypto import signing_keys

MAX_AGE = 600
SALT = "gatehouse.saml-relay"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(signing_keys(), salt=SALT)


def dump(tenant_id: str, connection_id: str, request_id: str, next_url: str) -> str:
    return _serializer().dumps([tenant_id, connection_id, request_id, next_url])


def load(value: str | None, tenant_id: str, connection_id: str) -> tuple[str, str] | None:
    """(request ID, next) when ``value`` is ours, fresh and for this connection."""
    if not value or len(value) > 2000:
        return None
    try:
        tenant, connection, request_id, next_url = _serializer().loads(value, max_age=MAX_AGE)
    except (BadSignature, ValueError, TypeError):
        return None
    if tenant != tenant_id or connection != connection_id:
        return None
    return request_id, next_url
