"""The FAPI 2.0 Security Profile's baseline, re-implemented black-box through HTTP, for a
tenant set up the way that profile asks: pushed authorization requests required for every
client, PKCE S256 for confidential clients too, a confidential client that authenticates
with ``private_key_jwt`` and whose access tokens are DPoP-bound. The happy flow puts every
part together (PAR with a client assertion and a DPoP proof, ``iss`` in the authorization
response, a DPoP-bound token, userinfo with DPoP); the negative modules are the baseline's
refusals. Each test is named after the OIDF module it mirrors; the DPoP-specific and
assertion-specific modules are in test_fapi2_dpop.py and test_private_key_jwt_op.py."""

from __future__ import annotations

import pytest

from tests.support.client_keys import assertion_claims
from tests.support.client_keys import assertion_form
from tests.support.client_keys import jwks_of
from tests.support.client_keys import make_key
from tests.support.dpop import DPoPKey
from tests.support.oauth import claims_of
from tests.support.oauth import make_client
from tests.support.oauth import pkce_pair
from tests.support.oauth import push
from tests.support.oauth import query_of

ISSUER = "http://acme-corp.gatehouse.test"
PAR_URL = f"{ISSUER}/oauth2/par"
TOKEN_URL = f"{ISSUER}/oauth2/token"
USERINFO_URL = f"{ISSUER}/oauth2/userinfo"


@pytest.fixture
def fapi(app, tenant):
    """The tenant in the FAPI 2.0 shape (through the admin API), and its client's keys."""
    from tests.support.api import Api
    from tests.support.api import create_admin_key

    settings = Api(app, create_admin_key(app)).patch(
        f"/tenants/{tenant.slug}/settings",
        json={
            "require_pushed_authorization_requests": True,
            "require_pkce_for_confidential_clients": True,
        },
    )
    assert settings.status_code == 200, settings.get_data(as_text=True)
    key = make_key("PS256")
    client = make_client(
        app,
        tenant,
        token_endpoint_auth_method="private_key_jwt",
        jwks=jwks_of(key),
        dpop_bound_access_tokens=True,
    )
    return client, key


def _assertion(client, key) -> dict:
    return assertion_form(key.sign(assertion_claims(client.client_id, ISSUER)))


def _nonce(tc, dpop_key) -> str:
    response = tc.post(
        "/oauth2/token",
        data={"grant_type": "authorization_code"},
        headers={"DPoP": dpop_key.proof(TOKEN_URL)},
    )
    assert response.get_json()["error"] == "use_dpop_nonce"
    return response.headers["DPoP-Nonce"]


def _push(tc, client, key, headers=None, **params):
    return push(tc, client, auth="none", headers=headers, **_assertion(client, key), **params)


def test_fapi2_security_profile_final_happy_flow(tc, fapi):
    client, key = fapi
    dpop_key = DPoPKey()
    nonce = _nonce(tc, dpop_key)
    verifier, challenge = pkce_pair()
    pushed = _push(
        tc,
        client,
        key,
        headers={"DPoP": dpop_key.proof(PAR_URL, nonce=nonce)},
        verifier_challenge=challenge,
    )
    assert pushed.status_code == 201, pushed.get_json()
    answer = tc.get(
        "/oauth2/authorize",
        query_string={
            "client_id": client.client_id,
            "request_uri": pushed.get_json()["request_uri"],
        },
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)[:300]
    params = query_of(answer)
    assert params["iss"] == ISSUER  # RFC 9207
    token = tc.post(
        "/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": client.redirect_uri,
            "code_verifier": verifier,
            **_assertion(client, key),
        },
        headers={"DPoP": dpop_key.proof(TOKEN_URL, nonce=nonce)},
    )
    assert token.status_code == 200, token.get_json()
    body = token.get_json()
    assert body["token_type"] == "DPoP" and "id_token" in body
    access = body["access_token"]
    assert claims_of(access)["cnf"]["jkt"] == dpop_key.jkt
    assert claims_of(body["id_token"])["iss"] == ISSUER
    userinfo = tc.get(
        "/oauth2/userinfo",
        headers={
            "Authorization": f"DPoP {access}",
            "DPoP": dpop_key.proof(USERINFO_URL, "GET", nonce=nonce, access_token=access),
        },
    )
    assert userinfo.status_code == 200, userinfo.get_json()
    as_bearer = tc.get("/oauth2/userinfo", headers={"Authorization": f"Bearer {access}"})
    assert as_bearer.status_code == 401


def test_fapi2_security_profile_final_ensure_authorization_request_without_par_fails(tc, fapi):
    client, _key = fapi
    _verifier, challenge = pkce_pair()
    answer = tc.get(
        "/oauth2/authorize",
        query_string={
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": client.redirect_uri,
            "scope": "openid",
            "state": "st",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    assert answer.status_code in (302, 400)
    if answer.status_code == 302:
        assert query_of(answer)["error"] == "invalid_request"
    assert "code=" not in (answer.headers.get("Location") or "")


def test_fapi2_security_profile_final_ensure_pkce_code_challenge_method_plain_fails(tc, fapi):
    client, key = fapi
    refused = _push(tc, client, key, code_challenge="x" * 43, code_challenge_method="plain")
    assert refused.status_code == 400
    assert refused.get_json()["error"] == "invalid_request"


def test_fapi2_security_profile_final_ensure_pkce_missing_fails(tc, fapi):
    client, key = fapi
    refused = push(tc, client, auth="none", verifier_challenge="", **_assertion(client, key))
    assert refused.status_code == 400
    assert refused.get_json()["error"] == "invalid_request"


def test_fapi2_security_profile_final_ensure_client_secret_basic_is_not_this_client(tc, fapi):
    """The client authenticates with its key only: a secret (it has none) is invalid_client."""
    client, _key = fapi
    refused = push(tc, client, auth="none", client_secret="guess")
    assert refused.status_code == 401
    assert refused.get_json()["error"] == "invalid_client"
