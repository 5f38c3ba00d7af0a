"""DPoP (RFC 9449): proofs of possession of a client's key, and the tokens bound to it.

A proof is a JWT the client signs with a private key whose public JWK it puts in the
header (§4.2). :func:`verify_proof` checks it (§4.3) for one of the tenant's endpoints:

* ``typ`` ``dpop+jwt``; ``alg`` one of :data:`ALGORITHMS` (asymmetric only: never ``none``
  or HS*), matching the key type; a public key only; no JWS extensions (``crit``);
* ``htm`` the request's method, ``htu`` the endpoint's URL on the tenant's canonical
  origin (its issuer, from configuration: never the request's Host or X-Forwarded-*),
  both without query and fragment;
* ``iat`` within :data:`MAX_AGE` seconds in the past (:data:`FUTURE_SKEW` ahead);
* ``nonce`` a current server nonce when the tenant requires them (``dpop_nonce_required``,
  on by default, as Okta does: a proof cannot be made ahead of time); the answer to a
  missing or stale one is ``use_dpop_nonce`` with a fresh ``DPoP-Nonce``;
* ``jti`` used once per key within the proof's lifetime (app/security/replay.py, shared
  through Redis when REDIS_URL is set);
* ``ath`` (resource requests) the hash of the access token presented with it.

Server nonces are stateless: the time window and an HMAC of it with the instance secret
and the tenant id (app.security.tokens.keyed_digest). A nonce is good for its window and
the next one (:data:`NONCE_WINDOW` to twice that), in every worker and instance, and never
at another tenant.

The key's RFC 7638 thumbprint (``jkt``) is what a bound token carries in ``cnf.jkt``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import jwt
from authlib.oauth2 import OAuth2Error
from flask import Response
from flask import jsonify

from app.security import replay
from app.security.tokens import keyed_digest
from app.tenancy import issuer_for

# alg → the JWK key types (and curves) it signs with (RFC 7518 §3, RFC 8037 §3.1).
ALGORITHMS = {
    "ES256": ("EC", "P-256"),
    "RS256": ("RSA", None),
    "PS256": ("RSA", None),
    "EdDSA": ("OKP", "Ed25519"),
}
PROOF_TYP = "dpop+jwt"
MAX_AGE = 60  # seconds a proof is accepted after its iat
FUTURE_SKEW = 5  # seconds a proof's iat may be ahead of this clock
NONCE_WINDOW = 300  # seconds; a nonce is good for its window and the next
MAX_PROOF_LENGTH = 8192
ENVIRON_KEY = "gatehouse.dpop"  # the verified proof, on the request's WSGI environ
# RFC 7638 §3.2: the required members of each key type, the only ones hashed.
_THUMBPRINT_MEMBERS = {
    "EC": ("crv", "kty", "x", "y"),
    "RSA": ("e", "kty", "n"),
    "OKP": ("crv", "kty", "x"),
}
_PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


class ProofError(Exception):
    """A proof refused: ``error`` is ``invalid_dpop_proof`` or ``use_dpop_nonce``."""

    def __init__(self, description: str, error: str = "invalid_dpop_proof"):
        super().__init__(description)
        self.error = error
        self.description = description


class InvalidDPoPProofError(OAuth2Error):
    """RFC 9449 §5.2 at the token endpoint, raised inside Authlib's grants."""

    error = "invalid_dpop_proof"
    status_code = 400


@dataclass(frozen=True)
class Proof:
    """A verified proof: its key's thumbprint and its claims."""

    jkt: str
    claims: dict


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def thumbprint(jwk: dict) -> str:
    """RFC 7638 JWK SHA-256 thumbprint, base64url."""
    members = _THUMBPRINT_MEMBERS[jwk["kty"]]
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    return _b64(hashlib.sha256(canonical.encode()).digest())


def access_token_hash(token: str) -> str:
    """``ath`` (§4.2): base64url SHA-256 of the access token's ASCII."""
    return _b64(hashlib.sha256(token.encode("ascii", "replace")).digest())


def endpoint_url(tenant, path: str) -> str:
    """The ``htu`` a proof for ``path`` must carry: the endpoint on the tenant's issuer."""
    return f"{issuer_for(tenant)}{path}"


# --- nonces ---------------------------------------------------------------------------


def _nonce_for(tenant_id: str, window: int) -> str:
    return f"{window:x}.{keyed_digest('dpop-nonce', f'{tenant_id}:{window}')[:32]}"


def current_nonce(tenant, now: float | None = None) -> str:
    """A fresh ``DPoP-Nonce`` for the tenant."""
    return _nonce_for(tenant.id, int((now or time.time()) // NONCE_WINDOW))


def is_valid_nonce(tenant, nonce, now: float | None = None) -> bool:
    """True for a nonce made for this tenant in this window or the one before."""
    if not isinstance(nonce, str) or len(nonce) > 64:
        return False
    window = int((now or time.time()) // NONCE_WINDOW)
    return any(nonce == _nonce_for(tenant.id, w) for w in (window, window - 1))


def nonce_required(tenant) -> bool:
    from app.services.settings import get_settings

    return bool(get_settings(tenant)["dpop_nonce_required"])


# --- proofs ---------------------------------------------------------------------------


def _header_of(value: str) -> dict:
    try:
        header = jwt.get_unverified_header(value)
    except jwt.PyJWTError as exc:
        raise ProofError("The DPoP proof is not a JWT.") from exc
    if header.get("typ") != PROOF_TYP:
        raise ProofError("The DPoP proof's typ must be dpop+jwt.")
    if header.get("alg") not in ALGORITHMS:
        raise ProofError(f"The DPoP proof's alg must be one of {', '.join(ALGORITHMS)}.")
    if "crit" in header:
        raise ProofError("The DPoP proof has a crit header this server does not understand.")
    return header


def _key_of(header: dict):
    jwk = header.get("jwk")
    if not isinstance(jwk, dict) or not isinstance(jwk.get("kty"), str):
        raise ProofError("The DPoP proof's header must carry the public key (jwk).")
    if _PRIVATE_MEMBERS & set(jwk):
        raise ProofError("The DPoP proof's jwk must be a public key.")
    kty, crv = ALGORITHMS[header["alg"]]
    if jwk["kty"] != kty or (crv is not None and jwk.get("crv") != crv):
        raise ProofError(f"The DPoP proof's jwk does not fit alg {header['alg']}.")
    if not all(isinstance(jwk.get(m), str) for m in _THUMBPRINT_MEMBERS[kty]):
        raise ProofError("The DPoP proof's jwk is incomplete.")
    try:
        return jwt.PyJWK(jwk, algorithm=header["alg"]), thumbprint(jwk)
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise ProofError("The DPoP proof's jwk is not a valid key.") from exc


def _claims_of(value: str, key, alg: str) -> dict:
    try:
        return jwt.decode(
            value,
            key=key,
            algorithms=[alg],
            options={"verify_aud": False, "verify_exp": False, "verify_iat": False},
        )
    except jwt.InvalidSignatureError as exc:
        raise ProofError("The DPoP proof's signature does not verify with its jwk.") from exc
    except (jwt.PyJWTError, ValueError, TypeError) as exc:
        raise ProofError("The DPoP proof could not be verified.") from exc


def _check_time(claims: dict, now: float) -> None:
    iat = claims.get("iat")
    if isinstance(iat, bool) or not isinstance(iat, int | float) or not math.isfinite(iat):
        raise ProofError("The DPoP proof needs a numeric iat.")
    if iat > now + FUTURE_SKEW:
        raise ProofError("The DPoP proof's iat is in the future.")
    if iat < now - MAX_AGE:
        raise ProofError(f"The DPoP proof is too old (iat more than {MAX_AGE} s ago).")


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _normalized(url: str) -> str | None:
    """§4.3 item 9: the URL without query and fragment, scheme and host in lower case,
    a default port left out (RFC 3986 §6.2.2-6.2.3); None when it is not a URL."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname or parts.username or parts.password:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname.lower()
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    return f"{scheme}://{netloc}{parts.path or '/'}"


def verify_proof(
    tenant,
    proof_value,
    *,
    method: str,
    path: str,
    access_token: str | None = None,
    now: float | None = None,
) -> Proof:
    """The verified proof for a ``method`` request to the tenant's ``path`` (with
    ``access_token``: a resource request, ``ath`` required); raises ProofError."""
    if not isinstance(proof_value, str) or not proof_value or len(proof_value) > MAX_PROOF_LENGTH:
        raise ProofError("The DPoP header must hold one proof.")
    now = time.time() if now is None else now
    header = _header_of(proof_value)
    key, jkt = _key_of(header)
    claims = _claims_of(proof_value, key, header["alg"])
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > 200:
        raise ProofError("The DPoP proof needs a jti.")
    if claims.get("htm") != method:
        raise ProofError(f"The DPoP proof's htm must be {method}.")
    htu, expected = claims.get("htu"), endpoint_url(tenant, path)
    if not isinstance(htu, str) or len(htu) > 2000 or _normalized(htu) != _normalized(expected):
        raise ProofError(f"The DPoP proof's htu must be {expected}.")
    _check_time(claims, now)
    if access_token is not None and claims.get("ath") != access_token_hash(access_token):
        raise ProofError("The DPoP proof's ath does not match the access token.")
    if nonce_required(tenant) and not is_valid_nonce(tenant, claims.get("nonce"), now):
        raise ProofError("A current server nonce is required in the DPoP proof.", "use_dpop_nonce")
    if not replay.first_use("dpop", tenant.id, jkt, jti, MAX_AGE + FUTURE_SKEW):
        raise ProofError("This DPoP proof was already used (jti replayed).")
    return Proof(jkt=jkt, claims=claims)


def proof_header(request) -> str | None:
    """The request's one ``DPoP`` header; ProofError for several (§4.3 item 1)."""
    values = request.headers.getlist("DPoP")
    if not values:
        return None
    if len(values) > 1:
        raise ProofError("Send exactly one DPoP header.")
    return values[0]


# --- the token endpoint ---------------------------------------------------------------


def verify_token_request(tenant, request) -> Proof | None:
    """The verified proof of a token request (kept on its environ for the grants), None
    without one; raises ProofError."""
    value = proof_header(request)
    if value is None:
        return None
    proof = verify_proof(tenant, value, method="POST", path="/oauth2/token")
    request.environ[ENVIRON_KEY] = proof
    return proof


def bound_jkt(werkzeug_request) -> str | None:
    """The thumbprint a token request proved possession of, or None."""
    proof = werkzeug_request.environ.get(ENVIRON_KEY)
    return proof.jkt if proof is not None else None


def key_for_grant(werkzeug_request, client) -> str | None:
    """The key a grant binds its access token to (None: a Bearer token); a client with
    ``dpop_bound_access_tokens`` must have sent a proof (§5.2)."""
    jkt = bound_jkt(werkzeug_request)
    if jkt is None and client.dpop_bound_access_tokens:
        raise InvalidDPoPProofError(
            "This client's access tokens are DPoP-bound: send a DPoP proof with the request."
        )
    return jkt


def requested_jkt(value) -> str | None:
    """§10: an authorization request's ``dpop_jkt``, kept on its code. A value that is not
    a thumbprint is kept truncated (never dropped): it matches no key, so the code it binds
    can never be exchanged, rather than being exchanged unbound."""
    if value is None or value == "":
        return None
    return value[:64] if isinstance(value, str) else "invalid"


def refresh_key_for(client, jkt: str | None) -> str | None:
    """§5: a public client's refresh token is bound to the key of its access token; a
    confidential client's is bound by its authentication instead."""
    return jkt if client.is_public else None


def add_nonce(response: Response, tenant) -> Response:
    """A fresh ``DPoP-Nonce`` on a response to a DPoP request (§8.2), when required."""
    if nonce_required(tenant):
        response.headers["DPoP-Nonce"] = current_nonce(tenant)
    return response


def token_error(tenant, error: ProofError) -> Response:
    """§5.2/§8: 400 with ``invalid_dpop_proof`` or ``use_dpop_nonce`` (+ a nonce)."""
    response = jsonify(error=error.error, error_description=error.description)
    response.status_code = 400
    return add_nonce(response, tenant)


def resource_error(tenant, error: str, description: str) -> Response:
    """§7.1/§9: 401 with a DPoP challenge naming the error and the algorithms."""
    response = jsonify(error=error, error_description=description)
    response.status_code = 401
    algs = " ".join(ALGORITHMS)
    response.headers["WWW-Authenticate"] = f'DPoP error="{error}", algs="{algs}"'
    return add_nonce(response, tenant)


def authorization_token(request) -> str | None:
    """The access token of an ``Authorization: DPoP <token>`` header, else None."""
    header = request.headers.get("Authorization") or ""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "dpop":
        return None
    return value.strip() or ""
