"""The ``acr`` claim, ``acr_values`` and the ``claims`` request parameter (OIDC Core
§2, §3.1.2.1, §5.5, §5.5.1.1), through /oauth2/authorize, /oauth2/par, /oauth2/token and
/oauth2/userinfo."""

from __future__ import annotations

import json
import re
from html import unescape

import pytest

from app.extensions import db
from app.services.settings import update_settings
from tests.conftest import DEFAULT_PASSWORD
from tests.support.auth import sign_in as password_sign_in
from tests.support.mfa import code_at
from tests.support.mfa import enroll_totp
from tests.support.mfa import freeze_totp
from tests.support.oauth import authorize
from tests.support.oauth import bearer
from tests.support.oauth import claims_of
from tests.support.oauth import exchange
from tests.support.oauth import login_tokens
from tests.support.oauth import make_client
from tests.support.oauth import pkce_pair
from tests.support.oauth import push
from tests.support.oauth import query_of
from tests.support.oauth import refresh
from tests.support.oauth import sign_in

ISSUER = "http://acme-corp.gatehouse.test"
PAPE_MFA = "http://schemas.openid.net/pape/policies/2007/06/multi-factor"
REFEDS_MFA = "https://refeds.org/profile/mfa"


def _claims(**targets) -> str:
    return json.dumps(targets)


def _essential_acr(*values) -> str:
    return _claims(id_token={"acr": {"essential": True, "values": list(values)}})


def _mfa_off(app, tenant) -> None:
    with app.app_context():
        update_settings(db.session.merge(tenant), {"mfa_policy": "off"})
        db.session.commit()


def _userinfo(tc, access_token: str) -> dict:
    response = tc.get("/oauth2/userinfo", headers=bearer(access_token))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


@pytest.fixture
def mfa_tc(app, tenant, user, tenant_client):
    """A browser whose session was established with a password and a TOTP code."""
    client = tenant_client(tenant)
    sign_in(app, client, tenant, user, amr=("pwd", "otp"))
    return client


# --- acr ------------------------------------------------------------------------------


def test_a_password_session_gets_sfa_and_an_mfa_session_mfa(tc, mfa_tc, rp):
    assert claims_of(login_tokens(tc, rp)["id_token"])["acr"] == "sfa"
    assert claims_of(login_tokens(mfa_tc, rp)["id_token"])["acr"] == "mfa"


def test_a_passkey_with_user_verification_is_mfa(app, tenant, user, tenant_client, rp):
    client = tenant_client(tenant)
    sign_in(app, client, tenant, user, amr=("hwk", "user"))
    assert claims_of(login_tokens(client, rp)["id_token"])["acr"] == "mfa"


def test_an_emailed_code_alone_is_single_factor(app, tenant, user, tenant_client, rp):
    client = tenant_client(tenant)
    sign_in(app, client, tenant, user, amr=("otp",))
    assert claims_of(login_tokens(client, rp)["id_token"])["acr"] == "sfa"


def test_acr_answers_with_the_value_asked_for_when_met(mfa_tc, rp):
    tokens = login_tokens(mfa_tc, rp, acr_values=f"urn:unknown {PAPE_MFA} mfa")
    assert claims_of(tokens["id_token"])["acr"] == PAPE_MFA
    # A lower level asked for first is met by the higher one.
    tokens = login_tokens(mfa_tc, rp, acr_values="sfa mfa")
    assert claims_of(tokens["id_token"])["acr"] == "sfa"


def test_acr_values_mfa_steps_up_and_the_id_token_says_mfa(app, tenant, user, tenant_client, rp):
    clock = freeze_totp(app)
    setup = tenant_client(tenant)
    password_sign_in(setup, user.email, DEFAULT_PASSWORD)
    secret, _codes = enroll_totp(setup, clock)
    clock.now += 60
    tc = tenant_client(tenant)
    sign_in(app, tc, tenant, user, amr=("pwd",))
    verifier, challenge = pkce_pair()
    response = authorize(tc, rp, verifier_challenge=challenge, acr_values=REFEDS_MFA)
    assert "/mfa/step-up" in response.headers["Location"]
    to_challenge = tc.get(response.headers["Location"])
    assert to_challenge.headers["Location"].endswith("/mfa/challenge")
    done = tc.submit("/mfa/challenge", {"code": code_at(secret, clock.now)})
    issued = tc.get(done.headers["Location"])
    tokens = exchange(tc, rp, query_of(issued)["code"], verifier).get_json()
    id_token = claims_of(tokens["id_token"])
    assert id_token["acr"] == REFEDS_MFA and id_token["amr"] == ["pwd", "otp"]
    # The refreshed ID token keeps the authorization's acr.
    again = refresh(tc, rp, tokens["refresh_token"]).get_json()
    assert claims_of(again["id_token"])["acr"] == REFEDS_MFA


def test_voluntary_acr_values_that_cannot_be_met_still_sign_in(app, tenant, tc, rp):
    _mfa_off(app, tenant)
    tokens = login_tokens(tc, rp, acr_values="mfa")
    assert claims_of(tokens["id_token"])["acr"] == "sfa"


def test_essential_acr_that_cannot_be_met_is_an_error(app, tenant, tc, rp):
    _mfa_off(app, tenant)
    response = authorize(tc, rp, claims=_essential_acr("mfa"), state="st-acr")
    assert response.status_code == 302
    query = query_of(response)
    assert query["error"] == "unmet_authentication_requirements"
    assert query["state"] == "st-acr" and query["iss"] == ISSUER
    assert "code" not in query


def test_essential_acr_with_only_unknown_values_is_an_error(tc, rp):
    response = authorize(tc, rp, claims=_essential_acr("urn:example:loa:4"))
    assert query_of(response)["error"] == "unmet_authentication_requirements"


def test_essential_acr_mfa_steps_up_a_password_session(tc, rp):
    response = authorize(tc, rp, claims=_essential_acr("mfa"))
    assert "/mfa/step-up" in response.headers["Location"]
    none = authorize(tc, rp, claims=_essential_acr("mfa"), prompt="none")
    assert query_of(none)["error"] == "interaction_required"


def test_essential_acr_met_by_the_session(mfa_tc, rp):
    tokens = login_tokens(mfa_tc, rp, claims=_essential_acr(PAPE_MFA))
    assert claims_of(tokens["id_token"])["acr"] == PAPE_MFA
    single = _claims(id_token={"acr": {"essential": True, "value": "sfa"}})
    assert claims_of(login_tokens(mfa_tc, rp, claims=single)["id_token"])["acr"] == "sfa"


# --- the claims parameter ---------------------------------------------------------------


def test_claims_adds_email_to_the_id_token_without_the_email_scope(tc, rp, user):
    claims = _claims(id_token={"email": {"essential": True}})
    tokens = login_tokens(tc, rp, scope="openid", claims=claims)
    id_token = claims_of(tokens["id_token"])
    assert id_token["email"] == user.email
    assert "email_verified" not in id_token and "name" not in id_token
    assert tokens["scope"] == "openid"  # the scope is what was granted, unchanged
    # Only in the ID token: userinfo answers the scopes.
    assert _userinfo(tc, tokens["access_token"]) == {"sub": user.id}
    # A refreshed ID token answers the same request.
    again = refresh(tc, rp, tokens["refresh_token"]).get_json()
    assert claims_of(again["id_token"])["email"] == user.email


def test_claims_adds_claims_to_userinfo(tc, rp, user):
    claims = _claims(userinfo={"name": None, "email_verified": {"essential": False}})
    tokens = login_tokens(tc, rp, scope="openid", claims=claims)
    info = _userinfo(tc, tokens["access_token"])
    assert info == {"sub": user.id, "name": user.name, "email_verified": user.email_verified}
    assert "name" not in claims_of(tokens["id_token"])


def test_claims_the_client_may_not_have_are_left_out(app, tenant, tc, user):
    narrow = make_client(app, tenant, scope="openid profile")
    claims = _claims(
        id_token={"email": None, "name": None, "phone_number": {"essential": True}},
        userinfo={"email": None},
    )
    tokens = login_tokens(tc, narrow, scope="openid", claims=claims)
    id_token = claims_of(tokens["id_token"])
    assert id_token["name"] == user.name
    assert "email" not in id_token and "phone_number" not in id_token
    assert _userinfo(tc, tokens["access_token"]) == {"sub": user.id}


def test_claims_need_the_consent_of_their_scope(app, tenant, tc, user):
    partner = make_client(app, tenant, client_name="Partner App", first_party=False)
    verifier, challenge = pkce_pair()
    claims = _claims(id_token={"email": None})
    page = authorize(tc, partner, verifier_challenge=challenge, scope="openid", claims=claims)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "See your email address" in html
    fields = {
        unescape(k): unescape(v)
        for k, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)
    }
    approved = tc.post("/oauth2/authorize", data={**fields, "decision": "approve"})
    tokens = exchange(tc, partner, query_of(approved)["code"], verifier).get_json()
    assert claims_of(tokens["id_token"])["email"] == user.email


@pytest.mark.parametrize(
    "raw",
    [
        "{not json",
        "[]",
        '"email"',
        '{"id_token": []}',
        '{"userinfo": {"email": true}}',
        '{"id_token": {"email": {"essential": "yes"}}}',
        '{"id_token": {"acr": {"values": "mfa"}}}',
        "{" + '"x": "' + "a" * 5000 + '"}',
    ],
)
def test_a_malformed_claims_parameter_is_invalid_request(tc, rp, raw):
    response = authorize(tc, rp, claims=raw, state="st-bad")
    assert response.status_code == 302
    query = query_of(response)
    assert query["error"] == "invalid_request" and query["state"] == "st-bad"
    assert "claims" in query["error_description"]


def test_unknown_members_and_claims_are_ignored(tc, rp, user):
    claims = _claims(id_token={"email": None, "x-unknown": None}, other={"a": 1})
    tokens = login_tokens(tc, rp, scope="openid", claims=claims)
    assert claims_of(tokens["id_token"])["email"] == user.email


def test_claims_and_acr_through_a_pushed_request(mfa_tc, rp, user):
    verifier, challenge = pkce_pair()
    claims = _claims(
        id_token={"email": None, "acr": {"essential": True, "values": ["mfa"]}},
        userinfo={"name": None},
    )
    pushed = push(mfa_tc, rp, verifier_challenge=challenge, scope="openid", claims=claims)
    assert pushed.status_code == 201, pushed.get_data(as_text=True)
    response = mfa_tc.get(
        "/oauth2/authorize",
        query_string={"client_id": rp.client_id, "request_uri": pushed.get_json()["request_uri"]},
    )
    tokens = exchange(mfa_tc, rp, query_of(response)["code"], verifier).get_json()
    id_token = claims_of(tokens["id_token"])
    assert id_token["email"] == user.email and id_token["acr"] == "mfa"
    assert _userinfo(mfa_tc, tokens["access_token"]) == {"sub": user.id, "name": user.name}


def test_a_malformed_claims_parameter_is_refused_when_pushed(tc, rp):
    pushed = push(tc, rp, claims="{nope", state="st-par")
    assert pushed.status_code == 400
    assert pushed.get_json()["error"] == "invalid_request"
    assert "claims" in pushed.get_json()["error_description"]


def test_discovery_advertises_acr_and_the_claims_parameter(app, tenant, tenant_client):
    doc = tenant_client(tenant).get("/.well-known/openid-configuration").get_json()
    assert doc["claims_parameter_supported"] is True
    assert doc["claim_types_supported"] == ["normal"]
    assert "acr" in doc["claims_supported"]
    assert {"sfa", "mfa", PAPE_MFA, REFEDS_MFA} <= set(doc["acr_values_supported"])
    _mfa_off(app, tenant)
    doc = tenant_client(tenant).get("/.well-known/openid-configuration").get_json()
    assert "mfa" not in doc["acr_values_supported"] and "sfa" in doc["acr_values_supported"]


def test_a_deeply_nested_claims_parameter_is_invalid_request(tc, rp):
    response = authorize(tc, rp, claims="[" * 2000 + "]" * 2000)
    assert query_of(response)["error"] == "invalid_request"


def test_sub_with_a_value_answers_only_for_that_user(tc, rp, user):
    mine = _claims(id_token={"sub": {"value": user.id}})
    assert claims_of(login_tokens(tc, rp, claims=mine)["id_token"])["sub"] == user.id
    other = _claims(id_token={"sub": {"value": "usr_someone_else"}})
    none = authorize(tc, rp, claims=other, prompt="none")
    assert query_of(none)["error"] == "login_required"
    response = authorize(tc, rp, claims=other)
    assert response.headers["Location"].startswith("/login?next=")
    # The session was ended: the user signs in again, as the one the client asked for.
    assert query_of(authorize(tc, rp, prompt="none"))["error"] == "login_required"
