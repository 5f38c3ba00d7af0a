"""DPoP (RFC 9449, #19) over HTTP: bound access and refresh tokens, proofs refused for
each rule of §4.3, server nonces, userinfo and introspection, and tenant isolation. Keys
are real (``cryptography``); proofs are signed as a client library signs them."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from tests.support.api import Api
from tests.support.api import create_admin_key
from tests.support.console import console_fixtures
from tests.support.dpop import DPoPKey
from tests.support.oauth import basic_auth
from tests.support.oauth import bearer
from tests.support.oauth import claims_of
from tests.support.oauth import get_code
from tests.support.oauth import introspect
from tests.support.oauth import make_client
from tests.support.oauth import pkce_pair
from tests.support.oauth import push
from tests.support.oauth import query_of
from tests.support.registration import register
from tests.support.registration import set_mode

ISSUER = "http://acme-corp.gatehouse.test"
TOKEN_URL = f"{ISSUER}/oauth2/token"
USERINFO_URL = f"{ISSUER}/oauth2/userinfo"


@pytest.fixture
def key():
    return DPoPKey()


@pytest.fixture
def public_rp(app, tenant):
    return make_client(app, tenant, token_endpoint_auth_method="none")


@pytest.fixture
def machine(app, tenant):
    return make_client(
        app,
        tenant,
        grant_types=["client_credentials"],
        redirect_uris=[],
        scope="openid",
        first_party=False,
    )


def nonce_of(tc, key, path="/oauth2/token") -> str:
    """The server nonce, as a client learns it: a first proof answered use_dpop_nonce."""
    url = f"{ISSUER}{path}"
    if path == "/oauth2/token":
        response = tc.post(path, data={"grant_type": "client_credentials"}, headers=_dpop(key, url))
        assert response.status_code == 400
    else:
        response = tc.get(path, headers={"Authorization": "DPoP x", **_dpop(key, url, "GET")})
        assert response.status_code == 401
    assert response.get_json()["error"] == "use_dpop_nonce"
    return response.headers["DPoP-Nonce"]


def nonce_of_at(tc, key, url) -> str:
    response = tc.post(
        "/oauth2/token", data={"grant_type": "client_credentials"}, headers=_dpop(key, url)
    )
    assert response.get_json()["error"] == "use_dpop_nonce"
    return response.headers["DPoP-Nonce"]


def _dpop(key, url, htm="POST", **kwargs) -> dict:
    return {"DPoP": key.proof(url, htm, **kwargs)}


def _code_form(rp, code, verifier) -> dict:
    """The token request's form for ``code`` of ``rp`` (its client_id in the form)."""
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": rp.redirect_uri,
        "code_verifier": verifier,
        "client_id": rp.client_id,
    }


def code_token(tc, rp, key, nonce, **extra):
    code, verifier, _query = get_code(tc, rp)
    data = _code_form(rp, code, verifier)
    headers = _dpop(key, TOKEN_URL, nonce=nonce) if key else {}
    if rp.secret:
        headers.update(basic_auth(rp.client_id, rp.secret))
        data.pop("client_id")
    return tc.post("/oauth2/token", data={**data, **extra}, headers=headers)


def machine_token(tc, machine, headers=None):
    return tc.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials"},
        headers={**basic_auth(machine.client_id, machine.secret), **(headers or {})},
    )


def userinfo(tc, token, key, nonce, *, scheme="DPoP", **kwargs):
    headers = {"Authorization": f"{scheme} {token}"}
    if key is not None:
        proof_token = kwargs.pop("ath_token", token)
        headers.update(_dpop(key, USERINFO_URL, "GET", nonce=nonce, access_token=proof_token))
    return tc.get("/oauth2/userinfo", headers=headers)


# --- issuing bound tokens ----------------------------------------------------------------


def test_code_flow_binds_the_access_token_after_the_nonce_retry(tc, public_rp, key):
    code, verifier, _query = get_code(tc, public_rp)
    data = _code_form(public_rp, code, verifier)
    first = tc.post("/oauth2/token", data=data, headers=_dpop(key, TOKEN_URL))
    assert first.status_code == 400
    assert first.get_json()["error"] == "use_dpop_nonce"
    nonce = first.headers["DPoP-Nonce"]
    assert first.headers["Cache-Control"] == "no-store"
    # The refused proof did not use the code up: the retry with the nonce gets the tokens.
    response = tc.post("/oauth2/token", data=data, headers=_dpop(key, TOKEN_URL, nonce=nonce))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["token_type"] == "DPoP"
    assert claims_of(body["access_token"])["cnf"] == {"jkt": key.jkt}
    assert "id_token" in body and "cnf" not in claims_of(body["id_token"])
    assert response.headers["DPoP-Nonce"]


def test_client_credentials_bound_and_introspection_shows_cnf(tc, machine, rp, key):
    nonce = nonce_of(tc, key)
    response = machine_token(tc, machine, _dpop(key, TOKEN_URL, nonce=nonce))
    assert response.status_code == 200, response.get_json()
    token = response.get_json()["access_token"]
    assert response.get_json()["token_type"] == "DPoP"
    for introspector in (rp, machine):  # the direct path and Authlib's agree
        body = introspect(tc, introspector, token)
        assert body["active"] is True
        assert body["token_type"] == "DPoP" and body["cnf"] == {"jkt": key.jkt}
    plain = machine_token(tc, machine).get_json()
    assert plain["token_type"] == "Bearer" and "cnf" not in claims_of(plain["access_token"])
    assert introspect(tc, rp, plain["access_token"])["token_type"] == "Bearer"


@pytest.mark.parametrize("alg", ["RS256", "PS256", "EdDSA"])
def test_other_algorithms_are_accepted(tc, machine, alg):
    key = DPoPKey(alg)
    nonce = nonce_of(tc, key)
    response = machine_token(tc, machine, _dpop(key, TOKEN_URL, nonce=nonce))
    assert response.status_code == 200, response.get_json()
    assert claims_of(response.get_json()["access_token"])["cnf"]["jkt"] == key.jkt


def test_nonce_can_be_turned_off(app, make_tenant, tenant_client, key):
    tenant = make_tenant("loose", dpop_nonce_required=False)
    machine = make_client(
        app, tenant, grant_types=["client_credentials"], redirect_uris=[], scope="openid"
    )
    tc = tenant_client(tenant)
    url = "http://loose.gatehouse.test/oauth2/token"
    response = machine_token(tc, machine, _dpop(key, url))
    assert response.status_code == 200, response.get_json()
    assert "DPoP-Nonce" not in response.headers


# --- proofs refused ----------------------------------------------------------------------


def test_a_replayed_proof_is_refused(tc, machine, key):
    headers = _dpop(key, TOKEN_URL, nonce=nonce_of(tc, key))
    assert machine_token(tc, machine, headers).status_code == 200
    again = machine_token(tc, machine, headers)
    assert again.status_code == 400
    assert again.get_json()["error"] == "invalid_dpop_proof"
    assert "replayed" in again.get_json()["error_description"]


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"htu": f"{ISSUER}/oauth2/userinfo"}, "htu"),
        ({"htu": "http://evil.example/oauth2/token"}, "htu"),
        ({"htu": "http://globex.gatehouse.test/oauth2/token"}, "htu"),
        ({"htm": "GET"}, "htm"),
        ({"iat_offset": -300}, "too old"),  # seconds from when the test runs (not
        ({"iat_offset": 120}, "future"),  # from collection: a long suite runs it later)
        ({"typ": "JWT"}, "typ"),
    ],
)
def test_proof_rules(tc, machine, key, change, why):
    nonce = nonce_of(tc, key)
    change = dict(change)
    if "iat_offset" in change:
        change["iat"] = time.time() + change.pop("iat_offset")
    proof = key.proof(
        change.pop("htu", TOKEN_URL), change.pop("htm", "POST"), nonce=nonce, **change
    )
    response = machine_token(tc, machine, {"DPoP": proof})
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_dpop_proof"
    assert why in response.get_json()["error_description"]


@pytest.mark.parametrize(
    "htu",
    [
        TOKEN_URL + "?a=b#frag",
        "HTTP://ACME-CORP.gatehouse.test/oauth2/token",
        "http://acme-corp.gatehouse.test:80/oauth2/token",
    ],
)
def test_htu_is_compared_normalized_without_query_and_fragment(tc, machine, key, htu):
    nonce = nonce_of(tc, key)
    response = machine_token(tc, machine, _dpop(key, htu, nonce=nonce))
    assert response.status_code == 200, response.get_json()


@pytest.mark.parametrize(
    "htu",
    [
        "http://acme-corp.gatehouse.test:8080/oauth2/token",
        "https://acme-corp.gatehouse.test/oauth2/token",
        "http://acme-corp.gatehouse.test/oauth2/TOKEN",
        "http://user@acme-corp.gatehouse.test/oauth2/token",
        "http://acme-corp.gatehouse.test:99999/oauth2/token",
        "/oauth2/token",
    ],
)
def test_htu_of_another_port_scheme_or_path_is_refused(tc, machine, key, htu):
    nonce = nonce_of(tc, key)
    response = machine_token(tc, machine, _dpop(key, htu, nonce=nonce))
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_dpop_proof"


def test_a_non_finite_iat_is_refused(tc, machine, key):
    nonce = nonce_of(tc, key)
    claims = {"htm": "POST", "htu": TOKEN_URL, "jti": "nan-1", "nonce": nonce}
    header = {"alg": "ES256", "typ": "dpop+jwt", "jwk": key.jwk}

    def b64(data: bytes) -> bytes:
        return base64.urlsafe_b64encode(data).rstrip(b"=")

    payload = json.dumps(claims)[:-1] + ', "iat": NaN}'
    signing_input = b64(json.dumps(header).encode()) + b"." + b64(payload.encode())
    signature = jwt.algorithms.ECAlgorithm(jwt.algorithms.ECAlgorithm.SHA256).sign(
        signing_input, key.private
    )
    proof = (signing_input + b"." + b64(signature)).decode()
    response = machine_token(tc, machine, {"DPoP": proof})
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_dpop_proof"
    assert "numeric iat" in response.get_json()["error_description"]


def test_an_invalid_nonce_asks_for_a_fresh_one(tc, machine, key):
    response = machine_token(tc, machine, _dpop(key, TOKEN_URL, nonce="0.forged"))
    assert response.status_code == 400
    assert response.get_json()["error"] == "use_dpop_nonce"
    assert response.headers["DPoP-Nonce"] != "0.forged"


def _unsigned(claims, header) -> str:
    return jwt.encode(claims, None, algorithm="none", headers=header)


@pytest.mark.parametrize("case", ["none", "hs256", "private", "mismatch", "garbage", "two"])
def test_malformed_proofs_are_invalid_dpop_proof_never_500(tc, machine, key, case):
    nonce = nonce_of(tc, key)
    claims = {"htm": "POST", "htu": TOKEN_URL, "iat": int(time.time()), "jti": "j", "nonce": nonce}
    headers = {}
    if case == "none":
        headers["DPoP"] = _unsigned(claims, {"typ": "dpop+jwt", "jwk": key.jwk})
    elif case == "hs256":
        headers["DPoP"] = jwt.encode(
            claims, "s" * 32, algorithm="HS256", headers={"typ": "dpop+jwt", "jwk": key.jwk}
        )
    elif case == "private":
        private_jwk = {**key.jwk, "d": "AAAA"}
        headers["DPoP"] = key.proof(TOKEN_URL, nonce=nonce, jwk=private_jwk)
    elif case == "mismatch":  # a proof signed by one key naming another in its header
        headers["DPoP"] = key.proof(TOKEN_URL, nonce=nonce, jwk=DPoPKey().jwk)
    elif case == "garbage":
        headers["DPoP"] = "not.a.jwt"
    response = machine_token(tc, machine, headers) if case != "two" else None
    if case == "two":
        response = tc.post(
            "/oauth2/token",
            data={"grant_type": "client_credentials"},
            headers=[
                *basic_auth(machine.client_id, machine.secret).items(),
                ("DPoP", key.proof(TOKEN_URL, nonce=nonce)),
                ("DPoP", key.proof(TOKEN_URL, nonce=nonce)),
            ],
        )
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_dpop_proof"


def test_a_proof_for_tenant_a_is_refused_at_tenant_b(
    app, tc, other_tenant, tenant_client, machine, key
):
    other_machine = make_client(
        app, other_tenant, grant_types=["client_credentials"], redirect_uris=[], scope="openid"
    )
    other_tc = tenant_client(other_tenant)
    nonce_a = nonce_of(tc, key)
    # A's proof (A's token endpoint, A's nonce) presented at B: wrong htu.
    response = machine_token(other_tc, other_machine, _dpop(key, TOKEN_URL, nonce=nonce_a))
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_dpop_proof"
    # B's URL with A's nonce: the nonce is A's only.
    b_url = "http://globex.gatehouse.test/oauth2/token"
    response = machine_token(other_tc, other_machine, _dpop(key, b_url, nonce=nonce_a))
    assert response.get_json()["error"] == "use_dpop_nonce"
    nonce_b = response.headers["DPoP-Nonce"]
    assert nonce_b != nonce_a
    ok = machine_token(other_tc, other_machine, _dpop(key, b_url, nonce=nonce_b))
    assert ok.status_code == 200
    # ... and B's token, bound to the same key, is not A's: A's userinfo refuses it.
    token_b = ok.get_json()["access_token"]
    assert userinfo(tc, token_b, key, nonce_a).status_code == 401


# --- per-client requirement --------------------------------------------------------------


def test_dpop_bound_client_must_send_a_proof(app, tc, tenant, key):
    rp = make_client(app, tenant, dpop_bound_access_tokens=True)
    machine = make_client(
        app,
        tenant,
        grant_types=["client_credentials"],
        redirect_uris=[],
        scope="openid",
        dpop_bound_access_tokens=True,
    )
    refused = machine_token(tc, machine)
    assert refused.status_code == 400
    assert refused.get_json()["error"] == "invalid_dpop_proof"
    code, verifier, _query = get_code(tc, rp)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": rp.redirect_uri,
        "code_verifier": verifier,
    }
    auth = basic_auth(rp.client_id, rp.secret)
    refused = tc.post("/oauth2/token", data=data, headers=auth)
    assert refused.status_code == 400
    assert refused.get_json()["error"] == "invalid_dpop_proof"
    # The code was not used up by the refused request.
    nonce = nonce_of(tc, key)
    headers = {**auth, **_dpop(key, TOKEN_URL, nonce=nonce)}
    response = tc.post("/oauth2/token", data=data, headers=headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["token_type"] == "DPoP"
    # A confidential client's refresh token is not bound (its authentication binds it);
    # the client still has to send a proof for its new access token.
    refresh = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    assert tc.post("/oauth2/token", data=refresh, headers=auth).status_code == 400
    headers = {**auth, **_dpop(DPoPKey(), TOKEN_URL, nonce=nonce)}
    assert tc.post("/oauth2/token", data=refresh, headers=headers).status_code == 200


make_console = console_fixtures()


def test_console_sets_the_client_flag_and_the_nonce_setting(app, tenant, make_console):
    rp = make_client(app, tenant)
    admin = make_console(tenant, "boss@acme.example")
    page = admin.get(f"/admin/clients/{rp.client_id}").get_data(as_text=True)
    assert 'name="dpop_bound_access_tokens" value="1" >' in page
    edited = admin.submit(
        f"/admin/clients/{rp.client_id}",
        {
            "client_name": "Test App",
            "redirect_uris": rp.redirect_uri,
            "grant_types": ["authorization_code", "refresh_token"],
            "token_endpoint_auth_method": "client_secret_basic",
            "scope": ["openid"],
            "id_token_signed_response_alg": "RS256",
            "dpop_bound_access_tokens": "1",
        },
        form_path=f"/admin/clients/{rp.client_id}",
        headers={"HX-Request": "true"},
    )
    assert "Client saved." in edited.get_data(as_text=True)
    page = admin.get(f"/admin/clients/{rp.client_id}").get_data(as_text=True)
    assert 'name="dpop_bound_access_tokens" value="1" checked' in page
    settings_page = admin.get("/admin/settings").get_data(as_text=True)
    assert 'name="dpop_nonce_required" value="1" checked' in settings_page  # on by default


def test_admin_api_sets_dpop_bound_access_tokens(app, tenant):
    api = Api(app, create_admin_key(app, tenant))
    created = api.post(
        "/tenants/acme-corp/clients",
        json={
            "client_name": "CLI",
            "grant_types": ["client_credentials"],
            "scope": "openid",
            "dpop_bound_access_tokens": True,
        },
    )
    assert created.status_code == 201, created.get_json()
    cid = created.get_json()["client_id"]
    assert api.get(f"/tenants/acme-corp/clients/{cid}").get_json()["dpop_bound_access_tokens"]
    bad = api.patch(f"/tenants/acme-corp/clients/{cid}", json={"dpop_bound_access_tokens": "yes"})
    assert bad.status_code == 400


def test_a_dpop_bound_admin_token_is_not_an_admin_api_bearer(app, tenant_client, key):
    from app.services import tenants

    with app.app_context():
        system = tenants.system_tenant()
    admin = make_client(
        app,
        system,
        grant_types=["client_credentials"],
        redirect_uris=[],
        scope="admin",
        first_party=False,
    )
    tc = tenant_client(system)
    url = "http://gatehouse.test/oauth2/token"
    nonce = nonce_of_at(tc, key, url)
    plain = machine_token(tc, admin).get_json()["access_token"]
    bound = machine_token(tc, admin, _dpop(key, url, nonce=nonce)).get_json()["access_token"]
    api = Api(app, None)
    assert api.get("/tenants", headers=bearer(plain)).status_code == 200
    assert api.get("/tenants", headers=bearer(bound)).status_code == 401


def test_dynamic_registration_takes_dpop_bound_access_tokens(app, tenant, tenant_client):
    set_mode(app, tenant, "open")
    tc = tenant_client(tenant)
    body = register(tc, dpop_bound_access_tokens=True).get_json()
    assert body["dpop_bound_access_tokens"] is True
    assert register(tc).get_json()["dpop_bound_access_tokens"] is False
    refused = register(tc, dpop_bound_access_tokens="yes")
    assert refused.status_code == 400
    assert refused.get_json()["error"] == "invalid_client_metadata"


# --- refresh tokens of public clients ----------------------------------------------------


def test_public_client_refresh_token_is_bound_to_the_key(tc, public_rp, key):
    nonce = nonce_of(tc, key)
    body = code_token(tc, public_rp, key, nonce).get_json()
    refresh = {
        "grant_type": "refresh_token",
        "refresh_token": body["refresh_token"],
        "client_id": public_rp.client_id,
    }
    without = tc.post("/oauth2/token", data=refresh)
    assert without.status_code == 400 and without.get_json()["error"] == "invalid_grant"
    other = tc.post("/oauth2/token", data=refresh, headers=_dpop(DPoPKey(), TOKEN_URL, nonce=nonce))
    assert other.status_code == 400 and other.get_json()["error"] == "invalid_grant"
    # Neither attempt used the token up (nor revoked its family): the key holder refreshes.
    ok = tc.post("/oauth2/token", data=refresh, headers=_dpop(key, TOKEN_URL, nonce=nonce))
    assert ok.status_code == 200, ok.get_json()
    rotated = ok.get_json()
    assert rotated["token_type"] == "DPoP"
    assert claims_of(rotated["access_token"])["cnf"]["jkt"] == key.jkt
    # The rotated refresh token is bound too.
    again = {**refresh, "refresh_token": rotated["refresh_token"]}
    assert tc.post("/oauth2/token", data=again).get_json()["error"] == "invalid_grant"
    ok = tc.post("/oauth2/token", data=again, headers=_dpop(key, TOKEN_URL, nonce=nonce))
    assert ok.status_code == 200


def test_unbound_public_refresh_still_works_as_bearer(tc, public_rp):
    code, verifier, _query = get_code(tc, public_rp)
    data = _code_form(public_rp, code, verifier)
    body = tc.post("/oauth2/token", data=data).get_json()
    assert body["token_type"] == "Bearer"
    refresh = {
        "grant_type": "refresh_token",
        "refresh_token": body["refresh_token"],
        "client_id": public_rp.client_id,
    }
    response = tc.post("/oauth2/token", data=refresh)
    assert response.status_code == 200 and response.get_json()["token_type"] == "Bearer"


# --- userinfo ----------------------------------------------------------------------------


@pytest.fixture
def bound(tc, public_rp, key):
    nonce = nonce_of(tc, key)
    response = code_token(tc, public_rp, key, nonce)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["access_token"], nonce


def test_userinfo_with_a_dpop_token(tc, key, bound, user):
    token, nonce = bound
    response = userinfo(tc, token, key, nonce)
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["email"] == "ada@example.com"
    assert response.headers["DPoP-Nonce"]


def test_userinfo_asks_for_a_nonce(tc, key, bound):
    token, _nonce = bound
    response = userinfo(tc, token, key, None)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('DPoP error="use_dpop_nonce"')
    assert response.headers["DPoP-Nonce"]


def test_userinfo_ath_mismatch(tc, key, bound):
    token, nonce = bound
    response = userinfo(tc, token, key, nonce, ath_token=token + "x")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('DPoP error="invalid_dpop_proof"')
    assert "ath" in response.get_json()["error_description"]


def test_bound_token_as_bearer_is_refused(tc, bound):
    token, _nonce = bound
    response = tc.get("/oauth2/userinfo", headers=bearer(token))
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_token"
    # ... and in the body of a POST (RFC 6750 §2.2) too.
    response = tc.post("/oauth2/userinfo", data={"access_token": token})
    assert response.status_code == 401


def test_userinfo_proof_of_another_key_or_wrong_method(tc, key, bound):
    token, nonce = bound
    response = userinfo(tc, token, DPoPKey(), nonce)
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_token"
    proof = key.proof(USERINFO_URL, "POST", nonce=nonce, access_token=token)
    response = tc.get("/oauth2/userinfo", headers={"Authorization": f"DPoP {token}", "DPoP": proof})
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_dpop_proof"


def test_unbound_token_under_the_dpop_scheme_is_refused(tc, rp, key):
    body = code_token(tc, rp, None, None).get_json()
    assert body["token_type"] == "Bearer"
    nonce = nonce_of(tc, key)
    response = userinfo(tc, body["access_token"], key, nonce)
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_token"
    assert tc.get("/oauth2/userinfo", headers=bearer(body["access_token"])).status_code == 200


def test_discovery_lists_the_proof_algorithms(tc):
    document = tc.get("/.well-known/openid-configuration").get_json()
    assert set(document["dpop_signing_alg_values_supported"]) == {
        "ES256",
        "RS256",
        "PS256",
        "EdDSA",
    }


# --- dpop_jkt at the authorization endpoint (§10) ----------------------------------------


def _exchange_with(tc, rp, code, verifier, headers):
    data = _code_form(rp, code, verifier)
    return tc.post("/oauth2/token", data=data, headers=headers)


def test_dpop_jkt_binds_the_code_to_the_key(tc, public_rp, key):
    nonce = nonce_of(tc, key)
    code, verifier, _query = get_code(tc, public_rp, dpop_jkt=key.jkt)
    response = _exchange_with(tc, public_rp, code, verifier, _dpop(key, TOKEN_URL, nonce=nonce))
    assert response.status_code == 200, response.get_json()
    assert claims_of(response.get_json()["access_token"])["cnf"]["jkt"] == key.jkt
    for headers in ({}, _dpop(DPoPKey(), TOKEN_URL, nonce=nonce)):
        code, verifier, _query = get_code(tc, public_rp, dpop_jkt=key.jkt)
        refused = _exchange_with(tc, public_rp, code, verifier, headers)
        assert refused.status_code == 400
        assert refused.get_json()["error"] == "invalid_grant"


def test_dpop_jkt_through_par(tc, public_rp, key):
    verifier, challenge = pkce_pair()
    pushed = push(tc, public_rp, verifier_challenge=challenge, auth="none", dpop_jkt=key.jkt)
    assert pushed.status_code == 201, pushed.get_json()
    query = {"client_id": public_rp.client_id, "request_uri": pushed.get_json()["request_uri"]}
    code = query_of(tc.get("/oauth2/authorize", query_string=query))["code"]
    other = DPoPKey()
    nonce = nonce_of(tc, other)
    refused = _exchange_with(tc, public_rp, code, verifier, _dpop(other, TOKEN_URL, nonce=nonce))
    assert refused.get_json()["error"] == "invalid_grant"


def test_a_malformed_dpop_jkt_never_yields_an_unbound_token(tc, public_rp, key):
    code, verifier, _query = get_code(tc, public_rp, dpop_jkt="not-a-thumbprint")
    refused = _exchange_with(tc, public_rp, code, verifier, {})
    assert refused.get_json()["error"] == "invalid_grant"


PAR_URL = f"{ISSUER}/oauth2/par"


def _pushed_code(tc, rp, challenge, headers, **params):
    pushed = push(tc, rp, verifier_challenge=challenge, auth="none", headers=headers, **params)
    assert pushed.status_code == 201, pushed.get_json()
    query = {"client_id": rp.client_id, "request_uri": pushed.get_json()["request_uri"]}
    return query_of(tc.get("/oauth2/authorize", query_string=query))["code"]


def test_a_proof_sent_with_the_push_binds_the_code(tc, public_rp, key):
    """§10.1: a DPoP proof at /oauth2/par binds the code to its key, as dpop_jkt does."""
    nonce = nonce_of(tc, key)
    verifier, challenge = pkce_pair()
    code = _pushed_code(tc, public_rp, challenge, _dpop(key, PAR_URL, nonce=nonce))
    other = DPoPKey()
    refused = _exchange_with(
        tc, public_rp, code, verifier, _dpop(other, TOKEN_URL, nonce=nonce_of(tc, other))
    )
    assert refused.get_json()["error"] == "invalid_grant"
    verifier, challenge = pkce_pair()
    code = _pushed_code(tc, public_rp, challenge, _dpop(key, PAR_URL, nonce=nonce))
    bound = _exchange_with(tc, public_rp, code, verifier, _dpop(key, TOKEN_URL, nonce=nonce))
    assert bound.status_code == 200, bound.get_json()
    assert claims_of(bound.get_json()["access_token"])["cnf"]["jkt"] == key.jkt


def test_a_push_with_a_proof_and_another_dpop_jkt_is_refused(tc, public_rp, key):
    nonce = nonce_of(tc, key)
    headers = _dpop(key, PAR_URL, nonce=nonce)
    refused = push(tc, public_rp, auth="none", headers=headers, dpop_jkt=DPoPKey().jkt)
    assert refused.status_code == 400
    assert refused.get_json()["error"] == "invalid_request"


def test_a_push_with_a_bad_proof_is_invalid_dpop_proof(tc, public_rp, key):
    nonce = nonce_of(tc, key)
    wrong_htu = push(tc, public_rp, auth="none", headers=_dpop(key, TOKEN_URL, nonce=nonce))
    assert wrong_htu.status_code == 400
    assert wrong_htu.get_json()["error"] == "invalid_dpop_proof"
    no_nonce = push(tc, public_rp, auth="none", headers=_dpop(key, PAR_URL))
    assert no_nonce.get_json()["error"] == "use_dpop_nonce" and no_nonce.headers["DPoP-Nonce"]
