"""The OpenID Foundation's Back-Channel Logout OP test plan, re-implemented black-box: the
relying party registers a ``backchannel_logout_uri`` through the admin API, signs in
through the hosted pages, ends the session with RP-initiated logout, and its back-channel
endpoint (a real HTTP server on loopback) validates the Logout Token as the suite's
``CheckLogoutToken*``/``ValidateLogoutToken*`` conditions do: signature with a key of the
discovered ``jwks_uri``, ``typ``, ``iss``, ``aud``, ``iat``/``exp``, ``jti``, ``sub`` and
``sid`` equal to the ID token's, ``events``, and no ``nonce``.
"""

from __future__ import annotations

import jwt
import pytest

from app.extensions import db
from app.models import LogoutDelivery
from tests.conftest import DEFAULT_PASSWORD
from tests.support.api import Api
from tests.support.api import create_admin_key
from tests.support.api import problem_of
from tests.support.auth import sign_in
from tests.support.http import TenantClient
from tests.support.logout import LogoutReceiver
from tests.support.logout import drain
from tests.support.logout import verify_logout_token
from tests.support.oauth import REDIRECT_URI
from tests.support.oauth import RegisteredClient
from tests.support.oauth import login_tokens
from tests.support.oauth import make_client
from tests.support.receiver import closed_port

ISSUER = "http://acme-corp.gatehouse.test"
POST_LOGOUT = "https://rp.example.com/logged-out"


@pytest.fixture
def receiver():
    with LogoutReceiver() as server:
        yield server


@pytest.fixture
def api(app, tenant):
    return Api(app, create_admin_key(app, None))


def register(api, backchannel_logout_uri: str, **extra) -> RegisteredClient:
    """Dynamic-registration-like: the RP's metadata through the admin API."""
    response = api.post(
        "/tenants/acme-corp/clients",
        json={
            "client_name": "OIDF back-channel RP",
            "redirect_uris": [REDIRECT_URI],
            "post_logout_redirect_uris": [POST_LOGOUT],
            "first_party": True,
            "backchannel_logout_uri": backchannel_logout_uri,
            **extra,
        },
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["backchannel_logout_uri"] == backchannel_logout_uri
    return RegisteredClient(body["client_id"], body["client_secret"], REDIRECT_URI)


def discovered(browser) -> dict:
    metadata = browser.get("/.well-known/openid-configuration").get_json()
    assert metadata["issuer"] == ISSUER
    assert metadata["backchannel_logout_supported"] is True
    assert metadata["backchannel_logout_session_supported"] is True
    return metadata


def signed_in(tenant, user, tenant_client) -> TenantClient:
    browser = tenant_client(tenant)
    assert sign_in(browser, user.email, DEFAULT_PASSWORD).status_code == 302
    return browser


def rp_initiated_logout(browser, metadata, id_token) -> None:
    response = browser.get(
        metadata["end_session_endpoint"].removeprefix(ISSUER),
        query_string={
            "id_token_hint": id_token,
            "post_logout_redirect_uri": POST_LOGOUT,
            "state": "bcl",
        },
    )
    assert response.headers["Location"] == POST_LOGOUT + "?state=bcl"


def validate(browser, metadata, token, rp, id_token, alg="RS256") -> dict:
    jwks = browser.get(metadata["jwks_uri"].removeprefix(ISSUER)).get_json()
    claims = verify_logout_token(
        token, jwks=jwks, issuer=metadata["issuer"], client_id=rp.client_id, alg=alg
    )
    id_claims = jwt.decode(id_token, options={"verify_signature": False})
    assert claims["sub"] == id_claims["sub"] and claims["sid"] == id_claims["sid"]
    assert claims["aud"] == rp.client_id
    return claims


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
def test_oidcc_backchannel_rp_initiated_logout(api, tenant, user, tenant_client, receiver, alg):
    """RP-initiated logout makes the OP POST a valid Logout Token to the RP, signed with
    the algorithm of the RP's ID tokens."""
    rp = register(api, receiver.url(), id_token_signed_response_alg=alg)
    browser = signed_in(tenant, user, tenant_client)
    metadata = discovered(browser)
    id_token = login_tokens(browser, rp)["id_token"]
    assert jwt.get_unverified_header(id_token)["alg"] == alg
    rp_initiated_logout(browser, metadata, id_token)
    (token,) = receiver.tokens("/backchannel-logout")
    validate(browser, metadata, token, rp, id_token, alg)


def test_oidcc_backchannel_rp_initiated_logout_session_required(
    api, tenant, user, tenant_client, receiver
):
    """A client that registered ``backchannel_logout_session_required``: the token carries
    the ``sid`` of the session the ID token named, and that session alone."""
    rp = register(api, receiver.url(), backchannel_logout_session_required=True)
    shown = api.get(f"/tenants/acme-corp/clients/{rp.client_id}").get_json()
    assert shown["backchannel_logout_session_required"] is True
    browser = signed_in(tenant, user, tenant_client)
    other = signed_in(tenant, user, tenant_client)
    metadata = discovered(browser)
    id_token = login_tokens(browser, rp)["id_token"]
    other_id_token = login_tokens(other, rp)["id_token"]
    rp_initiated_logout(browser, metadata, id_token)
    (token,) = receiver.tokens()
    claims = validate(browser, metadata, token, rp, id_token)
    other_sid = jwt.decode(other_id_token, options={"verify_signature": False})["sid"]
    assert claims["sid"] != other_sid


@pytest.mark.config(BACKCHANNEL_LOGOUT_RETRY_BASE_SECONDS=0.01)
@pytest.mark.parametrize("statuses", [[400], [500], [500, 400]])
def test_oidcc_backchannel_rp_initiated_logout_retried_after_an_error(
    app, api, tenant, user, tenant_client, statuses
):
    """The RP answers 400 (§2.8: the token was refused) or 500: the OP tries again, with a
    fresh valid token each time, until the RP answers 200."""
    with LogoutReceiver(statuses=list(statuses)) as flaky:
        rp = register(api, flaky.url())
        browser = signed_in(tenant, user, tenant_client)
        metadata = discovered(browser)
        id_token = login_tokens(browser, rp)["id_token"]
        rp_initiated_logout(browser, metadata, id_token)
        drain(app, until=lambda: len(flaky.tokens()) == len(statuses) + 1)
        tokens = flaky.tokens()
    claims = [validate(browser, metadata, t, rp, id_token) for t in tokens]
    assert len({c["jti"] for c in claims}) == len(tokens)
    log = api.get(f"/tenants/acme-corp/clients/{rp.client_id}/backchannel-logout-deliveries")
    (entry,) = log.get_json()["items"]
    assert entry["status"] == "succeeded" and entry["attempts"] == len(statuses) + 1
    assert [h["status"] for h in entry["history"]] == [*statuses, 200]


def test_oidcc_backchannel_private_uri_refused(app, make_app, api, tenant, user, receiver):
    """With OUTBOUND_ALLOW_PRIVATE=false (production), a back-channel logout URI on a
    loopback or private address is refused when registered, and never called."""
    strict = make_app(OUTBOUND_ALLOW_PRIVATE=False)
    strict_api = Api(strict, create_admin_key(strict, None))
    for url in (receiver.url(), "https://10.0.0.7/logout", "https://169.254.169.254/x"):
        refused = strict_api.post(
            "/tenants/acme-corp/clients",
            json={
                "client_name": "Private",
                "redirect_uris": [REDIRECT_URI],
                "backchannel_logout_uri": url,
            },
        )
        assert refused.status_code == 400, url
        assert "public address" in problem_of(refused)["errors"]["backchannel_logout_uri"]
    # Registered while allowed (development), the session then ends under the production
    # rule: the delivery is refused at connect time and not retried.
    rp = make_client(app, tenant, backchannel_logout_uri=receiver.url())
    browser = TenantClient(strict.test_client(), "acme-corp.gatehouse.test")
    assert sign_in(browser, user.email, DEFAULT_PASSWORD).status_code == 302
    login_tokens(browser, rp)
    assert browser.submit("/logout", {}).status_code == 302
    drain(strict)
    assert receiver.hits == []
    with strict.app_context():
        delivery = db.session.scalar(db.select(LogoutDelivery))
        assert (delivery.status, delivery.error) == ("failed", "private_address")


@pytest.mark.config(BACKCHANNEL_LOGOUT_RETRY_BASE_SECONDS=0.01, BACKCHANNEL_LOGOUT_MAX_ATTEMPTS=2)
def test_oidcc_backchannel_unreachable_uri_is_retried_then_given_up(
    app, tenant, user, tenant_client
):
    """Nothing listens at the URI: each attempt is recorded, then the delivery fails."""
    rp = make_client(app, tenant, backchannel_logout_uri=f"http://127.0.0.1:{closed_port()}/logout")
    browser = signed_in(tenant, user, tenant_client)
    login_tokens(browser, rp)
    assert browser.submit("/logout", {}).status_code == 302
    drain(app, until=lambda: _statuses(app) == ["failed"])
    with app.app_context():
        delivery = db.session.scalar(db.select(LogoutDelivery))
        assert delivery.attempts == 2 and delivery.error == "network"
        assert [h["error"] for h in delivery.history] == ["network", "network"]


def _statuses(app) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(db.select(LogoutDelivery.status)))


def test_oidcc_backchannel_rp_initiated_logout_dynamic_client(
    app, tenant, user, tenant_client, receiver
):
    """The plan with a dynamically registered client (RFC 7591): the back-channel logout
    metadata is registered, echoed, and honoured; a URI with a fragment is refused."""
    from tests.oidf.test_dynamic_op import ConformanceRp
    from tests.support.registration import set_mode

    set_mode(app, tenant, "open")
    browser = tenant_client(tenant)
    rp = ConformanceRp(app, browser, tenant, user)
    refused = rp.register(backchannel_logout_uri=receiver.url() + "#fragment")
    assert refused.status_code == 400
    assert refused.get_json()["error"] == "invalid_client_metadata"
    assert "backchannel_logout_uri" in refused.get_json()["error_description"]
    registered = rp.register(
        backchannel_logout_uri=receiver.url(),
        backchannel_logout_session_required=True,
        post_logout_redirect_uris=[POST_LOGOUT],
    )
    assert registered.status_code == 201, registered.get_json()
    body = registered.get_json()
    assert body["backchannel_logout_uri"] == receiver.url()
    assert body["backchannel_logout_session_required"] is True
    client = RegisteredClient(body["client_id"], body["client_secret"], body["redirect_uris"][0])
    tokens = rp.code_flow(client)
    metadata = discovered(browser)
    rp_initiated_logout(browser, metadata, tokens["id_token"])
    (token,) = receiver.tokens()
    validate(browser, metadata, token, client, tokens["id_token"])
