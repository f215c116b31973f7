"""Imports uploaded through the pages: keep the file, dry-run it, then import it with progress.

The rules are registry.inventory's (use cases in the contract format, or investment per
layer and period, by the job's kind); this module only stores the
upload, reports on it and queues it. Only who may import (the program office) stores, checks,
queues and imports; the background work acts as the user who uploaded.

A job always ends: whatever stops a check or an import (the file's problems, a refusal of the
database while writing, a bug), the job is left invalid or failed with a message for the user,
never "checking" or "importing"; an unexpected error is logged with its traceback.
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import asdict
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.errors import NotAllowed
from core.workers import hand_to_worker, task_named
from registry import access
from registry.inventory.common import ImportFailed, ImportWriteFailed
from registry.inventory.formats import CONTRACT_FORMAT, import_use_cases
from registry.inventory.investments import import_investments

from .models import ImportJob

# How often a running import writes its progress (rows).
PROGRESS_EVERY = 250
NOT_ALLOWED = "Imports are the program office's."
UNEXPECTED = ("The {work} stopped on an unexpected error ({error}); nothing was imported. "
              "It was logged as import job {pk} for the administrators.")

logger = logging.getLogger(__name__)



def _import_of(job: ImportJob):
    """The import that reads the job's kind of file, and what its report counts."""
    if job.kind == ImportJob.Kind.INVESTMENTS:
        return import_investments, "investments"
    return partial(import_use_cases, format=CONTRACT_FORMAT), "use cases"


def max_upload_bytes() -> int:
    """The largest upload imported (the setting IMPORT_MAX_UPLOAD_BYTES)."""
    return getattr(settings, "IMPORT_MAX_UPLOAD_BYTES", 20 * 1024 * 1024)


def _safe_name(filename: str) -> str:
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(filename).name).strip("._") or "upload"
    suffix = ".xlsx" if filename.lower().endswith(".xlsx") else ".csv"
    return name if name.lower().endswith(suffix) else name + suffix


@contextmanager
def _uploaded_file(job: ImportJob) -> Iterator[Path]:
    """The upload on disk under its own name, so messages name the file the user chose."""
    with tempfile.TemporaryDirectory(prefix="lastmile-import-") as folder:
        path = Path(folder) / _safe_name(job.filename)
        path.write_bytes(bytes(job.content))
        yield path


def _named(failed: ImportFailed, path: Path, filename: str) -> list[str]:
    """The problems listed (at most IMPORT_MAX_ERRORS, then how many more), naming the file the
    user uploaded rather than its temporary copy."""
    return [line.replace(str(path), filename) for line in failed.lines]


def _too_large(filename: str, size: int) -> str | None:
    if size <= max_upload_bytes():
        return None
    return f"{filename} is {size:,} bytes; uploads of at most {max_upload_bytes():,} bytes are imported (split the file)"


def store_upload(*, filename: str, content: bytes, actor, kind: str = ImportJob.Kind.USE_CASES) -> ImportJob:
    """Keep the upload and hand its dry run (check_upload) to a worker once committed; an upload
    larger than IMPORT_MAX_UPLOAD_BYTES is kept only as a refused (invalid) job saying so.
    Refuses (NotAllowed) unless the actor may import."""
    access.require(access.can_import(actor), NOT_ALLOWED)
    name = Path(filename.replace("\x00", "")).name[:255]
    if refusal := _too_large(name, len(content)):  # kept as a refused job, without its content
        return ImportJob.objects.create(kind=kind, filename=name, content=b"", uploaded_by=actor,
                                        status=ImportJob.Status.INVALID, errors=[refusal], finished_at=timezone.now())
    job = ImportJob.objects.create(kind=kind, filename=name, content=content, uploaded_by=actor,
                                   status=ImportJob.Status.UPLOADED, phase="waiting to be checked")
    transaction.on_commit(lambda: hand_to_worker(task_named("web.tasks.check_uploaded_use_cases"), job.pk))
    return job


def queue_checked_import(*, job_pk: int, actor) -> bool:
    """Queue a checked upload for import: CHECKED becomes QUEUED and goes to a worker once
    committed. Returns whether it did (False when the job is not, or no longer, checked:
    someone else queued it, or it has errors).
    Refuses (NotAllowed) unless the actor may import."""
    access.require(access.can_import(actor), NOT_ALLOWED)
    queued = bool(ImportJob.objects.filter(pk=job_pk, status=ImportJob.Status.CHECKED).update(
        status=ImportJob.Status.QUEUED, phase="waiting for a worker"))
    if queued:
        transaction.on_commit(lambda: hand_to_worker(task_named("web.tasks.import_uploaded_use_cases"), job_pk))
    return queued


def _progress_of(job: ImportJob, *, then: str):
    """Wraps the rows the importer reads, writing how far it got every PROGRESS_EVERY rows."""
    def progress(rows: Iterable) -> Iterator:
        total = len(rows) if hasattr(rows, "__len__") else 0
        ImportJob.objects.filter(pk=job.pk).update(rows=total, rows_done=0)
        done = 0
        for row in rows:
            yield row
            done += 1
            if done % PROGRESS_EVERY == 0:
                ImportJob.objects.filter(pk=job.pk).update(rows_done=min(done, total))
        ImportJob.objects.filter(pk=job.pk).update(rows_done=min(done, total), phase=then)

    return progress


def _unexpected(job: ImportJob, error: Exception, *, work: str) -> str:
    """Log an error nobody planned for, with its traceback; the short message the user sees."""
    logger.error("Import job %s (%s): the %s stopped on an unexpected error", job.pk, job.filename, work,
                 exc_info=error)
    return UNEXPECTED.format(work=work, error=error.__class__.__name__, pk=job.pk)


def check_upload(job: ImportJob) -> ImportJob:
    """Dry-run a stored upload: the job then holds the row errors (at most IMPORT_MAX_ERRORS,
    then how many more), or what would change. Whatever happens, the job ends checked or
    invalid."""
    if job.status not in (ImportJob.Status.UPLOADED, ImportJob.Status.CHECKING):
        return job
    try:
        fields = _check(job)
    except Exception as error:  # the job must not stay "checking": end it, and log the bug
        fields = dict(status=ImportJob.Status.INVALID, errors=[_unexpected(job, error, work="check")], content=b"")
    ImportJob.objects.filter(pk=job.pk).update(phase="", **fields)
    job.refresh_from_db()
    return job


def _check(job: ImportJob) -> dict:
    if refusal := _too_large(job.filename, len(job.content)):
        return dict(status=ImportJob.Status.INVALID, errors=[refusal], content=b"")
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.CHECKING, phase="checking rows")
    with _uploaded_file(job) as path:
        try:
            importer, _ = _import_of(job)
            report = importer(path, actor=job.uploaded_by, dry_run=True,
                              progress=_progress_of(job, then="comparing with the registry"))
        except ImportFailed as failed:
            return dict(status=ImportJob.Status.INVALID, errors=_named(failed, path, job.filename), content=b"")
        except NotAllowed as refused:  # the uploader lost the right to import since the upload
            return dict(status=ImportJob.Status.INVALID, errors=[refused.message], content=b"")
        except ImportWriteFailed as failed:
            logger.error("Import job %s (%s): the database refused the check", job.pk, job.filename, exc_info=failed)
            return dict(status=ImportJob.Status.INVALID, errors=[str(failed)], content=b"")
    return dict(status=ImportJob.Status.CHECKED, summary=report.summary(_import_of(job)[1]),
                changes=[asdict(change) for change in report.changes])


def run_import(job: ImportJob) -> ImportJob:
    """Import a checked upload; safe to call twice (a finished job is left alone). Whatever
    happens, the job ends done or failed."""
    if job.status not in (ImportJob.Status.QUEUED, ImportJob.Status.CHECKED, ImportJob.Status.RUNNING):
        return job
    try:
        fields = _import(job)
    except Exception as error:  # the job must not stay "importing": end it, and log the bug
        fields = dict(status=ImportJob.Status.FAILED, errors=[_unexpected(job, error, work="import")])
    ImportJob.objects.filter(pk=job.pk).update(phase="", finished_at=timezone.now(), **fields)
    job.refresh_from_db()
    return job


def _import(job: ImportJob) -> dict:
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.RUNNING, phase="checking rows", rows_done=0)
    with _uploaded_file(job) as path:
        try:
            importer, _ = _import_of(job)
            report = importer(path, actor=job.uploaded_by, progress=_progress_of(job, then="writing to the registry"))
        except ImportFailed as failed:
            # The registry changed since the dry run: nothing was written.
            return dict(status=ImportJob.Status.FAILED, errors=_named(failed, path, job.filename))
        except NotAllowed as refused:  # the uploader lost the right to import since the check
            return dict(status=ImportJob.Status.FAILED, errors=[refused.message])
        except ImportWriteFailed as failed:  # the database refused the write: nothing was written
            logger.error("Import job %s (%s): the database refused the import", job.pk, job.filename, exc_info=failed)
            return dict(status=ImportJob.Status.FAILED, errors=[str(failed)])
    return dict(status=ImportJob.Status.DONE, summary=report.summary(_import_of(job)[1]), rows_done=job.rows,
                content=b"")
