"""The OpenID Foundation's Dynamic OP modules (oidcc-dynamic-certification-test-plan),
black-box: each test is named after the module it re-implements, drives Gatehouse over
HTTP as the conformance suite's relying party does (discovery → registration at the
advertised ``registration_endpoint`` → authorization code flow with the registered
client), and checks what the module checks.

Modules Gatehouse answers by refusing at registration (what the suite then expects of an
OP that does not support the feature), each said in its docstring:
``oidcc-registration-sector-uri``/``-sector-bad`` (no pairwise subjects),
``oidcc-idtoken-unsigned`` (no ``none`` ID tokens), ``oidcc-userinfo-rs256`` (userinfo
is plain JSON).

``oidcc-registration-jwks``/``-jwks-uri`` register keys and authenticate with
``private_key_jwt``. Not here: ``oidcc-request-uri-*`` (only PAR's own ``request_uri``:
discovery says ``request_uri_parameter_supported: false``).
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

import jwt
import pytest

from tests.support.client_keys import assertion_claims
from tests.support.client_keys import assertion_form
from tests.support.client_keys import jwks_of
from tests.support.client_keys import make_key
from tests.support.oauth import RegisteredClient
from tests.support.oauth import authorize
from tests.support.oauth import bearer
from tests.support.oauth import exchange
from tests.support.oauth import pkce_pair
from tests.support.oauth import query_of
from tests.support.oauth import refresh
from tests.support.oauth import sign_in
from tests.support.receiver import Receiver
from tests.support.receiver import Reply
from tests.support.registration import set_mode

ISSUER = "http://acme-corp.gatehouse.test"
REDIRECT = "https://rp.example.com/test/a/gatehouse/callback"


class ConformanceRp:
    """The suite's relying party: reads discovery, registers, runs the code flow."""

    def __init__(self, app, tc, tenant, user):
        self.app, self.tc, self.tenant, self.user = app, tc, tenant, user
        self.discovery = tc.get("/.well-known/openid-configuration").get_json()
        self.registration_path = urlsplit(self.discovery["registration_endpoint"]).path

    def register(self, **metadata):
        body = {
            "client_name": "OIDF conformance RP",
            "redirect_uris": [REDIRECT],
            "contacts": ["certification@oidf.example"],
            "grant_types": ["authorization_code"],
            "response_types": ["code"],
            **metadata,
        }
        return self.tc.post(self.registration_path, json=body)

    def client(self, **metadata) -> RegisteredClient:
        response = self.register(**metadata)
        assert response.status_code == 201, response.get_json()
        body = response.get_json()
        uri = metadata.get("redirect_uris", [REDIRECT])[0]
        return RegisteredClient(body["client_id"], body.get("client_secret"), uri)

    def consent_page(self, client, **params):
        sign_in(self.app, self.tc, self.tenant, self.user)
        page = authorize(self.tc, client, **params)
        assert page.status_code == 200, page.get_data(as_text=True)[:300]
        assert 'name="decision"' in page.get_data(as_text=True)  # third party: consent
        return page

    def code_flow(self, client, scope: str = "openid profile email", auth=None) -> dict:
        """Authorize (consent shown and approved), exchange; the token response."""
        verifier, challenge = pkce_pair()
        nonce = "n-" + secrets.token_hex(8)
        page = self.consent_page(client, verifier_challenge=challenge, scope=scope, nonce=nonce)
        fields = dict(
            re.findall(
                r'<input type="hidden" name="([^"]+)" value="([^"]*)"',
                page.get_data(as_text=True),
            )
        )
        query = query_of(self.tc.post("/oauth2/authorize", data={**fields, "decision": "approve"}))
        assert query["iss"] == ISSUER and "code" in query
        response = exchange(self.tc, client, query["code"], verifier, **(auth() if auth else {}))
        assert response.status_code == 200, response.get_json()
        tokens = response.get_json()
        tokens["_code"], tokens["_verifier"], tokens["_nonce"] = query["code"], verifier, nonce
        return tokens

    def verified_id_token(self, client, tokens) -> tuple[dict, dict]:
        """The ID token's header and claims, its signature checked against the JWKS."""
        id_token = tokens["id_token"]
        header = jwt.get_unverified_header(id_token)
        keys = jwt.PyJWKSet.from_dict(self.tc.get("/.well-known/jwks.json").get_json())
        key = next(k for k in keys.keys if k.key_id == header["kid"])
        claims = jwt.decode(
            id_token,
            key.key,
            algorithms=[header["alg"]],
            audience=client.client_id,
            issuer=ISSUER,
        )
        assert claims["nonce"] == tokens["_nonce"] and claims["sub"] == self.user.id
        return header, claims


@pytest.fixture
def rp(app, tenant, user, tenant_client):
    set_mode(app, tenant, "open")
    return ConformanceRp(app, tenant_client(tenant), tenant, user)


def _refused(response, error: str = "invalid_client_metadata") -> str:
    assert response.status_code == 400, response.get_data(as_text=True)
    body = response.get_json()
    assert body["error"] == error, body
    return body["error_description"]


def test_oidcc_discovery_endpoint_verification(rp):
    """Dynamic plan's discovery checks: the issuer, and a registration_endpoint on it."""
    assert rp.discovery["issuer"] == ISSUER
    assert rp.discovery["registration_endpoint"] == f"{ISSUER}/oauth2/register"
    assert "code" in rp.discovery["response_types_supported"]
    assert "RS256" in rp.discovery["id_token_signing_alg_values_supported"]


def test_oidcc_server(rp):
    """Register, authorization code flow, ID token and userinfo for the registered client."""
    client = rp.client()
    tokens = rp.code_flow(client)
    _header, claims = rp.verified_id_token(client, tokens)
    info = rp.tc.get("/oauth2/userinfo", headers=bearer(tokens["access_token"])).get_json()
    assert info["sub"] == claims["sub"]


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
def test_oidcc_idtoken_rs256(rp, alg):
    """The registered id_token_signed_response_alg signs the ID token (ES256 too)."""
    client = rp.client(id_token_signed_response_alg=alg)
    header, _claims = rp.verified_id_token(client, rp.code_flow(client))
    assert header["alg"] == alg


def test_oidcc_idtoken_unsigned(rp):
    """Refused: Gatehouse issues no unsigned ID tokens (``none`` is not advertised)."""
    assert "none" not in rp.discovery["id_token_signing_alg_values_supported"]
    assert "RS256" in _refused(rp.register(id_token_signed_response_alg="none"))


def test_oidcc_userinfo_rs256(rp):
    """Refused: userinfo is answered as plain JSON only."""
    assert rp.discovery["userinfo_signing_alg_values_supported"] == ["none"]
    assert "userinfo" in _refused(rp.register(userinfo_signed_response_alg="RS256"))


def _assertion(key, client):
    return assertion_form(key.sign(assertion_claims(client.client_id, ISSUER)))


def test_oidcc_registration_jwks(rp):
    """A client registered with ``jwks`` authenticates with ``private_key_jwt``."""
    key = make_key("RS256")
    body = {"jwks": jwks_of(key), "token_endpoint_auth_method": "private_key_jwt"}
    answer = rp.register(**body)
    assert answer.status_code == 201, answer.get_json()
    registered = answer.get_json()
    assert "client_secret" not in registered and registered["jwks"] == jwks_of(key)
    client = RegisteredClient(registered["client_id"], None, REDIRECT)
    tokens = rp.code_flow(client, auth=lambda: _assertion(key, client))
    assert rp.verified_id_token(client, tokens)[1]["aud"] == client.client_id
    # Private key material is never registered.
    assert "private" in _refused(rp.register(jwks={"keys": [key.private_jwk]}))


def test_oidcc_registration_jwks_uri(rp):
    """A client registered with ``jwks_uri`` (served on loopback) does the same."""
    key = make_key("ES256")
    with Receiver(lambda method, path: Reply(body=jwks_of(key))) as server:
        client = rp.client(
            jwks_uri=server.url("/jwks"), token_endpoint_auth_method="private_key_jwt"
        )
        assert client.secret is None
        tokens = rp.code_flow(client, auth=lambda: _assertion(key, client))
        assert rp.verified_id_token(client, tokens)[1]["aud"] == client.client_id
        assert server.hits and server.hits[0][1] == "/jwks"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("logo_uri", "https://rp.example.com/logo.png"),
        ("policy_uri", "https://rp.example.com/privacy"),
        ("tos_uri", "https://rp.example.com/terms"),
    ],
)
def test_oidcc_registration_logo_policy_tos_uri(rp, field, value):
    """oidcc-registration-logo-uri, -policy-uri, -tos-uri: registered, echoed, and shown
    to the person on the consent page."""
    response = rp.register(**{field: value})
    assert response.status_code == 201 and response.get_json()[field] == value
    body = response.get_json()
    client = RegisteredClient(body["client_id"], body["client_secret"], REDIRECT)
    assert value in rp.consent_page(client).get_data(as_text=True)


def test_oidcc_registration_sector_uri(rp):
    """Refused: no pairwise subject identifiers, so no sector_identifier_uri."""
    assert "pairwise" in _refused(
        rp.register(sector_identifier_uri="https://rp.example.com/sector.json")
    )


def test_oidcc_registration_sector_bad(rp):
    """A sector_identifier_uri that does not list the redirect URIs: refused as well."""
    _refused(
        rp.register(
            sector_identifier_uri="https://rp.example.com/bad-sector.json",
            subject_type="pairwise",
        )
    )


def test_oidcc_redirect_uri_regfrag(rp):
    """A redirect URI with a fragment cannot be registered."""
    _refused(rp.register(redirect_uris=[REDIRECT + "#foo"]), "invalid_redirect_uri")


def test_oidcc_ensure_registered_redirect_uri(rp):
    """An unregistered redirect URI gets an error page, never a redirect to it."""
    client = rp.client()
    sign_in(rp.app, rp.tc, rp.tenant, rp.user)
    response = authorize(rp.tc, client, redirect_uri="https://attacker.example/cb")
    assert response.status_code == 400 and "Location" not in response.headers


def test_oidcc_ensure_redirect_uri_in_authorization_request(rp):
    """An OpenID request without redirect_uri gets an error page, though the registered
    client has exactly one (OIDC Core §3.1.2.1)."""
    client = rp.client()
    sign_in(rp.app, rp.tc, rp.tenant, rp.user)
    response = authorize(rp.tc, client, redirect_uri=None)
    assert response.status_code == 400 and "Location" not in response.headers


def test_oidcc_redirect_uri_query_ok(rp):
    """A registered redirect URI with a query works when sent exactly."""
    client = rp.client(redirect_uris=[REDIRECT + "?foo=bar"])
    tokens = rp.code_flow(client)
    assert tokens["id_token"]


@pytest.mark.parametrize("sent", [REDIRECT + "?foo=baz", REDIRECT + "?foo=bar&bar=foo"])
def test_oidcc_redirect_uri_query_mismatch_and_added(rp, sent):
    """oidcc-redirect-uri-query-mismatch, -query-added: any other query is refused."""
    client = rp.client(redirect_uris=[REDIRECT + "?foo=bar"])
    sign_in(rp.app, rp.tc, rp.tenant, rp.user)
    response = authorize(rp.tc, client, redirect_uri=sent)
    assert response.status_code == 400 and "Location" not in response.headers


def test_oidcc_codereuse(rp):
    """A code works once."""
    client = rp.client()
    tokens = rp.code_flow(client)
    again = exchange(rp.tc, client, tokens["_code"], tokens["_verifier"])
    assert again.status_code == 400 and again.get_json()["error"] == "invalid_grant"


def test_oidcc_refresh_token(rp):
    """A registered client with refresh_token gets one with offline_access, uses it, and
    another client cannot."""
    client = rp.client(
        grant_types=["authorization_code", "refresh_token"],
        scope="openid profile email offline_access",
    )
    tokens = rp.code_flow(client, scope="openid profile email offline_access")
    refreshed = refresh(rp.tc, client, tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.get_json()
    assert refreshed.get_json()["refresh_token"] != tokens["refresh_token"]
    other = rp.client(grant_types=["authorization_code", "refresh_token"])
    stolen = refresh(rp.tc, other, refreshed.get_json()["refresh_token"])
    assert stolen.status_code == 400 and stolen.get_json()["error"] == "invalid_grant"


def test_oidcc_response_type_missing(rp):
    """No response_type: an error, on a page or sent back to the (registered) redirect URI
    as ``invalid_request`` or ``unsupported_response_type``."""
    client = rp.client()
    sign_in(rp.app, rp.tc, rp.tenant, rp.user)
    response = authorize(rp.tc, client, response_type=None)
    if response.status_code == 302:
        assert query_of(response)["error"] in {"invalid_request", "unsupported_response_type"}
    else:
        assert response.status_code == 400
