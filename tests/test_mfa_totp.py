"""TOTP: enrolment with a server-side QR code, the ±1 step window, replay, throttling."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import MfaFactor
from app.services.settings import update_settings
from app.tenancy import scope
from tests.conftest import DEFAULT_PASSWORD
from tests.support.auth import audit_actions
from tests.support.auth import sign_in
from tests.support.mfa import code_at
from tests.support.mfa import enroll_totp
from tests.support.mfa import enrolment_secret
from tests.support.mfa import factors_of
from tests.support.mfa import freeze_totp
from tests.support.mfa import session_cookie


@pytest.fixture
def clock(app):
    return freeze_totp(app)


@pytest.fixture
def enrolled(app, tenant, user, tenant_client, clock):
    """``(secret, recovery codes)`` of a TOTP factor enrolled through the account pages."""
    client = tenant_client(tenant)
    sign_in(client, user.email, DEFAULT_PASSWORD)
    secret, codes = enroll_totp(client, clock)
    clock.now += 300  # later sign-ins start from a fresh step
    return secret, codes


def start(tenant_client, tenant, user):
    client = tenant_client(tenant)
    response = sign_in(client, user.email, DEFAULT_PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/mfa/challenge")
    assert session_cookie(client, tenant) is None
    return client


def test_enrolment_page_shows_an_inline_svg_qr_code_and_the_secret(
    app,
    tenant,
    user,
    tenant_client,
    clock,
):
    client = tenant_client(tenant)
    sign_in(client, user.email, DEFAULT_PASSWORD)
    page = client.get("/mfa/enroll")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<svg" in html and 'class="segno"' in html
    assert "<script>" not in html and "style=" not in html  # CSP: script-src 'self'
    secret = enrolment_secret(html)
    assert len(secret) == 32
    # Reloading keeps the same secret until it is confirmed.
    assert enrolment_secret(client.get("/mfa/enroll").get_data(as_text=True)) == secret
    # Encrypted at rest: the secret is not in the row.
    (factor,) = factors_of(app, tenant, user.id)
    assert factor.confirmed_at is None and secret not in factor.secret_encrypted

    wrong = client.submit(
        "/mfa/enroll", {"code": "000000" if code_at(secret, clock.now) != "000000" else "111111"}
    )
    assert wrong.status_code == 400 and "not right" in wrong.get_data(as_text=True)
    done = client.submit("/mfa/enroll", {"code": code_at(secret, clock.now)})
    assert done.status_code == 200
    assert "Save your recovery codes" in done.get_data(as_text=True)
    (factor,) = factors_of(app, tenant, user.id)
    assert factor.confirmed_at is not None
    assert "mfa.totp_enrolled" in audit_actions(app, tenant)


@pytest.mark.parametrize("offset", [-30, 0, 30])
def test_one_step_either_side_is_accepted(tenant, user, tenant_client, enrolled, clock, offset):
    secret, _codes = enrolled
    client = start(tenant_client, tenant, user)
    response = client.submit("/mfa/challenge", {"code": code_at(secret, clock.now + offset)})
    assert response.status_code == 302, response.get_data(as_text=True)[:800]
    assert session_cookie(client, tenant) is not None


@pytest.mark.parametrize("offset", [-60, 60, -90])
def test_two_steps_away_is_refused(tenant, user, tenant_client, enrolled, clock, offset):
    secret, _codes = enrolled
    client = start(tenant_client, tenant, user)
    response = client.submit("/mfa/challenge", {"code": code_at(secret, clock.now + offset)})
    assert response.status_code == 400
    assert "not right" in response.get_data(as_text=True)
    assert session_cookie(client, tenant) is None


def test_a_code_is_accepted_once(app, tenant, user, tenant_client, enrolled, clock):
    secret, _codes = enrolled
    code = code_at(secret, clock.now)
    first = start(tenant_client, tenant, user)
    assert first.submit("/mfa/challenge", {"code": code}).status_code == 302

    second = start(tenant_client, tenant, user)
    replay = second.submit("/mfa/challenge", {"code": code})
    assert replay.status_code == 400 and session_cookie(second, tenant) is None
    # An older step is refused too once a later one was used (RFC 6238 §5.2).
    older = second.submit("/mfa/challenge", {"code": code_at(secret, clock.now - 30)})
    assert older.status_code == 400
    clock.now += 30
    assert second.submit("/mfa/challenge", {"code": code_at(secret, clock.now)}).status_code == 302


def test_wrong_codes_drop_the_pending_sign_in(app, tenant, user, tenant_client, enrolled, clock):
    secret, _codes = enrolled
    client = start(tenant_client, tenant, user)
    for _ in range(4):
        assert client.submit("/mfa/challenge", {"code": "12345x"}).status_code == 400
    fifth = client.submit("/mfa/challenge", {"code": "000001"})
    assert fifth.status_code == 302 and fifth.headers["Location"].endswith("/login")
    # Even the right code no longer helps: the pending sign-in is gone.
    late = client.post("/mfa/challenge", data={"code": code_at(secret, clock.now)})
    assert late.status_code in (302, 400)
    assert session_cookie(client, tenant) is None
    assert audit_actions(app, tenant).count("mfa.challenge_failed") == 5


@pytest.mark.config(MFA_USER_RATE_LIMIT="3 per 10 minutes")
def test_second_factor_attempts_are_rate_limited_per_user(
    tenant, user, tenant_client, enrolled, clock
):
    secret, _codes = enrolled
    client = start(tenant_client, tenant, user)
    for _ in range(3):
        assert client.submit("/mfa/challenge", {"code": "999999"}).status_code == 400
    limited = client.submit("/mfa/challenge", {"code": code_at(secret, clock.now)})
    assert limited.status_code == 429
    # Another browser for the same user is limited too (the key is the user, not the cookie).
    other = start(tenant_client, tenant, user)
    assert other.submit("/mfa/challenge", {"code": code_at(secret, clock.now)}).status_code == 429


def test_totp_secret_is_stored_encrypted(app, tenant, user, enrolled):
    secret, _codes = enrolled
    with app.app_context():
        factor = scope(tenant).first(MfaFactor, MfaFactor.user_id == user.id)
        assert secret not in factor.secret_encrypted
        from app.services.totp import secret_of

        assert secret_of(factor) == secret


def test_totp_not_allowed_by_the_tenant_is_not_accepted(
    app, tenant, user, tenant_client, enrolled, clock
):
    secret, _codes = enrolled
    with app.app_context():
        update_settings(db.session.merge(tenant), {"mfa_factors": ["webauthn"]})
        db.session.commit()
    # The TOTP factor no longer counts: with policy optional the password alone signs in.
    client = tenant_client(tenant)
    response = sign_in(client, user.email, DEFAULT_PASSWORD)
    assert not response.headers["Location"].endswith("/mfa/challenge")
    assert session_cookie(client, tenant) is not None


@pytest.mark.config(MFA_IP_RATE_LIMIT="4 per 10 minutes")
def test_second_factor_attempts_are_rate_limited_per_ip(
    tenant, user, make_user, tenant_client, enrolled, clock
):
    other = make_user(tenant, "grace@example.com")
    setup = tenant_client(tenant)
    sign_in(setup, other.email, DEFAULT_PASSWORD)
    enroll_totp(setup, clock)
    for person in (user, other):
        client = start(tenant_client, tenant, person)
        for _ in range(2):
            assert client.submit("/mfa/challenge", {"code": "999999"}).status_code == 400
    # Both users came from 127.0.0.1: the address is now throttled for everyone.
    client = start(tenant_client, tenant, user)
    assert client.submit("/mfa/challenge", {"code": "999999"}).status_code == 429


@pytest.mark.config(MFA_PENDING_TTL=-1)
def test_a_pending_sign_in_expires(tenant, user, tenant_client, enrolled, clock):
    secret, _codes = enrolled
    client = start(tenant_client, tenant, user)
    response = client.get("/mfa/challenge")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    assert "expired" in client.get("/login").get_data(as_text=True)
    assert session_cookie(client, tenant) is None
