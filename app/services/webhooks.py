"""Webhook endpoints of a tenant (the system tenant's receive the instance's ``tenant.*``),
their delivery log, manual redelivery and test events. The worker does the sending."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from app.extensions import db
from app.models import Event
from app.models import Tenant
from app.models import WebhookDelivery
from app.models import WebhookEndpoint
from app.models.base import utcnow
from app.security import webhooks as signing
from app.security.outbound import OutboundError
from app.security.outbound import allow_private
from app.security.outbound import check_url
from app.services import audit
from app.services import events
from app.services.errors import Conflict
from app.services.errors import NotFound
from app.services.errors import ValidationFailed
from app.tenancy import scope

MAX_ENDPOINTS = 20
DEFAULT_OVERLAP = timedelta(hours=24)
MAX_OVERLAP = timedelta(days=7)
FAMILIES = {t.split(".", 1)[0] for t in events.EVENT_TYPES}


# --- endpoints ---------------------------------------------------------------------------


def create_endpoint(tenant: Tenant, data: dict) -> tuple[WebhookEndpoint, str]:
    """A new endpoint; answers it and its ``whsec_`` secret (shown once)."""
    if scope(tenant).count(WebhookEndpoint) >= MAX_ENDPOINTS:
        raise Conflict(f"A tenant has at most {MAX_ENDPOINTS} webhook endpoints.")
    errors: dict[str, str] = {}
    url = _url(data.get("url"), errors)
    patterns = _patterns(data.get("events", ["*"]), errors)
    description = _description(data.get("description", ""), errors)
    if errors:
        raise ValidationFailed(errors)
    secret = signing.new_secret()
    endpoint = scope(tenant).add(
        WebhookEndpoint(
            url=url,
            events=patterns,
            description=description,
            enabled=bool(data.get("enabled", True)),
            secret_encrypted=signing.seal(secret),
        )
    )
    db.session.flush()
    audit.record(tenant, "webhook.created", target_type="webhook", target_id=endpoint.id, url=url)
    return endpoint, secret


def update_endpoint(tenant: Tenant, endpoint: WebhookEndpoint, data: dict) -> WebhookEndpoint:
    """Change url, events, description or enabled (re-enabling clears the failure state)."""
    errors: dict[str, str] = {}
    changes = {}
    if "url" in data:
        changes["url"] = _url(data["url"], errors)
    if "events" in data:
        changes["events"] = _patterns(data["events"], errors)
    if "description" in data:
        changes["description"] = _description(data["description"], errors)
    if "enabled" in data:
        if not isinstance(data["enabled"], bool):
            errors["enabled"] = "must be true or false"
        changes["enabled"] = data["enabled"]
    if errors:
        raise ValidationFailed(errors)
    changed = [k for k, v in changes.items() if getattr(endpoint, k) != v]
    for key in changed:
        setattr(endpoint, key, changes[key])
    if changes.get("enabled") is True:
        endpoint.failing_since = None
        endpoint.disabled_reason = None
    if changed:
        db.session.flush()
        audit.record(
            tenant, "webhook.updated", target_type="webhook", target_id=endpoint.id, fields=changed
        )
    return endpoint


def delete_endpoint(tenant: Tenant, endpoint: WebhookEndpoint) -> None:
    """Delete an endpoint and its delivery log."""
    audit.record(tenant, "webhook.deleted", target_type="webhook", target_id=endpoint.id)
    db.session.delete(endpoint)
    db.session.flush()


def rotate_secret(
    tenant: Tenant, endpoint: WebhookEndpoint, overlap: timedelta = DEFAULT_OVERLAP
) -> str:
    """A new secret; the old one keeps signing too (a second signature) for ``overlap``."""
    if overlap < timedelta(0) or overlap > MAX_OVERLAP:
        raise ValidationFailed({"overlap_seconds": f"from 0 to {int(MAX_OVERLAP.total_seconds())}"})
    secret = signing.new_secret()
    endpoint.previous_secret_encrypted = endpoint.secret_encrypted if overlap else None
    endpoint.previous_secret_expires_at = utcnow() + overlap if overlap else None
    endpoint.secret_encrypted = signing.seal(secret)
    db.session.flush()
    audit.record(
        tenant,
        "webhook.secret_rotated",
        target_type="webhook",
        target_id=endpoint.id,
        overlap_seconds=int(overlap.total_seconds()),
    )
    return secret


def signing_secrets(endpoint: WebhookEndpoint, now=None) -> list[str]:
    """The secrets that sign now: the current one, plus the previous during its overlap."""
    now = now or utcnow()
    found = [signing.unseal(endpoint.secret_encrypted)]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret_encrypted and expires and expires > now:
        found.append(signing.unseal(endpoint.previous_secret_encrypted))
    return found


def list_endpoints(tenant: Tenant) -> list[WebhookEndpoint]:
    return scope(tenant).all(WebhookEndpoint, order_by=WebhookEndpoint.id)


def get_endpoint(tenant: Tenant, endpoint_id: str) -> WebhookEndpoint:
    endpoint = scope(tenant).get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound("No such webhook endpoint.")
    return endpoint


# --- deliveries ----------------------------------------------------------------------------


def send_test(tenant: Tenant, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Queue a ``webhook.test`` event for this endpoint alone."""
    now = utcnow()
    event = events.emit(
        tenant, events.TEST_EVENT, {"endpoint_id": endpoint.id, "message": "A test event."}
    )
    event.dispatched_at = now  # never fanned out: it is for this endpoint only
    db.session.flush()
    delivery = scope(tenant).add(
        WebhookDelivery(endpoint_id=endpoint.id, event_id=event.id, event_type=event.type)
    )
    db.session.flush()
    return delivery


def list_deliveries(
    tenant: Tenant, endpoint: WebhookEndpoint, *, before: str | None = None, limit: int = 50
) -> list[WebhookDelivery]:
    """The endpoint's delivery log, newest first (``limit + 1`` rows)."""
    return scope(tenant).newest_first(
        WebhookDelivery, WebhookDelivery.endpoint_id == endpoint.id, before=before, limit=limit + 1
    )


def redeliver(tenant: Tenant, endpoint: WebhookEndpoint, delivery_id: str) -> WebhookDelivery:
    """Send a delivery again now, with the same ``webhook-id``, and a fresh retry window."""
    delivery = scope(tenant).first(
        WebhookDelivery,
        WebhookDelivery.id == delivery_id,
        WebhookDelivery.endpoint_id == endpoint.id,
    )
    if delivery is None:
        raise NotFound("No such delivery.")
    if not endpoint.enabled:
        raise Conflict("Enable the endpoint before redelivering to it.", field="enabled")
    now = utcnow()
    delivery.status = "pending"
    delivery.started_at = now
    delivery.next_attempt_at = now
    delivery.locked_until = None
    db.session.flush()
    audit.record(
        tenant,
        "webhook.redelivered",
        target_type="webhook",
        target_id=endpoint.id,
        delivery_id=delivery.id,
    )
    return delivery


def event_of(tenant: Tenant, delivery: WebhookDelivery) -> Event | None:
    return scope(tenant).get(Event, delivery.event_id)


def recent_deliveries(tenant: Tenant, limit: int = 20) -> list[WebhookDelivery]:
    stmt = scope(tenant).select(WebhookDelivery).order_by(WebhookDelivery.id.desc()).limit(limit)
    return list(db.session.scalars(stmt))


# --- views of the resources -------------------------------------------------------------------


def endpoint_to_dict(endpoint: WebhookEndpoint) -> dict:
    """The endpoint as the API shows it (never a secret)."""
    from app.api.serializers import timestamp

    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "description": endpoint.description,
        "events": list(endpoint.events or []),
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "failing_since": timestamp(endpoint.failing_since),
        "secret_overlap_until": timestamp(
            endpoint.previous_secret_expires_at if endpoint.previous_secret_encrypted else None
        ),
        "created_at": timestamp(endpoint.created_at),
        "updated_at": timestamp(endpoint.updated_at),
    }


def delivery_to_dict(delivery: WebhookDelivery) -> dict:
    from app.api.serializers import timestamp

    return {
        "id": delivery.id,
        "endpoint_id": delivery.endpoint_id,
        "event_id": delivery.event_id,
        "event_type": delivery.event_type,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "response_status": delivery.response_status,
        "response_body": delivery.response_body,
        "latency_ms": round(delivery.latency_ms, 1) if delivery.latency_ms is not None else None,
        "error": delivery.error,
        "last_attempt_at": timestamp(delivery.last_attempt_at),
        "next_attempt_at": timestamp(
            delivery.next_attempt_at if delivery.status == "pending" else None
        ),
        "created_at": timestamp(delivery.created_at),
    }


# --- validation --------------------------------------------------------------------------------


def _url(value, errors: dict) -> str:
    if not isinstance(value, str) or not value.strip():
        errors["url"] = "is required"
        return ""
    value = value.strip()
    if len(value) > 2000:
        errors["url"] = "at most 2000 characters"
        return value
    try:
        check_url(value, allow_private=allow_private())
    except OutboundError as exc:
        errors["url"] = exc.message
    return value


def _patterns(value, errors: dict) -> list[str]:
    if not isinstance(value, list) or not value or len(value) > 50:
        errors["events"] = "a list of 1 to 50 event types or patterns (*, user.*)"
        return []
    out: list[str] = []
    for item in value:
        ok = isinstance(item, str) and (
            item == "*"
            or item in events.EVENT_TYPES
            or (item.endswith(".*") and item[:-2] in FAMILIES)
            or item in ("org.member.*",)
        )
        if not ok:
            errors["events"] = f"unknown event type or pattern: {str(item)[:80]!r}"
            return []
        if item not in out:
            out.append(item)
    return out


def _description(value, errors: dict) -> str:
    if not isinstance(value, str) or len(value) > 200:
        errors["description"] = "at most 200 characters"
        return ""
    return value.strip()


def endpoints_for(tenant_id: str, type_: str, session=None) -> list[WebhookEndpoint]:
    """Enabled endpoints of a tenant whose filter takes ``type_`` (the worker's fan-out)."""
    session = session or db.session
    rows = session.scalars(
        select(WebhookEndpoint).where(
            WebhookEndpoint.tenant_id == tenant_id, WebhookEndpoint.enabled.is_(True)
        )
    )
    return [row for row in rows if events.matches(row.events, type_)]
