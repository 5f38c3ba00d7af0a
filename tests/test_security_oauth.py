"""/oauth2/authorize against malformed parameters and loopback redirect ports (issue #14)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from tests.support.oauth import authorize
from tests.support.oauth import make_client
from tests.support.oauth import pkce_pair
from tests.support.oauth import query_of
from tests.support.oauth import sign_in


@pytest.fixture
def acme(tenant, tenant_client):
    return tenant_client(tenant)


@pytest.mark.parametrize(
    "redirect_uri", ["http://x\\", 'https://app.example.com/cb"', "https://a\\b/", "http://x\x7f"]
)
def test_malformed_redirect_uri_gets_the_error_page(app, tenant, acme, redirect_uri):
    client = make_client(app, tenant)
    response = authorize(acme, client, redirect_uri=redirect_uri)
    assert response.status_code == 400
    assert "text/html" in response.content_type
    assert "Location" not in response.headers


PARAMETERS = [
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "max_age",
    "organization",
    "id_token_hint",
    "acr_values",
    "client_id",
]


@pytest.mark.parametrize("signed_in", [False, True])
def test_any_malformed_parameter_is_never_a_server_error(app, tenant, acme, user, signed_in):
    client = make_client(app, tenant)
    if signed_in:
        sign_in(app, acme, tenant, user)
    _, challenge = pkce_pair()

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(name=st.sampled_from(PARAMETERS), value=st.text(min_size=1, max_size=40))
    def check(name, value):
        response = authorize(acme, client, verifier_challenge=challenge, **{name: value})
        assert response.status_code < 500, (name, value, response.get_data(as_text=True)[:300])

    check()


LOOPBACK = "http://127.0.0.1:8400/callback"


@pytest.mark.parametrize(
    ("auth_method", "port_may_vary"),
    [("none", True), ("client_secret_basic", False), ("client_secret_post", False)],
)
def test_only_public_clients_may_vary_the_loopback_port(
    app, tenant, acme, user, auth_method, port_may_vary
):
    client = make_client(
        app, tenant, redirect_uris=[LOOPBACK], token_endpoint_auth_method=auth_method
    )
    sign_in(app, acme, tenant, user)
    _, challenge = pkce_pair()
    exact = authorize(acme, client, verifier_challenge=challenge, redirect_uri=LOOPBACK)
    assert exact.status_code == 302 and "code" in query_of(exact)
    other_port = "http://127.0.0.1:51234/callback"
    response = authorize(acme, client, verifier_challenge=challenge, redirect_uri=other_port)
    if port_may_vary:
        assert response.status_code == 302
        assert response.headers["Location"].startswith(other_port)
    else:
        assert response.status_code == 400
        assert "Location" not in response.headers
