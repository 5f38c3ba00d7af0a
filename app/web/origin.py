"""The origin guard: a browser's unsafe request must come from the origin it is sent to.

CSRF tokens (Flask-WTF) protect every form; this is a second, independent line (OWASP
"verifying origin with standard headers"). On POST, PUT, PATCH and DELETE, the
``Origin`` header, or without it the ``Referer``, must name this request's origin or the
tenant's canonical one; a foreign origin, or ``Origin: null``, answers 403. A request
with neither header (a script, an old browser) is left to the CSRF token.

Our pages use ``Referrer-Policy: same-origin``: under ``no-referrer`` browsers send
``Origin: null`` on every form post (Fetch, "append a request Origin header"), which
would make the check useless; ``same-origin`` still sends no Referer to other sites.

Exempt: the admin REST API and SCIM (Bearer tokens, no cookies), ``/oauth2/*`` (clients
authenticate themselves; relying parties may POST authorization and logout requests
from their own origin) and the SAML ACS (an identity provider posts the signed
response from its own origin). This is why Flask-WTF's ``WTF_CSRF_SSL_STRICT`` Referer check is
off: it requires a Referer on every HTTPS form, which privacy settings and extensions
strip, while Origin is sent on every POST by current browsers.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask
from flask import current_app
from flask import g
from flask import request
from werkzeug.exceptions import Forbidden

log = logging.getLogger("gatehouse.security")

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# /sso/saml/: the IdP's cross-site POST to the ACS (the signed response and its
# InResponseTo protect it); /scim/: Bearer-authenticated JSON, no cookies.
EXEMPT_PREFIXES = ("/v2/", "/oauth2/", "/sso/saml/", "/scim/")


class CrossOriginRequest(Forbidden):
    description = (
        "This form was sent from another site, so it was refused. "
        "Go back to the page, reload it and try again."
    )


def _origin_of(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def allowed_origins() -> set[str]:
    """This request's own origin (either scheme: a proxy may terminate TLS) and the
    tenant's canonical origin."""
    from app.tenancy import tenant_origin

    host = request.host.lower()
    schemes = {current_app.config["URL_SCHEME"], request.scheme}
    origins = {f"{scheme}://{host}" for scheme in schemes}
    tenant = g.get("tenant")
    if tenant is not None:
        canonical = _origin_of(tenant_origin(tenant))
        if canonical:
            origins.add(canonical)
    return origins


def check_origin() -> None:
    """before_request: refuse a cross-origin unsafe request from a browser."""
    if request.method not in UNSAFE_METHODS or request.path.startswith(EXEMPT_PREFIXES):
        return
    origin = request.headers.get("Origin")
    if origin is None:
        referer = request.headers.get("Referer")
        if not referer:
            return
        origin = _origin_of(referer) or "null"
    if origin.strip().lower() in allowed_origins():
        return
    log.warning("cross-origin %s %s from %s refused", request.method, request.path, origin[:200])
    raise CrossOriginRequest()


def init_app(app: Flask) -> None:
    app.before_request(check_origin)
