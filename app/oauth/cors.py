"""CORS for browser apps on other origins (single-page apps using the browser SDK).

- Discovery, JWKS and the SDK files are public documents: ``Access-Control-Allow-Origin: *``.
- The token, PAR, userinfo and revocation endpoints answer cross-origin requests only from
  the origins of this tenant's *public* clients' registered redirect URIs (a browser
  app is a public client, RFC 8252/RFC 9700 §2.1). The origin is echoed, never ``*``,
  with ``Vary: Origin``; credentials (cookies) are never allowed, the SDK sends none.
- Everything else (the hosted pages, logout, authorize, the admin API) gets no CORS
  headers: those are top-level navigations or same-origin requests.

Preflights (``OPTIONS``) are answered by Flask's automatic OPTIONS; this adds the
headers to them and to every response, error responses included, so an SPA can read an
RFC 6749 error body.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask
from flask import request

from app.models import Client
from app.tenancy import config_of
from app.tenancy import reading_tenant
from app.tenancy import scope

PUBLIC_PATHS = ("/.well-known/openid-configuration", "/.well-known/jwks.json", "/static/sdk/")
CLIENT_PATHS = frozenset({"/oauth2/token", "/oauth2/par", "/oauth2/userinfo", "/oauth2/revoke"})
ALLOW_METHODS = "GET, POST, OPTIONS"
ALLOW_HEADERS = "Authorization, Content-Type, DPoP"  # DPoP: RFC 9449 proofs
EXPOSE_HEADERS = "WWW-Authenticate, DPoP-Nonce"
MAX_AGE = "600"


def origin_of(uri: str) -> str | None:
    """The ASCII serialization of a URL's origin (RFC 6454 §6.2), or None."""
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return None
    default = {"http": 80, "https": 443}[parts.scheme]
    suffix = f":{port}" if port and port != default else ""
    return f"{parts.scheme}://{parts.hostname}{suffix}"


def allowed_origins(tenant) -> frozenset[str]:
    """Origins of the redirect URIs of the tenant's enabled public clients (kept on the
    tenant snapshot when there is one)."""
    snapshot = config_of(tenant)
    if snapshot is not None:
        return snapshot.derived("cors_origins", lambda: _read_origins(snapshot))
    return _read_origins(tenant)


def _read_origins(tenant) -> frozenset[str]:
    public = scope(tenant).all(
        Client, Client.token_endpoint_auth_method == "none", Client.disabled.is_(False)
    )
    origins = set()
    for client in public:
        for uri in [*client.redirect_uris, *client.post_logout_redirect_uris]:
            origin = origin_of(uri)
            if origin:
                origins.add(origin)
    return frozenset(origins)


def _add_cors_headers(response):
    return add_headers(response, request, reading_tenant())  # no tenant row made for it


def add_headers(response, request, tenant):
    """The CORS headers for ``request`` (a Flask or Werkzeug request) of ``tenant``."""
    vary, headers = headers_for(request, tenant)
    if vary:
        response.vary.add("Origin")
    for name, value in headers:
        response.headers[name] = value
    return response


_NONE: tuple = (False, ())


def headers_for(request, tenant) -> tuple[bool, tuple | list]:
    """What :func:`add_headers` adds: (whether the answer varies by ``Origin``, the
    headers to set). The lean path (app/oauth/lean.py) appends them to its WSGI headers."""
    path = request.path
    if path.startswith(PUBLIC_PATHS):
        if request.method == "OPTIONS":
            return False, (
                ("Access-Control-Allow-Origin", "*"),
                ("Access-Control-Allow-Methods", "GET, OPTIONS"),
                ("Access-Control-Max-Age", MAX_AGE),
            )
        return False, (("Access-Control-Allow-Origin", "*"),)
    if path not in CLIENT_PATHS:
        return _NONE
    origin = request.environ.get("HTTP_ORIGIN")
    if not origin or tenant is None or origin not in allowed_origins(tenant):
        return True, ()
    headers = [
        ("Access-Control-Allow-Origin", origin),
        ("Access-Control-Expose-Headers", EXPOSE_HEADERS),
    ]
    if request.method == "OPTIONS":
        headers += [
            ("Access-Control-Allow-Methods", ALLOW_METHODS),
            ("Access-Control-Allow-Headers", ALLOW_HEADERS),
            ("Access-Control-Max-Age", MAX_AGE),
        ]
    return True, headers


def init_app(app: Flask) -> None:
    app.after_request(_add_cors_headers)
