"""The per-tenant password policy: length bounds, no composition rules (NIST 800-63B),
common passwords refused, passwords containing the email refused.

The common-password list (``app/data/common-passwords.txt``) is the 10,000 most frequent
entries of Royce Williams' 2017 list as shipped (lower-cased, by frequency) in Django's
``django/contrib/auth/common-passwords.txt.gz`` (BSD licence). It is read once per
process into a frozenset; comparison is case-insensitive, as Django's is.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from flask_babel import gettext as _

from app.models import Tenant
from app.services.settings import get_settings

MAX_LENGTH = 128
COMMON_PASSWORDS_FILE = Path(__file__).resolve().parent.parent / "data" / "common-passwords.txt"


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, lower-cased (loaded once)."""
    with COMMON_PASSWORDS_FILE.open(encoding="utf-8") as handle:
        return frozenset(line.rstrip("\n").lower() for line in handle if line.strip())


def is_common_password(password: str) -> bool:
    return password.strip().lower() in common_passwords()


def password_problems(tenant: Tenant, password: str, email: str = "") -> list[str]:
    """Human-readable reasons the password is refused (empty when it is fine)."""
    minimum = get_settings(tenant)["password_min_length"]
    problems = []
    if len(password) < minimum:
        problems.append(_("Use at least %(min)d characters.", min=minimum))
    if len(password) > MAX_LENGTH:
        problems.append(_("Use at most %(max)d characters.", max=MAX_LENGTH))
    if is_common_password(password):
        problems.append(_("This password is too common; choose one that is harder to guess."))
    lowered = password.lower()
    local = email.split("@", 1)[0].lower()
    if email and (email.lower() in lowered or (len(local) >= 4 and local in lowered)):
        problems.append(_("Don't use your email address in your password."))
    return problems
