"""The webhook half of the worker: fan events out to endpoints, then deliver them."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC
from datetime import datetime

from flask import current_app
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session

from app.models import Event
from app.models import WebhookDelivery
from app.models import WebhookEndpoint
from app.security.outbound import OutboundError
from app.security.outbound import allow_private
from app.security.outbound import fetch
from app.security.webhooks import signature_headers
from app.services import events
from app.services import webhooks
from app.worker import notices
from app.worker.backoff import retry_later
from app.worker.claims import claim

log = logging.getLogger("gatehouse.worker")

TIMEOUT = 10.0
BODY_EXCERPT = 1024


def fan_out(session: Session, now: datetime, limit: int = 200) -> int:
    """Give every new event a delivery per matching enabled endpoint that existed when it
    happened; commits."""
    stmt = (
        select(Event)
        .where(Event.dispatched_at.is_(None))
        .order_by(Event.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    rows = list(session.scalars(stmt))
    by_tenant: dict[str, list[WebhookEndpoint]] = {}
    for event in rows:
        # Each event is taken by one worker: SKIP LOCKED on PostgreSQL; on SQLite (no row
        # locks, two workers may read the same events) the conditional UPDATE decides.
        taken = session.execute(
            update(Event)
            .where(Event.id == event.id, Event.dispatched_at.is_(None))
            .values(dispatched_at=now)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:
            continue
        if event.tenant_id not in by_tenant:
            by_tenant[event.tenant_id] = list(
                session.scalars(
                    select(WebhookEndpoint).where(
                        WebhookEndpoint.tenant_id == event.tenant_id,
                        WebhookEndpoint.enabled.is_(True),
                    )
                )
            )
        for endpoint in by_tenant[event.tenant_id]:
            # An endpoint gets what happened after it was added, not the backlog.
            if endpoint.created_at <= event.created_at and events.matches(
                endpoint.events, event.type
            ):
                session.add(
                    WebhookDelivery(
                        tenant_id=event.tenant_id,
                        endpoint_id=endpoint.id,
                        event_id=event.id,
                        event_type=event.type,
                        started_at=now,
                        next_attempt_at=now,
                    )
                )
    session.commit()
    return len(rows)


def deliver_due(session: Session, now: datetime, limit: int = 20) -> int:
    """Lease due deliveries and send each one; answers how many were attempted."""
    config = current_app.config
    rows = claim(session, WebhookDelivery, now, limit=limit, lease=config["WORKER_LEASE_SECONDS"])
    for delivery in rows:
        attempt(session, delivery)
    return len(rows)


def attempt(session: Session, delivery: WebhookDelivery) -> None:
    """One POST of one delivery, and its outcome recorded (commits)."""
    endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
    event = session.get(Event, delivery.event_id)
    now = datetime.now(UTC)
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.locked_until = None
    if endpoint is None or event is None or not endpoint.enabled:
        delivery.status, delivery.next_attempt_at = "failed", None
        delivery.error = "endpoint disabled or deleted"
        session.commit()
        return
    body = json.dumps(events.payload(event), separators=(",", ":"), ensure_ascii=False)
    headers = signature_headers(webhooks.signing_secrets(endpoint, now), event.id, now, body)
    headers.update({"content-type": "application/json", "user-agent": "Gatehouse-Webhooks/1"})
    started = time.monotonic()
    ok, status, excerpt, error = False, None, None, None
    try:
        response = fetch(
            "POST",
            endpoint.url,
            allow_private=allow_private(),
            timeout=TIMEOUT,
            max_redirects=0,
            data=body.encode(),
            headers=headers,
        )
        ok, status = response.ok, response.status_code
        excerpt = response.content[:BODY_EXCERPT].decode("utf-8", errors="replace")
        if not ok:
            error = f"HTTP {status}"
    except OutboundError as exc:
        error = {"too_many_redirects": "redirect (not followed)"}.get(exc.reason, exc.reason)
    delivery.latency_ms = (time.monotonic() - started) * 1000
    delivery.response_status, delivery.response_body, delivery.error = status, excerpt, error
    if ok:
        delivery.status, delivery.next_attempt_at = "succeeded", None
        endpoint.failing_since = None
    else:
        endpoint.failing_since = endpoint.failing_since or now
        base = "WEBHOOK_RETRY_BASE_SECONDS"
        if retry_later(delivery, now, delivery.started_at, base_setting=base):
            _maybe_disable(session, endpoint, now)
    log.info(
        "webhook delivery",
        extra={"delivery": delivery.id, "endpoint": endpoint.id, "status": status, "ok": ok},
    )
    session.commit()


def _maybe_disable(session: Session, endpoint: WebhookEndpoint, now: datetime) -> None:
    """An endpoint failing for WEBHOOK_DISABLE_AFTER_SECONDS is disabled; admins are told."""
    limit = current_app.config["WEBHOOK_DISABLE_AFTER_SECONDS"]
    if not endpoint.enabled or endpoint.failing_since is None:
        return
    if (now - endpoint.failing_since).total_seconds() < limit:
        return
    endpoint.enabled = False
    endpoint.disabled_reason = "kept failing: every delivery failed for too long"
    notices.endpoint_disabled(session, endpoint)
