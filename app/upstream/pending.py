"""What an upstream sign-in keeps between the browser's legs, in the Flask session.

- The flow: ``state``, ``nonce`` and the PKCE ``verifier`` (RFC 6749 §10.12, OIDC Core
  §3.1.2.1, RFC 7636), per tenant and provider, single use, ten minutes.
- A link waiting for proof of ownership: the upstream identity whose verified email
  matches an existing account, linked only once that account has been signed in to
  after this was stored.
"""

from __future__ import annotations

import hmac
import time

from flask import session as flask_session

from app.models import Tenant
from app.models.provider import UpstreamProvider
from app.security.tokens import new_token
from app.services.upstream import Profile

FLOWS = "upstream_flows"
LINK = "upstream_link"
MAX_AGE = 600


def _key(tenant: Tenant, provider: UpstreamProvider) -> str:
    return f"{tenant.id}:{provider.id}"


def start_flow(tenant, provider, *, mode: str, next_url: str | None, user_id=None) -> dict:
    """Fresh state, nonce and verifier for one authorization request."""
    flow = {
        "state": new_token(),
        "nonce": new_token(),
        "verifier": new_token(),
        "mode": mode,
        "next": next_url or "",
        "user_id": user_id,
        "at": int(time.time()),
    }
    flows = dict(flask_session.get(FLOWS) or {})
    flows[_key(tenant, provider)] = flow
    flask_session[FLOWS] = flows
    return flow


def take_flow(tenant, provider, state: str | None) -> dict | None:
    """The flow this callback answers (removed: single use), or None when the state does
    not match, has expired or was never started in this browser."""
    flows = dict(flask_session.get(FLOWS) or {})
    flow = flows.pop(_key(tenant, provider), None)
    flask_session[FLOWS] = flows
    if not flow or not state or time.time() - flow.get("at", 0) > MAX_AGE:
        return None
    if not hmac.compare_digest(str(flow.get("state", "")), state):
        return None
    return flow


def hold_link(tenant, provider, user_id: str, profile: Profile, next_url: str) -> None:
    """Remember an identity to link once ``user_id`` proves they own their account."""
    flask_session[LINK] = {
        "tenant_id": tenant.id,
        "provider_id": provider.id,
        "user_id": user_id,
        "subject": profile.subject,
        "email": profile.email,
        "email_verified": profile.email_verified,
        "name": profile.name,
        "next": next_url,
        "at": int(time.time()),
    }


def held_link(tenant) -> dict | None:
    link = flask_session.get(LINK)
    if not link or link.get("tenant_id") != tenant.id:
        return None
    if time.time() - link.get("at", 0) > MAX_AGE:
        flask_session.pop(LINK, None)
        return None
    return link


def drop_link() -> None:
    flask_session.pop(LINK, None)


def link_profile(link: dict) -> Profile:
    return Profile(
        subject=link["subject"],
        email=link.get("email"),
        email_verified=bool(link.get("email_verified")),
        name=link.get("name") or "",
    )
