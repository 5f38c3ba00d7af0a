"""Tenant snapshots: immutable, shared, never in a session; dropped when another process
bumps the tenant's configuration version (seen by polling), gone when the tenant is
deleted elsewhere; and client authentication limited on failures only."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import inspect
from sqlalchemy import text

from app.extensions import db
from tests.support.oauth import basic_auth
from tests.support.oauth import make_client


def _grant(tc, client_id, secret):
    return tc.post(
        "/oauth2/token",
        data={"grant_type": "client_credentials"},
        headers=basic_auth(client_id, secret),
    )


def _service(app, tenant):
    return make_client(
        app, tenant, client_name="svc", grant_types=["client_credentials"], redirect_uris=[]
    )


def _snapshot(app, tenant):
    return app.extensions["gatehouse.tenant_cache"].by_id(tenant.id)


def test_a_snapshot_is_immutable_and_never_in_a_session(app, tenant, tenant_client):
    from app.services.settings import get_settings

    tc = tenant_client(tenant)
    service = _service(app, tenant)
    for _ in range(2):
        assert _grant(tc, service.client_id, service.secret).status_code == 200
    snapshot = _snapshot(app, tenant)
    assert snapshot is not None and snapshot.issuer == "http://acme-corp.gatehouse.test"
    with pytest.raises(TypeError):
        snapshot.merged_settings["mfa_policy"] = "off"
    with pytest.raises(AttributeError):
        snapshot.status = "suspended"
    assert get_settings(snapshot) is snapshot.merged_settings  # merged once, no copy
    assert inspect(snapshot, raiseerr=False) is None  # not an ORM object: no session holds it
    # the same object serves the next request (no rebuild, no materialisation)
    assert _grant(tc, service.client_id, service.secret).status_code == 200
    assert _snapshot(app, tenant) is snapshot


def _bump_elsewhere(app, sql: str, **params) -> None:
    """A change made by ANOTHER process: plain SQL, so this process hears nothing of it."""
    with app.app_context():
        db.session.execute(text(sql), params)
        db.session.execute(
            text(
                "UPDATE tenants SET config_version = config_version + 1, "
                "config_changed_at = CURRENT_TIMESTAMP WHERE id = :id"
            ),
            {"id": params["id"]},
        )
        db.session.commit()


@pytest.mark.config(TENANT_SYNC="poll", TENANT_SYNC_INTERVAL=0)
def test_a_version_bumped_by_another_process_is_polled(app, tenant, tenant_client):
    tc = tenant_client(tenant)
    service = _service(app, tenant)
    for _ in range(2):
        assert _grant(tc, service.client_id, service.secret).status_code == 200
    _bump_elsewhere(app, "UPDATE tenants SET status = 'suspended' WHERE id = :id", id=tenant.id)
    assert _grant(tc, service.client_id, service.secret).status_code == 403


REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _redis_up() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=0.5).ping())
    except Exception:  # noqa: BLE001 - no Redis here
        return False


@pytest.mark.skipif(not _redis_up(), reason="needs Redis (TEST_REDIS_URL)")
@pytest.mark.config(
    TENANT_SYNC="redis", REDIS_URL=REDIS_URL, TENANT_SYNC_INTERVAL=0, TENANT_SYNC_BACKSTOP=3600
)
def test_a_lost_publish_is_caught_by_the_backstop_poll(app, tenant, tenant_client):
    """With Redis, a change whose publish never reached the stream (Redis down at commit
    time) is still seen: by the slow database poll the worker runs beside the stream."""
    from app.tenant_cache import tenant_cache

    tc = tenant_client(tenant)
    service = _service(app, tenant)
    for _ in range(2):
        assert _grant(tc, service.client_id, service.secret).status_code == 200
    _bump_elsewhere(app, "UPDATE tenants SET status = 'suspended' WHERE id = :id", id=tenant.id)
    # The stream says nothing and the backstop is not due: the stale snapshot still serves.
    assert _grant(tc, service.client_id, service.secret).status_code == 200
    with app.app_context():
        tenant_cache().sync._next_backstop = 0  # TENANT_SYNC_BACKSTOP seconds later
    assert _grant(tc, service.client_id, service.secret).status_code == 403


@pytest.mark.config(TENANT_SYNC="local")
def test_without_the_poll_only_this_process_changes_are_seen(app, tenant, tenant_client):
    """The contrast that shows the poll above does the work (``local``: one process)."""
    tc = tenant_client(tenant)
    service = _service(app, tenant)
    for _ in range(2):
        assert _grant(tc, service.client_id, service.secret).status_code == 200
    _bump_elsewhere(app, "UPDATE tenants SET status = 'suspended' WHERE id = :id", id=tenant.id)
    assert _grant(tc, service.client_id, service.secret).status_code == 200


@pytest.mark.config(TENANT_SYNC="poll", TENANT_SYNC_INTERVAL=0)
def test_a_tenant_deleted_elsewhere_is_swept_from_the_cache(
    app, tenant, make_tenant, tenant_client
):
    from app.tenant_cache import tenant_cache

    survivor = make_tenant("globex")
    for t in (tenant, survivor):
        service = _service(app, t)
        for _ in range(2):
            assert _grant(tenant_client(t), service.client_id, service.secret).status_code == 200
    with app.app_context():
        cache = tenant_cache()
        cache.sync.maybe_check(cache)  # the system version is known
        system_before = cache.sync._system_version
        # Deleted by another process (its rows go by ON DELETE CASCADE), and, as the
        # version bump does for a deleted tenant, the system tenant's version bumped.
        db.session.execute(text("DELETE FROM tenants WHERE id = :id"), {"id": tenant.id})
        db.session.execute(
            text(
                "UPDATE tenants SET config_version = config_version + 1, "
                "config_changed_at = CURRENT_TIMESTAMP WHERE slug = 'system'"
            )
        )
        db.session.commit()
        assert tenant.id in cache.tenant_ids()
        cache.sync._next_check = 0
        cache.sync.maybe_check(cache)
        assert cache.sync._system_version == system_before + 1
        assert tenant.id not in cache.tenant_ids() and survivor.id in cache.tenant_ids()


@pytest.mark.config(CLIENT_AUTH_FAILURE_LIMIT="3 per minute")
def test_client_authentication_is_limited_on_failures_only(app, tenant, tenant_client):
    tc = tenant_client(tenant)
    service = _service(app, tenant)
    for _ in range(10):  # successes are not counted
        assert _grant(tc, service.client_id, service.secret).status_code == 200
    statuses = [_grant(tc, service.client_id, "wrong").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    limited = _grant(tc, service.client_id, "wrong")
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert limited.get_json()["error"] == "invalid_client"
    # a 256-bit secret cannot be guessed: the right one still works
    assert _grant(tc, service.client_id, service.secret).status_code == 200


def test_deleting_a_tenant_bumps_the_system_tenant(app, tenant):
    from app.services import tenants

    def system_version():
        return db.session.execute(
            text("SELECT config_version FROM tenants WHERE slug = 'system'")
        ).scalar()

    with app.app_context():
        before = system_version()
        db.session.rollback()
        tenants.delete_tenant(db.session.merge(tenant), tenant.slug)
        db.session.commit()
        assert system_version() == before + 1


def test_protocol_endpoints_of_unknown_or_foreign_hosts_get_flasks_answer(app, client):
    for path in ("/oauth2/token", "/oauth2/introspect", "/oauth2/revoke", "/oauth2/userinfo"):
        unknown = client.post(path, headers={"Host": "nobody.gatehouse.test"})
        assert unknown.status_code == 404
        foreign = client.post(path, headers={"Host": "elsewhere.example"})
        assert foreign.status_code == 400
    for path in ("/.well-known/openid-configuration", "/.well-known/jwks.json"):
        assert client.get(path, headers={"Host": "nobody.gatehouse.test"}).status_code == 404


@pytest.mark.config(TENANT_SYNC="poll", TENANT_SYNC_INTERVAL=0)
def test_a_snapshot_read_before_a_change_was_heard_is_not_kept(app, tenant, tenant_client):
    """One thread reads the tenant; another hears of a change and drops the tenant; the
    first thread's snapshot, read before the drop, may predate the change: it serves its
    own request but is not kept (else it would serve until the next change or backstop)."""
    import time

    from app.tenancy import resolve_snapshot
    from app.tenant_cache import tenant_cache

    tc = tenant_client(tenant)
    service = _service(app, tenant)
    assert _grant(tc, service.client_id, service.secret).status_code == 200
    key = ("acme-corp.gatehouse.test", None)
    with app.app_context():
        cache = tenant_cache()
        read_from = time.monotonic()
        early = resolve_snapshot(*key, app.config["BASE_DOMAIN"])
        cache.invalidate([tenant.id])  # the other thread hears of a change
        cache.put(key, early, read_from)
        assert cache.by_id(tenant.id) is None
        later = resolve_snapshot(*key, app.config["BASE_DOMAIN"])
        cache.put(key, later, time.monotonic())
        assert cache.by_id(tenant.id) is later
