"""Custom domains (#20): registered pending through the API, console and CLI, verified by
a TXT record served by a real local DNS server, and only then routing requests and being
the issuer; removing one switches back; the on-demand TLS ``ask`` endpoint."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy import text

from app.extensions import db
from app.models import CustomDomain
from tests.support.api import Api
from tests.support.api import create_admin_key
from tests.support.api import problem_of
from tests.support.console import console_fixtures
from tests.support.http import csrf_from
from tests.support.sso_fixtures import dns_app  # noqa: F401
from tests.support.sso_fixtures import local_dns  # noqa: F401

DOMAINS = "/tenants/acme-corp/domains"
HOST = "login.acme.test"
make_console = console_fixtures()
SUBDOMAIN_ISSUER = "http://acme-corp.gatehouse.test"


@pytest.fixture
def api(app, tenant):
    return Api(app, create_admin_key(app, tenant))


def _discovery(client, host):
    return client.get("/.well-known/openid-configuration", base_url=f"http://{host}")


def _version(app, tenant_id):
    with app.app_context():
        return db.session.execute(
            text("SELECT config_version FROM tenants WHERE id = :id"), {"id": tenant_id}
        ).scalar()


def test_pending_domain_neither_routes_nor_issues_until_its_txt_record_verifies(
    app, api, client, dns, tenant
):
    created = api.post(DOMAINS, json={"host": "Login.Acme.Test."})
    assert created.status_code == 201, created.get_json()
    row = created.get_json()
    assert row["host"] == HOST and row["status"] == "pending"
    assert row["verification"]["type"] == "TXT"
    assert row["verification"]["name"] == f"_gatehouse.{HOST}"
    assert row["verification"]["value"].startswith("gatehouse-verification=")

    # Pending: the host is foreign, the issuer is still the subdomain.
    assert client.get("/login", base_url=f"http://{HOST}").status_code == 400
    assert _discovery(client, "acme-corp.gatehouse.test").get_json()["issuer"] == SUBDOMAIN_ISSUER

    missing = api.post(f"{DOMAINS}/{row['id']}/verify")
    assert missing.status_code == 422
    assert "No TXT record _gatehouse.login.acme.test" in problem_of(missing)["detail"]
    dns.publish(row["verification"]["name"], "gatehouse-verification=someone-else")
    assert api.post(f"{DOMAINS}/{row['id']}/verify").status_code == 422

    before = _version(app, tenant.id)
    dns.publish(row["verification"]["name"], row["verification"]["value"])
    done = api.post(f"{DOMAINS}/{row['id']}/verify")
    assert done.status_code == 200
    assert done.get_json()["status"] == "verified" and done.get_json()["verified_by"] == "dns"
    assert _version(app, tenant.id) > before  # every worker drops its snapshot

    # Verified: it routes, it is the issuer, other forms redirect discovery to it.
    page = client.get("/login", base_url=f"http://{HOST}")
    assert page.status_code == 200 and "Acme Corp" in page.get_data(as_text=True)
    discovery = _discovery(client, HOST).get_json()
    assert discovery["issuer"] == f"http://{HOST}"
    assert discovery["token_endpoint"] == f"http://{HOST}/oauth2/token"
    moved = _discovery(client, "acme-corp.gatehouse.test")
    assert moved.status_code in (301, 302, 307, 308)
    assert moved.headers["Location"].startswith(f"http://{HOST}/")
    assert api.get("/tenants/acme-corp").get_json()["issuer"] == f"http://{HOST}"

    # Removing it switches back to the subdomain issuer.
    assert api.delete(f"{DOMAINS}/{row['id']}").status_code == 204
    assert client.get("/login", base_url=f"http://{HOST}").status_code == 400
    assert _discovery(client, "acme-corp.gatehouse.test").get_json()["issuer"] == SUBDOMAIN_ISSUER
    with app.app_context():
        actions = [
            r[0]
            for r in db.session.execute(
                text("SELECT action FROM audit_events WHERE action LIKE 'domain.%' ORDER BY id")
            )
        ]
    assert actions == ["domain.added", "domain.verified", "domain.removed"]


@pytest.mark.config(URL_SCHEME="https")
def test_in_production_a_custom_domain_issuer_is_https(app, api):
    row = api.post(DOMAINS, json={"host": HOST}).get_json()
    operator = Api(app, create_admin_key(app))
    assert (
        operator.post(f"{DOMAINS}/{row['id']}/verify", json={"operator": True}).status_code == 200
    )
    assert api.get("/tenants/acme-corp").get_json()["issuer"] == f"https://{HOST}"


def test_a_host_is_refused_when_taken_or_the_instances_own(app, api, other_tenant):
    assert api.post(DOMAINS, json={"host": HOST}).status_code == 201
    other = Api(app, create_admin_key(app, other_tenant))
    taken = other.post("/tenants/globex/domains", json={"host": HOST})
    assert taken.status_code == 409 and "already registered" in problem_of(taken)["detail"]
    for bad in ("gatehouse.test", "evil.gatehouse.test", "not a host", "127.0.0.1", "x" * 300):
        answer = api.post(DOMAINS, json={"host": bad})
        assert answer.status_code == 400, bad
        assert "host" in problem_of(answer)["errors"]


def test_only_an_instance_operator_may_skip_dns(app, api):
    row = api.post(DOMAINS, json={"host": HOST}).get_json()
    assert api.post(f"{DOMAINS}/{row['id']}/verify", json={"operator": True}).status_code == 403
    operator = Api(app, create_admin_key(app))
    done = operator.post(f"{DOMAINS}/{row['id']}/verify", json={"operator": True})
    assert done.status_code == 200 and done.get_json()["verified_by"] == "operator"


@pytest.mark.config(DNS_RESOLVER="127.0.0.1:9")  # nothing listens there
def test_dns_that_does_not_answer_is_a_clear_422(api):
    row = api.post(DOMAINS, json={"host": HOST}).get_json()
    answer = api.post(f"{DOMAINS}/{row['id']}/verify")
    assert answer.status_code == 422 and "DNS did not answer" in problem_of(answer)["detail"]


def test_tls_ask_answers_200_only_for_verified_domains_on_the_base_host(app, api, client):
    row = api.post(DOMAINS, json={"host": HOST}).get_json()
    ask = "/tls/ask?domain=" + HOST
    assert client.get(ask, base_url="http://gatehouse.test").status_code == 404  # pending
    Api(app, create_admin_key(app)).post(f"{DOMAINS}/{row['id']}/verify", json={"operator": True})
    assert client.get(ask, base_url="http://gatehouse.test").status_code == 200
    assert client.get(ask.upper(), base_url="http://gatehouse.test").status_code == 404
    assert client.get(ask, base_url="http://acme-corp.gatehouse.test").status_code == 404
    assert client.get(ask, base_url=f"http://{HOST}").status_code == 404
    for other in ("", "?domain=", "?domain=unknown.example", "?domain=acme-corp.gatehouse.test"):
        assert client.get("/tls/ask" + other, base_url="http://gatehouse.test").status_code == 404


def test_cli_adds_and_verifies_against_dns(app, runner, dns, tenant):
    added = runner.invoke(args=["domains", "add", "acme-corp", HOST])
    assert added.exit_code == 0, added.output
    assert f"{HOST}  pending" in added.output
    with app.app_context():
        row = db.session.scalar(select(CustomDomain).where(CustomDomain.host == HOST))
        dns.publish(f"_gatehouse.{HOST}", f"gatehouse-verification={row.verification_token}")
    verified = runner.invoke(args=["domains", "verify", "acme-corp", HOST])
    assert verified.exit_code == 0, verified.output
    assert f"{HOST}  verified" in verified.output
    listed = runner.invoke(args=["domains", "list", "acme-corp"])
    assert f"{HOST}  verified" in listed.output
    again = runner.invoke(args=["domains", "add", "acme-corp", HOST])
    assert again.exit_code != 0 and "already registered" in again.output
    removed = runner.invoke(args=["domains", "remove", "acme-corp", HOST])
    assert (
        removed.exit_code == 0 and runner.invoke(args=["domains", "list", "acme-corp"]).output == ""
    )


def test_console_adds_verifies_and_removes(app, dns, tenant, make_console, client):
    console = make_console(tenant, "admin@acme.example")
    page = console.get("/admin/domains")
    assert page.status_code == 200 and "Custom domains" in page.get_data(as_text=True)
    token = csrf_from(page.get_data(as_text=True))
    bad = console.post("/admin/domains", data={"csrf_token": token, "host": "gatehouse.test"})
    assert bad.status_code == 422 and "must not be gatehouse.test" in bad.get_data(as_text=True)
    assert (
        console.post("/admin/domains", data={"csrf_token": token, "host": HOST}).status_code == 302
    )
    with app.app_context():
        row = db.session.scalar(select(CustomDomain).where(CustomDomain.host == HOST))
        row_id, value = row.id, f"gatehouse-verification={row.verification_token}"
    listing = console.get("/admin/domains").get_data(as_text=True)
    assert f"_gatehouse.{HOST}" in listing and value in listing
    verify = f"/admin/domains/{row_id}/verify"
    failed = console.post(verify, data={"csrf_token": token})
    assert failed.status_code == 422 and "No TXT record" in failed.get_data(as_text=True)
    dns.publish(f"_gatehouse.{HOST}", value)
    assert console.post(verify, data={"csrf_token": token}).status_code == 302
    assert f"http://{HOST}" in console.get("/admin/domains").get_data(as_text=True)
    assert client.get("/", base_url=f"http://{HOST}").status_code == 200
    removed = console.post(f"/admin/domains/{row_id}/delete", data={"csrf_token": token})
    assert removed.status_code == 302
    assert client.get("/", base_url=f"http://{HOST}").status_code == 400
