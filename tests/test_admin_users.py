"""Console users: search as you type, cursor pages, create, edit inline, roles, disable,
reset email, end sessions, delete; and invitations."""

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import BrowserSession
from app.models import Invitation
from app.models import OutboxMessage
from app.models import User
from app.services import roles as roles_service
from tests.support.console import console_fixtures
from tests.support.console import sign_in

make_console = console_fixtures()


@pytest.fixture
def admin(tenant, make_console):
    return make_console(tenant, "boss@acme.example")


@pytest.fixture
def member(tenant, make_user):
    return make_user(tenant, "max@acme.example", name="Max Member")


def outbox(app, to):
    with app.app_context():
        return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.to == to)))


def test_list_search_and_pages(admin, make_user, tenant):
    for i in range(26):
        make_user(tenant, f"user{i:02d}@acme.example", name=f"User {i:02d}", password=None)
    page = admin.get("/admin/users").get_data(as_text=True)
    assert "boss@acme.example" in page and "Next page" in page
    found = admin.get("/admin/users?q=user1", headers={"HX-Request": "true"})
    body = found.get_data(as_text=True)
    assert body.lstrip().startswith('<div id="users-table"')
    assert "user10@acme.example" in body and "user20@acme.example" not in body
    cursor = page.split("after=")[1].split('"')[0]
    second = admin.get(f"/admin/users?after={cursor}").get_data(as_text=True)
    assert "user25@acme.example" in second and ">boss@acme.example</a>" not in second


def test_create_user_with_password_and_roles(app, admin, tenant):
    response = admin.submit(
        "/admin/users/new",
        {
            "email": "New@Acme.example",
            "name": "New Person",
            "password": "a long enough passphrase",
            "roles": ["member", "admin"],
        },
    )
    assert response.status_code == 302
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == "new@acme.example"))
        assert user.tenant_id == tenant.id and user.password_hash
        assert roles_service.tenant_role_names(tenant, user) == ["admin", "member"]
    assert response.location.endswith(f"/admin/users/{user.id}")


def test_create_user_without_password_emails_a_link(app, admin):
    admin.submit("/admin/users/new", {"email": "nopw@acme.example", "roles": ["member"]})
    (mail,) = outbox(app, "nopw@acme.example")
    assert "/password/reset/" in mail.body_text


def test_create_user_errors_are_shown_on_the_form(admin, member):
    weak = admin.submit("/admin/users/new", {"email": "weak@acme.example", "password": "short"})
    assert weak.status_code == 422 and 'aria-invalid="true"' in weak.get_data(as_text=True)
    taken = admin.submit("/admin/users/new", {"email": "max@acme.example"})
    assert taken.status_code == 422 and "already exists" in taken.get_data(as_text=True)
    unknown_role = admin.submit("/admin/users/new", {"email": "r@acme.example", "roles": ["boss"]})
    assert unknown_role.status_code == 422 and "unknown" in unknown_role.get_data(as_text=True)


def test_user_page_and_inline_profile_edit(app, admin, member):
    page = admin.get(f"/admin/users/{member.id}").get_data(as_text=True)
    assert "Max Member" in page and "Send a reset email" in page
    response = admin.submit(
        f"/admin/users/{member.id}",
        {"name": "Maxine", "email": "maxine@acme.example", "email_verified": "1"},
        form_path=f"/admin/users/{member.id}",
        headers={"HX-Request": "true"},
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and body.lstrip().startswith(
        '<section class="panel" id="user-profile"'
    )
    assert "Profile saved." in body
    with app.app_context():
        user = db.session.get(User, member.id)
        assert (user.name, user.email) == ("Maxine", "maxine@acme.example")
    bad = admin.submit(
        f"/admin/users/{member.id}",
        {"name": "x", "email": "not-an-email"},
        form_path=f"/admin/users/{member.id}",
        headers={"HX-Request": "true"},
    )
    assert bad.status_code == 422 and "field-error" in bad.get_data(as_text=True)


def test_roles_disable_enable(app, admin, member, tenant):
    response = admin.submit(
        f"/admin/users/{member.id}/roles",
        {"roles": ["admin", "member"]},
        form_path=f"/admin/users/{member.id}",
    )
    assert response.status_code == 302
    with app.app_context():
        assert roles_service.tenant_role_names(tenant, db.session.get(User, member.id)) == [
            "admin",
            "member",
        ]
    row = admin.submit(
        f"/admin/users/{member.id}/status",
        {"status": "disabled"},
        form_path="/admin/users",
        headers={"HX-Request": "true"},
    )
    assert row.get_data(as_text=True).lstrip().startswith(f'<tr id="user-{member.id}"')
    with app.app_context():
        assert db.session.get(User, member.id).status == "disabled"
    admin.submit(f"/admin/users/{member.id}/status", {"status": "active"}, form_path="/admin/users")
    with app.app_context():
        assert db.session.get(User, member.id).status == "active"


def test_admin_cannot_lock_themselves_out(app, admin, tenant, member):
    me = admin.user.id
    listing = admin.get("/admin/users").get_data(as_text=True)
    own_row = listing.split(f'<tr id="user-{me}"')[1].split("</tr>")[0]
    other_row = listing.split(f'<tr id="user-{member.id}"')[1].split("</tr>")[0]
    assert ">Disable</button>" not in own_row  # not offered on your own row
    assert ">Disable</button>" in other_row

    # Asked anyway: the console's own message, never a bare 400 page.
    swap = admin.submit(
        f"/admin/users/{me}/status",
        {"status": "disabled"},
        form_path="/admin/users",
        headers={"HX-Request": "true"},
    )
    body = swap.get_data(as_text=True)
    assert swap.status_code == 422 and body.lstrip().startswith(f'<tr id="user-{me}"')
    assert 'class="flash flash-error" role="alert">You cannot disable your own account' in body
    assert "Bad Request" not in body
    plain = admin.submit(
        f"/admin/users/{me}/status", {"status": "disabled"}, form_path="/admin/users"
    )
    assert plain.status_code == 302 and plain.headers["Location"].endswith("/admin/users")
    page = admin.get("/admin/users").get_data(as_text=True)
    assert "flash-error" in page and "You cannot disable your own account" in page

    roles = admin.submit(
        f"/admin/users/{me}/roles", {"roles": ["member"]}, form_path="/admin/users"
    )
    assert roles.status_code == 302
    assert "You cannot remove your own admin role" in admin.get(roles.headers["Location"]).get_data(
        as_text=True
    )
    delete = admin.submit(f"/admin/users/{me}/delete", {}, form_path="/admin/users")
    assert delete.status_code == 302
    assert "You cannot delete your own account" in admin.get(delete.headers["Location"]).get_data(
        as_text=True
    )
    with app.app_context():
        user = db.session.get(User, me)
        assert user.status == "active" and roles_service.has_tenant_role(tenant, user, "admin")


def test_send_reset_email(app, admin, member):
    response = admin.submit(
        f"/admin/users/{member.id}/reset", {}, form_path=f"/admin/users/{member.id}"
    )
    assert response.status_code == 302
    (mail,) = outbox(app, "max@acme.example")
    assert "/password/reset/" in mail.body_text and "acme-corp.gatehouse.test" in mail.body_text


def test_end_sessions_and_delete(app, admin, member, tenant, tenant_client):
    browser = tenant_client(tenant)
    session_id = sign_in(app, browser, tenant, member)
    response = admin.submit(
        f"/admin/users/{member.id}/sessions/end", {}, form_path=f"/admin/users/{member.id}"
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(BrowserSession, session_id).ended_at is not None
    gone = admin.submit(
        f"/admin/users/{member.id}/delete", {}, form_path=f"/admin/users/{member.id}"
    )
    assert gone.status_code == 302 and gone.location.endswith("/admin/users")
    with app.app_context():
        assert db.session.get(User, member.id) is None


def test_invite_resend_revoke(app, admin, tenant):
    response = admin.submit(
        "/admin/invitations/new", {"email": "guest@acme.example", "roles": ["member"]}
    )
    assert response.status_code == 302
    assert len(outbox(app, "guest@acme.example")) == 1
    with app.app_context():
        invitation = db.session.scalar(
            select(Invitation).where(Invitation.email == "guest@acme.example")
        )
    listing = admin.get("/admin/invitations").get_data(as_text=True)
    assert "guest@acme.example" in listing and "pending" in listing
    resent = admin.submit(
        f"/admin/invitations/{invitation.id}/resend",
        {},
        form_path="/admin/invitations",
        headers={"HX-Request": "true"},
    )
    assert "re-sent" in resent.get_data(as_text=True)
    assert len(outbox(app, "guest@acme.example")) == 2
    admin.submit(f"/admin/invitations/{invitation.id}/revoke", {}, form_path="/admin/invitations")
    with app.app_context():
        assert db.session.get(Invitation, invitation.id).revoked_at is not None


def test_invite_form_errors(admin):
    response = admin.submit("/admin/invitations/new", {"email": "bad", "roles": ["member"]})
    assert response.status_code == 422 and 'aria-invalid="true"' in response.get_data(as_text=True)
