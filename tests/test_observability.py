"""/metrics: latency histograms per endpoint group and per-tenant series whose
cardinality stays bounded with 10,000 tenants; OpenTelemetry tracing checked with the
SDK's in-memory exporter, and off (nothing instrumented) by default."""

from __future__ import annotations

import http.server
import re
import threading
from types import SimpleNamespace

import pytest

from app.observability import tracing
from app.observability.metrics import observatory
from tests.support.oauth import basic_auth
from tests.support.oauth import make_client

BASE = "http://gatehouse.test"
HOST = "acme-corp.gatehouse.test"


def scrape(app) -> str:
    response = app.test_client().get("/metrics", base_url=BASE)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def series(text: str, name: str) -> dict[str, float]:
    found = {}
    for line in text.splitlines():
        match = re.fullmatch(rf'{name}\{{tenant="([^"]+)"\}} (\d+)', line)
        if match:
            found[match.group(1)] = int(match.group(2))
    return found


def token(app, client):
    return app.test_client().post(
        "/oauth2/token",
        base_url=f"http://{HOST}",
        data={"grant_type": "client_credentials"},
        headers=basic_auth(client.client_id, client.secret),
    )


def test_latency_histograms_per_endpoint_group(app, tenant):
    backend = make_client(
        app, tenant, client_name="Backend", grant_types=["client_credentials"], redirect_uris=[]
    )
    assert token(app, backend).status_code == 200
    assert app.test_client().get("/login", base_url=f"http://{HOST}").status_code == 200
    text = scrape(app)
    name = "gatehouse_http_request_duration_seconds"
    assert f"# TYPE {name} histogram" in text
    for group in ("token", "hosted"):
        assert f'{name}_count{{group="{group}"}} 1' in text
        assert f'{name}_bucket{{group="{group}",le="+Inf"}} 1' in text
    buckets = [
        int(v) for v in re.findall(rf'{name}_bucket\{{group="token",le="[^"]+"\}} (\d+)', text)
    ]
    assert buckets == sorted(buckets)  # cumulative
    assert "acme-corp" in series(text, "gatehouse_tenant_requests_total")


@pytest.mark.config(METRICS_TENANT_TOP_N=20)
def test_per_tenant_series_stay_bounded_with_10000_tenants(app, tenant):
    seen = observatory(app)
    tenants = [SimpleNamespace(id=f"ten_{i:05d}", slug=f"t-{i:05d}") for i in range(10_000)]
    for i, t in enumerate(tenants):
        for _ in range(1 + (i % 7 == 0) * 50):  # every seventh tenant is busy
            seen.observe("token", 0.001, t, 200 if i % 3 else 429)
    first = scrape(app)
    requests = series(first, "gatehouse_tenant_requests_total")
    throttled = series(first, "gatehouse_tenant_throttled_total")
    assert len(requests) == 21 and len(throttled) == 21  # top 20 + "other"
    assert "other" in requests
    total = sum(1 + (i % 7 == 0) * 50 for i in range(10_000))
    assert sum(requests.values()) == total  # nothing lost, nothing counted twice
    assert len(first.splitlines()) < 200
    # More traffic, also from a new heavy tenant: every series only grows.
    newcomer = SimpleNamespace(id="ten_new", slug="newcomer")
    for _ in range(5000):
        seen.observe("token", 0.001, newcomer, 200)
    second = series(scrape(app), "gatehouse_tenant_requests_total")
    assert len(second) == 21
    assert all(second[k] >= v for k, v in requests.items())
    assert sum(second.values()) == total + 5000


@pytest.fixture
def traced(make_app, app):
    from opentelemetry.instrumentation.flask import FlaskInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumented = make_app(OTEL_TRACER_PROVIDER=provider)
    yield instrumented, exporter
    FlaskInstrumentor().uninstrument_app(instrumented)
    RequestsInstrumentor().uninstrument()
    SQLAlchemyInstrumentor().uninstrument()


class _Quiet(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_spans_carry_the_tenant_and_cover_flask_sqlalchemy_and_requests(traced, tenant):
    app, exporter = traced
    backend = make_client(
        app, tenant, client_name="Backend", grant_types=["client_credentials"], redirect_uris=[]
    )
    exporter.clear()
    assert token(app, backend).status_code == 200
    spans = exporter.get_finished_spans()
    lean = [s for s in spans if s.name == "POST /oauth2/token"]
    assert len(lean) == 1 and lean[0].attributes["tenant.id"] == tenant.id
    exporter.clear()
    assert app.test_client().get("/login", base_url=f"http://{HOST}").status_code == 200
    spans = exporter.get_finished_spans()
    server = [s for s in spans if s.attributes.get("http.route") == "/login"]
    assert server and server[0].attributes["tenant.id"] == tenant.id
    exporter.clear()
    from app.extensions import db
    from app.models import Tenant

    with app.app_context():
        db.session.get(Tenant, tenant.id)
        db.session.rollback()
    db_spans = exporter.get_finished_spans()
    assert any(s.attributes.get("db.system") for s in db_spans)
    import requests

    httpd = http.server.HTTPServer(("127.0.0.1", 0), _Quiet)
    thread = threading.Thread(target=httpd.handle_request, daemon=True)
    thread.start()
    exporter.clear()
    requests.get(f"http://127.0.0.1:{httpd.server_port}/", timeout=5)
    thread.join(5)
    httpd.server_close()
    assert any(s.name == "GET" for s in exporter.get_finished_spans())


def test_tracing_is_off_by_default(app):
    with app.app_context():
        assert tracing.tracer() is None
    assert not getattr(app, "_is_instrumented_by_opentelemetry", False)
    assert tracing.protocol_span.__name__  # the lean path gets a null context then
    with app.test_request_context("/oauth2/token", method="POST"):
        from flask import request

        with tracing.protocol_span(request, "ten_x") as span:
            assert span is None


@pytest.mark.config(METRICS_TENANT_TOP_N=2)
def test_a_tenant_labelled_later_keeps_other_monotonic(app):
    seen = observatory(app)
    a, b, c = (SimpleNamespace(id=f"ten_{n}", slug=n) for n in "abc")
    for tenant, n in ((a, 5), (b, 3), (c, 1)):
        for _ in range(n):
            seen.observe("token", 0.001, tenant)
    first = series(scrape(app), "gatehouse_tenant_requests_total")
    # Fresh process: the first tenants labelled start from their whole count.
    assert first == {"a": 5, "b": 3, "other": 1}
    for _ in range(4):
        seen.observe("token", 0.001, c)
    second = series(scrape(app), "gatehouse_tenant_requests_total")
    assert second == {"a": 5, "b": 3, "other": 5}  # no slot left: c stays in other
