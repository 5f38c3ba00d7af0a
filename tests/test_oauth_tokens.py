"""Token endpoint grants beyond the first code exchange: refresh rotation and reuse
detection, client_credentials, introspection and revocation."""

from __future__ import annotations

from datetime import timedelta

from tests.support.oauth import basic_auth
from tests.support.oauth import bearer
from tests.support.oauth import claims_of
from tests.support.oauth import introspect
from tests.support.oauth import login_tokens
from tests.support.oauth import make_client
from tests.support.oauth import refresh


def test_refresh_rotates_and_reuse_revokes_the_family(tc, rp, user):
    first = login_tokens(tc, rp)
    second = refresh(tc, rp, first["refresh_token"])
    assert second.status_code == 200 and second.headers["Cache-Control"] == "no-store"
    body = second.get_json()
    assert body["refresh_token"] != first["refresh_token"]
    assert claims_of(body["access_token"])["sub"] == user.id
    assert claims_of(body["id_token"])["sub"] == user.id

    replay = refresh(tc, rp, first["refresh_token"])  # the rotated one, presented again
    assert replay.status_code == 400 and replay.get_json()["error"] == "invalid_grant"
    # the whole family is gone: the newest refresh token and its access token too
    assert refresh(tc, rp, body["refresh_token"]).get_json()["error"] == "invalid_grant"
    assert introspect(tc, rp, body["access_token"]) == {"active": False}
    assert tc.get("/oauth2/userinfo", headers=bearer(body["access_token"])).status_code == 401


def test_refresh_is_bound_to_its_client(app, tenant, tc, rp):
    other = make_client(app, tenant, client_name="Other")
    tokens = login_tokens(tc, rp)
    assert refresh(tc, other, tokens["refresh_token"]).get_json()["error"] == "invalid_grant"
    assert refresh(tc, rp, tokens["refresh_token"]).status_code == 200


def test_refresh_idle_and_absolute_expiry(app, tenant, tc, rp):
    from app.extensions import db
    from app.models import Grant
    from app.models import RefreshToken
    from app.models.base import utcnow
    from app.tenancy import scope

    idle = login_tokens(tc, rp)
    absolute = login_tokens(tc, rp)
    with app.app_context():
        for row in scope(tenant).all(RefreshToken):
            if claims_of(idle["access_token"])["jti"].startswith(row.grant_id):
                row.expires_at = utcnow() - timedelta(seconds=1)
        for grant in scope(tenant).all(Grant):
            if claims_of(absolute["access_token"])["jti"].startswith(grant.id):
                grant.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert refresh(tc, rp, idle["refresh_token"]).get_json()["error"] == "invalid_grant"
    assert refresh(tc, rp, absolute["refresh_token"]).get_json()["error"] == "invalid_grant"


def test_no_refresh_token_without_the_grant_type(app, tenant, tc):
    rp = make_client(app, tenant, grant_types=["authorization_code"])
    assert "refresh_token" not in login_tokens(tc, rp)


def test_client_credentials(app, tenant, tenant_client):
    service = make_client(
        app,
        tenant,
        client_name="Backend",
        grant_types=["client_credentials"],
        redirect_uris=[],
        scope="profile email",
        roles=["reporter", "sync"],
    )
    tc = tenant_client(tenant)
    response = tc.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials"},
        headers=basic_auth(service.client_id, service.secret),
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert "refresh_token" not in body and "id_token" not in body
    claims = claims_of(body["access_token"])
    assert claims["sub"] == service.client_id and claims["client_id"] == service.client_id
    assert claims["tenant_id"] == tenant.id and claims["roles"] == ["reporter", "sync"]
    assert "sid" not in claims and claims["scope"] == "profile email"
    assert introspect(tc, service, body["access_token"])["active"] is True
    # no user behind it: userinfo refuses (and the token has no openid scope anyway)
    assert tc.get("/oauth2/userinfo", headers=bearer(body["access_token"])).status_code in {
        401,
        403,
    }


def test_client_credentials_needs_the_grant_type(tc, rp):
    response = tc.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials"},
        headers=basic_auth(rp.client_id, rp.secret),
    )
    assert response.get_json()["error"] == "unauthorized_client"


def test_introspection(tc, rp, user, tenant):
    tokens = login_tokens(tc, rp)
    body = introspect(tc, rp, tokens["access_token"])
    assert body["active"] is True and body["sub"] == user.id and body["tenant_id"] == tenant.id
    assert body["client_id"] == rp.client_id and body["scope"] == "openid profile email"
    refreshed = introspect(tc, rp, tokens["refresh_token"])
    assert refreshed["active"] is True and refreshed["token_type"] == "refresh_token"
    assert introspect(tc, rp, "garbage") == {"active": False}
    anonymous = tc.post("/oauth2/introspect", data={"token": tokens["access_token"]})
    assert anonymous.status_code == 401


def test_public_clients_cannot_introspect(app, tenant, tc):
    spa = make_client(app, tenant, token_endpoint_auth_method="none")
    response = tc.post("/oauth2/introspect", data={"token": "x", "client_id": spa.client_id})
    assert response.status_code in {400, 401}
    assert response.get_json()["error"] == "invalid_client"


def test_revoke_access_and_refresh_tokens(tc, rp):
    tokens = login_tokens(tc, rp)
    response = tc.post(
        "/oauth2/revoke",
        data={"token": tokens["access_token"], "token_type_hint": "access_token"},
        headers=basic_auth(rp.client_id, rp.secret),
    )
    assert response.status_code == 200
    assert introspect(tc, rp, tokens["access_token"]) == {"active": False}
    assert tc.get("/oauth2/userinfo", headers=bearer(tokens["access_token"])).status_code == 401
    assert introspect(tc, rp, tokens["refresh_token"])["active"] is True

    other = login_tokens(tc, rp)
    tc.post(
        "/oauth2/revoke",
        data={"token": other["refresh_token"]},
        headers=basic_auth(rp.client_id, rp.secret),
    )
    assert introspect(tc, rp, other["refresh_token"]) == {"active": False}
    assert introspect(tc, rp, other["access_token"]) == {"active": False}
    unknown = tc.post(
        "/oauth2/revoke", data={"token": "nope"}, headers=basic_auth(rp.client_id, rp.secret)
    )
    assert unknown.status_code == 200  # RFC 7009 §2.2


def test_token_endpoint_rejects_get_and_garbage(tc, rp):
    assert tc.get("/oauth2/token").status_code == 405
    response = tc.post("/oauth2/token", data={}, headers=basic_auth(rp.client_id, rp.secret))
    assert response.status_code == 400 and response.get_json()["error"]


def test_access_token_lifetime_from_settings(app, tenant, tc, rp):
    from app.extensions import db
    from app.models import Tenant
    from app.services.settings import update_settings

    with app.app_context():
        update_settings(db.session.get(Tenant, tenant.id), {"access_token_ttl_seconds": 120})
        db.session.commit()
    tokens = login_tokens(tc, rp)
    claims = claims_of(tokens["access_token"])
    assert claims["exp"] - claims["iat"] == 120 and tokens["expires_in"] == 120
