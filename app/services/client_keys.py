"""A client's public keys (RFC 7591 §2 ``jwks`` / ``jwks_uri``) and the JWTs it signs with
them: ``private_key_jwt`` client assertions (RFC 7523) and request objects (RFC 9101).

* Registration: a JWK Set of public signing keys only (RSA, EC P-256, OKP Ed25519); private
  key material (``d``, RSA's ``p``/``q``/…) and symmetric keys (``oct``) are refused, as is
  registering both ``jwks`` and ``jwks_uri`` (RFC 7591 §2).
* ``jwks_uri`` is fetched through the outbound guard (app/security/outbound.py, honouring
  ``OUTBOUND_ALLOW_PRIVATE``) and kept per worker for :data:`CACHE_SECONDS`. A JWT whose
  ``kid`` is not in the kept set makes one refetch, at most every
  :data:`REFETCH_SECONDS` per URL (a client that rotated its key is seen at once; a flood
  of unknown kids cannot turn the server into a fetcher).
* Signatures: only :data:`SIGNING_ALGS` (asymmetric; never ``none`` nor ``HS*``: a client
  secret is not a key here), the ``alg`` checked against the key's type by joserfc.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import warnings

from flask import current_app
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.util import to_bytes

from app.security import outbound

SIGNING_ALGS = ("RS256", "PS256", "ES256", "EdDSA", "Ed25519")
CACHE_SECONDS = 300
REFETCH_SECONDS = 10
MAX_KEYS = 20
MAX_JWKS_BYTES = 64 * 1024
FETCH_TIMEOUT = 5.0
_CACHE = "gatehouse.client_jwks"
_CACHE_SIZE = 1024
# Private or symmetric key material: never part of a client's registered public keys.
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
_KEY_TYPES = {"RSA": None, "EC": {"P-256"}, "OKP": {"Ed25519"}}


class KeyProblem(Exception):
    """A JWT cannot be verified with the client's keys (unknown key, bad signature, no keys,
    an algorithm outside the allowlist, an unreachable ``jwks_uri``); the message is safe
    to show the client."""


# --- registration ------------------------------------------------------------------------


def jwks_problem(value) -> str | None:
    """Why ``value`` cannot be registered as a client's ``jwks``, or None when it can."""
    if not isinstance(value, dict) or not isinstance(value.get("keys"), list):
        return 'must be a JWK Set: {"keys": [...]}'
    keys = value["keys"]
    if not keys or len(keys) > MAX_KEYS:
        return f"must hold between 1 and {MAX_KEYS} keys"
    if len(json.dumps(value)) > MAX_JWKS_BYTES:
        return "is too large"
    kids = [key.get("kid") for key in keys if isinstance(key, dict)]
    if len(kids) != len(keys):
        return "every key must be a JSON object"
    if len(set(filter(None, kids))) != len([k for k in kids if k]):
        return "kid values must be unique"
    for key in keys:
        problem = _key_problem(key)
        if problem:
            return problem
    return None


def _key_problem(key: dict) -> str | None:
    kty = key.get("kty")
    if kty not in _KEY_TYPES:
        return "keys must be RSA, EC (P-256) or OKP (Ed25519) public keys"
    if any(member in key for member in _PRIVATE_MEMBERS):
        return "must hold public keys only (private key material is refused)"
    curves = _KEY_TYPES[kty]
    if curves is not None and key.get("crv") not in curves:
        return "keys must be RSA, EC (P-256) or OKP (Ed25519) public keys"
    if key.get("use") not in (None, "sig"):
        return 'keys must be signing keys ("use": "sig")'
    if key.get("alg") is not None and key.get("alg") not in SIGNING_ALGS:
        return f"key alg must be one of {', '.join(SIGNING_ALGS)}"
    try:
        KeySet.import_key_set({"keys": [key]})
    except (JoseError, ValueError, TypeError, KeyError):
        return "holds a key that cannot be read"
    if kty == "RSA" and _rsa_bits(key) < 2048:
        return "RSA keys must have at least 2048 bits"
    return None


def _rsa_bits(key: dict) -> int:
    modulus = key.get("n") or ""
    raw = base64.urlsafe_b64decode(modulus + "=" * (-len(modulus) % 4))
    return len(raw.lstrip(b"\0")) * 8


def jwks_uri_problem(uri, *, check_address: bool) -> str | None:
    """Why ``uri`` cannot be a client's ``jwks_uri`` (https; http only for a loopback host,
    as for redirect URIs), or None. ``check_address``: resolve it against the guard."""
    from app.services.clients import redirect_uri_problem

    if not isinstance(uri, str):
        return "must be a URL or null"
    problem = redirect_uri_problem(uri)
    if problem:
        return problem
    try:
        outbound.check_url(uri, allow_private=outbound.allow_private(), resolve=check_address)
    except outbound.OutboundError as exc:
        return exc.message
    return None


# --- verification ------------------------------------------------------------------------


def verify(client, token: str, *, algs=SIGNING_ALGS) -> tuple[dict, dict]:
    """The (header, claims) of ``token`` signed by one of ``client``'s keys (a Client row or
    its snapshot); raises :class:`KeyProblem`. The claims are NOT checked here."""
    try:
        compact = jws.extract_compact(to_bytes(token))
    except (JoseError, ValueError) as exc:
        raise KeyProblem("The JWT is malformed.") from exc
    header = compact.headers()
    alg = header.get("alg")
    if alg not in algs:
        raise KeyProblem(f"The JWT's alg must be one of {', '.join(algs)}.")
    if not client.jwks and not client.jwks_uri:
        raise KeyProblem("The client has registered no keys (jwks or jwks_uri).")
    kid = header.get("kid")
    keys = _candidates(_key_set(client), kid, alg)
    if not keys and kid and client.jwks_uri:
        keys = _candidates(_key_set(client, refetch=True), kid, alg)
    if not keys:
        raise KeyProblem("No registered key of the client matches the JWT (kid, alg).")
    for key in keys:
        try:
            with warnings.catch_warnings():  # joserfc: "EdDSA is deprecated via RFC 9864"
                warnings.simplefilter("ignore")
                verified = jws.deserialize_compact(to_bytes(token), key, algorithms=[alg])
        except (JoseError, ValueError):
            continue
        try:
            claims = json.loads(verified.payload)
        except ValueError as exc:
            raise KeyProblem("The JWT's payload is not JSON.") from exc
        if not isinstance(claims, dict):
            raise KeyProblem("The JWT's payload is not a JSON object.")
        return header, claims
    raise KeyProblem("The JWT's signature does not verify with the client's keys.")


def lifetime_problem(
    claims: dict, what: str, *, max_lifetime: int, leeway: int, now: float
) -> str | None:
    """What is wrong with the time claims of a client-signed JWT (``what``: "The
    assertion", "The request object"), else None: ``exp`` required and not passed, ``iat``
    and ``nbf`` (when present) not ahead of ``now``, and at most ``max_lifetime`` seconds
    from ``iat`` (or now) to ``exp``; ``leeway`` seconds of clock skew."""
    exp, iat, nbf = claims.get("exp"), claims.get("iat"), claims.get("nbf")
    if not _is_time(exp):
        return f"{what} has no exp."
    if exp <= now - leeway:
        return f"{what} has expired."
    if iat is not None and (not _is_time(iat) or iat > now + leeway):
        return f"{what}'s iat is not valid."
    if nbf is not None and (not _is_time(nbf) or nbf > now + leeway):
        return f"{what} is not valid yet (nbf)."
    start = iat if iat is not None else now
    if exp - start > max_lifetime or exp - now > max_lifetime + leeway:
        return f"{what} may live at most {max_lifetime} seconds."
    return None


def _is_time(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_ALG_KTY = {"RS256": "RSA", "PS256": "RSA", "ES256": "EC", "EdDSA": "OKP", "Ed25519": "OKP"}


def _candidates(key_set: KeySet, kid: str | None, alg: str) -> list:
    kty = _ALG_KTY[alg]
    found = []
    for key in key_set.keys:
        if key.key_type != kty or key.get("use") not in (None, "sig"):
            continue
        if key.get("alg") not in (None, alg):
            continue
        if kid is not None and key.kid != kid:
            continue
        found.append(key)
    return found


def _key_set(client, *, refetch: bool = False) -> KeySet:
    if client.jwks:
        try:
            return KeySet.import_key_set(dict(client.jwks))
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            raise KeyProblem("The client's registered keys cannot be read.") from exc
    return _remote_set(client.tenant_id, client.client_id, client.jwks_uri, refetch)


def _remote_set(tenant_id: str, client_id: str, uri: str, refetch: bool) -> KeySet:
    cache, lock = _cache()
    key = (tenant_id, client_id, uri)
    now = time.monotonic()
    entry = cache.get(key)
    last_refetch = float("-inf")
    if entry is not None:
        fetched_at, key_set, last_refetch = entry
        if not refetch and now - fetched_at < CACHE_SECONDS:
            return key_set
        if refetch and now - last_refetch < REFETCH_SECONDS:
            return key_set  # an unknown kid refetches once per interval, no more
    key_set = _fetch(uri)
    with lock:
        if len(cache) >= _CACHE_SIZE:
            cache.pop(next(iter(cache)))
        cache[key] = (now, key_set, now if refetch else last_refetch)
    return key_set


def _fetch(uri: str) -> KeySet:
    try:
        response = outbound.fetch(
            "GET",
            uri,
            allow_private=outbound.allow_private(),
            timeout=FETCH_TIMEOUT,
            max_bytes=MAX_JWKS_BYTES,
            headers={"Accept": "application/jwk-set+json, application/json"},
        )
    except outbound.OutboundError as exc:
        raise KeyProblem("The client's jwks_uri could not be fetched.") from exc
    if not response.ok:
        raise KeyProblem("The client's jwks_uri could not be fetched.")
    try:
        document = response.json()
    except ValueError as exc:
        raise KeyProblem("The client's jwks_uri does not hold a JWK Set.") from exc
    # Unlike a registered set, a published one may also hold keys of other uses (``enc``)
    # or types: those are left out. Private key material anywhere refuses the whole set.
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list) or len(keys) > 10 * MAX_KEYS:
        raise KeyProblem("The client's jwks_uri does not hold a JWK Set.")
    if any(isinstance(k, dict) and set(k) & set(_PRIVATE_MEMBERS) for k in keys):
        raise KeyProblem("The client's jwks_uri publishes private key material.")
    usable = [k for k in keys if isinstance(k, dict) and _key_problem(k) is None]
    return KeySet.import_key_set({"keys": usable})


def _cache():
    extensions = current_app.extensions
    cache = extensions.get(_CACHE)
    if cache is None:
        cache = extensions.setdefault(_CACHE, ({}, threading.Lock()))
    return cache


def forget(tenant_id: str, client_id: str) -> None:
    """Drop this worker's copy of a client's fetched keys (its jwks_uri changed)."""
    cache, lock = _cache()
    with lock:
        for key in [k for k in cache if k[:2] == (tenant_id, client_id)]:
            cache.pop(key, None)
