"""Liveness and readiness (answer on any host); Prometheus metrics and the on-demand TLS
``ask`` endpoint (base host only)."""

from __future__ import annotations

import hmac
import threading
import time
from collections import Counter

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint
from flask import Flask
from flask import Response
from flask import abort
from flask import current_app
from flask import jsonify
from flask import request
from flask_migrate import Migrate
from sqlalchemy import text

from app.extensions import db

bp = Blueprint("health", __name__)

_EXT = "gatehouse.metrics"


class Metrics:
    """Process-local request counters in the Prometheus text format."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests: Counter[tuple[str, str]] = Counter()
        self.started = time.time()

    def observe(self, endpoint: str | None, status: int) -> None:
        with self.lock:
            self.requests[(endpoint or "unmatched", f"{status // 100}xx")] += 1

    def render(self) -> str:
        lines = [
            "# HELP gatehouse_http_requests_total HTTP requests by endpoint and status class.",
            "# TYPE gatehouse_http_requests_total counter",
        ]
        with self.lock:
            for (endpoint, status), count in sorted(self.requests.items()):
                labels = f'endpoint="{endpoint}",status="{status}"'
                lines.append(f"gatehouse_http_requests_total{{{labels}}} {count}")
        lines += [
            "# HELP gatehouse_process_start_time_seconds Start time of the process.",
            "# TYPE gatehouse_process_start_time_seconds gauge",
            f"gatehouse_process_start_time_seconds {self.started:.0f}",
        ]
        return "\n".join(lines) + "\n"


def _head_revision() -> str | None:
    migrate: Migrate = current_app.extensions["migrate"]
    config = migrate.migrate.get_config(migrate.directory)
    return ScriptDirectory.from_config(config).get_current_head()


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            current = MigrationContext.configure(connection).get_current_revision()
    except Exception as exc:  # noqa: BLE001 - any database failure means "not ready"
        return jsonify(status="unavailable", reason=type(exc).__name__), 503
    head = _head_revision()
    if current != head:
        return jsonify(
            status="unavailable", reason="migrations pending", database=current, head=head
        ), 503
    return jsonify(status="ready", revision=current)


def _metrics_refusal() -> Response | None:
    """Why this request may not read the metrics, as a response; None when it may.

    Only on the bare base host (a tenant origin answers 404); with ``METRICS_TOKEN`` set,
    only with ``Authorization: Bearer <token>``; in production without a token, never.
    """
    config = current_app.config
    host = request.host.lower().rstrip(".")
    if host != config["BASE_DOMAIN"] or request.script_root:
        abort(404)
    expected = config.get("METRICS_TOKEN")
    if not expected:
        if config.get("PRODUCTION"):
            abort(404)
        return None
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(
        presented.strip().encode(), expected.encode()
    ):
        return None
    response = jsonify(error="invalid_token", error_description="A metrics token is required.")
    response.status_code = 401
    response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
    return response


@bp.get("/metrics")
def metrics():
    refusal = _metrics_refusal()
    if refusal is not None:
        return refusal
    from app.observability.metrics import observatory
    from app.web import degraded
    from app.worker import metrics as queue_metrics

    text = (
        current_app.extensions[_EXT].render()
        + queue_metrics.render()
        + degraded.render()
        + observatory(current_app).render()
    )
    response = Response(text, mimetype="text/plain; version=0.0.4")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/tls/ask")
def tls_ask():
    """The on-demand TLS ``ask`` endpoint (Caddy's ``on_demand_tls``): 200 when
    ``?domain=`` is a verified custom domain, else 404, so certificates are only ever
    requested for hosts a tenant has proved it controls. On the base host only."""
    from app.services import custom_domains

    host = request.host.lower().rstrip(".")
    if host != current_app.config["BASE_DOMAIN"] or request.script_root:
        abort(404)
    if not custom_domains.is_verified_host(request.args.get("domain", "")):
        return Response("unknown domain\n", status=404, mimetype="text/plain")
    response = Response("ok\n", mimetype="text/plain")
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    from app.web import degraded

    app.extensions[_EXT] = Metrics()
    degraded.init_app(app)

    from flask import g

    from app.observability.metrics import group_of_endpoint
    from app.observability.metrics import observatory

    @app.after_request
    def _count(response):
        app.extensions[_EXT].observe(request.endpoint, response.status_code)
        started = g.get("request_started")
        if started is not None:
            observatory(app).observe(
                group_of_endpoint(request.endpoint),
                time.perf_counter() - started,
                # The snapshot, not the ORM row (which may be expired after a failed
                # statement: reading it would ask the database that just failed).
                g.get("tenant_config") or g.get("tenant"),
                response.status_code,
            )
        return response

    app.register_blueprint(bp)
