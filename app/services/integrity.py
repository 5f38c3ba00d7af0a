"""Unique-constraint races, answered like the sequential case.

Services check uniqueness with a query first ("a user with this email already exists")
and then insert. Two concurrent requests can both pass the check; the database's unique
constraint then stops the second at flush with an ``IntegrityError``. :func:`flush_unique`
turns exactly that into the same :class:`~app.services.errors.Conflict` the check raises,
after rolling the transaction back (the failed operation leaves nothing half-done, and
the session stays usable for rendering the answer: a form message, 409 problem+json).
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.services.errors import Conflict

_UNIQUE_SQLSTATE = "23505"  # PostgreSQL unique_violation


def is_unique_violation(exc: IntegrityError) -> bool:
    """True when ``exc`` is a unique (or primary key) constraint, on PostgreSQL or SQLite."""
    orig = exc.orig
    if getattr(orig, "sqlstate", None) == _UNIQUE_SQLSTATE:
        return True
    message = str(orig)
    return message.startswith(("UNIQUE constraint failed", "PRIMARY KEY constraint failed"))


def flush_unique(conflict: Conflict) -> None:
    """Flush pending changes; a unique constraint broken by a concurrent request raises
    ``conflict`` (after a rollback) instead of an ``IntegrityError``."""
    try:
        db.session.flush()
    except IntegrityError as exc:
        db.session.rollback()
        if not is_unique_violation(exc):
            raise
        raise conflict from exc
