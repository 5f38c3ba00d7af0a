"""Checking quotas. Every check reads the limit from the tenant (on the token path, its
snapshot) and counts in the store (:mod:`app.quotas.store`): no database round trip,
except the head counts of ``max_*`` quotas, which are checked when something is created.

Going over raises (or, on the token path, answers) :class:`~app.quotas.QuotaExceeded`;
the edge that turns it into a 429 calls :func:`record_notice` after rolling back, which
audits ``quota.exceeded`` and emits ``tenant.quota_exceeded`` once per quota and window.
"""

from __future__ import annotations

import time
from datetime import UTC
from datetime import datetime
from datetime import timedelta

from sqlalchemy import func
from sqlalchemy import select

from app.quotas import QuotaExceeded
from app.quotas.runtime import runtime

DAY = 86_400
# How often going over the same quota is audited (and emitted): once per this window.
NOTICE_WINDOWS = {"token_requests_per_second": 60}
CAPACITY_RETRY = 3600  # max_* quotas do not free up by themselves: ask again in an hour


def now_utc() -> datetime:
    return datetime.now(UTC)


class _Today:
    """Today's UTC date as text, recomputed only when a day ends (the hot path asks for it
    on every counted request; formatting a datetime costs more than the count)."""

    def __init__(self):
        self.text = ""
        self.until = 0.0

    def get(self) -> str:
        now = time.time()
        if now >= self.until:
            self.text = time.strftime("%Y-%m-%d", time.gmtime(now))
            self.until = (now // DAY + 1) * DAY
        return self.text


_today = _Today()


def day_of(moment: datetime | None = None) -> str:
    return _today.get() if moment is None else moment.strftime("%Y-%m-%d")


def month_of(moment: datetime | None = None) -> str:
    return (moment or now_utc()).strftime("%Y-%m")


def seconds_to_midnight(moment: datetime | None = None) -> int:
    moment = moment or now_utc()
    tomorrow = (moment + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return max(1, int((tomorrow - moment).total_seconds()))


def seconds_to_next_month(moment: datetime | None = None) -> int:
    moment = moment or now_utc()
    first = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = (first + timedelta(days=32)).replace(day=1)
    return max(1, int((following - moment).total_seconds()))


def limit_of(tenant, quota: str):
    quotas = getattr(tenant, "quotas", None)
    return quotas.get(quota) if quotas else None


# --- the token path -----------------------------------------------------------------------


def _rate_params(quotas):
    rate = quotas.get("token_requests_per_second") if quotas else None
    if rate is None:
        return None
    burst = quotas.get("token_burst") or max(1, int(rate))
    interval = 1000.0 / rate  # milliseconds between two requests at the sustained rate
    return rate, interval, interval * burst


def token_rate_wait(snapshot) -> float:
    """Seconds until this tenant may send another token, introspection or userinfo
    request; 0 when it may now (and that request is counted). One Redis call at most,
    none for a tenant without this quota or while it is known to be over it."""
    params = snapshot.derived("quota_rate", lambda: _rate_params(snapshot.quotas))
    if params is None:
        return 0.0
    state = runtime()
    now = time.monotonic()
    blocked = state.blocked.get(snapshot.id)
    if blocked is not None:
        if blocked > now:
            return blocked - now
        state.blocked.pop(snapshot.id, None)
    wait = state.store.rate(f"q:rate:{snapshot.id}", params[1], params[2])
    if wait > 0:
        state.blocked[snapshot.id] = now + wait
    return wait


# --- the hosted pages and the admin surfaces ----------------------------------------------


def admit_signup(tenant) -> None:
    """Count one self sign-up against ``signups_per_day``; raises QuotaExceeded."""
    limit = limit_of(tenant, "signups_per_day")
    if limit is None:
        return
    key = f"q:day:signups:{tenant.id}:{day_of()}"
    if not runtime().store.take(key, limit, 2 * DAY):
        raise refused(
            tenant,
            "signups_per_day",
            limit,
            seconds_to_midnight(),
            "Sign-ups here have reached today's limit. Please try again tomorrow.",
        )


_CAPACITY = {
    "max_users": ("User", "users"),
    "max_organizations": ("Organization", "organizations"),
    "max_clients": ("Client", "OAuth clients"),
}


def room_left(tenant, quota: str) -> int | None:
    """How many more users, organizations or clients ``quota`` allows (None: unlimited);
    one count query, none when unlimited."""
    limit = limit_of(tenant, quota)
    if limit is None:
        return None
    import app.models as models
    from app.extensions import db

    model = getattr(models, _CAPACITY[quota][0])
    count = db.session.scalar(
        select(func.count()).select_from(model).where(model.tenant_id == tenant.id)
    )
    return max(0, limit - count)


def capacity_message(tenant, quota: str) -> str:
    return f"This tenant has reached its limit of {limit_of(tenant, quota)} {_CAPACITY[quota][1]}."


def check_capacity(tenant, quota: str) -> None:
    """Refuse to create one more user, organization or client past ``quota``."""
    if room_left(tenant, quota) == 0:
        raise refused(
            tenant,
            quota,
            limit_of(tenant, quota),
            CAPACITY_RETRY,
            capacity_message(tenant, quota),
        )


def admit_sign_in(tenant, user_id: str) -> None:
    """A sign-in by a user not yet active this month counts against
    ``monthly_active_users``; users already active this month are always let in."""
    limit = limit_of(tenant, "monthly_active_users")
    key = f"u:mau:{month_of()}:{tenant.id}"
    if not runtime().store.admit(key, user_id, limit, 40 * DAY):
        raise refused(
            tenant,
            "monthly_active_users",
            limit,
            seconds_to_next_month(),
            "This service has reached its limit of active users for this month.",
        )


def refused(tenant, quota: str, limit, retry_after: float, message: str = "") -> QuotaExceeded:
    """The error for going over ``quota``, counted in the tenant's usage (``throttled``)."""
    from app.services import usage

    usage.count(tenant.id, "throttled")
    exc = QuotaExceeded(quota, limit, retry_after, message)
    exc.tenant_id = tenant.id
    return exc


def _window(quota: str) -> tuple[str, int]:
    if quota in NOTICE_WINDOWS:
        seconds = NOTICE_WINDOWS[quota]
        return str(int(time.time() // seconds)), seconds
    if quota == "monthly_active_users":
        return month_of(), seconds_to_next_month()
    if quota == "signups_per_day":
        return day_of(), seconds_to_midnight()
    return str(int(time.time() // CAPACITY_RETRY)), CAPACITY_RETRY


def record_notice(exc: QuotaExceeded) -> bool:
    """Audit ``quota.exceeded`` and emit ``tenant.quota_exceeded`` (to the tenant and to
    the instance), the first time in the quota's window; in the request's session, after
    the edge rolled back the refused work; True when it wrote them. A window already noted
    in this process costs nothing (no Redis call): a flood of refusals stays cheap."""
    tenant_id = getattr(exc, "tenant_id", None)
    if tenant_id is None:
        return False
    window, ttl = _window(exc.quota)
    key = f"q:notice:{exc.quota}:{tenant_id}:{window}"
    state = runtime()
    if state.noted.get(key, 0.0) > time.monotonic():
        return False
    state.noted[key] = time.monotonic() + ttl
    if len(state.noted) > 10_000:
        now = time.monotonic()
        state.noted = {k: v for k, v in state.noted.items() if v > now}
    if not state.store.first_in_window(key, ttl):
        return False  # another worker noted it
    from app.extensions import db
    from app.models import SYSTEM_SLUG
    from app.models import Tenant
    from app.services import audit
    from app.services import events

    data = {"tenant_id": tenant_id, "quota": exc.quota, "limit": exc.limit, "window": window}
    audit.record(tenant_id, "quota.exceeded", target_type="tenant", target_id=tenant_id, **data)
    events.emit(tenant_id, "tenant.quota_exceeded", data)
    system_id = db.session.scalar(select(Tenant.id).where(Tenant.slug == SYSTEM_SLUG))
    if system_id is not None and system_id != tenant_id:
        events.emit(system_id, "tenant.quota_exceeded", data)
    return True
