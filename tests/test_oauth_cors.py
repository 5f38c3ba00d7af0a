"""CORS on the OAuth endpoints (app/oauth/cors.py): only the origins of a tenant's public
clients may call its token, userinfo and revocation endpoints from a browser."""

from __future__ import annotations

import pytest

from app.extensions import db

SPA = "http://localhost:5001"


@pytest.fixture
def spa_client(app, tenant):
    from app.services import clients

    with app.app_context():
        client, _ = clients.create_client(
            db.session.merge(tenant),
            {
                "client_name": "SPA",
                "redirect_uris": [SPA + "/callback"],
                "grant_types": ["authorization_code", "refresh_token"],
                "token_endpoint_auth_method": "none",
            },
        )
        db.session.commit()
        return client.id


def test_token_endpoint_allows_the_origin_of_a_public_client(tenant_client, tenant, spa_client):
    http = tenant_client(tenant)
    response = http.post(
        "/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": "nope", "client_id": spa_client},
        headers={"Origin": SPA},
    )
    assert response.status_code == 400  # the RFC 6749 error is readable by the SPA
    assert response.headers["Access-Control-Allow-Origin"] == SPA
    assert "Origin" in response.headers["Vary"]
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_preflight_for_userinfo_names_methods_and_headers(tenant_client, tenant, spa_client):
    response = tenant_client(tenant).open(
        "OPTIONS",
        "/oauth2/userinfo",
        headers={
            "Origin": SPA,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == SPA
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]
    assert "GET" in response.headers["Access-Control-Allow-Methods"]


def test_other_origins_and_other_tenants_get_no_cors(
    tenant_client, tenant, other_tenant, spa_client
):
    evil = tenant_client(tenant).post(
        "/oauth2/token",
        data={"grant_type": "refresh_token"},
        headers={"Origin": "https://evil.example"},
    )
    assert "Access-Control-Allow-Origin" not in evil.headers
    # The SPA is a client of acme-corp, not of globex: globex does not answer it.
    other = tenant_client(other_tenant).post(
        "/oauth2/token", data={"grant_type": "refresh_token"}, headers={"Origin": SPA}
    )
    assert "Access-Control-Allow-Origin" not in other.headers
    # Hosted pages never get CORS headers.
    page = tenant_client(tenant).get("/login", headers={"Origin": SPA})
    assert "Access-Control-Allow-Origin" not in page.headers


def test_discovery_jwks_and_sdk_files_are_public(tenant_client, tenant):
    http = tenant_client(tenant)
    for path in (
        "/.well-known/openid-configuration",
        "/.well-known/jwks.json",
        "/static/sdk/gatehouse.js",
    ):
        response = http.get(path, headers={"Origin": SPA})
        assert response.status_code == 200, path
        assert response.headers["Access-Control-Allow-Origin"] == "*", path
