"""The audit log: filter by actor, action and date; newest first, cursor-paged."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import time
from datetime import timedelta

from flask import request

from app.admin.access import console_tenant
from app.admin.common import PAGE_SIZE
from app.admin.common import respond
from app.admin.common import tenant_route
from app.services import audit_query
from app.services import users as users_service
from app.services.errors import ValidationFailed


def _day(name: str, errors: dict) -> date | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = "use a date like 2026-01-31"
        return None


@tenant_route("/audit")
def audit_index():
    errors: dict[str, str] = {}
    filters = {k: (request.args.get(k) or "").strip()[:100] for k in ("actor", "action")}
    since, until = _day("since", errors), _day("until", errors)
    before = (request.args.get("before") or "").strip()[:80] or None
    actor = filters["actor"]
    if "@" in actor:  # an email names a user of this tenant; events are keyed by id
        user = users_service.find_by_email(console_tenant(), actor)
        actor = user.id if user else "usr_none"
    events: list = []
    if not errors:
        try:
            events = audit_query.list_events(
                console_tenant(),
                actor=actor or None,
                action=filters["action"] or None,
                since=datetime.combine(since, time.min, UTC) if since else None,
                # "until" is a whole day, inclusive: up to the next midnight.
                until=datetime.combine(until + timedelta(days=1), time.min, UTC) if until else None,
                before=before,
                limit=PAGE_SIZE + 1,
            )
        except ValidationFailed as exc:
            errors = exc.errors
    next_cursor = events[PAGE_SIZE - 1].id if len(events) > PAGE_SIZE else None
    return respond(
        "admin/audit.html",
        "admin/_partials/_audit_table.html",
        status=422 if errors else 200,
        events=events[:PAGE_SIZE],
        next_cursor=next_cursor,
        filters={
            **filters,
            "since": request.args.get("since", ""),
            "until": request.args.get("until", ""),
        },
        errors=errors,
        before=before,
    )
