"""Extensions, created unbound here and bound in create_app (STYLE principle 2)."""

from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData

from app.db_session import RetryingSession

# A naming convention so that Alembic can name (and later drop) every constraint.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# expire_on_commit=False: the one commit happens at the end of a request, after which
# rows are only read (rendering, logging), never re-fetched. RetryingSession: a dropped
# connection is recovered on the first statement (app/db_session.py), no pre-ping.
db = SQLAlchemy(
    metadata=MetaData(naming_convention=NAMING_CONVENTION),
    session_options={"expire_on_commit": False, "class_": RetryingSession},
)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()


def _client_ip() -> str:
    from flask import request

    return request.remote_addr or "unknown"


limiter = Limiter(key_func=_client_ip, default_limits=[])


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """WAL and a busy timeout: SQLite serves concurrent readers and one writer cleanly."""
    import sqlite3

    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def init_sqlite_pragmas() -> None:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if not event.contains(Engine, "connect", _sqlite_pragmas):
        event.listen(Engine, "connect", _sqlite_pragmas)
