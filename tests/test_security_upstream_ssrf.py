"""Upstream identity providers cannot be used for SSRF (issue #14, MEDIUM): the discovery
URL is checked when saved, every fetch (discovery, JWKS, token, userinfo) goes through the
outbound guard, redirects are re-checked, the endpoints a discovery document names are
checked, and every network failure reads the same."""

from __future__ import annotations

import re

import pytest

from app.extensions import db
from app.security import outbound
from app.upstream.client import UNREACHABLE
from tests.support.api import Api
from tests.support.api import create_admin_key
from tests.support.api import problem_of
from tests.support.receiver import Receiver
from tests.support.receiver import Reply
from tests.support.receiver import closed_port

DISCOVERY = "/.well-known/openid-configuration"


def _provider_body(discovery_url: str) -> dict:
    return {
        "kind": "oidc",
        "name": "Corp IdP",
        "discovery_url": discovery_url,
        "client_id": "gatehouse",
        "client_secret": "upstream-secret",
    }


def _stored_provider(app, tenant, discovery_url: str) -> str:
    """A provider saved while the guard allowed it (as an older version would have)."""
    from app.services import providers

    allowed = app.config["OUTBOUND_ALLOW_PRIVATE"]
    app.config["OUTBOUND_ALLOW_PRIVATE"] = True
    try:
        with app.app_context():
            provider = providers.create_provider(
                db.session.merge(tenant), _provider_body(discovery_url)
            )
            db.session.commit()
            return provider.id
    finally:
        app.config["OUTBOUND_ALLOW_PRIVATE"] = allowed


def _save_then_start_signin(app, browser, discovery_url: str) -> None:
    """Save the provider through the API (allowed: the URL looks public), then start a
    sign-in with it: the fetch is refused with the one network-failure message."""
    api = Api(app, create_admin_key(app))
    created = api.post("/tenants/acme-corp/providers", json=_provider_body(discovery_url))
    assert created.status_code == 201, created.get_json()
    response = browser.get(f"/login/providers/{created.get_json()['id']}")
    assert response.status_code == 502
    assert UNREACHABLE in response.get_data(as_text=True)


def _message(response) -> str:
    text = response.get_data(as_text=True)
    match = re.search(r'role="alert"><p>([^<]*)</p>', text)
    assert match, text
    return match.group(1)


def _public_127_0_0_2(monkeypatch):
    """127.0.0.2 plays a public host; everything else keeps its real class."""
    real = outbound.is_public_address
    monkeypatch.setattr(
        outbound, "is_public_address", lambda address: address == "127.0.0.2" or real(address)
    )


@pytest.mark.config(OUTBOUND_ALLOW_PRIVATE=False)
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/.well-known/openid-configuration",
        "http://localhost:9/.well-known/openid-configuration",
        "https://10.0.0.5/.well-known/openid-configuration",
        "https://169.254.169.254/.well-known/openid-configuration",
        "https://[::1]/.well-known/openid-configuration",
    ],
)
def test_private_discovery_url_is_refused_at_save_time(app, tenant, url):
    api = Api(app, create_admin_key(app))
    response = api.post("/tenants/acme-corp/providers", json=_provider_body(url))
    assert response.status_code == 400
    assert "public address" in problem_of(response)["errors"]["discovery_url"]


@pytest.mark.config(OUTBOUND_ALLOW_PRIVATE=False)
def test_private_discovery_url_is_refused_at_fetch_time(app, tenant, tenant_client):
    with Receiver(lambda m, p: Reply(200, {"issuer": "x"})) as internal:
        provider_id = _stored_provider(app, tenant, internal.url(DISCOVERY))
        response = tenant_client(tenant).get(f"/login/providers/{provider_id}")
        assert response.status_code == 502
        assert UNREACHABLE in response.get_data(as_text=True)
        assert internal.hits == []


@pytest.mark.config(OUTBOUND_ALLOW_PRIVATE=False)
def test_discovery_redirecting_to_a_private_address_is_refused(
    app, tenant, tenant_client, monkeypatch
):
    _public_127_0_0_2(monkeypatch)
    with Receiver(lambda m, p: Reply(200, {"issuer": "x"})) as internal:
        target = internal.url(DISCOVERY)
        with Receiver(
            lambda m, p: Reply(302, headers={"Location": target}), host="127.0.0.2"
        ) as public:
            _save_then_start_signin(app, tenant_client(tenant), public.url(DISCOVERY))
            assert len(public.hits) == 1
        assert internal.hits == []


@pytest.mark.config(OUTBOUND_ALLOW_PRIVATE=False)
@pytest.mark.parametrize("endpoint", ["token_endpoint", "jwks_uri", "userinfo_endpoint"])
def test_discovery_naming_a_private_endpoint_is_refused(
    app, tenant, tenant_client, monkeypatch, endpoint
):
    _public_127_0_0_2(monkeypatch)
    with Receiver() as internal:
        holder = {}

        def answer(method, path):
            origin = holder["origin"]
            document = {
                "issuer": origin,
                "authorization_endpoint": origin + "/authorize",
                "token_endpoint": origin + "/token",
                "jwks_uri": origin + "/jwks",
                "userinfo_endpoint": origin + "/userinfo",
                endpoint: internal.url("/steal"),
            }
            return Reply(200, document)

        with Receiver(answer, host="127.0.0.2") as public:
            holder["origin"] = public.origin
            _save_then_start_signin(app, tenant_client(tenant), public.url(DISCOVERY))
        assert internal.hits == []


def test_discovery_with_a_script_authorization_endpoint_is_refused(app, tenant, tenant_client):
    holder = {}

    def answer(method, path):
        origin = holder["origin"]
        return Reply(
            200,
            {
                "issuer": origin,
                "authorization_endpoint": "javascript:alert(document.domain)",
                "token_endpoint": origin + "/token",
                "jwks_uri": origin + "/jwks",
            },
        )

    with Receiver(answer) as provider:
        holder["origin"] = provider.origin
        provider_id = _stored_provider(app, tenant, provider.url(DISCOVERY))
        response = tenant_client(tenant).get(f"/login/providers/{provider_id}")
        assert response.status_code == 502
        assert "Location" not in response.headers


@pytest.mark.parametrize("allow_private", [True, False])
def test_open_and_closed_ports_give_the_same_answer(
    app, tenant, tenant_client, monkeypatch, allow_private
):
    """An internal service that answers (HTML, JSON, an error) reads exactly like a port
    where nothing listens."""
    app.config["OUTBOUND_ALLOW_PRIVATE"] = allow_private
    _public_127_0_0_2(monkeypatch)
    answers = [
        Reply(200, "<html>internal admin</html>", {"Content-Type": "text/html"}),
        Reply(200, {"status": "ok"}),
        Reply(404, "nope"),
        Reply(500, "boom"),
    ]
    pages = []
    for reply in answers:
        with Receiver(lambda m, p, reply=reply: reply, host="127.0.0.2") as service:
            provider_id = _stored_provider(app, tenant, service.url(DISCOVERY))
            response = tenant_client(tenant).get(f"/login/providers/{provider_id}")
            pages.append((response.status_code, _message(response)))
    provider_id = _stored_provider(
        app, tenant, f"http://127.0.0.2:{closed_port('127.0.0.2')}{DISCOVERY}"
    )
    response = tenant_client(tenant).get(f"/login/providers/{provider_id}")
    pages.append((response.status_code, _message(response)))
    assert len(set(pages)) == 1, pages
    assert pages[0][0] == 502 and UNREACHABLE in pages[0][1]


def test_the_token_request_goes_through_the_guard(app, tenant, monkeypatch):
    """The code exchange (with the client secret) is a guarded fetch: refused when the
    token endpoint turns out private at connect time, and never sent there."""
    from app.services import providers
    from app.upstream import client

    with Receiver(lambda m, p: Reply(200, {"access_token": "x"})) as internal:
        meta = {
            "issuer": "https://idp.example",
            "authorization_endpoint": "https://idp.example/authorize",
            "token_endpoint": internal.url("/token"),
            "jwks_uri": "https://idp.example/jwks",
        }
        provider_id = _stored_provider(app, tenant, "https://idp.example" + DISCOVERY)
        app.config["OUTBOUND_ALLOW_PRIVATE"] = False
        with app.test_request_context(base_url="http://acme-corp.gatehouse.test"):
            provider = providers.get_provider(db.session.merge(tenant), provider_id)
            monkeypatch.setattr(client, "metadata", lambda p: meta)
            with pytest.raises(client.UpstreamError) as refused:
                client.fetch_profile(
                    provider, "https://cb.example/", code="c", nonce="n", verifier="v"
                )
        assert refused.value.message == UNREACHABLE
        assert internal.hits == []
        # Allowed (development): the secret travels as HTTP Basic, form-encoded first.
        app.config["OUTBOUND_ALLOW_PRIVATE"] = True
        with app.test_request_context(base_url="http://acme-corp.gatehouse.test"):
            provider = providers.get_provider(db.session.merge(tenant), provider_id)
            with pytest.raises(client.UpstreamError):  # no ID token in the answer
                client.fetch_profile(
                    provider, "https://cb.example/", code="c", nonce="n", verifier="v"
                )
        method, path, headers, body = internal.hits[0]
        assert (method, path) == ("POST", "/token")
        assert headers["Authorization"].startswith("Basic ")
        assert b"code_verifier=v" in body and b"grant_type=authorization_code" in body
