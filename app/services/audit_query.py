"""Reading the audit trail: filters by actor, action, target and time; newest first."""

from __future__ import annotations

from datetime import datetime

from app.models import AuditEvent
from app.models import Tenant
from app.services.errors import ValidationFailed
from app.tenancy import scope


def list_events(
    tenant: Tenant,
    *,
    actor: str | None = None,
    action: str | None = None,
    target: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before: str | None = None,
    limit: int = 50,
) -> list[AuditEvent]:
    """Events of one tenant, newest first (ids are time-ordered ULIDs).

    ``actor`` and ``target`` match the actor's or target's id; ``action`` matches
    exactly, or as a prefix when it ends with ``.*`` (``user.*``); ``since`` is
    inclusive, ``until`` exclusive; ``before`` is the id of the last event already seen.
    """
    if since and until and since >= until:
        raise ValidationFailed({"until": "must be later than since"})
    criteria = []
    if actor:
        criteria.append(AuditEvent.actor_id == actor)
    if action:
        if action.endswith(".*"):
            prefix = action[:-1].replace("%", r"\%").replace("_", r"\_")
            criteria.append(AuditEvent.action.like(prefix + "%", escape="\\"))
        else:
            criteria.append(AuditEvent.action == action)
    if target:
        criteria.append(AuditEvent.target_id == target)
    if since:
        criteria.append(AuditEvent.created_at >= since)
    if until:
        criteria.append(AuditEvent.created_at < until)
    return scope(tenant).newest_first(AuditEvent, *criteria, before=before, limit=limit)
