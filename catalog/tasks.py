"""Thin Celery tasks for the catalog: ids in, one service call. Safe to run twice."""

from celery import shared_task

from catalog.services import imports


@shared_task(name="catalog.tasks.validate_import_task", acks_late=True)
def validate_import_task(job_id: int) -> None:
    imports.validate_import(job_id=job_id)


@shared_task(name="catalog.tasks.run_import_task", acks_late=True)
def run_import_task(job_id: int) -> None:
    imports.run_import(job_id=job_id)
