"""The back-channel logout half of the worker: POST a fresh Logout Token for each due
delivery (OIDC Back-Channel Logout 1.0 §2.5), record the attempt, retry a few times."""

from __future__ import annotations

import logging
import time
from datetime import UTC
from datetime import datetime

from flask import current_app
from sqlalchemy.orm import Session

from app.models import Client
from app.models import LogoutDelivery
from app.models import Tenant
from app.security.outbound import OutboundError
from app.security.outbound import allow_private
from app.security.outbound import fetch
from app.services import backchannel_logout
from app.worker.backoff import next_attempt
from app.worker.claims import claim

log = logging.getLogger("gatehouse.worker")

TIMEOUT = 5.0
BODY_EXCERPT = 1024
# Refusals that another try cannot change: fail at once.
FINAL_ERRORS = {"private_address", "bad_url"}


def deliver_due(session: Session, now: datetime, limit: int = 20) -> int:
    """Lease due logout deliveries and send each one; answers how many were attempted."""
    config = current_app.config
    rows = claim(session, LogoutDelivery, now, limit=limit, lease=config["WORKER_LEASE_SECONDS"])
    for delivery in rows:
        attempt(session, delivery)
    return len(rows)


def _mint(delivery: LogoutDelivery, client: Client) -> tuple[str, dict]:
    """The token, minted with the services in a fresh app context (its own session: the
    tenant's keys are read, or made on first use, through the tenant-scoped data path)."""
    from app.extensions import db

    with current_app.app_context():
        try:
            tenant = db.session.get(Tenant, delivery.tenant_id)
            token, claims = backchannel_logout.logout_token(
                tenant, client, sid=delivery.session_id, sub=delivery.subject
            )
            db.session.commit()
            return token, claims
        finally:
            db.session.remove()


def attempt(session: Session, delivery: LogoutDelivery) -> None:
    """One POST of one logout token, and its outcome recorded (commits)."""
    client = session.get(Client, delivery.client_id)
    now = datetime.now(UTC)
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.locked_until = None
    uri = client.backchannel_logout_uri if client is not None else None
    if client is None or client.disabled or not uri:
        _record(delivery, now, None, "client deleted, disabled or without the URI")
        delivery.status, delivery.next_attempt_at = "failed", None
        session.commit()
        return
    started = time.monotonic()
    ok, status, excerpt, error, claims = False, None, None, None, {}
    try:
        token, claims = _mint(delivery, client)
        response = fetch(
            "POST",
            uri,
            allow_private=allow_private(),
            timeout=TIMEOUT,
            max_redirects=0,  # §2.5: the RP answers; a redirect is not followed
            data={"logout_token": token},
            headers={"user-agent": "Gatehouse-Logout/1", "cache-control": "no-store"},
        )
        ok, status = response.ok, response.status_code
        excerpt = response.content[:BODY_EXCERPT].decode("utf-8", errors="replace")
        if not ok:
            error = f"HTTP {status}"
    except OutboundError as exc:
        error = {"too_many_redirects": "redirect (not followed)"}.get(exc.reason, exc.reason)
    except Exception as exc:  # noqa: BLE001 - e.g. no signing key: recorded and retried
        log.exception("logout token not minted", extra={"delivery": delivery.id})
        error = f"not sent: {type(exc).__name__}"
    delivery.latency_ms = (time.monotonic() - started) * 1000
    delivery.response_status, delivery.response_body = status, excerpt
    _record(delivery, now, status, error, claims.get("jti"))
    if ok:
        delivery.status, delivery.next_attempt_at = "succeeded", None
    elif error in FINAL_ERRORS or delivery.attempts >= backchannel_logout.max_attempts():
        delivery.status, delivery.next_attempt_at = "failed", None
    else:
        config = current_app.config
        delivery.next_attempt_at = next_attempt(
            delivery.attempts,
            now,
            delivery.started_at,
            base=config["BACKCHANNEL_LOGOUT_RETRY_BASE_SECONDS"],
            window=config["BACKCHANNEL_LOGOUT_RETRY_WINDOW_SECONDS"],
        )
        if delivery.next_attempt_at is None:
            delivery.status = "failed"
    log.info(
        "back-channel logout",
        extra={"delivery": delivery.id, "client": client.id, "status": status, "ok": ok},
    )
    session.commit()


def _record(delivery, now, status, error, jti=None) -> None:
    delivery.error = error
    entry = {"at": now.isoformat().replace("+00:00", "Z"), "status": status, "error": error}
    if jti:
        entry["jti"] = jti
    delivery.history = [*(delivery.history or []), entry]
