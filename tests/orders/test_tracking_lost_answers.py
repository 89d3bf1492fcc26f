"""A tracking push whose answer is lost, or whose worker is killed between two store writes,
never reaches the shopper twice: exactly one fulfilment, one customer note, one e-mail.

The faults are the sandboxes' own (an answer dropped after the write was committed, a write
refused so the store holds what a killed worker left); our code runs unmocked. On PostgreSQL.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.models import OutboundPush
from integrations.services import sweep_outbound_pushes
from orders.models import Shipment
from orders.services import fulfilment
from orders.services.fulfilment import ShipLine
from tests import factories
from tests.orders.test_tracking import UPS, _our_order, _publish, _ship, _shopify_setup

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_client_sleep(client_sleeps):
    return client_sleeps


def _woo_setup(woo_sandbox, quantities: dict[str, int]):
    store = woo_sandbox.connect_store()
    _publish(store, list(quantities))
    sandbox_order = woo_sandbox.app.create_order(
        "maple-woo",
        lines=[{"sku": sku, "quantity": q} for sku, q in quantities.items()],
        deliver=False,
    )
    line_ids = {li["sku"]: str(li["id"]) for li in sandbox_order["line_items"]}
    supplier = factories.SupplierFactory()
    _, [supplier_order] = _our_order(
        store,
        str(sandbox_order["id"]),
        str(sandbox_order["number"]),
        {sku: (line_ids[sku], q) for sku, q in quantities.items()},
        dict.fromkeys(quantities, supplier),
    )
    site = woo_sandbox.app.sites["maple-woo"]
    return site, sandbox_order, supplier_order


def _shipments_meta(order: dict) -> list[dict]:
    return next(m["value"] for m in order["meta_data"] if m["key"] == "_dropship_shipments")


def test_a_lost_shopify_fulfilment_answer_is_found_not_created_twice(
    shopify_sandbox, django_capture_on_commit_callbacks
):
    store, _, _, [supplier_order] = _shopify_setup(shopify_sandbox, {"APRON-A": 2})
    shopify_sandbox.app.lose_answers(store.domain, "fulfillmentCreate")

    shipment = _ship(django_capture_on_commit_callbacks, supplier_order)

    shop = shopify_sandbox.app.shop(store.domain)
    [fulfillment] = shop.fulfillments.values()
    assert [(e["kind"], e["text"]) for e in shop.emails] == [("shipping_confirmation", UPS)]
    shipment.refresh_from_db()
    assert (shipment.push_status, shipment.store_fulfillment_id) == (
        Shipment.PushStatus.PUSHED,
        fulfillment["id"],
    )
    assert OutboundPush.objects.get(shipment=shipment).status == OutboundPush.Status.SUCCEEDED


def test_a_lost_woocommerce_note_answer_is_found_not_posted_twice(
    woo_sandbox, django_capture_on_commit_callbacks
):
    site, sandbox_order, supplier_order = _woo_setup(woo_sandbox, {"MUG-1": 1})
    woo_sandbox.app.lose_answers("maple-woo", "POST", "orders/*/notes")

    shipment = _ship(django_capture_on_commit_callbacks, supplier_order)

    [note] = site.notes[sandbox_order["id"]]
    assert note["customer_note"] is True
    assert UPS in note["note"]
    assert [e["kind"] for e in site.emails] == ["customer_note", "customer_completed_order"]
    woo_order = site.orders[sandbox_order["id"]]
    assert [(s["tracking_number"], s["note_id"]) for s in _shipments_meta(woo_order)] == [
        (UPS, str(note["id"]))
    ]
    assert woo_order["status"] == "completed"
    shipment.refresh_from_db()
    assert (shipment.push_status, shipment.store_fulfillment_id) == (
        Shipment.PushStatus.PUSHED,
        str(note["id"]),
    )


def test_a_worker_killed_between_the_woocommerce_note_and_the_meta_sends_one_note(
    woo_sandbox, django_capture_on_commit_callbacks
):
    """The known bug: the note landed, the worker died before the shipment meta-data was
    written, and the retry (which read only the meta-data) posted a second note."""
    site, sandbox_order, supplier_order = _woo_setup(woo_sandbox, {"MUG-1": 1, "MUG-2": 1})
    first_line = supplier_order.items.get(sku="MUG-1")
    # The meta-data write never arrives (as if the worker died before sending it): the site
    # holds the customer note and nothing else.
    woo_sandbox.app.refuse("maple-woo", "PUT", "orders/*", count=10)
    shipment = _ship(
        django_capture_on_commit_callbacks, supplier_order, lines=[ShipLine(first_line.pk, 1)]
    )
    assert len(site.notes[sandbox_order["id"]]) == 1
    assert site.orders[sandbox_order["id"]]["meta_data"] == []
    woo_sandbox.app.refuse("maple-woo", "PUT", "orders/*", count=0)
    # What a killed worker leaves: the push SENDING, untouched for longer than the sweep's wait.
    OutboundPush.objects.filter(shipment=shipment).update(
        status=OutboundPush.Status.SENDING, updated_at=timezone.now() - timedelta(minutes=5)
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_outbound_pushes() == 1

    [note] = site.notes[sandbox_order["id"]]
    assert [e["kind"] for e in site.emails] == ["customer_note"]
    woo_order = site.orders[sandbox_order["id"]]
    assert [(s["tracking_number"], s["note_id"]) for s in _shipments_meta(woo_order)] == [
        (UPS, str(note["id"]))
    ]
    assert woo_order["status"] == "processing"  # MUG-2 is still to ship
    shipment.refresh_from_db()
    push = OutboundPush.objects.get(shipment=shipment)
    assert (shipment.push_status, shipment.store_fulfillment_id, push.status) == (
        Shipment.PushStatus.PUSHED,
        str(note["id"]),
        OutboundPush.Status.SUCCEEDED,
    )


def test_a_crash_after_the_woocommerce_meta_write_sends_nothing_again(
    woo_sandbox, django_capture_on_commit_callbacks
):
    site, sandbox_order, supplier_order = _woo_setup(woo_sandbox, {"MUG-1": 1})
    with django_capture_on_commit_callbacks(execute=False):
        shipment = fulfilment.ship_supplier_order(
            supplier_order=supplier_order, carrier="UPS", tracking_number=UPS
        )
    # Every write landed; the answer to the last one was lost and the worker died.
    woo_sandbox.app.lose_answers("maple-woo", "PUT", "orders/*")
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_outbound_pushes() == 1
    OutboundPush.objects.filter(shipment=shipment).update(
        status=OutboundPush.Status.SENDING, updated_at=timezone.now() - timedelta(minutes=5)
    )
    Shipment.objects.filter(pk=shipment.pk).update(store_fulfillment_id="")

    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_outbound_pushes() == 1

    [note] = site.notes[sandbox_order["id"]]
    assert [e["kind"] for e in site.emails] == ["customer_note", "customer_completed_order"]
    assert len(_shipments_meta(site.orders[sandbox_order["id"]])) == 1
    shipment.refresh_from_db()
    assert shipment.store_fulfillment_id == str(note["id"])
