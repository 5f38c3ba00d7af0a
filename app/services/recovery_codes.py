"""Recovery codes: ten single-use codes that stand in for a lost second factor.

Each code carries 50 random bits (ten base32 characters, shown as ``xxxxx-xxxxx``), so
a fast SHA-256 digest is enough at rest (app.security.tokens); the plaintext is
returned once, when the set is generated, and never stored.
"""

from __future__ import annotations

import secrets

from sqlalchemy import delete
from sqlalchemy import update

from app.extensions import db
from app.models import RecoveryCode
from app.models import Tenant
from app.models import User
from app.models.base import utcnow
from app.security.tokens import digest
from app.services import audit
from app.tenancy import scope

COUNT = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud and typed by hand
_LENGTH = 10


def _new_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def normalize(code: str | None) -> str:
    """Lower-case without spaces or dashes: the form under which codes are digested."""
    return "".join((code or "").split()).replace("-", "").lower()


def looks_like_code(code: str | None) -> bool:
    cleaned = normalize(code)
    return len(cleaned) == _LENGTH and all(c in _ALPHABET for c in cleaned)


def generate(tenant: Tenant, user: User) -> list[str]:
    """Replace the user's codes with ten new ones; returns the plaintext (shown once)."""
    db.session.execute(
        delete(RecoveryCode).where(
            RecoveryCode.tenant_id == tenant.id, RecoveryCode.user_id == user.id
        )
    )
    codes = [_new_code() for _ in range(COUNT)]
    for code in codes:
        scope(tenant).add(RecoveryCode(user_id=user.id, code_digest=digest(normalize(code))))
    db.session.flush()
    audit.record(tenant, "mfa.recovery_codes_generated", target_type="user", target_id=user.id)
    return codes


def remaining(tenant: Tenant, user: User) -> int:
    return scope(tenant).count(
        RecoveryCode, RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
    )


def use(tenant: Tenant, user: User, code: str) -> bool:
    """Spend one unused code; True when it was valid. Single use even under concurrency:
    the row is marked used only if it still was unused."""
    if not looks_like_code(code):
        return False
    row = scope(tenant).first(
        RecoveryCode,
        RecoveryCode.user_id == user.id,
        RecoveryCode.code_digest == digest(normalize(code)),
        RecoveryCode.used_at.is_(None),
    )
    if row is None:
        return False
    result = db.session.execute(
        update(RecoveryCode)
        .where(RecoveryCode.id == row.id, RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if (result.rowcount or 0) != 1:
        return False
    row.used_at = utcnow()
    audit.record(
        tenant,
        "mfa.recovery_code_used",
        target_type="user",
        target_id=user.id,
        remaining=remaining(tenant, user),
    )
    return True
