"""OIDC Back-Channel Logout 1.0, end to end: every way a session ends (hosted sign-out,
RP-initiated logout, an admin in the API or the console, a password change or reset, a
user disabled or erased) makes the worker POST a Logout Token to each client of that
session that registered a ``backchannel_logout_uri``: a real HTTP receiver on loopback
gets it, and it is validated like a relying party would (JWKS, every claim)."""

from __future__ import annotations

import jwt
import pytest

from app.extensions import db
from app.models import LogoutDelivery
from tests.conftest import DEFAULT_PASSWORD
from tests.support.api import Api
from tests.support.api import create_admin_key
from tests.support.api import problem_of
from tests.support.auth import sign_in as sign_in_with_form
from tests.support.console import console_fixtures
from tests.support.logout import LogoutReceiver
from tests.support.logout import drain
from tests.support.logout import verify_logout_token
from tests.support.oauth import login_tokens
from tests.support.oauth import make_client
from tests.support.oauth import sign_in

ISSUER = "http://acme-corp.gatehouse.test"
GLOBEX_ISSUER = "http://globex.gatehouse.test"
NEW_PASSWORD = "velvet canyon orbit 77"
FAST = {"BACKCHANNEL_LOGOUT_RETRY_BASE_SECONDS": 0.01, "BACKCHANNEL_LOGOUT_MAX_ATTEMPTS": 3}

make_console = console_fixtures()


@pytest.fixture
def receiver():
    with LogoutReceiver() as server:
        yield server


@pytest.fixture
def api(app, tenant):
    return Api(app, create_admin_key(app, None))


def rp_at(app, tenant, receiver, path="/rp", **data):
    return make_client(app, tenant, backchannel_logout_uri=receiver.url(path), **data)


def browser_with(app, tenant_client, tenant, user, *rps):
    """A browser signed in as ``user`` that signed in to each of ``rps``; answers the
    client, its session id and the token responses."""
    tc = tenant_client(tenant)
    sid = sign_in(app, tc, tenant, user)
    return tc, sid, [login_tokens(tc, rp) for rp in rps]


def check(tc, token, rp, *, sid, sub, issuer=ISSUER) -> dict:
    """The token verifies against the tenant's JWKS and names this session and user."""
    jwks = tc.get("/.well-known/jwks.json").get_json()
    claims = verify_logout_token(token, jwks=jwks, issuer=issuer, client_id=rp.client_id)
    assert (claims["sid"], claims["sub"]) == (sid, sub)
    return claims


def test_hosted_sign_out_notifies_each_client_of_that_session(
    app, api, tenant, user, tenant_client, receiver
):
    first, second = rp_at(app, tenant, receiver, "/a"), rp_at(app, tenant, receiver, "/b")
    silent = make_client(app, tenant, client_name="No back channel")
    elsewhere_rp = rp_at(app, tenant, receiver, "/elsewhere")
    tc, sid, (tokens_a, _tokens_b, _) = browser_with(
        app, tenant_client, tenant, user, first, second, silent
    )
    other, other_sid, _ = browser_with(app, tenant_client, tenant, user, elsewhere_rp)

    assert tc.submit("/logout", {}).status_code == 302
    (token_a,) = receiver.tokens("/a")
    (token_b,) = receiver.tokens("/b")
    assert receiver.tokens("/elsewhere") == [] and len(receiver.hits) == 2
    claims_a = check(tc, token_a, first, sid=sid, sub=user.id)
    claims_b = check(tc, token_b, second, sid=sid, sub=user.id)
    assert claims_a["jti"] != claims_b["jti"]
    # The sid is the one the client's ID token carried.
    assert jwt.decode(tokens_a["id_token"], options={"verify_signature": False})["sid"] == sid
    assert other.get("/account").status_code == 200  # the other browser is untouched
    # Admins see each delivery and its attempts.
    log = api.get(f"/tenants/acme-corp/clients/{first.client_id}/backchannel-logout-deliveries")
    (entry,) = log.get_json()["items"]
    assert (entry["status"], entry["attempts"], entry["response_status"]) == ("succeeded", 1, 200)
    assert entry["session_id"] == sid and entry["sub"] == user.id and entry["reason"] == "logout"
    assert [h["jti"] for h in entry["history"]] == [claims_a["jti"]]
    assert other_sid != sid


def test_rp_initiated_logout_notifies_the_initiating_client_too(
    app, tenant, user, tenant_client, receiver
):
    rp = rp_at(app, tenant, receiver)
    tc, sid, (tokens,) = browser_with(app, tenant_client, tenant, user, rp)
    response = tc.get(
        "/oauth2/logout",
        query_string={
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": "https://app.example.com/bye",
        },
    )
    assert response.status_code == 302
    (token,) = receiver.tokens()
    check(tc, token, rp, sid=sid, sub=user.id)


def test_admin_api_ends_one_session_or_all_of_a_users(
    app, api, tenant, user, tenant_client, receiver
):
    rp = rp_at(app, tenant, receiver)
    tc1, sid1, _ = browser_with(app, tenant_client, tenant, user, rp)
    _tc2, sid2, _ = browser_with(app, tenant_client, tenant, user, rp)
    _tc3, sid3, _ = browser_with(app, tenant_client, tenant, user, rp)
    assert api.delete(f"/tenants/acme-corp/sessions/{sid1}").status_code == 204
    (token,) = receiver.tokens()
    check(tc1, token, rp, sid=sid1, sub=user.id)
    assert api.delete(f"/tenants/acme-corp/users/{user.id}/sessions").get_json() == {"ended": 2}
    jwks = tc1.get("/.well-known/jwks.json").get_json()
    later = [
        verify_logout_token(t, jwks=jwks, issuer=ISSUER, client_id=rp.client_id)
        for t in receiver.tokens()[1:]
    ]
    assert sorted(c["sid"] for c in later) == sorted([sid2, sid3])
    assert {c["sub"] for c in later} == {user.id}
    log = api.get(f"/tenants/acme-corp/clients/{rp.client_id}/backchannel-logout-deliveries")
    assert {e["reason"] for e in log.get_json()["items"]} == {"revoked"}


def test_console_ends_a_session_and_all_of_a_users(
    app, tenant, user, tenant_client, receiver, make_console
):
    rp = rp_at(app, tenant, receiver)
    admin = make_console(tenant)
    tc1, sid1, _ = browser_with(app, tenant_client, tenant, user, rp)
    tc2, sid2, _ = browser_with(app, tenant_client, tenant, user, rp)
    ended = admin.submit(f"/admin/sessions/{sid1}/end", {}, form_path="/admin/sessions")
    assert ended.status_code in (200, 302)
    (token,) = receiver.tokens()
    check(tc1, token, rp, sid=sid1, sub=user.id)
    path = f"/admin/users/{user.id}/sessions/end"
    assert admin.submit(path, {}, form_path=f"/admin/users/{user.id}").status_code in (200, 302)
    assert len(receiver.tokens()) == 2
    check(tc2, receiver.tokens()[1], rp, sid=sid2, sub=user.id)
    # The client's page shows the delivery log.
    page = admin.get(f"/admin/clients/{rp.client_id}").get_data(as_text=True)
    assert "Back-channel logout" in page and sid1 in page and sid2 in page


def test_a_password_change_tells_the_clients_of_the_other_sessions(
    app, tenant, user, tenant_client, receiver
):
    rp = rp_at(app, tenant, receiver)
    here, here_sid, _ = browser_with(app, tenant_client, tenant, user, rp)
    there, there_sid, _ = browser_with(app, tenant_client, tenant, user, rp)
    response = here.submit(
        "/account/password",
        {"password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
        form_path="/account",
    )
    assert response.status_code == 302
    (token,) = receiver.tokens()  # the session that changed it stays, and is not named
    check(here, token, rp, sid=there_sid, sub=user.id)
    assert here_sid != there_sid


def test_a_password_reset_tells_the_clients_of_the_ended_sessions(
    app, tenant, user, tenant_client, receiver
):
    from tests.test_auth_reset import outbox_link

    rp = rp_at(app, tenant, receiver)
    there, there_sid, _ = browser_with(app, tenant_client, tenant, user, rp)
    stranger = tenant_client(tenant)
    stranger.submit("/password/forgot", {"email": user.email})
    path = outbox_link(app, user.email).removeprefix(ISSUER)
    assert stranger.submit(path, {"password": NEW_PASSWORD}).status_code == 302
    (token,) = receiver.tokens()
    check(there, token, rp, sid=there_sid, sub=user.id)


def test_disabling_or_erasing_a_user_tells_their_clients(
    app, api, tenant, user, make_user, tenant_client, receiver
):
    rp = rp_at(app, tenant, receiver)
    tc, sid, _ = browser_with(app, tenant_client, tenant, user, rp)
    grace = make_user(tenant, "grace@example.com")
    tc2, grace_sid, _ = browser_with(app, tenant_client, tenant, grace, rp)
    disabled = api.patch(f"/tenants/acme-corp/users/{user.id}", json={"status": "disabled"})
    assert disabled.status_code == 200
    (token,) = receiver.tokens()
    check(tc, token, rp, sid=sid, sub=user.id)
    assert api.delete(f"/tenants/acme-corp/users/{grace.id}").status_code == 204
    # Erased: the token still names the id the client knows.
    check(tc2, receiver.tokens()[1], rp, sid=grace_sid, sub=grace.id)
    log = api.get(f"/tenants/acme-corp/clients/{rp.client_id}/backchannel-logout-deliveries")
    assert sorted(e["reason"] for e in log.get_json()["items"]) == ["user_deleted", "user_disabled"]


def test_another_person_signing_in_in_the_same_browser_ends_the_first_ones_apps(
    app, tenant, user, make_user, tenant_client, receiver
):
    rp = rp_at(app, tenant, receiver)
    make_user(tenant, "grace@example.com")
    tc, sid, _ = browser_with(app, tenant_client, tenant, user, rp)
    # The same person again (prompt=login): their apps stay signed in.
    again = sign_in_with_form(tc, user.email, DEFAULT_PASSWORD, form_path="/login?prompt=login")
    assert again.status_code == 302 and receiver.hits == []
    login_tokens(tc, rp)
    sid2 = _session_id(app, user.id)
    # Someone else: the previous session's apps hear of it.
    other = sign_in_with_form(
        tc, "grace@example.com", DEFAULT_PASSWORD, form_path="/login?prompt=login"
    )
    assert other.status_code == 302
    (token,) = receiver.tokens()
    check(tc, token, rp, sid=sid2, sub=user.id)
    assert sid != sid2


def _session_id(app, user_id):
    from app.models import BrowserSession

    with app.app_context():
        return db.session.scalars(
            db.select(BrowserSession.id)
            .where(BrowserSession.user_id == user_id, BrowserSession.ended_at.is_(None))
            .order_by(BrowserSession.id.desc())
        ).first()


@pytest.mark.config(OUTBOX_DRAIN_ON_COMMIT=False)
def test_sign_out_does_not_wait_for_the_relying_party(
    app, api, tenant, user, tenant_client, receiver
):
    rp = rp_at(app, tenant, receiver)
    tc, sid, _ = browser_with(app, tenant_client, tenant, user, rp)
    assert tc.submit("/logout", {}).status_code == 302
    assert receiver.hits == []  # only queued, in the sign-out's transaction
    log = api.get(f"/tenants/acme-corp/clients/{rp.client_id}/backchannel-logout-deliveries")
    assert [e["status"] for e in log.get_json()["items"]] == ["pending"]
    drain(app, until=lambda: len(receiver.hits) == 1)
    check(tc, receiver.tokens()[0], rp, sid=sid, sub=user.id)


@pytest.mark.config(**FAST)
def test_failures_are_retried_a_bounded_number_of_times(app, api, tenant, user, tenant_client):
    with LogoutReceiver(statuses=[500, 400, 503, 500]) as flaky:
        rp = rp_at(app, tenant, flaky)
        tc, sid, _ = browser_with(app, tenant_client, tenant, user, rp)
        assert tc.submit("/logout", {}).status_code == 302
        drain(app, until=lambda: _statuses(app) == ["failed"])
        tokens = flaky.tokens()
    assert len(tokens) == 3  # BACKCHANNEL_LOGOUT_MAX_ATTEMPTS, then no more
    jtis = {check(tc, t, rp, sid=sid, sub=user.id)["jti"] for t in tokens}
    assert len(jtis) == 3  # a fresh token per attempt
    (entry,) = api.get(
        f"/tenants/acme-corp/clients/{rp.client_id}/backchannel-logout-deliveries"
    ).get_json()["items"]
    assert entry["attempts"] == 3 and entry["status"] == "failed"
    assert [h["status"] for h in entry["history"]] == [500, 400, 503]
    assert {h["jti"] for h in entry["history"]} == jtis
    assert entry["error"] == "HTTP 503" and entry["next_attempt_at"] is None


def _statuses(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(db.select(LogoutDelivery.status)))


def test_one_tenants_session_end_never_reaches_another_tenants_clients(
    app, tenant, other_tenant, user, make_user, tenant_client, receiver
):
    acme_rp = rp_at(app, tenant, receiver, "/acme")
    globex_rp = rp_at(app, other_tenant, receiver, "/globex")
    globex_user = make_user(other_tenant, user.email)  # the same person, another tenant
    acme, acme_sid, _ = browser_with(app, tenant_client, tenant, user, acme_rp)
    globex, globex_sid, _ = browser_with(app, tenant_client, other_tenant, globex_user, globex_rp)
    assert acme.submit("/logout", {}).status_code == 302
    assert receiver.tokens("/globex") == [] and len(receiver.tokens("/acme")) == 1
    check(acme, receiver.tokens("/acme")[0], acme_rp, sid=acme_sid, sub=user.id)
    assert globex.get("/account").status_code == 200
    assert globex.submit("/logout", {}).status_code == 302
    (token,) = receiver.tokens("/globex")
    check(globex, token, globex_rp, sid=globex_sid, sub=globex_user.id, issuer=GLOBEX_ISSUER)
    with pytest.raises(AssertionError):  # acme's keys do not verify globex's token
        check(acme, token, globex_rp, sid=globex_sid, sub=globex_user.id, issuer=GLOBEX_ISSUER)


# --- the client fields ---------------------------------------------------------------------


def test_the_client_fields_in_the_admin_api(api, receiver):
    base = "/tenants/acme-corp/clients"
    app_ = {"client_name": "RP", "redirect_uris": ["https://rp.example/cb"]}
    created = api.post(
        base,
        json={
            **app_,
            "backchannel_logout_uri": "https://rp.example/logout?tenant=1",
            "backchannel_logout_session_required": True,
        },
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["backchannel_logout_uri"] == "https://rp.example/logout?tenant=1"
    assert body["backchannel_logout_session_required"] is True
    plain = api.post(base, json=app_).get_json()
    assert plain["backchannel_logout_uri"] is None
    assert plain["backchannel_logout_session_required"] is False
    for bad in (
        "https://rp.example/logout#frag",  # §2.2: no fragment
        "http://rp.example/logout",  # http only for loopback (development)
        "/logout",  # absolute
        "ftp://rp.example/logout",
        "https://user:pw@rp.example/logout",
    ):
        refused = api.post(base, json={**app_, "backchannel_logout_uri": bad})
        assert refused.status_code == 400, bad
        assert "backchannel_logout_uri" in problem_of(refused)["errors"], bad
    wrong_type = api.post(base, json={**app_, "backchannel_logout_session_required": "yes"})
    assert wrong_type.status_code == 400
    cid = body["client_id"]
    loopback = api.patch(f"{base}/{cid}", json={"backchannel_logout_uri": receiver.url()})
    assert loopback.get_json()["backchannel_logout_uri"] == receiver.url()
    removed = api.patch(f"{base}/{cid}", json={"backchannel_logout_uri": None})
    assert removed.get_json()["backchannel_logout_uri"] is None
    assert api.get(f"{base}/cli_missing/backchannel-logout-deliveries").status_code == 404


def test_the_console_client_form_sets_the_back_channel_uri(app, tenant, make_console):
    rp = make_client(app, tenant)
    admin = make_console(tenant)
    path = f"/admin/clients/{rp.client_id}"
    page = admin.get(path).get_data(as_text=True)
    assert 'name="backchannel_logout_uri"' in page
    form = {
        "client_name": "Test App",
        "redirect_uris": "https://app.example.com/callback",
        "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": "client_secret_basic",
        "scope": ["openid", "profile"],
        "id_token_signed_response_alg": "RS256",
        "first_party": "1",
        "backchannel_logout_uri": "https://app.example.com/bc-logout#x",
    }
    refused = admin.submit(path, form)
    assert refused.status_code == 422 and "fragment" in refused.get_data(as_text=True)
    form["backchannel_logout_uri"] = "https://app.example.com/bc-logout"
    form["backchannel_logout_session_required"] = "1"
    assert admin.submit(path, form).status_code in (200, 302)
    from app.models import Client

    with app.app_context():
        row = db.session.get(Client, rp.client_id)
        assert row.backchannel_logout_uri == "https://app.example.com/bc-logout"
        assert row.backchannel_logout_session_required is True
    assert "Logout tokens go to" in admin.get(path).get_data(as_text=True)
