"""The Celery app. Queues are named after the work (DESIGN.md); settings.CELERY_TASK_ROUTES says
which task runs on which."""

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dropship.settings")

app = Celery("dropship")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = [
    Queue(name) for name in ("webhooks", "orders", "sync", "imports", "billing", "default")
]
app.autodiscover_tasks()
