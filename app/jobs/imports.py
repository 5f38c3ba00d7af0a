"""Running an import job: the edge that commits.

The upload is spooled to a file under the instance folder, then read one record at a
time (see ``services.portability.sources``); each record is applied in a savepoint, and
progress is committed every ``BATCH`` records, after which the session is cleared so
memory stays flat however large the file. Small uploads run inside the request, larger
ones in a background thread of the same process (``IMPORT_INLINE_BYTES``; on SQLite,
which has a single writer, every job runs inside the request).
"""

from __future__ import annotations

import os
import tempfile
import threading
from typing import BinaryIO

from flask import Flask
from flask import current_app
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import ImportJob
from app.models import Tenant
from app.services.errors import ServiceError
from app.services.portability import jobs
from app.services.portability import sources
from app.services.portability import tenant_import
from app.services.portability.records import RecordError
from app.services.portability.user_import import UserImporter

BATCH = 500
CHUNK = 64 * 1024


def spool(stream: BinaryIO, max_bytes: int) -> tuple[str, int]:
    """Copy an upload to a private file in chunks; returns (path, size)."""
    folder = os.path.join(current_app.instance_path, "imports")
    os.makedirs(folder, mode=0o700, exist_ok=True)
    handle, path = tempfile.mkstemp(prefix="import-", suffix=".json", dir=folder)
    size = 0
    with os.fdopen(handle, "wb") as out:
        while chunk := stream.read(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                out.close()
                os.unlink(path)
                raise ValueError(f"the file is larger than {max_bytes} bytes")
            out.write(chunk)
    return path, size


def discard(path: str | None) -> None:
    if path and os.path.exists(path):
        os.unlink(path)


def _chunks(items, size: int):
    """Lists of ``size`` items; a broken file still yields what was read before it."""
    chunk = []
    try:
        for item in items:
            chunk.append(item)
            if len(chunk) == size:
                yield chunk
                chunk = []
    except sources.SourceError as exc:
        exc.pending = chunk
        raise
    if chunk:
        yield chunk


def _apply_chunk(importer: UserImporter, chunk: list) -> list:
    """The chunk in one savepoint; if the database refuses it (two records of the file
    racing for one email, a concurrent change), again record by record."""
    try:
        with db.session.begin_nested():
            results = importer.apply_chunk(chunk)
            importer.flush()
        return results
    except IntegrityError as exc:
        current_app.logger.info("import chunk redone record by record: %s", exc.orig)
    results = []
    for item in chunk:
        try:
            with db.session.begin_nested():
                results.extend(importer.apply_chunk([item]))
                importer.flush()
        except IntegrityError:
            results.append((item[0], RecordError("conflicts with an existing user or identity")))
    return results


def _apply_records(job_id, tenant_id, importer, items, progress) -> None:
    try:
        for chunk in _chunks(items, BATCH):
            if not _apply_counted(job_id, tenant_id, importer, chunk, progress):
                break
    except sources.SourceError as exc:
        if getattr(exc, "pending", None):
            _apply_counted(job_id, tenant_id, importer, exc.pending, progress)
        raise


def _apply_counted(job_id, tenant_id, importer, chunk, progress) -> bool:
    """Apply a chunk within the job's limit and commit; False once the limit is reached."""
    room = jobs.MAX_USERS - progress.processed
    if room <= 0:
        progress.error(chunk[0][0], f"more than {jobs.MAX_USERS} users in one job: split it")
        return False
    for line, outcome in _apply_chunk(importer, chunk[:room]):
        if isinstance(outcome, RecordError):
            progress.error(line, str(outcome))
        else:
            progress.count(outcome)
    _checkpoint(job_id, progress)
    importer.tenant = db.session.get(Tenant, tenant_id)
    return True


# Tables an import grows; their planner statistics are refreshed as they grow.
GROWN_TABLES = ("users", "user_roles", "memberships", "membership_roles", "linked_identities")


def _checkpoint(job_id: str, progress: jobs.Progress) -> None:
    progress.write(db.session.get(ImportJob, job_id))
    db.session.commit()
    db.session.expunge_all()  # flat memory: nothing of the last batch stays referenced
    _refresh_statistics(progress.processed)


def _refresh_statistics(processed: int) -> None:
    """On PostgreSQL, ANALYZE the grown tables after 1, 2, 4, 8... chunks. Autovacuum lags
    behind a bulk load, and with statistics of a near-empty table the planner looks users
    up by ``tenant_id`` alone, which makes each chunk scan the whole tenant (quadratic)."""
    chunks = processed // BATCH
    if db.engine.dialect.name != "postgresql" or chunks == 0 or chunks & (chunks - 1):
        return
    with db.engine.connect() as connection:
        for table in GROWN_TABLES:
            connection.exec_driver_sql(f"ANALYZE {table}")
        connection.commit()


def run(job_id: str) -> ImportJob:
    """Run a queued job to the end (in the current app context); returns the job."""
    job = db.session.get(ImportJob, job_id)
    tenant = db.session.get(Tenant, job.tenant_id)
    path, progress, failure, notes = job.source_path, jobs.Progress(), None, []
    jobs.start(job)
    db.session.commit()
    try:
        with open(path, "rb") as stream:
            if sources.sniff(stream) == "tenant":
                notes = _run_tenant(job_id, tenant, stream, progress)
            else:
                importer = UserImporter(tenant)
                _apply_records(job_id, tenant.id, importer, sources.records(stream), progress)
    except sources.SourceError as exc:
        db.session.rollback()
        failure = str(exc)
        progress.error(exc.line, failure, counted=False)
    except (ServiceError, KeyError, TypeError, ValueError) as exc:
        db.session.rollback()
        failure = f"the tenant export could not be applied: {exc}"
        progress.error(0, failure, counted=False)
    except Exception as exc:  # noqa: BLE001 - a job never stays "running" forever
        current_app.logger.exception("import job %s stopped", job_id)
        db.session.rollback()
        failure = f"the job stopped: {exc.__class__.__name__}"
        progress.error(0, failure, counted=False)
    for note in notes:
        progress.error(0, note, counted=False)
    job = db.session.get(ImportJob, job_id)
    jobs.finish(db.session.get(Tenant, job.tenant_id), job, progress, failure)
    db.session.commit()
    discard(path)
    return job


def _run_tenant(job_id, tenant, stream, progress) -> list[str]:
    """A whole-tenant export: its sections in order, then its users."""
    notes: list[str] = []
    seen_format = False
    for key, value in sources.sections(stream):
        if key == "users":
            if not seen_format:
                raise tenant_import.ExportRejected("the file does not start as an export")
            db.session.commit()
            importer = UserImporter(db.session.get(Tenant, tenant.id), keep_ids=True)
            _apply_records(job_id, tenant.id, importer, value, progress)
            continue
        seen_format = seen_format or key == "gatehouse_export"
        notes.extend(tenant_import.apply_section(db.session.get(Tenant, tenant.id), key, value))
    return notes


def start(tenant: Tenant, stream: BinaryIO, filename: str, check=None) -> ImportJob:
    """Spool an upload, queue its job and run it: now when it is small (or on SQLite),
    else in a background thread. ``check(path)`` may refuse the file first (it is then
    removed). Raises ValueError when the upload is larger than IMPORT_MAX_BYTES."""
    path, size = spool(stream, current_app.config["IMPORT_MAX_BYTES"])
    try:
        if check is not None:
            check(path)
    except Exception:
        discard(path)
        raise
    job = jobs.create_job(tenant, filename, path)
    db.session.commit()
    if size <= current_app.config["IMPORT_INLINE_BYTES"] or not can_run_concurrently():
        return run(job.id)
    run_in_background(current_app._get_current_object(), job.id)
    return job


def can_run_concurrently() -> bool:
    """SQLite has one writer at a time: a background job there would fight every request
    for the lock, so on SQLite jobs run inside the request whatever their size."""
    return db.engine.dialect.name != "sqlite"


def run_in_background(app: Flask, job_id: str) -> threading.Thread:
    """Run the job in a daemon thread with its own app context (and session)."""

    def target():
        with app.app_context():
            try:
                run(job_id)
            finally:
                db.session.remove()

    thread = threading.Thread(target=target, name=f"import-{job_id}", daemon=True)
    thread.start()
    return thread
