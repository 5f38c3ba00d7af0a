"""SCIM 2.0 of one organization through its Bearer token: Users and Groups, filters,
PATCH, pagination, discovery, errors, deprovisioning, and isolation between
organizations and tenants."""

from __future__ import annotations

import json

import pytest

from app.extensions import db
from tests.support.oauth import login_tokens
from tests.support.oauth import make_client
from tests.support.oauth import refresh
from tests.support.oauth import sign_in

SCIM = "application/scim+json"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"


class Scim:
    """A SCIM client speaking application/scim+json with one Bearer token."""

    def __init__(self, tenant_client, token):
        self.tc, self.token = tenant_client, token

    def call(self, method, path, body=None, **kwargs):
        headers = {"Authorization": f"Bearer {self.token}", "Accept": SCIM}
        data = None
        if body is not None:
            headers["Content-Type"] = SCIM
            data = json.dumps(body)
        return self.tc.open(method, f"/scim/v2{path}", headers=headers, data=data, **kwargs)

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, body):
        return self.call("POST", path, body)

    def patch(self, path, *ops):
        return self.call("PATCH", path, {"schemas": [PATCH_OP], "Operations": list(ops)})

    def put(self, path, body):
        return self.call("PUT", path, body)

    def delete(self, path):
        return self.call("DELETE", path)


def org_with_token(app, tenant, slug, domain):
    from app.services import org_domains
    from app.services import orgs
    from app.services import scim_tokens

    with app.app_context():
        tenant = db.session.merge(tenant)
        org = orgs.create_org(tenant, slug.title(), slug)
        row = org_domains.add_domain(tenant, org, domain)
        org_domains.verify_domain(tenant, row, operator=True)
        _, token = scim_tokens.create_token(tenant, org, "idp")
        db.session.commit()
        return org.id, token


@pytest.fixture
def corp(app, tenant, tenant_client):
    org_id, token = org_with_token(app, tenant, "corp", "corp.example")
    return Scim(tenant_client(tenant), token), org_id


def new_user(scim, email="grace@corp.example", **extra):
    body = {
        "schemas": [USER],
        "userName": email,
        "name": {"givenName": "Grace", "familyName": "Hopper"},
        "emails": [{"value": email, "primary": True}],
        "active": True,
        **extra,
    }
    answer = scim.post("/Users", body)
    assert answer.status_code == 201, answer.get_json()
    assert answer.mimetype == SCIM
    return answer.get_json()


def test_create_read_filter_and_paginate_users(corp):
    scim, _ = corp
    grace = new_user(scim, externalId="okta-1")
    assert grace["userName"] == "grace@corp.example" and grace["active"] is True
    assert grace["name"]["formatted"] == "Grace Hopper" and grace["externalId"] == "okta-1"
    assert grace["meta"]["location"].endswith(f"/scim/v2/Users/{grace['id']}")
    new_user(scim, "alan@corp.example")
    new_user(scim, "ada@corp.example")

    assert scim.get(f"/Users/{grace['id']}").get_json()["id"] == grace["id"]
    for expression in (
        'userName eq "GRACE@corp.example"',
        'emails.value eq "grace@corp.example"',
        'externalId eq "okta-1"',
    ):
        found = scim.get("/Users", query_string={"filter": expression}).get_json()
        assert found["totalResults"] == 1 and found["Resources"][0]["id"] == grace["id"]
    none = scim.get("/Users", query_string={"filter": 'userName eq "nobody@corp.example"'})
    assert none.get_json()["totalResults"] == 0

    page = scim.get("/Users", query_string={"startIndex": 2, "count": 1}).get_json()
    assert page["totalResults"] == 3 and page["startIndex"] == 2 and page["itemsPerPage"] == 1
    assert page["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]


def test_errors_are_scim_errors(corp):
    scim, _ = corp
    new_user(scim)
    duplicate = scim.post("/Users", {"userName": "grace@corp.example"})
    assert duplicate.status_code == 409 and duplicate.mimetype == SCIM
    body = duplicate.get_json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert body["status"] == "409" and body["scimType"] == "uniqueness"
    bad_filter = scim.get("/Users", query_string={"filter": 'name.familyName co "H"'})
    assert bad_filter.status_code == 400 and bad_filter.get_json()["scimType"] == "invalidFilter"
    foreign = scim.post("/Users", {"userName": "someone@elsewhere.example"})
    assert foreign.status_code == 400 and foreign.get_json()["scimType"] == "invalidValue"
    assert scim.get("/Users/usr_nope").status_code == 404
    not_patch = scim.call("PATCH", "/Users/x", {"Operations": []})
    assert not_patch.status_code in (400, 404)
    anonymous = Scim(scim.tc, "gh_scim_made-up").get("/Users")
    assert anonymous.status_code == 401 and anonymous.mimetype == SCIM


def test_patch_okta_and_entra_styles(corp):
    scim, _ = corp
    grace = new_user(scim)
    path = f"/Users/{grace['id']}"
    okta = scim.patch(
        path, {"op": "replace", "value": {"name": {"givenName": "Amazing", "familyName": "Grace"}}}
    )
    assert okta.status_code == 200, okta.get_json()
    assert okta.get_json()["name"]["formatted"] == "Amazing Grace"
    entra = scim.patch(
        path,
        {"op": "Replace", "path": "displayName", "value": "Rear Admiral Hopper"},
        {"op": "Add", "path": "externalId", "value": "entra-7"},
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "hopper@corp.example"},
    )
    assert entra.status_code == 200, entra.get_json()
    body = entra.get_json()
    assert body["displayName"] == "Rear Admiral Hopper" and body["externalId"] == "entra-7"
    assert body["userName"] == "hopper@corp.example"
    removed = scim.patch(path, {"op": "remove", "path": "externalId"})
    assert "externalId" not in removed.get_json()
    refused = scim.patch(path, {"op": "replace", "path": "nickName", "value": "x"})
    assert refused.status_code == 400 and refused.get_json()["scimType"] == "invalidPath"


def test_deactivation_ends_sessions_and_refresh_tokens(app, tenant, corp, tenant_client):
    from app.models import User

    scim, org_id = corp
    grace = new_user(scim)
    browser = tenant_client(tenant)
    client = make_client(app, tenant)
    with app.app_context():
        user = db.session.get(User, grace["id"])
        sign_in(app, browser, tenant, user)
    tokens = login_tokens(browser, client, scope="openid offline_access")
    assert browser.get("/account").status_code == 200

    answer = scim.patch(
        f"/Users/{grace['id']}", {"op": "replace", "path": "active", "value": "False"}
    )
    assert answer.status_code == 200 and answer.get_json()["active"] is False
    refused = refresh(browser, client, tokens["refresh_token"])
    assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_grant"
    assert browser.get("/account").status_code == 302  # the session is over
    with app.app_context():
        assert db.session.get(User, grace["id"]).status == "disabled"
    with app.app_context():
        from app.models import Event

        types = [e.type for e in db.session.scalars(db.select(Event).order_by(Event.id))]
        assert types.count("user.created") == 1  # provisioned by SCIM
        assert "org.member.removed" in types and "user.updated" in types  # deprovisioned
    # Still visible to the organization's SCIM client, as inactive; then back.
    assert scim.get(f"/Users/{grace['id']}").get_json()["active"] is False
    back = scim.patch(f"/Users/{grace['id']}", {"op": "replace", "value": {"active": True}})
    assert back.get_json()["active"] is True
    with app.app_context():
        assert db.session.get(User, grace["id"]).status == "active"


def test_delete_deprovisions_and_forgets(app, tenant, corp, tenant_client):
    from app.models import User

    scim, _ = corp
    grace = new_user(scim)
    browser = tenant_client(tenant)
    client = make_client(app, tenant)
    with app.app_context():
        sign_in(app, browser, tenant, db.session.get(User, grace["id"]))
    tokens = login_tokens(browser, client, scope="openid offline_access")
    assert scim.delete(f"/Users/{grace['id']}").status_code == 204
    assert refresh(browser, client, tokens["refresh_token"]).status_code == 400
    assert scim.get(f"/Users/{grace['id']}").status_code == 404


def test_groups_are_org_roles(app, tenant, corp):
    from app.services import orgs
    from app.services import users

    scim, org_id = corp
    grace = new_user(scim)
    groups = scim.get("/Groups").get_json()
    assert {g["displayName"] for g in groups["Resources"]} >= {"owner", "admin", "member"}
    created = scim.post(
        "/Groups", {"displayName": "engineers", "members": [{"value": grace["id"]}]}
    )
    assert created.status_code == 201, created.get_json()
    group = created.get_json()
    assert [m["value"] for m in group["members"]] == [grace["id"]]
    found = scim.get("/Groups", query_string={"filter": 'displayName eq "engineers"'}).get_json()
    assert found["totalResults"] == 1
    removed = scim.patch(
        f"/Groups/{group['id']}", {"op": "remove", "path": f'members[value eq "{grace["id"]}"]'}
    )
    assert removed.get_json()["members"] == []
    added = scim.patch(
        f"/Groups/{group['id']}",
        {"op": "add", "path": "members", "value": [{"value": grace["id"]}]},
    )
    assert [m["value"] for m in added.get_json()["members"]] == [grace["id"]]
    with app.app_context():
        t = db.session.merge(tenant)
        user = users.get_user(t, grace["id"])
        ((org, roles),) = orgs.orgs_of(t, user)
        assert org.id == org_id and "engineers" in roles
    assert scim.get(f"/Users/{grace['id']}").get_json()["groups"][0]["display"] in (
        "engineers",
        "member",
    )


def test_discovery_documents(corp):
    scim, _ = corp
    # A SCIM client's write carries no cookie; an Origin header does not matter.
    with_origin = scim.tc.open(
        "POST",
        "/scim/v2/Groups",
        headers={"Authorization": f"Bearer {scim.token}", "Origin": "https://okta.example"},
        json={"displayName": "from-okta"},
    )
    assert with_origin.status_code == 201, with_origin.get_data(as_text=True)[:300]
    config = scim.get("/ServiceProviderConfig")
    assert config.status_code == 200 and config.mimetype == SCIM
    assert config.get_json()["patch"]["supported"] is True
    types = scim.get("/ResourceTypes").get_json()["Resources"]
    assert {t["endpoint"] for t in types} == {"/Users", "/Groups"}
    schemas = scim.get("/Schemas").get_json()["Resources"]
    assert {s["id"] for s in schemas} == {USER, "urn:ietf:params:scim:schemas:core:2.0:Group"}


def test_a_token_never_touches_another_org_or_tenant(
    app, tenant, other_tenant, corp, tenant_client, make_user
):
    from app.services import orgs

    scim, _ = corp
    other_org, other_token = org_with_token(app, tenant, "other", "other.example")
    other = Scim(tenant_client(tenant), other_token)
    theirs = new_user(other, "linus@other.example")
    # A plain member of the other org (not provisioned by SCIM) is invisible too.
    alan = make_user(tenant, "alan@other.example")
    with app.app_context():
        t = db.session.merge(tenant)
        orgs.add_member(t, orgs.get_org(t, other_org), db.session.merge(alan))
        db.session.commit()

    assert scim.get("/Users").get_json()["totalResults"] == 0
    assert scim.get(f"/Users/{theirs['id']}").status_code == 404
    assert scim.get(f"/Users/{alan.id}").status_code == 404
    assert (
        scim.patch(
            f"/Users/{theirs['id']}", {"op": "replace", "path": "active", "value": False}
        ).status_code
        == 404
    )
    assert scim.delete(f"/Users/{alan.id}").status_code == 404
    assert scim.post("/Users", {"userName": "alan@other.example"}).status_code == 400
    assert other.get(f"/Users/{theirs['id']}").get_json()["active"] is True

    # The same token at another tenant's origin is unknown there.
    foreign = Scim(tenant_client(other_tenant), scim.token)
    assert foreign.get("/Users").status_code == 401


def test_adopting_an_unverified_account_drops_its_password(app, tenant, corp, make_user):
    from app.models import User

    scim, _ = corp
    squatter = make_user(tenant, "grace@corp.example", "attacker chosen 123", email_verified=False)
    adopted = new_user(scim)
    assert adopted["id"] == squatter.id
    with app.app_context():
        user = db.session.get(User, squatter.id)
        assert user.email_verified and user.password_hash is None


def test_a_failed_patch_changes_nothing(corp):
    """RFC 7644 §3.5.2: a PATCH is atomic; one bad operation undoes the others."""
    scim, _ = corp
    grace = new_user(scim)
    answer = scim.patch(
        f"/Users/{grace['id']}",
        {"op": "replace", "path": "displayName", "value": "Changed"},
        {"op": "replace", "path": "active", "value": "maybe"},
    )
    assert answer.status_code == 400 and answer.get_json()["scimType"] == "invalidValue"
    assert scim.get(f"/Users/{grace['id']}").get_json()["displayName"] == "Grace Hopper"


def test_malformed_requests_are_scim_errors(corp):
    scim, _ = corp
    raw = scim.tc.open(
        "POST",
        "/scim/v2/Users",
        headers={"Authorization": f"Bearer {scim.token}", "Content-Type": SCIM},
        data="{not json",
    )
    assert raw.status_code == 400 and raw.get_json()["scimType"] == "invalidSyntax"
    paging = scim.get("/Users", query_string={"count": "lots"})
    assert paging.status_code == 400 and paging.mimetype == SCIM
    wrong = scim.call("PUT", "/ServiceProviderConfig", {})
    assert wrong.status_code == 405 and wrong.mimetype == SCIM
    assert scim.get("/Nothing").status_code == 404
