"""The FAPI 2.0 Security Profile's DPoP checks, re-implemented black-box through HTTP: a
sender-constrained happy flow (PAR, PKCE S256, ``iss`` in the response, DPoP-bound
tokens) and the negative modules around DPoP proofs. Each test is named after the OIDF
module it mirrors (``fapi2-security-profile-final-…``)."""

from __future__ import annotations

import time

from tests.support.dpop import DPoPKey
from tests.support.oauth import make_client
from tests.support.oauth import pkce_pair
from tests.support.oauth import push
from tests.support.oauth import query_of

ISSUER = "http://acme-corp.gatehouse.test"
TOKEN_URL = f"{ISSUER}/oauth2/token"
USERINFO_URL = f"{ISSUER}/oauth2/userinfo"


def _client(app, tenant):
    return make_client(
        app,
        tenant,
        token_endpoint_auth_method="none",
        require_pushed_authorization_requests=True,
        dpop_bound_access_tokens=True,
    )


def _code(tc, rp) -> tuple[str, str, dict]:
    verifier, challenge = pkce_pair()
    pushed = push(tc, rp, verifier_challenge=challenge, auth="none")
    assert pushed.status_code == 201, pushed.get_json()
    query = {"client_id": rp.client_id, "request_uri": pushed.get_json()["request_uri"]}
    answer = tc.get("/oauth2/authorize", query_string=query)
    assert answer.status_code == 302, answer.get_data(as_text=True)[:300]
    params = query_of(answer)
    return params["code"], verifier, params


def _token(tc, rp, code, verifier, proof=None):
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": rp.redirect_uri,
        "code_verifier": verifier,
        "client_id": rp.client_id,
    }
    return tc.post("/oauth2/token", data=data, headers={"DPoP": proof} if proof else {})


def _nonce(tc, key) -> str:
    response = tc.post(
        "/oauth2/token",
        data={"grant_type": "authorization_code"},
        headers={"DPoP": key.proof(TOKEN_URL)},
    )
    assert response.get_json()["error"] == "use_dpop_nonce"
    return response.headers["DPoP-Nonce"]


def test_fapi2_security_profile_final_happy_flow_dpop(app, tenant, tc):
    rp = _client(app, tenant)
    key = DPoPKey()
    code, verifier, params = _code(tc, rp)
    assert params["iss"] == ISSUER  # RFC 9207
    nonce = _nonce(tc, key)
    response = _token(tc, rp, code, verifier, key.proof(TOKEN_URL, nonce=nonce))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["token_type"] == "DPoP"
    token = body["access_token"]
    proof = key.proof(USERINFO_URL, "GET", nonce=nonce, access_token=token)
    userinfo = tc.get("/oauth2/userinfo", headers={"Authorization": f"DPoP {token}", "DPoP": proof})
    assert userinfo.status_code == 200, userinfo.get_json()


def test_fapi2_security_profile_final_ensure_token_request_without_dpop_proof_fails(
    app, tenant, tc
):
    rp = _client(app, tenant)
    code, verifier, _params = _code(tc, rp)
    response = _token(tc, rp, code, verifier)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_dpop_proof"


def test_fapi2_security_profile_final_dpop_negative_tests(app, tenant, tc):
    """Proofs refused at the token endpoint, one rule each; then the good one works (the
    code survives every refusal), and a replay of it is refused."""
    rp = _client(app, tenant)
    key = DPoPKey()
    code, verifier, _params = _code(tc, rp)
    nonce = _nonce(tc, key)
    refused = [
        key.proof(f"{ISSUER}/oauth2/par", nonce=nonce),  # htu of another endpoint
        key.proof(TOKEN_URL, "PUT", nonce=nonce),  # htm
        key.proof(TOKEN_URL, nonce=nonce, iat=time.time() - 3600),  # stale
        key.proof(TOKEN_URL, nonce=nonce, typ="JWT"),  # typ
        key.proof(TOKEN_URL, nonce=nonce, jwk=DPoPKey().jwk),  # signature by another key
    ]
    for proof in refused:
        response = _token(tc, rp, code, verifier, proof)
        assert response.status_code == 400
        assert response.get_json()["error"] == "invalid_dpop_proof", response.get_json()
    good = key.proof(TOKEN_URL, nonce=nonce)
    assert _token(tc, rp, code, verifier, good).status_code == 200
    replayed = _token(tc, rp, code, verifier, good)
    assert replayed.get_json()["error"] == "invalid_dpop_proof"


def test_fapi2_security_profile_final_ensure_dpop_bound_token_rejected_as_bearer(app, tenant, tc):
    rp = _client(app, tenant)
    key = DPoPKey()
    code, verifier, _params = _code(tc, rp)
    nonce = _nonce(tc, key)
    token = _token(tc, rp, code, verifier, key.proof(TOKEN_URL, nonce=nonce)).get_json()
    response = tc.get(
        "/oauth2/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"}
    )
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_token"
