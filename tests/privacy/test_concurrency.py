"""On PostgreSQL, with real transactions: two retention runs at once erase each order once (one
audit entry per store), and two export requests at once (a double click) make one export."""

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from dropship.core.models import AuditLogEntry
from orders.models import Order
from orders.services.shopper_purge import purge_expired_shopper_data
from privacy.models import DataExport
from privacy.services import exports
from privacy.tasks import build_data_export_task
from retailers.models import Store
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


def _at_once(work, n: int = 2) -> list:
    barrier = threading.Barrier(n)

    def run(_: int):
        try:
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=30)
            return work()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def test_two_retention_runs_at_once_erase_each_order_once():
    store = factories.StoreFactory(platform=Store.Platform.WOOCOMMERCE)
    cancelled = timezone.now() - timedelta(days=400)
    orders = [
        factories.OrderFactory(
            store=store,
            status=Order.Status.CANCELLED,
            cancelled_at=cancelled,
            shopper_email="a@b.c",
        )
        for _ in range(6)
    ]

    results = _at_once(lambda: purge_expired_shopper_data(batch_size=6).orders)

    assert sorted(results) == [0, 6]
    assert Order.objects.filter(pk__in=[o.pk for o in orders], is_redacted=True).count() == 6
    assert AuditLogEntry.objects.filter(action="privacy.shopper_data_purged").count() == 1


def test_two_export_requests_at_once_make_one_export(monkeypatch):
    # The build is only queued (as with a real broker): an eager build finishing between the two
    # requests would rightly let the second one through.
    queued: list[int] = []
    monkeypatch.setattr(build_data_export_task, "delay", queued.append)
    user = factories.RetailerMemberFactory().user

    def ask() -> str:
        try:
            exports.request_data_export(user=user, scope="USER")
        except exports.DataExportError as exc:
            return exc.message
        return "asked"

    assert sorted(_at_once(ask)) == ["An export of this data is already being prepared.", "asked"]
    export = DataExport.objects.get(requested_by=user)
    assert queued == [export.pk]
