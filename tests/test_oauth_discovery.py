"""Discovery and JWKS per tenant (OIDC Discovery 1.0, RFC 8414)."""

from __future__ import annotations

import pytest


def test_discovery_document(tenant, tenant_client):
    response = tenant_client(tenant).get("/.well-known/openid-configuration")
    assert response.status_code == 200
    doc = response.get_json()
    issuer = "http://acme-corp.gatehouse.test"
    assert doc["issuer"] == issuer
    assert doc["authorization_endpoint"] == f"{issuer}/oauth2/authorize"
    assert doc["jwks_uri"] == f"{issuer}/.well-known/jwks.json"
    assert doc["end_session_endpoint"] == f"{issuer}/oauth2/logout"
    assert doc["response_types_supported"] == ["code"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert {"RS256", "ES256"} <= set(doc["id_token_signing_alg_values_supported"])
    assert doc["authorization_response_iss_parameter_supported"] is True
    assert set(doc["grant_types_supported"]) == {
        "authorization_code",
        "refresh_token",
        "client_credentials",
        "urn:ietf:params:oauth:grant-type:device_code",
        "urn:ietf:params:oauth:grant-type:token-exchange",
    }
    assert doc["device_authorization_endpoint"] == f"{issuer}/oauth2/device_authorization"
    assert "implicit" not in doc["grant_types_supported"]
    assert set(doc["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "none",
    }
    assert {"tenant_id", "org_id", "email", "sid"} <= set(doc["claims_supported"])
    assert {"introspection_endpoint", "revocation_endpoint", "userinfo_endpoint"} <= set(doc)


def test_each_tenant_has_its_own_issuer_and_keys(tenant, other_tenant, tenant_client):
    acme, globex = tenant_client(tenant), tenant_client(other_tenant)
    assert globex.get("/.well-known/openid-configuration").get_json()["issuer"] == (
        "http://globex.gatehouse.test"
    )
    acme_kids = {k["kid"] for k in acme.get("/.well-known/jwks.json").get_json()["keys"]}
    globex_kids = {k["kid"] for k in globex.get("/.well-known/jwks.json").get_json()["keys"]}
    assert acme_kids and globex_kids and not acme_kids & globex_kids


def test_jwks_publishes_public_keys_only(tenant, tenant_client):
    keys = tenant_client(tenant).get("/.well-known/jwks.json").get_json()["keys"]
    assert {k["alg"] for k in keys} == {"RS256", "ES256"}
    for key in keys:
        assert key["use"] == "sig" and key["kid"].startswith("key_")
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)


def test_path_form_redirects_to_the_canonical_issuer(tenant, tenant_client):
    response = tenant_client(tenant, path_form=True).get("/.well-known/openid-configuration")
    assert response.status_code in {301, 308}
    assert response.headers["Location"] == (
        "http://acme-corp.gatehouse.test/.well-known/openid-configuration"
    )


@pytest.mark.config(TENANT_ROUTING="path")
def test_path_routing_issuer(tenant, tenant_client):
    doc = tenant_client(tenant, path_form=True).get("/.well-known/openid-configuration")
    assert doc.status_code == 200
    assert doc.get_json()["issuer"] == "http://gatehouse.test/t/acme-corp"
    assert doc.get_json()["token_endpoint"] == "http://gatehouse.test/t/acme-corp/oauth2/token"
    sub = tenant_client(tenant).get("/.well-known/openid-configuration")
    assert (
        sub.headers["Location"]
        == "http://gatehouse.test/t/acme-corp/.well-known/openid-configuration"
    )
