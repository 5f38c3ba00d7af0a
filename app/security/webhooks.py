"""Webhook secrets and signatures (Standard Webhooks: ``webhook-id``,
``webhook-timestamp``, ``webhook-signature: v1,<base64 HMAC-SHA256>``).

Secrets are ``whsec_`` + base64 of 32 random bytes, kept encrypted at rest (we sign with
them, so a digest would not do). During a rotation's overlap both secrets sign; the
header then carries two space-separated signatures, as the specification allows.
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime

from standardwebhooks.webhooks import Webhook

from app.security.crypto import decrypt
from app.security.crypto import encrypt

PREFIX = "whsec_"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def seal(secret: str) -> str:
    return encrypt(secret.encode())


def unseal(sealed: str) -> str:
    return decrypt(sealed).decode()


def signature_headers(
    signing_secrets: list[str], msg_id: str, when: datetime, body: str
) -> dict[str, str]:
    """The three Standard Webhooks headers for ``body`` signed with every secret given."""
    signatures = " ".join(Webhook(s).sign(msg_id, when, body) for s in signing_secrets)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": signatures,
    }
