"""Per-request context: request id, audit actor, structured logs, security headers."""

from __future__ import annotations

import json
import logging
import secrets
import time

from flask import Flask
from flask import g
from flask import request

from app.services import audit

log = logging.getLogger("gatehouse.request")


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the request id and tenant id when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key in ("request_id", "tenant_id", "method", "path", "status", "ms"):
            value = getattr(record, key, None)
            if value is not None:
                payload[key] = value
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload)


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            record.request_id = g.get("request_id")
            tenant = g.get("tenant")
            record.tenant_id = tenant.id if tenant is not None else None
        except RuntimeError:  # outside a request
            pass
        return True


class DevServerAccessFilter(logging.Filter):
    """Drop the development server's own access line ('"GET / HTTP/1.1" 200 -'): every
    request is already logged once, as JSON, by ``_log_request``. Its other messages
    (the address it serves on, errors) still show."""

    ACCESS_LINE = '"%s" %s %s'  # werkzeug.serving.WSGIRequestHandler.log_request

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg.endswith(self.ACCESS_LINE))


def configure_logging(app: Flask) -> None:
    werkzeug_log = logging.getLogger("werkzeug")
    if not any(isinstance(f, DevServerAccessFilter) for f in werkzeug_log.filters):
        werkzeug_log.addFilter(DevServerAccessFilter())
    root = logging.getLogger("gatehouse")
    if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        handler.addFilter(RequestContextFilter())
        root.addHandler(handler)
    root.setLevel(app.config.get("LOG_LEVEL", "INFO"))
    root.propagate = False


def _begin_request() -> None:
    g.request_started = time.perf_counter()
    incoming = request.headers.get("X-Request-Id", "")
    ok = incoming and len(incoming) <= 64 and incoming.replace("-", "").isalnum()
    g.request_id = incoming if ok else secrets.token_hex(8)
    g.csp_nonce = secrets.token_urlsafe(16)
    g.actor_token = audit.set_actor(
        audit.Actor(
            type="anonymous",
            ip=request.remote_addr,
            user_agent=request.headers.get("User-Agent", "")[:300],
            request_id=g.request_id,
        )
    )


def _security_headers(response):
    nonce = g.get("csp_nonce", "")
    headers = response.headers
    headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; "
        f"style-src 'self' 'nonce-{nonce}'; img-src 'self' data: https:; "
        "object-src 'none'; base-uri 'self'; frame-ancestors 'none'",
    )
    headers.setdefault("X-Content-Type-Options", "nosniff")
    # same-origin: no Referer ever leaves for another site, and our own form posts carry
    # their Origin (under no-referrer browsers send "Origin: null"; app/web/origin.py).
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.scheme == "https":
        headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
    headers["X-Request-Id"] = g.get("request_id", "")
    return response


def _log_request(response):
    started = g.get("request_started")
    if started is not None and request.endpoint not in {"health.healthz", "static"}:
        log.info(
            "%s %s %s",
            request.method,
            request.path,
            response.status_code,
            extra={
                "method": request.method,
                "path": request.full_path.rstrip("?") if request.query_string else request.path,
                "status": response.status_code,
                "ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
    return response


def _end_request(exc=None) -> None:
    token = g.pop("actor_token", None)
    if token is not None:
        audit.reset_actor(token)


def init_app(app: Flask) -> None:
    configure_logging(app)
    # Runs before tenant resolution: registered first.
    app.before_request(_begin_request)
    app.after_request(_security_headers)
    app.after_request(_log_request)
    app.teardown_request(_end_request)

    @app.context_processor
    def _nonce():
        return {"csp_nonce": g.get("csp_nonce", "")}
