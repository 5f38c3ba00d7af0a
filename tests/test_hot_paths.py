"""What keeps the token endpoints fast (bench/RESULTS.md): keys made per algorithm on first
use, bounded LRU key caches, cached client lookups that still honour changes at once,
and one round trip for both revocation checks of an access token."""

from __future__ import annotations

import contextlib

import pytest
from sqlalchemy import event

from tests.support.oauth import basic_auth
from tests.support.oauth import bearer
from tests.support.oauth import header_of
from tests.support.oauth import login_tokens
from tests.support.oauth import make_client
from tests.support.oauth import sign_in


@contextlib.contextmanager
def statements(app):
    """The SQL statements the app runs inside the block."""
    from app.extensions import db

    seen: list[str] = []

    def record(conn, cursor, statement, params, context, executemany):
        seen.append(" ".join(statement.split()))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _service(app, tenant):
    return make_client(
        app, tenant, client_name="Backend", grant_types=["client_credentials"], redirect_uris=[]
    )


def _client_credentials(tc, service, secret=None):
    return tc.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials"},
        headers=basic_auth(service.client_id, secret or service.secret),
    )


def _key_algs(app, tenant) -> set[tuple[str, str]]:
    from app.extensions import db
    from app.models import SigningKey
    from app.tenancy import scope

    with app.app_context():
        found = {(k.alg, k.status) for k in scope(tenant).all(SigningKey)}
        db.session.rollback()
    return found


def test_client_credentials_creates_only_the_access_token_keys(app, tenant, tenant_client):
    tc = tenant_client(tenant)
    response = _client_credentials(tc, _service(app, tenant))

    assert response.status_code == 200
    # No RSA key generation on a tenant's first access token: ES256 only, with its successor.
    assert _key_algs(app, tenant) == {("ES256", "active"), ("ES256", "next")}
    jwks = {k["kid"]: k for k in tc.get("/.well-known/jwks.json").get_json()["keys"]}
    assert header_of(response.get_json()["access_token"])["kid"] in jwks
    # Publishing the JWKS gives the tenant its ID-token keys too, before any ID token.
    assert {k["alg"] for k in jwks.values()} == {"ES256", "RS256"} and len(jwks) == 4


@pytest.mark.config(TENANT_CACHE_SIZE=8)
def test_tenant_snapshots_are_evicted_least_recently_used(app, make_tenant, tenant_client):
    tenants = [make_tenant(f"lru-{n}") for n in range(10)]
    services = [_service(app, t) for t in tenants]
    for t, service in zip(tenants, services, strict=True):
        for _ in range(2):  # the first grant makes keys (a change): the second one is cached
            assert _client_credentials(tenant_client(t), service).status_code == 200

    cache = app.extensions["gatehouse.tenant_cache"]
    assert cache.tenant_ids() == [t.id for t in tenants[2:]]  # the 2 coldest went out
    # an evicted tenant is simply read again
    assert _client_credentials(tenant_client(tenants[0]), services[0]).status_code == 200
    assert cache.tenant_ids()[-1] == tenants[0].id and len(cache) == 8


@pytest.mark.config(TENANT_SYNC_INTERVAL=3600)
def test_token_endpoint_reads_a_client_once_and_sees_changes_at_once(app, tenant, tenant_client):
    from app.extensions import db
    from app.services import clients

    tc = tenant_client(tenant)
    service = _service(app, tenant)
    assert _client_credentials(tc, service).status_code == 200  # makes the keys
    with statements(app) as seen:
        assert _client_credentials(tc, service).status_code == 200
        assert _client_credentials(tc, service).status_code == 200
    assert sum(" FROM clients " in s for s in seen) == 1

    with app.app_context():  # a new secret works, and the old one stops working, at once
        row = clients.get_client(tenant, service.client_id)
        secret = clients.rotate_client_secret(tenant, row)
        db.session.commit()
    assert _client_credentials(tc, service).status_code == 401
    assert _client_credentials(tc, service, secret).status_code == 200

    with app.app_context():
        clients.delete_client(tenant, clients.get_client(tenant, service.client_id))
        db.session.commit()
    assert _client_credentials(tc, service, secret).status_code == 401


def test_a_disabled_client_is_refused(app, tenant, tenant_client):
    from app.extensions import db
    from app.services import clients

    service = _service(app, tenant)
    with app.app_context():
        clients.get_client(tenant, service.client_id).disabled = True
        db.session.commit()
    assert _client_credentials(tenant_client(tenant), service).status_code == 401


def test_userinfo_checks_token_and_grant_revocation_in_one_query(app, tenant, user, tenant_client):
    tc = tenant_client(tenant)
    sign_in(app, tc, tenant, user)
    rp = make_client(app, tenant)
    tokens = login_tokens(tc, rp)

    with statements(app) as seen:
        assert tc.get("/oauth2/userinfo", headers=bearer(tokens["access_token"])).status_code == 200
    revocation = [s for s in seen if "revoked_access_tokens" in s or " grants" in s]
    assert len(revocation) == 1 and "revoked_access_tokens" in revocation[0]

    # both checks still hold: revoking the grant (via its refresh token) kills the token
    tc.post(
        "/oauth2/revoke",
        data={"token": tokens["refresh_token"]},
        headers=basic_auth(rp.client_id, rp.secret),
    )
    assert tc.get("/oauth2/userinfo", headers=bearer(tokens["access_token"])).status_code == 401
    other = login_tokens(tc, rp)
    tc.post(
        "/oauth2/revoke",
        data={"token": other["access_token"], "token_type_hint": "access_token"},
        headers=basic_auth(rp.client_id, rp.secret),
    )
    assert tc.get("/oauth2/userinfo", headers=bearer(other["access_token"])).status_code == 401
