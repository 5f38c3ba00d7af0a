"""A relying party's own key pairs (``cryptography``) and the JWTs it signs with them:
``private_key_jwt`` client assertions (RFC 7523) and request objects (RFC 9101)."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import ECAlgorithm
from jwt.algorithms import OKPAlgorithm
from jwt.algorithms import RSAAlgorithm

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass
class KeyPair:
    kid: str
    alg: str
    private: object

    @property
    def public_jwk(self) -> dict:
        public = self.private.public_key()
        if self.alg in ("RS256", "PS256"):
            jwk = RSAAlgorithm.to_jwk(public, as_dict=True)
        elif self.alg == "ES256":
            jwk = ECAlgorithm.to_jwk(public, as_dict=True)
        else:
            jwk = OKPAlgorithm.to_jwk(public, as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig"}

    @property
    def private_jwk(self) -> dict:
        if self.alg in ("RS256", "PS256"):
            jwk = RSAAlgorithm.to_jwk(self.private, as_dict=True)
        elif self.alg == "ES256":
            jwk = ECAlgorithm.to_jwk(self.private, as_dict=True)
        else:
            jwk = OKPAlgorithm.to_jwk(self.private, as_dict=True)
        return {**jwk, "kid": self.kid}

    def sign(self, claims: dict, **header) -> str:
        headers = {"kid": self.kid, **header}
        return jwt.encode(claims, self.private, algorithm=self.alg, headers=headers)


def make_key(alg: str = "RS256", kid: str | None = None) -> KeyPair:
    if alg in ("RS256", "PS256"):
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif alg == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
    else:
        private = ed25519.Ed25519PrivateKey.generate()
    return KeyPair(kid or f"{alg.lower()}-{secrets.token_hex(4)}", alg, private)


def jwks_of(*keys: KeyPair) -> dict:
    return {"keys": [k.public_jwk for k in keys]}


def assertion_claims(client_id: str, aud, *, lifetime: int = 60, **extra) -> dict:
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": aud,
        "iat": now,
        "exp": now + lifetime,
        "jti": secrets.token_urlsafe(16),
        **extra,
    }
    return {k: v for k, v in claims.items() if v is not None}


def assertion_form(token: str, **data) -> dict:
    return {"client_assertion_type": ASSERTION_TYPE, "client_assertion": token, **data}


def unsigned(claims: dict) -> str:
    """An ``alg: none`` JWT (RFC 7519 §6): what must never be accepted."""
    import base64

    def part(value: dict) -> str:
        raw = json.dumps(value, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."
