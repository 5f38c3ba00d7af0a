"""Unique-constraint races reachable from a form or the API answer like the sequential
case, never 500 (issue #14). Each test sends the same two requests one after the other
(the expected answers), then together to a live server with the race window widened.

On SQLite the admin API's requests are serialized by their first write (the key's last
use) before the check, so the race there is exercised on PostgreSQL; the hosted forms and
the console race on both databases. Client creation has no unique natural key (ids are
ULIDs), so it has no race to settle."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import Organization
from app.models import Role
from app.models import Tenant
from app.models import User
from tests.conftest import DEFAULT_PASSWORD
from tests.support.api import create_admin_key
from tests.support.races import HttpClient
from tests.support.races import together
from tests.support.races import widened_race_window

PASSWORD = "a long enough passphrase 42"


def _host(live_server, slug: str | None = "acme-corp") -> str:
    return live_server.base_domain if slug is None else f"{slug}.{live_server.base_domain}"


def _statuses(responses) -> list:
    return sorted(r if isinstance(r, Exception) else r.status_code for r in responses)


def _count(app, model, *criteria) -> int:
    with app.app_context():
        return db.session.query(model).filter(*criteria).count()


# --- hosted sign-up and invitations ----------------------------------------------------


def _signup(live_server, email: str):
    client = HttpClient(live_server, _host(live_server))
    token = client.csrf("/signup")
    data = {"csrf_token": token, "email": email, "password": PASSWORD, "name": "Racer"}
    return lambda: client.request("POST", "/signup", data=data)


@pytest.mark.parametrize("verification", [False, True])
def test_double_signup(app, make_tenant, live_server, verification):
    make_tenant("acme-corp", require_email_verification=verification)
    first, second = _signup(live_server, "seq@example.com"), _signup(live_server, "seq@example.com")
    expected = [first().status_code, second().status_code]
    assert expected == ([200, 200] if verification else [302, 422])

    calls = [_signup(live_server, "race@example.com") for _ in range(2)]
    with widened_race_window(User):
        responses = together(*calls)
    assert _statuses(responses) == sorted(expected), responses
    assert _count(app, User, User.email == "race@example.com") == 1


def _accept(live_server, token: str):
    client = HttpClient(live_server, _host(live_server))
    path = f"/invitations/{token}"
    data = {"csrf_token": client.csrf(path), "name": "Invited", "password": PASSWORD}
    return lambda: client.request("POST", path, data=data)


def _invite(app, tenant, email: str) -> str:
    from app.services import invitations

    with app.app_context():
        _invitation, token = invitations.create_invitation(
            db.session.merge(tenant), email, invited_by="test"
        )
        db.session.commit()
        return token


def test_invitation_acceptance_racing_a_signup(app, tenant, live_server):
    # Sequentially, in either order, the second one is refused with a form message.
    token = _invite(app, tenant, "one@example.com")
    calls = [_signup(live_server, "one@example.com"), _accept(live_server, token)]
    signup_first = [call() for call in calls]
    token = _invite(app, tenant, "two@example.com")
    calls = [_accept(live_server, token), _signup(live_server, "two@example.com")]
    accept_first = [call() for call in calls]
    allowed = {
        (signup_first[0].status_code, signup_first[1].status_code),  # signup, accept
        (accept_first[1].status_code, accept_first[0].status_code),
    }
    assert allowed == {(302, 400), (422, 302)}

    token = _invite(app, tenant, "race@example.com")
    calls = [_signup(live_server, "race@example.com"), _accept(live_server, token)]
    with widened_race_window(User):
        signup, accept = together(*calls)
    assert (signup.status_code, accept.status_code) in allowed, (signup, accept)
    assert _count(app, User, User.email == "race@example.com") == 1


# --- the admin REST API ----------------------------------------------------------------


def _api(live_server, key: str, method: str, path: str, body: dict):
    client = HttpClient(live_server, _host(live_server, None))
    headers = {"Authorization": f"Bearer {key}"}
    return lambda: client.request(method, "/v2/admin" + path, json=body, headers=headers)


API_CASES = {
    "user": (User, "/tenants/acme-corp/users", lambda n: {"email": f"{n}@example.com"}),
    "org": (Organization, "/tenants/acme-corp/orgs", lambda n: {"name": n.title(), "slug": n}),
    "role": (Role, "/tenants/acme-corp/roles", lambda n: {"name": n}),
    "tenant": (
        Tenant,
        "/tenants",
        lambda n: {"name": n.title(), "slug": n, "owner_email": "owner@example.com"},
    ),
}


@pytest.mark.parametrize("kind", sorted(API_CASES))
def test_api_creation_race(app, tenant, live_server, kind):
    model, path, body = API_CASES[kind]
    key = create_admin_key(app)
    sequential = [_api(live_server, key, "POST", path, body("seq"))() for _ in range(2)]
    expected = [r.status_code for r in sequential]
    assert expected == [201, 409]
    assert sequential[1].headers["Content-Type"].startswith("application/problem+json")

    # One key per caller: a key's last-use update would otherwise serialize the requests.
    calls = [_api(live_server, create_admin_key(app), "POST", path, body("race")) for _ in "ab"]
    with widened_race_window(model):
        responses = together(*calls)
    assert _statuses(responses) == sorted(expected), [r.text for r in responses]
    loser = next(r for r in responses if r.status_code == 409)
    assert loser.headers["Content-Type"].startswith("application/problem+json")
    assert loser.json()["status"] == 409


def test_api_org_member_race(app, tenant, make_user, live_server):
    from app.services import orgs

    member = make_user(tenant, "member@example.com")
    with app.app_context():
        org = orgs.create_org(db.session.merge(tenant), "Team")
        db.session.commit()
    path = f"/tenants/acme-corp/orgs/{org.id}/members"
    calls = [
        _api(live_server, create_admin_key(app), "POST", path, {"user_id": member.id}) for _ in "ab"
    ]
    from app.models import Membership

    with widened_race_window(Membership):
        responses = together(*calls)
    assert _statuses(responses) == [201, 409], [r.text for r in responses]


# --- the console -----------------------------------------------------------------------


def _console(app, live_server, tenant, admin):
    from app.services.sessions import start_session
    from app.web.session import cookie_name

    with app.app_context():
        _session, token = start_session(db.session.merge(tenant), admin, amr=["pwd"])
        db.session.commit()
        name = cookie_name(tenant.id)
    client = HttpClient(live_server, _host(live_server))
    client.session.cookies.set(name, token)
    return client


def _console_post(app, live_server, tenant, admin, path: str, data: dict):
    client = _console(app, live_server, tenant, admin)
    form = {"csrf_token": client.csrf(path), **data}
    return lambda: client.request("POST", path, data=form)


CONSOLE_CASES = {
    "user": (
        User,
        "/admin/users/new",
        lambda n: {"email": f"{n}@example.com", "name": n, "password": PASSWORD, "roles": "member"},
    ),
    "org": (Organization, "/admin/orgs/new", lambda n: {"name": n.title(), "slug": n}),
}


@pytest.mark.parametrize("kind", sorted(CONSOLE_CASES))
def test_console_creation_race(app, tenant, make_user, live_server, kind):
    model, path, data = CONSOLE_CASES[kind]
    admin = make_user(tenant, "admin@example.com", roles=("admin",), password=DEFAULT_PASSWORD)
    expected = [
        _console_post(app, live_server, tenant, admin, path, data("seq"))().status_code
        for _ in range(2)
    ]
    assert expected == [302, 422]

    calls = [_console_post(app, live_server, tenant, admin, path, data("race")) for _ in range(2)]
    with widened_race_window(model):
        responses = together(*calls)
    assert _statuses(responses) == sorted(expected), responses
    loser = next(r for r in responses if r.status_code == 422)
    assert "already exists" in loser.text


# --- upstream just-in-time accounts ----------------------------------------------------


def test_upstream_just_in_time_race(app, make_app):
    """Two browsers finish signing in with the same upstream identity at once: both are
    signed in to one account, as when they finish one after the other."""
    import requests

    from app.models.provider import LinkedIdentity
    from tests.support.live import LiveServer
    from tests.support.upstream import build
    from tests.support.upstream import upstream_code

    server = LiveServer(lambda **kw: make_app(**kw, TENANT_ROUTING="path")).start()
    try:
        up = build(server)
        from app.services import users

        with server.app.app_context():
            for email in ("seq@example.com", "race@example.com"):
                users.create_user(
                    up.idp, email, name="Grace", password=DEFAULT_PASSWORD, email_verified=True
                )
            db.session.commit()

        def callbacks(email):
            browsers = [requests.Session() for _ in range(2)]
            urls = [upstream_code(up, browser, email) for browser in browsers]
            return [
                lambda b=b, u=u: b.get(u, allow_redirects=False, timeout=60)
                for b, u in zip(browsers, urls, strict=True)
            ]

        expected = [call().status_code for call in callbacks("seq@example.com")]
        assert expected == [302, 302]
        calls = callbacks("race@example.com")
        with widened_race_window(User):
            responses = together(*calls)
        assert _statuses(responses) == expected, [getattr(r, "text", r) for r in responses]
        with server.app.app_context():
            acme_users = db.session.query(User).filter(
                User.tenant_id == up.acme.id, User.email == "race@example.com"
            )
            assert acme_users.count() == 1
            assert (
                db.session.query(LinkedIdentity)
                .filter(LinkedIdentity.user_id == acme_users.one().id)
                .count()
                == 1
            )
    finally:
        server.stop()
