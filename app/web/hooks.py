"""Per-request context: request id, audit actor, structured logs, security headers."""

from __future__ import annotations

import logging
import secrets
import time

from flask import Flask
from flask import current_app
from flask import g
from flask import request
from flask_limiter.util import get_qualified_name

from app import json_codec
from app.extensions import limiter
from app.services import audit
from app.tenancy import is_protocol_request

log = logging.getLogger("gatehouse.request")


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the request id and tenant id when there is one."""

    _FIELDS = ("request_id", "tenant_id", "method", "path", "status", "ms")
    _second: tuple[int, str] = (-1, "")  # the last second formatted, and its text

    def format(self, record: logging.LogRecord) -> str:
        payload = self.payload(
            record.created, record.levelname.lower(), record.name, record.getMessage()
        )
        self._add_fields(payload, record.__dict__)
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json_codec.dumps(payload).decode()

    def payload(self, created: float, level: str, name: str, message: str) -> dict:
        """The fields every line starts with. ``ts`` is the same text for every record of
        one second: formatted once per second (localtime and strftime were a third of the
        formatter's time)."""
        second, ts = self._second
        if int(created) != second:
            ts = time.strftime("%Y-%m-%dT%H:%M:%S", self.converter(created))
            self._second = (int(created), ts)
        return {"ts": ts, "level": level, "logger": name, "msg": message}

    def request_line(self, created: float, message: str, fields: dict) -> str:
        """What :meth:`format` writes for a request record carrying ``fields``."""
        payload = self.payload(created, "info", log.name, message)
        self._add_fields(payload, fields)
        return json_codec.dumps(payload).decode()

    def _add_fields(self, payload: dict, values: dict) -> None:
        """The request fields ``values`` has (a record's attributes, or a request's)."""
        for key in self._FIELDS:
            value = values.get(key)
            if value is not None:
                payload[key] = value


class RequestContextFilter(logging.Filter):
    """The request id and tenant id of the request being served, on every record (a
    record that names them already, like the lean path's request line, keeps them)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "request_id" in record.__dict__:
            return True
        try:
            record.request_id = g.get("request_id")
            # The immutable snapshot, not the ORM row: reading the row's id after a
            # rollback would ask the database, which may be the very thing that failed.
            tenant = g.get("tenant_config") or g.get("tenant")
            record.tenant_id = tenant.id if tenant is not None else None
        except RuntimeError:  # outside a request
            pass
        except Exception:  # noqa: BLE001 - a log line never fails the request
            record.tenant_id = None
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


def request_id_of(req) -> str:
    """The caller's X-Request-Id when it is sane, else a new one."""
    incoming = req.headers.get("X-Request-Id", "")
    ok = incoming and len(incoming) <= 64 and incoming.replace("-", "").isalnum()
    return incoming if ok else secrets.token_hex(8)


def set_anonymous_actor(req, request_id: str):
    """The audit actor until someone signs in or authenticates; returns its reset token."""
    return audit.set_actor(
        audit.Actor(
            type="anonymous",
            ip=req.remote_addr,
            user_agent=req.headers.get("User-Agent", "")[:300],
            request_id=request_id,
        )
    )


def log_request(
    req, status: int, started: float, request_id: str | None = None, tenant_id=None
) -> None:
    """One JSON log line per request (method, path with query, status, ms; the request
    and tenant ids from ``g`` unless given). With the request ids given (the lean path)
    and logging as :func:`configure_logging` set it up, the line goes straight to the
    handler's stream: in the server a LogRecord's way through ``logging`` cost ~0.03 ms
    of a 0.3 ms request (bench/NOTES.md). Otherwise the record is made and handled
    directly (``Logger.info`` would also look up the caller's frame, which nothing here
    prints)."""
    if not log.isEnabledFor(logging.INFO):
        return
    method = req.method
    path = req.full_path.rstrip("?") if req.query_string else req.path
    ms = round((time.perf_counter() - started) * 1000, 1)
    handler = _plain_handler() if request_id is not None else None
    if handler is not None and _write_line(
        handler, method, req.path, path, status, ms, request_id, tenant_id
    ):
        return
    record = log.makeRecord(
        log.name, logging.INFO, __file__, _LINE, "%s %s %s", (method, req.path, status), None
    )
    if request_id is not None:
        record.request_id = request_id
        record.tenant_id = tenant_id
    record.method = method
    record.path = path
    record.status = status
    record.ms = ms
    log.handle(record)


def _plain_handler() -> logging.StreamHandler | None:
    """The one handler a request line reaches when logging is as configure_logging left
    it (nothing on ``gatehouse.request``; on ``gatehouse`` one StreamHandler with the
    JsonFormatter and the RequestContextFilter, which keeps a line's own ids); else None,
    and the line takes logging's own way (a test's or an operator's handlers see it)."""
    if log.handlers or log.filters or not log.propagate:
        return None
    parent = log.parent
    if parent is None or parent.propagate or parent.filters or len(parent.handlers) != 1:
        return None
    handler = parent.handlers[0]
    if (
        type(handler) is not logging.StreamHandler
        or type(handler.formatter) is not JsonFormatter
        or handler.level > logging.INFO
        or any(type(f) is not RequestContextFilter for f in handler.filters)
    ):
        return None
    return handler


def _write_line(handler, method, bare_path, path, status, ms, request_id, tenant_id) -> bool:
    """Write the request line as StreamHandler.emit would; False if writing failed (the
    caller then logs the record, whose failure logging reports as usual)."""
    fields = {
        "request_id": request_id,
        "tenant_id": tenant_id,
        "method": method,
        "path": path,
        "status": status,
        "ms": ms,
    }
    line = handler.formatter.request_line(time.time(), f"{method} {bare_path} {status}", fields)
    handler.acquire()
    try:
        handler.stream.write(line + handler.terminator)
        handler.flush()
    except Exception:  # noqa: BLE001 - a closed or broken stream: logging's own way
        return False
    finally:
        handler.release()
    return True


_LINE = log_request.__code__.co_firstlineno


def _begin_request() -> None:
    g.request_started = time.perf_counter()
    g.request_id = request_id_of(request)
    if not is_protocol_request():  # JSON endpoints render no page: no nonce
        g.csp_nonce = secrets.token_urlsafe(16)
    g.actor_token = set_anonymous_actor(request, g.request_id)


# Protocol endpoints answer JSON to programs: no page to frame or script, just these.
_PROTOCOL_HEADERS = (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"))


def _security_headers(response):
    headers = response.headers
    if is_protocol_request():
        for name, value in _PROTOCOL_HEADERS:
            headers[name] = value
        headers["X-Request-Id"] = g.get("request_id", "")
        return response
    # Each one unless the view set its own (as ``setdefault`` would, in this order): the
    # names present are collected in one pass instead of one scan per header.
    present = {name.lower() for name, _value in headers.items()}
    if "content-security-policy" not in present:
        nonce = g.get("csp_nonce", "")
        headers.add(
            "Content-Security-Policy",
            "default-src 'self'; script-src 'self'; "
            f"style-src 'self' 'nonce-{nonce}'; img-src 'self' data: https:; "
            "object-src 'none'; base-uri 'self'; frame-ancestors 'none'",
        )
    for lowered, name, value in _PAGE_HEADERS:
        if lowered not in present:
            headers.add(name, value)
    if request.scheme == "https" and "strict-transport-security" not in present:
        headers.add("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
    headers["X-Request-Id"] = g.get("request_id", "")
    return response


_PAGE_HEADERS = tuple(
    (name.lower(), name, value)
    for name, value in (
        ("X-Content-Type-Options", "nosniff"),
        # same-origin: no Referer ever leaves for another site, and our own form posts
        # carry their Origin (under no-referrer browsers send "Origin: null";
        # app/web/origin.py).
        ("Referrer-Policy", "same-origin"),
        ("X-Frame-Options", "DENY"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    )
)


def _log_request(response):
    started = g.get("request_started")
    if started is not None and request.endpoint not in {"health.healthz", "static"}:
        # The ids RequestContextFilter would add (the snapshot's id, never the row's),
        # given here so the line can take the direct way.
        snapshot = g.get("tenant_config")
        request_id = g.get("request_id")
        tenant_id = snapshot.id if snapshot is not None else None
        log_request(request, response.status_code, started, request_id, tenant_id)
    return response


def _end_request(exc=None) -> None:
    token = g.pop("actor_token", None)
    if token is not None:
        audit.reset_actor(token)


def _limiter_state():
    """The Flask-Limiter state :func:`no_limit_applies` reads, some of it private: (the
    instance-wide limits, the names of the views it limits, its hint lookup); None when a
    release has renamed any of it, and then every request's limits are evaluated (the
    filter never guesses that none applies)."""
    try:
        manager = limiter.limit_manager
        return (
            (
                manager._default_limits,
                manager._application_limits,
                manager._blueprint_limits,
                limiter._meta_limits,
            ),
            limiter._marked_for_limiting,
            manager.has_hints,
        )
    except AttributeError:
        return None


def no_limit_applies() -> bool:
    """Flask-Limiter request filter: True when no rate limit of this app can apply to the
    request (its evaluation would only find that out, ~0.1-0.2 ms per page). That is when
    the instance has no default, application, meta or blueprint limits, and the endpoint's
    view is either a ``throttled`` one (app/auth/throttle.py) on a method it does not
    limit or before the view (the pass that finds instance-wide limits only), or one the
    limiter never decorated."""
    state = _limiter_state()
    if state is None:
        return False
    instance_wide, marked, has_hints = state
    if any(instance_wide):
        return False
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None:
        return False
    methods = getattr(view, "limited_methods", None)
    if methods is not None:
        # On a limited method, only the before-request pass (before the view, which sets
        # g.throttled_view) is skipped: it evaluates instance-wide limits only, and there
        # are none; the decorators' own pass follows in the view.
        return request.method not in methods or not g.get("throttled_view")
    return not (
        hasattr(view, "__wrapper-limiter-instance")
        or get_qualified_name(view) in marked
        or has_hints(request.endpoint or "")
    )


def init_app(app: Flask) -> None:
    configure_logging(app)
    # Protocol endpoints skip Flask-Limiter's per-request evaluation; brute force on client
    # authentication is limited on failures only (app/oauth/client_auth.py).
    # Pages that no limit applies to (a GET of /login, /oauth2/authorize) skip it as well.
    # (The limiter is one per process, bound to each app: the filters are added once.)
    for request_filter in (is_protocol_request, no_limit_applies):
        if request_filter not in limiter._request_filters:
            limiter.request_filter(request_filter)
    # Runs before tenant resolution: registered first.
    app.before_request(_begin_request)
    app.after_request(_security_headers)
    app.after_request(_log_request)
    app.teardown_request(_end_request)

    @app.context_processor
    def _nonce():
        return {"csp_nonce": g.get("csp_nonce", "")}
