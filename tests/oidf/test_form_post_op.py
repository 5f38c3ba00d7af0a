"""The OpenID Foundation's Form Post OP profile (the Basic OP modules run with
``response_mode=form_post``), re-implemented black-box through HTTP. Each test is named
after the OIDF module it mirrors. The authorization response is an HTML page whose form
posts ``code`` (or ``error``), ``state`` and ``iss`` to the redirect URI."""

from __future__ import annotations

import re

import jwt

from tests.support.http import csrf_from
from tests.support.oauth import authorize
from tests.support.oauth import claims_of
from tests.support.oauth import exchange
from tests.support.oauth import form_post_of
from tests.support.oauth import header_of
from tests.support.oauth import make_client
from tests.support.oauth import pkce_pair
from tests.support.oauth import query_of

ISSUER = "http://acme-corp.gatehouse.test"


def _posted(response, rp) -> dict:
    """The fields a form_post page sends, after checking it is one for ``rp``."""
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/html" and "Location" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"
    action, fields = form_post_of(response)
    assert action == rp.redirect_uri
    assert fields["iss"] == ISSUER  # RFC 9207 in every response mode
    return fields


def _code_flow(tc, rp, **params) -> tuple[dict, dict]:
    verifier, challenge = pkce_pair()
    fields = _posted(
        authorize(tc, rp, verifier_challenge=challenge, response_mode="form_post", **params), rp
    )
    tokens = exchange(tc, rp, fields["code"], verifier)
    assert tokens.status_code == 200, tokens.get_json()
    return fields, tokens.get_json()


def test_oidcc_server(tc, rp, user):
    fields, tokens = _code_flow(tc, rp, state="st-server", nonce="n-server")
    assert set(fields) == {"code", "state", "iss"} and fields["state"] == "st-server"
    jwks = tc.get("/.well-known/jwks.json").get_json()
    key = next(k for k in jwks["keys"] if k["kid"] == header_of(tokens["id_token"])["kid"])
    claims = jwt.decode(
        tokens["id_token"], jwt.PyJWK(key).key, algorithms=[key["alg"]],
        audience=rp.client_id, issuer=ISSUER,
    )  # fmt: skip
    assert claims["sub"] == user.id and claims["nonce"] == "n-server"


def test_oidcc_server_form_post_page_is_csp_compatible_and_works_without_javascript(tc, rp):
    response = authorize(tc, rp, response_mode="form_post")
    html = response.get_data(as_text=True)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "form-action" not in csp  # the form may post to the app's origin
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, re.S)
    assert scripts and all(body.strip() == "" for _attrs, body in scripts)  # no inline code
    src = re.search(r'<script src="([^"]+)"', html).group(1)
    script = tc.get(src)
    assert script.status_code == 200 and "submit()" in script.get_data(as_text=True)
    assert re.search(r'<form id="form-post"[^>]*>.*<button type="submit"', html, re.S)


def test_oidcc_response_type_missing(tc, rp):
    fields = _posted(authorize(tc, rp, response_type=None, response_mode="form_post"), rp)
    assert fields["error"] in {"unsupported_response_type", "invalid_request"}
    assert "code" not in fields


def test_oidcc_ensure_request_without_nonce_succeeds(tc, rp):
    _fields, tokens = _code_flow(tc, rp, nonce=None)
    assert "nonce" not in claims_of(tokens["id_token"])


def test_oidcc_ensure_other_scope_order_succeeds(tc, rp):
    _fields, tokens = _code_flow(tc, rp, scope="email openid")
    assert set(tokens["scope"].split()) == {"openid", "email"}


def test_oidcc_ensure_request_with_unknown_parameter_succeeds(tc, rp):
    fields, _tokens = _code_flow(tc, rp, extra="foobar")
    assert "extra" not in fields


def test_oidcc_ensure_post_request_succeeds(tc, rp):
    verifier, challenge = pkce_pair()
    response = tc.post(
        "/oauth2/authorize",
        data={
            "response_type": "code",
            "response_mode": "form_post",
            "client_id": rp.client_id,
            "redirect_uri": rp.redirect_uri,
            "scope": "openid",
            "state": "st-post",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    fields = _posted(response, rp)
    assert fields["state"] == "st-post"
    assert exchange(tc, rp, fields["code"], verifier).status_code == 200


def test_oidcc_prompt_none_logged_in(tc, rp):
    fields, _tokens = _code_flow(tc, rp, prompt="none")
    assert "error" not in fields


def test_oidcc_prompt_none_not_logged_in(tenant, tenant_client, rp):
    response = authorize(tenant_client(tenant), rp, prompt="none", response_mode="form_post")
    fields = _posted(response, rp)
    assert fields["error"] == "login_required" and fields["state"].startswith("st-")


def test_oidcc_prompt_login(tc, rp):
    response = authorize(tc, rp, prompt="login", response_mode="form_post")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login?")


def test_oidcc_ensure_registered_redirect_uri(tc, rp):
    response = authorize(
        tc, rp, redirect_uri="https://attacker.example/cb", response_mode="form_post"
    )
    assert response.status_code == 400 and "form-post" not in response.get_data(as_text=True)


def test_oidcc_codereuse(tc, rp):
    verifier, challenge = pkce_pair()
    fields = _posted(authorize(tc, rp, verifier_challenge=challenge, response_mode="form_post"), rp)
    assert exchange(tc, rp, fields["code"], verifier).status_code == 200
    again = exchange(tc, rp, fields["code"], verifier)
    assert again.status_code == 400 and again.get_json()["error"] == "invalid_grant"


def test_oidcc_scope_profile(tc, rp, user):
    _fields, tokens = _code_flow(tc, rp, scope="openid profile")
    assert claims_of(tokens["id_token"])["name"] == user.name


def test_oidcc_ensure_request_with_acr_values_succeeds(tc, rp):
    # acr_values=mfa steps up; a value the tenant does not define is a voluntary claim.
    fields, _tokens = _code_flow(tc, rp, acr_values="urn:example:loa1")
    assert "code" in fields


def test_oidcc_access_denied_by_the_user_is_a_posted_error(app, tenant, tc):
    partner = make_client(app, tenant, client_name="Partner App", first_party=False)
    page = authorize(tc, partner, response_mode="form_post", state="st-deny")
    html = page.get_data(as_text=True)
    assert 'name="response_mode" value="form_post"' in html
    fields = {
        name: value
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', html)
        if name != "csrf_token"
    }
    denied = tc.post(
        "/oauth2/authorize", data={**fields, "decision": "deny", "csrf_token": csrf_from(html)}
    )
    posted = _posted(denied, partner)
    assert posted["error"] == "access_denied" and posted["state"] == "st-deny"


def test_response_mode_query_is_accepted_and_unknown_modes_are_refused(tc, rp):
    explicit = query_of(authorize(tc, rp, response_mode="query"))
    assert "code" in explicit and explicit["iss"] == ISSUER
    for mode in ("fragment", "jwt", "web_message"):
        refused = authorize(tc, rp, response_mode=mode, state="st-mode")
        assert refused.status_code == 302
        query = query_of(refused)
        assert query["error"] == "invalid_request" and query["state"] == "st-mode"
        assert "code" not in query


def test_form_post_keeps_the_query_of_a_registered_redirect_uri(app, tenant, tc):
    rp = make_client(app, tenant, redirect_uris=["https://app.example.com/cb?tenant=a"])
    fields = _posted(authorize(tc, rp, response_mode="form_post", state="st-q"), rp)
    assert set(fields) == {"code", "state", "iss"} and fields["state"] == "st-q"


def test_form_post_through_a_pushed_request(tc, rp):
    from tests.support.oauth import push

    verifier, challenge = pkce_pair()
    pushed = push(tc, rp, verifier_challenge=challenge, response_mode="form_post")
    assert pushed.status_code == 201
    query = {"client_id": rp.client_id, "request_uri": pushed.get_json()["request_uri"]}
    fields = _posted(tc.get("/oauth2/authorize", query_string=query), rp)
    assert exchange(tc, rp, fields["code"], verifier).status_code == 200


def test_discovery_lists_the_response_modes(tc):
    doc = tc.get("/.well-known/openid-configuration").get_json()
    assert doc["response_modes_supported"] == ["query", "form_post"]
