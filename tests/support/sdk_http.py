"""Getting real tokens from a live Gatehouse over HTTP, as an SDK user's backend would.

Python does not resolve ``*.localhost``, so every request goes to 127.0.0.1 with the
tenant's Host header; redirects are followed by hand for the same reason.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs
from urllib.parse import urlencode
from urllib.parse import urlsplit

import requests

from app.extensions import db
from tests.conftest import DEFAULT_PASSWORD
from tests.support.http import csrf_from

_NEXT_RE = re.compile(r'name="next"[^>]*value="([^"]*)"|value="([^"]*)"[^>]*name="next"')


@dataclass(frozen=True)
class RegisteredClient:
    id: str
    secret: str | None


class GatehouseHTTP:
    """Clients registered through app.services.clients; tokens fetched over HTTP."""

    def __init__(self, live_server, tenants):
        self.live = live_server
        self.app = live_server.app
        self.port = live_server.port

    def issuer(self, tenant) -> str:
        return self.live.origin(tenant.slug)

    def _register(self, tenant, data) -> RegisteredClient:
        from app.services import clients

        with self.app.app_context():
            client, secret = clients.create_client(db.session.merge(tenant), data)
            db.session.commit()
            return RegisteredClient(client.id, secret)

    def service_client(self, tenant, roles=(), name="Reports API", grants=()) -> RegisteredClient:
        """A confidential client_credentials client of ``tenant`` (``grants``: its
        resource_grants, ``[{"resource", "permissions"}]``)."""
        return self._register(
            tenant,
            {
                "client_name": name,
                "grant_types": ["client_credentials"],
                "token_endpoint_auth_method": "client_secret_basic",
                "roles": list(roles),
                "resource_grants": list(grants),
            },
        )

    def define_api(self, tenant, identifier: str, permissions=()) -> str:
        """An API resource of ``tenant``; returns its id."""
        from app.services import resources

        with self.app.app_context():
            resource = resources.create_resource(
                db.session.merge(tenant),
                {
                    "identifier": identifier,
                    "name": identifier,
                    "permissions": [{"name": p} for p in permissions],
                },
            )
            db.session.commit()
            return resource.id

    def public_client(self, tenant, *redirect_uris: str) -> RegisteredClient:
        """A first-party public (PKCE) client of ``tenant``."""
        return self._register(
            tenant,
            {
                "client_name": "Single-page app",
                "redirect_uris": list(redirect_uris),
                "post_logout_redirect_uris": list(redirect_uris),
                "grant_types": ["authorization_code", "refresh_token"],
                "token_endpoint_auth_method": "none",
                "first_party": True,
            },
        )

    def _url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def host(self, tenant) -> str:
        return urlsplit(self.issuer(tenant)).netloc

    def post(self, tenant, path, **kwargs):
        headers = {"Host": self.host(tenant), **kwargs.pop("headers", {})}
        return requests.post(self._url(path), headers=headers, timeout=10, **kwargs)

    def client_credentials(self, tenant, client: RegisteredClient, **params) -> str:
        """An access token from client_credentials (``resource=``, ``scope=`` optional)."""
        response = self.post(
            tenant,
            "/oauth2/token",
            data={"grant_type": "client_credentials", **params},
            auth=(client.id, client.secret),
        )
        assert response.status_code == 200, response.text
        return response.json()["access_token"]

    def sign_in(self, tenant, client: RegisteredClient, email, password=DEFAULT_PASSWORD) -> dict:
        """The authorization code flow with PKCE through the hosted /login; the token response."""
        verifier = secrets.token_urlsafe(48)
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        redirect_uri = "http://127.0.0.1:9/callback"
        query = urlencode(
            {
                "response_type": "code",
                "client_id": client.id,
                "redirect_uri": redirect_uri,
                "scope": "openid profile email",
                "state": "s1",
                "nonce": "n1",
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        session = requests.Session()
        host = self.host(tenant)
        response = session.get(
            self._url(f"/oauth2/authorize?{query}"),
            headers={"Host": host},
            allow_redirects=False,
            timeout=10,
        )
        for _ in range(6):
            if response.status_code not in (302, 303):
                break
            location = response.headers["Location"]
            if location.startswith(redirect_uri):
                params = parse_qs(urlsplit(location).query)
                tokens = self.post(
                    tenant,
                    "/oauth2/token",
                    data={
                        "grant_type": "authorization_code",
                        "code": params["code"][0],
                        "redirect_uri": redirect_uri,
                        "client_id": client.id,
                        "code_verifier": verifier,
                    },
                )
                assert tokens.status_code == 200, tokens.text
                return tokens.json()
            parts = urlsplit(location)
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            response = session.get(
                self._url(path), headers={"Host": host}, allow_redirects=False, timeout=10
            )
            if parts.path.endswith("/login") and response.status_code == 200:
                html = response.text
                match = _NEXT_RE.search(html)
                response = session.post(
                    self._url("/login"),
                    headers={"Host": host},
                    data={
                        "email": email,
                        "password": password,
                        "csrf_token": csrf_from(html),
                        "next": (match.group(1) or match.group(2)).replace("&amp;", "&")
                        if match
                        else "",
                    },
                    allow_redirects=False,
                    timeout=10,
                )
        raise AssertionError(f"sign-in did not reach the redirect URI: {response.status_code}")
