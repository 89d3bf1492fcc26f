"""Carrier events for one parcel racing each other on PostgreSQL: the same history applied by
two workers at once, and delivered against in transit. Each scan is kept and shown once; the
parcel, supplier order and order end DELIVERED once."""

import threading
from datetime import UTC, datetime

import pytest
from django.db import connection

from integrations.tracking import ParcelEvent, ParcelStatus
from orders.models import Order, Shipment, SupplierOrder, TrackingEvent
from orders.services import delivery
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)
UPS = "1Z999AA10123456784"


def _at(hour: int) -> datetime:
    return datetime(2026, 12, 1, hour, tzinfo=UTC)


def _race(histories) -> None:
    barrier = threading.Barrier(len(histories))
    failures: list[BaseException] = []

    def run(shipment_id, events):
        try:
            barrier.wait()
            delivery.record_parcel_events(shipment=Shipment(pk=shipment_id), events=events)
        except BaseException as exc:  # surfaced below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=args) for args in histories]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures


def test_the_same_and_crossing_histories_at_once_keep_each_scan_once():
    order = factories.OrderFactory(store=factories.StoreFactory(platform="CUSTOM"))
    supplier_order = factories.make_supplier_order(order=order, status="SHIPPED")
    supplier_order.shipped_at = _at(7)
    supplier_order.save(update_fields=["shipped_at"])
    Order.objects.filter(pk=order.pk).update(status="SHIPPED")
    shipment = Shipment.objects.create(
        supplier_order=supplier_order, carrier="UPS", tracking_number=UPS, shipped_at=_at(7)
    )
    full = [
        ParcelEvent(ParcelStatus.PRE_TRANSIT, _at(8)),
        ParcelEvent(ParcelStatus.IN_TRANSIT, _at(9)),
        ParcelEvent(ParcelStatus.DELIVERED, _at(12)),
    ]
    partial = full[:2]

    _race([(shipment.pk, full), (shipment.pk, full), (shipment.pk, partial), (shipment.pk, full)])

    shipment.refresh_from_db()
    assert (shipment.tracking_status, shipment.delivered_at) == ("DELIVERED", _at(12))
    assert TrackingEvent.objects.filter(shipment=shipment).count() == 3
    assert order.events.filter(kind="carrier_scan").count() == 3
    assert SupplierOrder.objects.get(pk=supplier_order.pk).status == "DELIVERED"
    assert order.events.filter(kind="delivered").count() == 1
    assert Order.objects.get(pk=order.pk).status == "DELIVERED"
