"""A DPoP client key (RFC 9449) for tests: real keys made by ``cryptography``, proofs
signed with PyJWT, as a client library makes them."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.asymmetric import rsa


def _thumbprint(jwk: dict) -> str:
    members = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"), "OKP": ("crv", "kty", "x")}
    canonical = json.dumps({m: jwk[m] for m in members[jwk["kty"]]}, separators=(",", ":"))
    return (
        base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()
    )


def ath(token: str) -> str:
    digest = hashlib.sha256(token.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class DPoPKey:
    """A key pair that signs DPoP proofs; ``jkt`` its RFC 7638 thumbprint (computed here
    independently of the server's code)."""

    def __init__(self, alg: str = "ES256"):
        self.alg = alg
        if alg == "ES256":
            self.private = ec.generate_private_key(ec.SECP256R1())
            algorithm = jwt.algorithms.ECAlgorithm
        elif alg in {"RS256", "PS256"}:
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            algorithm = jwt.algorithms.RSAAlgorithm
        else:
            self.private = ed25519.Ed25519PrivateKey.generate()
            algorithm = jwt.algorithms.OKPAlgorithm
        self.jwk = json.loads(algorithm.to_jwk(self.private.public_key()))
        self.jwk.pop("alg", None)
        self.jkt = _thumbprint(self.jwk)

    def proof(
        self,
        htu: str,
        htm: str = "POST",
        *,
        nonce: str | None = None,
        access_token: str | None = None,
        iat: float | None = None,
        jti: str | None = None,
        typ: str = "dpop+jwt",
        jwk: dict | None = None,
        **extra,
    ) -> str:
        claims = {
            "htm": htm,
            "htu": htu,
            "iat": int(time.time() if iat is None else iat),
            "jti": jti or secrets.token_urlsafe(16),
            **extra,
        }
        if nonce is not None:
            claims["nonce"] = nonce
        if access_token is not None:
            claims["ath"] = ath(access_token)
        headers = {"typ": typ, "jwk": jwk or self.jwk}
        return jwt.encode(claims, self.private, algorithm=self.alg, headers=headers)
