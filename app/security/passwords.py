"""Password hashing with argon2id; parameters come from the config."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2 import Type
from argon2.exceptions import InvalidHashError
from argon2.exceptions import VerificationError
from flask import Flask
from flask import current_app

from app.security.foreign_hashes import kind_of
from app.security.foreign_hashes import verify_foreign

_EXT = "gatehouse.passwords"
# Verifying against this keeps the time of "unknown email" equal to "wrong password".
_DUMMY_PASSWORD = "gatehouse-timing-equaliser"


class _Hasher:
    def __init__(self, time_cost: int, memory_cost: int, parallelism: int):
        self.hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism, type=Type.ID
        )
        self.dummy_hash = self.hasher.hash(_DUMMY_PASSWORD)


def init_app(app: Flask) -> None:
    app.extensions[_EXT] = _Hasher(
        app.config["ARGON2_TIME_COST"],
        app.config["ARGON2_MEMORY_COST"],
        app.config["ARGON2_PARALLELISM"],
    )


def _hasher() -> _Hasher:
    return current_app.extensions[_EXT]


def hash_password(password: str) -> str:
    """An argon2id hash of the whole password (never truncated)."""
    return _hasher().hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when the password matches; burns the same time when there is no hash.

    Imported bcrypt and Django hashes are checked too (:mod:`app.security.foreign_hashes`);
    ``needs_rehash`` is then true, so the first sign-in upgrades them to argon2id."""
    hasher = _hasher()
    if kind_of(stored_hash) in ("bcrypt", "django_pbkdf2_sha256"):
        return verify_foreign(stored_hash, password)
    try:
        return hasher.hasher.verify(stored_hash or hasher.dummy_hash, password) and bool(
            stored_hash
        )
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with other parameters than the current ones."""
    try:
        return _hasher().hasher.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True
