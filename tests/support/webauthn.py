"""A software WebAuthn authenticator: real P-256 keys and real CBOR, so py_webauthn
verifies its attestations and assertions exactly as it would a browser's.

It answers the JSON options our endpoints hand out (WebAuthn L3 §5.4, §5.5) with the
JSON a browser's ``PublicKeyCredential.toJSON()`` produces.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

FLAG_UP = 0x01  # user present
FLAG_UV = 0x04  # user verified
FLAG_AT = 0x40  # attested credential data included


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SoftwareAuthenticator:
    """One authenticator holding credentials (id → key, user handle, counter)."""

    aaguid = bytes(16)  # "none" attestation: an all-zero AAGUID is allowed

    def __init__(self, *, user_verification: bool = True, counter_step: int = 1):
        self.credentials: dict[bytes, dict] = {}
        self.user_verification = user_verification
        self.counter_step = counter_step

    def _flags(self, *extra: int) -> int:
        flags = FLAG_UP | (FLAG_UV if self.user_verification else 0)
        for bit in extra:
            flags |= bit
        return flags

    @staticmethod
    def _client_data(kind: str, challenge: str, origin: str) -> bytes:
        return json.dumps(
            {"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": False}
        ).encode()

    def create(self, options: dict, origin: str, *, rp_id: str | None = None) -> dict:
        """Answer ``navigator.credentials.create()`` options with a "none" attestation."""
        rp_id = rp_id or options["rp"]["id"]
        key = ec.generate_private_key(ec.SECP256R1())
        numbers = key.public_key().public_numbers()
        cose_key = cbor2.dumps(
            {
                1: 2,
                3: -7,
                -1: 1,
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )
        credential_id = os.urandom(32)
        self.credentials[credential_id] = {
            "key": key,
            "user_handle": unb64url(options["user"]["id"]),
            "rp_id": rp_id,
            "count": 0,
        }
        attested = self.aaguid + struct.pack(">H", len(credential_id)) + credential_id + cose_key
        auth_data = (
            hashlib.sha256(rp_id.encode()).digest()
            + bytes([self._flags(FLAG_AT)])
            + struct.pack(">I", 0)
            + attested
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        return {
            "id": b64url(credential_id),
            "rawId": b64url(credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(attestation),
                "transports": ["internal"],
            },
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
        }

    def get(self, options: dict, origin: str, *, credential_id: bytes | None = None) -> dict:
        """Answer ``navigator.credentials.get()`` options with a signed assertion."""
        allowed = [unb64url(c["id"]) for c in options.get("allowCredentials") or []]
        if credential_id is None:
            usable = [c for c in self.credentials if not allowed or c in allowed]
            assert usable, "no credential of this authenticator is allowed"
            credential_id = usable[0]
        cred = self.credentials[credential_id]
        cred["count"] += self.counter_step
        rp_id = options.get("rpId") or cred["rp_id"]
        auth_data = (
            hashlib.sha256(rp_id.encode()).digest()
            + bytes([self._flags()])
            + struct.pack(">I", cred["count"])
        )
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signature = cred["key"].sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        return {
            "id": b64url(credential_id),
            "rawId": b64url(credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
                "userHandle": b64url(cred["user_handle"]),
            },
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
        }
