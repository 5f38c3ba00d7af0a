"""Re-encrypting every secret kept at rest under the first key of SECRET_KEYS (issue #16):
signing keys' private parts, TOTP secrets, upstream providers' and SSO connections' client
secrets, SAML service-provider keys and webhook secrets. Run by `gatehouse secrets rotate`
after a new key was put first in the ring; then the old key can leave it."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Connection
from app.models import MfaFactor
from app.models import SigningKey
from app.models import UpstreamProvider
from app.models import WebhookEndpoint
from app.security import crypto

COLUMNS = {
    SigningKey: ("private_key_encrypted",),
    MfaFactor: ("secret_encrypted",),
    UpstreamProvider: ("client_secret_encrypted",),
    Connection: (
        "client_secret_encrypted",
        "sp_signing_key_encrypted",
        "sp_encryption_key_encrypted",
    ),
    WebhookEndpoint: ("secret_encrypted", "previous_secret_encrypted"),
}
BATCH = 500


def reencrypt_all() -> dict[str, int]:
    """Re-encrypt every tenant's secrets (instance-wide: the caller bypasses row-level
    security); flushes per batch, the caller commits. Answers rows per table."""
    counts: dict[str, int] = {}
    for model, columns in COLUMNS.items():
        done = 0
        after = ""
        while True:
            rows = list(
                db.session.scalars(
                    select(model).where(model.id > after).order_by(model.id).limit(BATCH)
                )
            )
            if not rows:
                break
            for row in rows:
                for column in columns:
                    setattr(row, column, crypto.reencrypt(getattr(row, column)))
            db.session.flush()
            done += len(rows)
            after = rows[-1].id
        counts[model.__tablename__] = done
    return counts
