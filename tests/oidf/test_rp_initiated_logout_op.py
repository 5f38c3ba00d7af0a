"""The OpenID Foundation's RP-Initiated Logout OP test plan (``oidcc-rp-initiated-logout-*``),
re-implemented black-box: each test is one module, named after it, asserting what the
module asserts about the end_session_endpoint (OpenID Connect RP-Initiated Logout 1.0).

Every module signs in through the hosted login form, obtains an ID token with the code
flow, then calls the end_session_endpoint taken from discovery. "Logged out" is checked as
the suite does: a following ``prompt=none`` authorization request answers
``login_required``.
"""

from __future__ import annotations

import base64
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest

from tests.conftest import DEFAULT_PASSWORD
from tests.support.auth import sign_in
from tests.support.http import csrf_from
from tests.support.oauth import authorize
from tests.support.oauth import login_tokens
from tests.support.oauth import make_client
from tests.support.oauth import query_of

ISSUER = "http://acme-corp.gatehouse.test"
POST_LOGOUT = "https://rp.example.com/logged-out"
POST_LOGOUT_WITH_QUERY = "https://rp.example.com/logged-out?foo=bar"


@pytest.fixture
def rp(app, tenant):
    return make_client(
        app,
        tenant,
        client_name="OIDF conformance RP",
        post_logout_redirect_uris=[POST_LOGOUT, POST_LOGOUT_WITH_QUERY],
    )


@pytest.fixture
def browser(tenant, user, tenant_client):
    client = tenant_client(tenant)
    assert sign_in(client, user.email, DEFAULT_PASSWORD).status_code == 302
    return client


@pytest.fixture
def end_session(browser) -> str:
    """The end_session_endpoint from discovery, as a path of the tenant's origin."""
    metadata = browser.get("/.well-known/openid-configuration").get_json()
    endpoint = metadata["end_session_endpoint"]
    assert endpoint.startswith(metadata["issuer"] + "/") and metadata["issuer"] == ISSUER
    return endpoint.removeprefix(ISSUER)


@pytest.fixture
def id_token(browser, rp) -> str:
    return login_tokens(browser, rp)["id_token"]


def logged_out(browser, rp) -> bool:
    query = query_of(authorize(browser, rp, prompt="none"))
    if "code" in query:
        return False
    assert query["error"] == "login_required", query
    return True


def redirect_of(response) -> tuple[str, dict]:
    """(the Location without its query, its query parameters)."""
    assert response.status_code in (302, 303), response.status_code
    parts = urlsplit(response.headers["Location"])
    return f"{parts.scheme}://{parts.netloc}{parts.path}", parse_qs(parts.query)


def no_redirect(response) -> str:
    """An HTML page, not a redirect; answers its text."""
    assert "Location" not in response.headers, response.headers.get("Location")
    assert response.mimetype == "text/html"
    return response.get_data(as_text=True)


def confirm(browser, end_session, page):
    """The user confirms on the OP's page (its hidden fields, with its CSRF token)."""
    import re

    html = page.get_data(as_text=True)
    assert csrf_from(html), "the confirmation is CSRF-protected"
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))
    fields = {k: v.replace("&amp;", "&") for k, v in fields.items()}
    return browser.post(end_session, data={**fields, "confirm": "yes"})


def test_oidcc_rp_initiated_logout(browser, rp, end_session, id_token):
    """Logout with id_token_hint, post_logout_redirect_uri and state: redirected to the
    registered URI with the same state, and the session is over."""
    response = browser.get(
        end_session,
        query_string={
            "id_token_hint": id_token,
            "post_logout_redirect_uri": POST_LOGOUT,
            "state": "xyz-123",
        },
    )
    target, query = redirect_of(response)
    assert target == POST_LOGOUT and query == {"state": ["xyz-123"]}
    assert logged_out(browser, rp)


def test_oidcc_rp_initiated_logout_bad_post_logout_redirect_uri(browser, rp, end_session, id_token):
    """An unregistered post_logout_redirect_uri: an error page, never a redirect to it."""
    response = browser.get(
        end_session,
        query_string={
            "id_token_hint": id_token,
            "post_logout_redirect_uri": "https://rp.example.com/not-registered",
            "state": "s1",
        },
    )
    assert response.status_code == 400
    assert "not registered" in no_redirect(response)
    assert not logged_out(browser, rp)


def test_oidcc_rp_initiated_logout_modified_id_token_hint(browser, rp, end_session, id_token):
    """An id_token_hint whose signature was altered: an error page, no redirect."""
    head, payload, signature = id_token.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4)))
    raw[0] ^= 0x01
    modified = ".".join([head, payload, base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()])
    response = browser.get(
        end_session,
        query_string={
            "id_token_hint": modified,
            "post_logout_redirect_uri": POST_LOGOUT,
            "state": "s2",
        },
    )
    assert response.status_code == 400
    no_redirect(response)
    assert not logged_out(browser, rp)


@pytest.mark.parametrize("hint", ["foreign", "garbage", "access_token"])
def test_oidcc_rp_initiated_logout_bad_id_token_hint(
    app, browser, rp, end_session, other_tenant, make_user, tenant_client, hint
):
    """An id_token_hint this issuer did not issue (another tenant's, not a JWT, an access
    token): an error page, no redirect, the session stays."""
    if hint == "foreign":
        globex = tenant_client(other_tenant)
        make_user(other_tenant, "ada@example.com")
        assert sign_in(globex, "ada@example.com", DEFAULT_PASSWORD).status_code == 302
        value = login_tokens(globex, make_client(app, other_tenant))["id_token"]
    elif hint == "access_token":
        value = login_tokens(browser, rp)["access_token"]
    else:
        value = "not.a.jwt"
    response = browser.get(
        end_session,
        query_string={
            "id_token_hint": value,
            "post_logout_redirect_uri": POST_LOGOUT,
            "state": "s3",
        },
    )
    assert response.status_code == 400
    no_redirect(response)
    assert not logged_out(browser, rp)


def test_oidcc_rp_initiated_logout_no_id_token_hint(browser, rp, end_session):
    """client_id, post_logout_redirect_uri and state without id_token_hint: the OP asks the
    user to confirm, then redirects back with the state."""
    page = browser.get(
        end_session,
        query_string={
            "client_id": rp.client_id,
            "post_logout_redirect_uri": POST_LOGOUT,
            "state": "s4",
        },
    )
    assert page.status_code == 200
    no_redirect(page)
    assert not logged_out(browser, rp)  # nothing happens before the user confirms
    target, query = redirect_of(confirm(browser, end_session, page))
    assert target == POST_LOGOUT and query == {"state": ["s4"]}
    assert logged_out(browser, rp)


def test_oidcc_rp_initiated_logout_no_params(browser, rp, end_session):
    """No parameters at all: the OP asks, then signs out and shows its own page."""
    page = browser.get(end_session)
    assert page.status_code == 200
    no_redirect(page)
    done = confirm(browser, end_session, page)
    assert done.status_code == 200 and "signed out" in no_redirect(done)
    assert logged_out(browser, rp)


def test_oidcc_rp_initiated_logout_no_post_logout_redirect_uri(browser, rp, end_session, id_token):
    """id_token_hint only: signed out, and the OP shows its page (nowhere to redirect)."""
    response = browser.get(end_session, query_string={"id_token_hint": id_token})
    assert response.status_code == 200 and "signed out" in no_redirect(response)
    assert logged_out(browser, rp)


def test_oidcc_rp_initiated_logout_no_state(browser, rp, end_session, id_token):
    """Without state: redirected to the registered URI exactly, no state added."""
    response = browser.get(
        end_session,
        query_string={"id_token_hint": id_token, "post_logout_redirect_uri": POST_LOGOUT},
    )
    assert response.headers["Location"] == POST_LOGOUT
    assert logged_out(browser, rp)


def test_oidcc_rp_initiated_logout_only_state(browser, rp, end_session, id_token):
    """id_token_hint and state without post_logout_redirect_uri: signed out, no redirect
    (the state has nowhere to go)."""
    response = browser.get(end_session, query_string={"id_token_hint": id_token, "state": "s5"})
    assert response.status_code == 200 and "signed out" in no_redirect(response)
    assert logged_out(browser, rp)


def test_oidcc_rp_initiated_logout_query_added_to_post_logout_redirect_uri(
    browser, rp, end_session, id_token
):
    """A registered post_logout_redirect_uri with a query: kept, and state added to it."""
    response = browser.get(
        end_session,
        query_string={
            "id_token_hint": id_token,
            "post_logout_redirect_uri": POST_LOGOUT_WITH_QUERY,
            "state": "s6",
        },
    )
    target, query = redirect_of(response)
    assert target == POST_LOGOUT and query == {"foo": ["bar"], "state": ["s6"]}
    assert logged_out(browser, rp)


def test_oidcc_rp_initiated_logout_post_form(browser, rp, end_session, id_token):
    """RP-Initiated Logout §2: the endpoint takes the same parameters as a POSTed form."""
    response = browser.post(
        end_session,
        data={"id_token_hint": id_token, "post_logout_redirect_uri": POST_LOGOUT, "state": "s7"},
    )
    target, query = redirect_of(response)
    assert target == POST_LOGOUT and query == {"state": ["s7"]}
    assert logged_out(browser, rp)
