"""Pushed authorization requests (RFC 9126) through the HTTP surface: the happy paths,
and each way a request_uri or a plain request is refused."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
from sqlalchemy import update

from app.extensions import db
from app.models import FlowState
from app.models.base import utcnow
from tests.support.console import console_fixtures
from tests.support.oauth import authorize
from tests.support.oauth import basic_auth
from tests.support.oauth import exchange
from tests.support.oauth import make_client
from tests.support.oauth import pkce_pair
from tests.support.oauth import push
from tests.support.oauth import query_of
from tests.support.oauth import sign_in

ISSUER = "http://acme-corp.gatehouse.test"
URN = "urn:ietf:params:oauth:request_uri:"


def _pushed(tc, rp, **params) -> str:
    response = push(tc, rp, **params)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["request_uri"]


def _authorize_with(tc, client_id: str, request_uri: str, **extra):
    query = {"client_id": client_id, "request_uri": request_uri, **extra}
    return tc.get("/oauth2/authorize", query_string=query)


def _refused_page(response, error: str) -> str:
    assert response.status_code == 400, response.status_code
    assert "Location" not in response.headers  # never sent back to an unverified client
    page = response.get_data(as_text=True)
    assert f'<code class="oauth-error-code">{error}</code>' in page, page[:800]
    return page


def test_par_answers_a_single_use_request_uri_and_the_code_flow_completes(tc, rp, user):
    verifier, challenge = pkce_pair()
    response = push(tc, rp, verifier_challenge=challenge, state="st-pushed", nonce="n-pushed")
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["expires_in"] == 60 and set(body) == {"request_uri", "expires_in"}
    assert body["request_uri"].startswith(URN) and len(body["request_uri"]) > len(URN) + 30

    # RFC 9126 §4: only the pushed parameters count; these extra ones are ignored.
    answer = _authorize_with(tc, rp.client_id, body["request_uri"], state="st-evil", scope="x")
    assert answer.status_code == 302, answer.get_data(as_text=True)[:300]
    query = query_of(answer)
    assert answer.headers["Location"].startswith(rp.redirect_uri + "?")
    assert query["state"] == "st-pushed" and query["iss"] == ISSUER and query["code"]
    tokens = exchange(tc, rp, query["code"], verifier)
    assert tokens.status_code == 200, tokens.get_json()
    assert tokens.get_json()["scope"] == "openid profile email"


def test_par_with_client_secret_post_and_with_a_public_client(app, tenant, tc):
    confidential = make_client(app, tenant, token_endpoint_auth_method="client_secret_post")
    assert push(tc, confidential, auth="post").status_code == 201
    public = make_client(app, tenant, token_endpoint_auth_method="none")
    verifier, challenge = pkce_pair()
    response = push(tc, public, auth="none", verifier_challenge=challenge)
    assert response.status_code == 201, response.get_json()
    answer = _authorize_with(tc, public.client_id, response.get_json()["request_uri"])
    code = query_of(answer)["code"]
    assert exchange(tc, public, code, verifier).status_code == 200


def test_par_request_uri_reused_is_refused(tc, rp):
    request_uri = _pushed(tc, rp)
    assert _authorize_with(tc, rp.client_id, request_uri).status_code == 302
    _refused_page(_authorize_with(tc, rp.client_id, request_uri), "invalid_request_uri")


def test_par_request_uri_expired_is_refused(app, tenant, tc, rp):
    request_uri = _pushed(tc, rp)
    with app.app_context():  # 61 seconds later, for the row
        db.session.execute(
            update(FlowState)
            .where(FlowState.tenant_id == tenant.id, FlowState.kind == "par")
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
    _refused_page(_authorize_with(tc, rp.client_id, request_uri), "invalid_request_uri")


def test_par_request_uri_used_by_another_client_is_refused(app, tenant, tc, rp):
    other = make_client(app, tenant, client_name="Other App")
    request_uri = _pushed(tc, rp)
    _refused_page(_authorize_with(tc, other.client_id, request_uri), "invalid_request_uri")
    # It stays its own client's.
    assert "code" in query_of(_authorize_with(tc, rp.client_id, request_uri))


def test_par_request_uri_from_another_tenant_is_refused(
    app, tenant, other_tenant, tc, rp, make_user, tenant_client
):
    request_uri = _pushed(tc, rp)
    globex = tenant_client(other_tenant)
    sign_in(app, globex, other_tenant, make_user(other_tenant, "gina@example.com"))
    _refused_page(_authorize_with(globex, rp.client_id, request_uri), "invalid_request_uri")
    globex_rp = make_client(app, other_tenant)
    _refused_page(_authorize_with(globex, globex_rp.client_id, request_uri), "invalid_request_uri")
    assert "code" in query_of(_authorize_with(tc, rp.client_id, request_uri))


def test_par_request_uri_without_client_id_or_not_ours_is_refused(tc, rp):
    request_uri = _pushed(tc, rp)
    _refused_page(tc.get(f"/oauth2/authorize?request_uri={request_uri}"), "invalid_request")
    _refused_page(
        _authorize_with(tc, rp.client_id, "https://rp.example/request.jwt"), "invalid_request_uri"
    )


def test_par_required_by_the_client_refuses_a_plain_authorize(app, tenant, tc):
    rp = make_client(app, tenant, require_pushed_authorization_requests=True)
    response = authorize(tc, rp, state="st-plain")
    assert response.status_code == 302
    query = query_of(response)
    assert query["error"] == "invalid_request" and "/oauth2/par" in query["error_description"]
    assert query["state"] == "st-plain" and query["iss"] == ISSUER
    assert "code" in query_of(_authorize_with(tc, rp.client_id, _pushed(tc, rp)))


def test_par_required_by_the_tenant_refuses_a_plain_authorize(app, tenant, tc, rp):
    from app.services.settings import update_settings

    with app.app_context():
        update_settings(db.session.merge(tenant), {"require_pushed_authorization_requests": True})
        db.session.commit()
    doc = tc.get("/.well-known/openid-configuration").get_json()
    assert doc["require_pushed_authorization_requests"] is True
    assert query_of(authorize(tc, rp))["error"] == "invalid_request"
    assert "code" in query_of(_authorize_with(tc, rp.client_id, _pushed(tc, rp)))


def test_par_with_a_bad_client_secret_is_401_invalid_client(tc, rp):
    response = tc.post(
        "/oauth2/par",
        data={"response_type": "code", "client_id": rp.client_id, "scope": "openid"},
        headers=basic_auth(rp.client_id, "not-the-secret"),
    )
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_client"
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    # A confidential client cannot fall back to "none".
    response = tc.post("/oauth2/par", data={"response_type": "code", "client_id": rp.client_id})
    assert response.status_code in {400, 401}
    assert response.get_json()["error"] == "invalid_client"


@pytest.mark.config(CLIENT_AUTH_FAILURE_LIMIT="2 per minute")
def test_par_client_authentication_failures_are_limited_like_the_token_endpoint(tc, rp):
    bad = basic_auth(rp.client_id, "wrong")
    statuses = [
        tc.post("/oauth2/par", data={"response_type": "code"}, headers=bad).status_code
        for _ in range(3)
    ]
    assert statuses == [401, 401, 429]
    assert push(tc, rp).status_code == 201  # a correct secret is never refused


def test_par_refuses_what_authorize_would_refuse(app, tenant, tc, rp):
    def error_of(**params):
        response = push(tc, rp, **params)
        assert response.status_code == 400, response.get_data(as_text=True)
        assert response.headers["Cache-Control"] == "no-store"
        return response.get_json()["error"]

    assert error_of(redirect_uri="https://evil.example/cb") == "invalid_request"
    assert error_of(response_type="token") == "unsupported_response_type"
    assert error_of(code_challenge_method="plain", code_challenge="x" * 43) == "invalid_request"
    assert error_of(resource="https://api.unknown.example") == "invalid_target"
    assert error_of(response_mode="fragment") == "invalid_request"
    assert error_of(prompt="none login") == "invalid_request"
    assert error_of(client_id="cli_someone_else") == "invalid_request"
    assert error_of(request="eyJhbGciOiJub25lIn0.e30.") == "invalid_request_object"
    assert error_of(request_uri=URN + "abc") == "invalid_request"
    public = make_client(app, tenant, token_endpoint_auth_method="none")
    response = push(tc, public, auth="none", verifier_challenge=False)
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_request"


def test_par_signed_out_carries_a_handle_through_sign_in_not_the_parameters(
    app, tenant, user, tenant_client, rp
):
    browser = tenant_client(tenant)
    verifier, challenge = pkce_pair()
    request_uri = _pushed(browser, rp, verifier_challenge=challenge, state="st-journey")
    to_login = _authorize_with(browser, rp.client_id, request_uri)
    assert to_login.status_code == 302 and "/login?" in to_login.headers["Location"]
    next_url = parse_qs(urlsplit(to_login.headers["Location"]).query)["next"][0]
    next_query = parse_qs(urlsplit(next_url).query)
    assert set(next_query) == {"client_id", "request_uri"}  # no pushed parameter in the URL
    resume = next_query["request_uri"][0]
    assert resume.startswith(URN) and resume != request_uri

    sign_in(app, browser, tenant, user)
    answer = browser.get(next_url)
    assert answer.status_code == 302, answer.get_data(as_text=True)[:300]
    query = query_of(answer)
    assert query["state"] == "st-journey"
    assert exchange(browser, rp, query["code"], verifier).status_code == 200
    # The journey is over: neither the pushed request nor the resume handle works again.
    _refused_page(browser.get(next_url), "invalid_request_uri")
    _refused_page(_authorize_with(browser, rp.client_id, request_uri), "invalid_request_uri")


def test_par_consent_page_posts_the_handle_and_the_decision(app, tenant, tc):
    from tests.support.http import csrf_from

    partner = make_client(app, tenant, client_name="Partner App", first_party=False)
    page = _authorize_with(tc, partner.client_id, _pushed(tc, partner, state="st-consent"))
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="decision"' in html and 'name="redirect_uri"' not in html
    resume = html.split('name="request_uri" value="')[1].split('"')[0]
    answer = tc.post(
        "/oauth2/authorize",
        data={
            "client_id": partner.client_id,
            "request_uri": resume,
            "decision": "approve",
            "csrf_token": csrf_from(html),
        },
    )
    assert answer.status_code == 302
    assert query_of(answer)["state"] == "st-consent" and "code" in query_of(answer)


def test_par_counts_against_the_tenant_token_rate(app, tenant, tc, rp):
    from tests.support.quotas import set_quotas

    set_quotas(app, tenant, token_requests_per_second=0.05, token_burst=1)
    assert push(tc, rp).status_code == 201
    refused = push(tc, rp)
    assert refused.status_code == 429
    assert refused.get_json()["error"] == "temporarily_unavailable"
    assert int(refused.headers["Retry-After"]) >= 1


def test_par_cors_like_the_token_endpoint(app, tenant, tc):
    spa = make_client(
        app,
        tenant,
        token_endpoint_auth_method="none",
        redirect_uris=["https://spa.example/cb"],
    )
    preflight = tc.open(
        "OPTIONS",
        "/oauth2/par",
        headers={
            "Origin": "https://spa.example",
            "Access-Control-Request-Method": "POST",
        },
    )
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://spa.example"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    pushed = tc.post(
        "/oauth2/par",
        data={
            "response_type": "code",
            "client_id": spa.client_id,
            "redirect_uri": "https://spa.example/cb",
            "code_challenge": pkce_pair()[1],
            "code_challenge_method": "S256",
        },
        headers={"Origin": "https://spa.example"},
    )
    assert pushed.status_code == 201
    assert pushed.headers["Access-Control-Allow-Origin"] == "https://spa.example"
    foreign = tc.post("/oauth2/par", data={}, headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in foreign.headers


def test_discovery_advertises_par(tc):
    doc = tc.get("/.well-known/openid-configuration").get_json()
    assert doc["pushed_authorization_request_endpoint"] == f"{ISSUER}/oauth2/par"
    assert doc["require_pushed_authorization_requests"] is False


make_console = console_fixtures()


def test_par_required_flag_through_the_admin_api_and_the_console(app, tenant, make_console):
    from tests.support.api import Api
    from tests.support.api import create_admin_key
    from tests.support.api import problem_of

    api = Api(app, create_admin_key(app))
    created = api.post(
        f"/tenants/{tenant.slug}/clients",
        json={
            "client_name": "Pushed App",
            "redirect_uris": ["https://app.example.com/callback"],
            "require_pushed_authorization_requests": True,
        },
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    assert created.get_json()["require_pushed_authorization_requests"] is True
    client_id = created.get_json()["client_id"]
    bad = api.patch(
        f"/tenants/{tenant.slug}/clients/{client_id}",
        json={"require_pushed_authorization_requests": "yes"},
    )
    assert bad.status_code == 400 and problem_of(bad)["errors"]
    settings = api.patch(
        f"/tenants/{tenant.slug}/settings", json={"require_pushed_authorization_requests": True}
    )
    assert settings.get_json()["require_pushed_authorization_requests"] is True

    admin = make_console(tenant, "boss@acme.example")
    page = admin.get(f"/admin/clients/{client_id}").get_data(as_text=True)
    assert 'name="require_pushed_authorization_requests" value="1" checked' in page
    settings_page = admin.get("/admin/settings").get_data(as_text=True)
    assert 'name="require_pushed_authorization_requests" value="1" checked' in settings_page
    edited = admin.submit(
        f"/admin/clients/{client_id}",
        {
            "client_name": "Pushed App",
            "redirect_uris": "https://app.example.com/callback",
            "grant_types": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_method": "client_secret_basic",
            "scope": ["openid"],
            "id_token_signed_response_alg": "RS256",
        },
        form_path=f"/admin/clients/{client_id}",
        headers={"HX-Request": "true"},
    )
    assert "Client saved." in edited.get_data(as_text=True)
    shown = api.get(f"/tenants/{tenant.slug}/clients/{client_id}").get_json()
    assert shown["require_pushed_authorization_requests"] is False


def test_par_refuses_a_nul_and_an_oversized_request(tc, rp):
    nul = push(tc, rp, state="a\x00b")
    assert nul.status_code == 400 and nul.get_json()["error"] == "invalid_request"
    huge = push(tc, rp, state="s" * (33 * 1024))
    assert huge.status_code == 413 and huge.get_json()["error"] == "invalid_request"


def test_par_prompt_login_signs_in_again_and_keeps_the_pushed_request(app, tenant, user, tc, rp):
    verifier, challenge = pkce_pair()
    request_uri = _pushed(tc, rp, verifier_challenge=challenge, prompt="login", state="st-re")
    to_login = _authorize_with(tc, rp.client_id, request_uri)
    assert "/login?" in to_login.headers["Location"]
    next_url = parse_qs(urlsplit(to_login.headers["Location"]).query)["next"][0]
    assert "prompt" not in next_url and set(parse_qs(urlsplit(next_url).query)) == {
        "client_id",
        "request_uri",
    }
    sign_in(app, tc, tenant, user)  # the old session was ended
    query = query_of(tc.get(next_url))  # prompt=login is not asked again
    assert query["state"] == "st-re"
    assert exchange(tc, rp, query["code"], verifier).status_code == 200


def test_par_organization_picker_then_consent(app, tenant, user, tc):
    from app.services import orgs as orgs_service
    from tests.support.http import csrf_from
    from tests.support.oauth import claims_of

    with app.app_context():
        ops = orgs_service.create_org(db.session.merge(tenant), "Operations")
        orgs_service.add_member(
            db.session.merge(tenant), ops, db.session.merge(user), roles=["member"]
        )
        db.session.commit()
        ops_id = ops.id
    partner = make_client(app, tenant, client_name="Partner App", first_party=False)
    verifier, challenge = pkce_pair()
    request_uri = _pushed(tc, partner, verifier_challenge=challenge, prompt="select_organization")
    picker = _authorize_with(tc, partner.client_id, request_uri)
    html = picker.get_data(as_text=True)
    assert picker.status_code == 200 and "Operations" in html
    resume = html.split('name="request_uri" value="')[1].split('"')[0]
    chosen = tc.post(
        "/oauth2/authorize",
        data={"client_id": partner.client_id, "request_uri": resume, "organization": ops_id},
    )
    consent = chosen.get_data(as_text=True)
    assert chosen.status_code == 200 and 'name="decision"' in consent  # then the consent page
    approved = tc.post(
        "/oauth2/authorize",
        data={
            "client_id": partner.client_id,
            "request_uri": consent.split('name="request_uri" value="')[1].split('"')[0],
            "decision": "approve",
            "csrf_token": csrf_from(consent),
        },
    )
    code = query_of(approved)["code"]
    tokens = exchange(tc, partner, code, verifier).get_json()
    assert claims_of(tokens["access_token"])["org_id"] == ops_id


def test_par_consent_page_may_be_reloaded(app, tenant, tc):
    partner = make_client(app, tenant, client_name="Partner App", first_party=False)
    first = _authorize_with(tc, partner.client_id, _pushed(tc, partner))
    resume = first.get_data(as_text=True).split('name="request_uri" value="')[1].split('"')[0]
    for _ in range(2):  # a reload of the page the resume handle leads to
        again = _authorize_with(tc, partner.client_id, resume)
        assert again.status_code == 200 and 'name="decision"' in again.get_data(as_text=True)
    other = make_client(app, tenant, client_name="Other App", first_party=False)
    _refused_page(_authorize_with(tc, other.client_id, resume), "invalid_request_uri")
