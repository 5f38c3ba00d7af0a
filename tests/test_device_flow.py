"""RFC 8628 device authorization grant through the HTTP surface: the device's requests
(device_authorization, token polls) and the person's /device page, per tenant."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select
from sqlalchemy import update

from app.extensions import db
from app.models import DeviceAuthorization
from app.models import Grant
from app.models.base import utcnow
from tests.support.http import csrf_from
from tests.support.oauth import basic_auth
from tests.support.oauth import bearer
from tests.support.oauth import claims_of
from tests.support.oauth import make_client
from tests.support.oauth import sign_in

DEVICE = "urn:ietf:params:oauth:grant-type:device_code"
USER_CODE_RE = re.compile(r"\A[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}\Z")


def device_client(app, tenant, *, public=True, **data):
    values = {
        "client_name": "Living Room TV",
        "redirect_uris": [],
        "grant_types": [DEVICE, "refresh_token"],
        "token_endpoint_auth_method": "none" if public else "client_secret_basic",
        "scope": "openid profile email offline_access",
        "first_party": False,
        **data,
    }
    return make_client(app, tenant, **values)


def start(tc, client, **params):
    data = {"scope": "openid profile email", **params}
    headers = {}
    if client.secret:
        headers = basic_auth(client.client_id, client.secret)
    else:
        data["client_id"] = client.client_id
    return tc.post("/oauth2/device_authorization", data=data, headers=headers)


def started(tc, client, **params) -> dict:
    response = start(tc, client, **params)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def poll(tc, client, device_code, **extra):
    data = {"grant_type": DEVICE, "device_code": device_code, **extra}
    headers = {}
    if client.secret:
        headers = basic_auth(client.client_id, client.secret)
    else:
        data["client_id"] = client.client_id
    return tc.post("/oauth2/token", data=data, headers=headers)


def allow_next_poll(app, device_code_row_filter=None):
    """Move every authorization's last poll back past its interval (no sleeping)."""
    with app.app_context():
        db.session.execute(
            update(DeviceAuthorization).values(last_polled_at=utcnow() - timedelta(seconds=60))
        )
        db.session.commit()


def decide(tc, user_code, decision="approve"):
    page = tc.get("/device", query_string={"user_code": user_code})
    assert page.status_code == 200, page.get_data(as_text=True)[:400]
    html = page.get_data(as_text=True)
    assert 'name="decision"' in html, html[:2000]
    return tc.post(
        "/device",
        data={"csrf_token": csrf_from(html), "user_code": user_code, "decision": decision},
    )


@pytest.fixture
def tv(app, tenant):
    return device_client(app, tenant)


def test_the_whole_flow_gives_the_code_flows_tokens_once(app, tenant, user, tv, tenant_client):
    device = tenant_client(tenant)
    body = started(device, tv)
    assert USER_CODE_RE.match(body["user_code"])
    assert body["verification_uri"] == "http://acme-corp.gatehouse.test/device"
    assert body["verification_uri_complete"] == (
        f"http://acme-corp.gatehouse.test/device?user_code={body['user_code']}"
    )
    assert body["expires_in"] == 600 and body["interval"] == 5
    assert len(body["device_code"]) >= 43
    with app.app_context():  # only digests are stored
        row = db.session.scalars(select(DeviceAuthorization)).one()
        assert body["device_code"] not in (row.device_code_digest, row.user_code_digest)
        assert body["user_code"].replace("-", "") not in row.user_code_digest

    pending = poll(device, tv, body["device_code"])
    assert pending.status_code == 400
    assert pending.get_json()["error"] == "authorization_pending"

    browser = tenant_client(tenant)
    session_id = sign_in(app, browser, tenant, user)
    page = browser.get("/device", query_string={"user_code": body["user_code"]})
    html = page.get_data(as_text=True)
    assert "Living Room TV" in html and body["user_code"] in html
    assert "See your email address" in html  # the consent page's scope list
    done = decide(browser, body["user_code"])
    assert done.status_code == 200 and "Device connected" in done.get_data(as_text=True)

    allow_next_poll(app)
    response = poll(device, tv, body["device_code"])
    assert response.status_code == 200, response.get_json()
    tokens = response.get_json()
    assert response.headers["Cache-Control"] == "no-store"
    access = claims_of(tokens["access_token"])
    assert access["sub"] == user.id and access["tenant_id"] == tenant.id
    assert access["client_id"] == tv.client_id and access["roles"] == ["member"]
    assert access["sid"] == session_id
    id_token = claims_of(tokens["id_token"])
    assert id_token["aud"] == tv.client_id and id_token["sid"] == session_id
    assert "nonce" not in id_token
    assert tokens["refresh_token"].startswith("rt_")
    assert device.get("/oauth2/userinfo", headers=bearer(tokens["access_token"])).status_code == 200

    again = poll(device, tv, body["device_code"])  # exactly once
    assert again.status_code == 400 and again.get_json()["error"] == "invalid_grant"
    with app.app_context():
        grant = db.session.scalars(select(Grant)).one()
        assert grant.session_id == session_id and grant.user_id == user.id


def test_confidential_client_authenticates_and_no_openid_means_no_id_token(
    app, tenant, user, tenant_client
):
    box = device_client(app, tenant, public=False, grant_types=[DEVICE])
    device = tenant_client(tenant)
    wrong = device.post(
        "/oauth2/device_authorization",
        data={"scope": "profile"},
        headers=basic_auth(box.client_id, "not-the-secret"),
    )
    assert wrong.status_code == 401 and wrong.get_json()["error"] == "invalid_client"
    no_auth = device.post(
        "/oauth2/device_authorization", data={"client_id": box.client_id, "scope": "profile"}
    )
    assert no_auth.status_code in (400, 401) and no_auth.get_json()["error"] == "invalid_client"
    body = started(device, box, scope="profile")
    browser = tenant_client(tenant)
    sign_in(app, browser, tenant, user)
    decide(browser, body["user_code"].lower().replace("-", " "))  # typed loosely
    tokens = poll(device, box, body["device_code"]).get_json()
    assert "access_token" in tokens and "id_token" not in tokens
    assert "refresh_token" not in tokens  # the client has no refresh_token grant
    assert tokens["scope"] == "profile"


def test_polling_errors_slow_down_denied_and_expired(app, tenant, user, tv, tenant_client):
    device = tenant_client(tenant)
    body = started(device, tv)
    assert poll(device, tv, body["device_code"]).get_json()["error"] == "authorization_pending"
    fast = poll(device, tv, body["device_code"])  # at once: faster than the interval
    assert fast.status_code == 400 and fast.get_json()["error"] == "slow_down"
    with app.app_context():
        assert db.session.scalars(select(DeviceAuthorization.interval)).one() == 10
    fast = poll(device, tv, body["device_code"])
    assert fast.get_json()["error"] == "slow_down"
    with app.app_context():
        assert db.session.scalars(select(DeviceAuthorization.interval)).one() == 15
    allow_next_poll(app)
    assert poll(device, tv, body["device_code"]).get_json()["error"] == "authorization_pending"

    browser = tenant_client(tenant)
    sign_in(app, browser, tenant, user)
    denied = decide(browser, body["user_code"], "deny")
    assert "Access denied" in denied.get_data(as_text=True)
    refused = poll(device, tv, body["device_code"])
    assert refused.status_code == 400 and refused.get_json()["error"] == "access_denied"

    late = started(device, tv)
    with app.app_context():
        db.session.execute(
            update(DeviceAuthorization)
            .where(DeviceAuthorization.status == "pending")
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
    expired = poll(device, tv, late["device_code"])
    assert expired.status_code == 400 and expired.get_json()["error"] == "expired_token"
    page = browser.post(
        "/device",
        data={"csrf_token": browser.csrf_token("/device"), "user_code": late["user_code"]},
    )
    assert "This code is not valid" in page.get_data(as_text=True)


def test_tenant_isolation_of_device_and_user_codes(
    app, tenant, other_tenant, user, make_user, tv, tenant_client
):
    device = tenant_client(tenant)
    body = started(device, tv)
    other_tv = device_client(app, other_tenant)
    at_b = tenant_client(other_tenant)
    # A's device code polled at B (with B's client): unknown there.
    crossed = poll(at_b, other_tv, body["device_code"])
    assert crossed.status_code == 400 and crossed.get_json()["error"] == "invalid_grant"
    # A's client at B's endpoint: no such client.
    assert start(at_b, tv).get_json()["error"] == "invalid_client"
    # A's user code typed at B's /device by a user of B: not found.
    bob = make_user(other_tenant, "bob@example.com")
    browser_b = tenant_client(other_tenant)
    sign_in(app, browser_b, other_tenant, bob)
    page = browser_b.get("/device", query_string={"user_code": body["user_code"]})
    html = page.get_data(as_text=True)
    assert "This code is not valid" in html and "Living Room TV" not in html
    assert poll(device, tv, body["device_code"]).get_json()["error"] == "authorization_pending"


def test_clients_without_the_grant_type_are_refused(app, tenant, user, tenant_client):
    web = make_client(app, tenant, client_name="Web App")  # code + refresh only
    device = tenant_client(tenant)
    refused = device.post(
        "/oauth2/device_authorization",
        data={"scope": "openid"},
        headers=basic_auth(web.client_id, web.secret),
    )
    assert refused.status_code == 400 and refused.get_json()["error"] == "unauthorized_client"
    tv = device_client(app, tenant)
    body = started(device, tv)
    polled = device.post(
        "/oauth2/token",
        data={"grant_type": DEVICE, "device_code": body["device_code"]},
        headers=basic_auth(web.client_id, web.secret),
    )
    assert polled.get_json()["error"] == "unauthorized_client"
    # Another device client of the tenant cannot collect tv's code.
    other = device_client(app, tenant, client_name="Other TV")
    assert poll(device, other, body["device_code"]).get_json()["error"] == "invalid_grant"


def test_user_code_is_single_use(app, tenant, user, tv, tenant_client):
    device = tenant_client(tenant)
    body = started(device, tv)
    browser = tenant_client(tenant)
    sign_in(app, browser, tenant, user)
    page = browser.get("/device", query_string={"user_code": body["user_code"]})
    token = csrf_from(page.get_data(as_text=True))
    first = browser.post(
        "/device", data={"csrf_token": token, "user_code": body["user_code"], "decision": "approve"}
    )
    assert "Device connected" in first.get_data(as_text=True)
    second = browser.post(
        "/device", data={"csrf_token": token, "user_code": body["user_code"], "decision": "deny"}
    )
    assert "This code is not valid" in second.get_data(as_text=True)
    assert poll(device, tv, body["device_code"]).status_code == 200


def test_device_page_needs_sign_in_and_keeps_the_code(app, tenant, user, tv, tenant_client):
    device = tenant_client(tenant)
    body = started(device, tv)
    browser = tenant_client(tenant)
    response = browser.get("/device", query_string={"user_code": body["user_code"]})
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    assert parse_qs(location.query)["next"] == [f"/device?user_code={body['user_code']}"]
    # Decisions need the CSRF token.
    sign_in(app, browser, tenant, user)
    forged = browser.post("/device", data={"user_code": body["user_code"], "decision": "approve"})
    assert forged.status_code == 400
    assert poll(device, tv, body["device_code"]).get_json()["error"] == "authorization_pending"


@pytest.mark.config(DEVICE_CODE_RATE_LIMIT="3 per minute")
def test_code_entry_is_rate_limited(app, tenant, user, tv, tenant_client):
    browser = tenant_client(tenant)
    sign_in(app, browser, tenant, user)
    token = browser.csrf_token("/device")
    for guess in ("BCDF-GHJK", "BCDF-GHJL", "BCDF-GHJM"):
        page = browser.post("/device", data={"csrf_token": token, "user_code": guess})
        assert page.status_code == 200 and "This code is not valid" in page.get_data(as_text=True)
    blocked = browser.post("/device", data={"csrf_token": token, "user_code": "BCDF-GHJN"})
    assert blocked.status_code == 429
    assert browser.get("/device").status_code == 200  # the empty form is no guess


@pytest.mark.config(DEVICE_CODE_TENANT_RATE_LIMIT="2 per minute")
def test_code_entry_is_rate_limited_per_tenant(
    app, tenant, user, make_user, make_tenant, tenant_client
):
    guesses = []
    for n in range(3):
        browser = tenant_client(tenant)
        person = make_user(tenant, f"p{n}@example.com")
        sign_in(app, browser, tenant, person)
        guesses.append(
            browser.post(
                "/device",
                data={"csrf_token": browser.csrf_token("/device"), "user_code": "BCDF-GHJK"},
                environ_base={"REMOTE_ADDR": f"192.0.2.{n + 1}"},
            ).status_code
        )
    assert guesses == [200, 200, 429]
    # Another tenant's count is its own.
    other = make_tenant("globex", "Globex")
    browser = tenant_client(other)
    sign_in(app, browser, other, make_user(other, "g@example.com"))
    elsewhere = browser.post(
        "/device",
        data={"csrf_token": browser.csrf_token("/device"), "user_code": "BCDF-GHJK"},
        environ_base={"REMOTE_ADDR": "192.0.2.9"},
    )
    assert elsewhere.status_code == 200


def test_signing_out_revokes_the_device_tokens(app, tenant, user, tv, tenant_client):
    device = tenant_client(tenant)
    body = started(device, tv)
    browser = tenant_client(tenant)
    sign_in(app, browser, tenant, user)
    decide(browser, body["user_code"])
    tokens = poll(device, tv, body["device_code"]).get_json()
    # RP-initiated logout (the user confirms) ends the session and revokes its grants.
    token = browser.csrf_token("/oauth2/logout")
    ended = browser.post("/oauth2/logout", data={"csrf_token": token, "confirm": "1"})
    assert ended.status_code == 200
    refreshed = device.post(
        "/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": tv.client_id,
        },
    )
    assert refreshed.status_code == 400 and refreshed.get_json()["error"] == "invalid_grant"


def test_signing_out_before_the_device_polls_refuses_the_tokens(
    app, tenant, user, tv, tenant_client
):
    device = tenant_client(tenant)
    body = started(device, tv)
    browser = tenant_client(tenant)
    sign_in(app, browser, tenant, user)
    decide(browser, body["user_code"])
    browser.post("/logout", data={"csrf_token": browser.csrf_token("/logout")})
    late = poll(device, tv, body["device_code"])
    assert late.status_code == 400 and late.get_json()["error"] == "invalid_grant"


def test_discovery_and_usage_count_the_grant(app, tenant, user, tv, tenant_client):
    from app.services import usage

    device = tenant_client(tenant)
    meta = device.get("/.well-known/openid-configuration").get_json()
    assert meta["device_authorization_endpoint"] == (
        "http://acme-corp.gatehouse.test/oauth2/device_authorization"
    )
    assert DEVICE in meta["grant_types_supported"]
    body = started(device, tv)
    browser = tenant_client(tenant)
    sign_in(app, browser, tenant, user)
    decide(browser, body["user_code"])
    assert poll(device, tv, body["device_code"]).status_code == 200
    with app.app_context():
        usage.flush()
        db.session.commit()
        days = usage.daily(tenant, utcnow().date(), utcnow().date())
    assert days[-1]["tokens"].get(DEVICE) == 1


def test_verification_uri_ignores_the_host_header(app, tenant, tv, tenant_client):
    """Under the /t/<slug> form the answer still names the canonical origin."""
    device = tenant_client(tenant, path_form=True)
    body = started(device, tv)
    assert body["verification_uri"] == "http://acme-corp.gatehouse.test/device"


def test_device_page_speaks_the_persons_language(app, tenant, user, tenant_client):
    browser = tenant_client(tenant)
    sign_in(app, browser, tenant, user)
    page = browser.get("/device", headers={"Accept-Language": "es"})
    html = page.get_data(as_text=True)
    assert 'lang="es"' in html and "Conectar un dispositivo" in html
    wrong = browser.post(
        "/device",
        data={"csrf_token": csrf_from(html), "user_code": "nope"},
        headers={"Accept-Language": "de"},
    )
    assert "Dieser Code ist ungültig" in wrong.get_data(as_text=True)


def test_resources_are_shown_bounded_and_asked_for_at_the_token_endpoint(
    app, tenant, user, tv, tenant_client
):
    """RFC 8707 as at /oauth2/authorize: the third-party device client's review lists the
    API's permissions the user's roles give; its token for the API carries at most them."""
    from app.models import Tenant
    from app.services import permissions
    from app.services import resources
    from app.services import roles

    api = "https://api.acme.example"
    with app.app_context():
        t = db.session.get(Tenant, tenant.id)
        resources.create_resource(
            t,
            {
                "identifier": api,
                "name": "Acme API",
                "permissions": [
                    {"name": "read:docs", "description": "Read your documents"},
                    {"name": "write:docs", "description": "Change your documents"},
                ],
            },
        )
        member = roles.get_role(t, "member", "tenant")
        permissions.set_role_permissions(t, member, [{"resource": api, "permission": "read:docs"}])
        db.session.commit()
    device = tenant_client(tenant)
    unknown = start(device, tv, resource="https://api.globex.example")
    assert unknown.status_code == 400 and unknown.get_json()["error"] == "invalid_target"
    body = started(device, tv, scope="openid read:docs write:docs", resource=api)
    browser = tenant_client(tenant)
    sign_in(app, browser, tenant, user)
    review = browser.get("/device", query_string={"user_code": body["user_code"]})
    html = review.get_data(as_text=True)
    assert "Acme API" in html and "Read your documents" in html
    assert "Change your documents" not in html  # the user's roles do not give it
    decide(browser, body["user_code"])
    response = poll(device, tv, body["device_code"], resource=api)
    assert response.status_code == 200, response.get_json()
    access = claims_of(response.get_json()["access_token"])
    assert access["aud"] == api and access["scope"] == "read:docs"
    # Only a resource named in the device authorization request.
    other = started(device, tv)
    decide(browser, other["user_code"])
    refused = poll(device, tv, other["device_code"], resource=api)
    assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_target"
    assert poll(device, tv, other["device_code"]).status_code == 200  # not used up


def test_the_worker_prunes_device_codes_a_day_after_they_expired(app, tenant, tv, tenant_client):
    from app.security.tokens import digest
    from app.worker import prune

    device = tenant_client(tenant)
    old, fresh = started(device, tv), started(device, tv)
    with app.app_context():
        db.session.execute(
            update(DeviceAuthorization)
            .where(DeviceAuthorization.device_code_digest == digest(old["device_code"]))
            .values(expires_at=utcnow() - timedelta(days=2))
        )
        db.session.commit()
        prune._last_run.clear()
        prune.prune(db.session, utcnow())
        assert len(db.session.scalars(select(DeviceAuthorization)).all()) == 1
    assert poll(device, tv, fresh["device_code"]).get_json()["error"] == "authorization_pending"
    assert poll(device, tv, old["device_code"]).get_json()["error"] == "invalid_grant"


def test_the_admin_api_registers_a_device_client(app, tenant, user, tenant_client):
    """DESIGN §3: ``grant_types`` takes the device code grant; a device-only public client
    needs no redirect URI and can run the flow at once."""
    from tests.support.api import Api
    from tests.support.api import create_admin_key

    api = Api(app, create_admin_key(app, tenant))
    created = api.post(
        "/tenants/acme-corp/clients",
        json={
            "client_name": "CLI",
            "grant_types": [DEVICE],
            "token_endpoint_auth_method": "none",
            "scope": "openid profile",
        },
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["grant_types"] == [DEVICE] and "client_secret" not in body
    device = tenant_client(tenant)
    answer = device.post(
        "/oauth2/device_authorization", data={"client_id": body["client_id"], "scope": "openid"}
    )
    assert answer.status_code == 200 and "user_code" in answer.get_json()


def test_the_tenants_mfa_policy_applies_before_the_review(app, tenant, user, tv, tenant_client):
    from app.services.settings import update_settings

    with app.app_context():
        update_settings(db.session.merge(tenant), {"mfa_policy": "required"})
        db.session.commit()
    device = tenant_client(tenant)
    body = started(device, tv)
    browser = tenant_client(tenant)
    sign_in(app, browser, tenant, user)  # a password-only session
    response = browser.get("/device", query_string={"user_code": body["user_code"]})
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/mfa/step-up"
    assert parse_qs(location.query)["next"] == [f"/device?user_code={body['user_code']}"]
    sign_in(app, browser, tenant, user, amr=("pwd", "otp", "mfa"))
    assert "Living Room TV" in decide(browser, body["user_code"]).get_data(as_text=True)


def test_device_authorization_counts_against_the_tenant_token_rate(app, tenant, tv, tc):
    from tests.support.api import Api
    from tests.support.api import create_admin_key

    response = Api(app, create_admin_key(app)).patch(
        f"/tenants/{tenant.slug}",
        json={"quotas": {"token_requests_per_second": 0.05, "token_burst": 1}},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    assert start(tc, tv).status_code == 200
    refused = start(tc, tv)
    assert refused.status_code == 429
    assert refused.get_json()["error"] == "temporarily_unavailable"
    assert int(refused.headers["Retry-After"]) >= 1
