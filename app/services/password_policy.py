"""The per-tenant password policy: length bounds, no composition rules (NIST 800-63B),
common passwords refused, passwords containing the email refused."""

from __future__ import annotations

from app.models import Tenant
from app.services.settings import get_settings

MAX_LENGTH = 128


def password_problems(tenant: Tenant, password: str, email: str = "") -> list[str]:
    """Human-readable reasons the password is refused (empty when it is fine)."""
    minimum = get_settings(tenant)["password_min_length"]
    problems = []
    if len(password) < minimum:
        problems.append(f"Use at least {minimum} characters.")
    if len(password) > MAX_LENGTH:
        problems.append(f"Use at most {MAX_LENGTH} characters.")
    lowered = password.lower()
    local = email.split("@", 1)[0].lower()
    if email and (email.lower() in lowered or (len(local) >= 4 and local in lowered)):
        problems.append("Don't use your email address in your password.")
    return problems
