"""The Python resource-server helper (gatehouse_sdk) against real Gatehouse tokens and JWKS.

Tokens come from a live Gatehouse over HTTP (client_credentials and the authorization
code flow); the verifier fetches discovery and JWKS over HTTP too, through the
injectable ``fetch`` (``loopback_fetch`` connects to 127.0.0.1 with the tenant's Host,
since Python does not resolve ``*.localhost``). Forged tokens (expired, ``alg: none``,
unknown key) are built from real tokens and, where a signature matters, the tenant's
real signing key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import Counter

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask
from flask import g
from flask import jsonify
from flask import request
from gatehouse_sdk import InvalidToken
from gatehouse_sdk import TokenVerifier
from gatehouse_sdk import init_verifier
from gatehouse_sdk import loopback_fetch
from gatehouse_sdk import require_token

from app.extensions import db
from examples.api.app import create_api
from tests.support.sdk_http import GatehouseHTTP


class CountingFetch:
    """The real loopback fetch, counting requests per URL."""

    def __init__(self):
        self.calls = Counter()
        self.lock = threading.Lock()

    def __call__(self, url):
        with self.lock:
            self.calls[url] += 1
        return loopback_fetch(url)

    def jwks_fetches(self, issuer):
        return self.calls[issuer + "/.well-known/jwks.json"]


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def gh(live_server, tenant, other_tenant):
    return GatehouseHTTP(live_server, [tenant, other_tenant])


def _b64(data: dict) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _parts(token):
    header, payload, _ = token.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    return (
        json.loads(base64.urlsafe_b64decode(pad(header))),
        json.loads(base64.urlsafe_b64decode(pad(payload))),
    )


def _resign(gh, tenant, token, **changes):
    """The token's claims with ``changes``, signed with the tenant's real active ES256 key."""
    from app.services import keys

    header, claims = _parts(token)
    claims.update(changes)
    with gh.app.app_context():
        key = keys.signing_key(db.session.merge(tenant), "ES256")
        return jwt.encode(
            claims, key.private, algorithm="ES256", headers={"kid": key.kid, "typ": "at+jwt"}
        )


def test_valid_token_is_accepted(gh, tenant):
    client = gh.service_client(tenant, roles=["member"])
    token = gh.client_credentials(tenant, client)
    verifier = TokenVerifier([gh.issuer(tenant)], audience=client.id, fetch=loopback_fetch)
    claims = verifier.verify(token)
    assert claims["iss"] == gh.issuer(tenant)
    assert claims["tenant_id"] == tenant.id
    assert claims["client_id"] == client.id
    assert claims["roles"] == ["member"]


def test_token_of_another_tenant_is_refused_without_fetching_its_keys(gh, tenant, other_tenant):
    ours = gh.service_client(tenant)
    theirs = gh.service_client(other_tenant)
    token = gh.client_credentials(other_tenant, theirs)
    fetch = CountingFetch()
    verifier = TokenVerifier([gh.issuer(tenant)], audience=[ours.id, theirs.id], fetch=fetch)
    with pytest.raises(InvalidToken, match="issuer"):
        verifier.verify(token)
    assert not fetch.calls  # an untrusted iss never makes us fetch anything

    # Re-signed with acme's real key but still naming globex as issuer: still refused.
    forged = _resign(gh, tenant, token)
    with pytest.raises(InvalidToken, match="issuer"):
        verifier.verify(forged)
    # Claiming acme's issuer with globex's signature: the signature check refuses it.
    _, claims = _parts(token)
    header = {"alg": "ES256", "typ": "at+jwt", "kid": _parts(token)[0]["kid"]}
    swapped = ".".join(
        [_b64(header), _b64({**claims, "iss": gh.issuer(tenant)}), token.split(".")[2]]
    )
    with pytest.raises(InvalidToken):
        verifier.verify(swapped)


def test_wrong_audience_is_refused(gh, tenant):
    client = gh.service_client(tenant)
    other = gh.service_client(tenant, name="Another API")
    token = gh.client_credentials(tenant, client)
    verifier = TokenVerifier([gh.issuer(tenant)], audience=other.id, fetch=loopback_fetch)
    with pytest.raises(InvalidToken, match="audience"):
        verifier.verify(token)


def test_expired_token_is_refused_beyond_the_leeway(gh, tenant):
    client = gh.service_client(tenant)
    token = gh.client_credentials(tenant, client)
    verifier = TokenVerifier(
        [gh.issuer(tenant)], audience=client.id, fetch=loopback_fetch, leeway=30
    )
    now = int(time.time())
    within = _resign(gh, tenant, token, iat=now - 600, exp=now - 10)
    assert verifier.verify(within)["exp"] == now - 10  # small clock skew is tolerated
    expired = _resign(gh, tenant, token, iat=now - 600, exp=now - 120)
    with pytest.raises(InvalidToken, match="expired"):
        verifier.verify(expired)


def test_alg_none_and_hmac_are_refused(gh, tenant):
    client = gh.service_client(tenant)
    token = gh.client_credentials(tenant, client)
    header, claims = _parts(token)
    verifier = TokenVerifier([gh.issuer(tenant)], audience=client.id, fetch=loopback_fetch)
    unsigned = f"{_b64({**header, 'alg': 'none'})}.{_b64(claims)}."
    with pytest.raises(InvalidToken, match="algorithm"):
        verifier.verify(unsigned)
    # The classic key confusion: HMAC keyed with the published public key.
    jwk = loopback_fetch(gh.issuer(tenant) + "/.well-known/jwks.json")["keys"][0]
    signing_input = (
        f"{_b64({'alg': 'HS256', 'typ': 'at+jwt', 'kid': header['kid']})}.{_b64(claims)}"
    )
    mac = hmac.new(json.dumps(jwk).encode(), signing_input.encode(), hashlib.sha256).digest()
    forged = signing_input + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    with pytest.raises(InvalidToken, match="algorithm"):
        verifier.verify(forged)
    with pytest.raises(ValueError):
        TokenVerifier([gh.issuer(tenant)], audience=client.id, algorithms=["HS256"])


def test_id_token_is_not_an_access_token(gh, tenant, make_user):
    user = make_user(tenant)
    spa = gh.public_client(tenant, "http://127.0.0.1:9/callback")
    tokens = gh.sign_in(tenant, spa, user.email)
    verifier = TokenVerifier([gh.issuer(tenant)], audience=spa.id, fetch=loopback_fetch)
    assert verifier.verify(tokens["access_token"])["sub"] == user.id
    with pytest.raises(InvalidToken, match="at\\+jwt"):
        verifier.verify(tokens["id_token"])
    # Even relabelled as at+jwt, an RS256 ID token lacks the access-token claims.
    header, _ = _parts(tokens["id_token"])
    assert header["alg"] == "RS256"


def test_unknown_kid_refreshes_the_jwks_at_a_limited_rate(gh, tenant):
    from app.services import keys

    client = gh.service_client(tenant)
    token = gh.client_credentials(tenant, client)
    fetch, clock = CountingFetch(), Clock()
    verifier = TokenVerifier(
        [gh.issuer(tenant)], audience=client.id, fetch=fetch, clock=clock, min_refresh_interval=30
    )
    issuer = gh.issuer(tenant)
    verifier.verify(token)
    assert fetch.jwks_fetches(issuer) == 1

    stranger = ec.generate_private_key(ec.SECP256R1())
    _, claims = _parts(token)
    forged = jwt.encode(
        claims, stranger, algorithm="ES256", headers={"kid": "key_unknown", "typ": "at+jwt"}
    )
    with pytest.raises(InvalidToken, match="does not publish"):
        verifier.verify(forged)
    assert fetch.jwks_fetches(issuer) == 1  # fetched a moment ago: not again yet
    clock.now += 31
    with pytest.raises(InvalidToken, match="does not publish"):
        verifier.verify(forged)
    assert fetch.jwks_fetches(issuer) == 2  # looked again, the key is still unknown

    # A real rotation: two rotations make a key that was never in our cache active.
    with gh.app.app_context():
        for _ in range(2):
            keys.rotate_keys(db.session.merge(tenant))
        db.session.commit()
    rotated = gh.client_credentials(tenant, client)
    assert _parts(rotated)[0]["kid"] != _parts(token)[0]["kid"]
    clock.now += 31
    assert verifier.verify(rotated)["tenant_id"] == tenant.id
    assert fetch.jwks_fetches(issuer) == 3
    assert verifier.verify(token)["tenant_id"] == tenant.id  # the old key is still published


def test_jwks_is_fetched_once_per_issuer_under_load(gh, tenant, other_tenant):
    clients = {t.slug: gh.service_client(t) for t in (tenant, other_tenant)}
    tokens = [
        gh.client_credentials(t, clients[t.slug]) for t in (tenant, other_tenant) for _ in range(3)
    ]
    fetch = CountingFetch()
    verifier = TokenVerifier(
        [gh.issuer(tenant), gh.issuer(other_tenant)],
        audience=[c.id for c in clients.values()],
        fetch=fetch,
    )
    errors, seen = [], Counter()
    start = threading.Barrier(8)

    def work():
        start.wait()
        for i in range(40):
            try:
                seen[verifier.verify(tokens[i % len(tokens)])["tenant_id"]] += 1
            except Exception as exc:  # collected and asserted below
                errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors
    assert sum(seen.values()) == 8 * 40 and set(seen) == {tenant.id, other_tenant.id}
    assert fetch.jwks_fetches(gh.issuer(tenant)) == 1
    assert fetch.jwks_fetches(gh.issuer(other_tenant)) == 1
    assert verifier.jwks.fetch_count == 2


# --- require_token -------------------------------------------------------------------


def _challenge(response):
    return response.headers.get("WWW-Authenticate", "")


NOTES = "http://example.test/api"
BILLING = "http://example.test/billing"


def _apis(gh, tenant):
    gh.define_api(tenant, NOTES, ["read:notes", "write:notes"])
    gh.define_api(tenant, BILLING, ["read:invoices"])


def test_require_token_answers_per_rfc_6750(gh, tenant, other_tenant):
    from examples.api.billing import create_billing_api

    for t in (tenant, other_tenant):
        _apis(gh, t)
    ours = gh.service_client(
        tenant,
        roles=["member"],
        grants=[
            {"resource": NOTES, "permissions": ["read:notes", "write:notes"]},
            {"resource": BILLING, "permissions": ["read:invoices"]},
        ],
    )
    reader = gh.service_client(
        tenant, grants=[{"resource": NOTES, "permissions": ["read:notes"]}], name="Reader"
    )
    theirs = gh.service_client(
        other_tenant,
        roles=["admin"],
        grants=[{"resource": NOTES, "permissions": ["read:notes", "write:notes"]}],
    )
    issuers = [gh.issuer(tenant), gh.issuer(other_tenant)]
    api = create_api(TokenVerifier(issuers, audience=NOTES, fetch=loopback_fetch)).test_client()
    billing = create_billing_api(
        TokenVerifier(issuers, audience=BILLING, fetch=loopback_fetch)
    ).test_client()

    response = api.get("/api/me")
    assert response.status_code == 401
    assert _challenge(response) == 'Bearer realm="example-api"'  # RFC 6750 §3.1: no error code

    response = api.get("/api/me", headers={"Authorization": "Bearer not.a.token"})
    assert response.status_code == 401
    assert 'error="invalid_token"' in _challenge(response)
    assert response.json["error"] == "invalid_token"

    acme_token = gh.client_credentials(tenant, ours, resource=NOTES)
    acme = {"Authorization": f"Bearer {acme_token}"}
    me = api.get("/api/me", headers=acme)
    assert me.status_code == 200
    assert me.json["aud"] == NOTES and me.json["tenant_id"] == tenant.id
    assert me.json["scopes"] == ["read:notes", "write:notes"]

    # A token for the billing API is refused by the notes API, and the other way round.
    billing_token = gh.client_credentials(tenant, ours, resource=BILLING)
    refused = api.get("/api/me", headers={"Authorization": f"Bearer {billing_token}"})
    assert refused.status_code == 401
    assert 'error_description="the token is not meant for this audience"' in _challenge(refused)
    assert billing.get("/me", headers=acme).status_code == 401
    invoices = billing.get("/invoices", headers={"Authorization": f"Bearer {billing_token}"})
    assert invoices.status_code == 200 and invoices.json["tenant_id"] == tenant.id
    # The client's own token (no resource) is for no API.
    plain = {"Authorization": f"Bearer {gh.client_credentials(tenant, ours)}"}
    assert api.get("/api/me", headers=plain).status_code == 401

    # A missing permission is 403 insufficient_scope naming what is needed (RFC 6750 §3.1).
    read_only = {"Authorization": f"Bearer {gh.client_credentials(tenant, reader, resource=NOTES)}"}
    forbidden = api.post("/api/notes", json={"text": "x"}, headers=read_only)
    assert forbidden.status_code == 403
    assert 'error="insufficient_scope"' in _challenge(forbidden)
    assert 'scope="write:notes"' in _challenge(forbidden)
    forbidden = api.get("/api/admin", headers=acme)
    assert forbidden.status_code == 403  # a role check: `admin` not held
    globex = {
        "Authorization": f"Bearer {gh.client_credentials(other_tenant, theirs, resource=NOTES)}"
    }
    assert api.get("/api/admin", headers=globex).json["tenant_id"] == other_tenant.id

    # Every query is scoped by the token's tenant: globex never sees acme's notes.
    assert api.post("/api/notes", json={"text": "acme only"}, headers=acme).status_code == 201
    assert [n["text"] for n in api.get("/api/notes", headers=acme).json["items"]] == ["acme only"]
    assert api.get("/api/notes", headers=globex).json["items"] == []

    expired = _resign(gh, tenant, acme_token, exp=int(time.time()) - 3600)
    response = api.get("/api/me", headers={"Authorization": f"Bearer {expired}"})
    assert response.status_code == 401
    assert 'error_description="the token has expired"' in _challenge(response)


def test_require_token_checks_scopes_and_the_tenant_of_the_url(gh, tenant, other_tenant):
    ours = gh.service_client(tenant)
    theirs = gh.service_client(other_tenant)
    verifier = TokenVerifier(
        [gh.issuer(tenant), gh.issuer(other_tenant)],
        audience=[ours.id, theirs.id],
        fetch=loopback_fetch,
    )
    web = Flask(__name__)
    init_verifier(web, verifier)

    @web.get("/tenants/<tenant_id>/reports")
    @require_token(scopes=["profile"], tenant=lambda: request.view_args["tenant_id"])
    def reports(tenant_id):
        return jsonify(tenant_id=g.token_claims["tenant_id"])

    @web.get("/billing")
    @require_token(scopes=["billing"])
    def billing():
        return jsonify(ok=True)

    api = web.test_client()
    auth = {"Authorization": f"Bearer {gh.client_credentials(tenant, ours)}"}
    assert api.get(f"/tenants/{tenant.id}/reports", headers=auth).json == {"tenant_id": tenant.id}
    wrong = api.get(f"/tenants/{other_tenant.id}/reports", headers=auth)
    assert wrong.status_code == 403
    assert "another tenant" in _challenge(wrong)
    denied = api.get("/billing", headers=auth)
    assert denied.status_code == 403
    assert 'error="insufficient_scope"' in _challenge(denied)
    assert 'scope="billing"' in _challenge(denied)


def test_unreachable_issuer_answers_503_not_401():
    """With no key set ever fetched, the failure is the server's (503), not the token's."""
    issuer = "http://127.0.0.1:9"  # nothing listens on the discard port
    verifier = TokenVerifier([issuer], audience="cli_x", fetch=loopback_fetch)
    header = {"alg": "ES256", "typ": "at+jwt", "kid": "key_1"}
    claims = {"iss": issuer, "sub": "usr_1", "aud": "cli_x", "exp": int(time.time()) + 60}
    token = f"{_b64(header)}.{_b64(claims)}.c2ln"
    web = create_api(verifier).test_client()
    response = web.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
