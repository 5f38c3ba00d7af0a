"""Encryption at rest (private keys, TOTP and upstream secrets) with a key derived
from the instance SECRET_KEY by HKDF, so one secret protects the whole instance."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet
from cryptography.fernet import InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Flask
from flask import current_app

_EXT = "gatehouse.crypto"


class DecryptionError(Exception):
    """The ciphertext was not made with this instance's SECRET_KEY."""


def derive_fernet(secret_key: str) -> Fernet:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"gatehouse-at-rest", info=b"fernet-v1"
    ).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def init_app(app: Flask) -> None:
    app.extensions[_EXT] = derive_fernet(app.config["SECRET_KEY"])


def encrypt(plaintext: bytes) -> str:
    return current_app.extensions[_EXT].encrypt(plaintext).decode()


def decrypt(ciphertext: str) -> bytes:
    try:
        return current_app.extensions[_EXT].decrypt(ciphertext.encode())
    except InvalidToken as exc:
        raise DecryptionError("cannot decrypt: was SECRET_KEY changed?") from exc
