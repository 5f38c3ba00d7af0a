"""Recovery codes: ten, shown once, stored as digests, single use, regenerable."""

from __future__ import annotations

import pytest

from app.models import RecoveryCode
from app.security.tokens import digest
from app.tenancy import scope
from tests.conftest import DEFAULT_PASSWORD
from tests.support.auth import audit_actions
from tests.support.auth import sign_in
from tests.support.mfa import enroll_totp
from tests.support.mfa import freeze_totp
from tests.support.mfa import recovery_codes_in
from tests.support.mfa import session_cookie


@pytest.fixture
def clock(app):
    return freeze_totp(app)


@pytest.fixture
def codes(tenant, user, tenant_client, clock):
    client = tenant_client(tenant)
    sign_in(client, user.email, DEFAULT_PASSWORD)
    _secret, shown = enroll_totp(client, clock)
    return shown


def challenge(tenant_client, tenant, user):
    client = tenant_client(tenant)
    assert (
        sign_in(client, user.email, DEFAULT_PASSWORD).headers["Location"].endswith("/mfa/challenge")
    )
    return client


def test_ten_codes_stored_only_as_digests(app, tenant, user, codes):
    assert len(codes) == 10 and len(set(codes)) == 10
    with app.app_context():
        rows = scope(tenant).all(RecoveryCode, RecoveryCode.user_id == user.id)
        stored = {row.code_digest for row in rows}
    assert len(rows) == 10
    assert stored == {digest(code.replace("-", "")) for code in codes}
    assert not any(code in stored or code.replace("-", "") in stored for code in codes)


def test_a_recovery_code_signs_in_once(app, tenant, user, tenant_client, codes):
    client = challenge(tenant_client, tenant, user)
    response = client.submit("/mfa/challenge", {"code": codes[0].upper()})
    assert response.status_code == 302
    assert session_cookie(client, tenant) is not None
    assert "9 left" in client.get("/account/").get_data(as_text=True)
    assert "mfa.recovery_code_used" in audit_actions(app, tenant)

    again = challenge(tenant_client, tenant, user)
    refused = again.submit("/mfa/challenge", {"code": codes[0]})
    assert refused.status_code == 400 and session_cookie(again, tenant) is None
    # Another, unused code still works (typed without the dash).
    assert again.submit("/mfa/challenge", {"code": codes[1].replace("-", "")}).status_code == 302


def test_regenerating_replaces_every_code_and_shows_the_new_ones_once(
    tenant, user, tenant_client, codes
):
    client = challenge(tenant_client, tenant, user)
    client.submit("/mfa/challenge", {"code": codes[0]})
    page = client.get("/account/security").get_data(as_text=True)
    assert "9 unused recovery codes" in page
    assert not recovery_codes_in(page)  # never shown again

    response = client.submit("/mfa/recovery-codes", {}, form_path="/account/security")
    fresh = recovery_codes_in(response.get_data(as_text=True))
    assert response.status_code == 200 and len(fresh) == 10 and not set(fresh) & set(codes)
    assert "10 unused recovery codes" in client.get("/account/security").get_data(as_text=True)

    old = challenge(tenant_client, tenant, user)
    assert old.submit("/mfa/challenge", {"code": codes[2]}).status_code == 400
    assert old.submit("/mfa/challenge", {"code": fresh[0]}).status_code == 302


def test_recovery_codes_need_a_factor(tenant, user, tenant_client):
    client = tenant_client(tenant)
    sign_in(client, user.email, DEFAULT_PASSWORD)
    response = client.submit("/mfa/recovery-codes", {}, form_path="/account/security")
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/account/security"
    )
