"""Rotating SECRET_KEY (issue #16): with SECRET_KEYS=new,old every secret at rest made
under the old key still decrypts, cookies and CSRF tokens signed with it are accepted,
tokens keep verifying and refreshing; `gatehouse secrets rotate` re-encrypts everything
under the new key, after which the old key can leave the ring and nothing is lost."""

from __future__ import annotations

import jwt
import pytest

from app.config import load_config
from app.extensions import db
from tests.support.http import csrf_from
from tests.support.oauth import basic_auth
from tests.support.oauth import login_tokens
from tests.support.oauth import make_client
from tests.support.oauth import sign_in

OLD = "old-secret-key-that-is-long-enough-for-production-0001"
NEW = "new-secret-key-that-is-long-enough-for-production-0002"


def test_secret_keys_is_a_ring_newest_first(tmp_path):
    config = load_config(str(tmp_path), {"SECRET_KEYS": f"{NEW}, {OLD}"})
    assert config["SECRET_KEY"] == NEW and config["SECRET_KEY_FALLBACKS"] == [OLD]
    from app.config import ConfigError

    with pytest.raises(ConfigError):
        load_config(str(tmp_path), {"GATEHOUSE_ENV": "production", "SECRET_KEYS": f"{NEW},short"})


def _secrets(app, tenant_id):
    """Every kind of encrypted secret this tenant holds, decrypted."""
    from app.models import MfaFactor
    from app.models import UpstreamProvider
    from app.services import keys
    from app.services import providers
    from app.services import totp
    from app.services.tenants import get_tenant

    with app.app_context():
        tenant = get_tenant(tenant_id)
        signing = sorted(keys._load(row).kid for row in keys.list_keys(tenant))
        factor = db.session.scalars(db.select(MfaFactor)).one()
        provider = db.session.scalars(db.select(UpstreamProvider)).one()
        return signing, totp.secret_of(factor), providers.client_secret(provider)


def test_rotation_keeps_sessions_tokens_and_secrets(make_app, tenant, user, tenant_client):
    from app.services import providers
    from app.services import totp

    old = make_app(SECRET_KEY=OLD)
    with old.app_context():
        totp.begin_enrolment(db.session.merge(tenant), db.session.merge(user))
        providers.create_provider(
            db.session.merge(tenant),
            {"kind": "google", "client_id": "g-id", "client_secret": "g-secret"},
        )
        db.session.commit()
    rp = make_client(old, tenant)
    tc = tenant_client(tenant)
    tc.client = old.test_client()
    sign_in(old, tc, tenant, user)
    tokens = login_tokens(tc, rp)
    before = _secrets(old, tenant.id)
    page = tc.get("/account/").get_data(as_text=True)  # a form rendered under the old key
    csrf = csrf_from(page)
    cookies = {c.key: c.value for c in tc.client._cookies.values()}

    def browser_on(app):
        other = tenant_client(tenant)
        other.client = app.test_client()
        for name, value in cookies.items():
            other.client.set_cookie(name, value, domain=tc.host.split(":")[0])
        return other

    # 1. The ring new,old: the old key's work is all still accepted.
    ring = make_app(SECRET_KEY=NEW, SECRET_KEY_FALLBACKS=[OLD])
    assert _secrets(ring, tenant.id) == before
    browser = browser_on(ring)
    assert browser.get("/account/").status_code == 200  # still signed in
    assert csrf_from(browser.get("/account/").get_data(as_text=True))
    refreshed = browser.post(
        "/oauth2/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        headers=basic_auth(rp.client_id, rp.secret),
    )
    assert refreshed.status_code == 200, refreshed.get_json()
    # A form rendered before the rotation still posts (CSRF token signed by the old key).
    rename = browser.post("/account/profile", data={"name": "Ada R.", "csrf_token": csrf})
    assert rename.status_code in (200, 302, 303) and b"Form expired" not in rename.data

    # 2. `gatehouse secrets rotate`, then the old key leaves the ring.
    result = ring.test_cli_runner().invoke(args=["secrets", "rotate"])
    assert result.exit_code == 0, result.output
    assert "mfa_factors: 1 re-encrypted" in result.output
    assert "upstream_providers: 1 re-encrypted" in result.output
    new = make_app(SECRET_KEY=NEW)
    assert _secrets(new, tenant.id) == before
    browser = browser_on(new)
    assert browser.get("/account/").status_code == 200  # the session survived
    again = browser.post(
        "/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refreshed.get_json()["refresh_token"],
        },
        headers=basic_auth(rp.client_id, rp.secret),
    )
    assert again.status_code == 200, again.get_json()
    jwks = browser.get("/.well-known/jwks.json").get_json()
    for token in (
        tokens["access_token"],
        refreshed.get_json()["access_token"],
        again.get_json()["access_token"],
    ):
        kid = jwt.get_unverified_header(token)["kid"]
        key = next(jwt.PyJWK(k) for k in jwks["keys"] if k["kid"] == kid)
        jwt.decode(token, key, algorithms=[key.algorithm_name], audience=rp.client_id)

    # 3. The old key alone can no longer read anything: it really was re-encrypted.
    from app.security.crypto import DecryptionError

    with pytest.raises(DecryptionError):
        _secrets(make_app(SECRET_KEY=OLD), tenant.id)
