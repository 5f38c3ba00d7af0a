"""Claiming due rows of a queue table, safely with any number of workers.

A claim is a lease (``locked_until``), taken in a short transaction: on PostgreSQL the
candidates are read ``FOR UPDATE SKIP LOCKED`` so concurrent workers take different
rows without waiting; every backend then takes each row with a conditional UPDATE, so
two workers never hold one lease. The network call happens after the commit, with no
lock held; a worker that dies mid-delivery leaves a lease that expires, and the row is
retried (at least once delivery).
"""

from __future__ import annotations

from datetime import datetime
from datetime import timedelta

from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session


def claim(session: Session, model, now: datetime, *, limit: int, lease: float) -> list:
    """Lease up to ``limit`` due rows (``status == 'pending'``) of ``model``; commits."""
    free = or_(model.locked_until.is_(None), model.locked_until < now)
    stmt = (
        select(model.id)
        .where(model.status == "pending", model.next_attempt_at <= now, free)
        .order_by(model.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    ids = list(session.scalars(stmt))
    until = now + timedelta(seconds=lease)
    taken = []
    for id_ in ids:
        result = session.execute(
            update(model).where(model.id == id_, free).values(locked_until=until)
        )
        if result.rowcount == 1:
            taken.append(id_)
    session.commit()
    if not taken:
        return []
    return list(session.scalars(select(model).where(model.id.in_(taken))))
