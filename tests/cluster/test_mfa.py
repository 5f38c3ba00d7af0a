"""MFA through the load balancer (issue #16): the pending second factor and the passkey
challenge live server-side, so a sign-in whose password, challenge page, passkey options
and passkey verification land on different instances completes, the signed cookie holds
no challenge, and a challenge is consumed once across instances (replaying an older
cookie with a fresh assertion for the same challenge is refused)."""

from __future__ import annotations

from flask.sessions import SecureCookieSessionInterface

from tests.support.cluster_world import Browser
from tests.support.cluster_world import submit_login
from tests.support.http import csrf_from
from tests.support.webauthn import SoftwareAuthenticator


def _register_passkey(ops, world, origin) -> SoftwareAuthenticator:
    from app.extensions import db
    from app.models import User
    from app.services import passkeys
    from app.services.tenants import get_tenant

    authenticator = SoftwareAuthenticator()
    with ops.test_request_context():
        tenant = get_tenant(world.slug)
        user = db.session.get(User, world.user_id)
        options, challenge = passkeys.registration_options(tenant, user)
        passkeys.register(tenant, user, authenticator.create(options, origin), challenge)
        db.session.commit()
    return authenticator


def _flask_session(ops, browser) -> tuple[str, dict]:
    raw = browser.session.cookies.get("gh_flask")
    return raw, SecureCookieSessionInterface().get_signing_serializer(ops).loads(raw)


def _post_json(browser, path, body, csrf):
    return browser.post(path, json=body, headers={"X-CSRFToken": csrf})


def test_passkey_second_factor_across_instances(cluster, ops, world):
    origin = cluster.issuer(world.slug)
    authenticator = _register_passkey(ops, world, origin)
    browser = Browser(cluster, world.slug)
    signed = submit_login(browser, world, browser.get("/login"))
    assert signed.status_code in (302, 303) and signed.headers["Location"].endswith(
        "/mfa/challenge"
    )
    csrf = csrf_from(browser.get("/mfa/challenge").text)
    options = _post_json(browser, "/mfa/webauthn/authenticate/options", {}, csrf)
    assert options.status_code == 200, options.text
    challenge = options.json()["challenge"]

    raw_cookie, contents = _flask_session(ops, browser)
    assert challenge not in raw_cookie and challenge not in str(contents)
    assert world.user_id not in str(contents)  # the pending sign-in is server-side too

    credential = authenticator.get(options.json(), origin)
    verify = _post_json(
        browser, "/mfa/webauthn/authenticate/verify", {"credential": credential}, csrf
    )
    assert verify.status_code == 200, verify.text
    assert set(browser.served_by) == {i.name for i in cluster.instances}, browser.served_by
    account = browser.get("/account/")
    assert account.status_code == 200 and world.email in account.text

    # An attacker who copied the cookie before verification answers the same challenge
    # again with a fresh assertion, at another instance: consumed, refused.
    thief = Browser(cluster, world.slug)
    thief.session.cookies.set("gh_flask", raw_cookie)
    again = authenticator.get(options.json(), origin)
    replay = _post_json(thief, "/mfa/webauthn/authenticate/verify", {"credential": again}, csrf)
    assert replay.status_code in (400, 401, 403), replay.text
    assert thief.get("/account/").status_code in (302, 303)
