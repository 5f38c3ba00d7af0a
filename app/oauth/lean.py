"""The lean path: a WSGI layer that answers the protocol endpoints (token, introspection,
revocation, userinfo, discovery, JWKS) before Flask routes the request.

Those requests come from programs, not browsers, so none of the browser machinery runs:
no cookie session, CSRF, login manager, rate-limiter evaluation, template context or URL
routing. What stays: an app context (``g``, the database session), the tenant snapshot,
the audit actor, one JSON log line, a commit only when the request wrote something, and
the CORS headers. Anything unusual — an unknown or suspended tenant, another method (a
CORS preflight) — goes on to the Flask app, which answers it as before.
"""

from __future__ import annotations

import logging
import time

from flask import Flask
from flask import g
from flask.wrappers import Request
from werkzeug.exceptions import HTTPException

from app.db_session import read_only
from app.extensions import db
from app.oauth import cors
from app.oauth import protocol
from app.quotas import gate
from app.services import audit
from app.tenancy import ENVIRON_SLUG
from app.web import hooks
from app.web import unavailable

log = logging.getLogger("gatehouse.request")
unexpected = logging.getLogger("gatehouse.errors")

# path → (methods, handler, reads only: no transaction, app/db_session.read_only)
ROUTES = {
    "/oauth2/token": ({"POST"}, protocol.token, False),
    "/oauth2/introspect": ({"POST"}, protocol.introspection, True),
    "/oauth2/revoke": ({"POST"}, protocol.revocation, False),
    "/oauth2/userinfo": ({"GET", "POST"}, protocol.userinfo, True),
    "/.well-known/openid-configuration": ({"GET", "HEAD"}, protocol.discovery, True),
    "/.well-known/jwks.json": ({"GET", "HEAD"}, protocol.jwks, False),  # may make keys
}
_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
)


class ProtocolEndpoints:
    """WSGI middleware: the protocol endpoints here, everything else to ``wsgi_app``."""

    def __init__(self, app: Flask, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        route = ROUTES.get(environ.get("PATH_INFO", ""))
        if route is None or environ.get("REQUEST_METHOD") not in route[0]:
            return self.wsgi_app(environ, start_response)
        started = time.perf_counter()
        with self.app.app_context():
            request = Request(environ)
            try:
                snapshot = _tenant(request)
            except Exception:  # noqa: BLE001 - unknown, foreign or malformed host: Flask's answer
                snapshot = None
            if snapshot is None or not snapshot.is_active:
                db.session.remove()
                return self.wsgi_app(environ, start_response)  # Flask renders the error
            response = self._respond(request, snapshot, route[1], route[2])
            self._log(request, response, started)
            return response(environ, start_response)

    def _respond(self, request, snapshot, handler, reads_only):
        g.tenant = g.tenant_config = snapshot
        g.request_id = hooks.request_id_of(request)
        actor = hooks.set_anonymous_actor(request, g.request_id)
        try:
            if reads_only:
                read_only()
            response = gate.serve(snapshot, request, handler)  # quotas, usage, metrics
            if not reads_only and db.session.registry.has():  # autocommit: nothing to commit
                session = db.session.registry()
                if session.in_transaction() or session.new or session.dirty or session.deleted:
                    session.commit()
        except HTTPException as exc:
            db.session.rollback()
            response = protocol.http_error(exc)
        except Exception as exc:  # the Flask app's 500, in RFC 6749 form
            if unavailable.is_database_unavailable(exc):  # issue #16: 503 + Retry-After
                unavailable.note(exc)
                unavailable.discard_session()
                response = unavailable.oauth_response()
            else:
                db.session.rollback()
                unexpected.exception("unhandled error on %s", request.path)
                response = protocol.server_error()
        finally:
            audit.reset_actor(actor)
        headers = response.headers
        for name, value in _HEADERS:
            headers[name] = value
        headers["X-Request-Id"] = g.request_id
        cors.add_headers(response, request, snapshot)
        return response

    def _log(self, request, response, started) -> None:
        if log.isEnabledFor(logging.INFO):
            hooks.log_request(request, response.status_code, started)


def _tenant(request):
    from app.tenancy import snapshot_for

    return snapshot_for(request.host, request.environ.get(ENVIRON_SLUG))


def init_app(app: Flask) -> None:
    """Wrap the Flask app (inside the /t/<slug> prefix middleware, which runs first)."""
    app.wsgi_app = ProtocolEndpoints(app, app.wsgi_app)
