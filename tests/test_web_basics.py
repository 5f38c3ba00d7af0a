"""Cross-cutting behaviour of every response: headers, errors, health."""

from app.extensions import db


def test_security_headers_on_every_page(client, tenant):
    response = client.get("/", base_url="http://acme-corp.gatehouse.test")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Request-Id"]


def test_incoming_request_id_is_kept_when_sane(client, tenant):
    response = client.get(
        "/", base_url="http://acme-corp.gatehouse.test", headers={"X-Request-Id": "abc-123"}
    )
    assert response.headers["X-Request-Id"] == "abc-123"
    response = client.get(
        "/", base_url="http://acme-corp.gatehouse.test", headers={"X-Request-Id": "<script>"}
    )
    assert response.headers["X-Request-Id"] != "<script>"


def test_unknown_page_is_404_in_the_tenant_look(client, tenant):
    response = client.get("/nowhere", base_url="http://acme-corp.gatehouse.test")
    assert response.status_code == 404
    assert "Acme Corp" in response.get_data(as_text=True)


def test_json_endpoints_get_json_errors(client, tenant):
    response = client.get("/oauth2/nowhere", base_url="http://acme-corp.gatehouse.test")
    assert response.status_code == 404
    assert response.get_json()["error"] == "invalid_request"
    response = client.get("/v2/admin/nowhere", base_url="http://gatehouse.test")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 404


def test_readyz_reports_migration_state(app, client):
    # The test schema comes from create_all, not from migrations: not at head.
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["reason"] == "migrations pending"


def test_metrics_are_prometheus_text(client, tenant):
    client.get("/", base_url="http://acme-corp.gatehouse.test")
    body = client.get("/metrics", base_url="http://gatehouse.test").get_data(as_text=True)
    assert "gatehouse_http_requests_total" in body
    assert 'endpoint="pages.home"' in body


def test_branding_colour_reaches_the_page(app, client, tenant):
    from app.services import tenants as tenants_service
    from app.services.settings import update_settings

    with app.app_context():
        update_settings(
            tenants_service.get_tenant("acme-corp"),
            {"branding": {"primary_color": "#ff6600", "display_name": "ACME"}},
        )
        db.session.commit()
    html = client.get("/", base_url="http://acme-corp.gatehouse.test").get_data(as_text=True)
    assert "--primary: #ff6600" in html and "ACME" in html
