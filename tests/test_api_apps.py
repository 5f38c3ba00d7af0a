"""Clients, signing keys, organizations with members, and invitations over the admin API."""

import pytest

from app.extensions import db
from app.models import Client
from app.models import Invitation
from app.models import Membership
from app.models import OutboxMessage
from app.security.tokens import digest
from tests.support.api import Api
from tests.support.api import create_admin_key
from tests.support.api import problem_of

T = "/tenants/acme-corp"
WEB_APP = {
    "client_name": "Acme Web",
    "redirect_uris": ["https://app.acme.test/callback"],
    "grant_types": ["authorization_code", "refresh_token"],
    "scope": "openid profile email",
}


@pytest.fixture
def api(app, tenant):
    return Api(app, create_admin_key(app, tenant))


# --- clients


def test_client_create_shows_the_secret_once(app, api):
    response = api.post(f"{T}/clients", json=WEB_APP)
    assert response.status_code == 201
    body = response.get_json()
    assert body["client_id"].startswith("cli_") and body["client_secret"]
    shown = api.get(f"{T}/clients/{body['client_id']}").get_json()
    assert "client_secret" not in shown and shown["client_name"] == "Acme Web"
    assert [c["client_id"] for c in api.get(f"{T}/clients").get_json()["items"]] == [
        body["client_id"]
    ]
    with app.app_context():
        stored = db.session.get(Client, body["client_id"])
        assert stored.secret_digest == digest(body["client_secret"])


def test_public_client_has_no_secret(api):
    body = api.post(
        f"{T}/clients", json={**WEB_APP, "token_endpoint_auth_method": "none"}
    ).get_json()
    assert "client_secret" not in body
    response = api.post(f"{T}/clients/{body['client_id']}/secret")
    assert problem_of(response)["status"] == 400


def test_client_errors(api):
    problem = problem_of(api.post(f"{T}/clients", json={**WEB_APP, "redirect_uris": ["ftp://x"]}))
    assert "redirect_uris" in problem["errors"]
    problem = problem_of(api.post(f"{T}/clients", json={**WEB_APP, "grant_types": ["password"]}))
    assert "grant_types[0]" in problem["errors"]
    problem = problem_of(api.post(f"{T}/clients", json={**WEB_APP, "client_secret": "mine"}))
    assert problem["errors"] == {"client_secret": "unknown field"}
    assert problem_of(api.post(f"{T}/clients", json={}))["errors"] == {"client_name": "is required"}


def test_client_update_rotate_delete(app, api):
    created = api.post(f"{T}/clients", json=WEB_APP).get_json()
    cid = created["client_id"]
    body = api.patch(f"{T}/clients/{cid}", json={"client_name": "Renamed", "first_party": True})
    assert body.get_json()["client_name"] == "Renamed" and body.get_json()["first_party"] is True
    rotated = api.post(f"{T}/clients/{cid}/secret").get_json()
    assert rotated["client_id"] == cid and rotated["client_secret"] != created["client_secret"]
    with app.app_context():
        assert db.session.get(Client, cid).secret_digest == digest(rotated["client_secret"])
    assert api.delete(f"{T}/clients/{cid}").status_code == 204
    assert api.get(f"{T}/clients/{cid}").status_code == 404


# --- keys


def test_keys_list_and_rotate(api):
    keys = api.get(f"{T}/keys").get_json()["items"]
    assert keys and all("private" not in str(k).lower() or "public_jwk" in k for k in keys)
    assert {k["status"] for k in keys} >= {"active"}
    before_active = {k["id"] for k in keys if k["status"] == "active"}
    rotated = api.post(f"{T}/keys/rotate").get_json()["items"]
    after_active = {k["id"] for k in rotated if k["status"] == "active"}
    assert after_active and after_active != before_active
    assert {k["id"] for k in rotated if k["status"] == "retiring"} == before_active
    for key in rotated:
        assert "d" not in key["public_jwk"]  # never the private part


# --- organizations and members


def test_orgs_crud(app, api):
    created = api.post(f"{T}/orgs", json={"name": "Engineering", "domains": ["eng.acme.com"]})
    assert created.status_code == 201
    org = created.get_json()
    assert org["slug"] == "engineering" and org["domains"] == ["eng.acme.com"]
    assert (
        problem_of(api.post(f"{T}/orgs", json={"name": "Eng", "slug": "engineering"}))["status"]
        == 409
    )
    assert api.get(f"{T}/orgs/engineering").get_json()["id"] == org["id"]
    assert [o["id"] for o in api.get(f"{T}/orgs?q=engin").get_json()["items"]] == [org["id"]]
    body = api.patch(f"{T}/orgs/{org['id']}", json={"name": "Eng", "slug": "eng"}).get_json()
    assert body["slug"] == "eng"
    assert problem_of(api.delete(f"{T}/orgs/eng"))["errors"]["confirm"]
    assert api.delete(f"{T}/orgs/eng", json={"confirm": "eng"}).status_code == 204
    assert api.get(f"{T}/orgs/eng").status_code == 404


def test_members_add_roles_remove(app, api, user, make_user, tenant):
    org = api.post(f"{T}/orgs", json={"name": "Sales"}).get_json()
    base = f"{T}/orgs/{org['id']}/members"
    owner = api.post(base, json={"user_id": user.id, "roles": ["owner"]})
    assert owner.status_code == 201 and owner.get_json()["roles"] == ["owner"]
    bob = make_user(tenant, "bob@example.com")
    assert api.post(base, json={"user_id": bob.id}).get_json()["roles"] == ["member"]
    assert problem_of(api.post(base, json={"user_id": bob.id}))["status"] == 409
    assert problem_of(api.post(base, json={"user_id": "usr_nope"}))["errors"]["user_id"]
    assert problem_of(api.post(base, json={"user_id": bob.id, "roles": ["czar"]}))["status"] in (
        400,
        409,
    )
    listed = api.get(base).get_json()["items"]
    assert {m["user_id"] for m in listed} == {user.id, bob.id}
    body = api.put(f"{base}/{bob.id}/roles", json={"roles": ["admin"]}).get_json()
    assert body["roles"] == ["admin"]
    assert api.get(f"{base}/{bob.id}").get_json()["roles"] == ["admin"]
    # The last owner stays.
    assert (
        problem_of(api.put(f"{base}/{user.id}/roles", json={"roles": ["member"]}))["status"] == 400
    )
    assert problem_of(api.delete(f"{base}/{user.id}"))["status"] == 400
    assert api.delete(f"{base}/{bob.id}").status_code == 204
    assert api.delete(f"{base}/{bob.id}").status_code == 404
    with app.app_context():
        assert db.session.query(Membership).filter_by(user_id=bob.id).count() == 0


# --- invitations


def test_invitations_create_resend_revoke(app, api):
    org = api.post(f"{T}/orgs", json={"name": "Ops"}).get_json()
    response = api.post(
        f"{T}/invitations",
        json={"email": "new@example.com", "roles": ["admin"], "org_id": org["id"]},
    )
    assert response.status_code == 201
    inv = response.get_json()
    assert inv["status"] == "pending" and inv["roles"] == ["admin"]
    assert inv["org_id"] == org["id"] and inv["invited_by"].startswith("api_key:")
    with app.app_context():
        first_digest = db.session.get(Invitation, inv["id"]).token_digest
        assert db.session.query(OutboxMessage).filter_by(to="new@example.com").count() == 1
    assert api.get(f"{T}/invitations?status=pending").get_json()["items"][0]["id"] == inv["id"]
    assert api.post(f"{T}/invitations/{inv['id']}/resend").status_code == 200
    with app.app_context():
        assert db.session.get(Invitation, inv["id"]).token_digest != first_digest
        assert db.session.query(OutboxMessage).filter_by(to="new@example.com").count() == 2
    body = api.post(f"{T}/invitations/{inv['id']}/revoke").get_json()
    assert body["status"] == "revoked"
    assert api.get(f"{T}/invitations/{inv['id']}").get_json()["status"] == "revoked"
    assert api.get(f"{T}/invitations?status=pending").get_json()["items"] == []
    assert problem_of(api.post(f"{T}/invitations/{inv['id']}/resend"))["status"] == 400


def test_invitation_errors(api, other_tenant):
    assert problem_of(api.post(f"{T}/invitations", json={"email": "bad"}))["status"] == 400
    problem = problem_of(api.post(f"{T}/invitations", json={"email": "a@b.com", "roles": ["x"]}))
    assert "roles" in problem["errors"]
    problem = problem_of(
        api.post(f"{T}/invitations", json={"email": "a@b.com", "org_id": "org_nope"})
    )
    assert "org_id" in problem["errors"]
    assert problem_of(api.get(f"{T}/invitations?status=odd"))["status"] == 400
    assert problem_of(api.get(f"{T}/invitations/inv_nope"))["status"] == 404
