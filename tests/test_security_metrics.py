"""/metrics: base host only, behind METRICS_TOKEN when set, none in production without it."""

from __future__ import annotations

import pytest

BASE = "http://gatehouse.test"


def test_metrics_are_not_served_on_tenant_origins(client, tenant):
    assert client.get("/metrics", base_url=BASE).status_code == 200
    assert client.get("/metrics", base_url="http://acme-corp.gatehouse.test").status_code == 404
    assert client.get("/t/acme-corp/metrics", base_url=BASE).status_code == 404


@pytest.mark.config(METRICS_TOKEN="s3cret-metrics-token")
def test_metrics_token_is_required_when_set(client, tenant):
    assert client.get("/metrics", base_url=BASE).status_code == 401
    wrong = client.get("/metrics", base_url=BASE, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    assert wrong.headers["WWW-Authenticate"].startswith("Bearer")
    right = client.get(
        "/metrics", base_url=BASE, headers={"Authorization": "Bearer s3cret-metrics-token"}
    )
    assert right.status_code == 200
    assert "gatehouse_http_requests_total" in right.get_data(as_text=True)
    # The token does not open tenant origins either.
    other = client.get(
        "/metrics",
        base_url="http://acme-corp.gatehouse.test",
        headers={"Authorization": "Bearer s3cret-metrics-token"},
    )
    assert other.status_code == 404


@pytest.mark.config(PRODUCTION=True, METRICS_TOKEN=None)
def test_production_without_a_token_serves_no_metrics(client, tenant):
    assert client.get("/metrics", base_url=BASE).status_code == 404


def test_metrics_token_comes_from_the_environment():
    from app.config import load_config

    config = load_config(
        "/tmp/gatehouse-test-instance", {"METRICS_TOKEN": "abc", "SECRET_KEY": "x"}
    )
    assert config["METRICS_TOKEN"] == "abc"
