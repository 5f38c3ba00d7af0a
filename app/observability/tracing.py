"""OpenTelemetry tracing, exported over OTLP (HTTP/protobuf) when
``OTEL_EXPORTER_OTLP_ENDPOINT`` is set, and off otherwise: then nothing of OpenTelemetry
is even imported and no request pays for it.

On: the Flask, SQLAlchemy and requests instrumentations, plus one span per protocol
request on the lean path (which answers before Flask), each with ``tenant.id``.
Tests pass their own SDK ``TracerProvider`` (``OTEL_TRACER_PROVIDER``) with an in-memory
exporter.
"""

from __future__ import annotations

from contextlib import nullcontext

from flask import Flask
from flask import current_app
from flask import g

_EXT = "gatehouse.tracer"


def tracer():
    """The app's tracer, or None when tracing is off (one dict lookup)."""
    return current_app.extensions.get(_EXT)


def enabled(app) -> bool:
    return _EXT in app.extensions


def protocol_span(request, tenant_id: str):
    """A server span for a lean-path request, or a no-op context when tracing is off."""
    active = tracer()
    if active is None:
        return nullcontext()
    from opentelemetry.trace import SpanKind

    return active.start_as_current_span(
        f"{request.method} {request.path}",
        kind=SpanKind.SERVER,
        attributes={
            "tenant.id": tenant_id,
            "http.request.method": request.method,
            "http.route": request.path,
            "url.path": request.script_root + request.path,
        },
    )


def _tag_tenant() -> None:
    """before_request (after tenant resolution): the tenant on Flask's request span."""
    tenant = g.get("tenant")
    if tenant is not None:
        from opentelemetry import trace

        trace.get_current_span().set_attribute("tenant.id", tenant.id)


def _provider(app: Flask, endpoint: str | None):
    provider = app.config.get("OTEL_TRACER_PROVIDER")
    if provider is not None:
        return provider
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    name = app.config.get("OTEL_SERVICE_NAME") or "gatehouse"
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    # OTLP/HTTP: the signal path is appended to the generic endpoint (OTLP exporter spec).
    exporter = OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces")
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def init_app(app: Flask) -> None:
    """Call after the tenant is resolved in before_request (tenancy.init_app)."""
    endpoint = app.config.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if not endpoint and app.config.get("OTEL_TRACER_PROVIDER") is None:
        return
    from opentelemetry.instrumentation.flask import FlaskInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    from app.extensions import db

    provider = _provider(app, endpoint)
    FlaskInstrumentor().instrument_app(app, tracer_provider=provider)
    with app.app_context():
        # The instrumentation declares "sqlalchemy < 2.1" but works with 2.1 (its engine
        # events are unchanged; tests/test_observability.py checks the spans).
        SQLAlchemyInstrumentor().instrument(
            engine=db.engine, tracer_provider=provider, skip_dep_check=True
        )
    requests_instrumentor = RequestsInstrumentor()
    if not requests_instrumentor.is_instrumented_by_opentelemetry:
        requests_instrumentor.instrument(tracer_provider=provider)
    app.extensions[_EXT] = provider.get_tracer("gatehouse")
    app.before_request(_tag_tenant)
