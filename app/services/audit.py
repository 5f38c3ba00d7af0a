"""Audit events. The edge describes who is acting (:func:`actor_context`); services
call :func:`record` with what happened."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from dataclasses import replace

from app.extensions import db
from app.models import AuditEvent
from app.models import Tenant
from app.models.base import new_id
from app.models.base import utcnow
from app.services import events
from app.services import usage
from app.tenancy import insert_row
from app.tenancy import scope


@dataclass(frozen=True)
class Actor:
    type: str = "system"  # user, api_key, client, system, anonymous
    id: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


_actor: contextvars.ContextVar[Actor] = contextvars.ContextVar(
    "gatehouse_actor",
    default=Actor(),  # noqa: B039 - Actor is a frozen dataclass
)


def set_actor(actor: Actor) -> contextvars.Token:
    return _actor.set(actor)


def reset_actor(token: contextvars.Token) -> None:
    _actor.reset(token)


def current_actor() -> Actor:
    return _actor.get()


def act_as(type_: str, id_: str | None) -> None:
    """Name the actor for the rest of this request (keeps ip and request id)."""
    _actor.set(replace(_actor.get(), type=type_, id=id_))


def record(
    tenant: Tenant | str,
    action: str,
    *,
    target_type: str | None = None,
    target_id: str | None = None,
    actor_type: str | None = None,
    actor_id: str | None = None,
    **data,
) -> AuditEvent:
    """Add an audit event for ``tenant`` (flushed with the request's transaction), and the
    outbox event it yields (:mod:`app.services.events`), in the same transaction."""
    actor = _actor.get()
    event = AuditEvent(
        action=action,
        actor_type=actor_type or actor.type,
        actor_id=actor_id if actor_id is not None else actor.id,
        target_type=target_type,
        target_id=target_id,
        ip=actor.ip,
        user_agent=(actor.user_agent or "")[:300] or None,
        request_id=actor.request_id,
        data={k: v for k, v in data.items() if v is not None},
    )
    scope(tenant).add(event)
    events.from_audit(tenant, event)
    usage.note_audit(tenant, action, target_id)  # sign-ins, failures, sign-ups per day
    return event


@dataclass(frozen=True, slots=True)
class Written:
    """An audit event :func:`record_now` wrote: what :mod:`app.services.events` reads."""

    id: str
    action: str
    target_type: str | None
    target_id: str | None
    ip: str | None
    data: dict


def record_now(
    tenant: Tenant | str,
    action: str,
    *,
    target_type: str | None = None,
    target_id: str | None = None,
    with_session=None,
    **data,
) -> Written:
    """:func:`record`, written at once with Core INSERTs built once per process (the audit
    row, then its outbox event) instead of by the ORM's unit of work at commit: the same
    rows and usage counters, in the same transaction. For a hot path (a sign-in) whose
    rows the event describes are written already (the event reads them), or, with
    ``with_session`` (a sign-in's session that ``sessions.start_session(write=False)``
    left unwritten), written in the same statement on PostgreSQL: the session, the
    user's ``last_login_at``, the audit row and its event, one data-modifying WITH."""
    from app.services import sessions

    unwritten = sessions.pending_insert(with_session) if with_session is not None else None
    if unwritten is not None and _changed(with_session):
        # Changed since start_session (nothing in a sign-in does): written first, as
        # before, so that a flush finds its row.
        sessions.write_pending(tenant, with_session)
        unwritten = None
    actor = _actor.get()
    values = {
        "id": new_id("evt"),
        "created_at": utcnow(),
        "action": action,
        "actor_type": actor.type,
        "actor_id": actor.id,
        "target_type": target_type,
        "target_id": target_id,
        "ip": actor.ip,
        "user_agent": (actor.user_agent or "")[:300] or None,
        "request_id": actor.request_id,
        "data": {k: v for k, v in data.items() if v is not None},
    }
    written = Written(
        id=values["id"],
        action=action,
        target_type=target_type,
        target_id=target_id,
        ip=actor.ip,
        data=values["data"],
    )
    rows = scope(tenant)
    found = events.event_of(tenant, written)  # (its tenant, type, data) or None
    if (
        found is not None
        and found[0].id == rows.tenant_id
        and db.engine.dialect.name == "postgresql"
    ):  # the audit row and its outbox event in one statement (a WITH)
        named = {
            **{f"audit_{key}": value for key, value in values.items()},
            "event_id": new_id("ev"),
            "event_type": found[1],
            "event_data": found[2],
            "event_dispatched_at": None,
            "event_created_at": utcnow(),
        }
        if unwritten is not None:  # and the sign-in's session with its last_login_at
            del with_session.__dict__["unwritten"]
            rows.execute_prepared(
                "audit.insert_with_session_and_event",
                _insert_sign_in,
                **unwritten,
                **named,
            )
        else:
            rows.execute_prepared("audit.insert_with_event", _insert_audit_with_event, **named)
    else:
        if unwritten is not None:
            sessions.write_pending(tenant, with_session)
        rows.execute_prepared("audit.insert", _insert_audit, **values)
        if found is not None:
            events.emit_now(*found)
    usage.note_audit(tenant, action, target_id)
    return written


def _insert_audit(tenant, prefix: str = ""):
    return insert_row(AuditEvent, tenant, prefix)


def _insert_audit_with_event(tenant):
    """PostgreSQL: the audit row's INSERT in a data-modifying WITH, and its outbox event's
    (same tenant): one statement. Every column is bound by name (``audit_<column>``,
    ``event_<column>``), so no parameter adds a column to either INSERT."""
    from app.models import Event

    event = insert_row(Event, tenant, "event_")
    return event.add_cte(_insert_audit(tenant, "audit_").cte("audit_row"))


def _insert_sign_in(tenant):
    """PostgreSQL: a sign-in's four rows in one statement: the session's INSERT, the
    user's ``last_login_at``, the audit row and its outbox event (same tenant), each a
    data-modifying CTE or the main INSERT; parameters ``s_…``, ``audit_…``, ``event_…``."""
    from app.services.sessions import sign_in_ctes

    statement = _insert_audit_with_event(tenant)
    for cte in sign_in_ctes(tenant):
        statement = statement.add_cte(cte)
    return statement


def _changed(row) -> bool:
    from sqlalchemy import inspect

    state = inspect(row)
    return bool(state.modified or state.expired_attributes)
