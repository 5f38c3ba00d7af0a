"""Gatehouse as its own upstream identity provider, for the upstream sign-in tests.

On a live server with TENANT_ROUTING="path", tenant ``upstream`` (issuer
http://localhost:<port>/t/upstream) is an OpenID Connect provider of tenant
``acme-corp``; a ``requests.Session`` plays the browser.
"""

from __future__ import annotations

import html
import json
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from urllib.parse import urljoin

import requests

from app.extensions import db
from tests.conftest import DEFAULT_PASSWORD
from tests.support.http import csrf_from

_HIDDEN_RE = re.compile(r'<input[^>]*type="hidden"[^>]*>')
_ATTR_RE = re.compile(r'(name|value)="([^"]*)"')


@dataclass
class Upstream:
    server: object  # tests.support.live.LiveServer
    acme: object
    idp: object
    provider_id: str

    @property
    def base(self) -> str:
        return f"http://localhost:{self.server.port}"

    def acme_url(self, path: str) -> str:
        return f"{self.base}/t/acme-corp{path}"

    def idp_url(self, path: str) -> str:
        return f"{self.base}/t/upstream{path}"

    @property
    def discovery_url(self) -> str:
        return self.idp_url("/.well-known/openid-configuration")

    def callback_prefix(self, provider_id: str | None = None) -> str:
        return self.acme_url(f"/login/providers/{provider_id or self.provider_id}/callback")


def hidden_fields(text: str) -> dict:
    fields = {}
    for tag in _HIDDEN_RE.findall(text):
        attrs = dict(_ATTR_RE.findall(tag))
        if "name" in attrs:
            fields[attrs["name"]] = html.unescape(attrs.get("value", ""))
    return fields


def follow(session: requests.Session, url: str, *, stop=lambda url: False, limit=10):
    """GET ``url`` and follow redirects by hand until ``stop(location)`` or a non-redirect.

    Returns (response, stopped_at): ``stopped_at`` is the Location that matched, or None.
    """
    for _ in range(limit):
        response = session.get(url, allow_redirects=False, timeout=30)
        if response.status_code not in (301, 302, 303, 307):
            return response, None
        url = urljoin(url, response.headers["Location"])
        if stop(url):
            return response, url
    raise AssertionError("too many redirects")


def submit_login(session, page, email, password=DEFAULT_PASSWORD):
    """Fill in the hosted sign-in form of ``page`` (a response) and post it."""
    text = page.text
    data = {**hidden_fields(text), "csrf_token": csrf_from(text), "email": email}
    data["password"] = password
    return session.post(page.url, data=data, allow_redirects=False, timeout=30)


def upstream_code(up: Upstream, session, email, *, provider_id=None, start=None):
    """Start at acme-corp, sign in at the upstream: the callback URL (with code and state)."""
    prefix = up.callback_prefix(provider_id)
    start_url = start or up.acme_url(f"/login/providers/{provider_id or up.provider_id}")
    page, at = follow(session, start_url, stop=lambda u: u.startswith(prefix))
    if at:  # already signed in at the upstream
        return at
    assert page.status_code == 200 and "/t/upstream/login" in page.url, page.text[:500]
    posted = submit_login(session, page, email)
    assert posted.status_code in (302, 303), posted.text[:800]
    _, at = follow(
        session, urljoin(page.url, posted.headers["Location"]), stop=lambda u: u.startswith(prefix)
    )
    assert at, "the upstream did not redirect back to acme-corp"
    return at


def sign_in_upstream(up: Upstream, session, email, **kwargs):
    """The whole flow; returns the callback's response (not followed)."""
    callback = upstream_code(up, session, email, **kwargs)
    return session.get(callback, allow_redirects=False, timeout=30)


def build(server, *, acme_settings=None, idp_settings=None) -> Upstream:
    """Tenants, a first-party confidential client at the upstream, the provider at acme."""
    from app.services import providers
    from app.services import tenants
    from app.services.settings import update_settings

    with server.app.app_context():
        acme = tenants.create_tenant("Acme Corp", "acme-corp")
        idp = tenants.create_tenant("Upstream", "upstream")
        if acme_settings:
            update_settings(acme, acme_settings)
        if idp_settings:
            update_settings(idp, idp_settings)
        base = f"http://localhost:{server.port}"
        provider = providers.create_provider(
            acme,
            {
                "kind": "oidc",
                "name": "Upstream",
                "discovery_url": f"{base}/t/upstream/.well-known/openid-configuration",
                "client_id": "pending",
                "client_secret": "pending",
            },
        )
        up = Upstream(server, acme, idp, provider.id)
        client_id, secret = register_client(idp, up.callback_prefix())
        providers.update_provider(acme, provider, {"client_id": client_id, "client_secret": secret})
        db.session.commit()
        up.client_id, up.client_secret = client_id, secret
    return up


def register_client(idp, redirect_uri: str) -> tuple[str, str]:
    from app.services import clients

    client, secret = clients.create_client(
        idp,
        {"client_name": "Acme Corp", "redirect_uris": [redirect_uri], "first_party": True},
    )
    return client.id, secret


class DoctoredDiscovery:
    """A tiny local web server serving one JSON discovery document."""

    def __init__(self, document_for):
        self.document_for = document_for
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                body = json.dumps(outer.document_for(outer.origin)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return self.origin + "/.well-known/openid-configuration"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def real_discovery(up: Upstream) -> dict:
    return requests.get(up.discovery_url, timeout=30).json()
