"""The protocol path's gate (one call from app/oauth/lean.py): the token-rate quota of
the token, introspection and userinfo endpoints, the count of tokens issued per grant
type, the latency histogram and per-tenant series, and the tracing span.

Nothing here reads the database; a tenant without a token quota costs no Redis call.
"""

from __future__ import annotations

import json
import time

from flask import Response
from flask import current_app

from app.extensions import db
from app.oauth.direct import form_value
from app.observability import tracing
from app.observability.metrics import PATH_GROUPS
from app.observability.metrics import observatory
from app.quotas import enforce
from app.services import usage

LIMITED = frozenset({"token", "introspection", "userinfo"})


def too_many(exc) -> Response:
    """429 in RFC 6749 §5.2's shape (``temporarily_unavailable``), with ``Retry-After``."""
    body = {
        "error": "temporarily_unavailable",
        "error_description": "This tenant's request quota is used up; retry later.",
    }
    response = Response(json.dumps(body), status=429, mimetype="application/json")
    response.headers["Retry-After"] = str(exc.retry_after)
    response.headers["Cache-Control"] = "no-store"
    return response


def over_token_rate(snapshot) -> Response | None:
    """The 429 for an endpoint outside the lean path that draws on the tenant's
    ``token_requests_per_second`` (PAR, device authorization), or None when within it.
    A first refusal in a window is audited; the request's commit at the edge keeps it."""
    wait = enforce.token_rate_wait(snapshot)
    if wait <= 0:
        return None
    limit = snapshot.quotas.get("token_requests_per_second")
    exc = enforce.refused(snapshot, "token_requests_per_second", limit, wait)
    enforce.record_notice(exc)
    return too_many(exc)


def serve(snapshot, request, handler) -> Response:
    """Answer ``request`` with ``handler`` unless the tenant is over its token rate."""
    started = time.perf_counter()
    app = current_app._get_current_object()  # one proxy lookup for everything below
    group = PATH_GROUPS.get(request.path, "other")
    response = None
    if group in LIMITED:
        wait = enforce.token_rate_wait(snapshot)
        if wait > 0:
            limit = snapshot.quotas.get("token_requests_per_second")
            exc = enforce.refused(snapshot, "token_requests_per_second", limit, wait)
            if enforce.record_notice(exc):  # once per window
                db.session.commit()  # the lean layer commits nothing on read-only endpoints
            response = too_many(exc)
    if response is None:
        if tracing.enabled(app):
            with tracing.protocol_span(request, snapshot.id):
                response = handler(request)
        else:
            response = handler(request)
        if group == "token" and response.status_code == 200:
            usage.token_issued(snapshot.id, form_value(request, "grant_type"), app)
    observatory(app).observe(group, time.perf_counter() - started, snapshot, response.status_code)
    return response
