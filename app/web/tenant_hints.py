"""The ``gh_tenants`` cookie: which tenants this browser has signed in to.

Session cookies are host-only per tenant, so tenant A's page cannot read tenant B's
session cookie. Sign-in therefore also records ``(tenant id, session id)`` in this
cookie, which every tenant host of the instance receives:

* subdomain routing: ``Domain=<BASE_DOMAIN host>`` (e.g. ``auth.example``), sent to
  every ``<slug>.auth.example``;
* path routing: host-only on the base host with ``Path=/``, shared by every ``/t/<slug>``;
* a custom domain: host-only there (another site; browsers cannot share cookies with it);
* a dotless BASE_DOMAIN such as ``localhost:5000`` (local development): host-only, since
  browsers refuse ``Domain=localhost``; use TENANT_ROUTING=path, or a dotted development
  domain, to see other workspaces listed locally.

It holds no secret (a session id is not a credential: the cookie token is), but it is
signed with SECRET_KEY (itsdangerous) so that nobody can plant entries, and HttpOnly.
Liveness is then checked server-side (``services.switching.other_tenants``): an ended
or expired session is never listed. Sign-out removes the tenant's entry.
"""

from __future__ import annotations

import ipaddress

from flask import Flask
from flask import current_app
from flask import g
from flask import request
from itsdangerous import BadSignature
from itsdangerous import URLSafeSerializer

from app.security.crypto import signing_keys
from app.tenancy import ENVIRON_SLUG
from app.tenancy import classify_host
from app.tenancy import reading_tenant

COOKIE = "gh_tenants"
SALT = "gatehouse.tenant-hints"
MAX_ENTRIES = 20
MAX_AGE = 90 * 24 * 3600


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(signing_keys(), salt=SALT)


def read() -> list[tuple[str, str]]:
    """The (tenant id, session id) pairs in the request's cookie; [] when absent or forged."""
    raw = request.cookies.get(COOKIE)
    if not raw or len(raw) > 4000:
        return []
    try:
        value = _serializer().loads(raw)
    except BadSignature:
        return []
    if not isinstance(value, list):
        return []
    return [
        (item[0], item[1])
        for item in value
        if isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item)
    ][:MAX_ENTRIES]


def cookie_domain() -> str | None:
    """Domain attribute that spans the instance's tenant subdomains, or None (host-only)."""
    if request.environ.get(ENVIRON_SLUG):
        return None  # /t/<slug>: every tenant shares this host already
    base = current_app.config["BASE_DOMAIN"]
    if classify_host(request.host, base).kind == "custom":
        return None
    host = base.split(":", 1)[0]
    if "." not in host or _is_ip(host):
        # Browsers drop a cookie whose Domain is a dotless name such as ``localhost``
        # (Chromium does, checked in tests/browser) or an IP address, so stay host-only.
        return None
    return host


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def update_cookie(response):
    """after_request: add the tenant on sign-in, drop it on sign-out."""
    tenant = reading_tenant()  # its id only: no tenant row made for it
    signed_in = g.get("set_session_cookie") and g.get("browser_session") is not None
    if tenant is None or not (signed_in or g.get("clear_session_cookie")):
        return response
    entries = [e for e in read() if e[0] != tenant.id]
    if signed_in:
        entries.insert(0, (tenant.id, g.browser_session.id))
    secure = current_app.config["URL_SCHEME"] == "https"
    domain = cookie_domain()
    if entries:
        response.set_cookie(
            COOKIE,
            _serializer().dumps([list(e) for e in entries[:MAX_ENTRIES]]),
            max_age=MAX_AGE,
            path="/",
            domain=domain,
            secure=secure,
            httponly=True,
            samesite="Lax",
        )
    else:
        response.delete_cookie(
            COOKIE, path="/", domain=domain, secure=secure, httponly=True, samesite="Lax"
        )
    return response


def init_app(app: Flask) -> None:
    app.after_request(update_cookie)
