"""Signing keys: lazy creation, encryption at rest, the per-worker cache, rotation."""

from __future__ import annotations

from tests.support.oauth import bearer
from tests.support.oauth import header_of
from tests.support.oauth import introspect
from tests.support.oauth import login_tokens
from tests.support.oauth import make_client
from tests.support.oauth import sign_in


def _jwks(tc) -> dict:
    return {k["kid"]: k for k in tc.get("/.well-known/jwks.json").get_json()["keys"]}


def test_keys_are_created_lazily_and_encrypted(app, tenant, tenant_client):
    from app.extensions import db
    from app.models import SigningKey
    from app.tenancy import scope

    with app.app_context():
        assert scope(tenant).count(SigningKey) == 0
    published = _jwks(tenant_client(tenant))
    with app.app_context():
        rows = scope(tenant).all(SigningKey)
        assert {(r.alg, r.status) for r in rows} == {
            ("RS256", "active"),
            ("RS256", "next"),
            ("ES256", "active"),
            ("ES256", "next"),
        }
        for row in rows:
            assert "PRIVATE KEY" not in row.private_key_encrypted
            assert row.id in published
        db.session.rollback()


def test_key_cache_parses_each_key_once(app, tenant, user, tenant_client):
    from app.models import Tenant
    from app.services import keys

    tc = tenant_client(tenant)
    sign_in(app, tc, tenant, user)
    login_tokens(tc, make_client(app, tenant))
    with app.test_request_context():
        from app.extensions import db

        row = db.session.get(Tenant, tenant.id)
        first = keys.signing_key(row, "ES256")
        assert keys.signing_key(row, "ES256") is first  # same object: never re-parsed
        cache = app.extensions["gatehouse.keys"]
        assert first.kid in cache.keys and cache.size == app.config["KEY_CACHE_SIZE"]


def test_rotation_publishes_before_signing_and_keeps_the_old_key(
    app, tenant, user, tenant_client, runner
):
    tc = tenant_client(tenant)
    sign_in(app, tc, tenant, user)
    rp = make_client(app, tenant)
    before = login_tokens(tc, rp)
    old_kid = header_of(before["access_token"])["kid"]
    published = _jwks(tc)
    staged = [kid for kid, k in published.items() if k["alg"] == "ES256" and kid != old_kid]
    assert len(staged) == 1  # the successor is already published

    result = runner.invoke(args=["keys", "rotate", tenant.slug])
    assert result.exit_code == 0, result.output
    assert "retiring" in result.output

    after = login_tokens(tc, rp)
    new_kid = header_of(after["access_token"])["kid"]
    assert new_kid == staged[0]  # it signs only after it had been published
    now_published = _jwks(tc)
    assert old_kid in now_published  # still published while its tokens live
    assert introspect(tc, rp, before["access_token"])["active"] is True
    assert tc.get("/oauth2/userinfo", headers=bearer(before["access_token"])).status_code == 200
    fresh = [k for k, v in now_published.items() if v["alg"] == "ES256"]
    assert len(fresh) == 3  # retiring, active, and a new next

    # a second rotation after the retirement delay drops the oldest key from JWKS
    from datetime import timedelta

    from app.extensions import db
    from app.models import SigningKey
    from app.models.base import utcnow
    from app.tenancy import scope

    with app.app_context():
        old = scope(tenant).get(SigningKey, old_kid)
        assert old.status == "retiring" and old.retire_after > utcnow() + timedelta(minutes=10)
        old.retire_after = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert runner.invoke(args=["keys", "rotate", tenant.slug]).exit_code == 0
    assert old_kid not in _jwks(tc)
    assert introspect(tc, rp, before["access_token"]) == {"active": False}


def test_keys_rotate_unknown_tenant(runner, tenant):
    result = runner.invoke(args=["keys", "rotate", "nope"])
    assert result.exit_code != 0


def test_key_to_dict_has_no_private_part(app, tenant, tenant_client):
    from app.models import Tenant
    from app.services import keys

    tenant_client(tenant).get("/.well-known/jwks.json")
    with app.app_context():
        from app.extensions import db

        listed = [keys.key_to_dict(k) for k in keys.list_keys(db.session.get(Tenant, tenant.id))]
    assert len(listed) == 4
    assert all("private" not in str(item).lower() for item in listed)
    assert all("d" not in item["public_jwk"] for item in listed)


def test_keys_made_by_another_worker_after_our_read_are_used(app, tenant, tenant_client):
    """A new tenant's first grants on several instances at once: this worker read the
    tenant's keys (none yet), another worker made and committed them, and only then
    does this worker get to make them. It must sign with those, not keep its empty read
    (the cluster test saw bursts of 500 'no active ES256 key' until the next change)."""
    from app.extensions import db
    from app.services import keys
    from app.services.tenants import get_tenant
    from app.tenant_cache import tenant_cache
    from tests.support.oauth import basic_auth

    tc = tenant_client(tenant)
    service = make_client(
        app, tenant, client_name="svc", grant_types=["client_credentials"], redirect_uris=[]
    )
    assert tc.get("/.well-known/openid-configuration").status_code == 200  # no keys made
    with app.app_context():
        snapshot = tenant_cache().by_id(tenant.id)
        assert snapshot is not None and "keys" not in snapshot.memo
        empty = keys._read_published(snapshot)  # this worker's read: nothing yet
        assert empty["active"] == {}
        snapshot.memo["keys"] = empty
    with app.app_context():  # the other worker (its own session) makes them, commits
        keys.ensure_keys(get_tenant(tenant.id), ("ES256",))
        db.session.commit()
    with app.app_context():  # its commit dropped our snapshot here: as if it had not yet
        tenant_cache().put(("acme-corp.gatehouse.test", None), snapshot)
    answer = tc.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials"},
        headers=basic_auth(service.client_id, service.secret),
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
