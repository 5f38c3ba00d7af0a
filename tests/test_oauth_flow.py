"""The code flow, modelled on the OpenID Foundation Basic OP plan, through HTTP only."""

from __future__ import annotations

import time

import jwt
import pytest

from tests.support.oauth import authorize
from tests.support.oauth import basic_auth
from tests.support.oauth import bearer
from tests.support.oauth import claims_of
from tests.support.oauth import exchange
from tests.support.oauth import get_code
from tests.support.oauth import header_of
from tests.support.oauth import login_tokens
from tests.support.oauth import make_client
from tests.support.oauth import pkce_pair
from tests.support.oauth import query_of
from tests.support.oauth import sign_in


def _verify(tc, token, audience):
    jwks = tc.get("/.well-known/jwks.json").get_json()
    key = next(k for k in jwks["keys"] if k["kid"] == header_of(token)["kid"])
    return jwt.decode(
        token,
        jwt.PyJWK(key).key,
        algorithms=[key["alg"]],
        audience=audience,
        issuer="http://acme-corp.gatehouse.test",
    )


@pytest.mark.parametrize("post", [False, True], ids=["client_secret_basic", "client_secret_post"])
def test_happy_path(app, tenant, user, tc, post):
    auth = "client_secret_post" if post else "client_secret_basic"
    rp = make_client(app, tenant, token_endpoint_auth_method=auth)
    code, verifier, query = get_code(tc, rp)
    assert query["iss"] == "http://acme-corp.gatehouse.test"
    assert query["state"].startswith("st-")
    response = exchange(tc, rp, code, verifier, post=post)
    assert response.status_code == 200, response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["token_type"] == "Bearer" and body["refresh_token"] and body["expires_in"] == 600

    id_token = _verify(tc, body["id_token"], rp.client_id)
    assert header_of(body["id_token"])["alg"] == "RS256"
    assert id_token["sub"] == user.id and id_token["tenant_id"] == tenant.id
    assert id_token["nonce"].startswith("n-") and id_token["amr"] == ["pwd"]
    assert id_token["email"] == user.email and id_token["name"] == user.name
    assert {"auth_time", "at_hash", "sid"} <= set(id_token)

    access = _verify(tc, body["access_token"], rp.client_id)
    header = header_of(body["access_token"])
    assert header["typ"] == "at+jwt" and header["alg"] == "ES256" and header["kid"]
    assert set(access) == {
        "iss", "sub", "aud", "client_id", "scope", "exp", "iat", "jti", "sid", "tenant_id", "roles",
    }  # fmt: skip
    assert access["roles"] == ["member"] and access["scope"] == "openid profile email"


def test_missing_response_type_is_an_error_redirect(tc, rp):
    response = authorize(tc, rp, response_type=None)
    assert response.status_code == 302
    query = query_of(response)
    assert query["error"] in {"unsupported_response_type", "invalid_request"}
    assert query["iss"] == "http://acme-corp.gatehouse.test"


def test_unknown_parameters_are_ignored_and_no_nonce_is_fine(tc, rp):
    tokens = login_tokens(tc, rp, nonce=None, foo="bar", ui_locales="fr", claims_locales="de")
    assert "nonce" not in claims_of(tokens["id_token"])


def test_userinfo_get_and_post_by_scope(app, tenant, user, tc, rp):
    tokens = login_tokens(tc, rp, scope="openid email")
    got = tc.get("/oauth2/userinfo", headers=bearer(tokens["access_token"]))
    assert got.status_code == 200
    assert got.get_json() == {"sub": user.id, "email": user.email, "email_verified": True}
    posted = tc.post("/oauth2/userinfo", headers=bearer(tokens["access_token"]))
    assert posted.get_json() == got.get_json()
    in_body = tc.post("/oauth2/userinfo", data={"access_token": tokens["access_token"]})
    assert in_body.status_code == 200 and in_body.get_json() == got.get_json()
    forged = tc.post("/oauth2/userinfo", data={"access_token": tokens["id_token"]})
    assert forged.status_code == 401

    profile = login_tokens(tc, rp, scope="openid profile")
    body = tc.get("/oauth2/userinfo", headers=bearer(profile["access_token"])).get_json()
    assert body["name"] == user.name and "email" not in body
    assert "email" not in claims_of(profile["id_token"])


def test_userinfo_without_token_is_401(tc):
    response = tc.get("/oauth2/userinfo")
    assert response.status_code == 401
    assert "Bearer" in response.headers["WWW-Authenticate"]


def test_prompt_none_signed_in_and_signed_out(app, tenant, tenant_client, tc, rp):
    ok = authorize(tc, rp, prompt="none")
    assert "code" in query_of(ok)
    anonymous = tenant_client(tenant)
    response = authorize(anonymous, rp, prompt="none", state="xyz")
    query = query_of(response)
    assert query["error"] == "login_required" and query["state"] == "xyz"
    assert query["iss"] == "http://acme-corp.gatehouse.test"


def test_signed_out_goes_to_login_with_next(tenant, tenant_client, rp):
    response = authorize(tenant_client(tenant), rp)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/login?next=%2Foauth2%2Fauthorize%3F")


def test_prompt_login_forces_a_new_sign_in(tc, rp):
    response = authorize(tc, rp, prompt="login")
    assert response.headers["Location"].startswith("/login?next=")
    assert "prompt" not in response.headers["Location"]
    # the old session ended: prompt=none now fails
    assert query_of(authorize(tc, rp, prompt="none"))["error"] == "login_required"


def test_max_age(tc, rp):
    assert "code" in query_of(authorize(tc, rp, max_age="3600"))
    time.sleep(1.1)
    response = authorize(tc, rp, max_age="0")
    assert response.headers["Location"].startswith("/login?next=")


def test_id_token_hint(app, tenant, tc, rp, make_user, tenant_client):
    tokens = login_tokens(tc, rp)
    same = authorize(tc, rp, prompt="none", id_token_hint=tokens["id_token"])
    assert "code" in query_of(same)
    other = make_user(tenant, "bob@example.com")
    bob = tenant_client(tenant)
    sign_in(app, bob, tenant, other)
    response = authorize(bob, rp, prompt="none", id_token_hint=tokens["id_token"])
    assert query_of(response)["error"] == "login_required"
    bad = authorize(tc, rp, id_token_hint="not-a-token")
    assert query_of(bad)["error"] == "invalid_request"


def test_code_reuse_fails_and_revokes_what_it_produced(tc, rp):
    code, verifier, _ = get_code(tc, rp)
    first = exchange(tc, rp, code, verifier).get_json()
    second = exchange(tc, rp, code, verifier)
    assert second.status_code == 400 and second.get_json()["error"] == "invalid_grant"
    from tests.support.oauth import introspect

    assert introspect(tc, rp, first["access_token"]) == {"active": False}
    assert introspect(tc, rp, first["refresh_token"]) == {"active": False}


def test_code_is_bound_to_client_and_redirect_uri(app, tenant, tc, rp):
    other = make_client(app, tenant, client_name="Other")
    code, verifier, _ = get_code(tc, rp)
    stolen = exchange(tc, other, code, verifier)
    assert stolen.get_json()["error"] == "invalid_grant"
    code, verifier, _ = get_code(tc, rp)
    wrong = exchange(tc, rp, code, verifier, redirect_uri="https://app.example.com/other")
    assert wrong.get_json()["error"] == "invalid_grant"


def test_wrong_client_secret_is_401(tc, rp):
    code, verifier, _ = get_code(tc, rp)
    response = tc.post(
        "/oauth2/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": rp.redirect_uri},
        headers=basic_auth(rp.client_id, "wrong"),
    )
    assert response.status_code == 401 and response.get_json()["error"] == "invalid_client"


def test_no_password_or_implicit_grant(tc, rp):
    response = tc.post(
        "/oauth2/token",
        data={"grant_type": "password", "username": "a", "password": "b"},
        headers=basic_auth(rp.client_id, rp.secret),
    )
    assert response.get_json()["error"] == "unsupported_grant_type"
    implicit = authorize(tc, rp, response_type="token")
    assert query_of(implicit)["error"] == "unsupported_response_type"


def test_pkce_verifier_without_challenge_is_refused(app, tenant, tc, rp):
    from app.extensions import db
    from app.services.settings import update_settings

    with app.app_context():  # a tenant that lets confidential clients skip PKCE
        update_settings(db.session.merge(tenant), {"require_pkce_for_confidential_clients": False})
        db.session.commit()
    response = authorize(tc, rp, verifier_challenge=False)
    code = query_of(response)["code"]
    verifier, _ = pkce_pair()
    refused = exchange(tc, rp, code, verifier)
    assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_request"


def test_oidcc_ensure_redirect_uri_in_authorization_request(tc, rp):
    """OIDC Core §3.1.2.1: an OpenID request without redirect_uri is refused on an error
    page (never redirected), even when the client registered a single one."""
    response = authorize(tc, rp, redirect_uri=None)
    assert response.status_code == 400
    assert "Location" not in response.headers
    assert "redirect_uri" in response.get_data(as_text=True)


def test_redirect_uri_may_be_omitted_outside_openid_with_a_single_registered_one(tc, rp):
    """Plain OAuth (no ``openid`` scope) may omit it: RFC 6749 §3.1.2.3."""
    verifier, challenge = pkce_pair()
    response = authorize(tc, rp, redirect_uri=None, verifier_challenge=challenge, scope="profile")
    assert response.headers["Location"].startswith(rp.redirect_uri + "?")
    code = query_of(response)["code"]
    token = tc.post(
        "/oauth2/token",
        data={"grant_type": "authorization_code", "code": code, "code_verifier": verifier},
        headers=basic_auth(rp.client_id, rp.secret),
    )
    assert token.status_code == 200, token.get_json()


def test_es256_id_tokens_when_registered(app, tenant, tc):
    rp = make_client(app, tenant, id_token_signed_response_alg="ES256")
    tokens = login_tokens(tc, rp)
    assert header_of(tokens["id_token"])["alg"] == "ES256"
    assert _verify(tc, tokens["id_token"], rp.client_id)["aud"] == rp.client_id


def test_cli_clients_update_changes_only_what_is_given(app, tenant, other_tenant, tc, runner):
    """An operator switches a client to ES256 ID tokens: its next refresh returns one; the
    client's other metadata keeps its values; bad requests are refused with a message."""
    from tests.support.oauth import refresh

    rp = make_client(app, tenant)
    tokens = login_tokens(tc, rp)
    assert header_of(tokens["id_token"])["alg"] == "RS256"

    def update(*args):
        return runner.invoke(args=["clients", "update", "--tenant", *args])

    result = update(tenant.slug, rp.client_id, "--id-token-alg", "ES256")
    assert result.exit_code == 0 and "id_token_signed_response_alg" in result.output
    refreshed = refresh(tc, rp, tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.get_json()
    id_token = refreshed.get_json()["id_token"]
    assert header_of(id_token)["alg"] == "ES256"
    assert _verify(tc, id_token, rp.client_id)["sub"] == claims_of(tokens["id_token"])["sub"]

    from app.extensions import db
    from app.models import Client

    with app.app_context():
        client = db.session.get(Client, rp.client_id)
        assert client.client_name == "Test App" and client.redirect_uris == [rp.redirect_uri]
        assert client.first_party is True

    assert "nothing to change" in update(tenant.slug, rp.client_id).output
    hs256 = update(tenant.slug, rp.client_id, "--id-token-alg", "HS256")
    assert "'HS256' is not one of" in hs256.output
    assert "No such client" in update(tenant.slug, "cli_unknown", "--name", "X").output
    foreign = update(other_tenant.slug, rp.client_id, "--name", "Stolen")
    assert foreign.exit_code != 0 and "No such client" in foreign.output
    bad = update(tenant.slug, rp.client_id, "--redirect-uri", "not a uri")
    assert bad.exit_code != 0 and "redirect_uris" in bad.output
