"""The two passes of an import job, streamed in batches: validate, then write.

Neither pass holds the file in memory: rows are read, checked and written BATCH_SIZE at a time,
with a few queries per batch, and the job row is updated after each batch so the page can show
progress. Each written batch is its own transaction: a batch is never half-written, and running
the import again (after a crash) converges to the same catalog because rows are upserted.

The catalog writer depends on the engine: on PostgreSQL a batch is streamed into a staging table
with COPY and applied set-based (catalog/imports/postgresql.py), elsewhere (SQLite under
`make run`) it is written through the ORM (catalog/imports/writer.py); both give each row the
same outcome.
"""

import itertools
from collections.abc import Iterator

from django.db import connection, transaction
from django.utils import timezone

from catalog.imports.postgresql import CopyCatalogWriter
from catalog.imports.rows import CatalogChecker, CategoryIndex, RowError, RowParser, StockChecker
from catalog.imports.writer import CREATED, FAILED, UNCHANGED, UPDATED, CatalogWriter, StockWriter
from catalog.models import ImportJob, ImportRowError
from dropship.core.spreadsheets import FileInfo, count_data_rows, iter_data_rows

BATCH_SIZE = 1000
MAX_STORED_ERRORS = 5000


def _batches(rows: Iterator, size: int) -> Iterator[list]:
    while batch := list(itertools.islice(rows, size)):
        yield batch


def _file_info(job: ImportJob) -> FileInfo:
    return FileInfo(
        file_format=job.file_format,
        encoding=job.encoding,
        delimiter=job.delimiter,
        headers=list(job.headers),
    )


def catalog_writer_class() -> type[CatalogWriter] | type[CopyCatalogWriter]:
    """The catalog writer for this database: COPY and set-based SQL on PostgreSQL, the ORM
    elsewhere."""
    return CopyCatalogWriter if connection.vendor == "postgresql" else CatalogWriter


def _checker(job: ImportJob) -> CatalogChecker | StockChecker:
    is_catalog = job.kind == ImportJob.Kind.CATALOG
    parser = RowParser(
        headers=list(job.headers),
        mapping=job.mapping,
        categories=CategoryIndex() if is_catalog else None,
    )
    if is_catalog:
        return CatalogChecker(supplier_id=job.supplier_id, parser=parser)
    return StockChecker(supplier_id=job.supplier_id, parser=parser)


class _ErrorSink:
    """Stores row errors in bulk, up to MAX_STORED_ERRORS per job (the counts stay exact)."""

    def __init__(self, job: ImportJob):
        self.job = job
        self.stored = 0

    def add(self, errors: list[RowError]) -> None:
        room = MAX_STORED_ERRORS - self.stored
        if room <= 0 or not errors:
            return
        ImportRowError.objects.bulk_create(
            [
                ImportRowError(
                    job=self.job, row_number=e.row, column=e.column[:255], message=e.message[:500]
                )
                for e in errors[:room]
            ]
        )
        self.stored += min(room, len(errors))


def _progress(job: ImportJob, **fields) -> None:
    ImportJob.objects.filter(pk=job.pk).update(updated_at=timezone.now(), **fields)


def validate_rows(job: ImportJob) -> None:
    """Pass 1: check every row; store the problems; count valid and invalid rows."""
    ImportRowError.objects.filter(job=job).delete()
    info = _file_info(job)
    with job.file.open("rb") as fileobj:
        total = count_data_rows(fileobj, info)
        _progress(job, total_rows=total, processed_rows=0, valid_rows=0, invalid_rows=0)
        checker = _checker(job)
        sink = _ErrorSink(job)
        processed = valid_count = invalid_count = 0
        for batch in _batches(iter_data_rows(fileobj, info), BATCH_SIZE):
            valid, errors, invalid = checker.check(batch)
            sink.add(errors)
            processed += len(batch)
            valid_count += len(valid)
            invalid_count += invalid
            _progress(
                job,
                processed_rows=processed,
                valid_rows=valid_count,
                invalid_rows=invalid_count,
            )
    _progress(
        job,
        status=ImportJob.Status.VALIDATED,
        validated_at=timezone.now(),
        processed_rows=total,
    )


def import_rows(job: ImportJob) -> None:
    """Pass 2: check again (the catalog may have moved on) and write the valid rows, batch by batch."""
    ImportRowError.objects.filter(job=job).delete()
    info = _file_info(job)
    reference = f"Import #{job.pk} ({job.original_filename})"[:120]
    checker = _checker(job)
    stock_header = checker.parser.header("stock")
    writer_class = catalog_writer_class() if job.kind == ImportJob.Kind.CATALOG else StockWriter
    writer = writer_class(
        supplier=job.supplier, actor=job.created_by, reference=reference, stock_header=stock_header
    )
    sink = _ErrorSink(job)
    totals = dict.fromkeys((CREATED, UPDATED, UNCHANGED, FAILED), 0)
    processed = 0
    _progress(
        job, processed_rows=0, created_count=0, updated_count=0, unchanged_count=0, failed_count=0
    )
    with job.file.open("rb") as fileobj:
        for batch in _batches(iter_data_rows(fileobj, info), BATCH_SIZE):
            with transaction.atomic():
                valid, errors, invalid = checker.check(batch)
                result = writer.write(valid)
                sink.add(sorted([*errors, *result.errors], key=lambda e: e.row))
                for outcome in totals:
                    totals[outcome] += result.counts[outcome]
                totals[FAILED] += invalid
                processed += len(batch)
                _progress(
                    job,
                    processed_rows=min(processed, job.total_rows),
                    created_count=totals[CREATED],
                    updated_count=totals[UPDATED],
                    unchanged_count=totals[UNCHANGED],
                    failed_count=totals[FAILED],
                )
    _progress(
        job,
        status=ImportJob.Status.COMPLETED,
        processed_rows=job.total_rows,
        finished_at=timezone.now(),
    )
