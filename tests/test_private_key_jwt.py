"""``private_key_jwt`` client authentication (RFC 7523 §2.2, OIDC Core §9) through the HTTP
surface: real key pairs (``cryptography``), assertions signed by PyJWT, ``jwks_uri`` served
by a real HTTP server on loopback."""

from __future__ import annotations

import json
import time

import jwt
import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Client
from tests.support.api import Api
from tests.support.api import create_admin_key
from tests.support.client_keys import assertion_claims
from tests.support.client_keys import assertion_form
from tests.support.client_keys import jwks_of
from tests.support.client_keys import make_key
from tests.support.client_keys import unsigned
from tests.support.console import console_fixtures
from tests.support.oauth import exchange
from tests.support.oauth import get_code
from tests.support.oauth import make_client
from tests.support.receiver import Receiver
from tests.support.receiver import Reply

ISSUER = "http://acme-corp.gatehouse.test"
TOKEN_ENDPOINT = ISSUER + "/oauth2/token"


def key_client(app, tenant, *keys, jwks_uri=None, **data):
    values = {
        "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
        "token_endpoint_auth_method": "private_key_jwt",
        **data,
    }
    if jwks_uri:
        values["jwks_uri"] = jwks_uri
    else:
        values["jwks"] = jwks_of(*keys)
    return make_client(app, tenant, **values)


def cc(tc, assertion: str, **data):
    form = assertion_form(assertion, grant_type="client_credentials", scope="openid", **data)
    return tc.post("/oauth2/token", data=form)


def refused(response, error: str = "invalid_client", status: int = 401) -> str:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"] == error, body
    return body.get("error_description", "")


@pytest.fixture
def key():
    return make_key("RS256", kid="rsa-1")


@pytest.fixture
def kc(app, tenant, key):
    """A private_key_jwt client of ``tenant`` with an inline JWK Set."""
    return key_client(app, tenant, key)


def test_a_client_with_inline_jwks_gets_tokens_and_has_no_secret(tc, kc, key):
    assert kc.secret is None  # keys, not a secret
    response = cc(tc, key.sign(assertion_claims(kc.client_id, ISSUER)))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["token_type"] == "Bearer"
    assert jwt.decode(body["access_token"], options={"verify_signature": False})["client_id"] == (
        kc.client_id
    )
    # The token endpoint URL is an accepted audience too, as is a list of only those two.
    assert cc(tc, key.sign(assertion_claims(kc.client_id, TOKEN_ENDPOINT))).status_code == 200
    both = [ISSUER, TOKEN_ENDPOINT]
    assert cc(tc, key.sign(assertion_claims(kc.client_id, both))).status_code == 200
    # client_id may accompany the assertion, when it is the same client.
    ok = cc(tc, key.sign(assertion_claims(kc.client_id, ISSUER)), client_id=kc.client_id)
    assert ok.status_code == 200


def test_code_flow_with_private_key_jwt_and_each_key_type(app, tenant, tc):
    for alg in ("RS256", "PS256", "ES256", "EdDSA"):
        key = make_key(alg)
        client = key_client(app, tenant, key)
        code, verifier, _query = get_code(tc, client)
        assertion = key.sign(assertion_claims(client.client_id, ISSUER))
        response = exchange(tc, client, code, verifier, **assertion_form(assertion))
        assert response.status_code == 200, (alg, response.get_json())
        assert "id_token" in response.get_json()


def test_a_replayed_assertion_is_refused(tc, kc, key):
    assertion = key.sign(assertion_claims(kc.client_id, ISSUER))
    assert cc(tc, assertion).status_code == 200
    assert "used before" in refused(cc(tc, assertion))


def test_wrong_audiences_are_refused(app, tenant, other_tenant, tc, kc, key):
    for aud in (
        "https://evil.example",
        ISSUER + "/oauth2/introspect",
        "http://globex.gatehouse.test",
        [ISSUER, "https://evil.example"],
        [],
        None,
    ):
        assert "aud" in refused(cc(tc, key.sign(assertion_claims(kc.client_id, aud)))), aud


def test_expired_too_long_lived_and_timeless_assertions_are_refused(tc, kc, key):
    now = int(time.time())
    expired = assertion_claims(kc.client_id, ISSUER, iat=now - 600, exp=now - 300)
    assert "expired" in refused(cc(tc, key.sign(expired)))
    too_long = assertion_claims(kc.client_id, ISSUER, lifetime=3600)
    assert "at most 300" in refused(cc(tc, key.sign(too_long)))
    no_iat_long = assertion_claims(kc.client_id, ISSUER, iat=None, exp=now + 1800)
    assert "at most 300" in refused(cc(tc, key.sign(no_iat_long)))
    no_exp = assertion_claims(kc.client_id, ISSUER, exp=None)
    assert "exp" in refused(cc(tc, key.sign(no_exp)))
    future = assertion_claims(kc.client_id, ISSUER, nbf=now + 120)
    assert "not valid yet" in refused(cc(tc, key.sign(future)))
    no_jti = assertion_claims(kc.client_id, ISSUER, jti=None)
    assert "jti" in refused(cc(tc, key.sign(no_jti)))


def test_alg_none_and_hmac_are_refused(tc, kc, key):
    claims = assertion_claims(kc.client_id, ISSUER)
    assert "alg" in refused(cc(tc, unsigned(claims)))
    hmac = jwt.encode(claims, "a-shared-secret-of-32-bytes-long!", algorithm="HS256")
    assert "alg" in refused(cc(tc, hmac))
    # HS256 "signed" with the client's public key as the secret (key confusion).
    confusion = jwt.encode(
        assertion_claims(kc.client_id, ISSUER),
        b"x" * 32,
        algorithm="HS256",
        headers={"kid": key.kid},
    )
    assert "alg" in refused(cc(tc, confusion))


def test_unknown_kid_and_foreign_key_are_refused(tc, kc, key):
    stranger = make_key("RS256", kid="rsa-2")
    assert "No registered key" in refused(
        cc(tc, stranger.sign(assertion_claims(kc.client_id, ISSUER)))
    )
    impostor = make_key("RS256", kid=key.kid)  # the registered kid, another key
    assert "signature" in refused(cc(tc, impostor.sign(assertion_claims(kc.client_id, ISSUER))))


def test_iss_sub_and_client_id_must_all_be_the_client(app, tenant, tc, kc, key):
    other = key_client(app, tenant, key)
    claims = assertion_claims(kc.client_id, ISSUER, iss=other.client_id)
    assert "iss and sub" in refused(cc(tc, key.sign(claims)))
    good = key.sign(assertion_claims(kc.client_id, ISSUER))
    assert "client_id" in refused(cc(tc, good, client_id=other.client_id))


def test_a_client_of_tenant_a_cannot_assert_at_tenant_b(
    app, tenant, other_tenant, tenant_client, kc, key
):
    globex = tenant_client(other_tenant)
    for aud in (ISSUER, "http://globex.gatehouse.test"):
        response = cc(globex, key.sign(assertion_claims(kc.client_id, aud)))
        assert "does not exist" in refused(response)


def test_the_registered_method_is_the_only_one(app, tenant, tc, rp, kc, key):
    # A private_key_jwt client cannot fall back to a secret or to none ...
    form = {"grant_type": "client_credentials", "client_id": kc.client_id}
    refused(tc.post("/oauth2/token", data=form))
    refused(tc.post("/oauth2/token", data={**form, "client_secret": "guess"}))
    # ... and a client_secret_basic client cannot authenticate with an assertion, even
    # signed by a key it registered for request objects.
    secretive = make_client(
        app, tenant, grant_types=["client_credentials"], jwks=jwks_of(key), redirect_uris=[]
    )
    refused(cc(tc, key.sign(assertion_claims(secretive.client_id, ISSUER))))


def test_jwks_uri_is_fetched_cached_and_refetched_for_a_new_kid(app, tenant, tc):
    first, second = make_key("ES256", kid="k1"), make_key("RS256", kid="k2")
    published = {"jwks": jwks_of(first)}
    with Receiver(lambda method, path: Reply(body=published["jwks"])) as rp_server:
        client = key_client(app, tenant, jwks_uri=rp_server.url("/jwks.json"))
        for _ in range(2):
            assert cc(tc, first.sign(assertion_claims(client.client_id, ISSUER))).status_code == 200
        assert len(rp_server.hits) == 1  # kept by the worker
        # The client rotates: a new kid makes one refetch, and it is accepted at once.
        published["jwks"] = jwks_of(first, second)
        response = cc(tc, second.sign(assertion_claims(client.client_id, ISSUER)))
        assert response.status_code == 200, response.get_json()
        assert len(rp_server.hits) == 2
        # Unknown kids do not make the server a fetcher: one refetch per interval.
        stranger = make_key("RS256", kid="k3")
        for _ in range(3):
            refused(cc(tc, stranger.sign(assertion_claims(client.client_id, ISSUER))))
        assert len(rp_server.hits) == 2


@pytest.mark.config(OUTBOUND_ALLOW_PRIVATE=False)
def test_a_private_jwks_uri_is_refused_by_the_outbound_guard(app, tenant):
    from app.services import clients
    from app.services.errors import ValidationFailed

    with app.app_context(), pytest.raises(ValidationFailed) as caught:
        clients.create_client(
            tenant,
            {
                "client_name": "Internal",
                "grant_types": ["client_credentials"],
                "token_endpoint_auth_method": "private_key_jwt",
                "jwks_uri": "http://127.0.0.1:9/jwks.json",
            },
        )
    assert "public address" in caught.value.errors["jwks_uri"]


def test_unreachable_jwks_uri_is_invalid_client_not_a_500(app, tenant, tc):
    from tests.support.receiver import closed_port

    client = key_client(app, tenant, jwks_uri=f"http://127.0.0.1:{closed_port()}/jwks")
    key = make_key()
    assert "could not be fetched" in refused(
        cc(tc, key.sign(assertion_claims(client.client_id, ISSUER)))
    )


def test_introspection_revocation_par_and_device_accept_private_key_jwt(app, tenant, tc, key):
    device = "urn:ietf:params:oauth:grant-type:device_code"
    client = key_client(
        app,
        tenant,
        key,
        grant_types=["authorization_code", "refresh_token", "client_credentials", device],
    )

    def signed():
        return assertion_form(key.sign(assertion_claims(client.client_id, ISSUER)))

    token = cc(tc, key.sign(assertion_claims(client.client_id, ISSUER))).get_json()["access_token"]
    answer = tc.post("/oauth2/introspect", data={"token": token, **signed()})
    assert answer.status_code == 200 and answer.get_json()["active"] is True
    assert tc.post("/oauth2/revoke", data={"token": token, **signed()}).status_code == 200
    assert tc.post("/oauth2/introspect", data={"token": token, **signed()}).get_json() == {
        "active": False
    }
    pushed = tc.post(
        "/oauth2/par",
        data={
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": client.redirect_uri,
            "scope": "openid",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
            **signed(),
        },
    )
    assert pushed.status_code == 201, pushed.get_json()
    started = tc.post("/oauth2/device_authorization", data={"scope": "openid", **signed()})
    assert started.status_code == 200, started.get_json()
    assert started.get_json()["device_code"]


@pytest.mark.config(CLIENT_AUTH_FAILURE_LIMIT="2 per minute")
def test_failed_assertions_count_toward_the_failure_limit(tc, kc, key):
    bad = make_key("RS256", kid="nope")
    statuses = [
        cc(tc, bad.sign(assertion_claims(kc.client_id, ISSUER))).status_code for _ in range(3)
    ]
    assert statuses == [401, 401, 429]


def test_admin_api_registers_keys_and_refuses_private_keys(app, tenant, key):
    api = Api(app, create_admin_key(app, tenant))
    base = {
        "client_name": "Signer",
        "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "private_key_jwt",
    }
    created = api.post(f"/tenants/{tenant.slug}/clients", json={**base, "jwks": jwks_of(key)})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert "client_secret" not in body or body["client_secret"] is None
    assert body["jwks"]["keys"][0]["kid"] == key.kid and body["jwks_uri"] is None
    for bad, field in (
        ({"jwks": {"keys": [key.private_jwk]}}, "jwks"),
        ({"jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}, "jwks"),
        ({}, "jwks"),
        ({"jwks": jwks_of(key), "jwks_uri": "https://rp.example/jwks"}, "jwks_uri"),
    ):
        answer = api.post(f"/tenants/{tenant.slug}/clients", json={**base, **bad})
        assert answer.status_code in (400, 422), answer.get_json()
        assert field in str(answer.get_json()), answer.get_json()
    # Rotating a secret makes no sense for a key-authenticated client.
    rotated = api.post(f"/tenants/{tenant.slug}/clients/{body['client_id']}/secret")
    assert rotated.status_code in (400, 422)


make_console = console_fixtures()


def test_the_console_registers_a_private_key_jwt_client(app, tenant, tc, make_console, key):
    admin = make_console(tenant, "boss@acme.example")
    form = {
        "client_name": "Signer",
        "redirect_uris": "",
        "post_logout_redirect_uris": "",
        "grant_types": ["client_credentials"],
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": ["openid"],
        "id_token_signed_response_alg": "RS256",
        "roles": "",
        "jwks": json.dumps(jwks_of(key)),
    }
    bad = admin.submit("/admin/clients/new", {**form, "jwks": "not json"})
    assert bad.status_code == 422 and "JWK Set" in bad.get_data(as_text=True)
    private = admin.submit("/admin/clients/new", {**form, "jwks": json.dumps(key.private_jwk)})
    assert private.status_code == 422
    created = admin.submit("/admin/clients/new", form)
    page = created.get_data(as_text=True)
    assert created.status_code == 200 and "private_key_jwt" in page
    assert "shown only this once" not in page  # no secret
    with app.app_context():
        row = db.session.scalar(select(Client).where(Client.client_name == "Signer"))
    assert cc(tc, key.sign(assertion_claims(row.id, ISSUER))).status_code == 200


def test_the_cli_registers_a_private_key_jwt_client(app, runner, tenant, tc):
    key = make_key("ES256", kid="cli-key")
    with Receiver(lambda method, path: Reply(body=jwks_of(key))) as server:
        result = runner.invoke(
            args=[
                "clients", "create", "--tenant", tenant.slug, "--name", "Nightly job",
                "--grant-type", "client_credentials", "--auth-method", "private_key_jwt",
                "--jwks-uri", server.url("/jwks"),
            ]
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert "client_secret" not in result.output
        client_id = result.output.split("client_id: ")[1].split()[0]
        assert cc(tc, key.sign(assertion_claims(client_id, ISSUER))).status_code == 200
