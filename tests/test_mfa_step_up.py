"""acr_values asking for MFA force a step-up at /oauth2/authorize (OIDC Core §3.1.2.1);
the ID token's amr then names the second factor (RFC 8176)."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.services.settings import update_settings
from tests.conftest import DEFAULT_PASSWORD
from tests.support.auth import sign_in as password_sign_in
from tests.support.mfa import code_at
from tests.support.mfa import enroll_totp
from tests.support.mfa import freeze_totp
from tests.support.oauth import authorize
from tests.support.oauth import claims_of
from tests.support.oauth import exchange
from tests.support.oauth import pkce_pair
from tests.support.oauth import query_of
from tests.support.oauth import sign_in

PAPE_MFA = "http://schemas.openid.net/pape/policies/2007/06/multi-factor"


@pytest.fixture
def clock(app):
    return freeze_totp(app)


@pytest.fixture
def secret(tenant, user, tenant_client, clock):
    setup = tenant_client(tenant)
    password_sign_in(setup, user.email, DEFAULT_PASSWORD)
    value, _codes = enroll_totp(setup, clock)
    clock.now += 60
    return value


@pytest.fixture
def tc(app, tenant, user, tenant_client):
    """A browser whose session was established with the password only."""
    client = tenant_client(tenant)
    sign_in(app, client, tenant, user, amr=("pwd",))
    return client


@pytest.mark.parametrize("acr", ["mfa", PAPE_MFA])
def test_acr_values_asking_for_mfa_force_a_step_up(tc, rp, secret, clock, acr):
    verifier, challenge = pkce_pair()
    response = authorize(tc, rp, verifier_challenge=challenge, acr_values=acr)
    assert response.status_code == 302
    assert "/mfa/step-up" in response.headers["Location"]
    assert "code=" not in response.headers["Location"]
    to_challenge = tc.get(response.headers["Location"])
    assert to_challenge.headers["Location"].endswith("/mfa/challenge")
    done = tc.submit("/mfa/challenge", {"code": code_at(secret, clock.now)})
    assert done.status_code == 302 and "/oauth2/authorize?" in done.headers["Location"]
    issued = tc.get(done.headers["Location"])
    assert issued.status_code == 302, issued.get_data(as_text=True)[:500]
    tokens = exchange(tc, rp, query_of(issued)["code"], verifier).get_json()
    assert claims_of(tokens["id_token"])["amr"] == ["pwd", "otp"]


def test_without_acr_values_the_password_session_is_enough(tc, rp, secret):
    verifier, challenge = pkce_pair()
    response = authorize(tc, rp, verifier_challenge=challenge)
    tokens = exchange(tc, rp, query_of(response)["code"], verifier).get_json()
    assert claims_of(tokens["id_token"])["amr"] == ["pwd"]


def test_prompt_none_cannot_step_up(tc, rp, secret):
    response = authorize(tc, rp, acr_values="mfa", prompt="none")
    assert response.status_code == 302
    assert query_of(response)["error"] == "interaction_required"


def test_a_policy_that_requires_mfa_steps_up_older_sessions(app, tenant, tc, rp, secret):
    with app.app_context():
        update_settings(db.session.merge(tenant), {"mfa_policy": "required"})
        db.session.commit()
    response = authorize(tc, rp)
    assert response.status_code == 302 and "/mfa/step-up" in response.headers["Location"]


def test_with_mfa_off_acr_values_are_not_enforced(app, tenant, tc, rp, secret):
    with app.app_context():
        update_settings(db.session.merge(tenant), {"mfa_policy": "off"})
        db.session.commit()
    response = authorize(tc, rp, acr_values="mfa")
    assert response.status_code == 302 and "code" in query_of(response)


def test_step_up_without_a_factor_enrols_one(app, tenant, user, tenant_client, rp, clock):
    client = tenant_client(tenant)
    sign_in(app, client, tenant, user, amr=("pwd",))
    response = authorize(client, rp, acr_values="mfa")
    to_enrol = client.get(response.headers["Location"])
    assert to_enrol.headers["Location"].endswith("/mfa/enroll")
    _secret, codes = enroll_totp(client, clock)
    assert len(codes) == 10
