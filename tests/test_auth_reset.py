"""Forgot password and reset by emailed link."""

from datetime import timedelta

import pytest

from app.extensions import db
from app.models import BrowserSession
from app.models import EmailToken
from app.models import OutboxMessage
from app.models.base import utcnow
from tests.conftest import DEFAULT_PASSWORD
from tests.support.auth import audit_actions
from tests.support.auth import comparable
from tests.support.auth import sign_in
from tests.support.smtp import link_in

NEW_PASSWORD = "velvet canyon orbit 77"
ORIGIN = "http://acme-corp.gatehouse.test"


def outbox_link(app, to):
    with app.app_context():
        message = db.session.scalars(
            db.select(OutboxMessage)
            .where(OutboxMessage.to == to)
            .order_by(OutboxMessage.created_at.desc())
        ).first()
        assert message is not None, f"no mail to {to}"
        return next(w for w in message.body_text.split() if w.startswith("http"))


def test_forgot_answers_the_same_for_known_and_unknown(app, tenant, user, tenant_client):
    known = tenant_client(tenant).submit("/password/forgot", {"email": "ada@example.com"})
    unknown = tenant_client(tenant).submit("/password/forgot", {"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 200
    assert comparable(known.get_data(as_text=True)) == comparable(unknown.get_data(as_text=True))
    assert "If an account exists" in known.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(OutboxMessage)) == 1


def test_reset_by_real_mail_ends_other_sessions(app, tenant, user, tenant_client, smtp_server):
    elsewhere = tenant_client(tenant)
    assert sign_in(elsewhere, "ada@example.com", DEFAULT_PASSWORD).status_code == 302

    client = tenant_client(tenant)
    client.submit("/password/forgot", {"email": "ada@example.com"})
    message = smtp_server.wait_for("ada@example.com", subject_contains="Reset")
    link = link_in(message)
    assert link.startswith(ORIGIN + "/password/reset/")
    path = link.removeprefix(ORIGIN)
    with app.app_context():  # stored as a digest only
        token = path.rsplit("/", 1)[1]
        assert not db.session.scalar(db.select(EmailToken).where(EmailToken.token_digest == token))

    page = client.get(path)
    assert page.status_code == 200 and 'name="password"' in page.get_data(as_text=True)
    weak = client.submit(path, {"password": "123456"})
    assert weak.status_code == 422 and 'id="password-error"' in weak.get_data(as_text=True)
    response = client.submit(path, {"password": NEW_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/login"

    # The other browser is signed out; the old password is dead, the new one works.
    assert elsewhere.get("/account").status_code == 302
    assert sign_in(tenant_client(tenant), "ada@example.com", DEFAULT_PASSWORD).status_code == 401
    assert sign_in(tenant_client(tenant), "ada@example.com", NEW_PASSWORD).status_code == 302
    # Single use.
    assert client.get(path).status_code == 400
    assert "password.reset" in audit_actions(app, tenant)


def test_reset_while_signed_in_keeps_this_session_only(app, tenant, user, tenant_client):
    other = tenant_client(tenant)
    sign_in(other, "ada@example.com", DEFAULT_PASSWORD)
    client = tenant_client(tenant)
    sign_in(client, "ada@example.com", DEFAULT_PASSWORD)
    client.submit("/password/forgot", {"email": "ada@example.com"})
    path = outbox_link(app, "ada@example.com").removeprefix(ORIGIN)
    response = client.submit(path, {"password": NEW_PASSWORD})
    assert response.headers["Location"] == "/account/"
    assert client.get("/account").status_code == 200
    assert other.get("/account").status_code == 302
    with app.app_context():
        live = db.session.scalars(
            db.select(BrowserSession).where(BrowserSession.ended_at.is_(None))
        ).all()
        assert len(live) == 1


def test_expired_reset_link_is_refused(app, tenant, user, tenant_client):
    client = tenant_client(tenant)
    client.submit("/password/forgot", {"email": "ada@example.com"})
    path = outbox_link(app, "ada@example.com").removeprefix(ORIGIN)
    with app.app_context():
        for row in db.session.scalars(db.select(EmailToken)):
            row.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    response = client.get(path)
    assert response.status_code == 400
    assert "Ask for a new reset link" in response.get_data(as_text=True)


def test_a_new_reset_link_retires_the_previous_one(app, tenant, user, tenant_client):
    client = tenant_client(tenant)
    client.submit("/password/forgot", {"email": "ada@example.com"})
    first = outbox_link(app, "ada@example.com").removeprefix(ORIGIN)
    client.submit("/password/forgot", {"email": "ada@example.com"})
    second = outbox_link(app, "ada@example.com").removeprefix(ORIGIN)
    assert first != second
    assert client.get(first).status_code == 400
    assert client.get(second).status_code == 200


def test_reset_link_comes_from_the_tenant_origin_whatever_the_host_says(
    app, tenant, user, tenant_client
):
    client = tenant_client(tenant)
    token = client.csrf_token("/password/forgot")
    client.post(
        "/password/forgot",
        data={"csrf_token": token, "email": "ada@example.com"},
        headers={"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"},
    )
    assert outbox_link(app, "ada@example.com").startswith(ORIGIN + "/password/reset/")

    # Asked through the path form on the base host: still the canonical origin.
    path_client = tenant_client(tenant, path_form=True)
    path_client.submit("/password/forgot", {"email": "ada@example.com"})
    assert outbox_link(app, "ada@example.com").startswith(ORIGIN + "/password/reset/")


@pytest.mark.config(TRUSTED_PROXY_COUNT=1)
def test_reset_link_ignores_forwarded_host_behind_a_proxy(app, tenant, user, tenant_client):
    client = tenant_client(tenant)
    token = client.csrf_token("/password/forgot")
    client.post(
        "/password/forgot",
        data={"csrf_token": token, "email": "ada@example.com"},
        headers={"X-Forwarded-Host": "evil.example", "X-Forwarded-For": "203.0.113.9"},
    )
    assert outbox_link(app, "ada@example.com").startswith(ORIGIN + "/password/reset/")


def test_reset_link_of_a_custom_domain_tenant(app, tenant, user, tenant_client):
    from app.models import CustomDomain
    from tests.support.http import TenantClient

    with app.app_context():
        db.session.add(
            CustomDomain(tenant_id=tenant.id, host="login.acme.example", verified_at=utcnow())
        )
        db.session.commit()
    # Reached by its subdomain form, the link still names its canonical custom domain.
    client = tenant_client(tenant)
    client.submit("/password/forgot", {"email": "ada@example.com"})
    link = outbox_link(app, "ada@example.com")
    assert link.startswith("http://login.acme.example/password/reset/")
    custom = TenantClient(tenant_client(tenant).client, "login.acme.example")
    assert custom.get(link.removeprefix("http://login.acme.example")).status_code == 200


def closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_mail_failure_does_not_change_the_answer(make_app, tenant, user):
    from tests.support.http import TenantClient

    app = make_app(SMTP_URL=f"smtp://127.0.0.1:{closed_port()}")
    known = TenantClient(app.test_client(), "acme-corp.gatehouse.test")
    unknown = TenantClient(app.test_client(), "acme-corp.gatehouse.test")
    a = known.submit("/password/forgot", {"email": "ada@example.com"})
    b = unknown.submit("/password/forgot", {"email": "nobody@example.com"})
    assert a.status_code == b.status_code == 200
    assert comparable(a.get_data(as_text=True)) == comparable(b.get_data(as_text=True))


def test_overlong_or_garbage_tokens_are_a_clear_page(tenant, tenant_client):
    client = tenant_client(tenant)
    for token in ("x" * 500, "%00", "../../etc"):
        response = client.get(f"/password/reset/{token}")
        assert response.status_code in (400, 404)
