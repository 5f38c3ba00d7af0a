"""Helpers for driving the OpenID Connect provider over HTTP like a relying party."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from html import unescape
from urllib.parse import parse_qs
from urllib.parse import urlsplit

import jwt

from app.extensions import db

REDIRECT_URI = "https://app.example.com/callback"


@dataclass
class RegisteredClient:
    client_id: str
    secret: str | None
    redirect_uri: str


def make_client(app, tenant, **data) -> RegisteredClient:
    """Register a client through the service (the admin API is another area)."""
    from app.services import clients

    values = {
        "client_name": "Test App",
        "redirect_uris": [REDIRECT_URI],
        "post_logout_redirect_uris": ["https://app.example.com/bye"],
        "grant_types": ["authorization_code", "refresh_token"],
        "scope": "openid profile email offline_access",
        "first_party": True,
        **data,
    }
    with app.app_context():
        client, secret = clients.create_client(tenant, values)
        db.session.commit()
        uris = values["redirect_uris"]
        return RegisteredClient(client.id, secret, uris[0] if uris else "")


def sign_in(app, tenant_client, tenant, user, *, amr=("pwd",)) -> str:
    """Start a server-side session for ``user`` and put its cookie on the client; returns
    the session id."""
    from app.services.sessions import start_session
    from app.web.session import cookie_name

    with app.test_request_context():
        session, token = start_session(tenant, user, amr=list(amr))
        db.session.commit()
        name = cookie_name(tenant.id)
    tenant_client.client.set_cookie(name, token, domain=tenant_client.host.split(":")[0])
    return session.id


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def basic_auth(client_id: str, secret: str) -> dict:
    raw = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def query_of(response) -> dict:
    """The query parameters of a redirect's Location (single values)."""
    location = response.headers["Location"]
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def authorize(tc, client: RegisteredClient, *, verifier_challenge=None, **params):
    """GET /oauth2/authorize with sensible defaults; returns the response.

    A PKCE challenge is always sent (new tenants require it from every client); pass the
    challenge whose verifier you keep, or ``verifier_challenge=False`` to send none (or
    your own ``code_challenge``/``code_challenge_method`` parameters)."""
    if verifier_challenge is None and "code_challenge" not in params:
        verifier_challenge = pkce_pair()[1]
    query = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uri,
        "scope": "openid profile email",
        "state": "st-" + secrets.token_hex(4),
        "nonce": "n-" + secrets.token_hex(4),
        **params,
    }
    if verifier_challenge:
        query.update(code_challenge=verifier_challenge, code_challenge_method="S256")
    query = {k: v for k, v in query.items() if v is not None}
    return tc.get("/oauth2/authorize", query_string=query)


def get_code(tc, client: RegisteredClient, **params) -> tuple[str, str, dict]:
    """Run an authorization request that must succeed; returns (code, verifier, query)."""
    verifier, challenge = pkce_pair()
    response = authorize(tc, client, verifier_challenge=challenge, **params)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    query = query_of(response)
    assert "code" in query, query
    return query["code"], verifier, query


def exchange(tc, client: RegisteredClient, code: str, verifier: str | None, *, post=False, **extra):
    """POST the code to /oauth2/token with client_secret_basic (or _post, or public)."""
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": client.redirect_uri}
    if verifier:
        data["code_verifier"] = verifier
    data.update(extra)
    headers = {}
    if client.secret and not post:
        headers = basic_auth(client.client_id, client.secret)
    else:
        data["client_id"] = client.client_id
        if client.secret:
            data["client_secret"] = client.secret
    return tc.post("/oauth2/token", data=data, headers=headers)


def login_tokens(tc, client: RegisteredClient, **params) -> dict:
    """Code flow end to end (the user must already be signed in); returns the token JSON."""
    code, verifier, _query = get_code(tc, client, **params)
    response = exchange(tc, client, code, verifier)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def refresh(tc, client: RegisteredClient, refresh_token: str, **extra):
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, **extra}
    headers = basic_auth(client.client_id, client.secret) if client.secret else {}
    if not client.secret:
        data["client_id"] = client.client_id
    return tc.post("/oauth2/token", data=data, headers=headers)


def introspect(tc, client: RegisteredClient, token: str) -> dict:
    response = tc.post(
        "/oauth2/introspect",
        data={"token": token},
        headers=basic_auth(client.client_id, client.secret),
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def claims_of(token: str) -> dict:
    """The payload of a JWT without verifying it (tests check what was issued)."""
    return jwt.decode(token, options={"verify_signature": False})


def header_of(token: str) -> dict:
    return jwt.get_unverified_header(token)


def push(
    tc, client: RegisteredClient, *, verifier_challenge=None, auth="basic", headers=None, **params
):
    """POST /oauth2/par (RFC 9126) with the parameters ``authorize`` would send; returns the
    response. ``auth``: ``basic``, ``post`` (secret in the body) or ``none`` (public);
    ``headers``: more request headers (e.g. a DPoP proof)."""
    if verifier_challenge is None and "code_challenge" not in params:
        verifier_challenge = pkce_pair()[1]
    data = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uri,
        "scope": "openid profile email",
        "state": "st-" + secrets.token_hex(4),
        "nonce": "n-" + secrets.token_hex(4),
        **params,
    }
    if verifier_challenge:
        data.update(code_challenge=verifier_challenge, code_challenge_method="S256")
    data = {k: v for k, v in data.items() if v is not None}
    headers = dict(headers or {})
    if auth == "basic":
        headers.update(basic_auth(client.client_id, client.secret))
    elif auth == "post":
        data["client_secret"] = client.secret
    return tc.post("/oauth2/par", data=data, headers=headers)


def form_post_of(response) -> tuple[str, dict]:
    """The action and the fields of a ``response_mode=form_post`` page."""
    html = response.get_data(as_text=True)
    form = re.search(r'<form id="form-post" method="post" action="([^"]*)"', html)
    assert form, html[:500]
    fields = {
        unescape(name): unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="([^"]*)" value="([^"]*)">', html)
    }
    return unescape(form.group(1)), fields
