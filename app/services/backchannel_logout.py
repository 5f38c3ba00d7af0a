"""OpenID Connect Back-Channel Logout 1.0: when a browser session ends, every client that
holds a grant in it and registered a ``backchannel_logout_uri`` is sent a Logout Token.

* :func:`sessions_ended` is called by the services that end sessions (sign-out,
  RP-initiated logout, an admin ending one or all of a user's sessions, a password change
  or reset, a user disabled or erased). It only queues: one :class:`LogoutDelivery` per
  (session, client), in the caller's transaction, so a rolled-back change notifies nobody
  and the request never waits for a relying party.
* The worker (app/worker/logout.py) mints a fresh token per attempt (§2.4: ``iss``,
  ``aud`` = the client, ``iat``, a short ``exp``, ``jti``, ``sub``, ``sid``, ``events``,
  never ``nonce``; header ``typ: logout+jwt``), signed with the tenant key the client's ID
  tokens use, and POSTs it form-encoded (§2.5), retrying a bounded number of times.

The token carries no ``tenant_id``: every token this tenant accepts back (an
``id_token_hint``, an access token) must carry it, so a logout token can never be replayed
as one of those.
"""

from __future__ import annotations

import time

import jwt
from flask import current_app

from app.extensions import db
from app.models import Client
from app.models import Grant
from app.models import LogoutDelivery
from app.models import Tenant
from app.security.outbound import OutboundError
from app.security.outbound import allow_private
from app.security.outbound import check_url
from app.security.tokens import new_token
from app.services import keys
from app.tenancy import issuer_for
from app.tenancy import scope

EVENT = "http://schemas.openid.net/event/backchannel-logout"
TOKEN_TYP = "logout+jwt"
# §2.4 recommends a short lifetime: the token is minted again for every attempt.
TOKEN_TTL_SECONDS = 120
QUEUED_FLAG = "gatehouse.logout_queued"


# --- queueing ----------------------------------------------------------------------------


def sessions_ended(tenant: Tenant | str, session_ids: list[str], *, reason: str) -> int:
    """Queue a logout token for every client with a grant in one of ``session_ids`` that
    registered a back-channel logout URI; answers how many were queued."""
    ids = [s for s in dict.fromkeys(session_ids) if s]
    if not ids:
        return 0
    tenant_id = tenant if isinstance(tenant, str) else tenant.id
    data = scope(tenant_id)
    # Every grant the session produced, revoked or not (RP-initiated logout revokes them
    # first; the relying party's own session still has to end).
    stmt = (
        data.select(Grant)
        .with_only_columns(Grant.session_id, Grant.user_id, Grant.client_id)
        .join(Client, Client.id == Grant.client_id)
        .where(
            Grant.session_id.in_(ids),
            Grant.user_id.is_not(None),
            Client.tenant_id == tenant_id,
            Client.backchannel_logout_uri.is_not(None),
            Client.disabled.is_(False),
        )
        .distinct()
    )
    queued = 0
    for session_id, user_id, client_id in db.session.execute(stmt):
        data.add(
            LogoutDelivery(
                client_id=client_id, session_id=session_id, subject=user_id, reason=reason
            )
        )
        queued += 1
    if queued:
        db.session.flush()
        db.session.info[QUEUED_FLAG] = True  # OUTBOX_DRAIN_ON_COMMIT: sent after the commit
    return queued


# --- the token ---------------------------------------------------------------------------


def logout_token(tenant: Tenant, client: Client, *, sid: str, sub: str) -> tuple[str, dict]:
    """A signed Logout Token for ``client`` (§2.4) and its claims."""
    now = int(time.time())
    claims = {
        "iss": issuer_for(tenant),
        "aud": client.id,
        "iat": now,
        "exp": now + TOKEN_TTL_SECONDS,
        "jti": new_token(16),
        "sub": sub,
        "sid": sid,
        "events": {EVENT: {}},
    }
    alg = client.id_token_signed_response_alg or "RS256"
    key = keys.signing_key(tenant, alg)
    token = jwt.encode(
        claims, key.private, algorithm=alg, headers={"kid": key.kid, "typ": TOKEN_TYP}
    )
    return token, claims


# --- the client field --------------------------------------------------------------------


def uri_problem(uri, *, check_address: bool = True) -> str | None:
    """Why ``uri`` cannot be a ``backchannel_logout_uri``, or None: the redirect URI rules
    (absolute https, http only for loopback hosts, no fragment or user information), and
    with ``check_address`` the outbound guard (no private address unless
    ``OUTBOUND_ALLOW_PRIVATE``)."""
    from app.services.clients import redirect_uri_problem

    problem = redirect_uri_problem(uri)
    if problem is not None:
        return problem
    if check_address:
        try:
            check_url(uri, allow_private=allow_private())
        except OutboundError as exc:
            return f"{uri} {exc.message}"
    return None


# --- the delivery log (admin API and console) ----------------------------------------------


def list_deliveries(
    tenant: Tenant, client: Client, *, before: str | None = None, limit: int = 50
) -> list[LogoutDelivery]:
    """The client's logout deliveries, newest first (``limit + 1`` rows)."""
    return scope(tenant).newest_first(
        LogoutDelivery, LogoutDelivery.client_id == client.id, before=before, limit=limit + 1
    )


def delivery_to_dict(delivery: LogoutDelivery) -> dict:
    from app.api.serializers import timestamp

    return {
        "id": delivery.id,
        "client_id": delivery.client_id,
        "session_id": delivery.session_id,
        "sub": delivery.subject,
        "reason": delivery.reason,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "response_status": delivery.response_status,
        "response_body": delivery.response_body,
        "latency_ms": round(delivery.latency_ms, 1) if delivery.latency_ms is not None else None,
        "error": delivery.error,
        "history": list(delivery.history or []),
        "last_attempt_at": timestamp(delivery.last_attempt_at),
        "next_attempt_at": timestamp(
            delivery.next_attempt_at if delivery.status == "pending" else None
        ),
        "created_at": timestamp(delivery.created_at),
    }


def max_attempts() -> int:
    return int(current_app.config.get("BACKCHANNEL_LOGOUT_MAX_ATTEMPTS", 5))
