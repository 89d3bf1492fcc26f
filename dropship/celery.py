"""The Celery app. Queues are named after the work (DESIGN.md); settings.CELERY_TASK_ROUTES says
which task runs on which.

Database connections: with CELERY_DB_REUSE_MAX set, Celery's Django fixup stops opening a new
PostgreSQL connection for every task; each task instead starts the way Django starts a request,
closing a connection that is broken, in error or older than CONN_MAX_AGE (CONN_HEALTH_CHECKS then
checks a kept one before its first query). A task that raised gives its connection up, in case it
was interrupted mid-query and left it unusable in a way a health check would not see.
"""

import os

from celery import Celery, signals
from django.db import close_old_connections, connections
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dropship.settings")

app = Celery("dropship")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [
    Queue(name) for name in ("webhooks", "orders", "sync", "imports", "billing", "default")
]
app.autodiscover_tasks()


def _is_eager(task) -> bool:
    return bool(getattr(getattr(task, "request", None), "is_eager", False))


@signals.task_prerun.connect
def _renew_stale_connections(sender=None, **kwargs) -> None:
    if _is_eager(sender):  # runs inside the caller's request or test transaction
        return
    close_old_connections()


@signals.task_failure.connect
def _drop_connections_after_failure(sender=None, **kwargs) -> None:
    if _is_eager(sender):
        return
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()


# Every task runs in its own audit context: the system acts, the task id correlates its entries
# (a task run eagerly stays in its caller's context).
_audit_tokens: dict[str, object] = {}


@signals.task_prerun.connect
def _open_audit_context(sender=None, task_id=None, **kwargs) -> None:
    if _is_eager(sender) or task_id is None:
        return
    # Why a function-local import: this module is loaded before Django's apps (dropship/__init__).
    from dropship.core.audit import enter_audit_context

    _audit_tokens[task_id] = enter_audit_context(request_id=f"task-{task_id}"[:64])


@signals.task_postrun.connect
def _close_audit_context(sender=None, task_id=None, **kwargs) -> None:
    token = _audit_tokens.pop(task_id, None) if task_id is not None else None
    if token is not None:
        from dropship.core.audit import leave_audit_context  # see _open_audit_context

        leave_audit_context(token)  # type: ignore[arg-type]
