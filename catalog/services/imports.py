"""Bulk import jobs: upload → mapping → validation (task) → commit → import (task) → summary."""

import logging
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from uuid import uuid4

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from catalog.imports import runner
from catalog.imports.mapping import auto_map, clean_mapping, detect_kind
from catalog.models import ImportJob
from dropship.accounts.models import User
from dropship.core.errors import DomainError
from dropship.core.spreadsheets import ImportFileError, inspect_file
from suppliers.models import Supplier

logger = logging.getLogger(__name__)

MAX_IMPORT_BYTES = 50 * 1024 * 1024
STALE_AFTER = timedelta(
    minutes=10
)  # a running pass that stopped reporting progress this long ago died


class ImportStateError(DomainError):
    pass


def create_import_job(
    *, supplier: Supplier, actor: User | None, upload: "UploadedFile[bytes]"
) -> ImportJob:
    """Store an uploaded CSV/XLSX with its columns matched to our fields; refuse unreadable files."""
    if upload.size is not None and upload.size > MAX_IMPORT_BYTES:
        raise ImportFileError(
            f"The file is {upload.size / 1024 / 1024:.0f} MB; the limit is "
            f"{MAX_IMPORT_BYTES // 1024 // 1024} MB. Split it into several files.",
            field="file",
        )
    try:
        info = inspect_file(upload)
    except ImportFileError as exc:
        exc.field = "file"
        raise
    mapping = auto_map(info.headers)
    job = ImportJob(
        supplier=supplier,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
        original_filename=(upload.name or "upload")[:255],
        file_format=info.file_format,
        encoding=info.encoding,
        delimiter=info.delimiter,
        headers=info.headers,
        mapping=mapping,
        kind=detect_kind(mapping),
    )
    extension = "xlsx" if info.file_format == ImportJob.FileFormat.XLSX else "csv"
    job.file.save(f"{uuid4().hex}.{extension}", upload, save=False)
    job.save()
    return job


def _locked(job: ImportJob) -> ImportJob:
    return ImportJob.objects.select_for_update().get(pk=job.pk)


@transaction.atomic
def start_import_validation(
    *, job: ImportJob, actor: User | None, mapping: dict[str, str], kind: str
) -> ImportJob:
    """Save the supplier's (corrected) mapping and check every row in the background."""
    from catalog.tasks import validate_import_task  # local: tasks.py imports the services

    job = _locked(job)
    if job.status not in (ImportJob.Status.UPLOADED, ImportJob.Status.VALIDATED):
        raise ImportStateError("This import is already running or finished; upload the file again.")
    if kind not in ImportJob.Kind.values:
        raise ImportStateError("Choose what the file contains.", field="kind")
    job.mapping = clean_mapping(headers=list(job.headers), mapping=mapping, kind=kind)
    job.kind = kind
    job.status = ImportJob.Status.VALIDATING
    job.mode = ""
    job.processed_rows = 0
    job.started_at = None
    job.save(
        update_fields=[
            "mapping",
            "kind",
            "status",
            "mode",
            "processed_rows",
            "started_at",
            "updated_at",
        ]
    )
    transaction.on_commit(partial(validate_import_task.delay, job.pk))
    return job


@transaction.atomic
def commit_import(*, job: ImportJob, actor: User | None, mode: str) -> ImportJob:
    """Import all rows (only when none has an error) or only the valid ones, in the background."""
    from catalog.tasks import run_import_task  # local: tasks.py imports the services

    job = _locked(job)
    if job.status != ImportJob.Status.VALIDATED:
        raise ImportStateError("Only a checked import can be committed.")
    if mode not in ImportJob.Mode.values:
        raise ImportStateError("Choose which rows to import.", field="mode")
    if job.valid_rows == 0:
        raise ImportStateError("No row is valid: correct the file and upload it again.")
    if mode == ImportJob.Mode.ALL and job.invalid_rows:
        raise ImportStateError(
            f"{job.invalid_rows:,} row{'s have' if job.invalid_rows != 1 else ' has'} errors, so "
            "the file cannot be imported whole: correct it, or import only the valid rows.",
            field="mode",
        )
    job.mode = mode
    job.status = ImportJob.Status.IMPORTING
    job.processed_rows = 0
    job.started_at = None
    job.save(update_fields=["mode", "status", "processed_rows", "started_at", "updated_at"])
    transaction.on_commit(partial(run_import_task.delay, job.pk))
    return job


def _claim(job_id: int, status: str) -> ImportJob | None:
    """Take the job for one pass: not when another worker is running it and still reporting."""
    now = timezone.now()
    claimed = (
        ImportJob.objects.filter(pk=job_id, status=status)
        .filter(Q(started_at__isnull=True) | Q(updated_at__lt=now - STALE_AFTER))
        .update(started_at=now, updated_at=now)
    )
    if not claimed:
        return None
    return ImportJob.objects.select_related("supplier", "created_by").get(pk=job_id)


def _fail(job: ImportJob, message: str) -> None:
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.FAILED,
        file_error=message,
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )


def _run_pass(job_id: int, status: str, work: Callable[[ImportJob], object]) -> None:
    job = _claim(job_id, status)
    if job is None:
        return
    try:
        work(job)
    except ImportFileError as exc:
        _fail(job, exc.message)
    except Exception:
        logger.exception("Import job %s failed", job.pk)
        _fail(
            job,
            "The import stopped on an unexpected error; our team has been told. "
            "Rows already imported stay imported; upload the file again to finish.",
        )
        raise


def validate_import(*, job_id: int) -> None:
    """Task body: the validation pass (does nothing unless the job is waiting for it)."""
    _run_pass(job_id, ImportJob.Status.VALIDATING, runner.validate_rows)


def run_import(*, job_id: int) -> None:
    """Task body: the import pass (does nothing unless the job is waiting for it)."""
    _run_pass(job_id, ImportJob.Status.IMPORTING, runner.import_rows)
