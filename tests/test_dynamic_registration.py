"""Dynamic client registration (RFC 7591) and its management (RFC 7592), per tenant,
through /oauth2/register and /oauth2/register/<client_id>."""

from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from app.models import Client
from app.models import Event
from app.models import Grant
from tests.support.api import Api
from tests.support.api import create_admin_key
from tests.support.oauth import authorize
from tests.support.oauth import exchange
from tests.support.oauth import pkce_pair
from tests.support.oauth import query_of
from tests.support.oauth import refresh
from tests.support.oauth import sign_in
from tests.support.registration import as_client
from tests.support.registration import manage
from tests.support.registration import metadata
from tests.support.registration import mint_initial_token
from tests.support.registration import oauth_error
from tests.support.registration import register
from tests.support.registration import set_mode

ISSUER = "http://acme-corp.gatehouse.test"


def _hidden(html: str) -> dict:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


def _consent_and_tokens(tc, client) -> dict:
    """Authorize (the consent page must show), approve, exchange the code."""
    verifier, challenge = pkce_pair()
    page = authorize(
        tc, client, verifier_challenge=challenge, scope="openid profile email offline_access"
    )
    assert page.status_code == 200, page.get_data(as_text=True)[:300]
    html = page.get_data(as_text=True)
    assert 'name="decision"' in html and "Registered App" in html
    approved = tc.post("/oauth2/authorize", data={**_hidden(html), "decision": "approve"})
    query = query_of(approved)
    assert query["iss"] == ISSUER
    response = exchange(tc, client, query["code"], verifier)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


# --- modes ---------------------------------------------------------------------------------


def test_off_by_default_the_endpoint_is_404_and_not_in_discovery(tenant, tenant_client):
    tc = tenant_client(tenant)
    oauth_error(register(tc), 404, "invalid_request")
    oauth_error(manage(tc, "GET", "cli_x", "gh_rat_x"), 404, "invalid_request")
    assert "registration_endpoint" not in tc.get("/.well-known/openid-configuration").get_json()


def test_discovery_follows_the_setting(app, tenant, tenant_client):
    tc = tenant_client(tenant)
    api = Api(app, create_admin_key(app, tenant))
    for mode, advertised in (("open", True), ("off", False), ("initial_access_token", True)):
        assert api.patch(f"/tenants/{tenant.slug}/settings", json={"dynamic_registration": mode})
        document = tc.get("/.well-known/openid-configuration").get_json()
        assert document.get("registration_endpoint") == (
            f"{ISSUER}/oauth2/register" if advertised else None
        ), mode
    refused = api.patch(f"/tenants/{tenant.slug}/settings", json={"dynamic_registration": "on"})
    assert refused.status_code == 400


def test_open_registration_then_consent_code_flow_and_refresh(app, tenant, user, tenant_client):
    set_mode(app, tenant, "open")
    tc = tenant_client(tenant)
    answer = register(tc)
    assert answer.status_code == 201, answer.get_json()
    assert answer.headers["Cache-Control"] == "no-store"
    body = answer.get_json()
    assert body["client_id"].startswith("cli_") and body["client_secret"]
    assert body["client_secret_expires_at"] == 0
    assert abs(body["client_id_issued_at"] - time.time()) < 60
    assert body["registration_access_token"].startswith("gh_rat_")
    assert body["registration_client_uri"] == f"{ISSUER}/oauth2/register/{body['client_id']}"
    assert body["token_endpoint_auth_method"] == "client_secret_basic"
    assert body["grant_types"] == ["authorization_code", "refresh_token"]
    assert body["response_types"] == ["code"] and body["application_type"] == "web"
    with app.app_context():
        row = db.session.get(Client, body["client_id"])
        assert row.first_party is False and row.roles == [] and row.tenant_id == tenant.id
        assert row.secret_digest != body["client_secret"]  # a digest, not the secret

    client = as_client(body)
    sign_in(app, tc, tenant, user)
    tokens = _consent_and_tokens(tc, client)
    refreshed = refresh(tc, client, tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.get_json()


def test_registration_is_audited_and_emits_client_created(app, tenant, tenant_client):
    set_mode(app, tenant, "open")
    client_id = register(tenant_client(tenant)).get_json()["client_id"]
    with app.app_context():
        actions = set(
            db.session.scalars(select(AuditEvent.action).where(AuditEvent.target_id == client_id))
        )
        assert {"client.created", "client.registered"} <= actions
        events = list(db.session.scalars(select(Event).where(Event.type == "client.created")))
        assert [e.data["id"] for e in events] == [client_id]
        assert events[0].data["first_party"] is False


def test_initial_access_token_mode(app, tenant, other_tenant, tenant_client):
    set_mode(app, tenant, "initial_access_token")
    set_mode(app, other_tenant, "initial_access_token")
    tc = tenant_client(tenant)

    missing = register(tc)
    oauth_error(missing, 401, "invalid_token")
    assert missing.headers["WWW-Authenticate"] == f'Bearer realm="{ISSUER}"'
    wrong = register(tc, token="gh_iat_not-a-token")
    oauth_error(wrong, 401, "invalid_token")
    assert 'error="invalid_token"' in wrong.headers["WWW-Authenticate"]
    foreign = mint_initial_token(app, other_tenant)  # B's token at A
    oauth_error(register(tc, token=foreign), 401, "invalid_token")

    token = mint_initial_token(app, tenant, max_uses=2)
    assert register(tc, token=token).status_code == 201
    # A refused registration does not spend a use.
    oauth_error(
        register(tc, token=token, grant_types=["client_credentials"]),
        400,
        "invalid_client_metadata",
    )
    assert register(tc, token=token).status_code == 201
    oauth_error(register(tc, token=token), 401, "invalid_token")  # used up

    expired = mint_initial_token(app, tenant, expires_in=1)
    time.sleep(1.1)
    oauth_error(register(tc, token=expired), 401, "invalid_token")

    # A's token works at B? No: and B's own token does.
    other_tc = tenant_client(other_tenant)
    oauth_error(register(other_tc, token=mint_initial_token(app, tenant)), 401, "invalid_token")
    assert register(other_tc, token=foreign).status_code == 201


def test_open_mode_needs_no_token(app, tenant, tenant_client):
    set_mode(app, tenant, "open")
    assert register(tenant_client(tenant), token="gh_iat_whatever").status_code == 201


# --- metadata rules ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "error", "mentions"),
    [
        (
            {"redirect_uris": ["https://app.example.com/cb#frag"]},
            "invalid_redirect_uri",
            "fragment",
        ),
        ({"redirect_uris": ["http://app.example.com/cb"]}, "invalid_redirect_uri", "https"),
        ({"redirect_uris": ["http://127.0.0.1:8080/cb"]}, "invalid_redirect_uri", "native"),
        ({"redirect_uris": []}, "invalid_redirect_uri", "redirect_uris"),
        ({"redirect_uris": ["myapp://cb"]}, "invalid_redirect_uri", "http"),
        (
            {"post_logout_redirect_uris": ["http://evil.example/bye"]},
            "invalid_client_metadata",
            "post_logout_redirect_uris",
        ),
        ({"grant_types": ["client_credentials"]}, "invalid_client_metadata", "client_credentials"),
        (
            {"grant_types": ["authorization_code", "urn:ietf:params:oauth:grant-type:device_code"]},
            "invalid_client_metadata",
            "device_code",
        ),
        (
            {"grant_types": ["urn:ietf:params:oauth:grant-type:token-exchange"]},
            "invalid_client_metadata",
            "token-exchange",
        ),
        ({"grant_types": ["implicit"]}, "invalid_client_metadata", "implicit"),
        ({"grant_types": ["refresh_token"]}, "invalid_client_metadata", "authorization_code"),
        ({"response_types": ["token"]}, "invalid_client_metadata", "response_types"),
        ({"token_endpoint_auth_method": "private_key_jwt"}, "invalid_client_metadata", "jwks"),
        ({"jwks": {"keys": [{"kty": "EC"}]}}, "invalid_client_metadata", "jwks"),
        (
            {"jwks": {"keys": [{"kty": "EC", "crv": "P-256", "x": "x", "y": "y", "d": "d"}]}},
            "invalid_client_metadata",
            "private key material",
        ),
        (
            {"jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}},
            "invalid_client_metadata",
            "jwks",
        ),
        ({"token_endpoint_auth_signing_alg": "HS256"}, "invalid_client_metadata", "signing_alg"),
        (
            {"sector_identifier_uri": "https://app.example.com/s.json"},
            "invalid_client_metadata",
            "pairwise",
        ),
        ({"subject_type": "pairwise"}, "invalid_client_metadata", "public"),
        ({"first_party": True}, "invalid_client_metadata", "administrator"),
        ({"roles": ["admin"]}, "invalid_client_metadata", "administrator"),
        (
            {"resource_grants": [{"resource": "https://api", "permissions": ["x"]}]},
            "invalid_client_metadata",
            "administrator",
        ),
        ({"id_token_signed_response_alg": "none"}, "invalid_client_metadata", "RS256"),
        ({"application_type": "desktop"}, "invalid_client_metadata", "application_type"),
        ({"logo_uri": "http://app.example.com/logo.png"}, "invalid_client_metadata", "logo_uri"),
        ({"contacts": ["not an email"]}, "invalid_client_metadata", "contacts"),
        ({"client_name": "Evil\u202eppA"}, "invalid_client_metadata", "client_name"),
        ({"software_statement": "eyJ..."}, "invalid_software_statement", "not accepted"),
    ],
)
def test_metadata_is_refused_with_the_rfc_7591_error(
    app, tenant, tenant_client, extra, error, mentions
):
    set_mode(app, tenant, "open")
    body = oauth_error(register(tenant_client(tenant), **extra), 400, error)
    assert mentions in body["error_description"]
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(Client)) == 0


def test_a_body_that_is_not_a_json_object_is_invalid_client_metadata(app, tenant, tenant_client):
    set_mode(app, tenant, "open")
    tc = tenant_client(tenant)
    oauth_error(register(tc, body=["x"]), 400, "invalid_client_metadata")
    form = tc.post("/oauth2/register", data={"client_name": "x"})
    oauth_error(form, 400, "invalid_client_metadata")


def test_defaults_unknown_metadata_and_extras(app, tenant, tenant_client):
    """RFC 7591 §2: omitted fields take defaults, unknown ones are ignored, scopes outside
    the tenant's are left out (and the answer says so), extras are echoed."""
    set_mode(app, tenant, "open")
    body = register(
        tenant_client(tenant),
        body={
            "redirect_uris": ["https://app.example.com/cb"],
            "scope": "openid email phone admin",
            "default_max_age": 3600,
            "logo_uri": "https://app.example.com/logo.png",
            "policy_uri": "https://app.example.com/privacy",
            "tos_uri": "https://app.example.com/terms",
            "client_uri": "https://app.example.com/",
            "contacts": ["ops@app.example.com"],
            "software_id": "4NRB1-0XZABZI9E6-5SM3R",
            "software_version": "2.1",
        },
    ).get_json()
    assert body["client_name"] == "app.example.com"
    assert body["grant_types"] == ["authorization_code"] and body["scope"] == "openid email"
    assert "default_max_age" not in body
    assert body["logo_uri"] == "https://app.example.com/logo.png"
    assert body["contacts"] == ["ops@app.example.com"] and body["software_version"] == "2.1"


def test_a_public_native_client_must_use_pkce(app, tenant, user, tenant_client):
    set_mode(app, tenant, "open")
    tc = tenant_client(tenant)
    body = register(
        tc,
        application_type="native",
        token_endpoint_auth_method="none",
        redirect_uris=["http://127.0.0.1/callback"],
    ).get_json()
    assert "client_secret" not in body and "client_secret_expires_at" not in body
    client = as_client(body)
    sign_in(app, tc, tenant, user)
    without = authorize(
        tc, client, verifier_challenge=False, redirect_uri="http://127.0.0.1:5173/callback"
    )
    assert query_of(without)["error"] == "invalid_request"
    plain = authorize(
        tc, client, verifier_challenge=False, code_challenge="x" * 43, code_challenge_method="plain"
    )
    assert query_of(plain)["error"] == "invalid_request"
    page = authorize(tc, client)  # S256: the consent page (third party)
    assert page.status_code == 200 and 'name="decision"' in page.get_data(as_text=True)


def test_max_clients_quota(app, tenant, tenant_client):
    set_mode(app, tenant, "open")
    instance = Api(app, create_admin_key(app))
    assert instance.patch(f"/tenants/{tenant.slug}", json={"quotas": {"max_clients": 1}})
    tc = tenant_client(tenant)
    assert register(tc).status_code == 201
    refused = register(tc)
    body = oauth_error(refused, 429, "quota_exceeded")
    assert "client" in body["error_description"].lower()
    assert int(refused.headers["Retry-After"]) > 0
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(Client)) == 1
        assert (
            db.session.scalar(
                select(db.func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "quota.exceeded")
            )
            == 1
        )


@pytest.mark.config(REGISTRATION_RATE_LIMIT="2 per minute")
def test_open_registration_is_rate_limited_per_address(app, tenant, other_tenant, tenant_client):
    set_mode(app, tenant, "open")
    tc = tenant_client(tenant)
    assert [register(tc).status_code for _ in range(2)] == [201, 201]
    oauth_error(register(tc), 429, "slow_down")
    # With initial access tokens the admin already decides who registers: no limit.
    set_mode(app, other_tenant, "initial_access_token")
    token = mint_initial_token(app, other_tenant)
    other_tc = tenant_client(other_tenant)
    assert {register(other_tc, token=token).status_code for _ in range(3)} == {201}


# --- management (RFC 7592) -----------------------------------------------------------------


def test_read_update_rotates_the_token_then_delete(app, tenant, user, tenant_client):
    set_mode(app, tenant, "open")
    tc = tenant_client(tenant)
    first = register(tc).get_json()
    client_id, rat = first["client_id"], first["registration_access_token"]

    read = manage(tc, "GET", client_id, rat)
    assert read.status_code == 200 and read.headers["Cache-Control"] == "no-store"
    shown = read.get_json()
    assert shown["client_id"] == client_id and shown["client_name"] == "Registered App"
    assert "client_secret" not in shown and "registration_access_token" not in shown
    assert shown["registration_client_uri"] == first["registration_client_uri"]

    # A full replace: omitted fields go back to their defaults.
    new = {
        "client_id": client_id,
        "client_name": "Renamed",
        "redirect_uris": ["https://app.example.com/new"],
        "client_secret": first["client_secret"],
    }
    updated = manage(tc, "PUT", client_id, rat, new)
    assert updated.status_code == 200, updated.get_json()
    after = updated.get_json()
    assert after["client_name"] == "Renamed" and after["redirect_uris"] == new["redirect_uris"]
    assert after["grant_types"] == ["authorization_code"]
    assert after["registration_access_token"] not in (None, rat)
    oauth_error(manage(tc, "GET", client_id, rat), 401, "invalid_token")  # rotated
    rat = after["registration_access_token"]

    # The secret still works (not rotated): a code flow and a refresh token to revoke.
    put_back = {
        **new,
        "grant_types": ["authorization_code", "refresh_token"],
        "scope": "openid profile email offline_access",
        "client_name": "Registered App",
    }
    rat = manage(tc, "PUT", client_id, rat, put_back).get_json()["registration_access_token"]
    client = as_client({**first, "redirect_uris": new["redirect_uris"]})
    sign_in(app, tc, tenant, user)
    tokens = _consent_and_tokens(tc, client)

    deleted = manage(tc, "DELETE", client_id, rat)
    assert deleted.status_code == 204
    oauth_error(manage(tc, "GET", client_id, rat), 401, "invalid_token")
    assert refresh(tc, client, tokens["refresh_token"]).status_code in (400, 401)
    with app.app_context():
        assert db.session.get(Client, client_id) is None
        assert db.session.scalar(select(Grant).where(Grant.client_id == client_id)) is None
        actions = set(
            db.session.scalars(select(AuditEvent.action).where(AuditEvent.target_id == client_id))
        )
        assert {"client.created", "client.updated", "client.deleted"} <= actions


def test_update_rules(app, tenant, tenant_client):
    set_mode(app, tenant, "open")
    tc = tenant_client(tenant)
    first = register(tc).get_json()
    client_id, rat = first["client_id"], first["registration_access_token"]
    base = {"client_id": client_id, "redirect_uris": ["https://app.example.com/cb"]}
    for body, error in (
        ({**base, "client_id": "cli_other"}, "invalid_client_metadata"),
        ({k: v for k, v in base.items() if k != "client_id"}, "invalid_client_metadata"),
        ({**base, "registration_access_token": rat}, "invalid_client_metadata"),
        ({**base, "client_secret": "chosen-by-the-client"}, "invalid_client_metadata"),
        ({**base, "grant_types": ["client_credentials"]}, "invalid_client_metadata"),
        ({**base, "redirect_uris": ["https://app.example.com/#x"]}, "invalid_redirect_uri"),
    ):
        oauth_error(manage(tc, "PUT", client_id, rat, body), 400, error)
    # Refused updates rotate nothing.
    assert manage(tc, "GET", client_id, rat).status_code == 200
    # Public → confidential: a secret is issued now; confidential → public drops it.
    public = manage(tc, "PUT", client_id, rat, {**base, "token_endpoint_auth_method": "none"})
    assert "client_secret" not in public.get_json()
    rat = public.get_json()["registration_access_token"]
    back = manage(tc, "PUT", client_id, rat, base).get_json()
    assert back["client_secret"] and back["client_secret_expires_at"] == 0


def test_management_refusals_do_not_leak(app, tenant, other_tenant, tenant_client):
    from tests.support.oauth import make_client

    set_mode(app, tenant, "open")
    set_mode(app, other_tenant, "open")
    tc = tenant_client(tenant)
    one = register(tc).get_json()
    two = register(tc).get_json()
    admin_made = make_client(app, tenant, first_party=False)

    oauth_error(manage(tc, "GET", one["client_id"], None), 401, "invalid_token")
    # Another client's token: 403 whether or not the named client exists.
    for target in (one["client_id"], "cli_01NOSUCHCLIENT", admin_made.client_id):
        read = manage(tc, "GET", target, two["registration_access_token"])
        first = oauth_error(read, 403, "insufficient_scope")
        assert 'error="insufficient_scope"' in read.headers["WWW-Authenticate"]
        if target == one["client_id"]:
            same = first
        assert first == same  # the same answer for an existing and a missing client
        oauth_error(
            manage(tc, "DELETE", target, two["registration_access_token"]),
            403,
            "insufficient_scope",
        )
    # An admin-made client has no registration access token at all.
    oauth_error(manage(tc, "GET", admin_made.client_id, "gh_rat_guess"), 401, "invalid_token")
    # Tenant A's registration access token at tenant B (where registration is open too).
    other_tc = tenant_client(other_tenant)
    oauth_error(
        manage(other_tc, "GET", one["client_id"], one["registration_access_token"]),
        401,
        "invalid_token",
    )
    oauth_error(
        manage(other_tc, "DELETE", one["client_id"], one["registration_access_token"]),
        401,
        "invalid_token",
    )
    assert manage(tc, "GET", one["client_id"], one["registration_access_token"]).status_code == 200


def test_the_last_use_of_an_initial_token_is_taken_once(app, tenant, live_server):
    """Two registrations racing for a token's last use (a real server, threads released
    together, the client insert slowed down so both pass the token check first): one 201,
    one 401, one client."""
    from tests.support.races import HttpClient
    from tests.support.races import together
    from tests.support.races import widened_race_window

    set_mode(app, tenant, "initial_access_token")
    token = mint_initial_token(app, tenant, max_uses=1)

    def call():
        http = HttpClient(live_server, f"{tenant.slug}.{live_server.base_domain}")
        return http.request(
            "POST",
            "/oauth2/register",
            json=metadata(),
            headers={"Authorization": f"Bearer {token}"},
        )

    with widened_race_window(Client):
        responses = together(call, call)
    assert sorted(r.status_code for r in responses) == [201, 401], [r.text for r in responses]
    with app.app_context():
        assert db.session.scalar(select(db.func.count()).select_from(Client)) == 1


FIELDS = (
    "client_name", "redirect_uris", "post_logout_redirect_uris", "grant_types",
    "response_types", "token_endpoint_auth_method", "scope", "id_token_signed_response_alg",
    "application_type", "logo_uri", "client_uri", "policy_uri", "tos_uri", "contacts",
    "software_id", "software_version", "jwks", "subject_type",
)  # fmt: skip
ODD_VALUES = (1, True, "", {"a": 1}, [{"x": 1}], [1], ["code", ["nested"]], "x" * 3000)


@pytest.mark.parametrize("field", FIELDS)
def test_odd_json_values_are_a_400_never_a_500(app, tenant, tenant_client, field):
    set_mode(app, tenant, "open")
    tc = tenant_client(tenant)
    for value in ODD_VALUES:
        response = register(tc, **{field: value})
        assert response.status_code in (201, 400), (field, value, response.status_code)
        if response.status_code == 400:
            assert response.get_json()["error"].startswith("invalid_"), (field, value)
