"""RFC 9700 negatives and token tampering, through HTTP only."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.support.oauth import authorize
from tests.support.oauth import basic_auth
from tests.support.oauth import bearer
from tests.support.oauth import claims_of
from tests.support.oauth import exchange
from tests.support.oauth import get_code
from tests.support.oauth import header_of
from tests.support.oauth import introspect
from tests.support.oauth import login_tokens
from tests.support.oauth import make_client
from tests.support.oauth import pkce_pair
from tests.support.oauth import query_of
from tests.support.oauth import refresh
from tests.support.oauth import sign_in

ISSUER = "http://acme-corp.gatehouse.test"


# --- PKCE (RFC 7636, RFC 9700 §2.1.1) ----------------------------------------------------


def test_pkce_plain_is_refused(tc, rp):
    verifier, _ = pkce_pair()
    response = authorize(tc, rp, code_challenge=verifier, code_challenge_method="plain")
    query = query_of(response)
    assert query["error"] == "invalid_request" and query["iss"] == ISSUER
    implicit_plain = authorize(tc, rp, code_challenge=verifier)  # no method means plain
    assert query_of(implicit_plain)["error"] == "invalid_request"


def test_pkce_wrong_or_missing_verifier(tc, rp):
    code, _verifier, _ = get_code(tc, rp)
    wrong, _ = pkce_pair()
    response = exchange(tc, rp, code, wrong)
    assert response.get_json()["error"] == "invalid_grant"
    code, _verifier, _ = get_code(tc, rp)
    missing = exchange(tc, rp, code, None)  # downgrade: drop the verifier
    assert missing.get_json()["error"] == "invalid_request"


def test_public_client_needs_pkce(app, tenant, tc):
    spa = make_client(
        app, tenant, token_endpoint_auth_method="none", redirect_uris=["http://127.0.0.1/cb"]
    )
    assert spa.secret is None
    without = authorize(tc, spa, verifier_challenge=False)
    assert query_of(without)["error"] == "invalid_request"
    # loopback: the port may vary (RFC 8252 §7.3)
    code, verifier, _ = get_code(tc, spa, redirect_uri="http://127.0.0.1:53123/cb")
    spa.redirect_uri = "http://127.0.0.1:53123/cb"
    response = exchange(tc, spa, code, verifier)
    assert response.status_code == 200, response.get_json()
    assert "refresh_token" in response.get_json()


# --- redirect URIs (RFC 9700 §4.1) --------------------------------------------------------


@pytest.mark.parametrize(
    "variant",
    [
        "https://app.example.com/callback/",
        "https://APP.example.com/callback",
        "https://app.example.com/Callback",
        "https://app.example.com/callback/extra",
        "https://app.example.com@evil.example/callback",
        "https://evil.example@app.example.com/callback",
        "https://app.example.com:8443/callback",
        "http://app.example.com/callback",
        "https://app.example.com/callback#frag",
        "https://app.example.com/callback?x=1",
        "https://evil.example/callback",
    ],
)
def test_redirect_uri_variants_show_an_error_page(tc, rp, variant):
    response = authorize(tc, rp, redirect_uri=variant)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "not valid" in response.get_data(as_text=True)


def test_unknown_client_shows_an_error_page(tc, rp):
    response = authorize(tc, rp, client_id="cli_01NOSUCHCLIENT000000000000")
    assert response.status_code == 400 and "Location" not in response.headers


def test_client_of_another_tenant_is_unknown_here(app, other_tenant, tc):
    foreign = make_client(app, other_tenant)
    response = authorize(tc, foreign)
    assert response.status_code == 400 and "Location" not in response.headers


def test_mix_up_iss_on_success_and_error(tc, rp):
    _, _, query = get_code(tc, rp)
    assert query["iss"] == ISSUER
    error = query_of(authorize(tc, rp, scope="openid", prompt="none login"))
    assert error["error"] == "invalid_request" and error["iss"] == ISSUER


# --- token tampering ----------------------------------------------------------------------


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _rejected_everywhere(tc, rp, token):
    assert tc.get("/oauth2/userinfo", headers=bearer(token)).status_code == 401
    assert introspect(tc, rp, token) == {"active": False}


def test_alg_none(tc, rp):
    good = login_tokens(tc, rp)["access_token"]
    header = {**header_of(good), "alg": "none"}
    forged = f"{_b64(header)}.{_b64(claims_of(good))}."
    _rejected_everywhere(tc, rp, forged)


def test_hs256_signed_with_the_public_key(tc, rp):
    good = login_tokens(tc, rp)["access_token"]
    kid = header_of(good)["kid"]
    jwk = next(k for k in tc.get("/.well-known/jwks.json").get_json()["keys"] if k["kid"] == kid)
    secret = json.dumps(jwk).encode()
    header = {**header_of(good), "alg": "HS256"}
    signing = f"{_b64(header)}.{_b64(claims_of(good))}".encode()
    import hashlib
    import hmac

    sig = base64.urlsafe_b64encode(hmac.new(secret, signing, hashlib.sha256).digest())
    forged = signing.decode() + "." + sig.rstrip(b"=").decode()
    _rejected_everywhere(tc, rp, forged)


def test_unknown_kid_and_self_signed(tc, rp):
    claims = claims_of(login_tokens(tc, rp)["access_token"])
    key = ec.generate_private_key(ec.SECP256R1())
    for kid in ("key_unknown", header_of(login_tokens(tc, rp)["access_token"])["kid"]):
        forged = jwt.encode(claims, key, algorithm="ES256", headers={"kid": kid, "typ": "at+jwt"})
        _rejected_everywhere(tc, rp, forged)


def test_tokens_of_another_tenant_are_refused_everywhere(
    app, tenant, other_tenant, make_user, tenant_client, tc, rp
):
    globex_user = make_user(other_tenant, "ada@example.com")
    globex = tenant_client(other_tenant)
    sign_in(app, globex, other_tenant, globex_user)
    globex_rp = make_client(app, other_tenant)
    foreign = login_tokens(globex, globex_rp)
    # userinfo, introspection, revocation, refresh, logout hint of acme all refuse them
    _rejected_everywhere(tc, rp, foreign["access_token"])
    assert introspect(tc, rp, foreign["refresh_token"]) == {"active": False}
    revoked = tc.post(
        "/oauth2/revoke",
        data={"token": foreign["access_token"]},
        headers=basic_auth(rp.client_id, rp.secret),
    )
    assert revoked.status_code == 200
    assert introspect(globex, globex_rp, foreign["access_token"])["active"] is True
    assert refresh(tc, rp, foreign["refresh_token"]).get_json()["error"] == "invalid_grant"
    assert refresh(globex, globex_rp, foreign["refresh_token"]).status_code == 200
    hint = tc.get("/oauth2/logout", query_string={"id_token_hint": foreign["id_token"]})
    assert hint.status_code == 400
    assert query_of(authorize(tc, rp, id_token_hint=foreign["id_token"]))["error"] == (
        "invalid_request"
    )
    # foreign kid: a globex key signing acme-looking claims
    acme_claims = claims_of(login_tokens(tc, rp)["access_token"])
    assert header_of(foreign["access_token"])["kid"] not in {
        k["kid"] for k in tc.get("/.well-known/jwks.json").get_json()["keys"]
    }
    assert acme_claims["tenant_id"] == tenant.id


def test_id_token_is_not_an_access_token(tc, rp):
    tokens = login_tokens(tc, rp)
    _rejected_everywhere(tc, rp, tokens["id_token"])


def test_expired_access_token(app, tenant, tc, rp):
    from app.extensions import db
    from app.models import Tenant
    from app.services import keys

    claims = claims_of(login_tokens(tc, rp)["access_token"])
    claims.update(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)
    with app.test_request_context():
        key = keys.signing_key(db.session.get(Tenant, tenant.id), "ES256")
        expired = jwt.encode(
            claims, key.private, algorithm="ES256", headers={"kid": key.kid, "typ": "at+jwt"}
        )
    _rejected_everywhere(tc, rp, expired)
