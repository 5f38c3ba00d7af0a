"""Signed request objects (RFC 9101, JAR; OIDC Core §6.1): the ``request`` parameter at
/oauth2/authorize and /oauth2/par.

The JWT is signed by the client with one of its registered keys (``jwks``/``jwks_uri``,
app/services/client_keys.py; an allowlisted asymmetric ``alg``, never ``none``), and:

* ``iss`` is the client id, and ``client_id`` (when present) too — the same client as
  the request's own ``client_id`` (RFC 9101 §5);
* ``aud`` is the tenant's issuer (a list holding only it is accepted too);
* ``exp`` is required and at most :data:`MAX_LIFETIME` seconds away (from ``iat`` or
  now), ``nbf`` honoured; a ``jti``, when present, is single use (app/security/replay.py);
* it may not nest ``request`` or ``request_uri``.

Its claims then *replace* the request's parameters (RFC 9101 §6.3): the request's other
parameters are ignored. Every refusal is :class:`InvalidRequestObject`
(``invalid_request_object``, RFC 9101 §6.2 / OIDC Core §3.1.2.6).
"""

from __future__ import annotations

import json
import time

from app.security import replay
from app.services import client_keys
from app.services import clients as clients_service
from app.tenancy import issuer_for

MAX_LIFETIME = 3600  # seconds (FAPI 2.0 Message Signing: at most 60 minutes)
LEEWAY = 30
MAX_CHARS = 32 * 1024
# JWT bookkeeping claims: about the object, not parameters of the request.
_JWT_CLAIMS = frozenset({"iss", "aud", "exp", "iat", "nbf", "jti", "sub"})


class InvalidRequestObject(Exception):
    """RFC 9101 §6.2 ``invalid_request_object``; the message is safe to show."""

    error = "invalid_request_object"


def unpack(tenant, client_id: str | None, token) -> list[tuple[str, str]]:
    """The authorization request's parameters carried by the request object ``token`` of
    ``client_id`` (the request's own); raises :class:`InvalidRequestObject`."""
    if not client_id:
        raise InvalidRequestObject("client_id is required with a request object.")
    if not isinstance(token, str) or not token or len(token) > MAX_CHARS:
        raise InvalidRequestObject("The request object is missing or too large.")
    if token.count(".") == 4:
        raise InvalidRequestObject("Encrypted request objects are not supported.")
    client = clients_service.authenticating_client(tenant, client_id)
    if client is None:
        raise InvalidRequestObject("The request object's client is unknown here.")
    try:
        _header, claims = client_keys.verify(client, token)
    except client_keys.KeyProblem as exc:
        raise InvalidRequestObject(f"The request object is not valid: {exc}") from exc
    _check(tenant, client_id, claims)
    return _parameters(claims, client_id)


def _check(tenant, client_id: str, claims: dict) -> None:
    now = time.time()
    if claims.get("iss") != client_id:
        raise InvalidRequestObject("The request object's iss must be the client id.")
    if claims.get("client_id", client_id) != client_id:
        raise InvalidRequestObject("The request object's client_id is not the request's.")
    aud, issuer = claims.get("aud"), issuer_for(tenant)
    if not (aud == issuer or (isinstance(aud, list) and aud and set(aud) == {issuer})):
        raise InvalidRequestObject("The request object's aud must be this issuer.")
    problem = client_keys.lifetime_problem(
        claims, "The request object", max_lifetime=MAX_LIFETIME, leeway=LEEWAY, now=now
    )
    if problem:
        raise InvalidRequestObject(problem)
    if "request" in claims or "request_uri" in claims:
        raise InvalidRequestObject("A request object cannot carry request or request_uri.")
    jti = claims.get("jti")
    if jti is not None:
        if not isinstance(jti, str) or not jti or len(jti) > 200:
            raise InvalidRequestObject("The request object's jti is not valid.")
        if not replay.first_use(
            "request_object", tenant.id, client_id, jti, claims["exp"] - now + LEEWAY
        ):
            raise InvalidRequestObject("The request object was used before (jti).")


def _parameters(claims: dict, client_id: str) -> list[tuple[str, str]]:
    """Claims as request parameters: strings as they are, numbers as text, JSON objects
    (``claims``) as JSON; a list of strings (``resource``) as repeated parameters."""
    pairs: list[tuple[str, str]] = [("client_id", client_id)]
    for name, value in claims.items():
        if name in _JWT_CLAIMS or name == "client_id" or value is None:
            continue
        if isinstance(value, str):
            pairs.append((name, value))
        elif isinstance(value, bool):
            pairs.append((name, "true" if value else "false"))
        elif isinstance(value, int | float):
            pairs.append((name, str(value)))
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            pairs.extend((name, v) for v in value)
        elif isinstance(value, dict):
            pairs.append((name, json.dumps(value, separators=(",", ":"))))
        else:
            raise InvalidRequestObject(f"The request object's {name} is not a valid value.")
    if any("\x00" in value for _, value in pairs):
        raise InvalidRequestObject("The request object is malformed.")
    return pairs
