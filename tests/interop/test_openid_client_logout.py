"""Back-channel logout with a relying party that is not ours: Node's openid-client (v6)
signs in to a live server, ends the session with RP-initiated logout
(``buildEndSessionUrl``), and the RP's back-channel endpoint (a real HTTP server on
loopback) receives a Logout Token for that session, validated against the JWKS fetched
over HTTP from the discovered ``jwks_uri``."""

from __future__ import annotations

import json
import os
import urllib.request

from tests.interop.test_openid_client import SCRIPT
from tests.interop.test_openid_client import _node
from tests.interop.test_openid_client import _run
from tests.interop.test_openid_client import path_server  # noqa: F401 - a fixture
from tests.support.logout import LogoutReceiver
from tests.support.logout import verify_logout_token
from tests.support.oauth import make_client


def _get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - a loopback test server
        return json.loads(response.read())


def test_openid_client_rp_initiated_logout_sends_a_logout_token(
    app,
    tenant,
    make_user,
    path_server,  # noqa: F811
):
    node = _node()
    password = "lantern meadow quartz violin"
    user = make_user(tenant, "interop@example.com", password, name="Ina Interop")
    redirect_uri = "http://127.0.0.1:9/callback"
    post_logout = "http://127.0.0.1:9/signed-out"
    with LogoutReceiver() as receiver:
        rp = make_client(
            app,
            tenant,
            client_name="openid-client logout",
            redirect_uris=[redirect_uri],
            post_logout_redirect_uris=[post_logout],
            backchannel_logout_uri=receiver.url("/oidc/backchannel"),
        )
        issuer = f"http://localhost:{path_server.port}/t/{tenant.slug}"
        env = {
            **os.environ,
            "ISSUER": issuer,
            "CLIENT_ID": rp.client_id,
            "CLIENT_SECRET": rp.secret,
            "REDIRECT_URI": redirect_uri,
            "POST_LOGOUT_REDIRECT_URI": post_logout,
            "EMAIL": user.email,
            "PASSWORD": password,
        }
        report = _run(node, SCRIPT.with_name("oidc_logout.mjs"), env)
        (token,) = receiver.wait_for(1, "/oidc/backchannel")
    assert report["backchannel_logout_supported"] is True
    assert report["backchannel_logout_session_supported"] is True
    assert report["end_session_endpoint"] == issuer + "/oauth2/logout"
    assert report["logout_status"] == 302
    assert report["logout_location"] == f"{post_logout}?state={report['logout_state']}"
    assert report["after_logout"] == "login_required"
    metadata = _get_json(issuer + "/.well-known/openid-configuration")
    claims = verify_logout_token(
        token, jwks=_get_json(metadata["jwks_uri"]), issuer=issuer, client_id=rp.client_id
    )
    assert claims["sub"] == report["sub"] == user.id
    assert claims["sid"] == report["sid"]
