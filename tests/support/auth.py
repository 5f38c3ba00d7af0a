"""Helpers for driving the hosted pages in tests."""

from __future__ import annotations

import re

from app.extensions import db

_NONCE_RE = re.compile(r'nonce="[^"]*"')
_CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="[^"]*"')


def sign_in(client, email: str, password: str, form_path: str | None = None, **extra):
    """Submit the login form; returns the response (302 on success)."""
    data = {"email": email, "password": password, **extra}
    return client.submit("/login", data, form_path=form_path)


def comparable(html: str, *replace: str) -> str:
    """A page body with per-request noise (CSP nonce, CSRF token) and given strings blanked."""
    html = _CSRF_RE.sub("csrf", _NONCE_RE.sub("nonce", html))
    for text in replace:
        html = html.replace(text, "X")
    return html


def audit_actions(app, tenant) -> list[str]:
    from app.models import AuditEvent
    from app.tenancy import scope

    with app.app_context():
        rows = scope(tenant).all(AuditEvent, order_by=AuditEvent.created_at)
        return [row.action for row in rows]


def load(app, model, id_):
    with app.app_context():
        obj = db.session.get(model, id_)
        db.session.expunge_all()
        return obj
