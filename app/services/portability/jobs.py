"""Import jobs: creation, progress, per-line errors (DESIGN §3 "import job")."""

from __future__ import annotations

from app.extensions import db
from app.models import ImportJob
from app.models import Tenant
from app.models.base import utcnow
from app.services import audit
from app.services.errors import NotFound
from app.tenancy import scope

# Kept on the job (and in its error report); the count goes on beyond.
ERRORS_KEPT = 10_000
MAX_USERS = 100_000


def create_job(tenant: Tenant, filename: str, source_path: str) -> ImportJob:
    job = scope(tenant).add(
        ImportJob(
            status="queued",
            filename=(filename or "")[:255],
            source_path=source_path,
            errors=[],
            processed=0,
            created=0,
            updated=0,
            error_count=0,
        )
    )
    db.session.flush()
    audit.record(tenant, "users.import_started", target_type="import_job", target_id=job.id)
    return job


def get_job(tenant: Tenant, job_id: str) -> ImportJob:
    job = scope(tenant).get(ImportJob, job_id)
    if job is None:
        raise NotFound("No such import job.")
    return job


def list_jobs(tenant: Tenant, limit: int = 20) -> list[ImportJob]:
    return list(
        db.session.scalars(
            scope(tenant).select(ImportJob).order_by(ImportJob.id.desc()).limit(limit)
        )
    )


def is_finished(job: ImportJob) -> bool:
    return job.status in ("done", "failed")


class Progress:
    """Counts kept in memory while a job runs, written to the job row at each batch."""

    def __init__(self):
        self.processed = self.created = self.updated = self.error_count = 0
        self.errors: list[dict] = []

    def count(self, outcome: str) -> None:
        self.processed += 1
        if outcome in ("created", "updated"):
            setattr(self, outcome, getattr(self, outcome) + 1)

    def error(self, line: int, message: str, *, counted: bool = True) -> None:
        if counted:
            self.processed += 1
        self.error_count += 1
        if len(self.errors) < ERRORS_KEPT:
            self.errors.append({"line": line, "error": message[:500]})

    def write(self, job: ImportJob) -> None:
        job.processed, job.created, job.updated = self.processed, self.created, self.updated
        job.error_count = self.error_count
        job.errors = list(self.errors)


def start(job: ImportJob) -> None:
    job.status, job.started_at = "running", utcnow()


def finish(tenant: Tenant, job: ImportJob, progress: Progress, failure: str | None = None):
    progress.write(job)
    job.status = "failed" if failure else "done"
    job.failure = failure
    job.finished_at = utcnow()
    job.source_path = None
    audit.record(
        tenant,
        "users.imported",
        target_type="import_job",
        target_id=job.id,
        status=job.status,
        processed=job.processed,
        created=job.created,
        updated=job.updated,
        errors=job.error_count,
    )
