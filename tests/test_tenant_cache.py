"""The per-worker tenant cache: no queries to resolve a known tenant, and never stale
within the worker that changed it."""

import pytest
from sqlalchemy import event

from app.extensions import db
from app.models import CustomDomain
from app.models.base import utcnow
from app.services import tenants as tenants_service
from app.services.settings import update_settings


class StatementCounter:
    def __init__(self, engine):
        self.engine = engine
        self.statements: list[str] = []

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._count)

    def _count(self, conn, cursor, statement, *args):
        self.statements.append(statement)


def _tenant_queries(statements):
    return [s for s in statements if "FROM tenants" in s or "FROM custom_domains" in s]


@pytest.mark.config(TENANT_CACHE_TTL=30)
def test_a_known_tenant_resolves_without_queries(app, client, tenant):
    base = "http://acme-corp.gatehouse.test"
    assert client.get("/", base_url=base).status_code == 200
    with app.app_context():
        engine = db.engine
    with StatementCounter(engine) as counter:
        assert "Acme Corp" in client.get("/", base_url=base).get_data(as_text=True)
    assert _tenant_queries(counter.statements) == []


@pytest.mark.config(TENANT_CACHE_TTL=30)
def test_suspending_in_this_worker_takes_effect_at_once(app, client, tenant):
    base = "http://acme-corp.gatehouse.test"
    assert client.get("/", base_url=base).status_code == 200
    with app.app_context():
        tenants_service.set_status(tenants_service.get_tenant("acme-corp"), "suspended")
        db.session.commit()
    assert client.get("/", base_url=base).status_code == 403


@pytest.mark.config(TENANT_CACHE_TTL=30)
def test_settings_changed_through_a_cached_tenant_are_saved(app, client, tenant):
    from app.tenancy import current_tenant

    base = "http://acme-corp.gatehouse.test"
    client.get("/", base_url=base)  # warm the cache
    with app.test_request_context("/", base_url=base):
        app.preprocess_request()
        update_settings(current_tenant, {"branding": {"display_name": "ACME Rockets"}})
        db.session.commit()
    html = client.get("/", base_url=base).get_data(as_text=True)
    assert "ACME Rockets" in html
    with app.app_context():
        stored = tenants_service.get_tenant("acme-corp").settings
        assert stored["branding"]["display_name"] == "ACME Rockets"


@pytest.mark.config(TENANT_CACHE_TTL=30)
def test_a_new_custom_domain_clears_the_cache(app, client, tenant):
    base = "http://acme-corp.gatehouse.test"
    client.get("/", base_url=base)
    with app.app_context():
        db.session.add(
            CustomDomain(tenant_id=tenant.id, host="login.acme.example", verified_at=utcnow())
        )
        db.session.commit()
    response = client.get("/.well-known/openid-configuration", base_url=base)
    assert response.status_code in {301, 302, 307, 308}
    assert response.headers["Location"].startswith("http://login.acme.example/")


@pytest.mark.config(TENANT_CACHE_TTL=0)
def test_ttl_zero_turns_the_cache_off(app, client, tenant):
    base = "http://acme-corp.gatehouse.test"
    client.get("/", base_url=base)
    with app.app_context():
        engine = db.engine
    with StatementCounter(engine) as counter:
        client.get("/", base_url=base)
    assert _tenant_queries(counter.statements)
