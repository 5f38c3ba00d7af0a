"""Consent for API permissions (issue #17): a third-party client's consent page lists the
permissions each requested API would get; the remembered consent covers exactly what was
shown; the client's tokens never carry more than was approved, whatever the roles gain."""

from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.models import Consent
from app.models import Tenant
from app.services import permissions
from app.services import resources
from app.services import roles
from tests.support.oauth import authorize
from tests.support.oauth import claims_of
from tests.support.oauth import exchange
from tests.support.oauth import make_client
from tests.support.oauth import pkce_pair
from tests.support.oauth import query_of
from tests.support.oauth import refresh

API = "https://api.acme.example"
SCOPE = "openid profile offline_access"


@pytest.fixture
def partner(app, tenant):
    return make_client(app, tenant, client_name="Partner App", first_party=False)


def _member_holds(app, tenant_id, *names):
    with app.app_context():
        t = db.session.get(Tenant, tenant_id)
        role = roles.get_role(t, "member", "tenant")
        permissions.set_role_permissions(
            t, role, [{"resource": API, "permission": n} for n in names]
        )
        db.session.commit()


@pytest.fixture
def api(app, tenant):
    with app.app_context():
        resources.create_resource(
            db.session.get(Tenant, tenant.id),
            {
                "identifier": API,
                "name": "Acme API",
                "permissions": [
                    {"name": "read:docs", "description": "Read your documents"},
                    {"name": "write:docs", "description": "Change your documents"},
                    {"name": "share:docs", "description": "Share your documents"},
                ],
            },
        )
        db.session.commit()
    _member_holds(app, tenant.id, "read:docs", "write:docs")


def _fields(page) -> list[tuple[str, str]]:
    return re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page)


def _approve(tc, page):
    data = [(k, v) for k, v in _fields(page.get_data(as_text=True))] + [("decision", "approve")]
    from werkzeug.datastructures import MultiDict

    return tc.post("/oauth2/authorize", data=MultiDict(data))


def test_consent_shows_api_permissions_and_covers_exactly_those(
    app, tenant, user, tc, partner, api
):
    verifier, challenge = pkce_pair()
    page = authorize(
        tc, partner, verifier_challenge=challenge, scope=f"{SCOPE} read:docs", resource=API
    )
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Acme API" in html and "Read your documents" in html
    assert "Change your documents" not in html  # not asked for
    assert ("resource", API) in _fields(html)  # carried through the form
    approved = _approve(tc, page)
    query = query_of(approved)
    assert "code" in query, query
    body = exchange(tc, partner, query["code"], verifier, resource=API).get_json()
    assert claims_of(body["access_token"])["scope"] == "read:docs"
    with app.app_context():
        consent = db.session.query(Consent).filter_by(user_id=user.id).one()
        assert consent.permissions == {API: ["read:docs"]}

    # Remembered: the same request needs no page; asking for more shows it again.
    again = authorize(tc, partner, scope=f"{SCOPE} read:docs", resource=API, prompt="none")
    assert "code" in query_of(again)
    more = authorize(tc, partner, scope=f"{SCOPE} read:docs write:docs", resource=API)
    assert more.status_code == 200 and "Change your documents" in more.get_data(as_text=True)
    refused = authorize(
        tc, partner, scope=f"{SCOPE} read:docs write:docs", resource=API, prompt="none"
    )
    assert query_of(refused)["error"] == "consent_required"

    # Nothing of the API asked: all effective permissions are shown (and only those).
    everything = authorize(tc, partner, scope=SCOPE, resource=API)
    html = everything.get_data(as_text=True)
    assert "Read your documents" in html and "Change your documents" in html
    assert "Share your documents" not in html


def test_tokens_never_exceed_what_was_approved(app, tenant, tc, partner, api):
    verifier, challenge = pkce_pair()
    page = authorize(tc, partner, verifier_challenge=challenge, scope=SCOPE, resource=API)
    query = query_of(_approve(tc, page))
    body = exchange(tc, partner, query["code"], verifier).get_json()
    first = refresh(tc, partner, body["refresh_token"], resource=API)
    assert claims_of(first.get_json()["access_token"])["scope"] == "read:docs write:docs"

    # The role gains a permission: the partner's grant does not (it was not shown).
    _member_holds(app, tenant.id, "read:docs", "write:docs", "share:docs")
    wider = refresh(tc, partner, first.get_json()["refresh_token"], resource=API)
    assert claims_of(wider.get_json()["access_token"])["scope"] == "read:docs write:docs"
    # ...and losing one still narrows at once.
    _member_holds(app, tenant.id, "read:docs")
    narrower = refresh(tc, partner, wider.get_json()["refresh_token"], resource=API)
    assert claims_of(narrower.get_json()["access_token"])["scope"] == "read:docs"


def test_the_account_page_shows_the_api_permissions_a_consent_covers(tc, partner, api):
    page = authorize(tc, partner, scope=f"{SCOPE} read:docs", resource=API)
    assert "code" in query_of(_approve(tc, page))
    account = tc.get("/account").get_data(as_text=True)
    assert "Partner App" in account and f"{API}: read:docs" in account
