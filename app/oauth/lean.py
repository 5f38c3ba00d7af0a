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
from app.oauth.answers import JsonAnswer
from app.quotas import gate
from app.services import audit
from app.tenancy import ENVIRON_SLUG
from app.tenancy import snapshot_for
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
            response, request_id = self._respond(request, snapshot, route[1], route[2])
            status, headers, body = _wsgi(response, request, snapshot, request_id)
            if log.isEnabledFor(logging.INFO):
                hooks.log_request(request, response.status_code, started, request_id, snapshot.id)
        start_response(status, headers)
        return body

    def _respond(self, request, snapshot, handler, reads_only):
        g.tenant = g.tenant_config = snapshot
        g.request_id = request_id = hooks.request_id_of(request)
        actor = hooks.set_anonymous_actor(request, request_id)
        try:
            if reads_only:
                read_only()  # the request's session, if one is made, reads in autocommit
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
        return response, request_id


# The status codes whose Werkzeug answer is the response as it stands: a body with its
# Content-Length (no 1xx, 204 or 304 rules), no Location to make absolute.
_PLAIN_STATUS = frozenset({200, 400, 401, 403, 404, 405, 413, 429, 500, 503})


def _wsgi(response, request, snapshot, request_id: str):
    """The WSGI (status, headers, body) of ``response`` with the lean path's headers (the
    protocol headers, the request id, CORS). Appended as tuples to the WSGI header list,
    replacing any of the same name, rather than set one by one on the response's
    ``Headers`` (each set validates and scans: ~5% of a userinfo request); Werkzeug's
    own serialisation for anything but a plain buffered body."""
    vary, cors_headers = cors.headers_for(request, snapshot)
    extra = [*_HEADERS, ("X-Request-Id", request_id), *cors_headers]
    if isinstance(response, JsonAnswer):  # none of its headers is one of ours
        body = response.body
        headers = [*response.headers, *extra, ("Content-Length", str(len(body)))]
        if vary:
            headers.append(("Vary", "Origin"))
        return response.status, headers, [] if request.method == "HEAD" else [body]
    own = response.headers
    if vary:
        if "Vary" in own:
            response.vary.add("Origin")  # merged into the handler's Vary
        else:
            extra.append(("Vary", "Origin"))
    if (
        response.status_code not in _PLAIN_STATUS
        or not response.is_sequence  # an iterable the handler made: Werkzeug streams it
        or "Location" in own
    ):
        for name, value in extra:
            own[name] = value
        body, status, headers = response.get_wsgi_response(request.environ)
        return status, headers, body
    names = {name.lower() for name, _ in extra}
    headers = [item for item in own.to_wsgi_list() if item[0].lower() not in names]
    headers += extra
    # A buffered body (every handler's JSON): handed over as a list of one bytes object,
    # which granian writes in one call; an iterator it would pull chunk by chunk through
    # Python (~4% of a client_credentials grant). Nothing is left to stream, so the
    # response is closed here rather than by the server.
    data = response.get_data()
    response.close()
    if "Content-Length" not in own:
        headers.append(("Content-Length", str(len(data))))
    return response.status, headers, [] if request.method == "HEAD" else [data]


def _tenant(request):
    return snapshot_for(request.host, request.environ.get(ENVIRON_SLUG))


def init_app(app: Flask) -> None:
    """Wrap the Flask app (inside the /t/<slug> prefix middleware, which runs first)."""
    app.wsgi_app = ProtocolEndpoints(app, app.wsgi_app)
