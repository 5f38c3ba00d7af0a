"""response_mode=form_post in headless Chromium: the form page posts the authorization
response to the app by itself under the page's Content-Security-Policy (no violation),
and with JavaScript off through its Continue button. The app's callback is intercepted
in the browser (a POST to https://app.example.com/callback)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs
from urllib.parse import urlencode

import pytest

from tests.conftest import DEFAULT_PASSWORD
from tests.support.oauth import make_client
from tests.support.oauth import pkce_pair

pytestmark = pytest.mark.browser

CALLBACK = "https://app.example.com/callback"


def _catch_callback(page) -> list:
    posts = []

    def handle(route):
        request = route.request
        posts.append((request.method, request.post_data or ""))
        route.fulfill(status=200, content_type="text/html", body="<p id=done>received</p>")

    page.route(re.compile(r"https://app\.example\.com/callback.*"), handle)
    return posts


def _authorize_url(origin: str, rp, state: str) -> str:
    query = {
        "response_type": "code",
        "client_id": rp.client_id,
        "redirect_uri": CALLBACK,
        "scope": "openid",
        "state": state,
        "response_mode": "form_post",
        "code_challenge": pkce_pair()[1],
        "code_challenge_method": "S256",
    }
    return f"{origin}/oauth2/authorize?{urlencode(query)}"


def _sign_in(page, email):
    page.wait_for_selector("input[name='email']", timeout=15000)
    page.fill("input[name='email']", email)
    page.fill("input[name='password']", DEFAULT_PASSWORD)
    page.click("button[type='submit']")


def test_form_post_submits_itself_under_the_csp(app, tenant, user, live_server, page):
    rp = make_client(app, tenant, redirect_uris=[CALLBACK])
    origin = live_server.origin("acme-corp")
    violations = []
    page.on("console", lambda m: "Content Security" in m.text and violations.append(m.text))
    posts = _catch_callback(page)
    page.goto(_authorize_url(origin, rp, "st-browser"))
    _sign_in(page, user.email)
    page.wait_for_selector("#done", timeout=15000)
    assert len(posts) == 1 and posts[0][0] == "POST"
    fields = {k: v[0] for k, v in parse_qs(posts[0][1]).items()}
    assert set(fields) == {"code", "state", "iss"}
    assert fields["state"] == "st-browser" and fields["iss"] == origin
    assert violations == []


def test_form_post_without_javascript_has_a_continue_button(
    app, tenant, user, live_server, browser
):
    rp = make_client(app, tenant, redirect_uris=[CALLBACK])
    origin = live_server.origin("acme-corp")
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        posts = _catch_callback(page)
        page.goto(_authorize_url(origin, rp, "st-nojs"))
        _sign_in(page, user.email)
        page.wait_for_selector("form#form-post button[type='submit']", timeout=15000)
        assert posts == []  # nothing is sent until the person continues
        page.click("form#form-post button[type='submit']")
        page.wait_for_selector("#done", timeout=15000)
        fields = {k: v[0] for k, v in parse_qs(posts[0][1]).items()}
        assert posts[0][0] == "POST" and fields["state"] == "st-nojs" and fields["code"]
    finally:
        context.close()
