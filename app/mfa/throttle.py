"""Throttling of second-factor attempts (Flask-Limiter), per user and per client IP.

Only failed attempts (a 4xx answer) count, so a user who types the right code is never
slowed down; the limits are shared by the code form and the passkey verification.
Besides these windows, a pending sign-in is dropped after ``mfa.MAX_FAILURES`` wrong
codes (see app.mfa.routes).
"""

from __future__ import annotations

from flask import current_app
from flask import g
from flask_login import current_user

from app.extensions import _client_ip
from app.extensions import limiter

USER_LIMIT = "10 per 10 minutes"
IP_LIMIT = "60 per 10 minutes"


def _user_key() -> str:
    from app.mfa import pending

    tenant = g.get("tenant")
    user_id = pending.pending_user_id(tenant) if tenant is not None else None
    if not user_id and current_user.is_authenticated:
        user_id = current_user.id
    return f"user:{user_id}" if user_id else f"ip:{_client_ip()}"


def _failed(response) -> bool:
    return response.status_code >= 400


per_user = limiter.shared_limit(
    lambda: current_app.config.get("MFA_USER_RATE_LIMIT", USER_LIMIT),
    scope="mfa-user",
    key_func=_user_key,
    methods=["POST"],
    deduct_when=_failed,
)
per_ip = limiter.shared_limit(
    lambda: current_app.config.get("MFA_IP_RATE_LIMIT", IP_LIMIT),
    scope="mfa-ip",
    key_func=_client_ip,
    methods=["POST"],
    deduct_when=_failed,
)
