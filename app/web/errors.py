"""Errors converted at the edge: an HTML page in the tenant's look, RFC 6749 JSON on
OAuth endpoints, RFC 9457 problem+json on the admin API, a partial for HTMX."""

from __future__ import annotations

import logging

from flask import Flask
from flask import current_app
from flask import jsonify
from flask import render_template
from flask import request
from flask.globals import request_ctx
from flask_wtf.csrf import CSRFError
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import InternalServerError

from app.services.errors import ServiceError
from app.web import unavailable

log = logging.getLogger("gatehouse.errors")

_OAUTH_ERROR = {
    400: "invalid_request",
    401: "invalid_client",
    403: "access_denied",
    404: "invalid_request",
    405: "invalid_request",
    429: "slow_down",
}


def wants_problem_json() -> bool:
    return request.path.startswith("/v2/")


def wants_oauth_json() -> bool:
    return request.path.startswith(("/oauth2/", "/.well-known/")) and request.path not in {
        "/oauth2/authorize",
        "/oauth2/logout",
    }


def problem(status: int, title: str, detail: str = "", errors: dict | None = None, **extra):
    body = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def _ensure_url_adapter() -> None:
    """Werkzeug leaves a request without a URL adapter when its Host is not a valid name
    (an empty label, a label over 63 characters): bind one on the base domain, so the
    error page can still link its stylesheet instead of failing into a bare 500."""
    if request_ctx.url_adapter is None:
        config = current_app.config
        request_ctx.url_adapter = current_app.url_map.bind(
            config["BASE_DOMAIN"],
            script_name=request.script_root or None,
            url_scheme=config["URL_SCHEME"],
        )


def _render(status: int, title: str, description: str):
    _ensure_url_adapter()
    if wants_problem_json():
        return problem(status, title, description)
    if wants_oauth_json():
        response = jsonify(
            error=_OAUTH_ERROR.get(status, "server_error" if status >= 500 else "invalid_request"),
            error_description=description,
        )
        response.status_code = status
        response.headers["Cache-Control"] = "no-store"
        return response
    template = "errors/_error.html" if request.headers.get("HX-Request") else "errors/error.html"
    return render_template(template, status=status, title=title, description=description), status


def handle_http_error(exc: HTTPException):
    original = getattr(exc, "original_exception", None)  # a failed commit in after_request
    if exc.code == 500 and unavailable.is_database_unavailable(original):
        return handle_database_unavailable(original)
    response = _render(exc.code or 500, exc.name, exc.description or "")
    if isinstance(response, tuple):
        return response
    if exc.code == 405 and hasattr(exc, "valid_methods") and exc.valid_methods:
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


def handle_csrf_error(exc: CSRFError):
    return _render(
        400,
        "Form expired",
        "The form was stale or incomplete. Go back, reload the page and try again.",
    )


def handle_service_error(exc: ServiceError):
    from app.extensions import db

    db.session.rollback()  # the failed operation leaves nothing half-done
    if exc.status == 429:  # a quota (app/quotas): audited once per window, Retry-After
        from app.quotas.enforce import record_notice

        record_notice(exc)
    if wants_problem_json():
        response = problem(exc.status, exc.title, exc.message, getattr(exc, "errors", None))
    else:
        response = _render(exc.status, exc.title, exc.message)
    retry_after = getattr(exc, "retry_after", None)
    if retry_after:
        if isinstance(response, tuple):
            response = current_app.make_response(response)
        response.headers["Retry-After"] = str(retry_after)
    return response


def handle_database_unavailable(exc: Exception):
    """503 + Retry-After while the database is unreachable (app/web/unavailable.py)."""
    unavailable.note(exc)
    unavailable.discard_session()
    if wants_oauth_json():
        return unavailable.oauth_response()
    try:
        response = _render(503, unavailable.TITLE, unavailable.MESSAGE)
    except Exception:  # noqa: BLE001 - the page itself needed the database
        unavailable.discard_session()
        response = (unavailable.MESSAGE, 503, {"Content-Type": "text/plain; charset=utf-8"})
    if isinstance(response, tuple):
        body, status, *rest = response
        response = current_app.make_response((body, status, *rest))
    response.headers["Retry-After"] = str(unavailable.RETRY_AFTER_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response


def handle_unexpected(exc: Exception):
    if unavailable.is_database_unavailable(exc):
        return handle_database_unavailable(exc)
    log.exception("unhandled error")
    unavailable.discard_session()
    description = "Something went wrong on our side. It has been logged; please try again."
    try:
        return _render(500, InternalServerError.name, description)
    except Exception:  # noqa: BLE001 - the page itself failed: a plain answer, not a crash
        log.exception("error page failed")
        return description, 500, {"Content-Type": "text/plain; charset=utf-8"}


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(ServiceError, handle_service_error)
    for error in (
        sa_exc.OperationalError,
        sa_exc.InterfaceError,
        sa_exc.TimeoutError,
        sa_exc.PendingRollbackError,
    ):
        app.register_error_handler(error, handle_database_unavailable)
    if not app.testing:
        app.register_error_handler(Exception, handle_unexpected)
