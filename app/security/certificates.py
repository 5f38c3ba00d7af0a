"""Self-signed X.509 certificates for SAML service-provider keys (signing, encryption).

The private key leaves this module only encrypted (``app.security.crypto``); it is
decrypted for the moment a SAML message is processed.
"""

from __future__ import annotations

from datetime import UTC
from datetime import datetime
from datetime import timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from app.security import crypto

VALID_YEARS = 10


def new_key_pair(common_name: str) -> tuple[str, str]:
    """(certificate PEM, encrypted private key) for an RSA-2048 key, valid ten years."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64])])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=365 * VALID_YEARS))
        .sign(key, hashes.SHA256())
    )
    pem_key = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode(), crypto.encrypt(pem_key)


def private_key_pem(encrypted: str) -> bytes:
    return crypto.decrypt(encrypted)


def cert_body(pem: str) -> str:
    """The base64 body of a PEM certificate (as SAML metadata's ``X509Certificate``)."""
    lines = [line for line in pem.strip().splitlines() if "-----" not in line]
    return "".join(lines)
