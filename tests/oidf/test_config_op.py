"""The OpenID Foundation's Config OP profile, re-implemented black-box through HTTP: the
discovery document (OpenID Connect Discovery 1.0 §3/§4, RFC 8414) and the keys it points
to. Each test is named after the OIDF module it mirrors."""

from __future__ import annotations

from urllib.parse import urlsplit

import jwt
import pytest

from tests.support.oauth import bearer
from tests.support.oauth import exchange
from tests.support.oauth import header_of
from tests.support.oauth import make_client
from tests.support.oauth import pkce_pair
from tests.support.oauth import query_of
from tests.support.oauth import sign_in

ISSUER = "http://acme-corp.gatehouse.test"
DISCOVERY = "/.well-known/openid-configuration"
# OpenID Connect Discovery 1.0 §3: REQUIRED members.
REQUIRED = {
    "issuer",
    "authorization_endpoint",
    "token_endpoint",  # required unless only the implicit flow is supported
    "jwks_uri",
    "response_types_supported",
    "subject_types_supported",
    "id_token_signing_alg_values_supported",
}
ENDPOINTS = (
    "authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
    "jwks_uri",
    "introspection_endpoint",
    "revocation_endpoint",
    "end_session_endpoint",
    "pushed_authorization_request_endpoint",
)


@pytest.fixture
def doc(tenant, tenant_client):
    response = tenant_client(tenant).get(DISCOVERY)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def _path(url: str) -> str:
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == ISSUER, url
    return parts.path


def test_oidcc_discovery_endpoint_verification(doc):
    assert set(doc) >= REQUIRED
    # §4.3: the issuer is the URL the document was fetched from, minus the well-known path.
    assert doc["issuer"] == ISSUER and not doc["issuer"].endswith("/")
    for name in ENDPOINTS:
        assert doc[name].startswith(ISSUER + "/"), name
    assert "openid" in doc["scopes_supported"]  # §3: SHOULD, and the OIDF suite checks it
    assert "code" in doc["response_types_supported"]
    assert set(doc["response_modes_supported"]) == {"query", "form_post"}
    assert "authorization_code" in doc["grant_types_supported"]
    assert doc["subject_types_supported"] == ["public"]
    assert "RS256" in doc["id_token_signing_alg_values_supported"]  # §3: MUST include RS256
    assert "none" not in doc["id_token_signing_alg_values_supported"]
    assert {"sub", "iss", "aud", "exp", "iat"} <= set(doc["claims_supported"])
    assert doc["code_challenge_methods_supported"] == ["S256"]
    for method in doc["token_endpoint_auth_methods_supported"]:
        assert method in {"client_secret_basic", "client_secret_post", "private_key_jwt", "none"}
    assert doc["authorization_response_iss_parameter_supported"] is True
    # OIDC Core §5.5 and §2: the claims parameter and the acr values it and acr_values use.
    assert doc["claims_parameter_supported"] is True
    assert doc["claim_types_supported"] == ["normal"]
    assert "acr" in doc["claims_supported"]
    assert {"sfa", "mfa"} <= set(doc["acr_values_supported"])
    assert doc["request_parameter_supported"] is True  # signed request objects (RFC 9101)
    assert "none" not in doc["request_object_signing_alg_values_supported"]
    for name in ("token_endpoint", "introspection_endpoint", "revocation_endpoint"):
        algs = doc[f"{name}_auth_signing_alg_values_supported"]  # private_key_jwt
        assert "RS256" in algs and "none" not in algs and not any(a.startswith("HS") for a in algs)
    assert doc["request_uri_parameter_supported"] is False  # only PAR's own request_uri
    assert doc["require_pushed_authorization_requests"] is False


def test_oidcc_discovery_endpoint_verification_answers_under_the_issuer_only(tenant, tenant_client):
    # Fetched under another form of the tenant's address, it sends the RP to the issuer.
    other_form = tenant_client(tenant, path_form=True).get(DISCOVERY)
    assert other_form.status_code in {301, 308}
    assert other_form.headers["Location"] == ISSUER + DISCOVERY


def test_oidcc_discovery_endpoint_verification_documents_are_cacheable_and_public(
    tenant, tenant_client
):
    response = tenant_client(tenant).get(DISCOVERY, headers={"Origin": "https://rp.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    etag = response.headers["ETag"]
    again = tenant_client(tenant).get(DISCOVERY, headers={"If-None-Match": etag})
    assert again.status_code == 304


def test_oidcc_server_jwks_uri_keys_are_usable(doc, tenant, tenant_client):
    response = tenant_client(tenant).get(_path(doc["jwks_uri"]))
    assert response.status_code == 200 and response.mimetype == "application/json"
    keys = response.get_json()["keys"]
    kids = [k["kid"] for k in keys]
    assert len(kids) == len(set(kids))  # a kid names one key
    for key in keys:
        assert key["use"] == "sig" and key["alg"] in doc["id_token_signing_alg_values_supported"]
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)  # public parts only
        jwt.PyJWK(key)  # parses as a verification key


def test_oidcc_server(app, tenant, user, doc, tenant_client):
    """The code flow driven by the discovery document alone: its endpoints, its keys."""
    rp = make_client(app, tenant)
    tc = tenant_client(tenant)
    sign_in(app, tc, tenant, user)
    verifier, challenge = pkce_pair()
    answer = tc.get(
        _path(doc["authorization_endpoint"]),
        query_string={
            "response_type": "code",
            "client_id": rp.client_id,
            "redirect_uri": rp.redirect_uri,
            "scope": "openid email",
            "state": "st-config",
            "nonce": "n-config",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    query = query_of(answer)
    assert query["iss"] == doc["issuer"] and query["state"] == "st-config"
    assert _path(doc["token_endpoint"]) == "/oauth2/token"
    tokens = exchange(tc, rp, query["code"], verifier).get_json()
    keys = tc.get(_path(doc["jwks_uri"])).get_json()["keys"]
    for name, audience in (("id_token", rp.client_id), ("access_token", rp.client_id)):
        key = next(k for k in keys if k["kid"] == header_of(tokens[name])["kid"])
        claims = jwt.decode(
            tokens[name], jwt.PyJWK(key).key, algorithms=[key["alg"]],
            audience=audience, issuer=doc["issuer"],
        )  # fmt: skip
        assert claims["sub"] == user.id
    info = tc.get(_path(doc["userinfo_endpoint"]), headers=bearer(tokens["access_token"]))
    assert info.status_code == 200
    assert info.get_json() == {"sub": user.id, "email": user.email, "email_verified": True}


def test_oidcc_server_pushed_authorization_request_endpoint_works(app, tenant, doc, tenant_client):
    rp = make_client(app, tenant)
    from tests.support.oauth import push

    tc = tenant_client(tenant)
    assert _path(doc["pushed_authorization_request_endpoint"]) == "/oauth2/par"
    response = push(tc, rp)
    assert response.status_code == 201 and response.get_json()["expires_in"] == 60


@pytest.mark.config(TENANT_ROUTING="path")
def test_oidcc_discovery_endpoint_verification_with_path_routing(tenant, tenant_client):
    doc = tenant_client(tenant, path_form=True).get(DISCOVERY).get_json()
    issuer = "http://gatehouse.test/t/acme-corp"
    assert doc["issuer"] == issuer
    assert doc["pushed_authorization_request_endpoint"] == f"{issuer}/oauth2/par"
    assert doc["jwks_uri"] == f"{issuer}/.well-known/jwks.json"
