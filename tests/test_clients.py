"""OAuth client registration rules (RFC 7591 names), secrets, and the CLI."""

from __future__ import annotations

import pytest

from tests.support.oauth import basic_auth

GOOD = {"client_name": "App", "redirect_uris": ["https://app.example.com/cb"]}


@pytest.fixture
def svc(app, tenant):
    """Run service calls inside an app context with the tenant row attached."""
    from app.extensions import db
    from app.models import Tenant

    with app.app_context():
        yield db.session.get(Tenant, tenant.id)
        db.session.rollback()


def _errors(tenant, data) -> dict:
    from app.services import clients
    from app.services.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as caught:
        clients.create_client(tenant, data)
    return caught.value.errors


def test_create_confidential_client(svc):
    from app.models import AuditEvent
    from app.security.tokens import digest
    from app.services import clients
    from app.tenancy import scope

    client, secret = clients.create_client(svc, GOOD)
    assert client.id.startswith("cli_") and secret and len(secret) >= 40
    assert client.secret_digest == digest(secret) and secret not in str(client.secret_digest)
    assert client.grant_types == ["authorization_code", "refresh_token"]
    assert client.id_token_signed_response_alg == "RS256"
    view = clients.client_to_dict(client)
    assert view["client_id"] == client.id
    assert secret not in str(view) and client.secret_digest not in str(view)
    assert not {"client_secret", "secret_digest"} & set(view)
    assert clients.check_client_secret(client, secret)
    assert not clients.check_client_secret(client, secret + "x")
    assert scope(svc).count(AuditEvent, AuditEvent.action == "client.created") == 1


def test_public_client_has_no_secret(svc):
    from app.services import clients

    client, secret = clients.create_client(svc, {**GOOD, "token_endpoint_auth_method": "none"})
    assert secret is None and client.secret_digest is None and client.is_public


@pytest.mark.parametrize(
    ("uri", "ok"),
    [
        ("https://app.example.com/cb", True),
        ("http://localhost:8000/callback", True),
        ("http://127.0.0.1/cb", True),
        ("http://[::1]:9000/cb", True),
        ("http://app.example.com/cb", False),
        ("/relative/cb", False),
        ("https://app.example.com/cb#frag", False),
        ("https://user@app.example.com/cb", False),
        ("javascript:alert(1)", False),
        ("ftp://app.example.com/cb", False),
    ],
)
def test_redirect_uri_rules(svc, uri, ok):
    from app.services import clients

    if ok:
        clients.create_client(svc, {**GOOD, "redirect_uris": [uri]})
    else:
        assert "redirect_uris" in _errors(svc, {**GOOD, "redirect_uris": [uri]})


def test_validation_errors_are_per_field(svc):
    errors = _errors(
        svc,
        {
            "client_name": "",
            "redirect_uris": "not-a-list",
            "grant_types": ["password"],
            "response_types": ["token"],
            "token_endpoint_auth_method": "client_secret_jwt",
            "scope": "openid admin",
            "id_token_signed_response_alg": "HS256",
            "first_party": "yes",
            "color": "blue",
        },
    )
    assert set(errors) == {
        "client_name",
        "redirect_uris",
        "grant_types",
        "response_types",
        "token_endpoint_auth_method",
        "scope",
        "id_token_signed_response_alg",
        "first_party",
        "color",
    }
    assert "grant_types" in _errors(
        svc, {**GOOD, "token_endpoint_auth_method": "none", "grant_types": ["client_credentials"]}
    )
    assert "redirect_uris" in _errors(svc, {"client_name": "No redirect"})


def test_update_rotate_delete_get_list(svc):
    from app.services import clients
    from app.services.errors import NotFound

    client, secret = clients.create_client(svc, GOOD)
    clients.update_client(svc, client, {"client_name": "Renamed", "first_party": True})
    assert client.client_name == "Renamed" and client.first_party
    new_secret = clients.rotate_client_secret(svc, client)
    assert not clients.check_client_secret(client, secret)
    assert clients.check_client_secret(client, new_secret)
    assert clients.get_client(svc, client.id) is client
    assert [c.id for c in clients.list_clients(svc)] == [client.id]
    clients.delete_client(svc, client)
    with pytest.raises(NotFound):
        clients.get_client(svc, client.id)


def test_clients_of_another_tenant_are_not_found(app, svc, other_tenant):
    from app.extensions import db
    from app.models import Tenant
    from app.services import clients
    from app.services.errors import NotFound

    foreign, _ = clients.create_client(db.session.get(Tenant, other_tenant.id), GOOD)
    with pytest.raises(NotFound):
        clients.get_client(svc, foreign.id)
    assert clients.list_clients(svc) == []


def test_cli_clients_create_and_use(app, runner, tenant, tenant_client):
    result = runner.invoke(
        args=[
            "clients", "create", "--tenant", tenant.slug, "--name", "Backend",
            "--grant-type", "client_credentials", "--role", "sync",
        ]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    client_id = result.output.split("client_id: ")[1].split()[0]
    secret = result.output.split("client_secret: ")[1].split()[0]
    response = tenant_client(tenant).post(
        "/oauth2/token",
        data={"grant_type": "client_credentials"},
        headers=basic_auth(client_id, secret),
    )
    assert response.status_code == 200, response.get_json()
    listed = runner.invoke(args=["clients", "list", "--tenant", tenant.slug])
    assert client_id in listed.output and "confidential" in listed.output


def test_cli_clients_create_reports_errors(runner, tenant):
    result = runner.invoke(
        args=["clients", "create", "--tenant", tenant.slug, "--name", "X", "--redirect-uri", "x"]
    )
    assert result.exit_code != 0 and "redirect_uris" in result.output


def test_demo_clients_are_idempotent_and_keep_their_secret(runner):
    first = runner.invoke(args=["demo"])
    second = runner.invoke(args=["demo"])
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output

    def client_lines(output):
        return [line.strip() for line in output.splitlines() if "client" in line]

    before, after = client_lines(first.output), client_lines(second.output)
    assert any(line.startswith("client Acme Demo App (confidential, created)") for line in before)
    assert any(line.startswith("client Acme Demo App (confidential, exists") for line in after)
    assert any("(public, PKCE" in line for line in after)
    ids = [line.split("client_id=")[1] for line in after if "client_id=" in line]
    assert ids == [line.split("client_id=")[1] for line in before if "client_id=" in line]
    assert len([line for line in before if line.startswith("client_secret=")]) == 1
    assert not [line for line in after if line.startswith("client_secret=")]  # not rotated
