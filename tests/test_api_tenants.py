"""/v2/admin/tenants: create (with the owner's invitation), list, read, update, delete,
and the error contract (problem+json, 400/404/405/409/415)."""

import pytest

from app.extensions import db
from app.models import AuditEvent
from app.models import Invitation
from app.models import OutboxMessage
from app.models import Tenant
from tests.support.api import Api
from tests.support.api import create_admin_key
from tests.support.api import problem_of

ACME = {"name": "Acme Corp", "slug": "acme-corp", "owner_email": "admin@acme.com"}


@pytest.fixture
def api(app):
    return Api(app, create_admin_key(app))


def test_create_answers_201_with_the_tenant_and_invites_the_owner(app, api):
    response = api.post("/tenants", json=ACME)
    assert response.status_code == 201
    body = response.get_json()
    assert body["id"].startswith("ten_")
    assert body["slug"] == "acme-corp" and body["name"] == "Acme Corp"
    assert body["status"] == "active"
    assert body["issuer"] == "http://acme-corp.gatehouse.test"
    assert body["created_at"].endswith("Z")
    with app.app_context():
        invitation = db.session.query(Invitation).filter_by(tenant_id=body["id"]).one()
        assert invitation.email == "admin@acme.com" and invitation.roles == ["admin"]
        mail = db.session.query(OutboxMessage).filter_by(to="admin@acme.com").one()
        assert "http://acme-corp.gatehouse.test/invitations/" in mail.body_text


def test_duplicate_slug_is_409(api):
    assert api.post("/tenants", json=ACME).status_code == 201
    problem = problem_of(api.post("/tenants", json={**ACME, "owner_email": "b@acme.com"}))
    assert problem["status"] == 409
    assert "slug" in problem["errors"]


def test_create_refuses_bad_input_field_by_field(app, api):
    problem = problem_of(api.post("/tenants", json={"name": 5, "slug": "acme-corp", "extra": 1}))
    assert problem["status"] == 400
    assert problem["errors"]["name"] == "must be string"
    assert problem["errors"]["extra"] == "unknown field"
    assert problem["errors"]["owner_email"] == "is required"
    problem = problem_of(api.post("/tenants", json={**ACME, "owner_email": "not-an-email"}))
    assert list(problem["errors"]) == ["owner_email"]
    problem = problem_of(api.post("/tenants", json={**ACME, "slug": "-Bad-"}))
    assert "slug" in problem["errors"]
    with app.app_context():
        assert db.session.query(Tenant).count() == 1  # only the system tenant


def test_malformed_json_is_400_and_non_json_is_415(api):
    response = api.post("/tenants", data="{not json", headers={"Content-Type": "application/json"})
    assert problem_of(response)["status"] == 400
    assert "body" in response.get_json()["errors"]
    response = api.post("/tenants", data="name=x", headers={"Content-Type": "text/plain"})
    assert problem_of(response)["status"] == 415
    response = api.post("/tenants", json=["a", "list"])
    assert problem_of(response)["errors"] == {"body": "must be a JSON object"}


def test_unknown_method_is_405_and_unknown_path_404(api):
    response = api.put("/tenants", json={})
    assert problem_of(response)["status"] == 405
    assert "GET" in response.headers["Allow"]
    assert problem_of(api.get("/nothing-here"))["status"] == 404


def test_list_searches_and_paginates_with_a_cursor(api, make_tenant):
    for slug in ("alpha", "beta", "gamma", "delta"):
        make_tenant(slug)
    first = api.get("/tenants?limit=2").get_json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = api.get(f"/tenants?limit=2&cursor={first['next_cursor']}").get_json()
    third = api.get(f"/tenants?limit=2&cursor={second['next_cursor']}").get_json()
    slugs = [t["slug"] for page in (first, second, third) for t in page["items"]]
    assert sorted(slugs) == ["alpha", "beta", "delta", "gamma", "system"]
    assert third["next_cursor"] is None
    found = api.get("/tenants?q=ELT").get_json()["items"]
    assert [t["slug"] for t in found] == ["delta"]


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "limit=x", "cursor=%%%", "cursor=AAAA"])
def test_bad_paging_parameters_are_400(api, query):
    assert problem_of(api.get(f"/tenants?{query}"))["status"] == 400


def test_read_by_id_or_slug(api, tenant):
    by_slug = api.get("/tenants/acme-corp").get_json()
    by_id = api.get(f"/tenants/{tenant.id}").get_json()
    assert by_slug == by_id and by_slug["id"] == tenant.id
    assert problem_of(api.get("/tenants/nope"))["status"] == 404


def test_rename_suspend_and_resume(app, api, tenant):
    body = api.patch("/tenants/acme-corp", json={"name": "Acme Inc"}).get_json()
    assert body["name"] == "Acme Inc"
    assert api.patch("/tenants/acme-corp", json={"status": "suspended"}).get_json()["status"] == (
        "suspended"
    )
    # Suspended: its hosted pages answer 403.
    page = app.test_client().get("/login", base_url="http://acme-corp.gatehouse.test")
    assert page.status_code == 403
    assert api.patch("/tenants/acme-corp", json={"status": "active"}).get_json()["status"] == (
        "active"
    )
    problem = problem_of(api.patch("/tenants/acme-corp", json={"status": "gone"}))
    assert "status" in problem["errors"]
    problem = problem_of(api.patch("/tenants/system", json={"status": "suspended"}))
    assert problem["status"] == 400


def test_delete_needs_the_slug_as_confirmation(app, api, tenant):
    problem = problem_of(api.delete("/tenants/acme-corp"))
    assert "confirm" in problem["errors"]
    assert api.delete("/tenants/acme-corp", json={"confirm": "acme"}).status_code == 400
    assert api.delete("/tenants/acme-corp", json={"confirm": "acme-corp"}).status_code == 204
    assert api.get("/tenants/acme-corp").status_code == 404
    with app.app_context():
        assert db.session.get(Tenant, tenant.id) is None
        # The instance's trail records who deleted it.
        event = db.session.query(AuditEvent).filter_by(action="tenant.deleted").one()
        assert event.target_id == tenant.id and event.actor_type == "api_key"
        assert db.session.get(Tenant, event.tenant_id).slug == "system"


def test_delete_confirmation_in_the_query(api, tenant):
    assert api.delete("/tenants/acme-corp?confirm=acme-corp").status_code == 204


def test_system_tenant_cannot_be_deleted(api):
    assert api.delete("/tenants/system?confirm=system").status_code == 400


def test_nul_bytes_and_absurd_ids_are_refused_cleanly(api):
    assert api.get("/tenants/a%00b").status_code == 404
    assert api.get("/tenants?q=a%00b").status_code == 400
    assert api.get("/tenants/" + "x" * 500).status_code == 404
    response = api.post("/tenants", json={**ACME, "name": "Ac\x00me"})
    assert problem_of(response)["errors"]["name"]
