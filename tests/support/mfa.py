"""Helpers for second-factor tests: a controllable TOTP clock, enrolment, JSON calls."""

from __future__ import annotations

import re

import pyotp

from app.extensions import db
from app.models import MfaFactor
from app.tenancy import scope
from tests.support.http import csrf_from

SECRET_RE = re.compile(r'id="totp-secret">([A-Z2-7]+)<')
CODES_RE = re.compile(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>")


class Clock:
    """A settable clock for ``app.config["TOTP_CLOCK"]`` (Unix seconds)."""

    def __init__(self, now: float = 1_800_000_015.0):  # 15 s into a 30-second step
        self.now = now

    def __call__(self) -> float:
        return self.now


def session_cookie(client, tenant):
    return client.cookie(f"gh_session_{tenant.id.lower()}")


def code_at(secret: str, when: float) -> str:
    return pyotp.TOTP(secret).at(when)


def enrolment_secret(html: str) -> str:
    match = SECRET_RE.search(html)
    assert match, "no TOTP secret on the enrolment page"
    return match.group(1)


def recovery_codes_in(html: str) -> list[str]:
    return CODES_RE.findall(html)


def enroll_totp(client, clock: Clock) -> tuple[str, list[str]]:
    """Enrol TOTP through /mfa/enroll (pending sign-in or signed in); returns the secret
    and the recovery codes shown (empty if none were shown)."""
    page = client.get("/mfa/enroll")
    assert page.status_code == 200, page.status_code
    secret = enrolment_secret(page.get_data(as_text=True))
    response = client.submit("/mfa/enroll", {"code": code_at(secret, clock.now)})
    assert response.status_code in (200, 302), response.get_data(as_text=True)[:1500]
    return secret, recovery_codes_in(response.get_data(as_text=True))


def post_json(client, path: str, body: dict | None = None, *, csrf_path: str = "/login"):
    """POST JSON with the CSRF token in the X-CSRFToken header, as passkeys.js does."""
    token = csrf_from(client.get(csrf_path).get_data(as_text=True))
    return client.post(path, json=body or {}, headers={"X-CSRFToken": token})


def factors_of(app, tenant, user_id: str) -> list[MfaFactor]:
    with app.app_context():
        rows = scope(tenant).all(MfaFactor, MfaFactor.user_id == user_id)
        db.session.expunge_all()
        return rows


def freeze_totp(app) -> Clock:
    """Freeze TOTP time for the app under test; tests move ``clock.now``."""
    frozen = Clock()
    app.config["TOTP_CLOCK"] = frozen
    return frozen
