"""High-entropy tokens: generated here, stored only as SHA-256 digests.

Argon2 is for low-entropy secrets (passwords); a 256-bit random token cannot be
guessed, so a fast digest is the right tool and keeps lookups O(1) by index.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_token(nbytes: int = 32) -> str:
    """A URL-safe random token (256 bits by default)."""
    return secrets.token_urlsafe(nbytes)


def digest(token: str) -> str:
    """The SHA-256 hex digest under which a token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def digests_match(token: str, stored_digest: str | None) -> bool:
    """Constant-time comparison of a presented token with a stored digest."""
    if not stored_digest:
        return False
    return hmac.compare_digest(digest(token), stored_digest)


def pseudonym(value: str) -> str:
    """A stable keyed pseudonym of ``value`` (HMAC-SHA256 with the instance secret): the
    same person always maps to the same alias, which cannot be turned back into them."""
    from flask import current_app

    key = current_app.config["SECRET_KEY"].encode()
    return "anon_" + hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:24]


def keyed_digest(purpose: str, value: str) -> str:
    """An HMAC-SHA256 of ``value`` keyed with the instance secret, for LOW-entropy codes
    looked up by value (a device flow's user code): a stolen table does not give them
    away to an offline search, and ``purpose`` keeps two uses apart."""
    from flask import current_app

    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()
