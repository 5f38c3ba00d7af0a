"""Who sets quotas (an instance credential in the API, an operator in the instance
console; never a tenant admin), instance defaults for new tenants, the usage API with
exact counts after a scripted run, and the console's usage pages."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import AuditEvent
from app.models import DailyUsage
from app.models import Tenant
from app.quotas.enforce import day_of
from app.services import tenants as tenants_service
from app.services import usage
from app.tenancy import scope
from tests.conftest import DEFAULT_PASSWORD
from tests.support.api import Api
from tests.support.api import create_admin_key
from tests.support.api import problem_of
from tests.support.console import console_fixtures
from tests.support.oauth import basic_auth
from tests.support.oauth import login_tokens
from tests.support.oauth import make_client
from tests.support.oauth import refresh

make_console = console_fixtures()
HOST = "acme-corp.gatehouse.test"


@pytest.fixture
def operator(app, make_console):
    with app.app_context():
        system = tenants_service.system_tenant()
    return make_console(system, "operator@gatehouse.example")


def test_only_an_instance_credential_sets_quotas(app, tenant):
    instance = Api(app, create_admin_key(app))
    own = Api(app, create_admin_key(app, tenant))
    refused = own.patch(f"/tenants/{tenant.slug}", json={"quotas": {"max_users": 5}})
    assert problem_of(refused)["status"] == 403
    answer = instance.patch(f"/tenants/{tenant.slug}", json={"quotas": {"max_users": 5}})
    assert answer.status_code == 200
    assert answer.get_json()["quotas"]["max_users"] == 5
    # The tenant's key reads its limits; every field shows, null = unlimited.
    seen = own.get(f"/tenants/{tenant.slug}").get_json()["quotas"]
    assert seen == {
        "token_requests_per_second": None,
        "token_burst": None,
        "signups_per_day": None,
        "max_users": 5,
        "max_organizations": None,
        "max_clients": None,
        "monthly_active_users": None,
    }
    # A PATCH changes the named quotas only; null lifts one.
    instance.patch(f"/tenants/{tenant.slug}", json={"quotas": {"max_clients": 2}})
    body = instance.patch(f"/tenants/{tenant.slug}", json={"quotas": {"max_users": None}})
    assert body.get_json()["quotas"]["max_users"] is None
    assert body.get_json()["quotas"]["max_clients"] == 2
    with app.app_context():
        rows = db.session.scalars(
            scope(tenant).select(AuditEvent).where(AuditEvent.action.like("tenant.quo%"))
        ).all()
        assert [row.action for row in rows] == ["tenant.quotas_changed"] * 3


@pytest.mark.parametrize(
    "quotas, field",
    [
        ({"max_users": -1}, "quotas.max_users"),
        ({"max_users": 1.5}, "quotas.max_users"),
        ({"token_requests_per_second": 0}, "quotas.token_requests_per_second"),
        ({"token_burst": 0}, "quotas.token_burst"),
        ({"unknown": 1}, "quotas.unknown"),
        ({"signups_per_day": "10"}, "quotas.signups_per_day"),
        ({"max_clients": True}, "quotas.max_clients"),
    ],
)
def test_bad_quotas_are_400_field_by_field(app, tenant, quotas, field):
    instance = Api(app, create_admin_key(app))
    problem = problem_of(instance.patch(f"/tenants/{tenant.slug}", json={"quotas": quotas}))
    assert problem["status"] == 400 and field in problem["errors"]


@pytest.mark.config(TENANT_QUOTA_DEFAULTS='{"max_users": 100, "token_requests_per_second": 50}')
def test_new_tenants_take_the_instance_defaults(app):
    instance = Api(app, create_admin_key(app))
    body = instance.post(
        "/tenants", json={"name": "Initech", "slug": "initech", "owner_email": "a@initech.example"}
    ).get_json()
    assert body["quotas"]["max_users"] == 100
    assert body["quotas"]["token_requests_per_second"] == 50
    assert body["quotas"]["max_clients"] is None


def test_operator_sets_quotas_in_the_console_and_a_tenant_admin_cannot(
    app, operator, make_console, tenant
):
    page = operator.get("/admin/tenants/acme-corp/usage").get_data(as_text=True)
    assert "Set quotas" in page and 'name="token_requests_per_second"' in page
    saved = operator.submit(
        "/admin/tenants/acme-corp/quotas",
        {"token_requests_per_second": "2.5", "max_users": "10", "max_clients": ""},
        form_path="/admin/tenants/acme-corp/usage",
    )
    assert saved.status_code == 302
    with app.app_context():
        assert db.session.get(Tenant, tenant.id).quotas == {
            "token_requests_per_second": 2.5,
            "max_users": 10,
        }
    bad = operator.submit(
        "/admin/tenants/acme-corp/quotas",
        {"max_users": "many"},
        form_path="/admin/tenants/acme-corp/usage",
    )
    assert bad.status_code == 422 and "a number, or empty for unlimited" in bad.get_data(
        as_text=True
    )
    admin = make_console(tenant)
    own = admin.get("/admin/usage")
    assert own.status_code == 200
    text = own.get_data(as_text=True)
    assert "Set quotas" not in text and "quota-utilisation" in text
    token = admin.csrf_token("/admin/usage")
    for path in ("/admin/tenants/acme-corp/quotas", "/admin/quotas"):
        refused = admin.post(path, data={"csrf_token": token, "max_users": "99999"})
        assert refused.status_code in (404, 405)
    assert admin.get("/admin/busiest").status_code == 404
    with app.app_context():
        assert db.session.get(Tenant, tenant.id).quotas["max_users"] == 10


def _signin(tc, email, password=DEFAULT_PASSWORD):
    return tc.submit("/login", {"email": email, "password": password})


def test_usage_counts_are_exact_after_a_scripted_run(
    app, tenant, other_tenant, make_user, tenant_client
):
    """Sign-ins (ok and failed), tokens per grant type, active users, sign-ups, API calls
    and 429s, partly flushed to the daily table and partly still in the counters."""
    make_user(tenant, "ada@example.com")
    make_user(tenant, "bob@example.com")
    for email in ("ada@example.com", "ada@example.com", "bob@example.com"):
        assert _signin(tenant_client(tenant), email).status_code == 302
    assert _signin(tenant_client(tenant), "ada@example.com", "wrong password 1").status_code != 302
    backend = make_client(
        app, tenant, client_name="Backend", grant_types=["client_credentials"], redirect_uris=[]
    )
    web = make_client(app, tenant)
    raw = app.test_client()
    for _ in range(4):
        answer = raw.post(
            "/oauth2/token",
            base_url=f"http://{HOST}",
            data={"grant_type": "client_credentials"},
            headers=basic_auth(backend.client_id, backend.secret),
        )
        assert answer.status_code == 200
    with app.app_context():
        usage.flush()  # the first part lands in tenant_usage_daily
    tc = tenant_client(tenant)
    assert _signin(tc, "bob@example.com").status_code == 302
    tokens = login_tokens(tc, web)
    assert refresh(tc, web, tokens["refresh_token"]).status_code == 200
    signup = tenant_client(tenant).submit(
        "/signup", {"email": "new@example.com", "password": "plum tractor lantern 42"}
    )
    assert signup.status_code == 302
    instance = Api(app, create_admin_key(app))
    instance.patch(f"/tenants/{tenant.slug}", json={"quotas": {"max_organizations": 0}})
    assert instance.post(f"/tenants/{tenant.slug}/orgs", json={"name": "Eng"}).status_code == 429
    report = instance.get(f"/tenants/{tenant.slug}/usage").get_json()
    today = report["days"][-1]
    assert len(report["days"]) == 30 and report["to"] == today["date"]
    # sign-ins: 4 by form + 1 after the signup (which signs the new user in)
    assert today["sign_ins"] == 5
    assert today["sign_in_failures"] == 1
    assert today["tokens"] == {"client_credentials": 4, "authorization_code": 1, "refresh_token": 1}
    assert today["active_users"] == 3 and today["monthly_active_users"] == 3
    assert today["signups"] == 1
    assert today["throttled"] == 1
    # PATCH and POST before this GET (the GET itself counts after it answers)
    assert today["api_calls"] == 2
    assert report["totals"]["tokens_total"] == 6
    other = instance.get(f"/tenants/{other_tenant.slug}/usage").get_json()["days"][-1]
    assert other["sign_ins"] == 0 and other["tokens"] == {} and other["api_calls"] == 0
    with app.app_context():
        usage.flush()
    again = instance.get(f"/tenants/{tenant.slug}/usage").get_json()["days"][-1]
    assert again == {**today, "api_calls": 3}  # flushed or not, the same figures


def test_usage_range_is_checked(app, tenant):
    api = Api(app, create_admin_key(app, tenant))
    for query, field in (
        ("from=2026-13-01", "from"),
        ("from=2026-02-01&to=2026-01-01", "from"),
        ("from=2020-01-01&to=2026-01-01", "to"),
    ):
        problem = problem_of(api.get(f"/tenants/{tenant.slug}/usage?{query}"))
        assert problem["status"] == 400 and field in problem["errors"]
    days = api.get(f"/tenants/{tenant.slug}/usage?from=2026-01-01&to=2026-01-03").get_json()
    assert [d["date"] for d in days["days"]] == ["2026-01-01", "2026-01-02", "2026-01-03"]


def test_busiest_tenants_sorted_and_a_usage_chart(app, operator, tenant, other_tenant):
    from datetime import date

    today = date.fromisoformat(day_of())
    with app.app_context():
        for tenant_id, tokens, sign_ins in ((tenant.id, 50, 1), (other_tenant.id, 5, 9)):
            db.session.add(
                DailyUsage(
                    tenant_id=tenant_id, day=today, metric="tokens.client_credentials", value=tokens
                )
            )
            db.session.add(
                DailyUsage(tenant_id=tenant_id, day=today, metric="sign_ins", value=sign_ins)
            )
        db.session.commit()
    page = operator.get("/admin/busiest").get_data(as_text=True)
    assert page.index('data-tenant="acme-corp"') < page.index('data-tenant="globex"')
    page = operator.get("/admin/busiest?sort=sign_ins&days=1").get_data(as_text=True)
    assert page.index('data-tenant="globex"') < page.index('data-tenant="acme-corp"')
    chart = operator.get("/admin/tenants/acme-corp/usage").get_data(as_text=True)
    assert '<svg class="chart"' in chart and "50 tokens" in chart


def test_a_tenant_admin_sees_when_a_quota_was_exceeded(app, make_console, tenant):
    instance = Api(app, create_admin_key(app))
    instance.patch(f"/tenants/{tenant.slug}", json={"quotas": {"max_organizations": 0}})
    assert instance.post(f"/tenants/{tenant.slug}/orgs", json={"name": "Eng"}).status_code == 429
    page = make_console(tenant).get("/admin/usage").get_data(as_text=True)
    assert 'id="quota-exceeded"' in page and "<code>max_organizations</code> (limit 0)" in page
