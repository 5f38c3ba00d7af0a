"""Password hashes made by other systems, accepted on import (DESIGN §3 "user (more)").

Formats: argon2id (``$argon2id$``), bcrypt (``$2a$``, ``$2b$``, ``$2y$``) and Django's
``pbkdf2_sha256$<iterations>$<salt>$<hash>``. Parsing and verifying is done by
argon2-cffi and libpass (the maintained passlib fork), never by hand. A user with such a
hash is re-hashed to Gatehouse's argon2id at their first successful sign-in.
"""

from __future__ import annotations

from argon2 import extract_parameters
from argon2.exceptions import InvalidHashError
from argon2.low_level import Type
from passlib.hash import bcrypt
from passlib.hash import django_pbkdf2_sha256

FORMATS = ("argon2id", "bcrypt", "django_pbkdf2_sha256")
_BCRYPT_PREFIXES = ("$2a$", "$2b$", "$2y$")
MAX_HASH_LENGTH = 1000


class UnsupportedHash(ValueError):
    """The text is not a well-formed hash of a supported format."""


def kind_of(stored_hash: str | None) -> str | None:
    """The format of a stored hash by its prefix, or None when it is none of ours."""
    if not stored_hash:
        return None
    if stored_hash.startswith("$argon2id$"):
        return "argon2id"
    if stored_hash.startswith(_BCRYPT_PREFIXES):
        return "bcrypt"
    if stored_hash.startswith("pbkdf2_sha256$"):
        return "django_pbkdf2_sha256"
    return None


def check_format(stored_hash: object) -> str:
    """The hash's format after fully parsing it; raises UnsupportedHash with the reason."""
    if not isinstance(stored_hash, str) or not stored_hash:
        raise UnsupportedHash("password_hash must be a non-empty string")
    if len(stored_hash) > MAX_HASH_LENGTH or not stored_hash.isascii():
        raise UnsupportedHash("password_hash is not a hash")
    kind = kind_of(stored_hash)
    try:
        if kind == "argon2id":
            if extract_parameters(stored_hash).type is not Type.ID:
                raise UnsupportedHash("only argon2id is accepted")
        elif kind == "bcrypt":
            bcrypt.from_string(stored_hash)
        elif kind == "django_pbkdf2_sha256":
            django_pbkdf2_sha256.from_string(stored_hash)
        else:
            raise UnsupportedHash(
                "unsupported password_hash format (use $argon2id$, $2a$/$2b$/$2y$ bcrypt "
                "or Django pbkdf2_sha256$)"
            )
    except (ValueError, TypeError, InvalidHashError) as exc:
        if isinstance(exc, UnsupportedHash):
            raise
        raise UnsupportedHash(f"malformed {kind} hash: {exc}") from exc
    return kind


def verify_foreign(stored_hash: str, password: str) -> bool:
    """Check a password against a bcrypt or Django hash (argon2 is checked by the caller)."""
    kind = kind_of(stored_hash)
    handler = {"bcrypt": bcrypt, "django_pbkdf2_sha256": django_pbkdf2_sha256}.get(kind or "")
    if handler is None:
        return False
    try:
        return bool(handler.verify(password, stored_hash))
    except (ValueError, TypeError):  # malformed hash, or a password bcrypt refuses
        return False
