"""OIDF-style modules for ``private_key_jwt`` (RFC 7523) and signed request objects
(RFC 9101), named as the OpenID Foundation's suite names them (FAPI 2.0 Security Profile
and OIDC Config plans). Gatehouse accepts the issuer or the token endpoint URL as an
assertion's ``aud`` (issue #19), so the FAPI 2.0 Final modules that insist on the issuer
alone (``…-par-test-token-endpoint-url-as-audience-fails``) are not here."""

from __future__ import annotations

import time

import pytest

from tests.support.client_keys import assertion_claims
from tests.support.client_keys import assertion_form
from tests.support.client_keys import jwks_of
from tests.support.client_keys import make_key
from tests.support.client_keys import unsigned
from tests.support.oauth import exchange
from tests.support.oauth import get_code
from tests.support.oauth import make_client
from tests.support.oauth import pkce_pair
from tests.support.oauth import push
from tests.support.oauth import query_of

ISSUER = "http://acme-corp.gatehouse.test"
PREFIX = "fapi2-security-profile-final-"


@pytest.fixture
def key():
    return make_key("PS256")


@pytest.fixture
def client(app, tenant, key):
    return make_client(app, tenant, token_endpoint_auth_method="private_key_jwt", jwks=jwks_of(key))


def _code_exchange(tc, client, key, **claims):
    code, verifier, _query = get_code(tc, client)
    aud = claims.pop("aud", ISSUER)
    assertion = key.sign(assertion_claims(client.client_id, aud, **claims))
    return exchange(tc, client, code, verifier, **assertion_form(assertion))


def _invalid_client(response):
    assert response.status_code in (400, 401), response.get_data(as_text=True)
    assert response.get_json()["error"] == "invalid_client"


def _par(tc, client, key, **claims):
    aud = claims.pop("aud", ISSUER)
    assertion = key.sign(assertion_claims(client.client_id, aud, **claims))
    return push(tc, client, auth="none", **assertion_form(assertion))


def test_fapi2_security_profile_final_ensure_client_assertion_in_token_endpoint(tc, client, key):
    response = _code_exchange(tc, client, key)
    assert response.status_code == 200, response.get_json()
    assert {"access_token", "id_token", "refresh_token"} <= set(response.get_json())


def test_fapi2_security_profile_final_ensure_client_assertion_with_exp_is_5_minutes_in_past_fails(
    tc, client, key
):
    now = int(time.time())
    _invalid_client(_code_exchange(tc, client, key, iat=now - 360, exp=now - 300))


def test_fapi2_security_profile_final_ensure_client_assertion_with_wrong_aud_fails(tc, client, key):
    _invalid_client(_code_exchange(tc, client, key, aud="https://wrong.example"))


def test_fapi2_security_profile_final_ensure_client_assertion_with_no_sub_fails(tc, client, key):
    _invalid_client(_code_exchange(tc, client, key, sub=None))


def test_fapi2_security_profile_final_par_ensure_jwt_client_assertions_nbf_8_seconds_in_the_future_is_accepted(  # noqa: E501
    tc, client, key
):
    response = _par(tc, client, key, nbf=int(time.time()) + 8)
    assert response.status_code == 201, response.get_json()


def test_fapi2_security_profile_final_par_ensure_jwt_client_assertions_nbf_over_60_seconds_in_the_future_fails(  # noqa: E501
    tc, client, key
):
    _invalid_client(_par(tc, client, key, nbf=int(time.time()) + 70))


def test_fapi2_security_profile_final_par_test_par_endpoint_url_as_audience_fails(tc, client, key):
    _invalid_client(_par(tc, client, key, aud=ISSUER + "/oauth2/par"))


# --- request objects ---------------------------------------------------------------------


def _request_object(client, challenge, **extra) -> dict:
    now = int(time.time())
    claims = {
        "iss": client.client_id,
        "aud": ISSUER,
        "client_id": client.client_id,
        "iat": now,
        "exp": now + 300,
        "response_type": "code",
        "redirect_uri": client.redirect_uri,
        "scope": "openid",
        "state": "st-inside",
        "nonce": "n-inside",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    return {k: v for k, v in claims.items() if v is not None}


def _authorize(tc, client, request_object, **outside):
    query = {"client_id": client.client_id, "request": request_object, **outside}
    return tc.get("/oauth2/authorize", query_string=query)


def test_oidcc_unsigned_request_object_supported_correctly_or_rejected_as_unsupported(tc, client):
    """Rejected: an unsigned (``alg: none``) request object is never accepted here."""
    _verifier, challenge = pkce_pair()
    response = _authorize(tc, client, unsigned(_request_object(client, challenge)))
    assert response.status_code == 400
    assert "invalid_request_object" in response.get_data(as_text=True)


def test_oidcc_ensure_request_object_with_redirect_uri(tc, client, key):
    verifier, challenge = pkce_pair()
    response = _authorize(tc, client, key.sign(_request_object(client, challenge)))
    assert response.status_code == 302
    assert response.headers["Location"].startswith(client.redirect_uri + "?")
    query = query_of(response)
    assert query["iss"] == ISSUER
    signed = assertion_form(key.sign(assertion_claims(client.client_id, ISSUER)))
    assert exchange(tc, client, query["code"], verifier, **signed).status_code == 200


def test_fapi2_security_profile_final_ensure_request_object_without_redirect_uri_fails(
    tc, client, key
):
    _verifier, challenge = pkce_pair()
    signed = key.sign(_request_object(client, challenge, redirect_uri=None))
    response = _authorize(tc, client, signed, redirect_uri=client.redirect_uri)
    assert response.status_code == 400 and "Location" not in response.headers


def test_fapi2_security_profile_final_ensure_different_state_inside_and_outside_request_object(
    tc, client, key
):
    _verifier, challenge = pkce_pair()
    signed = key.sign(_request_object(client, challenge))
    response = _authorize(tc, client, signed, state="st-outside", nonce="n-outside")
    assert query_of(response)["state"] == "st-inside"


def test_fapi2_security_profile_final_state_only_outside_request_object_not_used(tc, client, key):
    _verifier, challenge = pkce_pair()
    signed = key.sign(_request_object(client, challenge, state=None))
    response = _authorize(tc, client, signed, state="st-outside")
    assert response.status_code == 302 and "state" not in query_of(response)
