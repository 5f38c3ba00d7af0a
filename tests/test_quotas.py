"""Per-tenant quotas through the real HTTP surface, across two app instances (two
workers) sharing the real Redis: the token rate (token, introspection, userinfo with a
burst), sign-ups per day, max users/organizations/clients, monthly active users. Going
over answers 429 + Retry-After in each surface's shape, and is audited once per window."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import AuditEvent
from app.models import Event
from app.tenancy import scope
from tests.conftest import DEFAULT_PASSWORD
from tests.support.api import Api
from tests.support.api import create_admin_key
from tests.support.api import problem_of
from tests.support.http import TenantClient
from tests.support.oauth import basic_auth
from tests.support.oauth import make_client
from tests.support.quotas import drop_keys
from tests.support.quotas import redis_or_skip
from tests.support.quotas import set_quotas
from tests.support.quotas import shared_redis_config

HOST = "acme-corp.gatehouse.test"


@pytest.fixture
def pair(make_app, app):
    """Two instances of the app sharing one Redis (and the test database)."""
    redis_or_skip()
    config = shared_redis_config()
    first, second = make_app(**config), make_app(**config)
    yield first, second
    drop_keys(config["QUOTA_KEY_PREFIX"])


def service(app, tenant):
    return make_client(
        app, tenant, client_name="Backend", grant_types=["client_credentials"], redirect_uris=[]
    )


def token(app, tenant_host, client):
    return app.test_client().post(
        "/oauth2/token",
        base_url=f"http://{tenant_host}",
        data={"grant_type": "client_credentials"},
        headers=basic_auth(client.client_id, client.secret),
    )


def test_token_rate_is_shared_by_two_instances_and_three_endpoints(pair, tenant, other_tenant):
    first, second = pair
    # 0.05 requests a second: the bucket does not refill during the test, burst 3.
    body = set_quotas(first, tenant, token_requests_per_second=0.05, token_burst=3)
    assert body["quotas"]["token_requests_per_second"] == 0.05
    backend = service(first, tenant)
    other = service(first, other_tenant)
    answers = [token(app, HOST, backend) for app in (first, second, first)]
    assert [r.status_code for r in answers] == [200, 200, 200]
    access = answers[0].get_json()["access_token"]
    refused = token(second, HOST, backend)
    assert refused.status_code == 429
    assert refused.get_json()["error"] == "temporarily_unavailable"
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.headers["Cache-Control"] == "no-store"
    # Introspection and userinfo draw on the same bucket, on either instance.
    introspected = second.test_client().post(
        "/oauth2/introspect",
        base_url=f"http://{HOST}",
        data={"token": access},
        headers=basic_auth(backend.client_id, backend.secret),
    )
    assert introspected.status_code == 429
    userinfo = first.test_client().get(
        "/oauth2/userinfo", base_url=f"http://{HOST}", headers={"Authorization": f"Bearer {access}"}
    )
    assert userinfo.status_code == 429 and "Retry-After" in userinfo.headers
    # The neighbour carries on.
    assert all(token(a, "globex.gatehouse.test", other).status_code == 200 for a in pair * 3)


def test_going_over_is_audited_once_per_window_and_emitted(pair, tenant):
    first, second = pair
    set_quotas(first, tenant, token_requests_per_second=0.05, token_burst=1)
    backend = service(first, tenant)
    statuses = [token(app, HOST, backend).status_code for app in (first, second) * 3]
    assert statuses == [200] + [429] * 5
    with first.app_context():
        audited = db.session.scalars(
            scope(tenant).select(AuditEvent).where(AuditEvent.action == "quota.exceeded")
        ).all()
        assert len(audited) == 1
        assert audited[0].data["quota"] == "token_requests_per_second"
        emitted = db.session.scalars(
            db.select(Event).where(Event.type == "tenant.quota_exceeded")
        ).all()
        # The tenant's own endpoints and the instance's (system tenant) hear of it.
        assert sorted(e.tenant_id == tenant.id for e in emitted) == [False, True]
        assert {e.data["quota"] for e in emitted} == {"token_requests_per_second"}


def signup(app, n):
    client = TenantClient(app.test_client(), HOST)
    data = {"email": f"new{n}@example.com", "password": "plum tractor lantern 42"}
    return client.submit("/signup", data)


def test_signups_per_day_across_instances_answer_the_styled_page(pair, tenant):
    first, second = pair
    set_quotas(first, tenant, signups_per_day=2)
    assert signup(first, 1).status_code == 302
    assert signup(second, 2).status_code == 302
    refused = signup(first, 3)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.mimetype == "text/html"
    page = refused.get_data(as_text=True)
    assert "Sign-ups here have reached today" in page and "<html" in page.lower()
    with first.app_context():
        from app.models import User

        assert scope(tenant).count(User) == 2


def test_max_users_organizations_and_clients_through_the_api(pair, tenant):
    first, second = pair
    set_quotas(first, tenant, max_users=1, max_organizations=1, max_clients=1)
    one, two = (Api(app, create_admin_key(app)) for app in pair)
    base = f"/tenants/{tenant.slug}"
    assert one.post(f"{base}/users", json={"email": "a@example.com"}).status_code == 201
    problem = problem_of(two.post(f"{base}/users", json={"email": "b@example.com"}))
    assert problem["status"] == 429 and "1 users" in problem["detail"]
    assert two.post(f"{base}/orgs", json={"name": "Eng"}).status_code == 201
    refused = one.post(f"{base}/orgs", json={"name": "Ops"})
    assert problem_of(refused)["status"] == 429 and refused.headers["Retry-After"]
    client = {"client_name": "App", "redirect_uris": ["https://app.example.com/cb"]}
    assert one.post(f"{base}/clients", json=client).status_code == 201
    assert problem_of(two.post(f"{base}/clients", json=client))["status"] == 429
    # Lifting a quota (null) lets creation go on.
    set_quotas(second, tenant, max_users=None)
    assert two.post(f"{base}/users", json={"email": "b@example.com"}).status_code == 201


def login(app, email):
    client = TenantClient(app.test_client(), HOST)
    return client.submit("/login", {"email": email, "password": DEFAULT_PASSWORD})


def test_monthly_active_users_refuses_new_sign_ins_only(pair, tenant, make_user):
    first, second = pair
    set_quotas(first, tenant, monthly_active_users=1)
    make_user(tenant, "ada@example.com")
    make_user(tenant, "bob@example.com")
    assert login(first, "ada@example.com").status_code == 302
    refused = login(second, "bob@example.com")
    assert refused.status_code == 429 and refused.headers["Retry-After"]
    assert "active users" in refused.get_data(as_text=True)
    assert login(second, "ada@example.com").status_code == 302  # already active: keeps working


def test_a_quota_change_reaches_the_other_instance(pair, tenant):
    """The PATCH bumps the tenant's config version: the other worker's snapshot goes."""
    first, second = pair
    backend = service(first, tenant)
    assert token(second, HOST, backend).status_code == 200  # second caches the snapshot
    set_quotas(first, tenant, token_requests_per_second=0.05, token_burst=1)
    statuses = [token(second, HOST, backend).status_code for _ in range(2)]
    assert statuses == [200, 429]


def test_without_redis_the_process_enforces_alone(app, tenant):
    set_quotas(app, tenant, token_requests_per_second=0.05, token_burst=2)
    backend = service(app, tenant)
    assert [token(app, HOST, backend).status_code for _ in range(3)] == [200, 200, 429]


def test_a_first_refusal_on_a_read_only_endpoint_is_audited(app, tenant, make_user, tenant_client):
    """Introspection and userinfo run without a transaction: their first 429 is still
    written to the audit log and the outbox."""
    from tests.support.oauth import login_tokens
    from tests.support.oauth import sign_in

    web = make_client(app, tenant)
    user = make_user(tenant, "ada@example.com")
    tc = tenant_client(tenant)
    sign_in(app, tc, tenant, user)
    access = login_tokens(tc, web)["access_token"]
    set_quotas(app, tenant, token_requests_per_second=0.05, token_burst=1)
    bearer = {"Authorization": f"Bearer {access}"}
    answers = [
        app.test_client().get("/oauth2/userinfo", base_url=f"http://{HOST}", headers=bearer)
        for _ in range(3)
    ]
    assert [a.status_code for a in answers] == [200, 429, 429]
    with app.app_context():
        audited = db.session.scalars(
            scope(tenant).select(AuditEvent).where(AuditEvent.action == "quota.exceeded")
        ).all()
        assert len(audited) == 1
        assert db.session.scalars(
            scope(tenant).select(Event).where(Event.type == "tenant.quota_exceeded")
        ).all()


def test_a_bulk_import_stops_at_max_users_and_updates_still_apply(app, tenant):
    from tests.support.imports import Importer

    set_quotas(app, tenant, max_users=2)
    importer = Importer(app)
    records = [{"email": f"new{i}@example.com", "name": f"New {i}"} for i in range(4)]
    _response, job = importer.upload(tenant.slug, records)
    job = importer.job(tenant.slug, job["id"])
    assert (job["status"], job["created"], job["error_count"]) == ("done", 2, 2), job
    assert {e["line"] for e in job["errors"]} == {3, 4}
    assert all("limit of 2 users" in e["error"] for e in job["errors"])
    # At the limit, records about existing users still update them.
    _response, again = importer.upload(tenant.slug, [{"email": "new0@example.com", "name": "Zed"}])
    again = importer.job(tenant.slug, again["id"])
    assert (again["created"], again["updated"], again["error_count"]) == (0, 1, 0), again
