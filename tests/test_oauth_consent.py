"""Consent for third-party clients, remembered and revocable; organizations on authorize
and refresh; RP-initiated logout."""

from __future__ import annotations

import re

import pytest

from tests.support.http import csrf_from
from tests.support.oauth import authorize
from tests.support.oauth import claims_of
from tests.support.oauth import exchange
from tests.support.oauth import login_tokens
from tests.support.oauth import make_client
from tests.support.oauth import pkce_pair
from tests.support.oauth import query_of
from tests.support.oauth import refresh

ISSUER = "http://acme-corp.gatehouse.test"


@pytest.fixture
def third_party(app, tenant):
    return make_client(app, tenant, client_name="Partner App", first_party=False)


def _form_fields(html: str) -> dict:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


def _decide(tc, page, decision: str):
    fields = _form_fields(page.get_data(as_text=True))
    return tc.post("/oauth2/authorize", data={**fields, "decision": decision})


def test_consent_page_then_remembered(tc, third_party):
    verifier, challenge = pkce_pair()
    page = authorize(tc, third_party, verifier_challenge=challenge)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Partner App" in html and "See your email address" in html
    assert csrf_from(html)
    approved = _decide(tc, page, "approve")
    query = query_of(approved)
    assert query["iss"] == ISSUER and "code" in query
    assert exchange(tc, third_party, query["code"], verifier).status_code == 200
    again = authorize(tc, third_party, prompt="none")  # remembered: no page
    assert "code" in query_of(again)
    forced = authorize(tc, third_party, prompt="consent")
    assert forced.status_code == 200 and "Allow" in forced.get_data(as_text=True)


def test_consent_denied(tc, third_party):
    page = authorize(tc, third_party, state="s1")
    query = query_of(_decide(tc, page, "deny"))
    assert query["error"] == "access_denied" and query["state"] == "s1"
    assert query["iss"] == ISSUER


def test_consent_needs_the_csrf_token(tc, third_party):
    page = authorize(tc, third_party)
    fields = _form_fields(page.get_data(as_text=True))
    fields["csrf_token"] = "forged"
    response = tc.post("/oauth2/authorize", data={**fields, "decision": "approve"})
    assert response.status_code == 400 and "Location" not in response.headers


def test_prompt_none_without_consent(tc, third_party):
    query = query_of(authorize(tc, third_party, prompt="none"))
    assert query["error"] == "consent_required" and query["iss"] == ISSUER


def test_revoke_consent_from_the_account(app, tenant, user, tc, third_party):
    from app.extensions import db
    from app.services import consent

    _decide(tc, authorize(tc, third_party), "approve")
    with app.app_context():
        listed = consent.list_consents(tenant, user)
        assert [c["client_name"] for c in listed] == ["Partner App"]
    # the CSRF token is bound to the browser's Flask session: take one from a page instead
    page = authorize(tc, third_party, prompt="consent")
    token = csrf_from(page.get_data(as_text=True))
    response = tc.post(
        f"/oauth2/consents/{third_party.client_id}/revoke", data={"csrf_token": token}
    )
    assert response.status_code == 302
    with app.app_context():
        assert consent.list_consents(tenant, user) == []
        db.session.rollback()
    assert query_of(authorize(tc, third_party, prompt="none"))["error"] == "consent_required"


def test_consent_page_and_its_flash_in_the_person_s_language(tc, third_party):
    """What each scope lets the app do, and the flash after removing access, follow the
    page's language (they were English on a Spanish page)."""
    page = authorize(tc, third_party, ui_locales="es")
    html = page.get_data(as_text=True)
    assert '<html lang="es"' in html
    assert "Ver tu dirección de correo electrónico" in html and "Ver tu nombre" in html
    assert "See your email address" not in html
    _decide(tc, page, "approve")
    token = csrf_from(authorize(tc, third_party, prompt="consent").get_data(as_text=True))
    tc.post(
        f"/oauth2/consents/{third_party.client_id}/revoke",
        data={"csrf_token": token},
        headers={"Accept-Language": "es"},
    )
    account = tc.get("/account", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert "Acceso retirado." in account


# --- organizations -------------------------------------------------------------------------


@pytest.fixture
def orgs(app, tenant, user, other_tenant):
    from app.extensions import db
    from app.services import orgs as orgs_service
    from app.services.roles import ensure_builtin_roles

    with app.app_context():
        ensure_builtin_roles(tenant)
        ensure_builtin_roles(other_tenant)
        eng = orgs_service.create_org(tenant, "Engineering")
        ops = orgs_service.create_org(tenant, "Operations")
        outside = orgs_service.create_org(tenant, "Outside")
        foreign = orgs_service.create_org(other_tenant, "Foreign")
        orgs_service.add_member(tenant, eng, user, roles=["admin"])
        orgs_service.add_member(tenant, ops, user, roles=["member"])
        db.session.commit()
        return {"eng": eng.id, "ops": ops.id, "outside": outside.id, "foreign": foreign.id}


def test_organization_on_authorize_and_refresh(app, tenant, tc, orgs):
    rp = make_client(app, tenant)
    tokens = login_tokens(tc, rp, organization=orgs["eng"])
    access = claims_of(tokens["access_token"])
    assert access["org_id"] == orgs["eng"] and access["roles"] == ["admin", "member"]
    assert claims_of(tokens["id_token"])["org_id"] == orgs["eng"]

    switched = refresh(tc, rp, tokens["refresh_token"], organization=orgs["ops"])
    assert switched.status_code == 200
    claims = claims_of(switched.get_json()["access_token"])
    assert claims["org_id"] == orgs["ops"] and claims["roles"] == ["member"]

    for bad in (orgs["outside"], orgs["foreign"], "org_nope"):
        refused = refresh(tc, rp, switched.get_json()["refresh_token"], organization=bad)
        assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_request"
        query = query_of(authorize(tc, rp, organization=bad))
        assert query["error"] == "invalid_request" and "code" not in query
    # a refused switch does not burn the refresh token
    assert refresh(tc, rp, switched.get_json()["refresh_token"]).status_code == 200


def test_organization_picker(app, tenant, tc, orgs):
    rp = make_client(app, tenant)
    verifier, challenge = pkce_pair()
    page = authorize(tc, rp, prompt="select_organization", verifier_challenge=challenge)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Engineering" in html and "Operations" in html and "Outside" not in html
    fields = _form_fields(html)
    chosen = tc.post("/oauth2/authorize", data={**fields, "organization": orgs["ops"]})
    code = query_of(chosen)["code"]
    body = exchange(tc, rp, code, verifier).get_json()
    assert claims_of(body["access_token"])["org_id"] == orgs["ops"]


# --- RP-initiated logout -------------------------------------------------------------------


def test_logout_with_hint_and_registered_redirect(app, tenant, tc):
    rp = make_client(app, tenant)
    tokens = login_tokens(tc, rp)
    response = tc.get(
        "/oauth2/logout",
        query_string={
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": "https://app.example.com/bye",
            "state": "bye-1",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "https://app.example.com/bye?state=bye-1"
    assert query_of(authorize(tc, rp, prompt="none"))["error"] == "login_required"
    # the session's grants were revoked with it
    assert refresh(tc, rp, tokens["refresh_token"]).get_json()["error"] == "invalid_grant"


def test_logout_refuses_unregistered_redirect(app, tenant, tc):
    rp = make_client(app, tenant)
    tokens = login_tokens(tc, rp)
    response = tc.get(
        "/oauth2/logout",
        query_string={
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": "https://evil.example/",
        },
    )
    assert response.status_code == 400 and "Location" not in response.headers
    assert "code" in query_of(authorize(tc, rp, prompt="none"))  # still signed in


def test_logout_without_hint_asks_first(app, tenant, tc):
    rp = make_client(app, tenant)
    page = tc.get("/oauth2/logout")
    assert page.status_code == 200 and "Sign out" in page.get_data(as_text=True)
    assert "code" in query_of(authorize(tc, rp, prompt="none"))
    fields = _form_fields(page.get_data(as_text=True))
    done = tc.post("/oauth2/logout", data={**fields, "confirm": "yes"})
    assert done.status_code == 200 and "signed out" in done.get_data(as_text=True)
    assert query_of(authorize(tc, rp, prompt="none"))["error"] == "login_required"
