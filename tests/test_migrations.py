"""The schema comes only from migrations: empty → head, no drift against the models."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from flask_migrate import downgrade
from flask_migrate import upgrade
from sqlalchemy import inspect
from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.models import Role
from app.models import Tenant
from tests.conftest import TEST_CONFIG
from tests.support.database import create_test_database


def _fresh_app(tmp_path):
    url, drop = create_test_database(tmp_path)
    return create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": url}), drop


def test_upgrade_from_empty_to_head_matches_the_models(tmp_path):
    app, drop = _fresh_app(tmp_path)
    try:
        with app.app_context():
            upgrade()
            with db.engine.connect() as connection:
                context = MigrationContext.configure(
                    connection, opts={"compare_type": True, "render_as_batch": True}
                )
                diff = compare_metadata(context, db.metadata)
            assert diff == [], f"models and migrations differ: {diff}"
            system = db.session.scalar(select(Tenant).where(Tenant.slug == "system"))
            assert system is not None and system.id.startswith("ten_")
            names = {
                r.name for r in db.session.scalars(select(Role).where(Role.tenant_id == system.id))
            }
            assert {"admin", "member", "owner"} <= names
            db.session.remove()
            downgrade(revision="base")
            assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
            db.engine.dispose()
    finally:
        drop()


def test_readyz_is_ready_at_head(tmp_path):
    app, drop = _fresh_app(tmp_path)
    try:
        with app.app_context():
            upgrade()
        response = app.test_client().get("/readyz")
        assert response.status_code == 200, response.get_json()
        with app.app_context():
            db.engine.dispose()
    finally:
        drop()


def _down_revision_of(script_name: str) -> str:
    import re
    from pathlib import Path

    text = (Path(__file__).parent.parent / "migrations" / "versions" / script_name).read_text()
    return re.search(r'^down_revision = "([^"]+)"', text, re.M).group(1)


def test_events_migration_keeps_the_dev_outbox_and_adds_the_queues(tmp_path):
    """0004: outbox rows written before it survive (as logged mail); the new tables work."""
    from datetime import UTC
    from datetime import datetime

    from sqlalchemy import text

    app, drop = _fresh_app(tmp_path)
    try:
        with app.app_context():
            upgrade(revision=_down_revision_of("0004_events_webhooks.py"))
            now = datetime.now(UTC)
            with db.engine.begin() as conn:
                system_id = conn.execute(
                    text("SELECT id FROM tenants WHERE slug='system'")
                ).scalar()
                conn.execute(
                    text(
                        'INSERT INTO outbox_messages (id, tenant_id, "to", subject, body_text,'
                        " created_at) VALUES ('msg_old', :t, 'ada@example.com', 'Hello',"
                        " 'Open http://x.test/verify/abc', :now)"
                    ),
                    {"t": system_id, "now": now},
                )
            upgrade(revision="0004")
            from app.models import Event
            from app.models import WebhookDelivery
            from app.models import WebhookEndpoint

            # Read with SQL: later revisions add outbox columns the model at head maps.
            old = db.session.execute(
                text('SELECT status, attempts, "to", body_text FROM outbox_messages')
            ).one()
            assert (old.status, old.attempts, old.to) == ("logged", 0, "ada@example.com")
            assert old.body_text == "Open http://x.test/verify/abc"
            event = Event(tenant_id=system_id, type="tenant.created", data={"slug": "x"})
            endpoint = WebhookEndpoint(
                tenant_id=system_id, url="https://hooks.example/in", secret_encrypted="x"
            )
            db.session.add_all([event, endpoint])
            db.session.flush()
            db.session.add(
                WebhookDelivery(
                    tenant_id=system_id,
                    endpoint_id=endpoint.id,
                    event_id=event.id,
                    event_type=event.type,
                )
            )
            db.session.commit()
            delivery = db.session.scalar(select(WebhookDelivery))
            assert delivery.status == "pending" and delivery.attempts == 0
            assert endpoint.events == ["*"] and endpoint.enabled is True
            db.session.remove()
            db.engine.dispose()
    finally:
        drop()
