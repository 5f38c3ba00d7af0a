"""The pending sign-in: a password (or a step-up request) waiting for its second factor.

It lives server-side (app/services/flow_states.py, issue #16), so a sign-in whose requests
alternate between instances finds it everywhere; the Flask session (a cookie signed with
SECRET_KEY) holds only an opaque handle, keyed by tenant id so tenants served on one host
under ``/t/<slug>`` never share one. It expires after :data:`TTL_SECONDS` (config
``MFA_PENDING_TTL``). Holding it gives no access: there is no browser session, hence
no token, until :func:`app.mfa.flow.complete` runs after a verified second factor.
Wrong attempts are counted server-side (audit events), so replaying an older cookie
cannot reset them.
"""

from __future__ import annotations

import time
from dataclasses import asdict
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime

from flask import current_app
from flask import session

from app.models import Tenant
from app.models import User
from app.services import flow_states
from app.tenancy import is_same_origin_path
from app.tenancy import scope

TTL_SECONDS = 300
KIND = "mfa_pending"


@dataclass
class PendingSignIn:
    user_id: str
    amr: list[str]
    next: str
    started: float
    purpose: str = "sign_in"  # or "step_up": a signed-in session asking for more

    @property
    def started_at(self) -> datetime:
        return datetime.fromtimestamp(self.started, UTC)

    def expired(self) -> bool:
        ttl = current_app.config.get("MFA_PENDING_TTL", TTL_SECONDS)
        return time.time() - self.started > ttl


def _key(tenant: Tenant) -> str:
    return f"mfa_pending:{tenant.id}"


def start(tenant: Tenant, user: User, amr: list[str], next_url: str | None, purpose: str) -> None:
    """Remember that ``user`` passed the first step (``amr``) and where to go afterwards."""
    pending = PendingSignIn(
        user_id=user.id,
        amr=list(amr),
        next=next_url if is_same_origin_path(next_url) else "",
        started=time.time(),
        purpose=purpose,
    )
    flow_states.discard(tenant, KIND, session.get(_key(tenant)))
    session[_key(tenant)] = flow_states.put(tenant, KIND, asdict(pending), _ttl())


def _ttl() -> float:
    return current_app.config.get("MFA_PENDING_TTL", TTL_SECONDS)


def pending_user_id(tenant: Tenant) -> str | None:
    """The user id of the pending sign-in (for throttling keys), else None."""
    raw = flow_states.get(tenant, KIND, session.get(_key(tenant)))
    return raw.get("user_id") if raw else None


def load(tenant: Tenant) -> tuple[PendingSignIn, User] | None:
    """The live pending sign-in of this tenant and its (active) user, else None."""
    raw = flow_states.get(tenant, KIND, session.get(_key(tenant)))
    if not isinstance(raw, dict):
        if _key(tenant) in session:
            drop(tenant)
        return None
    try:
        pending = PendingSignIn(**raw)
    except TypeError:
        drop(tenant)
        return None
    user = scope(tenant).get(User, pending.user_id)
    if pending.expired() or user is None or not user.is_active:
        drop(tenant)
        return None
    return pending, user


def drop(tenant: Tenant) -> None:
    flow_states.discard(tenant, KIND, session.pop(_key(tenant), None))
    flow_states.discard(tenant, "webauthn", session.pop(f"mfa_webauthn:{tenant.id}", None))
