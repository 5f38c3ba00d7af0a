"""/account/security: list and remove factors (re-authentication), admin reset."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import AuditEvent
from app.models import User
from app.services.mfa import reset_user_mfa
from app.tenancy import scope
from tests.conftest import DEFAULT_PASSWORD
from tests.support.auth import audit_actions
from tests.support.auth import sign_in
from tests.support.mfa import code_at
from tests.support.mfa import enroll_totp
from tests.support.mfa import factors_of
from tests.support.mfa import freeze_totp
from tests.support.mfa import session_cookie


@pytest.fixture
def clock(app):
    return freeze_totp(app)


@pytest.fixture
def signed_in(tenant, user, tenant_client, clock):
    client = tenant_client(tenant)
    sign_in(client, user.email, DEFAULT_PASSWORD)
    secret, _codes = enroll_totp(client, clock)
    clock.now += 60
    return client, secret


def test_security_page_needs_a_session(tenant, tenant_client):
    response = tenant_client(tenant).get("/account/security")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_security_page_lists_factors_and_offers_enrolment(tenant, user, tenant_client, signed_in):
    client, _secret = signed_in
    html = client.get("/account/security").get_data(as_text=True)
    assert "Authenticator app" in html and "authenticator app" in html
    assert 'href="/mfa/enroll"' in html
    assert 'data-passkey="register"' in html
    assert "10 unused recovery codes" in html
    assert "<script>" not in html and "style=" not in html
    assert 'href="/account/security"' in client.get("/account/").get_data(as_text=True)


def test_removing_a_factor_asks_for_the_password(app, tenant, user, tenant_client, signed_in):
    client, _secret = signed_in
    (factor,) = factors_of(app, tenant, user.id)
    path = f"/account/security/factors/{factor.id}/remove"
    wrong = client.submit(path, {"password": "not my password"}, form_path="/account/security")
    assert wrong.status_code == 400 and "not right" in wrong.get_data(as_text=True)
    assert len(factors_of(app, tenant, user.id)) == 1
    missing = client.submit(path, {"password": ""}, form_path="/account/security")
    assert missing.status_code == 400

    done = client.submit(path, {"password": DEFAULT_PASSWORD}, form_path="/account/security")
    assert done.status_code == 302
    assert factors_of(app, tenant, user.id) == []
    assert "mfa.factor_removed" in audit_actions(app, tenant)
    # With no factor left (policy optional) the password alone signs in again.
    fresh = tenant_client(tenant)
    assert "/mfa/" not in sign_in(fresh, user.email, DEFAULT_PASSWORD).headers["Location"]


def test_a_factor_of_another_user_cannot_be_removed(
    app, tenant, user, make_user, tenant_client, signed_in
):
    (factor,) = factors_of(app, tenant, user.id)
    other = make_user(tenant, "eve@example.com")
    client = tenant_client(tenant)
    sign_in(client, other.email, DEFAULT_PASSWORD)
    response = client.submit(
        f"/account/security/factors/{factor.id}/remove",
        {"password": DEFAULT_PASSWORD},
        form_path="/account/security",
    )
    assert response.status_code == 404
    assert len(factors_of(app, tenant, user.id)) == 1


def test_admin_reset_removes_every_factor_and_is_audited(
    app, tenant, user, tenant_client, signed_in
):
    with app.app_context():
        row = scope(tenant).get(User, user.id)
        assert reset_user_mfa(db.session.merge(tenant), row) == 1
        db.session.commit()
        event = scope(tenant).first(AuditEvent, AuditEvent.action == "mfa.reset")
        assert event.target_id == user.id and event.data == {"factors": 1}
    assert factors_of(app, tenant, user.id) == []
    client = tenant_client(tenant)
    assert "/mfa/" not in sign_in(client, user.email, DEFAULT_PASSWORD).headers["Location"]
    assert session_cookie(client, tenant) is not None


def test_step_up_adds_a_second_factor_to_a_password_session(
    app, tenant, user, tenant_client, signed_in, clock
):
    _client, secret = signed_in
    from tests.support.oauth import sign_in as start_session

    client = tenant_client(tenant)
    start_session(app, client, tenant, user, amr=("pwd",))
    response = client.get("/mfa/step-up", query_string={"next": "/account/"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/mfa/challenge")
    done = client.submit("/mfa/challenge", {"code": code_at(secret, clock.now)})
    assert done.status_code == 302 and done.headers["Location"] == "/account/"
    # A session with a second factor goes straight on.
    again = client.get("/mfa/step-up", query_string={"next": "/account/"})
    assert again.headers["Location"] == "/account/"
