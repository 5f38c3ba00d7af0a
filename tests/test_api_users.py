"""/v2/admin/tenants/{tenant}/users: list, search, create, read, update, disable, delete,
roles and sessions."""

import pytest

from app.extensions import db
from app.models import AuditEvent
from app.models import BrowserSession
from app.models import User
from app.security.passwords import verify_password
from tests.conftest import DEFAULT_PASSWORD
from tests.support.api import Api
from tests.support.api import create_admin_key
from tests.support.api import problem_of

USERS = "/tenants/acme-corp/users"


@pytest.fixture
def api(app, tenant):
    return Api(app, create_admin_key(app, tenant))


def _sign_in(app, tenant, user):
    from app.services import sessions as sessions_service

    with app.app_context():
        session, _token = sessions_service.start_session(
            db.session.merge(tenant), db.session.merge(user), amr=["pwd"]
        )
        db.session.commit()
        return session.id


def test_create_with_password_roles_and_verified_email(app, api):
    response = api.post(
        USERS,
        json={
            "email": "Grace@Example.com",
            "name": "Grace Hopper",
            "password": "a long enough passphrase",
            "email_verified": True,
            "roles": ["admin", "member"],
        },
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["id"].startswith("usr_")
    assert body["email"] == "grace@example.com"
    assert body["roles"] == ["admin", "member"]
    assert body["email_verified"] is True and body["has_password"] is True
    assert "password" not in body
    with app.app_context():
        user = db.session.get(User, body["id"])
        assert verify_password(user.password_hash, "a long enough passphrase")


def test_create_without_password_leaves_none(app, api):
    body = api.post(USERS, json={"email": "nopass@example.com"}).get_json()
    assert body["has_password"] is False and body["roles"] == ["member"]
    assert body["email_verified"] is False


def test_create_errors(api, user):
    problem = problem_of(api.post(USERS, json={"email": "ada@example.com"}))
    assert problem["status"] == 409 and "email" in problem["errors"]
    problem = problem_of(api.post(USERS, json={"email": "x@example.com", "password": "short"}))
    assert "password" in problem["errors"]
    problem = problem_of(api.post(USERS, json={"email": "x@example.com", "roles": ["wizard"]}))
    assert "roles" in problem["errors"]
    problem = problem_of(api.post(USERS, json={"email": "x@example.com", "email_verified": "yes"}))
    assert problem["errors"] == {"email_verified": "must be boolean"}
    problem = problem_of(api.post(USERS, json={"email": "x@example.com", "admin": True}))
    assert problem["errors"] == {"admin": "unknown field"}
    assert problem_of(api.post(USERS, json={"email": "nope"}))["status"] == 400


def test_list_search_and_cursor(api, make_user, tenant):
    for n in range(5):
        make_user(tenant, f"user{n}@example.com", name=f"User {n}")
    make_user(tenant, "zed@other.org", name="Zed Findme")
    first = api.get(f"{USERS}?limit=4").get_json()
    assert len(first["items"]) == 4 and first["next_cursor"]
    rest = api.get(f"{USERS}?limit=4&cursor={first['next_cursor']}").get_json()
    assert len(rest["items"]) == 2 and rest["next_cursor"] is None
    ids = [u["id"] for u in first["items"] + rest["items"]]
    assert len(set(ids)) == 6
    assert [u["email"] for u in api.get(f"{USERS}?q=findme").get_json()["items"]] == [
        "zed@other.org"
    ]
    assert [u["email"] for u in api.get(f"{USERS}?q=OTHER.ORG").get_json()["items"]] == [
        "zed@other.org"
    ]


def test_read_and_404(api, user):
    assert api.get(f"{USERS}/{user.id}").get_json()["email"] == "ada@example.com"
    assert problem_of(api.get(f"{USERS}/usr_nope"))["status"] == 404


def test_update_fields(app, api, user, make_user, tenant):
    make_user(tenant, "taken@example.com")
    session_id = _sign_in(app, tenant, user)
    body = api.patch(
        f"{USERS}/{user.id}",
        json={
            "name": "Ada King",
            "email": "ada.king@example.com",
            "password": "another good passphrase",
        },
    ).get_json()
    assert body["name"] == "Ada King" and body["email"] == "ada.king@example.com"
    assert body["email_verified"] is False  # a new address is unverified
    with app.app_context():
        stored = db.session.get(User, user.id)
        assert verify_password(stored.password_hash, "another good passphrase")
        # A password set by an admin signs the user out everywhere.
        assert db.session.get(BrowserSession, session_id).ended_at is not None
    assert api.patch(f"{USERS}/{user.id}", json={"email_verified": True}).get_json()[
        "email_verified"
    ]
    problem = problem_of(api.patch(f"{USERS}/{user.id}", json={"email": "taken@example.com"}))
    assert problem["status"] == 409
    problem = problem_of(api.patch(f"{USERS}/{user.id}", json={"password": "x"}))
    assert "password" in problem["errors"]
    problem = problem_of(api.patch(f"{USERS}/{user.id}", json={"status": "banned"}))
    assert "status" in problem["errors"]


def test_disable_ends_sessions_and_blocks_sign_in_then_enable(app, api, tenant, user):
    session_id = _sign_in(app, tenant, user)
    body = api.patch(f"{USERS}/{user.id}", json={"status": "disabled"}).get_json()
    assert body["status"] == "disabled"
    with app.app_context():
        assert db.session.get(BrowserSession, session_id).ended_at is not None
        actions = {e.action for e in db.session.query(AuditEvent)}
        assert "user.disabled" in actions
    body = api.patch(f"{USERS}/{user.id}", json={"status": "active"}).get_json()
    assert body["status"] == "active"


def test_replace_roles(api, user):
    body = api.put(f"{USERS}/{user.id}/roles", json={"roles": ["admin"]}).get_json()
    assert body["roles"] == ["admin"]
    assert api.get(f"{USERS}/{user.id}").get_json()["roles"] == ["admin"]
    assert (
        problem_of(api.put(f"{USERS}/{user.id}/roles", json={"roles": ["nope"]}))["status"] == 400
    )
    assert problem_of(api.put(f"{USERS}/{user.id}/roles", json={}))["errors"] == {
        "roles": "is required"
    }
    assert problem_of(api.put(f"{USERS}/{user.id}/roles", json={"roles": "admin"}))["status"] == 400


def test_list_and_end_sessions(app, api, tenant, user):
    first = _sign_in(app, tenant, user)
    _sign_in(app, tenant, user)
    listed = api.get(f"{USERS}/{user.id}/sessions").get_json()["items"]
    assert first in {s["id"] for s in listed} and len(listed) == 2
    assert api.delete(f"{USERS}/{user.id}/sessions").get_json() == {"ended": 2}
    assert api.get(f"{USERS}/{user.id}/sessions").get_json()["items"] == []
    _sign_in(app, tenant, user)
    assert api.post(f"{USERS}/{user.id}/sessions/revoke").get_json() == {"ended": 1}


def test_delete(app, api, tenant, user):
    _sign_in(app, tenant, user)
    assert api.delete(f"{USERS}/{user.id}").status_code == 204
    assert api.get(f"{USERS}/{user.id}").status_code == 404
    assert api.delete(f"{USERS}/{user.id}").status_code == 404
    with app.app_context():
        assert db.session.get(User, user.id) is None
        assert db.session.query(BrowserSession).count() == 0
        event = db.session.query(AuditEvent).filter_by(action="user.deleted").one()
        assert event.actor_type == "api_key"


def test_deleted_user_can_no_longer_sign_in(app, api, tenant, user, tenant_client):
    assert api.delete(f"{USERS}/{user.id}").status_code == 204
    browser = tenant_client(tenant)
    response = browser.submit("/login", {"email": "ada@example.com", "password": DEFAULT_PASSWORD})
    assert response.status_code in (200, 400, 401, 422)
    assert browser.cookie(f"gh_session_{tenant.id.lower()}") is None
