"""Server-side state of a sign-in in progress (issue #16): the pending second factor and
the passkey challenge live in ``flow_states``, the browser's signed cookie holds only an
opaque handle. Any instance behind the load balancer finds the state, and a challenge is
consumed once everywhere (an atomic ``DELETE … RETURNING``): replaying an older cookie
cannot answer it twice, nor reset what was already used."""

from __future__ import annotations

from datetime import timedelta

from app.extensions import db
from app.models import FlowState
from app.models import Tenant
from app.models.base import utcnow
from app.security.tokens import digest
from app.security.tokens import new_token
from app.tenancy import scope


def put(tenant: Tenant, kind: str, data: dict, ttl_seconds: float) -> str:
    """Keep ``data`` for ``ttl_seconds``; the handle the browser carries."""
    handle = new_token()
    scope(tenant).add(
        FlowState(
            handle_digest=digest(handle),
            kind=kind,
            data=data,
            expires_at=utcnow() + timedelta(seconds=ttl_seconds),
        )
    )
    db.session.flush()
    return handle


def _criteria(kind: str, handle: str):
    return (FlowState.kind == kind, FlowState.handle_digest == digest(handle))


def get(tenant: Tenant, kind: str, handle: str | None) -> dict | None:
    """The live state behind ``handle``, else None."""
    if not isinstance(handle, str) or not handle or len(handle) > 100:
        return None
    row = scope(tenant).first(FlowState, *_criteria(kind, handle))
    if row is None or row.expires_at <= utcnow():
        return None
    return dict(row.data)


def take(tenant: Tenant, kind: str, handle: str | None) -> dict | None:
    """Consume the state behind ``handle`` (once, whichever instance asks first)."""
    if not isinstance(handle, str) or not handle or len(handle) > 100:
        return None
    stmt = scope(tenant).delete(FlowState, *_criteria(kind, handle))
    row = db.session.execute(
        stmt.returning(FlowState.data, FlowState.expires_at).execution_options(
            synchronize_session=False
        )
    ).first()
    if row is None or row.expires_at <= utcnow():
        return None
    return dict(row.data)


def discard(tenant: Tenant, kind: str, handle: str | None) -> None:
    if isinstance(handle, str) and handle and len(handle) <= 100:
        db.session.execute(
            scope(tenant)
            .delete(FlowState, *_criteria(kind, handle))
            .execution_options(synchronize_session=False)
        )
