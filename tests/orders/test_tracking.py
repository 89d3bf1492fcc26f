"""Tracking propagation to the Shopify and WooCommerce sandboxes over real HTTP: exactly the shipped
lines, retried after the store was down, one fulfilment per shipment, never a second one."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from integrations.base import ProductData, VariantData
from integrations.models import OutboundPush
from integrations.registry import get_store_client
from integrations.services import sweep_outbound_pushes
from orders.models import OrderEvent, Shipment
from orders.services import fulfilment, tracking
from orders.services.fulfilment import ShipLine
from sandbox.server import Response
from tests import factories

# A README flow: `make test` runs it on SQLite as well.
pytestmark = [pytest.mark.django_db, pytest.mark.embedded]
UPS = "1Z999AA10123456784"


@pytest.fixture(autouse=True)
def _no_client_sleep(client_sleeps):
    # The store clients back off between their own quick retries; tests need not wait for it.
    return client_sleeps


def _publish(store, skus: list[str]) -> None:
    """Put a product with these SKUs in the sandbox store, through our own client."""
    [result] = get_store_client(store=store).upsert_products(
        products=[
            ProductData(
                reference="p1",
                title="Linen apron",
                option_names=("Size",),
                variants=tuple(
                    VariantData(
                        sku=sku,
                        price=Decimal("24.99"),
                        options={"Size": f"S{n}"},
                        inventory_quantity=9,
                    )
                    for n, sku in enumerate(skus)
                ),
            )
        ]
    )
    assert result.is_ok, result.error


def _our_order(
    store, store_order_id: str, number: str, lines: dict[str, tuple[str, int]], suppliers
):
    """Our Order mirroring the sandbox order: {sku: (store line id, quantity)}, one supplier per
    SKU as given in `suppliers` ({sku: supplier})."""
    order = factories.OrderFactory(store=store, store_order_id=store_order_id, number=number)
    supplier_orders = {}
    for sku, (line_id, quantity) in lines.items():
        supplier = suppliers[sku]
        variant = factories.VariantFactory(
            product=factories.ProductFactory(supplier=supplier), sku=sku, stock_reserved=quantity
        )
        supplier_order = supplier_orders.get(supplier.pk) or factories.SentSupplierOrderFactory(
            order=order, supplier=supplier
        )
        supplier_orders[supplier.pk] = supplier_order
        factories.OrderItemFactory(
            order=order,
            supplier_order=supplier_order,
            variant=variant,
            sku=sku,
            title="Linen apron",
            store_line_id=line_id,
            quantity=quantity,
        )
    return order, list(supplier_orders.values())


def _shopify_setup(
    shopify_sandbox, quantities: dict[str, int], suppliers=None, *, fulfillment_orders: int = 1
):
    store = shopify_sandbox.connect_store()
    _publish(store, list(quantities))
    sandbox_order = shopify_sandbox.app.create_order(
        store.domain,
        lines=[{"sku": sku, "quantity": q} for sku, q in quantities.items()],
        deliver=False,
        fulfillment_orders=fulfillment_orders,
    )
    line_ids = {li["sku"]: li["gid"] for li in sandbox_order["line_items"]}
    supplier = factories.SupplierFactory()
    order, supplier_orders = _our_order(
        store,
        sandbox_order["id"],
        sandbox_order["name"],
        {sku: (line_ids[sku], q) for sku, q in quantities.items()},
        suppliers or dict.fromkeys(quantities, supplier),
    )
    return store, sandbox_order, order, supplier_orders


def _ship(capture, supplier_order, tracking_number=UPS, carrier="UPS", lines=None):
    with capture(execute=True):
        return fulfilment.ship_supplier_order(
            supplier_order=supplier_order,
            carrier=carrier,
            tracking_number=tracking_number,
            lines=lines,
        )


def test_shopify_gets_a_fulfilment_for_exactly_the_shipped_lines(
    shopify_sandbox, django_capture_on_commit_callbacks
):
    store, sandbox_order, order, [supplier_order] = _shopify_setup(
        shopify_sandbox, {"APRON-A": 3, "APRON-B": 1}
    )
    item_a = supplier_order.items.get(sku="APRON-A")

    shipment = _ship(
        django_capture_on_commit_callbacks, supplier_order, lines=[ShipLine(item_a.pk, 2)]
    )

    shop = shopify_sandbox.app.shop(store.domain)
    [fulfillment] = shop.fulfillments.values()
    line_a = next(li["gid"] for li in sandbox_order["line_items"] if li["sku"] == "APRON-A")
    assert fulfillment["line_items"] == [{"line_item_id": line_a, "quantity": 2}]
    assert fulfillment["trackingInfo"] == [
        {"company": "UPS", "number": UPS, "url": f"https://www.ups.com/track?tracknum={UPS}"}
    ]
    assert fulfillment["notify_customer"] is True
    shipment.refresh_from_db()
    assert shipment.push_status == Shipment.PushStatus.PUSHED
    assert shipment.store_fulfillment_id == fulfillment["id"]
    assert OrderEvent.objects.filter(order=order, kind="tracking_pushed").count() == 1

    # Running the push again (a retry, a second worker) never creates a second fulfilment.
    tracking.push_shipment_now(shipment_id=shipment.pk)
    push = OutboundPush.objects.get(shipment=shipment)
    push.status = OutboundPush.Status.PENDING
    push.save()
    tracking.push_shipment_now(shipment_id=shipment.pk)
    assert len(shop.fulfillments) == 1


def test_woocommerce_gets_a_customer_note_meta_and_completed_when_all_shipped(
    woo_sandbox, django_capture_on_commit_callbacks
):
    store = woo_sandbox.connect_store()
    _publish(store, ["MUG-1", "MUG-2"])
    site = woo_sandbox.app.sites["maple-woo"]
    sandbox_order = woo_sandbox.app.create_order(
        "maple-woo",
        lines=[{"sku": "MUG-1", "quantity": 1}, {"sku": "MUG-2", "quantity": 2}],
        deliver=False,
    )
    line_ids = {li["sku"]: str(li["id"]) for li in sandbox_order["line_items"]}
    supplier = factories.SupplierFactory()
    _, [supplier_order] = _our_order(
        store,
        str(sandbox_order["id"]),
        str(sandbox_order["number"]),
        {"MUG-1": (line_ids["MUG-1"], 1), "MUG-2": (line_ids["MUG-2"], 2)},
        {"MUG-1": supplier, "MUG-2": supplier},
    )
    first = supplier_order.items.get(sku="MUG-1")

    _ship(django_capture_on_commit_callbacks, supplier_order, lines=[ShipLine(first.pk, 1)])
    woo_order = site.orders[sandbox_order["id"]]
    assert woo_order["status"] == "processing"  # a line is still to ship
    [note] = site.notes[sandbox_order["id"]]
    assert note["customer_note"] is True
    assert UPS in note["note"]
    [meta] = [m for m in woo_order["meta_data"] if m["key"] == "_dropship_shipments"]
    assert meta["value"][0]["lines"] == [{"line_id": line_ids["MUG-1"], "quantity": 1}]

    _ship(django_capture_on_commit_callbacks, supplier_order, "1234567890", "DHL")
    assert woo_order["status"] == "completed"
    assert len(site.notes[sandbox_order["id"]]) == 2
    assert set(Shipment.objects.values_list("push_status", flat=True)) == {"PUSHED"}


def test_tracking_push_is_retried_after_the_store_was_down(
    shopify_sandbox, django_capture_on_commit_callbacks
):
    store, _, _, [supplier_order] = _shopify_setup(shopify_sandbox, {"APRON-A": 1})
    down = Response.json({"errors": "Service Unavailable"}, status=503)
    shopify_sandbox.app.inject(store.domain, down, down, down)

    shipment = _ship(django_capture_on_commit_callbacks, supplier_order)

    shipment.refresh_from_db()
    push = OutboundPush.objects.get(shipment=shipment)
    assert shipment.push_status == Shipment.PushStatus.PENDING
    assert "503" in shipment.push_error
    assert push.status == OutboundPush.Status.PENDING
    assert push.attempts == 1
    # the outbox's first backoff (dropship.core.retry.OUTBOX): 15-30 s, less the time elapsed
    assert timedelta(seconds=14) < push.next_attempt_at - timezone.now() <= timedelta(seconds=30)
    assert shopify_sandbox.app.shop(store.domain).fulfillments == {}

    # The store is back; the beat sweeper picks the push up once its backoff has passed.
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_outbound_pushes() == 0  # not due yet
    OutboundPush.objects.filter(pk=push.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_outbound_pushes() == 1

    shipment.refresh_from_db()
    push.refresh_from_db()
    assert shipment.push_status == Shipment.PushStatus.PUSHED
    assert shipment.push_error == ""
    assert push.status == OutboundPush.Status.SUCCEEDED
    assert push.attempts == 2
    assert len(shopify_sandbox.app.shop(store.domain).fulfillments) == 1


def test_a_push_the_store_refuses_is_failed_and_visible(
    shopify_sandbox, django_capture_on_commit_callbacks
):
    store, sandbox_order, _, [supplier_order] = _shopify_setup(shopify_sandbox, {"APRON-A": 1})
    # The merchant fulfilled the line by hand in Shopify first: nothing is left to fulfil.
    shop = shopify_sandbox.app.shop(store.domain)
    for fo_id in sandbox_order["fulfillment_order_ids"]:
        for line in shop.fulfillment_orders[fo_id]["line_items"]:
            line["remainingQuantity"] = 0

    shipment = _ship(django_capture_on_commit_callbacks, supplier_order)

    shipment.refresh_from_db()
    assert shipment.push_status == Shipment.PushStatus.FAILED
    assert "nothing left to fulfil" in shipment.push_error
    assert OutboundPush.objects.get(shipment=shipment).status == OutboundPush.Status.FAILED
    assert supplier_order.events.filter(kind="tracking_failed").count() == 1


def test_multi_supplier_order_gets_one_fulfilment_per_shipment(
    shopify_sandbox, django_capture_on_commit_callbacks
):
    north, south = factories.SupplierFactory(), factories.SupplierFactory()
    store, _, order, supplier_orders = _shopify_setup(
        shopify_sandbox, {"APRON-A": 1, "APRON-B": 2}, {"APRON-A": north, "APRON-B": south}
    )
    assert len(supplier_orders) == 2
    by_supplier = {so.supplier_id: so for so in supplier_orders}

    _ship(django_capture_on_commit_callbacks, by_supplier[north.pk], UPS, "UPS")
    _ship(django_capture_on_commit_callbacks, by_supplier[south.pk], "123456789012", "FEDEX")

    fulfillments = list(shopify_sandbox.app.shop(store.domain).fulfillments.values())
    assert [
        (f["trackingInfo"][0]["number"], [li["quantity"] for li in f["line_items"]])
        for f in fulfillments
    ] == [
        (UPS, [1]),
        ("123456789012", [2]),
    ]
    assert set(Shipment.objects.values_list("push_status", flat=True)) == {"PUSHED"}
    order.refresh_from_db()
    assert order.status == "SHIPPED"


def test_retry_now_resends_a_failed_push(shopify_sandbox, django_capture_on_commit_callbacks):
    store, _, _, [supplier_order] = _shopify_setup(shopify_sandbox, {"APRON-A": 1})
    down = Response.json({"errors": "Service Unavailable"}, status=503)
    shopify_sandbox.app.inject(store.domain, down, down, down)
    shipment = _ship(django_capture_on_commit_callbacks, supplier_order)
    OutboundPush.objects.filter(shipment=shipment).update(status=OutboundPush.Status.FAILED)
    Shipment.objects.filter(pk=shipment.pk).update(push_status=Shipment.PushStatus.FAILED)

    with django_capture_on_commit_callbacks(execute=True):
        tracking.retry_tracking_push(shipment=shipment)
    tracking.push_shipment_now(shipment_id=shipment.pk)

    shipment.refresh_from_db()
    assert shipment.push_status == Shipment.PushStatus.PUSHED
    assert len(shopify_sandbox.app.shop(store.domain).fulfillments) == 1


def test_the_push_task_runs_twice_without_a_second_fulfilment(
    shopify_sandbox, django_capture_on_commit_callbacks
):
    from orders.tasks import push_shipment_tracking_task

    store, _, _, [supplier_order] = _shopify_setup(shopify_sandbox, {"APRON-A": 1})
    with django_capture_on_commit_callbacks(execute=False):
        shipment = fulfilment.ship_supplier_order(
            supplier_order=supplier_order, carrier="UPS", tracking_number=UPS
        )

    push_shipment_tracking_task.delay(shipment.pk)
    push_shipment_tracking_task.delay(shipment.pk)

    shipment.refresh_from_db()
    assert shipment.push_status == Shipment.PushStatus.PUSHED
    assert len(shopify_sandbox.app.shop(store.domain).fulfillments) == 1


def test_support_retries_a_failed_push_from_the_admin(
    admin_client, shopify_sandbox, django_capture_on_commit_callbacks
):
    from django.urls import reverse

    store, _, _, [supplier_order] = _shopify_setup(shopify_sandbox, {"APRON-A": 1})
    down = Response.json({"errors": "Service Unavailable"}, status=503)
    shopify_sandbox.app.inject(store.domain, down, down, down)
    shipment = _ship(django_capture_on_commit_callbacks, supplier_order)
    listing = admin_client.get(
        reverse("admin:orders_shipment_changelist"), {"push_status": "PENDING"}
    )
    assert UPS in listing.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:orders_shipment_changelist"),
            {"action": "retry_tracking_push", "_selected_action": [shipment.pk]},
        )
    assert response.status_code == 302
    tracking.push_shipment_now(shipment_id=shipment.pk)
    shipment.refresh_from_db()
    assert shipment.push_status == Shipment.PushStatus.PUSHED


def test_a_custom_store_reads_tracking_from_the_api_so_nothing_is_pushed(
    django_capture_on_commit_callbacks,
):
    store = factories.StoreFactory(platform="CUSTOM", domain="shop.example.com", credentials={})
    supplier_order = factories.make_supplier_order(order=factories.OrderFactory(store=store))

    shipment = _ship(django_capture_on_commit_callbacks, supplier_order)

    shipment.refresh_from_db()
    assert shipment.push_status == Shipment.PushStatus.PUSHED
    assert not OutboundPush.objects.exists()
    assert "through the API" in supplier_order.events.get(kind="tracking_pushed").message


def _crash_after_the_store_accepted(store, shipment) -> str:
    """Attempt 1 reached the store, then the worker died before recording it."""
    result = get_store_client(store=store).create_fulfillment(
        fulfillment=tracking.build_fulfillment(shipment)
    )
    OutboundPush.objects.filter(shipment=shipment).update(
        attempts=1,
        status=OutboundPush.Status.SENDING,
        updated_at=timezone.now() - timedelta(minutes=5),
    )
    return result.store_fulfillment_id


def test_a_retry_after_a_crash_finds_the_shopify_fulfilment_instead_of_doubling_it(
    shopify_sandbox, django_capture_on_commit_callbacks
):
    store, _, _, [supplier_order] = _shopify_setup(shopify_sandbox, {"APRON-A": 2})
    with django_capture_on_commit_callbacks(execute=False):
        shipment = fulfilment.ship_supplier_order(
            supplier_order=supplier_order, carrier="UPS", tracking_number=UPS
        )
    landed = _crash_after_the_store_accepted(store, shipment)

    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_outbound_pushes() == 1  # the stuck SENDING push is picked up again

    shipment.refresh_from_db()
    assert shipment.push_status == Shipment.PushStatus.PUSHED
    assert shipment.store_fulfillment_id == landed
    assert len(shopify_sandbox.app.shop(store.domain).fulfillments) == 1


def test_a_retry_after_a_crash_finds_the_woocommerce_shipment(
    woo_sandbox, django_capture_on_commit_callbacks
):
    store = woo_sandbox.connect_store()
    _publish(store, ["MUG-1"])
    sandbox_order = woo_sandbox.app.create_order(
        "maple-woo", lines=[{"sku": "MUG-1", "quantity": 1}], deliver=False
    )
    _, [supplier_order] = _our_order(
        store,
        str(sandbox_order["id"]),
        str(sandbox_order["number"]),
        {"MUG-1": (str(sandbox_order["line_items"][0]["id"]), 1)},
        {"MUG-1": factories.SupplierFactory()},
    )
    with django_capture_on_commit_callbacks(execute=False):
        shipment = fulfilment.ship_supplier_order(
            supplier_order=supplier_order, carrier="UPS", tracking_number=UPS
        )
    landed = _crash_after_the_store_accepted(store, shipment)

    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_outbound_pushes() == 1

    shipment.refresh_from_db()
    assert shipment.store_fulfillment_id == landed
    assert len(woo_sandbox.app.sites["maple-woo"].notes[sandbox_order["id"]]) == 1


def test_the_retailer_sees_whether_the_tracking_reached_the_store(
    retailer_client, shopify_sandbox, django_capture_on_commit_callbacks
):
    from django.urls import reverse

    store, _, order, [supplier_order] = _shopify_setup(shopify_sandbox, {"APRON-A": 1})
    store.retailer = retailer_client.retailer
    store.save()
    order.retailer = retailer_client.retailer
    order.save()
    down = Response.json({"errors": "Service Unavailable"}, status=503)
    shopify_sandbox.app.inject(store.domain, down, down, down)
    _ship(django_capture_on_commit_callbacks, supplier_order)

    page = retailer_client.get(reverse("orders:retailer_detail", args=[order.pk]))

    text = page.content.decode()
    assert UPS in text
    assert (
        '<span class="badge badge-PENDING" title="Attempt 1: Shopify answered 503.">Pending</span>'
        in text
    )
