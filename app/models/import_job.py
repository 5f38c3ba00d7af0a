"""Bulk import jobs (DESIGN §3 "import job"): progress and per-line errors."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from app.extensions import db
from app.models.base import TenantOwned
from app.models.base import UTCDateTime
from app.models.base import id_column


class ImportJob(TenantOwned, db.Model):
    """One uploaded file. ``status``: queued, running, done, failed."""

    __tablename__ = "import_jobs"

    id: Mapped[str] = id_column("imp")
    status: Mapped[str] = mapped_column(String(16), default="queued", nullable=False)
    filename: Mapped[str] = mapped_column(String(255), default="", nullable=False)
    # Where the upload is spooled until the job has run (removed afterwards).
    source_path: Mapped[str | None] = mapped_column(String(1000))
    processed: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    created: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    updated: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    error_count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    # [{"line": n, "error": "..."}], the first ERRORS_KEPT of them.
    errors: Mapped[list] = mapped_column(JSON, default=list, nullable=False)
    failure: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
