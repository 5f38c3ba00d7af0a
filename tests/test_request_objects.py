"""Signed request objects (RFC 9101, JAR) at /oauth2/authorize and /oauth2/par, through
the HTTP surface: real keys (``cryptography``), request objects signed by PyJWT."""

from __future__ import annotations

import secrets
import time

import jwt
import pytest

from tests.support.client_keys import jwks_of
from tests.support.client_keys import make_key
from tests.support.client_keys import unsigned
from tests.support.oauth import authorize
from tests.support.oauth import exchange
from tests.support.oauth import make_client
from tests.support.oauth import pkce_pair
from tests.support.oauth import push
from tests.support.oauth import query_of
from tests.support.oauth import sign_in
from tests.support.receiver import Receiver
from tests.support.receiver import Reply

ISSUER = "http://acme-corp.gatehouse.test"


@pytest.fixture
def key():
    return make_key("ES256", kid="ro-1")


@pytest.fixture
def jc(app, tenant, key):
    """A confidential client that signs its request objects (inline jwks)."""
    return make_client(app, tenant, jwks=jwks_of(key))


def request_claims(client, challenge: str, *, lifetime: int = 300, **extra) -> dict:
    now = int(time.time())
    claims = {
        "iss": client.client_id,
        "aud": ISSUER,
        "client_id": client.client_id,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "jti": secrets.token_urlsafe(12),
        "response_type": "code",
        "redirect_uri": client.redirect_uri,
        "scope": "openid profile",
        "state": "st-signed",
        "nonce": "n-signed",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    return {k: v for k, v in claims.items() if v is not None}


def with_request(tc, client_id: str, request_object: str, **query):
    return tc.get(
        "/oauth2/authorize",
        query_string={"client_id": client_id, "request": request_object, **query},
    )


def refused_page(response, error: str = "invalid_request_object") -> str:
    assert response.status_code == 400, response.status_code
    assert "Location" not in response.headers  # never sent back to an unverified client
    page = response.get_data(as_text=True)
    assert f'<code class="oauth-error-code">{error}</code>' in page, page[:800]
    return page


def test_a_signed_request_object_replaces_the_query_and_the_code_flow_completes(tc, jc, key):
    verifier, challenge = pkce_pair()
    signed = key.sign(request_claims(jc, challenge))
    # RFC 9101 §6.3: only the request object's parameters count; these are ignored.
    answer = with_request(tc, jc.client_id, signed, scope="openid email", state="st-evil")
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    query = query_of(answer)
    assert query["state"] == "st-signed" and query["iss"] == ISSUER
    tokens = exchange(tc, jc, query["code"], verifier)
    assert tokens.status_code == 200, tokens.get_json()
    body = tokens.get_json()
    assert body["scope"] == "openid profile"
    assert jwt.decode(body["id_token"], options={"verify_signature": False})["nonce"] == "n-signed"


def test_a_signed_out_request_object_survives_sign_in_as_a_handle(
    app, tenant, user, tenant_client, jc, key
):
    browser = tenant_client(tenant)
    verifier, challenge = pkce_pair()
    signed = key.sign(request_claims(jc, challenge))
    to_login = with_request(browser, jc.client_id, signed)
    assert to_login.status_code == 302 and "/login?" in to_login.headers["Location"]
    assert signed not in to_login.headers["Location"]  # a handle, not the JWT
    sign_in(app, browser, tenant, user)
    from urllib.parse import parse_qs
    from urllib.parse import urlsplit

    back = parse_qs(urlsplit(to_login.headers["Location"]).query)["next"][0]
    answer = browser.get(back)
    assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
    query = query_of(answer)
    assert query["state"] == "st-signed"
    assert exchange(browser, jc, query["code"], verifier).status_code == 200


def test_each_algorithm_and_a_jwks_uri(app, tenant, tc):
    for alg in ("RS256", "PS256", "EdDSA"):
        key = make_key(alg)
        client = make_client(app, tenant, jwks=jwks_of(key))
        _verifier, challenge = pkce_pair()
        answer = with_request(tc, client.client_id, key.sign(request_claims(client, challenge)))
        assert answer.status_code == 302 and "code" in query_of(answer), alg
    key = make_key("ES256")
    with Receiver(lambda method, path: Reply(body=jwks_of(key))) as server:
        client = make_client(app, tenant, jwks_uri=server.url("/jwks"))
        _verifier, challenge = pkce_pair()
        answer = with_request(tc, client.client_id, key.sign(request_claims(client, challenge)))
        assert answer.status_code == 302 and "code" in query_of(answer)


def test_a_public_client_may_sign_request_objects(app, tenant, tc, key):
    public = make_client(app, tenant, token_endpoint_auth_method="none", jwks=jwks_of(key))
    verifier, challenge = pkce_pair()
    answer = with_request(tc, public.client_id, key.sign(request_claims(public, challenge)))
    assert answer.status_code == 302
    assert exchange(tc, public, query_of(answer)["code"], verifier).status_code == 200


def test_bad_signature_unknown_key_and_alg_none_are_refused(tc, jc, key):
    _verifier, challenge = pkce_pair()
    claims = request_claims(jc, challenge)
    impostor = make_key("ES256", kid=key.kid)
    assert "signature" in refused_page(with_request(tc, jc.client_id, impostor.sign(claims)))
    stranger = make_key("ES256", kid="other")
    assert "No registered key" in refused_page(
        with_request(tc, jc.client_id, stranger.sign(claims))
    )
    assert "alg" in refused_page(with_request(tc, jc.client_id, unsigned(claims)))
    hmac = jwt.encode(claims, "a-shared-secret-of-32-bytes-long!", algorithm="HS256")
    assert "alg" in refused_page(with_request(tc, jc.client_id, hmac))
    tampered = key.sign(claims).split(".")
    tampered[1] = jwt.utils.base64url_encode(b'{"iss":"x"}').decode()
    refused_page(with_request(tc, jc.client_id, ".".join(tampered)))


def test_client_id_iss_and_aud_must_match(app, tenant, tc, jc, key):
    _verifier, challenge = pkce_pair()
    other = make_client(app, tenant, jwks=jwks_of(key))
    # Signed with a key both clients registered, but naming the other client.
    mismatch = key.sign(request_claims(jc, challenge, client_id=other.client_id))
    assert "client_id" in refused_page(with_request(tc, jc.client_id, mismatch))
    foreign_iss = key.sign(request_claims(jc, challenge, iss=other.client_id))
    assert "iss" in refused_page(with_request(tc, jc.client_id, foreign_iss))
    # The query's client_id is the other client's: its keys verify, but iss is jc.
    own = key.sign(request_claims(jc, challenge))
    refused_page(with_request(tc, other.client_id, own))
    for aud in ("https://evil.example", "http://globex.gatehouse.test", None):
        signed = key.sign(request_claims(jc, challenge, aud=aud))
        assert "aud" in refused_page(with_request(tc, jc.client_id, signed)), aud
    missing = tc.get("/oauth2/authorize", query_string={"request": own})
    assert "client_id" in refused_page(missing)


def test_expiry_lifetime_replay_and_nesting(tc, jc, key):
    _verifier, challenge = pkce_pair()
    now = int(time.time())
    expired = request_claims(jc, challenge, iat=now - 900, nbf=None, exp=now - 600)
    assert "expired" in refused_page(with_request(tc, jc.client_id, key.sign(expired)))
    too_long = request_claims(jc, challenge, lifetime=7200)
    assert "at most" in refused_page(with_request(tc, jc.client_id, key.sign(too_long)))
    no_exp = request_claims(jc, challenge, exp=None)
    assert "exp" in refused_page(with_request(tc, jc.client_id, key.sign(no_exp)))
    nested = request_claims(jc, challenge, request_uri="https://rp.example/ro")
    assert "request_uri" in refused_page(with_request(tc, jc.client_id, key.sign(nested)))
    once = key.sign(request_claims(jc, challenge))
    assert with_request(tc, jc.client_id, once).status_code == 302
    assert "used before" in refused_page(with_request(tc, jc.client_id, once))


def test_a_client_without_keys_and_request_with_request_uri(tc, rp, jc, key):
    _verifier, challenge = pkce_pair()
    signed = key.sign(request_claims(rp, challenge))
    assert "no keys" in refused_page(with_request(tc, rp.client_id, signed))
    both = with_request(
        tc, jc.client_id, key.sign(request_claims(jc, challenge)), request_uri="urn:x"
    )
    refused_page(both, "invalid_request")


def test_a_request_object_of_tenant_a_is_refused_at_tenant_b(
    app, tenant, other_tenant, tenant_client, jc, key
):
    globex = tenant_client(other_tenant)
    _verifier, challenge = pkce_pair()
    for aud in (ISSUER, "http://globex.gatehouse.test"):
        signed = key.sign(request_claims(jc, challenge, aud=aud))
        assert "unknown" in refused_page(with_request(globex, jc.client_id, signed))


def test_a_request_object_pushed_to_par(tc, jc, key):
    verifier, challenge = pkce_pair()
    signed = key.sign(request_claims(jc, challenge))
    pushed = push(tc, jc, verifier_challenge=False, request=signed, state="st-ignored")
    assert pushed.status_code == 201, pushed.get_json()
    request_uri = pushed.get_json()["request_uri"]
    answer = tc.get(
        "/oauth2/authorize", query_string={"client_id": jc.client_id, "request_uri": request_uri}
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)[:300]
    query = query_of(answer)
    assert query["state"] == "st-signed"
    assert exchange(tc, jc, query["code"], verifier).status_code == 200


def test_par_refuses_bad_request_objects_as_json(app, tenant, tc, jc, key):
    _verifier, challenge = pkce_pair()

    def error_of(request_object: str) -> dict:
        response = push(tc, jc, verifier_challenge=False, request=request_object)
        assert response.status_code == 400, response.get_data(as_text=True)
        assert response.headers["Cache-Control"] == "no-store"
        return response.get_json()

    claims = request_claims(jc, challenge)
    assert error_of(unsigned(claims))["error"] == "invalid_request_object"
    assert error_of(make_key("ES256", kid=key.kid).sign(claims))["error"] == (
        "invalid_request_object"
    )
    other = make_client(app, tenant, jwks=jwks_of(key))
    assert error_of(key.sign(request_claims(other, challenge)))["error"] == (
        "invalid_request_object"
    )
    # What /oauth2/authorize would refuse inside the object is refused too.
    bad_uri = key.sign(request_claims(jc, challenge, redirect_uri="https://evil.example/cb"))
    assert error_of(bad_uri)["error"] == "invalid_request"


def test_a_client_that_requires_par_cannot_bypass_it_with_a_request_object(app, tenant, tc, key):
    client = make_client(app, tenant, jwks=jwks_of(key), require_pushed_authorization_requests=True)
    _verifier, challenge = pkce_pair()
    answer = with_request(tc, client.client_id, key.sign(request_claims(client, challenge)))
    assert answer.status_code == 302
    assert query_of(answer)["error"] == "invalid_request"


def test_plain_requests_are_unchanged(tc, rp):
    answer = authorize(tc, rp)
    assert answer.status_code == 302 and "code" in query_of(answer)
