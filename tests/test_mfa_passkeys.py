"""Passkeys: full WebAuthn ceremonies with a software authenticator (real P-256 keys,
real CBOR), verified by py_webauthn through the HTTP endpoints."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import BrowserSession
from app.services.settings import update_settings
from app.tenancy import scope
from tests.conftest import DEFAULT_PASSWORD
from tests.support.auth import audit_actions
from tests.support.auth import sign_in
from tests.support.mfa import factors_of
from tests.support.mfa import post_json
from tests.support.mfa import recovery_codes_in
from tests.support.mfa import session_cookie
from tests.support.webauthn import SoftwareAuthenticator

ORIGIN = "http://acme-corp.gatehouse.test"


def register(client, authenticator, *, csrf_path="/account/security", origin=ORIGIN):
    options = post_json(client, "/mfa/webauthn/register/options", csrf_path=csrf_path)
    assert options.status_code == 200, options.get_data(as_text=True)
    credential = authenticator.create(options.get_json(), origin)
    return options.get_json(), post_json(
        client,
        "/mfa/webauthn/register/verify",
        {"credential": credential, "name": "Laptop"},
        csrf_path=csrf_path,
    )


def assert_with(client, authenticator, *, csrf_path="/login", origin=ORIGIN, **body):
    options = post_json(client, "/mfa/webauthn/authenticate/options", csrf_path=csrf_path)
    assert options.status_code == 200, options.get_data(as_text=True)
    credential = authenticator.get(options.get_json(), origin)
    response = post_json(
        client,
        "/mfa/webauthn/authenticate/verify",
        {"credential": credential, **body},
        csrf_path=csrf_path,
    )
    return options.get_json(), credential, response


def session_amr(app, tenant, client) -> list[str]:
    from app.security.tokens import digest

    token = session_cookie(client, tenant).value
    with app.app_context():
        row = scope(tenant).first(BrowserSession, BrowserSession.token_digest == digest(token))
        return list(row.amr)


@pytest.fixture
def authenticator():
    return SoftwareAuthenticator()


@pytest.fixture
def registered(app, tenant, user, tenant_client, authenticator):
    client = tenant_client(tenant)
    sign_in(client, user.email, DEFAULT_PASSWORD)
    options, response = register(client, authenticator)
    assert response.status_code == 200, response.get_json()
    return options


def test_registration_options_name_the_tenant_as_relying_party(registered, app, tenant, user):
    assert registered["rp"] == {"id": "acme-corp.gatehouse.test", "name": "Acme Corp"}
    assert registered["user"]["name"] == user.email
    (factor,) = factors_of(app, tenant, user.id)
    assert factor.kind == "webauthn" and factor.name == "Laptop" and factor.confirmed_at
    assert factor.public_key and factor.credential_id
    assert "mfa.passkey_registered" in audit_actions(app, tenant)


def test_passkey_as_second_factor(app, tenant, user, tenant_client, authenticator, registered):
    client = tenant_client(tenant)
    response = sign_in(client, user.email, DEFAULT_PASSWORD)
    assert response.headers["Location"].endswith("/mfa/challenge")
    page = client.get("/mfa/challenge").get_data(as_text=True)
    assert 'data-passkey="authenticate"' in page and "js/passkeys.js" in page
    options, _credential, verify = assert_with(client, authenticator, csrf_path="/mfa/challenge")
    assert [c["id"] for c in options["allowCredentials"]] == [
        factors_of(app, tenant, user.id)[0].credential_id
    ]
    assert verify.status_code == 200, verify.get_json()
    assert verify.get_json()["redirect"] == "/account/"
    assert session_amr(app, tenant, client) == ["pwd", "hwk"]
    (factor,) = factors_of(app, tenant, user.id)
    assert factor.sign_count == 1


def test_a_replayed_assertion_is_refused(tenant, user, tenant_client, authenticator, registered):
    client = tenant_client(tenant)
    sign_in(client, user.email, DEFAULT_PASSWORD)
    _options, credential, verify = assert_with(client, authenticator, csrf_path="/mfa/challenge")
    assert verify.status_code == 200
    again = tenant_client(tenant)
    sign_in(again, user.email, DEFAULT_PASSWORD)
    post_json(again, "/mfa/webauthn/authenticate/options", csrf_path="/mfa/challenge")
    replay = post_json(
        again,
        "/mfa/webauthn/authenticate/verify",
        {"credential": credential},
        csrf_path="/mfa/challenge",
    )
    assert replay.status_code == 400 and session_cookie(again, tenant) is None


def test_an_assertion_for_another_origin_is_refused(
    tenant, user, tenant_client, authenticator, registered
):
    client = tenant_client(tenant)
    sign_in(client, user.email, DEFAULT_PASSWORD)
    _o, _c, verify = assert_with(
        client, authenticator, csrf_path="/mfa/challenge", origin="http://evil.example"
    )
    assert verify.status_code == 400 and "origin" in verify.get_json()["error"].lower()
    assert session_cookie(client, tenant) is None


def test_a_key_of_another_authenticator_is_refused(
    tenant, user, tenant_client, authenticator, registered
):
    impostor = SoftwareAuthenticator()
    impostor.create(
        {"rp": {"id": "acme-corp.gatehouse.test"}, "user": {"id": "eA"}, "challenge": "eA"}, ORIGIN
    )
    # Same credential id, different key: the signature cannot verify.
    (cred_id,) = authenticator.credentials
    impostor.credentials = {cred_id: next(iter(impostor.credentials.values()))}
    client = tenant_client(tenant)
    sign_in(client, user.email, DEFAULT_PASSWORD)
    _o, _c, verify = assert_with(client, impostor, csrf_path="/mfa/challenge")
    assert verify.status_code == 400
    assert session_cookie(client, tenant) is None


def test_passkey_of_another_user_is_not_a_second_factor(
    app, tenant, user, make_user, tenant_client, authenticator, registered
):
    other = make_user(tenant, "grace@example.com")
    client = tenant_client(tenant)
    sign_in(client, other.email, DEFAULT_PASSWORD)  # no factor: signed straight in
    mine = SoftwareAuthenticator()
    register(client, mine)
    fresh = tenant_client(tenant)
    sign_in(fresh, user.email, DEFAULT_PASSWORD)
    options = post_json(fresh, "/mfa/webauthn/authenticate/options", csrf_path="/mfa/challenge")
    # Grace's authenticator signs the challenge with her own credential.
    (grace_cred,) = mine.credentials
    answer = mine.get(
        {**options.get_json(), "allowCredentials": []}, ORIGIN, credential_id=grace_cred
    )
    verify = post_json(
        fresh,
        "/mfa/webauthn/authenticate/verify",
        {"credential": answer},
        csrf_path="/mfa/challenge",
    )
    assert verify.status_code == 400 and session_cookie(fresh, tenant) is None


def test_passwordless_sign_in_when_the_tenant_enables_it(
    app, tenant, user, tenant_client, authenticator, registered
):
    client = tenant_client(tenant)
    refused = post_json(client, "/mfa/webauthn/authenticate/options")
    assert refused.status_code == 403
    assert "Sign in with a passkey" not in client.get("/login").get_data(as_text=True)

    with app.app_context():
        update_settings(db.session.merge(tenant), {"passwordless_passkeys": True})
        db.session.commit()
    assert "Sign in with a passkey" in client.get("/login").get_data(as_text=True)
    options, _credential, verify = assert_with(client, authenticator, next="/account/")
    assert options["allowCredentials"] == [] and options["userVerification"] == "required"
    assert verify.status_code == 200, verify.get_json()
    assert verify.get_json()["redirect"] == "/account/"
    assert session_amr(app, tenant, client) == ["hwk", "user"]


def test_passwordless_requires_user_verification(
    app, tenant, user, tenant_client, authenticator, registered
):
    with app.app_context():
        update_settings(db.session.merge(tenant), {"passwordless_passkeys": True})
        db.session.commit()
    authenticator.user_verification = False
    client = tenant_client(tenant)
    _o, _c, verify = assert_with(client, authenticator)
    assert verify.status_code == 400 and session_cookie(client, tenant) is None


def test_passkey_enrolment_during_a_required_sign_in(make_tenant, make_user, tenant_client):
    tenant = make_tenant("strict", "Strict Inc", mfa_policy="required")
    user = make_user(tenant)
    client = tenant_client(tenant)
    response = sign_in(client, user.email, DEFAULT_PASSWORD)
    assert response.headers["Location"].endswith("/mfa/enroll")
    assert session_cookie(client, tenant) is None
    authenticator = SoftwareAuthenticator()
    _options, verify = register(
        client, authenticator, csrf_path="/mfa/enroll", origin="http://strict.gatehouse.test"
    )
    assert verify.status_code == 200, verify.get_json()
    assert session_cookie(client, tenant) is not None
    target = verify.get_json()["redirect"]
    assert target.startswith("/mfa/recovery-codes")
    shown = client.submit(target, {})
    assert len(recovery_codes_in(shown.get_data(as_text=True))) == 10


def test_passkeys_are_bound_to_the_canonical_origin(make_tenant, make_user, tenant_client):
    tenant = make_tenant("pathy")
    user = make_user(tenant)
    client = tenant_client(tenant, path_form=True)
    sign_in(client, user.email, DEFAULT_PASSWORD)
    authenticator = SoftwareAuthenticator()
    options, verify = register(
        client,
        authenticator,
        csrf_path="/account/security",
        origin="http://pathy.gatehouse.test",
    )
    # Subdomain routing is canonical in this config: the RP is the tenant host, even when
    # the page was reached under /t/<slug>.
    assert options["rp"]["id"] == "pathy.gatehouse.test"
    assert verify.status_code == 200


@pytest.mark.config(TENANT_ROUTING="path")
def test_path_routing_config_rp_is_the_base_host(make_tenant, make_user, tenant_client):
    tenant = make_tenant("pathy")
    user = make_user(tenant)
    client = tenant_client(tenant, path_form=True)
    sign_in(client, user.email, DEFAULT_PASSWORD)
    authenticator = SoftwareAuthenticator()
    options, verify = register(
        client, authenticator, csrf_path="/account/security", origin="http://gatehouse.test"
    )
    assert options["rp"]["id"] == "gatehouse.test"
    assert verify.status_code == 200, verify.get_json()


def test_json_endpoints_require_the_csrf_header(tenant, user, tenant_client, registered):
    client = tenant_client(tenant)
    sign_in(client, user.email, DEFAULT_PASSWORD)
    response = client.post("/mfa/webauthn/authenticate/options", json={})
    assert response.status_code == 400
