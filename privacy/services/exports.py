"""Personal data exports: a user's own data, or an organisation's (its owner asks).

`request_data_export` records the request and enqueues the build after commit;
`build_data_export` (the task) writes a ZIP into private storage: `data.json` with every
section, one CSV per section (cells escaped by dropship.core.spreadsheet_export) and a README.
Safe to run twice: the file's name is fixed by the export's id, and only the run that turns the
row READY sends the e-mail. Secrets never leave: no password hash, no API key hash, no store
credentials or webhook secrets, no MFA secrets.
"""

from __future__ import annotations

import io
import json
import logging
import tempfile
import zipfile
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from dropship.accounts.models import Membership, User
from dropship.core.errors import DomainError, PermissionDenied
from dropship.core.spreadsheet_export import write_csv
from privacy.models import DataExport
from privacy.services.export_sections import export_sections, section_rows

logger = logging.getLogger(__name__)


class DataExportError(DomainError):
    """The export cannot be asked for (already running, not the owner)."""


# --- requesting ---------------------------------------------------------------------------------
@transaction.atomic
def request_data_export(*, user: User, scope: str) -> DataExport:
    """Record an export request and build it after commit. An organisation's data is for its
    owner only; a second request while one is being prepared is refused."""
    # local: tasks.py imports this module
    from privacy.tasks import build_data_export_task

    if scope not in DataExport.Scope.values:
        raise DataExportError("Choose what to export: your personal data or your organisation's.")
    organisation: dict[str, Any] = {}
    if scope == DataExport.Scope.ORGANISATION:
        membership = Membership.objects.filter(user=user).first()
        if membership is None or not membership.is_owner:
            raise PermissionDenied("Only an owner can export the organisation's data.")
        organisation = (
            {"supplier": membership.supplier}
            if membership.supplier_id
            else {"retailer": membership.retailer}
        )
    User.objects.select_for_update().filter(pk=user.pk).first()  # one request at a time
    if DataExport.objects.filter(
        requested_by=user,
        scope=scope,
        status__in=[DataExport.Status.PENDING, DataExport.Status.RUNNING],
    ).exists():
        raise DataExportError("An export of this data is already being prepared.")
    export = DataExport.objects.create(requested_by=user, scope=scope, **organisation)
    transaction.on_commit(lambda: build_data_export_task.delay(export.pk))
    return export


# --- building -----------------------------------------------------------------------------------
README = """This archive holds the data Dropship keeps about {subject}, as of {when}.

data.json   every section below, as JSON (amounts as decimal strings, times in UTC, ISO 8601)
<section>.csv   the same sections as spreadsheets; text cells that would start a formula
            (= + - @ tab, carriage return) begin with an apostrophe

Secrets are not included: password hashes, API key hashes, store access tokens, webhook
secrets and two-factor secrets. Sections: {sections}.
"""


def _archive_name(export: DataExport) -> str:
    return f"exports/{export.public_id}.zip"


def _write_archive(*, export: DataExport, handle: Any) -> None:
    sections = export_sections(export)
    subject = (
        export.requested_by.email
        if export.scope == DataExport.Scope.USER
        else str(export.organisation)
    )
    everything: dict[str, list[dict[str, object]]] = {}
    with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for done, section in enumerate(sections, start=1):
            rows = section_rows(section)
            everything[section.name] = rows
            text = io.StringIO()
            write_csv(text, _csv_rows(section.fields, rows))
            archive.writestr(f"{section.name}.csv", text.getvalue())
            DataExport.objects.filter(pk=export.pk).update(
                progress=min(99, done * 100 // (len(sections) + 1))
            )
        archive.writestr(
            "data.json", json.dumps(everything, indent=2, ensure_ascii=False, default=str)
        )
        archive.writestr(
            "README.txt",
            README.format(
                subject=subject,
                when=timezone.now().isoformat(timespec="seconds"),
                sections=", ".join(s.name for s in sections),
            ),
        )


def _csv_rows(fields: Iterable[str], rows: list[dict[str, object]]) -> Iterable[list[object]]:
    names = list(fields)
    yield list[object](names)
    for row in rows:
        yield [
            json.dumps(row[f], ensure_ascii=False) if isinstance(row[f], dict | list) else row[f]
            for f in names
        ]


def build_data_export(*, export_id: int) -> DataExport | None:
    """Build the archive and mark the export READY (e-mailing the link once). A finished or
    expired export is left alone; a failure is recorded on the row."""
    claimed = DataExport.objects.filter(
        pk=export_id, status__in=[DataExport.Status.PENDING, DataExport.Status.RUNNING]
    ).update(status=DataExport.Status.RUNNING)
    if not claimed:
        return None
    export = DataExport.objects.select_related("requested_by", "supplier", "retailer").get(
        pk=export_id
    )
    storage = export.file.storage
    name = _archive_name(export)
    try:
        with tempfile.TemporaryFile() as handle:
            _write_archive(export=export, handle=handle)
            size = handle.tell()
            handle.seek(0)
            if storage.exists(name):  # an earlier run of this task wrote it
                storage.delete(name)
            saved = storage.save(name, File(handle))
    except Exception:
        logger.exception("Data export %s failed", export.pk)
        DataExport.objects.filter(pk=export.pk, status=DataExport.Status.RUNNING).update(
            status=DataExport.Status.FAILED,
            error="The export could not be prepared; ask for a new one.",
        )
        raise
    now = timezone.now()
    expires_at = now + timedelta(hours=settings.DATA_EXPORT_EXPIRY_HOURS)
    finished = DataExport.objects.filter(pk=export.pk, status=DataExport.Status.RUNNING).update(
        status=DataExport.Status.READY,
        file=saved,
        size_bytes=size,
        progress=100,
        finished_at=now,
        expires_at=expires_at,
    )
    export.refresh_from_db()
    if finished:
        _send_ready_email(export)
    elif saved != export.file.name:  # another run finished first; its file is the one kept
        storage.delete(saved)
    return export


def download_url(export: DataExport) -> str:
    return f"{settings.SITE_URL}{reverse('privacy:download', args=[export.public_id])}"


def _send_ready_email(export: DataExport) -> None:
    assert export.expires_at is not None  # noqa: S101
    what = (
        "your personal data"
        if export.scope == DataExport.Scope.USER
        else f"the data of {export.organisation}"
    )
    send_mail(
        "Your Dropship data export is ready",
        f"The export of {what} is ready. Download it (signed in as {export.requested_by.email}) "
        f"until {export.expires_at:%Y-%m-%d %H:%M} UTC:\n\n{download_url(export)}\n\n"
        "The link works only for you; after that time the file is deleted.",
        None,
        [export.requested_by.email],
    )


def delete_exports_of(*, user: User) -> int:
    """Delete every export the user asked for, files included (their account is being erased:
    the archives hold the very data being erased)."""
    owned = DataExport.objects.filter(requested_by=user)
    for export in owned.exclude(file=""):
        if export.file.name:
            export.file.storage.delete(export.file.name)
    deleted, _ = owned.delete()
    return deleted


def delete_expired_data_exports(*, now: datetime | None = None) -> int:
    """Delete the files of exports past their expiry and mark them EXPIRED."""
    now = now or timezone.now()
    expired = 0
    for export in DataExport.objects.filter(
        status=DataExport.Status.READY, expires_at__lte=now
    ).order_by("pk")[:500]:
        if export.file.name:
            export.file.storage.delete(export.file.name)
        expired += DataExport.objects.filter(pk=export.pk, status=DataExport.Status.READY).update(
            status=DataExport.Status.EXPIRED, file="", size_bytes=0
        )
    return expired
