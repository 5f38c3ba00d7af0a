"""Console organizations (members, roles, invitations) and OAuth clients (secret shown
once, rotation, edits)."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Client
from app.models import Invitation
from app.models import Organization
from app.security.tokens import digest
from app.services import orgs as orgs_service
from app.services import roles as roles_service
from tests.support.console import console_fixtures

make_console = console_fixtures()


@pytest.fixture
def admin(tenant, make_console):
    return make_console(tenant, "boss@acme.example")


@pytest.fixture
def org(app, tenant):
    with app.app_context():
        created = orgs_service.create_org(tenant, "Engineering", domains=["eng.acme.example"])
        db.session.commit()
        return created


def test_orgs_list_search_create(app, admin, org, tenant):
    page = admin.get("/admin/orgs").get_data(as_text=True)
    assert "Engineering" in page and "eng.acme.example" in page
    partial = admin.get("/admin/orgs?q=zzz", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert partial.lstrip().startswith('<div id="orgs-table"') and "No organizations" in partial
    response = admin.submit("/admin/orgs/new", {"name": "Sales Team", "slug": "", "domains": ""})
    assert response.status_code == 302
    with app.app_context():
        created = db.session.scalar(select(Organization).where(Organization.slug == "sales-team"))
        assert created.tenant_id == tenant.id
    assert response.location.endswith(f"/admin/orgs/{created.id}")
    taken = admin.submit("/admin/orgs/new", {"name": "Again", "slug": "sales-team"})
    assert taken.status_code == 422 and "already exists" in taken.get_data(as_text=True)


def test_org_edit_inline_and_delete(app, admin, org):
    saved = admin.submit(
        f"/admin/orgs/{org.id}",
        {"name": "Engineering EU", "slug": "eng-eu", "domains": "eu.acme.example"},
        form_path=f"/admin/orgs/{org.id}",
        headers={"HX-Request": "true"},
    )
    body = saved.get_data(as_text=True)
    assert body.lstrip().startswith('<section class="panel" id="org-settings"') and "saved" in body
    with app.app_context():
        row = db.session.get(Organization, org.id)
        assert (row.slug, row.domains) == ("eng-eu", ["eu.acme.example"])
    wrong = admin.submit(f"/admin/orgs/{org.id}/delete", {"confirm": "nope"})
    assert wrong.status_code == 422
    gone = admin.submit(f"/admin/orgs/{org.id}/delete", {"confirm": "eng-eu"})
    assert gone.status_code == 302
    with app.app_context():
        assert db.session.get(Organization, org.id) is None


def test_members_add_roles_remove(app, admin, org, tenant, make_user):
    member = make_user(tenant, "dev@acme.example", name="Dev")
    added = admin.submit(
        f"/admin/orgs/{org.id}/members",
        {"email": "dev@acme.example", "roles": ["owner"]},
        form_path=f"/admin/orgs/{org.id}",
        headers={"HX-Request": "true"},
    )
    body = added.get_data(as_text=True)
    assert (
        body.lstrip().startswith('<section class="panel" id="org-members"')
        and "dev@acme.example" in body
    )
    unknown = admin.submit(
        f"/admin/orgs/{org.id}/members",
        {"email": "ghost@acme.example", "roles": ["member"]},
        form_path=f"/admin/orgs/{org.id}",
    )
    assert unknown.status_code == 422 and "invite them" in unknown.get_data(as_text=True)
    last_owner = admin.submit(
        f"/admin/orgs/{org.id}/members/{member.id}/roles",
        {"roles": ["member"]},
        form_path=f"/admin/orgs/{org.id}",
    )
    assert last_owner.status_code == 422 and "last owner" in last_owner.get_data(as_text=True)
    admin.submit(
        f"/admin/orgs/{org.id}/members/{member.id}/roles",
        {"roles": ["owner", "admin"]},
        form_path=f"/admin/orgs/{org.id}",
    )
    with app.app_context():
        assert roles_service.org_role_names(tenant, member, org.id) == ["admin", "owner"]
    blocked = admin.submit(
        f"/admin/orgs/{org.id}/members/{member.id}/remove", {}, form_path=f"/admin/orgs/{org.id}"
    )
    assert blocked.status_code == 422
    other = make_user(tenant, "ops@acme.example")
    admin.submit(
        f"/admin/orgs/{org.id}/members",
        {"email": "ops@acme.example", "roles": ["member"]},
        form_path=f"/admin/orgs/{org.id}",
    )
    removed = admin.submit(
        f"/admin/orgs/{org.id}/members/{other.id}/remove", {}, form_path=f"/admin/orgs/{org.id}"
    )
    assert removed.status_code == 302
    with app.app_context():
        assert roles_service.org_role_names(tenant, other, org.id) is None


def test_invite_into_an_organization(app, admin, org):
    form = admin.get(f"/admin/invitations/new?org_id={org.id}").get_data(as_text=True)
    assert f'<option value="{org.id}" selected>' in form
    response = admin.submit(
        "/admin/invitations/new",
        {
            "email": "new@acme.example",
            "roles": ["member"],
            "org_id": org.id,
            "org_roles": ["admin"],
        },
    )
    assert response.status_code == 302
    with app.app_context():
        invitation = db.session.scalar(
            select(Invitation).where(Invitation.email == "new@acme.example")
        )
        assert (invitation.org_id, invitation.org_roles) == (org.id, ["admin"])
    assert "new@acme.example" in admin.get(f"/admin/orgs/{org.id}").get_data(as_text=True)


CLIENT = {
    "client_name": "Acme Web",
    "redirect_uris": "https://app.acme.example/callback",
    "post_logout_redirect_uris": "",
    "grant_types": ["authorization_code", "refresh_token"],
    "token_endpoint_auth_method": "client_secret_basic",
    "scope": ["openid", "profile", "email"],
    "id_token_signed_response_alg": "RS256",
    "roles": "",
}


def secret_in(body: str) -> str:
    return body.split('<p class="secret" tabindex="0">')[1].split("<")[0]


def test_create_client_shows_the_secret_once(app, admin, tenant):
    response = admin.submit("/admin/clients/new", CLIENT)
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "shown only this once" in body
    secret = secret_in(body)
    with app.app_context():
        client = db.session.scalar(select(Client).where(Client.client_name == "Acme Web"))
        assert client.tenant_id == tenant.id and client.secret_digest == digest(secret)
    page = admin.get(f"/admin/clients/{client.id}").get_data(as_text=True)
    assert client.id in page and secret not in page
    assert "Acme Web" in admin.get("/admin/clients").get_data(as_text=True)


def test_client_errors_and_public_clients(app, admin):
    bad = admin.submit("/admin/clients/new", {**CLIENT, "redirect_uris": "ftp://nope"})
    assert bad.status_code == 422 and 'aria-invalid="true"' in bad.get_data(as_text=True)
    public = admin.submit(
        "/admin/clients/new",
        {**CLIENT, "client_name": "SPA", "token_endpoint_auth_method": "none"},
    )
    assert "has no secret" in public.get_data(as_text=True)
    assert "shown only this once" not in public.get_data(as_text=True)


def test_edit_client_inline_and_rotate_secret(app, admin):
    created = admin.submit("/admin/clients/new", CLIENT).get_data(as_text=True)
    old_secret = secret_in(created)
    with app.app_context():
        client = db.session.scalar(select(Client).where(Client.client_name == "Acme Web"))
    edited = admin.submit(
        f"/admin/clients/{client.id}",
        {
            **CLIENT,
            "redirect_uris": "https://app.acme.example/callback\nhttps://app.acme.example/cb2",
            "grant_types": ["authorization_code"],
        },
        form_path=f"/admin/clients/{client.id}",
        headers={"HX-Request": "true"},
    )
    assert "Client saved." in edited.get_data(as_text=True)
    with app.app_context():
        row = db.session.get(Client, client.id)
        assert row.redirect_uris[1] == "https://app.acme.example/cb2"
        assert row.grant_types == ["authorization_code"]
    rotated = admin.submit(
        f"/admin/clients/{client.id}/secret",
        {},
        form_path=f"/admin/clients/{client.id}",
        headers={"HX-Request": "true"},
    )
    body = rotated.get_data(as_text=True)
    assert body.lstrip().startswith('<section class="panel" id="client-secret"')
    new_secret = secret_in(body)
    assert new_secret != old_secret
    with app.app_context():
        assert db.session.get(Client, client.id).secret_digest == digest(new_secret)
    deleted = admin.submit(
        f"/admin/clients/{client.id}/delete", {}, form_path=f"/admin/clients/{client.id}"
    )
    assert deleted.status_code == 302
    with app.app_context():
        assert db.session.get(Client, client.id) is None


def test_secret_rotation_needs_a_recent_sign_in(app, tenant, make_console):
    fresh = make_console(tenant, "fresh@acme.example")
    fresh.submit("/admin/clients/new", CLIENT)
    with app.app_context():
        client = db.session.scalar(select(Client).where(Client.client_name == "Acme Web"))
        before = client.secret_digest
    stale = make_console(tenant, "stale@acme.example", auth_age=timedelta(minutes=20))
    response = stale.submit(
        f"/admin/clients/{client.id}/secret", {}, form_path=f"/admin/clients/{client.id}"
    )
    assert response.status_code == 302 and "prompt=login" in response.location
    assert f"next=/admin/clients/{client.id}&" in response.location
    with app.app_context():
        assert db.session.get(Client, client.id).secret_digest == before
