"""Signing in to the admin console in view tests: a real server-side session, its cookie
set on the tenant's host, exactly what the hosted login leaves behind."""

from __future__ import annotations

from datetime import timedelta

from app.extensions import db
from app.models import BrowserSession
from app.services.sessions import start_session
from app.web.session import cookie_name


def sign_in(app, client, tenant, user, *, auth_age: timedelta | None = None, amr=("pwd",)):
    """Give ``client`` (a TenantClient) a live session of ``user``; returns the session id.

    ``auth_age`` back-dates the sign-in, to exercise the recent-authentication check.
    """
    with app.app_context():
        session, token = start_session(tenant, user, amr=list(amr))
        if auth_age is not None:
            row = db.session.get(BrowserSession, session.id)
            row.auth_time = row.auth_time - auth_age
        db.session.commit()
        name = cookie_name(tenant.id)
        session_id = session.id
    client.client.set_cookie(name, token, domain=client.host.split(":")[0])
    return session_id


def console_fixtures():
    """Fixtures for console tests; a test module does ``make_console = console_fixtures()``."""
    import pytest

    @pytest.fixture
    def make_console(app, make_user, tenant_client):
        """``make_console(tenant, email=..., roles=("admin",), auth_age=None)``: a signed-in
        TenantClient for a (new) user of ``tenant``; ``.user`` is that user."""
        counter = iter(range(1000))

        def build(tenant, email=None, *, roles=("admin",), auth_age=None, user=None):
            user = user or make_user(
                tenant, email or f"admin{next(counter)}@{tenant.slug}.example", roles=roles
            )
            client = tenant_client(tenant)
            sign_in(app, client, tenant, user, auth_age=auth_age)
            client.user = user
            return client

        return build

    return make_console
