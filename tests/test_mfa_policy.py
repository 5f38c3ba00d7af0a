"""The tenant's MFA policy at sign-in: with MFA required there is no browser session,
hence no token, until the second factor; enrolment is part of sign-in when needed."""

from __future__ import annotations

import pytest

from tests.conftest import DEFAULT_PASSWORD
from tests.support.auth import audit_actions
from tests.support.mfa import code_at
from tests.support.mfa import enroll_totp
from tests.support.mfa import freeze_totp
from tests.support.mfa import session_cookie
from tests.support.oauth import authorize
from tests.support.oauth import claims_of
from tests.support.oauth import exchange
from tests.support.oauth import get_code
from tests.support.oauth import make_client
from tests.support.oauth import pkce_pair
from tests.support.oauth import query_of


@pytest.fixture
def clock(app):
    return freeze_totp(app)


def login(client, user, next_path: str | None = None):
    data = {"email": user.email, "password": DEFAULT_PASSWORD}
    if next_path:
        data["next"] = next_path
    return client.submit("/login", data)


@pytest.fixture
def strict_tenant(make_tenant):
    return make_tenant("strict", "Strict Inc", mfa_policy="required")


def test_required_policy_no_session_and_no_token_without_the_second_factor(
    app,
    strict_tenant,
    make_user,
    tenant_client,
    clock,
):
    user = make_user(strict_tenant)
    rp = make_client(app, strict_tenant)
    client = tenant_client(strict_tenant)
    verifier, challenge = pkce_pair()
    first = authorize(client, rp, verifier_challenge=challenge)
    assert first.status_code == 302 and "/login" in first.headers["Location"]
    next_path = query_of(first)["next"]

    # The right password alone: no session cookie, on to enrolment.
    response = login(client, user, next_path)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/mfa/enroll")
    assert session_cookie(client, strict_tenant) is None
    # The authorization request still has nobody signed in: no code.
    again = client.get(next_path)
    assert again.status_code == 302 and "/login" in again.headers["Location"]
    assert "code=" not in again.headers["Location"]

    # Enrolment is part of sign-in: confirm a TOTP code, see the recovery codes, signed in.
    _secret, codes = enroll_totp(client, clock)
    assert len(codes) == 10
    assert session_cookie(client, strict_tenant) is not None
    # "Continue" goes back to the authorization request, which now issues a code.
    back = client.get(next_path)
    assert back.status_code == 302 and "code=" in back.headers["Location"], back.headers
    tokens = exchange(client, rp, query_of(back)["code"], verifier).get_json()
    assert claims_of(tokens["id_token"])["amr"] == ["pwd", "otp"]


def test_required_policy_with_a_factor_challenges_then_signs_in(
    app,
    strict_tenant,
    make_user,
    tenant_client,
    clock,
):
    user = make_user(strict_tenant)
    enrolling = tenant_client(strict_tenant)
    login(enrolling, user)
    secret, _codes = enroll_totp(enrolling, clock)
    clock.now += 60

    client = tenant_client(strict_tenant)
    response = login(client, user, "/account/")
    assert response.headers["Location"].endswith("/mfa/challenge")
    assert session_cookie(client, strict_tenant) is None
    assert client.get("/account/").status_code == 302  # not signed in
    page = client.get("/mfa/challenge")
    assert page.status_code == 200 and 'name="code"' in page.get_data(as_text=True)
    done = client.submit("/mfa/challenge", {"code": code_at(secret, clock.now)})
    assert done.status_code == 302 and done.headers["Location"] == "/account/"
    assert session_cookie(client, strict_tenant) is not None
    assert client.get("/account/").status_code == 200
    assert "mfa.challenge_passed" in audit_actions(app, strict_tenant)

    rp = make_client(app, strict_tenant)
    code, verifier, _query = get_code(client, rp)
    tokens = exchange(client, rp, code, verifier).get_json()
    assert claims_of(tokens["id_token"])["amr"] == ["pwd", "otp"]


def test_required_for_admins_asks_admins_only(make_tenant, make_user, tenant_client):
    tenant = make_tenant("adminsonly", mfa_policy="required_for_admins")
    admin = make_user(tenant, "boss@example.com", roles=("admin",))
    member = make_user(tenant, "staff@example.com", roles=("member",))

    boss = tenant_client(tenant)
    response = login(boss, admin)
    assert response.headers["Location"].endswith("/mfa/enroll")
    assert session_cookie(boss, tenant) is None

    staff = tenant_client(tenant)
    response = login(staff, member)
    assert response.status_code == 302 and "/mfa/" not in response.headers["Location"]
    assert session_cookie(staff, tenant) is not None


def test_optional_policy_asks_only_users_with_a_factor(
    tenant,
    make_user,
    tenant_client,
    clock,
):
    with_factor = make_user(tenant, "two@example.com")
    without = make_user(tenant, "one@example.com")
    setup = tenant_client(tenant)
    login(setup, with_factor)
    enroll_totp(setup, clock)

    client = tenant_client(tenant)
    assert login(client, with_factor).headers["Location"].endswith("/mfa/challenge")
    assert session_cookie(client, tenant) is None
    plain = tenant_client(tenant)
    assert "/mfa/" not in login(plain, without).headers["Location"]
    assert session_cookie(plain, tenant) is not None


def test_policy_off_never_asks(app, tenant, user, tenant_client, clock):
    setup = tenant_client(tenant)
    login(setup, user)
    enroll_totp(setup, clock)
    from app.extensions import db
    from app.services.settings import update_settings

    with app.app_context():
        update_settings(db.session.merge(tenant), {"mfa_policy": "off"})
        db.session.commit()
    client = tenant_client(tenant)
    assert "/mfa/" not in login(client, user).headers["Location"]
    assert session_cookie(client, tenant) is not None


def test_challenge_without_a_pending_sign_in_goes_to_login(tenant, tenant_client):
    client = tenant_client(tenant)
    response = client.get("/mfa/challenge")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")
    response = client.get("/mfa/enroll")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")


def test_a_pending_sign_in_cannot_enrol_next_to_an_existing_factor(
    tenant,
    user,
    tenant_client,
    clock,
):
    setup = tenant_client(tenant)
    login(setup, user)
    enroll_totp(setup, clock)
    # Someone with only the password must not add their own factor.
    client = tenant_client(tenant)
    login(client, user)
    response = client.get("/mfa/enroll")
    assert response.status_code == 302 and response.headers["Location"].endswith("/mfa/challenge")


def test_path_routing_keeps_the_prefix(app, strict_tenant, make_user, tenant_client, clock):
    user = make_user(strict_tenant)
    client = tenant_client(strict_tenant, path_form=True)
    response = login(client, user, "/t/strict/account/")
    assert response.headers["Location"].endswith("/t/strict/mfa/enroll")
    _secret, codes = enroll_totp(client, clock)
    assert codes and session_cookie(client, strict_tenant) is not None


def test_accepting_an_invitation_under_required_mfa_goes_through_enrolment(
    app, strict_tenant, tenant_client, clock
):
    from app.extensions import db
    from app.services import invitations

    with app.app_context():
        _inv, token = invitations.create_invitation(
            db.session.merge(strict_tenant), "newbie@example.com"
        )
        db.session.commit()
    client = tenant_client(strict_tenant)
    accepted = client.submit(
        f"/invitations/{token}", {"name": "Nina", "password": "plum tractor lantern 42"}
    )
    assert accepted.status_code == 302 and accepted.headers["Location"].endswith("/mfa/enroll")
    assert session_cookie(client, strict_tenant) is None
    enroll_totp(client, clock)
    assert session_cookie(client, strict_tenant) is not None
