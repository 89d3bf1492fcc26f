"""Privacy tasks: ids in, one service call, safe to run twice."""

from celery import shared_task

from privacy.services import exports


@shared_task(acks_late=True, ignore_result=True)
def build_data_export_task(export_id: int) -> None:
    """Build a requested data export (a finished one is left alone)."""
    exports.build_data_export(export_id=export_id)


@shared_task(acks_late=True, ignore_result=True)
def delete_expired_data_exports_task() -> None:
    """Beat, hourly: delete the files of exports past their expiry."""
    exports.delete_expired_data_exports()
