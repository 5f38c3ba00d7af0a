"""One database per test process: SQLite by default, PostgreSQL when DATABASE_URL is set."""

from __future__ import annotations

import os
import uuid

from sqlalchemy import create_engine
from sqlalchemy import text
from sqlalchemy.engine import make_url


def is_postgres() -> bool:
    return os.environ.get("DATABASE_URL", "").startswith("postgresql")


def create_test_database(tmp_dir) -> tuple[str, callable]:
    """A fresh, empty database for this process; returns (url, drop)."""
    base = os.environ.get("DATABASE_URL")
    if not base or not base.startswith("postgresql"):
        url = f"sqlite:///{tmp_dir}/gatehouse-test.db"
        return url, lambda: None
    name = f"gh_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin_url = make_url(base)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return admin_url.set(database=name).render_as_string(hide_password=False), drop


def reset_rows(db) -> None:
    """Delete every row (children first); the schema stays."""
    with db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())


def end_other_sessions(url: str) -> int:
    """From outside the app's pool, end every other session on this PostgreSQL database
    (``pg_terminate_backend``), so connections the app keeps or pools are dead on the
    server side; returns how many were ended."""
    from sqlalchemy.pool import NullPool

    outsider = create_engine(url, poolclass=NullPool)
    try:
        with outsider.connect() as connection:
            return connection.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ).scalar()
    finally:
        outsider.dispose()


def use_up_elsewhere(app, model, row_id: str) -> None:
    """What another request does in a transaction of its own: mark a single-use row (an
    authorization code, a refresh token) used, and commit."""
    from sqlalchemy import update

    from app import rls
    from app.extensions import db
    from app.models.base import utcnow

    with app.app_context():
        rls.bypass("test: another request uses it")
        db.session.execute(update(model).where(model.id == row_id).values(used_at=utcnow()))
        db.session.commit()
