"""Encryption at rest (private keys, TOTP, upstream, SSO and webhook secrets) with keys
derived from the instance secret by HKDF, so one secret protects the whole instance.

The secret is a key ring (``SECRET_KEYS=new,old``, or one ``SECRET_KEY``): ciphertexts
are made with the first key and read with any of them (Fernet's ``MultiFernet``), so a
new key can be rolled out before ``gatehouse secrets rotate`` re-encrypts what the old
one made (:func:`reencrypt`); after that the old key can leave the ring.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet
from cryptography.fernet import InvalidToken
from cryptography.fernet import MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Flask
from flask import current_app

_EXT = "gatehouse.crypto"


class DecryptionError(Exception):
    """The ciphertext was made with none of this instance's SECRET_KEYS."""


def derive_fernet(secret_key: str) -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"gatehouse-at-rest", info=b"fernet-v1"
    ).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def key_ring(config) -> list[str]:
    """The instance secrets, newest first: SECRET_KEY, then SECRET_KEY_FALLBACKS."""
    return [config["SECRET_KEY"], *(config.get("SECRET_KEY_FALLBACKS") or [])]


def signing_keys() -> list[str]:
    """The ring for itsdangerous serializers: oldest first, the newest (first of
    SECRET_KEYS) last, which is the one itsdangerous signs with."""
    return list(reversed(key_ring(current_app.config)))


def init_app(app: Flask) -> None:
    if app.config.get("SECRET_KEY_FALLBACKS"):
        # Flask signs cookies with SECRET_KEY and accepts SECRET_KEY_FALLBACKS; CSRF tokens
        # of pages rendered before a rotation stay valid too (itsdangerous key ring).
        app.config.setdefault("WTF_CSRF_SECRET_KEY", list(reversed(key_ring(app.config))))
    app.extensions[_EXT] = MultiFernet([derive_fernet(key) for key in key_ring(app.config)])


def encrypt(plaintext: bytes) -> str:
    return current_app.extensions[_EXT].encrypt(plaintext).decode()


def decrypt(ciphertext: str) -> bytes:
    try:
        return current_app.extensions[_EXT].decrypt(ciphertext.encode())
    except InvalidToken as exc:
        raise DecryptionError("cannot decrypt: is the key that made it in SECRET_KEYS?") from exc


def reencrypt(ciphertext: str | None) -> str | None:
    """The same plaintext under the first key of the ring (None stays None)."""
    if not ciphertext:
        return ciphertext
    try:
        return current_app.extensions[_EXT].rotate(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError("cannot decrypt: is the key that made it in SECRET_KEYS?") from exc
