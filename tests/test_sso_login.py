"""Home-realm discovery on the hosted login page, routing from /oauth2/authorize
(``login_hint``, ``organization``), enforced connections, and the ID token of a sign-in
through a connection (``amr: ["ext"]``, ``idp``)."""

from __future__ import annotations

from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest

from app.extensions import db
from tests.support.oauth import authorize
from tests.support.oauth import claims_of
from tests.support.oauth import exchange
from tests.support.oauth import get_code
from tests.support.oauth import make_client
from tests.support.sso import saml_connection
from tests.support.sso import start_sign_in
from tests.support.sso import verified_org
from tests.support.sso_fixtures import dns_app  # noqa: F401
from tests.support.sso_fixtures import local_dns  # noqa: F401

PASSWORD = "correct horse battery staple"


@pytest.fixture
def setup(app, tenant, dns):
    org_id = verified_org(app, tenant, dns)
    result = saml_connection(app, tenant, org_id)
    yield result
    result.idp.close()


@pytest.fixture
def browser(tenant_client, tenant):
    return tenant_client(tenant)


def connection_path(setup) -> str:
    return f"/sso/saml/{setup.connection_id}/login"


def test_tenant_without_connections_keeps_the_password_page(app, tenant, browser):
    page = browser.get("/login").get_data(as_text=True)
    assert 'name="password"' in page and 'name="email"' in page


def test_identifier_first_routes_by_verified_domain(app, tenant, browser, setup, make_user):
    page = browser.get("/login?next=/account")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert 'name="email"' in text and 'name="password"' not in text

    routed = browser.submit("/login", {"email": "Grace@Corp.Example", "next": "/account"})
    assert routed.status_code == 302
    location = urlsplit(routed.headers["Location"])
    assert location.path == connection_path(setup)
    assert parse_qs(location.query)["next"] == ["/account"]

    make_user(tenant, "ada@example.com", PASSWORD)
    step = browser.submit("/login", {"email": "ada@example.com"})
    assert step.status_code == 200
    second = step.get_data(as_text=True)
    assert 'name="password"' in second and 'value="ada@example.com"' in second
    signed_in = browser.submit("/login", {"email": "ada@example.com", "password": PASSWORD})
    assert signed_in.status_code == 302 and browser.get("/account").status_code == 200


def test_unverified_domain_does_not_route(app, tenant, browser, setup):
    from app.services import org_domains
    from app.services import orgs

    with app.app_context():
        t = db.session.merge(tenant)
        org_domains.add_domain(t, orgs.get_org(t, setup.org_id), "pending.example")
        db.session.commit()
    step = browser.submit("/login", {"email": "x@pending.example"})
    assert step.status_code == 200 and 'name="password"' in step.get_data(as_text=True)


def test_enforced_connection_forbids_passwords(app, tenant, browser, setup, make_user):
    from app.models import Connection

    make_user(tenant, "grace@corp.example", PASSWORD)
    with app.app_context():
        db.session.get(Connection, setup.connection_id).enforced = True
        db.session.commit()
    answer = browser.submit("/login", {"email": "grace@corp.example", "password": PASSWORD})
    assert answer.status_code == 302
    assert urlsplit(answer.headers["Location"]).path == connection_path(setup)
    assert browser.get("/account").status_code == 302  # not signed in


def test_not_enforced_connection_still_allows_passwords(app, tenant, browser, setup, make_user):
    make_user(tenant, "grace@corp.example", PASSWORD)
    answer = browser.submit("/login", {"email": "grace@corp.example", "password": PASSWORD})
    assert answer.status_code == 302 and browser.get("/account").status_code == 200


def test_login_hint_and_organization_on_authorize_route_to_the_connection(
    app, tenant, browser, setup
):
    client = make_client(app, tenant)
    for params in ({"login_hint": "grace@corp.example"}, {"organization": setup.org_id}):
        to_login = authorize(browser, client, **params)
        assert to_login.status_code == 302
        login = urlsplit(to_login.headers["Location"])
        assert login.path == "/login"
        routed = browser.get(f"{login.path}?{login.query}")
        assert routed.status_code == 302, params
        assert urlsplit(routed.headers["Location"]).path == connection_path(setup)
    other = authorize(browser, client, login_hint="someone@example.com")
    page = browser.get(other.headers["Location"])
    assert page.status_code == 200 and 'value="someone@example.com"' in page.get_data(as_text=True)


def test_id_token_after_a_connection_says_ext_and_idp(app, tenant, browser, setup):
    client = make_client(app, tenant)
    request_id, relay_state = start_sign_in(browser, setup)
    response = setup.idp.response(
        email="grace@corp.example",
        sp_entity_id=setup.sp_entity_id,
        acs=setup.acs,
        in_response_to=request_id,
    )
    acs = browser.post(
        f"/sso/saml/{setup.connection_id}/acs",
        data={"SAMLResponse": response, "RelayState": relay_state},
    )
    assert acs.status_code == 302
    code, verifier, _ = get_code(browser, client, organization=setup.org_id)
    tokens = exchange(browser, client, code, verifier).get_json()
    claims = claims_of(tokens["id_token"])
    assert claims["amr"] == ["ext"] and claims["idp"] == setup.connection_id
    assert claims["org_id"] == setup.org_id
