"""Per-tenant quotas: what they are, how they are validated, how going over is reported.

A tenant's ``quotas`` (a JSON column, read by protocol requests from the tenant snapshot)
maps each of :data:`FIELDS` to a limit, ``None`` (or absent) meaning unlimited. Only an
instance credential changes them (``app.services.quota_settings``). Enforcement is in
:mod:`app.quotas.enforce` over a counter store shared through Redis when ``REDIS_URL`` is
set (:mod:`app.quotas.store`); nothing on the token path reads the database.
"""

from __future__ import annotations

import json
import math

from app.services.errors import ServiceError
from app.services.errors import ValidationFailed

FIELDS = (
    "token_requests_per_second",
    "token_burst",
    "signups_per_day",
    "max_users",
    "max_organizations",
    "max_clients",
    "monthly_active_users",
)
LABELS = {
    "token_requests_per_second": "Token, introspection and userinfo requests per second",
    "token_burst": "Burst above that rate (requests; empty = one second's worth)",
    "signups_per_day": "Self sign-ups per day (UTC)",
    "max_users": "Users",
    "max_organizations": "Organizations",
    "max_clients": "OAuth clients",
    "monthly_active_users": "Monthly active users (new sign-ins beyond it are refused)",
}
MAX_VALUE = 1_000_000_000


class QuotaExceeded(ServiceError):
    """A tenant went over one of its quotas: 429 with ``Retry-After`` at every edge."""

    status = 429
    title = "Too many requests"

    def __init__(self, quota: str, limit, retry_after: int, message: str = ""):
        super().__init__(message or f"This tenant's {quota} quota ({limit}) is used up.")
        self.quota = quota
        self.limit = limit
        self.retry_after = max(1, int(math.ceil(retry_after)))


def clean_quotas(data, field: str = "quotas") -> dict:
    """Validated quotas: known fields only, each a non-negative number or None; the token
    rate may be fractional (0.5 = one request every two seconds)."""
    if not isinstance(data, dict):
        raise ValidationFailed({field: "must be an object"})
    errors: dict[str, str] = {}
    clean: dict = {}
    for key, value in data.items():
        if key not in FIELDS:
            errors[f"{field}.{key}"] = "is not a quota"
            continue
        if value is None:
            clean[key] = None
            continue
        number_ok = isinstance(value, int | float) and not isinstance(value, bool)
        number_ok = number_ok and math.isfinite(value)
        if key == "token_requests_per_second":
            ok = number_ok and 0 < value <= MAX_VALUE
            message = "must be a number above 0 (requests per second) or null"
        else:
            low = 1 if key == "token_burst" else 0
            ok = number_ok and float(value).is_integer() and low <= value <= MAX_VALUE
            value = int(value) if ok else value
            message = f"must be a whole number of at least {low} or null"
        if not ok:
            errors[f"{field}.{key}"] = message
        else:
            clean[key] = value
    if errors:
        raise ValidationFailed(errors)
    return clean


def effective(quotas) -> dict:
    """Every field, None where unlimited."""
    quotas = quotas or {}
    return {key: quotas.get(key) for key in FIELDS}


def defaults_from(raw: str | None) -> dict:
    """``TENANT_QUOTA_DEFAULTS`` (a JSON object) as validated quotas."""
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ValueError("TENANT_QUOTA_DEFAULTS must be a JSON object") from exc
    return clean_quotas(data, "TENANT_QUOTA_DEFAULTS")
