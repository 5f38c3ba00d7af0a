"""Sign-ins and failures per day, and the server-side SVG bar chart that draws them.

No JavaScript: the chart is plain SVG markup (escaped by Jinja), sized by its viewBox so
it scales to any screen width.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from datetime import timedelta

from app.extensions import db
from app.models import AuditEvent
from app.models import Tenant
from app.models.base import utcnow
from app.tenancy import scope

SERIES = {"login.succeeded": "succeeded", "login.failed": "failed"}


@dataclass(frozen=True)
class Day:
    day: date
    succeeded: int
    failed: int


def daily_logins(tenant: Tenant, days: int = 30) -> list[Day]:
    """One entry per UTC day (oldest first), today included, zero-filled."""
    today = utcnow().date()
    first = today - timedelta(days=days - 1)
    stmt = scope(tenant).select(AuditEvent).where(AuditEvent.action.in_(tuple(SERIES)))
    stmt = stmt.where(AuditEvent.created_at >= utcnow() - timedelta(days=days))
    counts: dict[tuple[date, str], int] = {}
    # Only the two columns: the day is computed in Python so SQLite and PostgreSQL agree.
    rows = db.session.execute(
        stmt.with_only_columns(AuditEvent.created_at, AuditEvent.action).order_by(None)
    )
    for created_at, action in rows:
        key = (created_at.date(), SERIES[action])
        counts[key] = counts.get(key, 0) + 1
    return [
        Day(
            day=first + timedelta(days=i),
            succeeded=counts.get((first + timedelta(days=i), "succeeded"), 0),
            failed=counts.get((first + timedelta(days=i), "failed"), 0),
        )
        for i in range(days)
    ]


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    kind: str
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    gridlines: list[tuple[float, int]]  # (y, value)
    ticks: list[tuple[float, str]]  # (x, label)
    total_succeeded: int
    total_failed: int
    baseline: float
    left: float


def build_chart(days: list[Day], width: int = 720, height: int = 220) -> Chart:
    """Lay out grouped bars (succeeded, failed) for each day."""
    left, right, top, bottom = 36.0, 8.0, 10.0, 26.0
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([d.succeeded for d in days] + [d.failed for d in days] + [1])
    scale_max = _nice_max(peak)
    slot = plot_w / max(len(days), 1)
    bar_w = max(slot * 0.36, 1.0)
    baseline = top + plot_h
    bars: list[Bar] = []
    for i, d in enumerate(days):
        x0 = left + i * slot + slot * 0.12
        for j, (kind, value) in enumerate((("succeeded", d.succeeded), ("failed", d.failed))):
            h = plot_h * value / scale_max
            label = f"{d.day:%b %d}: {value} {'sign-ins' if kind == 'succeeded' else 'failures'}"
            x = round(x0 + j * bar_w, 2)
            bars.append(Bar(x, round(baseline - h, 2), round(bar_w, 2), round(h, 2), kind, label))
    return Chart(
        width=width,
        height=height,
        bars=bars,
        gridlines=gridlines(baseline, plot_h, scale_max),
        ticks=weekly_ticks([d.day for d in days], left, slot),
        total_succeeded=sum(d.succeeded for d in days),
        total_failed=sum(d.failed for d in days),
        baseline=baseline,
        left=left,
    )


def gridlines(baseline: float, plot_h: float, scale_max: int) -> list[tuple[float, int]]:
    """Five horizontal lines (y, value) from 0 to ``scale_max``."""
    return [
        (round(baseline - plot_h * v / scale_max, 2), v)
        for v in range(0, scale_max + 1, max(scale_max // 4, 1))
    ]


def weekly_ticks(days: list[date], left: float, slot: float) -> list[tuple[float, str]]:
    """Weekly day labels (x, text), ending today: never two labels together."""
    return [
        (round(left + i * slot + slot / 2, 2), f"{day:%b %d}")
        for i, day in enumerate(days)
        if (len(days) - 1 - i) % 7 == 0
    ]


def _nice_max(peak: int) -> int:
    """A round axis maximum at or above ``peak``, divisible into four gridlines."""
    for step in (4, 8, 20, 40, 100, 200, 400, 1000, 2000, 4000, 10000):
        if peak <= step:
            return step
    return ((peak // 10000) + 1) * 10000
