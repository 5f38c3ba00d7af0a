"""The origin guard on unsafe browser requests, and CSRF token rotation at sign-in and
sign-out (issue #14 hardening)."""

from __future__ import annotations

import pytest

from tests.conftest import DEFAULT_PASSWORD
from tests.support.api import Api
from tests.support.api import create_admin_key
from tests.support.http import csrf_from

ACME = "http://acme-corp.gatehouse.test"


@pytest.fixture
def acme(tenant, tenant_client):
    return tenant_client(tenant)


def _login(tc, headers=None):
    data = {"email": "ada@example.com", "password": DEFAULT_PASSWORD}
    return tc.submit("/login", data, headers=headers or {})


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://globex.gatehouse.test"},  # another tenant is another origin
        {"Origin": "http://acme-corp.gatehouse.test.evil.example"},
        {"Referer": "http://evil.example/page"},
        {"Referer": "not a url"},
    ],
)
def test_cross_origin_form_posts_are_refused(user, acme, headers):
    response = _login(acme, headers)
    assert response.status_code == 403
    assert "another site" in response.get_data(as_text=True)
    assert acme.cookie("gh_session_" + user.tenant_id.lower()) is None


@pytest.mark.parametrize(
    "headers",
    [
        {},  # no Origin, no Referer: left to the CSRF token
        {"Origin": ACME},
        {"Origin": "HTTP://ACME-CORP.GATEHOUSE.TEST"},
        {"Referer": ACME + "/login"},
    ],
)
def test_same_origin_form_posts_pass(user, acme, headers):
    assert _login(acme, headers).status_code == 302


def test_path_form_tenants_post_from_the_base_origin(user, tenant, tenant_client):
    tc = tenant_client(tenant, path_form=True)
    response = tc.submit(
        "/login",
        {"email": "ada@example.com", "password": DEFAULT_PASSWORD},
        headers={"Origin": "http://gatehouse.test"},
    )
    assert response.status_code == 302


def test_api_and_oauth_endpoints_are_exempt(app, tenant, acme):
    api = Api(app, create_admin_key(app))
    response = api.post(
        "/tenants/acme-corp/roles",
        json={"name": "auditor"},
        headers={"Origin": "http://evil.example"},
    )
    assert response.status_code == 201
    token = acme.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials"},
        headers={"Origin": "http://app.example.com"},
    )
    assert token.status_code == 401  # the client's problem, not the origin's
    assert token.get_json()["error"] == "invalid_client"


def test_csrf_token_rotates_at_sign_in_and_sign_out(user, acme):
    before = acme.csrf_token("/login")
    flask_cookie = acme.cookie("gh_flask").value
    assert _login(acme).status_code == 302
    assert acme.cookie("gh_flask").value != flask_cookie

    # A token learned before signing in no longer works ...
    stale = acme.post("/logout", data={"csrf_token": before})
    assert stale.status_code == 400
    assert "Form expired" in stale.get_data(as_text=True)
    # ... the one on the pages from now on does.
    fresh = csrf_from(acme.get("/logout").get_data(as_text=True))
    assert fresh and fresh != before
    signed_out = acme.post("/logout", data={"csrf_token": fresh})
    assert signed_out.status_code in (302, 303)
    # Signing out rotates it again.
    again = acme.post("/login", data={"csrf_token": fresh})
    assert again.status_code == 400 and "Form expired" in again.get_data(as_text=True)
