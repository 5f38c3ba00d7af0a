"""The instance console: list, search, page, create, suspend/resume and delete tenants."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Invitation
from app.models import OutboxMessage
from app.models import Tenant
from app.services import tenants as tenants_service
from tests.support.console import console_fixtures

make_console = console_fixtures()


@pytest.fixture
def operator(app, make_console):
    with app.app_context():
        system = tenants_service.system_tenant()
    return make_console(system, "operator@gatehouse.example")


def test_list_search_and_cursor_pages(operator, make_tenant):
    for i in range(27):
        make_tenant(f"shop-{i:02d}", f"Shop {i:02d}")
    page = operator.get("/admin/tenants").get_data(as_text=True)
    assert "Shop 00" in page and "Next page" in page
    assert 'hx-trigger="keyup changed delay:300ms, search"' in page
    first = operator.get("/admin/tenants?q=shop").get_data(as_text=True)
    assert "Shop 24" in first and "Shop 25" not in first  # 25 a page
    cursor = first.split("after=")[1].split('"')[0]
    second = operator.get(f"/admin/tenants?q=shop&after={cursor}").get_data(as_text=True)
    assert "Shop 25" in second and "Shop 26" in second and "Shop 24" not in second
    assert "Next page" not in second and "First page" in second
    partial = operator.get("/admin/tenants?q=shop-1", headers={"HX-Request": "true"})
    body = partial.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="tenants-table"') and "<html" not in body
    assert "Shop 10" in body and "Shop 20" not in body


def test_create_tenant_invites_its_owner(app, operator):
    response = operator.submit(
        "/admin/tenants/new",
        {"name": "Initech", "slug": "initech", "owner_email": "Bill@Initech.example"},
    )
    assert response.status_code == 302
    assert response.location.endswith("/admin/tenants/initech/overview")
    with app.app_context():
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == "initech"))
        invitation = db.session.scalar(select(Invitation).where(Invitation.tenant_id == tenant.id))
        assert invitation.email == "bill@initech.example" and invitation.roles == ["admin"]
        mail = db.session.scalar(select(OutboxMessage).where(OutboxMessage.tenant_id == tenant.id))
        assert "initech" in mail.body_text
    assert "Initech" in operator.get("/admin/tenants/initech/overview").get_data(as_text=True)


def test_create_tenant_shows_field_errors(app, operator, tenant):
    response = operator.submit(
        "/admin/tenants/new", {"name": "", "slug": "Bad Slug!", "owner_email": "x@y.example"}
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert 'aria-invalid="true"' in body and "a name of 1 to 200 characters" in body
    taken = operator.submit(
        "/admin/tenants/new", {"name": "Acme 2", "slug": "acme-corp", "owner_email": "x@y.example"}
    )
    assert taken.status_code == 422 and "already exists" in taken.get_data(as_text=True)
    bad_email = operator.submit(
        "/admin/tenants/new", {"name": "Hooli", "slug": "hooli", "owner_email": "nope"}
    )
    assert bad_email.status_code == 422
    with app.app_context():  # the failed invitation rolled the tenant back
        assert db.session.scalar(select(Tenant).where(Tenant.slug == "hooli")) is None


def test_suspend_and_resume(app, operator, tenant, tenant_client):
    response = operator.submit(
        "/admin/tenants/acme-corp/status", {"status": "suspended"}, form_path="/admin/tenants"
    )
    assert response.status_code == 302
    assert tenant_client(tenant).get("/").status_code == 403  # the tenant is down
    row = operator.submit(
        "/admin/tenants/acme-corp/status",
        {"status": "active"},
        form_path="/admin/tenants",
        headers={"HX-Request": "true"},
    )
    body = row.get_data(as_text=True)
    assert body.lstrip().startswith("<tr") and "resumed" in body and "badge-ok" in body
    assert tenant_client(tenant).get("/").status_code == 200


def test_system_tenant_cannot_be_suspended(operator):
    response = operator.submit(
        "/admin/tenants/system/status", {"status": "suspended"}, form_path="/admin/tenants"
    )
    assert response.status_code == 400
    assert "cannot be suspended" in response.get_data(as_text=True)


def test_suspension_needs_a_recent_sign_in(app, make_console, tenant):
    with app.app_context():
        system = tenants_service.system_tenant()
    stale = make_console(system, "old@gatehouse.example", auth_age=timedelta(hours=1))
    response = stale.submit(
        "/admin/tenants/acme-corp/status", {"status": "suspended"}, form_path="/admin/tenants"
    )
    assert response.status_code == 302 and "prompt=login" in response.location
    with app.app_context():
        assert db.session.get(Tenant, tenant.id).status == "active"


def test_delete_tenant_needs_its_slug(app, operator, tenant):
    wrong = operator.submit("/admin/tenants/acme-corp/delete", {"confirm": "acme"})
    assert wrong.status_code == 422 and "type the tenant" in wrong.get_data(as_text=True)
    right = operator.submit("/admin/tenants/acme-corp/delete", {"confirm": "acme-corp"})
    assert right.status_code == 302 and right.location.endswith("/admin/tenants")
    with app.app_context():
        assert db.session.get(Tenant, tenant.id) is None
