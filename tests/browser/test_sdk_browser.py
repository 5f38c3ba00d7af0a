"""The browser SDK (static/sdk/gatehouse.js) in headless Chromium against a live Gatehouse.

The example SPA (examples/spa, served by examples/serve.py on its own origin with its
API) is the page under test: a real cross-origin single-page app with one public
client per tenant, signing in through the hosted /login form.
"""

from __future__ import annotations

import json
import socket
import threading
from urllib.parse import parse_qs
from urllib.parse import urlencode
from urllib.parse import urlsplit

import pytest
import requests
from werkzeug.serving import make_server

from app.extensions import db
from examples.serve import create_example_app
from examples.serve import register_example_apis
from examples.serve import spa_config
from tests.conftest import DEFAULT_PASSWORD

pytestmark = pytest.mark.browser

EMAIL = "ada@example.com"


class SpaServer:
    """The example app (SPA + SDK files + API) in a thread, on its own origin."""

    def __init__(self, app_factory, resources_of=None):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.origin = f"http://localhost:{self.port}"
        self.config = app_factory(self.origin)
        web = create_example_app(self.config, self.origin, resources_of=resources_of)
        self.server = make_server("127.0.0.1", self.port, web, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.thread.join(timeout=5)


@pytest.fixture
def spa(live_server, tenant, other_tenant, make_user):
    from app.services import orgs

    acme_user = make_user(tenant, EMAIL)
    make_user(other_tenant, EMAIL, name="Ada at Globex")
    with live_server.app.app_context():
        acme = db.session.merge(tenant)
        org = orgs.create_org(acme, "Research", "research")
        orgs.add_member(acme, org, db.session.merge(acme_user), roles=("admin",))
        org_id = org.id
        db.session.commit()

    def configure(origin):
        with live_server.app.app_context():
            for t in (tenant, other_tenant):
                register_example_apis(db.session.merge(t), origin)
            config = spa_config([db.session.merge(tenant), db.session.merge(other_tenant)], origin)
            db.session.commit()
            return config

    server = SpaServer(configure)
    server.org_id = org_id
    yield server
    server.stop()


def _ready(page):
    page.wait_for_selector("body[data-ready='true']", timeout=15000)


def _sign_in(page, email=EMAIL):
    page.wait_for_selector("input[name='email']", timeout=15000)
    page.fill("input[name='email']", email)
    page.fill("input[name='password']", DEFAULT_PASSWORD)
    page.click("button[type='submit']")
    _ready(page)


def _payload(token):
    import jwt

    return jwt.decode(token, options={"verify_signature": False})


def _js(page, expression):
    return page.evaluate(expression)


def _token_post(page, url, params):
    """POST a form to a token endpoint from the SPA's origin (CORS applies)."""
    return page.evaluate(
        """async ([url, body]) => {
            const r = await fetch(url, {method: "POST", body: new URLSearchParams(body)});
            return {status: r.status, body: await r.json()};
        }""",
        [url, params],
    )


def test_sign_in_refresh_switch_org_switch_tenant_and_logout(
    page, live_server, spa, tenant, other_tenant, artifact_path
):
    token_requests = []
    page.on(
        "request",
        lambda req: token_requests.append(req.url) if req.url.endswith("/oauth2/token") else None,
    )
    globex_client = spa.config["globex"]["clientId"]
    acme_token_url = live_server.origin("acme-corp") + "/oauth2/token"
    globex_token_url = live_server.origin("globex") + "/oauth2/token"

    page.goto(spa.origin + "/")
    _ready(page)
    assert page.text_content("#status") == "Signed out"

    # Sign in at acme-corp: authorize (PKCE) → hosted /login → back with code, state, iss.
    page.select_option("#tenant-select", "acme-corp")
    page.click("#login")
    _sign_in(page)
    assert page.text_content("#error") == "", page.text_content("#error")
    assert page.text_content("#status") == "Signed in"
    assert "code=" not in page.url  # the SDK cleans the URL
    claims = _js(page, "gatehouse.claims")
    assert claims["tenant_id"] == tenant.id
    assert claims["iss"] == live_server.origin("acme-corp")
    assert _js(page, "gatehouse.user.email") == EMAIL

    # The API verifies the token with gatehouse_sdk and answers with the token's tenant.
    page.click("#call-api")
    page.wait_for_selector("#api-result:has-text('ten_')")
    assert json.loads(page.text_content("#api-result"))["tenant_id"] == tenant.id

    # One token per API (RFC 8707): each with its own aud and scope, kept, renewed alone.
    apis = _js(page, "exampleConfig.apis")
    notes, billing = apis["notes"]["identifier"], apis["billing"]["identifier"]
    held = page.evaluate(
        """async ([notes, billing]) => {
            const a = await gatehouse.getAccessToken({resource: notes});
            const again = await gatehouse.getAccessToken({resource: notes});
            const b = await gatehouse.getAccessToken({resource: billing});
            const renewed = await gatehouse.getAccessToken({resource: billing, minValidity: 1e9});
            const kept = await gatehouse.getAccessToken({resource: notes});
            return {a, again, b, renewed, kept, own: await gatehouse.getAccessToken()};
        }""",
        [notes, billing],
    )
    assert held["a"] == held["again"] == held["kept"]  # kept, not fetched again
    assert held["renewed"] != held["b"]  # renewed on its own
    aud = [_payload(t)["aud"] for t in (held["a"], held["b"], held["own"])]
    assert aud == [notes, billing, spa.config["acme-corp"]["clientId"]]
    assert _payload(held["a"])["scope"] == "read:notes write:notes"
    assert _payload(held["renewed"])["scope"] == "read:invoices"

    # Refresh: three concurrent callers share one rotation (one request in flight).
    before = len(token_requests)
    first = _js(page, "gatehouse._session('acme-corp')")
    results = page.evaluate(
        """() => Promise.all([
            gatehouse.refresh(), gatehouse.refresh(),
            gatehouse.getAccessToken({minValidity: 1e9}),
        ]).then(() => gatehouse._session('acme-corp'))"""
    )
    assert len(token_requests) - before == 1
    assert results["refreshToken"] != first["refreshToken"]
    assert results["accessToken"] != first["accessToken"]

    # Switch organization: a refresh grant with organization=org_...
    page.fill("#org-id", spa.org_id)
    page.click("#switch-org")
    page.wait_for_selector(f"#token-summary:has-text('{spa.org_id}')")
    claims = _js(page, "gatehouse.claims")
    assert claims["tenant_id"] == tenant.id and "admin" in claims["roles"]
    # A non-member organization is refused and the tokens are kept.
    error = page.evaluate(
        "gatehouse.switchOrganization('org_01NOTAMEMBER00000000000000').catch(e => e.code)"
    )
    assert error == "invalid_request"
    assert _js(page, "gatehouse.claims.org_id") == spa.org_id

    # Switch tenant to globex by its tenant id: no session there yet → sign in there.
    page.select_option("#tenant-select", "globex")
    page.click("#switch-tenant")
    _sign_in(page)
    claims = _js(page, "gatehouse.claims")
    assert claims["tenant_id"] == other_tenant.id
    assert claims["iss"] == live_server.origin("globex")
    assert set(_js(page, "gatehouse.tenants")) == {"acme-corp", "globex"}
    page.screenshot(path=artifact_path("sdk-switched-tenant.png"))

    # The first tenant's refresh token works for the first tenant only.
    acme_refresh = _js(page, "gatehouse._session('acme-corp').refreshToken")
    refused = _token_post(
        page,
        globex_token_url,
        {"grant_type": "refresh_token", "refresh_token": acme_refresh, "client_id": globex_client},
    )
    assert refused["status"] == 400 and refused["body"]["error"] == "invalid_grant"
    switched = page.evaluate(f"gatehouse.switchTenant('{tenant.id}')")
    assert switched["tenant"] == "acme-corp"
    assert switched["claims"]["tenant_id"] == tenant.id
    assert _js(page, "gatehouse.claims.tenant_id") == tenant.id
    # ...and switching back to globex uses globex's own refresh token, without a sign-in.
    switched = page.evaluate("gatehouse.switchTenant('globex')")
    assert switched["claims"]["tenant_id"] == other_tenant.id
    assert page.url.startswith(spa.origin)
    page.click("#call-api")
    page.wait_for_selector(f"#api-result:has-text('{other_tenant.id}')")

    # Logout (RP-initiated) at globex: back to the SPA, acme's session is still held.
    globex_refresh = _js(page, "gatehouse._session('globex').refreshToken")
    page.evaluate("document.body.dataset.ready = 'before-logout'")
    page.click("#logout")
    _ready(page)  # the SPA again, after the round trip through /oauth2/logout
    assert page.url == spa.origin + "/"  # state checked and removed from the URL
    assert set(_js(page, "gatehouse.tenants")) == {"acme-corp"}
    assert _js(page, "gatehouse.tenant") == "acme-corp"
    assert _js(page, "gatehouse.claims.tenant_id") == tenant.id
    ended = _token_post(
        page,
        globex_token_url,
        {
            "grant_type": "refresh_token",
            "refresh_token": globex_refresh,
            "client_id": globex_client,
        },
    )
    assert ended["body"]["error"] == "invalid_grant"  # the logout revoked the family
    still = page.evaluate("gatehouse.refresh({tenant: 'acme-corp'}).then(c => c.tenant_id)")
    assert still == tenant.id
    assert acme_token_url in token_requests


def _authorization_response(page, live_server, tenant_key):
    """Sign in again without letting the browser finish: the SDK's authorization request
    is held back, sent with the browser's Gatehouse cookies by the test, and the server's
    redirect (code, state, iss) is returned instead of reaching the SDK."""
    held = []

    def hold(route):
        held.append(route.request.url)
        route.fulfill(status=200, content_type="text/html", body="<p id=held>held</p>")

    page.route("**/oauth2/authorize?**", hold)
    page.select_option("#tenant-select", tenant_key)
    page.click("#login")
    page.wait_for_selector("#held")
    page.unroute("**/oauth2/authorize?**", hold)
    origin = live_server.origin(tenant_key)
    cookies = {c["name"]: c["value"] for c in page.context.cookies(origin)}
    parts = urlsplit(held[0])
    response = requests.get(
        f"http://127.0.0.1:{live_server.port}{parts.path}?{parts.query}",
        headers={"Host": parts.netloc},
        cookies=cookies,
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302, response.text
    return response.headers["Location"]


def test_tampered_state_or_iss_is_refused(page, live_server, spa, tenant):
    page.goto(spa.origin + "/")
    _ready(page)
    page.select_option("#tenant-select", "acme-corp")
    page.click("#login")
    _sign_in(page)  # now the browser holds a Gatehouse session at acme-corp

    # iss of another tenant (RFC 9207 mix-up): refused before the code is used.
    page.goto(spa.origin + "/")
    _ready(page)
    location = _authorization_response(page, live_server, "acme-corp")
    parts = urlsplit(location)
    params = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert params["iss"] == live_server.origin("acme-corp")
    tampered = {**params, "iss": live_server.origin("globex")}
    page.goto(f"{spa.origin}/?{urlencode(tampered)}")
    _ready(page)
    assert page.get_attribute("body", "data-error") == "invalid_issuer"
    # The state was single use: replaying the genuine response is refused too.
    page.goto(location)
    _ready(page)
    assert page.get_attribute("body", "data-error") == "invalid_state"

    # A state this page never sent: refused; the genuine response still works after.
    page.goto(spa.origin + "/")
    _ready(page)
    location = _authorization_response(page, live_server, "acme-corp")
    params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    page.goto(f"{spa.origin}/?{urlencode({**params, 'state': 'forged-state'})}")
    _ready(page)
    assert page.get_attribute("body", "data-error") == "invalid_state"
    page.goto(location)
    _ready(page)
    assert not page.get_attribute("body", "data-error")
    assert _js(page, "gatehouse.claims.tenant_id") == tenant.id
