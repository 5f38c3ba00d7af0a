"""Dynamic client registration (RFC 7591/7592) from Node's openid-client v6: it registers
a client with ``dynamicClientRegistration()``, completes the code flow with it (consent
shown: registered clients are third-party), refreshes, reads and deletes its registration."""

from __future__ import annotations

import os

import pytest

from tests.interop.test_openid_client import SCRIPT
from tests.interop.test_openid_client import _node
from tests.interop.test_openid_client import _run
from tests.interop.test_openid_client import path_server  # noqa: F401 - a fixture
from tests.support.registration import mint_initial_token
from tests.support.registration import set_mode

DCR_SCRIPT = SCRIPT.with_name("oidc_dcr.mjs")


@pytest.mark.parametrize("mode", ["open", "initial_access_token"])
def test_openid_client_registers_then_signs_in(app, tenant, make_user, path_server, mode):  # noqa: F811
    node = _node()
    password = "lantern meadow quartz violin"
    user = make_user(tenant, "dcr@example.com", password, name="Dora Dynamic")
    set_mode(app, tenant, mode)
    issuer = f"http://localhost:{path_server.port}/t/{tenant.slug}"
    env = {
        **os.environ,
        "ISSUER": issuer,
        "REDIRECT_URI": "http://127.0.0.1:9/callback",
        "EMAIL": user.email,
        "PASSWORD": password,
    }
    if mode == "initial_access_token":
        env["INITIAL_ACCESS_TOKEN"] = mint_initial_token(app, tenant, max_uses=1)
    report = _run(node, DCR_SCRIPT, env)
    assert report["registration_endpoint"] == f"{issuer}/oauth2/register"
    assert report["client_id"].startswith("cli_") and report["has_secret"] is True
    assert report["token_endpoint_auth_method"] == "client_secret_post"
    assert report["sub"] == user.id and report["nonce_ok"] is True
    assert report["email"] == user.email and report["refreshed"] is True
    assert report["read_status"] == 200 and report["read_client_id"] == report["client_id"]
    assert report["delete_status"] == 204 and report["after_delete_status"] == 401
