"""Tenant resolution (DESIGN §2): custom domain, subdomain, /t/<slug>, system tenant."""

import pytest

from app.extensions import db
from app.models import CustomDomain
from app.models.base import utcnow
from app.services import tenants as tenants_service
from app.tenancy import is_same_origin_path
from app.tenancy import issuer_for
from app.tenancy import tenant_origin


def test_subdomain_serves_the_tenant(client, tenant):
    response = client.get("/", base_url="http://acme-corp.gatehouse.test")
    assert response.status_code == 200
    assert "Acme Corp" in response.get_data(as_text=True)


def test_path_prefix_serves_the_tenant_and_url_for_keeps_it(client, tenant):
    response = client.get("/t/acme-corp/", base_url="http://gatehouse.test")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Acme Corp" in html
    assert 'href="/t/acme-corp/"' in html  # url_for('pages.home') kept the prefix
    assert "/t/acme-corp/static/css/app.css" in html


def test_bare_host_is_the_system_tenant(client, tenant):
    response = client.get("/", base_url="http://gatehouse.test")
    assert response.status_code == 200
    assert "Gatehouse" in response.get_data(as_text=True)
    assert "Acme Corp" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "base_url,path",
    [
        ("http://nope.gatehouse.test", "/"),
        ("http://gatehouse.test", "/t/nope/"),
        ("http://gatehouse.test", "/t/Bad_Slug!/"),
        ("http://a.b.gatehouse.test", "/"),
        ("http://acme-corp.gatehouse.test", "/t/acme-corp/"),
    ],
)
def test_unknown_tenant_is_a_clean_404_page(client, tenant, base_url, path):
    response = client.get(path, base_url=base_url)
    html = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "There is no workspace at this address." in html
    assert "Acme Corp" not in html and "Traceback" not in html


def test_foreign_host_is_400(client, tenant):
    response = client.get("/", base_url="http://evil.example")
    assert response.status_code == 400
    assert "does not answer for that host" in response.get_data(as_text=True)


def test_suspended_tenant_is_403_that_says_so(app, client, tenant):
    with app.app_context():
        tenants_service.set_status(tenants_service.get_tenant("acme-corp"), "suspended")
        db.session.commit()
    response = client.get("/", base_url="http://acme-corp.gatehouse.test")
    assert response.status_code == 403
    assert "suspended" in response.get_data(as_text=True)


def test_custom_domain_resolves_and_is_the_issuer(app, client, tenant):
    with app.app_context():
        db.session.add(
            CustomDomain(tenant_id=tenant.id, host="login.acme.example", verified_at=utcnow())
        )
        db.session.commit()
        acme = tenants_service.get_tenant("acme-corp")
        assert issuer_for(acme) == "http://login.acme.example"
    response = client.get("/", base_url="http://login.acme.example")
    assert response.status_code == 200
    assert "Acme Corp" in response.get_data(as_text=True)


def test_canonical_origin_by_routing_mode(app, tenant):
    with app.app_context():
        acme = tenants_service.get_tenant("acme-corp")
        assert tenant_origin(acme) == "http://acme-corp.gatehouse.test"
        path_mode = {**app.config, "TENANT_ROUTING": "path"}
        assert tenant_origin(acme, path_mode) == "http://gatehouse.test/t/acme-corp"
        assert tenant_origin(tenants_service.system_tenant()) == "http://gatehouse.test"


def test_health_answers_on_any_host(client):
    assert client.get("/healthz", base_url="http://10.0.0.7:8000").status_code == 200


@pytest.mark.parametrize(
    "target,ok",
    [
        ("/account", True),
        ("//evil.example", False),
        ("https://evil.example", False),
        ("/\\evil.example", False),
        ("", False),
        (None, False),
        ("/a\nb", False),
    ],
)
def test_same_origin_path_guard(target, ok):
    assert is_same_origin_path(target) is ok
