"""RFC 8628 with a device that is not ours: Node's openid-client (v6) starts a device
authorization and polls, while the test, as the person, signs in at the live server's
/device page over HTTP and approves the code; the RP validates the ID token."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess

import requests

from tests.interop.test_openid_client import ROOT
from tests.interop.test_openid_client import _node
from tests.interop.test_openid_client import path_server  # noqa: F401 - fixture
from tests.support.http import csrf_from
from tests.support.oauth import make_client

SCRIPT = ROOT / "tests" / "interop" / "oidc_device.mjs"
DEVICE = "urn:ietf:params:oauth:grant-type:device_code"


def _hidden(page: str) -> dict:
    """The hidden inputs of a page's forms (csrf_token, next), as a browser submits them."""
    found = {}
    for tag in re.findall(r"<input[^>]*type=\"hidden\"[^>]*>", page):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name:
            found[name.group(1)] = html.unescape(value.group(1)) if value else ""
    return found


def _approve(origin: str, user_code: str, email: str, password: str) -> None:
    """A person at the verification URI: sign in, review, approve (real HTTP, cookies)."""
    person = requests.Session()
    login = person.get(f"{origin}/device", params={"user_code": user_code}, timeout=10)
    assert "/login" in login.url, login.url  # sent through sign-in, code kept in `next`
    signed_in = person.post(
        login.url,
        data={**_hidden(login.text), "email": email, "password": password},
        timeout=10,
    )
    assert signed_in.ok and f"/device?user_code={user_code}" in signed_in.url, signed_in.url
    assert user_code in signed_in.text and "openid-client TV" in signed_in.text
    approved = person.post(
        f"{origin}/device",
        data={
            "csrf_token": csrf_from(signed_in.text),
            "user_code": user_code,
            "decision": "approve",
        },
        timeout=10,
    )
    assert approved.ok and "Device connected" in approved.text, approved.text[:500]


def test_openid_client_completes_the_device_flow(app, tenant, make_user, path_server):  # noqa: F811
    node = _node()
    password = "lantern meadow quartz violin"
    user = make_user(tenant, "device@example.com", password, name="Dee Vice")
    tv = make_client(
        app,
        tenant,
        client_name="openid-client TV",
        redirect_uris=[],
        grant_types=[DEVICE, "refresh_token"],
        token_endpoint_auth_method="none",
        first_party=False,
    )
    issuer = f"http://localhost:{path_server.port}/t/{tenant.slug}"
    env = {**os.environ, "ISSUER": issuer, "CLIENT_ID": tv.client_id}
    process = subprocess.Popen(
        [node, "--dns-result-order=ipv4first", str(SCRIPT)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = process.stdout.readline()
        assert first, process.stderr.read()[-3000:]
        started = json.loads(first)
        assert started["verification_uri"] == f"{issuer}/device"
        assert started["verification_uri_complete"].endswith(f"?user_code={started['user_code']}")
        assert started["expires_in"] == 600 and started["interval"] == 5
        _approve(issuer, started["user_code"], user.email, password)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err[-3000:] + out[-1000:]
    report = json.loads(out.strip().splitlines()[-1])
    assert report["iss"] == issuer and report["aud"] == tv.client_id
    assert report["sub"] == user.id and report["tenant_id"] == tenant.id
    assert report["sid"].startswith("ses_") and report["email"] == user.email
    assert report["has_refresh"] is True and report["token_type"].lower() == "bearer"
