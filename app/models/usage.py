"""Daily usage aggregates per tenant: one row per (tenant, UTC day, metric).

The hot path never writes here: counters live in Redis (or in the process) and the worker
flushes them (app/services/usage.py). A narrow table keeps new metrics (a grant type) a
row, not a migration, and makes the flush one upsert that adds.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger
from sqlalchemy import Date
from sqlalchemy import ForeignKey
from sqlalchemy import String
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from app.extensions import db


class DailyUsage(db.Model):
    __tablename__ = "tenant_usage_daily"

    tenant_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True, index=True)
    metric: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
