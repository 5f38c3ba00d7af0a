"""The gatehouse command: tenants, admin keys, users, demo."""

from sqlalchemy import select

from app.extensions import db
from app.models import AdminApiKey
from app.models import OutboxMessage
from app.security.tokens import digest
from app.services import tenants as tenants_service


def test_tenants_create_list_suspend_resume(app, runner):
    result = runner.invoke(args=["tenants", "create", "acme-corp", "--name", "Acme Corp"])
    assert result.exit_code == 0, result.output
    assert "issuer=http://acme-corp.gatehouse.test" in result.output
    assert "acme-corp" in runner.invoke(args=["tenants", "list"]).output
    assert "suspended" in runner.invoke(args=["tenants", "suspend", "acme-corp"]).output
    assert "active" in runner.invoke(args=["tenants", "resume", "acme-corp"]).output


def test_tenants_create_refuses_bad_and_duplicate_slugs(app, runner):
    assert runner.invoke(args=["tenants", "create", "Bad Slug", "--name", "X"]).exit_code != 0
    runner.invoke(args=["tenants", "create", "acme-corp", "--name", "Acme"])
    result = runner.invoke(args=["tenants", "create", "acme-corp", "--name", "Acme"])
    assert result.exit_code != 0 and "already exists" in result.output


def test_tenants_create_with_owner_sends_an_invitation(app, runner):
    result = runner.invoke(
        args=["tenants", "create", "acme-corp", "--name", "Acme", "--owner-email", "boss@acme.com"]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        message = db.session.scalar(
            select(OutboxMessage).where(OutboxMessage.to == "boss@acme.com")
        )
        assert "http://acme-corp.gatehouse.test/invitations/" in message.body_text


def test_admin_key_create_prints_the_key_last_and_stores_a_digest(app, runner, tenant):
    result = runner.invoke(args=["admin-key", "create", "--tenant", "acme-corp"])
    assert result.exit_code == 0, result.output
    raw = result.output.strip().splitlines()[-1]
    assert raw.startswith("gh_admin_")
    with app.app_context():
        key = db.session.scalar(select(AdminApiKey))
        assert key.key_digest == digest(raw) and key.tenant_id == tenant.id
        assert raw not in (key.prefix + key.key_digest)


def test_users_create_prints_a_password_once(app, runner, tenant):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--tenant",
            "acme-corp",
            "--email",
            "ops@acme.com",
            "--role",
            "admin",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "password: " in result.output


def test_demo_is_idempotent(app, runner):
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0, second.output
    assert "admin@acme.example.com" in second.output
    with app.app_context():
        assert tenants_service.get_tenant("acme-corp").name == "Acme Corp"


def test_demo_run_again_changes_nothing_and_prints_the_secret_only_once(app, runner):
    from app.models import Client
    from app.models import User
    from app.services import users as users_service

    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    assert first.output.count("client_secret=") == 1  # the confidential demo client
    assert "shown only now" in first.output
    with app.app_context():
        demo = tenants_service.get_tenant("acme-corp")
        digests = {c.id: c.secret_digest for c in db.session.scalars(select(Client))}
        admin = db.session.scalar(select(User).where(User.email == "admin@acme.example.com"))
        users_service.update_user(demo, admin, {"password": "violet harbour compass 77"})
        db.session.commit()
        admin_hash = db.session.get(User, admin.id).password_hash

    second = runner.invoke(args=["demo"])
    assert second.exit_code == 0, second.output
    assert "client_secret=" not in second.output
    assert "exists, left unchanged" in second.output
    assert "shown once when it was created" in second.output
    with app.app_context():
        assert {c.id: c.secret_digest for c in db.session.scalars(select(Client))} == digests
        assert db.session.get(User, admin.id).password_hash == admin_hash
