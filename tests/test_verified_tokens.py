"""The worker remembers which access tokens a published key verified (services/tokens.py
``_VERIFIED``), so a token presented again is not verified again. What a first
presentation checks besides the signature is still checked on every use: expiry, the
tenant, revocation, and that the key is still published."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from app.services import tokens
from tests.support.oauth import basic_auth
from tests.support.oauth import bearer
from tests.support.oauth import introspect
from tests.support.oauth import login_tokens
from tests.support.oauth import make_client
from tests.support.oauth import sign_in


@pytest.fixture
def verifications(monkeypatch):
    """How many signatures were verified."""
    algorithms = dict(tokens._ALGORITHMS)
    seen = []

    class Counting:
        def __init__(self, algorithm):
            self.algorithm = algorithm
            self.sign = algorithm.sign

        def verify(self, *args):
            seen.append(args)
            return self.algorithm.verify(*args)

    monkeypatch.setattr(
        tokens, "_ALGORITHMS", {alg: Counting(algorithm) for alg, algorithm in algorithms.items()}
    )
    monkeypatch.setattr(tokens, "_VERIFIED", {})
    return seen


def test_a_token_presented_again_is_not_verified_again(tc, rp, verifications):
    access = login_tokens(tc, rp)["access_token"]
    verifications.clear()
    for _ in range(3):
        assert tc.get("/oauth2/userinfo", headers=bearer(access)).status_code == 200
    assert introspect(tc, rp, access)["active"] is True
    assert len(verifications) == 1


def test_a_changed_signature_is_verified_and_refused(tc, rp, verifications):
    access = login_tokens(tc, rp)["access_token"]
    assert tc.get("/oauth2/userinfo", headers=bearer(access)).status_code == 200
    head, payload, signature = access.split(".")
    forged = f"{head}.{payload}.{signature[:-4]}{'AAAA' if signature[-4:] != 'AAAA' else 'BBBB'}"
    verifications.clear()
    response = tc.get("/oauth2/userinfo", headers=bearer(forged))
    assert response.status_code == 401
    assert len(verifications) == 1  # not taken for the remembered token
    assert introspect(tc, rp, forged) == {"active": False}


def test_a_remembered_token_still_expires(tc, rp, verifications, monkeypatch):
    access = login_tokens(tc, rp)["access_token"]
    assert tc.get("/oauth2/userinfo", headers=bearer(access)).status_code == 200
    later = time.time() + 24 * 3600
    monkeypatch.setattr(tokens, "time", SimpleNamespace(time=lambda: later))
    response = tc.get("/oauth2/userinfo", headers=bearer(access))
    assert response.status_code == 401
    assert "invalid_token" in response.headers["WWW-Authenticate"]
    assert introspect(tc, rp, access) == {"active": False}


def test_a_remembered_token_is_still_revocable(tc, rp, verifications):
    access = login_tokens(tc, rp)["access_token"]
    assert introspect(tc, rp, access)["active"] is True
    revoked = tc.post(
        "/oauth2/revoke", data={"token": access}, headers=basic_auth(rp.client_id, rp.secret)
    )
    assert revoked.status_code == 200
    assert tc.get("/oauth2/userinfo", headers=bearer(access)).status_code == 401
    assert introspect(tc, rp, access) == {"active": False}


def test_a_remembered_token_is_refused_by_another_tenant(
    app, tc, rp, other_tenant, make_user, tenant_client, verifications
):
    access = login_tokens(tc, rp)["access_token"]
    assert tc.get("/oauth2/userinfo", headers=bearer(access)).status_code == 200
    other = tenant_client(other_tenant)
    sign_in(app, other, other_tenant, make_user(other_tenant, "bo@example.com"))
    other_rp = make_client(app, other_tenant)
    login_tokens(other, other_rp)  # the other tenant has keys of its own
    assert other.get("/oauth2/userinfo", headers=bearer(access)).status_code == 401
    assert introspect(other, other_rp, access) == {"active": False}


def test_the_memory_is_bounded(monkeypatch):
    monkeypatch.setattr(tokens, "_VERIFIED", {})
    monkeypatch.setattr(tokens, "_VERIFIED_MAX", 3)
    key = object()
    for n in range(5):
        tokens._remember(f"token-{n}", key, b"{}")
    assert list(tokens._VERIFIED) == ["token-2", "token-3", "token-4"]  # first in, first out


def test_headers_of_a_thousand_tenants_stay_parsed_and_long_ones_are_not_kept():
    import base64
    import json

    def segment(header: dict) -> str:
        raw = json.dumps(header, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    tokens._cached_header.cache_clear()
    ours = [segment({"alg": "ES256", "kid": f"key_{n:026d}", "typ": "at+jwt"}) for n in range(2000)]
    for header in ours:
        tokens._header(header)
    for header in ours:  # two keys of each of a thousand tenants: all still parsed
        assert tokens._header(header)["kid"].startswith("key_")
    assert tokens._cached_header.cache_info().hits == len(ours)
    long = segment({"alg": "ES256", "kid": "k", "x": "y" * 300})
    assert tokens._header(long)["x"] == "y" * 300
    assert tokens._cached_header.cache_info().currsize == len(ours)  # not kept
