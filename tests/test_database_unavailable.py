"""An unreachable database answers 503 with Retry-After in the caller's format (issue #16):
RFC 6749 JSON on the protocol endpoints, problem+json on the admin API, the styled page on
hosted pages; never a 500. (tests/cluster/test_database_restart.py restarts a real
PostgreSQL under load; here the database is simply not there.)"""

from __future__ import annotations

import pytest

from tests.conftest import BASE_DOMAIN
from tests.conftest import TEST_CONFIG
from tests.support.database import is_postgres
from tests.support.receiver import closed_port


@pytest.fixture
def unreachable_app(tmp_path):
    from app import create_app

    if is_postgres():
        url = f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/gatehouse"
    else:  # a file in a directory that does not exist: "unable to open database file"
        url = f"sqlite:///{tmp_path}/missing/gatehouse.db"
    return create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url, "TESTING": False})


def _host(slug):
    return f"{slug}.{BASE_DOMAIN}"


def _retry_after(response) -> int:
    assert response.status_code == 503, response.get_data(as_text=True)[:300]
    assert response.headers["Cache-Control"] == "no-store"
    return int(response.headers["Retry-After"])


def test_token_endpoint_answers_rfc6749_json(unreachable_app):
    response = unreachable_app.test_client().post(
        "/oauth2/token",
        data={"grant_type": "client_credentials"},
        headers={"Host": _host("acme-corp")},
    )
    assert _retry_after(response) > 0
    assert response.get_json()["error"] == "temporarily_unavailable"


def test_admin_api_answers_problem_json(unreachable_app):
    response = unreachable_app.test_client().get(
        "/v2/admin/tenants", headers={"Host": BASE_DOMAIN, "Authorization": "Bearer x"}
    )
    assert _retry_after(response) > 0
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 503


def test_hosted_page_answers_the_styled_page(unreachable_app):
    response = unreachable_app.test_client().get("/login", headers={"Host": _host("acme-corp")})
    assert _retry_after(response) > 0
    assert response.mimetype == "text/html"
    body = response.get_data(as_text=True)
    assert "briefly unavailable" in body and "Traceback" not in body


def test_readiness_says_unavailable(unreachable_app):
    response = unreachable_app.test_client().get("/readyz", headers={"Host": BASE_DOMAIN})
    assert response.status_code == 503 and response.get_json()["status"] == "unavailable"
