"""RFC 8628 device authorizations: start one, let a person decide on it, and let the
device collect its tokens exactly once.

* The device code is 256 bits, stored as its SHA-256 digest (app.security.tokens).
* The user code is 8 characters of RFC 8628 §6.1's unambiguous alphabet (no vowels, no
  0/O/1/I), shown ``XXXX-XXXX``, typed in any case, with or without dash or spaces. It has
  about 34 bits, so it is stored as an HMAC keyed with the instance secret, lives
  ``EXPIRES_IN`` seconds, is single use, and its entry is rate-limited (app/device).
* Polling faster than the interval answers ``slow_down`` and adds 5 s to the interval
  for this and every later poll (RFC 8628 §3.5).
* Tokens go out once: ``approved`` → ``issued`` is an atomic conditional UPDATE, so a
  second poll (or a racing one) gets ``invalid_grant``.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import update

from app.extensions import db
from app.models import BrowserSession
from app.models import Client
from app.models import DeviceAuthorization
from app.models import Tenant
from app.models import User
from app.models.base import utcnow
from app.security.tokens import digest
from app.security.tokens import keyed_digest
from app.security.tokens import new_token
from app.services import audiences
from app.services import audit
from app.services import consent as consent_service
from app.services import issuance
from app.services import sessions as sessions_service
from app.services.resource_config import resource_config
from app.tenancy import scope

USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 8
EXPIRES_IN = 600  # seconds a device and user code pair lives
INTERVAL = 5  # seconds between polls (RFC 8628 §3.2), +5 at each slow_down
SLOW_DOWN_STEP = 5
_SEPARATORS = re.compile(r"[\s\-‐‑‒–—]+")  # spaces and dashes people type


class DeviceError(Exception):
    """A poll that gets no tokens; ``error`` is the RFC 8628 §3.5 / RFC 6749 code."""

    def __init__(self, error: str, description: str):
        super().__init__(description)
        self.error = error
        self.description = description


def new_user_code() -> str:
    """8 random characters of the unambiguous alphabet (stored and compared without dash)."""
    return "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))


def display_user_code(code: str) -> str:
    """``BCDFGHJK`` → ``BCDF-GHJK``."""
    return f"{code[:4]}-{code[4:]}"


def normalize_user_code(raw: str | None) -> str | None:
    """What a person typed, as stored: upper case, no dashes or spaces; None when it
    cannot be a user code (wrong length or a character outside the alphabet)."""
    if not raw or len(raw) > 40:
        return None
    code = _SEPARATORS.sub("", raw).upper()
    if len(code) != USER_CODE_LENGTH or not set(code) <= set(USER_CODE_ALPHABET):
        return None
    return code


def _user_code_digest(tenant: Tenant, code: str) -> str:
    return keyed_digest(f"device-user-code:{tenant.id}", code)


def start(
    tenant: Tenant, client: Client, scope_value: str, resources: list[str]
) -> tuple[DeviceAuthorization, str, str]:
    """A new pending authorization; returns the row, the device code and the user code
    (both shown once, to the device)."""
    for _attempt in range(5):  # a clash of live user codes is ~1e-8; never twice
        user_code = new_user_code()
        taken = scope(tenant).first(
            DeviceAuthorization,
            DeviceAuthorization.user_code_digest == _user_code_digest(tenant, user_code),
        )
        if taken is None:
            break
    else:  # pragma: no cover - astronomically unlikely
        raise RuntimeError("could not draw a free user code")
    device_code = new_token()
    row = scope(tenant).add(
        DeviceAuthorization(
            client_id=client.id,
            device_code_digest=digest(device_code),
            user_code_digest=_user_code_digest(tenant, user_code),
            scope=scope_value,
            resources=list(resources),
            status="pending",
            interval=INTERVAL,
            expires_at=utcnow() + timedelta(seconds=EXPIRES_IN),
        )
    )
    db.session.flush()
    return row, device_code, user_code


def is_expired(row: DeviceAuthorization, now=None) -> bool:
    return row.expires_at <= (now or utcnow())


def find_pending(tenant: Tenant, raw_user_code: str | None) -> DeviceAuthorization | None:
    """The pending, unexpired authorization of this tenant with this user code, else None
    (unknown, another tenant's, expired, already decided: the person is told the same)."""
    code = normalize_user_code(raw_user_code)
    if code is None:
        return None
    row = scope(tenant).first(
        DeviceAuthorization,
        DeviceAuthorization.user_code_digest == _user_code_digest(tenant, code),
    )
    if row is None or row.status != "pending" or is_expired(row):
        return None
    return row


def decide(
    tenant: Tenant,
    row: DeviceAuthorization,
    user: User,
    session: BrowserSession,
    *,
    approve: bool,
    org_id: str | None = None,
    resources: list | None = None,
) -> bool:
    """Record the person's decision once (atomic: a second decision changes nothing);
    False when the code was decided or expired meanwhile. An approval binds the tokens
    to ``session``: ending it revokes them (app.services.grants.revoke_session_grants)."""
    now = utcnow()
    values = {
        "status": "approved" if approve else "denied",
        "user_id": user.id,
        "session_id": session.id,
        "org_id": org_id,
        "decided_at": now,
    }
    if approve and resources is not None:
        values["resources"] = resources
    result = db.session.execute(
        update(DeviceAuthorization)
        .where(
            DeviceAuthorization.id == row.id,
            DeviceAuthorization.tenant_id == tenant.id,
            DeviceAuthorization.status == "pending",
            DeviceAuthorization.expires_at > now,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if (result.rowcount or 0) != 1:
        return False
    db.session.expire(row)
    audit.record(
        tenant,
        "device.approved" if approve else "device.denied",
        target_type="client",
        target_id=row.client_id,
        device_authorization=row.id,
    )
    return True


@dataclass
class Terms:
    """What the person is asked to approve, as on the consent page: ``scope`` (the OIDC
    scopes shown) and, for a third-party client, per requested API the permissions its
    tokens would carry (``shown``; None for a first-party client: the roles decide)."""

    scope: str
    shown: dict | None
    config: object | None


def terms(tenant: Tenant, row: DeviceAuthorization, client: Client, user: User, org_id) -> Terms:
    """The terms of ``row`` for ``user`` (in organization ``org_id``)."""
    requested = [r for r in row.resources or [] if isinstance(r, str)]
    if not requested:
        return Terms(row.scope, None, None)
    config = resource_config(tenant)
    if client.first_party:
        return Terms(audiences.oidc_scope(row.scope, config), None, config)
    keys = issuance.user_role_keys(tenant, user, org_id)
    shown = audiences.consent_permissions(config, requested, row.scope, keys)
    return Terms(audiences.oidc_scope(row.scope, config), shown, config)


def approve(
    tenant: Tenant,
    row: DeviceAuthorization,
    client: Client,
    user: User,
    session: BrowserSession,
    org_id: str | None,
) -> bool:
    """The person approves: the grant will carry what :func:`terms` showed, and a
    third-party client's consent is remembered as at /oauth2/authorize."""
    shown = terms(tenant, row, client, user, org_id)
    requested = [r for r in row.resources or [] if isinstance(r, str)]
    if not decide(
        tenant,
        row,
        user,
        session,
        approve=True,
        org_id=org_id,
        resources=audiences.grant_resources(requested, shown.shown),
    ):
        return False
    if not client.first_party:
        consent_service.grant_consent(tenant, user, client, shown.scope, shown.shown)
    return True


def find_for_device(tenant: Tenant, device_code: str | None) -> DeviceAuthorization | None:
    """The authorization of this tenant with this device code, else None."""
    if not device_code or len(device_code) > 200:
        return None
    return scope(tenant).first(
        DeviceAuthorization, DeviceAuthorization.device_code_digest == digest(device_code)
    )


def poll(tenant: Tenant, row: DeviceAuthorization, client: Client) -> DeviceAuthorization:
    """One poll of the token endpoint: returns the row when tokens may be issued (the
    caller then :func:`claim` s it), else raises DeviceError with the RFC 8628 §3.5 code."""
    if row.client_id != client.id:
        raise DeviceError("invalid_grant", "The device code was issued to another client.")
    if row.status == "issued":
        raise DeviceError("invalid_grant", "The device code has already been used.")
    now = utcnow()
    if is_expired(row, now):
        raise DeviceError("expired_token", "The device code has expired.")
    if row.status == "denied":
        raise DeviceError("access_denied", "The user denied the request.")
    if row.status == "approved":
        return row
    too_fast = row.last_polled_at is not None and now - row.last_polled_at < timedelta(
        seconds=row.interval
    )
    row.last_polled_at = now
    if too_fast:
        row.interval = row.interval + SLOW_DOWN_STEP
        db.session.flush()
        raise DeviceError(
            "slow_down", f"Polling too fast: wait at least {row.interval} seconds between polls."
        )
    db.session.flush()
    raise DeviceError("authorization_pending", "The user has not decided yet.")


def claim(tenant: Tenant, row: DeviceAuthorization) -> BrowserSession:
    """Take the approved authorization for issuing, exactly once; returns the approving
    browser session. Raises DeviceError (``invalid_grant``) when someone took it first or
    that session has ended since (signing out before the device polled revokes it)."""
    result = db.session.execute(
        update(DeviceAuthorization)
        .where(
            DeviceAuthorization.id == row.id,
            DeviceAuthorization.tenant_id == tenant.id,
            DeviceAuthorization.status == "approved",
        )
        .values(status="issued")
        .execution_options(synchronize_session=False)
    )
    if (result.rowcount or 0) != 1:
        raise DeviceError("invalid_grant", "The device code has already been used.")
    session = scope(tenant).get(BrowserSession, row.session_id)
    if session is None or not sessions_service.is_live(session, tenant):
        raise DeviceError("invalid_grant", "The session that approved this device has ended.")
    return session


def note_grant(row: DeviceAuthorization, grant_id: str) -> None:
    """Remember the grant (refresh family) the authorization produced."""
    row.grant_id = grant_id
    row.status = "issued"
    db.session.flush()
