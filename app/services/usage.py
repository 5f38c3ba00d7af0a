"""Usage per tenant and day: sign-ins (succeeded, failed), tokens per grant type, active
users (daily, monthly), sign-ups, admin API calls and 429s.

Counting costs no round trip: :func:`count` adds to this process' counters, pushed to
Redis (when ``REDIS_URL`` is set) once per ``USAGE_PUSH_INTERVAL``. :func:`flush` (run by
the worker, and without Redis by each process itself) moves them into
``tenant_usage_daily`` with an upsert that adds, so any number of flushers may run.
Active users are sets in the store; the flush writes their sizes.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from datetime import timedelta

from sqlalchemy import case
from sqlalchemy import func
from sqlalchemy import select

from app import rls
from app.extensions import db
from app.models import DailyUsage
from app.models import Tenant
from app.quotas.enforce import DAY
from app.quotas.enforce import day_of
from app.quotas.enforce import month_of
from app.quotas.runtime import _EXT as RUNTIME
from app.quotas.runtime import runtime_or_none
from app.services.errors import ValidationFailed
from app.tenancy import scope

COUNTERS = ("sign_ins", "sign_in_failures", "signups", "api_calls", "throttled")
GAUGES = ("active_users", "monthly_active_users")  # set sizes: the flush keeps the largest
TOKENS = "tokens."  # tokens.<grant_type>
MAX_RANGE_DAYS = 366
# What an audited action counts as (audit.record calls note_audit).
AUDIT_COUNTERS = {"login.succeeded": "sign_ins", "login.failed": "sign_in_failures"}
AUDIT_COUNTERS["signup"] = "signups"


def count(tenant_id: str, metric: str, n: int = 1, app=None) -> None:
    """Add ``n`` to today's ``metric`` of the tenant (no-op outside an app)."""
    state = runtime_or_none() if app is None else app.extensions.get(RUNTIME)
    if state is not None and tenant_id:
        state.count((day_of(), tenant_id, metric), n)


def token_issued(tenant_id: str, grant_type: str, app=None) -> None:
    count(tenant_id, TOKENS + (grant_type or "unknown")[:60], app=app)


def mark_active(tenant_id: str, user_id: str) -> None:
    """The user signed in today: one of the day's and the month's active users."""
    state = runtime_or_none()
    if state is None:
        return
    state.store.admit(f"u:au:{day_of()}:{tenant_id}", user_id, None, 3 * DAY)
    state.store.admit(f"u:mau:{month_of()}:{tenant_id}", user_id, None, 40 * DAY)


def note_audit(tenant, action: str, target_id: str | None) -> None:
    """Count sign-ins, failures and sign-ups from the audit trail's actions."""
    metric = AUDIT_COUNTERS.get(action)
    if metric is None:
        return
    tenant_id = tenant if isinstance(tenant, str) else tenant.id
    count(tenant_id, metric)
    if action == "login.succeeded" and target_id:
        mark_active(tenant_id, target_id)


# --- the flush ----------------------------------------------------------------------------


def _upsert(session, rows: list[dict], keep_max: bool) -> None:
    if not rows:
        return
    table = DailyUsage.__table__
    if session.bind.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert

        greatest = func.greatest
    else:
        from sqlalchemy.dialects.sqlite import insert

        greatest = func.max  # SQLite's two-argument max() is GREATEST
    stmt = insert(table).values(rows)
    value = (
        greatest(table.c.value, stmt.excluded.value)
        if keep_max
        else table.c.value + stmt.excluded.value
    )
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["tenant_id", "day", "metric"], set_={"value": value}
        )
    )


def flush() -> int:
    """Move every unflushed counter into ``tenant_usage_daily``; answers the tenant-days
    written. Needs an app context."""
    state = runtime_or_none()
    if state is None:
        return 0
    if state.store.shared:
        state.push()
    written = 0
    batch = []
    for item in state.store.take_usage():
        batch.append(item)
        if len(batch) >= 200:
            written += _write(state, batch)
            batch = []
    if batch:
        written += _write(state, batch)
    return written


def _write(state, batch) -> int:
    from sqlalchemy.orm import Session

    with Session(db.engine) as session:
        # Instance-wide work, every tenant's counters.
        rls.bypass("usage flush (every tenant's counters)", session, routine=True)
        try:
            ids = {tenant_id for _day, tenant_id, *_ in batch}
            alive = set(session.scalars(select(Tenant.id).where(Tenant.id.in_(ids))))
            adds, maxes = [], []
            for day, tenant_id, counts, _done, _undo in batch:
                if tenant_id not in alive:  # deleted since: its usage goes with it
                    continue
                when = date.fromisoformat(day)
                for metric, n in counts.items():
                    adds.append({"tenant_id": tenant_id, "day": when, "metric": metric, "value": n})
                month = day[:7]
                for metric, key in (
                    ("active_users", f"u:au:{day}:{tenant_id}"),
                    ("monthly_active_users", f"u:mau:{month}:{tenant_id}"),
                ):
                    size = state.store.cardinality(key)
                    if size:
                        maxes.append(
                            {"tenant_id": tenant_id, "day": when, "metric": metric, "value": size}
                        )
            _upsert(session, adds, keep_max=False)
            _upsert(session, maxes, keep_max=True)
            session.commit()
        except Exception:
            session.rollback()
            for *_, undo in batch:
                undo()
            raise
    for _day, _tenant, _counts, done, _undo in batch:
        done()
    return len(batch)


def maybe_flush() -> None:
    """The worker's pass: flush at most once per ``USAGE_FLUSH_INTERVAL`` per process."""
    state = runtime_or_none()
    if state is not None and state.flush_due():
        flush()


# --- reading ------------------------------------------------------------------------------


def parse_range(raw_from: str | None, raw_to: str | None, today: date) -> tuple[date, date]:
    """``from`` and ``to`` (ISO dates, inclusive); by default the last 30 days."""
    errors = {}
    values = {}
    for name, raw, default in (
        ("from", raw_from, today - timedelta(days=29)),
        ("to", raw_to, today),
    ):
        if not raw:
            values[name] = default
            continue
        try:
            values[name] = date.fromisoformat(raw)
        except ValueError:
            errors[name] = "must be a date, YYYY-MM-DD"
    if errors:
        raise ValidationFailed(errors)
    start, end = values["from"], values["to"]
    if start > end:
        raise ValidationFailed({"from": "must not be after 'to'"})
    if (end - start).days >= MAX_RANGE_DAYS:
        raise ValidationFailed({"to": f"a range of at most {MAX_RANGE_DAYS} days"})
    return start, end


def _empty(day: date) -> dict:
    return {"date": day.isoformat(), **{m: 0 for m in COUNTERS}, "tokens": {}} | {
        g: 0 for g in GAUGES
    }


def _apply(entry: dict, metric: str, value: int, *, live: bool = False) -> None:
    if metric.startswith(TOKENS):
        grant = metric[len(TOKENS) :]
        entry["tokens"][grant] = entry["tokens"].get(grant, 0) + value
    elif metric in GAUGES:
        entry[metric] = max(entry[metric], value)
    elif metric in COUNTERS or metric == "token_requests":
        entry[metric] = entry.get(metric, 0) + value


def daily(tenant: Tenant | str, start: date, end: date) -> list[dict]:
    """One entry per day from ``start`` to ``end`` (inclusive, oldest first), zero-filled;
    counts not yet flushed are included (from the store, for the last three days)."""
    tenant_id = tenant if isinstance(tenant, str) else tenant.id
    days = {start + timedelta(days=i): None for i in range((end - start).days + 1)}
    entries = {day: _empty(day) for day in days}
    stmt = scope(tenant_id).select(DailyUsage).where(DailyUsage.day.between(start, end))
    for row in db.session.scalars(stmt):
        _apply(entries[row.day], row.metric, int(row.value))
    state = runtime_or_none()
    if state is not None:
        if state.store.shared:
            state.push()
        today = date.fromisoformat(day_of())
        for day, entry in entries.items():
            if (today - day).days > 2:
                continue
            key = day.isoformat()
            for metric, n in state.store.pending_usage(key, tenant_id).items():
                _apply(entry, metric, n)
            _apply(entry, "active_users", state.store.cardinality(f"u:au:{key}:{tenant_id}"))
            month = state.store.cardinality(f"u:mau:{key[:7]}:{tenant_id}")
            if day == today:
                _apply(entry, "monthly_active_users", month)
    return list(entries.values())


def totals(days: list[dict]) -> dict:
    total = {m: sum(d[m] for d in days) for m in COUNTERS}
    tokens: Counter = Counter()
    for d in days:
        tokens.update(d["tokens"])
    total["tokens"] = dict(tokens)
    total["tokens_total"] = sum(tokens.values())
    total["monthly_active_users"] = max((d["monthly_active_users"] for d in days), default=0)
    return total


SORTS = ("tokens", "sign_ins", "api_calls", "throttled", "active_users", "signups")


def busiest(start: date, end: date, sort: str = "tokens", limit: int = 25) -> list[dict]:
    """The tenants with the most ``sort`` between ``start`` and ``end`` (flushed usage),
    with their other figures: the instance console's list. Active users are the busiest
    day's, the rest are sums."""
    if sort not in SORTS:
        sort = "tokens"
    metric = DailyUsage.metric
    bucket = case((metric.like(TOKENS + "%"), "tokens"), else_=metric)
    rows = db.session.execute(
        select(DailyUsage.tenant_id, bucket, func.sum(DailyUsage.value), func.max(DailyUsage.value))
        .where(DailyUsage.day.between(start, end))
        .group_by(DailyUsage.tenant_id, bucket)
    ).all()
    figures: dict[str, dict] = {}
    for tenant_id, name, summed, peak in rows:
        entry = figures.setdefault(tenant_id, dict.fromkeys(SORTS, 0))
        if name in entry:
            entry[name] = int((peak if name == "active_users" else summed) or 0)
    ranked = sorted(figures.items(), key=lambda kv: (-kv[1][sort], kv[0]))[:limit]
    found = select(Tenant).where(Tenant.id.in_([tenant_id for tenant_id, _ in ranked]))
    tenants = {t.id: t for t in db.session.scalars(found)}
    return [{"tenant": tenants[tid], **values} for tid, values in ranked if tid in tenants]
