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
