"""Tenants, users and clients on a running cluster, and the browser's sign-in over HTTP
through its load balancer (tests/cluster/)."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from dataclasses import field
from urllib.parse import parse_qs
from urllib.parse import urlencode
from urllib.parse import urlsplit

import requests

from app.extensions import db
from tests.support.http import csrf_from

PASSWORD = "cluster horse battery staple"
REDIRECT_URI = "http://127.0.0.1:9/callback"


@dataclass
class World:
    slug: str
    tenant_id: str
    email: str
    user_id: str
    client_id: str
    client_secret: str
    password: str = PASSWORD

    @property
    def basic(self) -> tuple[str, str]:
        return (self.client_id, self.client_secret)


def make_world(app, slug: str, **settings) -> World:
    """A tenant ``slug`` with one user and one confidential first-party client."""
    from app.services import clients
    from app.services import tenants
    from app.services import users
    from app.services.settings import update_settings

    with app.app_context():
        tenant = tenants.create_tenant(slug.title(), slug)
        if settings:
            update_settings(tenant, settings)
        user = users.create_user(
            tenant, f"ada@{slug}.example", name="Ada", password=PASSWORD, email_verified=True
        )
        client, secret = clients.create_client(
            tenant,
            {
                "client_name": "Cluster App",
                "redirect_uris": [REDIRECT_URI],
                "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
                "scope": "openid profile email offline_access",
                "first_party": True,
            },
        )
        db.session.commit()
        return World(slug, tenant.id, user.email, user.id, client.id, secret)


@dataclass
class Browser:
    """A browser against the cluster: one cookie jar, every answer's instance recorded."""

    cluster: object
    slug: str
    session: requests.Session = field(default_factory=requests.Session)
    served_by: list[str] = field(default_factory=list)

    def request(self, method: str, path: str, **kwargs):
        response = self.cluster.request(method, path, self.slug, self.session, **kwargs)
        self.served_by.append(response.headers.get("X-Served-By", "?"))
        return response

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def path_of(location: str) -> str:
    parts = urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def authorize_url(world: World, challenge: str, **extra) -> str:
    query = {
        "response_type": "code",
        "client_id": world.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid profile email offline_access",
        "state": "st",
        "nonce": "nn",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }
    return "/oauth2/authorize?" + urlencode(query)


def submit_login(browser: Browser, world: World, login_page) -> requests.Response:
    """Post the hosted sign-in form found on ``login_page`` (a 200 of /login)."""
    html = login_page.text
    next_url = parse_qs(urlsplit(login_page.url).query).get("next", [""])[0]
    return browser.post(
        "/login",
        data={
            "email": world.email,
            "password": world.password,
            "csrf_token": csrf_from(html),
            "next": next_url,
        },
    )


def follow_to_code(browser: Browser, response, world: World, on_page=None) -> str:
    """Follow redirects (and answer pages with ``on_page``) until the client's redirect URI."""
    for _ in range(12):
        if response.status_code in (302, 303):
            location = response.headers["Location"]
            if location.startswith(REDIRECT_URI):
                params = parse_qs(urlsplit(location).query)
                assert "code" in params, location
                return params["code"][0]
            response = browser.get(path_of(location))
            continue
        assert response.status_code == 200, (response.status_code, response.text[:500])
        if on_page is None:
            raise AssertionError(f"stuck on a page: {response.url}")
        response = on_page(browser, response)
    raise AssertionError("too many redirects")


def sign_in(cluster, world: World, on_page=None) -> tuple[dict, Browser]:
    """The authorization code flow with PKCE through the load balancer; the token JSON."""
    browser = Browser(cluster, world.slug)
    verifier, challenge = pkce()

    def answer(browser, page):
        if urlsplit(page.url).path.endswith("/login") and 'name="password"' in page.text:
            return submit_login(browser, world, page)
        if on_page is None:
            raise AssertionError(f"unexpected page {page.url}")
        return on_page(browser, page)

    code = follow_to_code(browser, browser.get(authorize_url(world, challenge)), world, answer)
    tokens = browser.post(
        "/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        auth=world.basic,
    )
    assert tokens.status_code == 200, tokens.text
    return tokens.json(), browser
