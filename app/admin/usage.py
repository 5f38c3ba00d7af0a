"""Usage in the console: a tenant's own usage and quota utilisation (every tenant admin,
and operators for any tenant), the quota form and the busiest tenants (operators only)."""

from __future__ import annotations

from datetime import date
from datetime import timedelta

from flask import request

from app.admin import bp
from app.admin.access import console_tenant
from app.admin.access import is_operator
from app.admin.access import operator_only
from app.admin.common import done
from app.admin.common import errors_of
from app.admin.common import respond
from app.admin.common import tenant_route
from app.admin.usage_chart import build_usage_chart
from app.models import Client
from app.models import Organization
from app.models import User
from app.quotas import FIELDS
from app.quotas import LABELS
from app.quotas import effective
from app.quotas.enforce import day_of
from app.services import audit_query
from app.services import tenants as tenants_service
from app.services import usage as usage_service
from app.services.errors import ServiceError
from app.services.errors import ValidationFailed
from app.tenancy import scope

RANGES = (1, 7, 30)


def _today() -> date:
    return date.fromisoformat(day_of())


def utilisation(tenant, days: list[dict]) -> list[dict]:
    """Each quota with what is used of it now (None where it is a rate)."""
    data = scope(tenant)
    today = days[-1] if days else {}
    used = {
        "max_users": data.count(User),
        "max_organizations": data.count(Organization),
        "max_clients": data.count(Client),
        "monthly_active_users": today.get("monthly_active_users", 0),
        "signups_per_day": today.get("signups", 0),
        "token_requests_per_second": None,
        "token_burst": None,
    }
    rows = []
    for key, limit in effective(tenant.quotas).items():
        value = used[key]
        percent = None
        if value is not None and limit:
            percent = min(100, round(100 * value / limit))
        rows.append(
            {"key": key, "label": LABELS[key], "limit": limit, "used": value, "percent": percent}
        )
    return rows


def _page(tenant, *, form=None, errors=None, status=200):
    today = _today()
    days = usage_service.daily(tenant, today - timedelta(days=29), today)
    current = effective(tenant.quotas)
    return respond(
        "admin/usage.html",
        status=status,
        chart=build_usage_chart(days),
        days=list(reversed(days)),
        totals=usage_service.totals(days),
        quotas=utilisation(tenant, days),
        form=form or {k: "" if v is None else v for k, v in current.items()},
        errors=errors or {},
        can_set_quotas=is_operator(),
        exceeded=audit_query.list_events(tenant, action="quota.exceeded", limit=10),
    )


@tenant_route("/usage")
def usage():
    return _page(console_tenant())


def _parse(form) -> dict:
    values, errors = {}, {}
    for key in FIELDS:
        raw = (form.get(key) or "").strip()
        if not raw:
            values[key] = None
            continue
        try:
            number = float(raw) if key == "token_requests_per_second" else int(raw)
        except ValueError:
            errors[f"quotas.{key}"] = "a number, or empty for unlimited"
            continue
        values[key] = number
    if errors:
        raise ValidationFailed(errors)
    return values


@bp.post("/tenants/<tenant_slug>/quotas")
@operator_only
def tenants_quotas():
    """Operators only: a tenant admin never sets their own limits (404 for them)."""
    tenant = console_tenant()
    form = {k: (request.form.get(k) or "").strip() for k in FIELDS}
    try:
        tenants_service.set_quotas(tenant, _parse(request.form))
    except ServiceError as exc:
        errors = {k.removeprefix("quotas."): v for k, v in errors_of(exc).items()}
        return _page(tenant, form=form, errors=errors, status=422)
    return done(f"Quotas of {tenant.name} saved.", "admin.usage", tenant_slug=tenant.slug)


@bp.get("/busiest")
@operator_only
def busiest():
    """The busiest tenants over the last day, week or month, sortable by each figure."""
    sort = request.args.get("sort", "tokens")
    if sort not in usage_service.SORTS:
        sort = "tokens"
    try:
        span = int(request.args.get("days", 7))
    except ValueError:
        span = 7
    span = span if span in RANGES else 7
    today = _today()
    rows = usage_service.busiest(today - timedelta(days=span - 1), today, sort, limit=50)
    return respond(
        "admin/busiest.html",
        rows=rows,
        sort=sort,
        span=span,
        ranges=RANGES,
        sorts=usage_service.SORTS,
    )
