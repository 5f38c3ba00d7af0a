"""The usage chart: tokens issued, sign-ins and 429s per day as grouped bars, drawn as
server-side SVG like the overview's sign-in chart (app/admin/chart.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from app.admin.chart import Bar
from app.admin.chart import _nice_max
from app.admin.chart import gridlines
from app.admin.chart import weekly_ticks

SERIES = (("tokens", "tokens"), ("sign_ins", "sign-ins"), ("throttled", "429s"))


@dataclass(frozen=True)
class UsageChart:
    width: int
    height: int
    bars: list[Bar]
    gridlines: list[tuple[float, int]]
    ticks: list[tuple[float, str]]
    totals: dict[str, int]
    left: float


def value_of(day: dict, key: str) -> int:
    return sum(day["tokens"].values()) if key == "tokens" else day[key]


def build_usage_chart(days: list[dict], width: int = 720, height: int = 220) -> UsageChart:
    left, right, top, bottom = 44.0, 8.0, 10.0, 26.0
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([value_of(d, key) for d in days for key, _ in SERIES] + [1])
    scale_max = _nice_max(peak)
    slot = plot_w / max(len(days), 1)
    bar_w = max(slot * 0.26, 1.0)
    baseline = top + plot_h
    bars = []
    for i, d in enumerate(days):
        x0 = left + i * slot + slot * 0.11
        when = date.fromisoformat(d["date"])
        for j, (key, label) in enumerate(SERIES):
            value = value_of(d, key)
            h = plot_h * value / scale_max
            bars.append(
                Bar(
                    round(x0 + j * bar_w, 2),
                    round(baseline - h, 2),
                    round(bar_w, 2),
                    round(h, 2),
                    key,
                    f"{when:%b %d}: {value} {label}",
                )
            )
    totals = {key: sum(value_of(d, key) for d in days) for key, _ in SERIES}
    ticks = weekly_ticks([date.fromisoformat(d["date"]) for d in days], left, slot)
    return UsageChart(
        width, height, bars, gridlines(baseline, plot_h, scale_max), ticks, totals, left
    )
