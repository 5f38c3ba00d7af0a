"""Request latency per endpoint group, and per-tenant request and 429 counts with bounded
cardinality, in the Prometheus text format (process-local, like the request counters).

Per-tenant series: only the ``METRICS_TENANT_TOP_N`` (20) busiest tenants get their own
``tenant`` label; every other tenant is folded into ``tenant="other"``. Label slots are
given at a scrape while free and kept for the life of the process, so a tenant ever
counted under ``other`` never gets one later: every series is a true counter, never
decreasing, whatever the ranking does later. With 10,000 tenants /metrics shows at most
N + 1 series per metric. Exact per-tenant figures are the usage API's job.
"""

from __future__ import annotations

import threading
from bisect import bisect_left

# Seconds; the token path answers in milliseconds, a password sign-in in tens of them.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

# The protocol path's groups (app/oauth/lean.py) by path; Flask requests by blueprint.
PATH_GROUPS = {
    "/oauth2/token": "token",
    "/oauth2/introspect": "introspection",
    "/oauth2/userinfo": "userinfo",
    "/oauth2/revoke": "revocation",
    "/.well-known/openid-configuration": "discovery",
    "/.well-known/jwks.json": "jwks",
}
BLUEPRINT_GROUPS = {
    "auth": "hosted",
    "mfa": "hosted",
    "invitations": "hosted",
    "upstream": "hosted",
    "sso": "sso",
    "account": "account",
    "admin": "console",
    "api": "admin_api",
    "scim": "scim",
    "oauth": "authorize",
    "health": "health",
    "pages": "pages",
}
OTHER = "other"


def group_of_endpoint(endpoint: str | None) -> str:
    if not endpoint:
        return OTHER
    if endpoint == "static":
        return "static"
    blueprint = endpoint.partition(".")[0]
    return BLUEPRINT_GROUPS.get(blueprint, OTHER)


class Histograms:
    """One cumulative histogram per endpoint group (a fixed, small set of groups)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.series: dict[str, list] = {}  # group -> [bucket counts..., +Inf count, sum]

    def observe(self, group: str, seconds: float) -> None:
        index = bisect_left(BUCKETS, seconds)
        with self.lock:
            row = self.series.get(group)
            if row is None:
                row = self.series[group] = [0] * (len(BUCKETS) + 1) + [0.0]
            row[index] += 1
            row[-1] += seconds

    def render(self) -> list[str]:
        name = "gatehouse_http_request_duration_seconds"
        lines = [
            f"# HELP {name} Request latency by endpoint group.",
            f"# TYPE {name} histogram",
        ]
        with self.lock:
            items = sorted((g, list(r)) for g, r in self.series.items())
        for group, row in items:
            running = 0
            for bound, n in zip(BUCKETS, row, strict=False):
                running += n
                lines.append(f'{name}_bucket{{group="{group}",le="{bound}"}} {running}')
            running += row[len(BUCKETS)]
            lines.append(f'{name}_bucket{{group="{group}",le="+Inf"}} {running}')
            lines.append(f'{name}_sum{{group="{group}"}} {row[-1]:.6f}')
            lines.append(f'{name}_count{{group="{group}"}} {running}')
        return lines


class TenantSeries:
    """Per-tenant counters (requests, throttled) shown for the top N tenants only."""

    KINDS = ("requests", "throttled")

    def __init__(self, top_n: int):
        self.top_n = top_n
        self.lock = threading.Lock()
        self.counts: dict[str, list] = {}  # tenant id -> [slug, requests, throttled]
        self.totals = [0, 0]
        self.labelled: dict[str, str] = {}  # tenant id -> slug, for the process' life

    def add(self, tenant_id: str, slug: str, *, throttled: bool = False) -> None:
        with self.lock:
            entry = self.counts.get(tenant_id)
            if entry is None:
                entry = self.counts[tenant_id] = [slug, 0, 0]
            entry[1] += 1
            self.totals[0] += 1
            if throttled:
                entry[2] += 1
                self.totals[1] += 1

    def _assign(self) -> None:
        """Give free label slots to the busiest unlabelled tenants (at a scrape). Slots are
        never taken back, so a tenant ever counted under ``other`` (slots were full) never
        gets one later: ``other`` and every labelled series only grow."""
        free = self.top_n - len(self.labelled)
        if free <= 0:
            return
        candidates = sorted(
            (tid for tid in self.counts if tid not in self.labelled),
            key=lambda tid: -self.counts[tid][1],
        )[:free]
        for tid in candidates:
            self.labelled[tid] = self.counts[tid][0]

    def render(self) -> list[str]:
        lines = []
        with self.lock:
            self._assign()
            rows = [
                (slug, (self.counts[tid][1], self.counts[tid][2]))
                for tid, slug in sorted(self.labelled.items(), key=lambda kv: kv[1])
            ]
            other = (
                self.totals[0] - sum(values[0] for _slug, values in rows),
                self.totals[1] - sum(values[1] for _slug, values in rows),
            )
        for index, kind in enumerate(self.KINDS):
            name = f"gatehouse_tenant_{kind}_total"
            what = "Protocol and page requests" if kind == "requests" else "Requests answered 429"
            lines += [
                f"# HELP {name} {what} per tenant (top {self.top_n} tenants, the rest as other).",
                f"# TYPE {name} counter",
            ]
            for slug, values in rows:
                lines.append(f'{name}{{tenant="{slug}"}} {values[index]}')
            lines.append(f'{name}{{tenant="{OTHER}"}} {other[index]}')
        return lines


class Observatory:
    """What /metrics adds for this issue: histograms and per-tenant series."""

    def __init__(self, top_n: int):
        self.latency = Histograms()
        self.tenants = TenantSeries(top_n)

    def observe(self, group: str, seconds: float, tenant=None, status: int = 200) -> None:
        self.latency.observe(group, seconds)
        if tenant is not None:
            self.tenants.add(tenant.id, tenant.slug, throttled=status == 429)

    def render(self) -> str:
        return "\n".join(self.latency.render() + self.tenants.render()) + "\n"


_EXT = "gatehouse.observatory"


def observatory(app) -> Observatory:
    return app.extensions[_EXT]


def init_app(app) -> None:
    app.extensions[_EXT] = Observatory(int(app.config.get("METRICS_TENANT_TOP_N", 20)))
