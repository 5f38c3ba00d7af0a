"""API resources, role permissions, client resource grants, effective permissions and the
custom-claims setting, through /v2/admin (issue #17)."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import AuditEvent
from tests.support.api import Api
from tests.support.api import create_admin_key
from tests.support.api import problem_of

T = "/tenants/acme-corp"
G = "/tenants/globex"
INVOICES = "https://api.acme.example/invoices"
REPORTS = "urn:acme:reports"


@pytest.fixture
def api(app, tenant):
    return Api(app, create_admin_key(app, tenant))


@pytest.fixture
def instance_api(app, tenant, other_tenant):
    return Api(app, create_admin_key(app))


def _resource(api, identifier=INVOICES, names=("read:invoices", "write:invoices"), base=T):
    response = api.post(
        f"{base}/resources",
        json={
            "identifier": identifier,
            "name": "Invoices API",
            "permissions": [{"name": n, "description": f"May {n}"} for n in names],
        },
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _role(api, name):
    roles = api.get(f"{T}/roles").get_json()["items"]
    return next(r for r in roles if r["name"] == name and r["kind"] == "tenant")


def test_resource_create_read_list_update_delete(app, api, tenant):
    created = _resource(api)
    assert created["id"].startswith("res_")
    assert created["identifier"] == INVOICES and created["access_token_ttl_seconds"] is None
    assert created["permissions"] == [
        {"name": "read:invoices", "description": "May read:invoices"},
        {"name": "write:invoices", "description": "May write:invoices"},
    ]
    assert api.get(f"{T}/resources/{created['id']}").get_json() == created
    assert [r["id"] for r in api.get(f"{T}/resources").get_json()["items"]] == [created["id"]]

    changed = api.patch(
        f"{T}/resources/{created['id']}",
        json={"name": "Billing", "access_token_ttl_seconds": 300, "identifier": INVOICES},
    ).get_json()
    assert (changed["name"], changed["access_token_ttl_seconds"]) == ("Billing", 300)
    assert changed["permissions"] == created["permissions"]

    assert api.delete(f"{T}/resources/{created['id']}").status_code == 204
    assert api.get(f"{T}/resources/{created['id']}").status_code == 404
    with app.app_context():
        actions = [e.action for e in db.session.query(AuditEvent).filter_by(tenant_id=tenant.id)]
    assert {"resource.created", "resource.updated", "resource.deleted"} <= set(actions)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"identifier": "api.acme.example", "name": "x"}, "identifier"),  # not absolute
        ({"identifier": "https://api.acme.example#frag", "name": "x"}, "identifier"),
        ({"identifier": "https://", "name": "x"}, "identifier"),
        ({"identifier": "https://api.acme.example/a b", "name": "x"}, "identifier"),
        ({"identifier": "https://api.example", "name": ""}, "name"),
        ({"identifier": "https://api.example", "name": "a\u202eb"}, "name"),
        (
            {"identifier": "https://api.example", "name": "x", "permissions": [{"name": "a b"}]},
            "permissions",
        ),
        (
            {"identifier": "https://api.example", "name": "x", "permissions": [{"name": "openid"}]},
            "permissions",
        ),
        (
            {
                "identifier": "https://api.example",
                "name": "x",
                "permissions": [{"name": "read"}, {"name": "read"}],
            },
            "permissions",
        ),
        (
            {"identifier": "https://api.example", "name": "x", "access_token_ttl_seconds": 5},
            "access_token_ttl_seconds",
        ),
    ],
)
def test_resource_input_is_validated(api, body, field):
    problem = problem_of(api.post(f"{T}/resources", json=body))
    assert problem["status"] == 400, problem
    assert any(k.startswith(field) for k in problem["errors"]), problem


def test_identifier_is_unique_per_tenant_and_cannot_change(api, instance_api):
    first = _resource(api)
    problem = problem_of(api.post(f"{T}/resources", json={"identifier": INVOICES, "name": "x"}))
    assert problem["status"] == 409 and "identifier" in problem["errors"]
    problem = problem_of(
        api.patch(f"{T}/resources/{first['id']}", json={"identifier": "https://other.example"})
    )
    assert "identifier" in problem["errors"]
    # The same identifier string at another tenant is another resource.
    theirs = _resource(instance_api, base=G)
    assert theirs["id"] != first["id"] and theirs["identifier"] == first["identifier"]


def test_a_tenant_key_never_reaches_another_tenants_resources(api, instance_api):
    theirs = _resource(instance_api, base=G)
    assert api.get(f"{G}/resources").status_code == 404
    assert api.get(f"{T}/resources/{theirs['id']}").status_code == 404
    assert api.patch(f"{T}/resources/{theirs['id']}", json={"name": "x"}).status_code == 404
    assert api.delete(f"{T}/resources/{theirs['id']}").status_code == 404
    assert instance_api.get(f"{G}/resources/{theirs['id']}").status_code == 200


def test_role_permissions_are_replaced_validated_and_follow_the_resource(api, instance_api):
    resource = _resource(api)
    member = _role(api, "member")
    assert member["permissions"] == []
    body = {"permissions": [{"resource": INVOICES, "permission": "read:invoices"}]}
    updated = api.patch(f"{T}/roles/{member['id']}", json=body).get_json()
    assert updated["permissions"] == body["permissions"]
    assert updated["description"] == member["description"]  # untouched
    listed = _role(api, "member")
    assert listed["permissions"] == body["permissions"]

    for bad in (
        [{"resource": INVOICES, "permission": "delete:invoices"}],
        [{"resource": "https://nowhere.example", "permission": "read:invoices"}],
        [{"resource": INVOICES}],
    ):
        problem = problem_of(api.patch(f"{T}/roles/{member['id']}", json={"permissions": bad}))
        assert problem["status"] == 400, problem
        assert any(k.startswith("permissions") for k in problem["errors"]), problem
    # Another tenant's resource with the same identifier string is not ours: refused.
    _resource(instance_api, identifier="https://api.globex.example", base=G)
    problem = problem_of(
        api.patch(
            f"{T}/roles/{member['id']}",
            json={
                "permissions": [
                    {"resource": "https://api.globex.example", "permission": "read:invoices"}
                ]
            },
        )
    )
    assert "unknown resource" in problem["errors"]["permissions"]

    created = api.post(
        f"{T}/roles",
        json={
            "name": "accountant",
            "permissions": [
                {"resource": INVOICES, "permission": "read:invoices"},
                {"resource": INVOICES, "permission": "write:invoices"},
            ],
        },
    ).get_json()
    assert len(created["permissions"]) == 2
    # A permission removed from the resource leaves every role.
    api.patch(
        f"{T}/resources/{resource['id']}",
        json={"permissions": [{"name": "read:invoices", "description": ""}]},
    )
    assert api.get(f"{T}/roles/{created['id']}").get_json()["permissions"] == [
        {"resource": INVOICES, "permission": "read:invoices"}
    ]
    api.delete(f"{T}/resources/{resource['id']}")
    assert api.get(f"{T}/roles/{created['id']}").get_json()["permissions"] == []
    assert api.delete(f"{T}/roles/{created['id']}").status_code == 204


def test_client_resource_grants(api):
    resource = _resource(api)
    _resource(api, identifier=REPORTS, names=("read:reports",))
    grants = [
        {"resource": INVOICES, "permissions": ["read:invoices"]},
        {"resource": REPORTS, "permissions": []},
    ]
    created = api.post(
        f"{T}/clients",
        json={
            "client_name": "Billing worker",
            "grant_types": ["client_credentials"],
            "resource_grants": grants,
        },
    )
    assert created.status_code == 201, created.get_json()
    client = created.get_json()
    assert client["resource_grants"] == sorted(grants, key=lambda g: g["resource"])
    listed = api.get(f"{T}/clients").get_json()["items"]
    assert next(c for c in listed if c["client_id"] == client["client_id"])[
        "resource_grants"
    ] == sorted(grants, key=lambda g: g["resource"])

    path = f"{T}/clients/{client['client_id']}"
    narrowed = api.patch(path, json={"resource_grants": grants[:1]}).get_json()
    assert narrowed["resource_grants"] == grants[:1]
    for bad in (
        [{"resource": INVOICES, "permissions": ["fly"]}],
        [{"resource": "https://nowhere.example", "permissions": []}],
        [grants[0], grants[0]],
    ):
        problem = problem_of(api.patch(path, json={"resource_grants": bad}))
        assert any(k.startswith("resource_grants") for k in problem["errors"]), problem
    # Refused input creates nothing.
    before = len(api.get(f"{T}/clients").get_json()["items"])
    problem_of(
        api.post(
            f"{T}/clients",
            json={"client_name": "x", "grant_types": ["client_credentials"], "resource_grants": 1},
        )
    )
    assert len(api.get(f"{T}/clients").get_json()["items"]) == before
    # Removing the permission from the resource narrows the grant.
    api.patch(f"{T}/resources/{resource['id']}", json={"permissions": []})
    assert api.get(path).get_json()["resource_grants"] == [
        {"resource": INVOICES, "permissions": []}
    ]


def test_effective_permissions_are_tenant_roles_plus_active_org_roles(api, user):
    _resource(api, names=("read:invoices", "write:invoices", "approve:invoices"))
    member = _role(api, "member")
    api.patch(
        f"{T}/roles/{member['id']}",
        json={"permissions": [{"resource": INVOICES, "permission": "read:invoices"}]},
    )
    org_admin = next(
        r for r in api.get(f"{T}/roles?kind=org").get_json()["items"] if r["name"] == "admin"
    )
    api.patch(
        f"{T}/roles/{org_admin['id']}",
        json={"permissions": [{"resource": INVOICES, "permission": "approve:invoices"}]},
    )
    # The tenant role `admin` has the same name as the org role: kinds are kept apart.
    org = api.post(f"{T}/orgs", json={"name": "Finance", "slug": "finance"}).get_json()
    other = api.post(f"{T}/orgs", json={"name": "Sales", "slug": "sales"}).get_json()
    api.post(f"{T}/orgs/{org['id']}/members", json={"user_id": user.id, "roles": ["admin"]})

    base = f"{T}/users/{user.id}/permissions"
    plain = api.get(base).get_json()
    assert plain == {
        "user_id": user.id,
        "org_id": None,
        "roles": ["member"],
        "permissions": [{"resource": INVOICES, "permission": "read:invoices"}],
    }
    in_org = api.get(f"{base}?org=finance").get_json()
    assert in_org["org_id"] == org["id"] and in_org["roles"] == ["admin", "member"]
    assert in_org["permissions"] == [
        {"resource": INVOICES, "permission": "approve:invoices"},
        {"resource": INVOICES, "permission": "read:invoices"},
    ]
    problem = problem_of(api.get(f"{base}?org={other['id']}"))
    assert problem["status"] == 400 and "org" in problem["errors"]
    assert api.get(f"{base}?org=org_nope").status_code == 404

    # A role change shows at once.
    api.put(f"{T}/users/{user.id}/roles", json={"roles": []})
    assert api.get(base).get_json()["permissions"] == []


def test_custom_claims_setting(api):
    mapping = {"https://acme.example/plan": "plan", "department": "dept"}
    assert (
        api.patch(f"{T}/settings", json={"custom_claims": mapping}).get_json()["custom_claims"]
        == mapping
    )
    assert api.get(f"{T}/settings").get_json()["custom_claims"] == mapping
    for bad in (
        {"email": "plan"},
        {"roles": "plan"},
        {"Tenant_ID": "plan"},
        {"aud": "x"},
        {"http://acme.example/plan": "plan"},
        {"has space": "plan"},
        {"department": ""},
    ):
        problem = problem_of(api.patch(f"{T}/settings", json={"custom_claims": bad}))
        assert any(k.startswith("custom_claims") for k in problem["errors"]), (bad, problem)
    assert api.get(f"{T}/settings").get_json()["custom_claims"] == mapping


def test_user_metadata_is_bounded(api, user):
    path = f"{T}/users/{user.id}"
    assert api.patch(path, json={"metadata": {"plan": "pro"}}).get_json()["metadata"] == {
        "plan": "pro"
    }
    problem = problem_of(api.patch(path, json={"metadata": {"blob": "x" * 17000}}))
    assert "metadata" in problem["errors"]
