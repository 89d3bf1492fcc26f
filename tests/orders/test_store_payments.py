"""Only paid orders are routed (issue 14, points 5 and 10): unpaid Shopify orders (pending,
authorized, cash on delivery) and WooCommerce on-hold / pending orders wait with their lines
reserved, and are routed once when the store says they are paid; refunds, cancellations,
trashed and deleted orders cancel what has not shipped. Every webhook is the sandbox's own
delivery, replayed into the inbox as it was signed."""

from datetime import timedelta

import pytest
from django.utils import timezone

from billing.models import Charge
from catalog.models import Variant
from integrations.models import InboundWebhook
from orders.models import Order, OrderItem, SupplierOrder
from orders.services.holds import lapse_held_reservations
from sandbox.shopify import COD_GATEWAY
from tests import factories
from tests.orders.pipeline import make_supplier
from tests.orders.store_events import deliver, shopify_shop, woo_shop

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


@pytest.fixture
def retailer():
    return factories.RetailerFactory(has_payment_terms=True)


def _reserved(offer) -> int:
    return Variant.objects.get(pk=offer.variant_id).stock_reserved


def _line(order: dict, sku: str) -> str:
    return next(li["gid"] for li in order["line_items"] if li["sku"] == sku)


def test_cash_on_delivery_order_waits_reserved_and_is_routed_once_when_paid(
    client, django_capture_on_commit_callbacks, shopify_sandbox, retailer
):
    shop = shopify_shop(shopify_sandbox, retailer=retailer)
    offer = shop.offers["TOWEL-1"]
    placed = shop.app.create_order(
        shop.store.domain,
        lines=[{"sku": "TOWEL-1", "quantity": 2}],
        financial_status="pending",
        gateway=COD_GATEWAY,
    )
    assert shop.replay(client, django_capture_on_commit_callbacks) == [200]
    order = Order.objects.get(store=shop.store)
    assert (order.status, order.is_awaiting_payment) == (Order.Status.AWAITING_PAYMENT, True)
    assert order.payment_label == f"pending ({COD_GATEWAY})"
    assert list(order.items.values_list("status", flat=True)) == [OrderItem.Status.RESERVED]
    assert _reserved(offer) == 2
    assert not SupplierOrder.objects.exists()

    shop.app.mark_paid(shop.store.domain, placed["id"])
    assert [d.topic for d in shop.app.deliveries[shop.seen :]] == ["orders/paid", "orders/updated"]
    assert shop.replay(client, django_capture_on_commit_callbacks) == [200, 200]
    order.refresh_from_db()
    supplier_order = SupplierOrder.objects.get(order=order)
    assert (order.status, order.is_awaiting_payment, order.held_since) == (
        Order.Status.CONFIRMED,
        False,
        None,
    )
    assert supplier_order.status == SupplierOrder.Status.SENT
    assert _reserved(offer) == 2  # the hold's reservation is the one routed, not a second
    assert Charge.objects.filter(supplier_order=supplier_order).count() == 1
    # Shopify sends orders/updated for every change: another one, a new event, changes nothing.
    sandbox_shop = shop.app.shop(shop.store.domain)
    shop.app.deliver(
        shop.store.domain,
        "orders/updated",
        shop.app.order_payload(sandbox_shop, sandbox_shop.orders[placed["id"]]),
    )
    assert shop.replay(client, django_capture_on_commit_callbacks) == [200]
    assert SupplierOrder.objects.filter(order=order).count() == 1
    assert Charge.objects.count() == 1
    assert _reserved(offer) == 2
    kinds = list(order.events.values_list("kind", flat=True))
    assert kinds == ["received", "held", "paid", "released", "paid", "sent"]
    assert InboundWebhook.objects.filter(status="PROCESSED").count() == 4


def test_authorized_order_waits_even_where_manual_payments_are_routed_at_once(
    client, django_capture_on_commit_callbacks, shopify_sandbox, retailer
):
    shop = shopify_shop(shopify_sandbox, retailer=retailer)
    shop.store.routes_manual_payment_orders = True
    shop.store.save(update_fields=["routes_manual_payment_orders"])
    shop.app.create_order(
        shop.store.domain,
        lines=[{"sku": "TOWEL-1", "quantity": 1}],
        financial_status="authorized",
        gateway="shopify_payments",
    )
    shop.app.create_order(
        shop.store.domain,
        lines=[{"sku": "TOWEL-1", "quantity": 1}],
        financial_status="pending",
        gateway=COD_GATEWAY,
    )
    assert shop.replay(client, django_capture_on_commit_callbacks) == [200, 200]
    card, cod = Order.objects.order_by("pk")
    assert (card.status, card.supplier_orders.count()) == (Order.Status.AWAITING_PAYMENT, 0)
    assert (cod.status, cod.supplier_orders.get().status) == (
        Order.Status.CONFIRMED,
        SupplierOrder.Status.SENT,
    )


def test_retailer_turns_manual_payment_routing_on_for_a_store(retailer_client, shopify_sandbox):
    store = shopify_sandbox.connect_store(retailer=retailer_client.retailer)
    response = retailer_client.post(
        f"/retailer/stores/{store.pk}/manual-payments/", {"routes_manual_payment_orders": "on"}
    )
    assert response.status_code == 302
    store.refresh_from_db()
    assert store.routes_manual_payment_orders is True
    retailer_client.post(f"/retailer/stores/{store.pk}/manual-payments/", {})
    store.refresh_from_db()
    assert store.routes_manual_payment_orders is False


def test_held_reservation_lapses_after_three_days_and_is_taken_again_when_paid(
    client, django_capture_on_commit_callbacks, shopify_sandbox, retailer
):
    shop = shopify_shop(shopify_sandbox, retailer=retailer, stock=3)
    offer = shop.offers["TOWEL-1"]
    placed = shop.app.create_order(
        shop.store.domain,
        lines=[{"sku": "TOWEL-1", "quantity": 2}],
        financial_status="pending",
        gateway="manual",
    )
    shop.replay(client, django_capture_on_commit_callbacks)
    order = Order.objects.get()
    assert lapse_held_reservations(now=timezone.now() + timedelta(hours=71)) == 0
    assert _reserved(offer) == 2
    assert lapse_held_reservations(now=timezone.now() + timedelta(hours=73)) == 1
    assert _reserved(offer) == 0
    item = order.items.get()
    assert item.status == OrderItem.Status.HELD
    assert item.status_reason.startswith("Reservation released after 72 hours")
    assert lapse_held_reservations(now=timezone.now() + timedelta(hours=80)) == 0  # once

    shop.app.mark_paid(shop.store.domain, placed["id"])
    shop.replay(client, django_capture_on_commit_callbacks)
    item.refresh_from_db()
    assert item.status == OrderItem.Status.RESERVED
    assert item.supplier_order.status == SupplierOrder.Status.SENT
    assert _reserved(offer) == 2


def test_lapsed_order_paid_after_its_stock_sold_becomes_an_out_of_stock_exception(
    client, django_capture_on_commit_callbacks, shopify_sandbox, retailer
):
    shop = shopify_shop(shopify_sandbox, retailer=retailer, stock=2)
    offer = shop.offers["TOWEL-1"]
    placed = shop.app.create_order(
        shop.store.domain,
        lines=[{"sku": "TOWEL-1", "quantity": 2}],
        financial_status="authorized",
    )
    shop.replay(client, django_capture_on_commit_callbacks)
    lapse_held_reservations(now=timezone.now() + timedelta(hours=73))
    Variant.objects.filter(pk=offer.variant_id).update(stock_on_hand=1)  # sold elsewhere
    shop.app.mark_paid(shop.store.domain, placed["id"])
    shop.replay(client, django_capture_on_commit_callbacks)
    order = Order.objects.get()
    item = order.items.get()
    assert (order.status, item.status) == (Order.Status.EXCEPTION, OrderItem.Status.EXCEPTION)
    assert "had fewer than 2" in item.status_reason
    assert not SupplierOrder.objects.exists()
    assert _reserved(offer) == 0
    assert retailer.notifications.filter(kind="orders.exception").count() == 1


def test_refund_of_an_unshipped_line_cancels_it_at_the_supplier(
    client, django_capture_on_commit_callbacks, shopify_sandbox, retailer
):
    shop = shopify_shop(
        shopify_sandbox, retailer=retailer, skus=("TOWEL-1", "TOWEL-2"), supplier=make_supplier()
    )
    placed = shop.app.create_order(
        shop.store.domain,
        lines=[{"sku": "TOWEL-1", "quantity": 1}, {"sku": "TOWEL-2", "quantity": 2}],
    )
    shop.replay(client, django_capture_on_commit_callbacks)
    supplier_order = SupplierOrder.objects.get()
    assert supplier_order.status == SupplierOrder.Status.SENT
    shop.app.refund_lines(shop.store.domain, placed["id"], [(_line(placed, "TOWEL-2"), 2)])
    assert [d.topic for d in shop.app.deliveries[shop.seen :]] == [
        "refunds/create",
        "orders/updated",
    ]
    refund = shop.app.deliveries[shop.seen]
    shop.replay(client, django_capture_on_commit_callbacks)
    items = {item.sku: item for item in OrderItem.objects.all()}
    assert items["TOWEL-2"].status == OrderItem.Status.CANCELLED
    assert items["TOWEL-2"].status_reason.startswith(f"Refunded in {shop.store.name}")
    assert items["TOWEL-1"].status == OrderItem.Status.RESERVED
    assert (_reserved(shop.offers["TOWEL-1"]), _reserved(shop.offers["TOWEL-2"])) == (1, 0)
    supplier_order.refresh_from_db()
    assert supplier_order.status == SupplierOrder.Status.SENT  # the other line still ships
    assert supplier_order.supplier.notifications.filter(kind="orders.line_cancelled").count() == 1
    # The same refund delivered again (a retry with a new event id): nothing more happens.
    refund.headers["X-Shopify-Event-Id"] = "retry-of-the-refund"
    assert deliver(client, django_capture_on_commit_callbacks, refund) == 200
    assert supplier_order.supplier.notifications.filter(kind="orders.line_cancelled").count() == 1
    assert _reserved(shop.offers["TOWEL-2"]) == 0


def test_refund_of_every_line_cancels_the_supplier_order_and_tells_the_supplier(
    client, django_capture_on_commit_callbacks, shopify_sandbox, retailer
):
    shop = shopify_shop(shopify_sandbox, retailer=retailer)
    placed = shop.app.create_order(shop.store.domain, lines=[{"sku": "TOWEL-1", "quantity": 3}])
    shop.replay(client, django_capture_on_commit_callbacks)
    shop.app.refund_lines(shop.store.domain, placed["id"], [(_line(placed, "TOWEL-1"), 3)])
    shop.replay(client, django_capture_on_commit_callbacks)
    supplier_order = SupplierOrder.objects.get()
    order = supplier_order.order
    assert supplier_order.status == SupplierOrder.Status.CANCELLED
    assert order.status == Order.Status.CANCELLED
    assert _reserved(shop.offers["TOWEL-1"]) == 0
    assert supplier_order.supplier.notifications.filter(kind="orders.cancelled").count() == 1


def test_partial_refund_of_a_line_is_shown_to_the_retailer_and_ships_whole(
    client, django_capture_on_commit_callbacks, shopify_sandbox, retailer
):
    shop = shopify_shop(shopify_sandbox, retailer=retailer)
    placed = shop.app.create_order(shop.store.domain, lines=[{"sku": "TOWEL-1", "quantity": 3}])
    shop.replay(client, django_capture_on_commit_callbacks)
    shop.app.refund_lines(
        shop.store.domain, placed["id"], [(_line(placed, "TOWEL-1"), 1)], restock_type="no_restock"
    )
    shop.replay(client, django_capture_on_commit_callbacks)
    item = OrderItem.objects.get()
    assert item.status == OrderItem.Status.RESERVED
    assert _reserved(shop.offers["TOWEL-1"]) == 3
    [note] = retailer.notifications.filter(kind="orders.partial_refund")
    assert "(1 of 3)" in note.message


# --- WooCommerce (point 10) ----------------------------------------------------------------------
def test_woocommerce_on_hold_bank_transfer_waits_and_is_routed_when_processing(
    client, django_capture_on_commit_callbacks, woo_sandbox, retailer
):
    shop = woo_shop(woo_sandbox, retailer=retailer)
    placed = shop.app.create_order(
        "maple-woo", lines=[{"sku": "MUG-1", "quantity": 1}], status="on-hold"
    )
    assert shop.replay(client, django_capture_on_commit_callbacks) == [200]
    order = Order.objects.get()
    assert order.status == Order.Status.AWAITING_PAYMENT
    assert order.payment_label == "on-hold (Direct Bank Transfer)"
    assert _reserved(shop.offers["MUG-1"]) == 1
    assert not SupplierOrder.objects.exists()
    shop.app.set_order_status("maple-woo", placed["id"], "processing")
    assert shop.replay(client, django_capture_on_commit_callbacks) == [200]
    order.refresh_from_db()
    assert order.status == Order.Status.CONFIRMED
    assert SupplierOrder.objects.get().status == SupplierOrder.Status.SENT
    assert _reserved(shop.offers["MUG-1"]) == 1


@pytest.mark.parametrize("ending", ["cancelled", "refunded", "trash", "deleted"])
def test_woocommerce_order_ended_in_the_store_cancels_its_unshipped_supplier_order(
    client, django_capture_on_commit_callbacks, woo_sandbox, retailer, ending
):
    shop = woo_shop(woo_sandbox, retailer=retailer)
    placed = shop.app.create_order("maple-woo", lines=[{"sku": "MUG-1", "quantity": 2}])
    shop.replay(client, django_capture_on_commit_callbacks)
    assert SupplierOrder.objects.get().status == SupplierOrder.Status.SENT
    if ending == "deleted":
        shop.app.delete_order("maple-woo", placed["id"], force=True)
    else:
        shop.app.set_order_status("maple-woo", placed["id"], ending)
    expected_topic = "order.deleted" if ending in ("trash", "deleted") else "order.updated"
    assert [d.topic for d in shop.app.deliveries[shop.seen :]] == [expected_topic]
    assert shop.replay(client, django_capture_on_commit_callbacks) == [200]
    supplier_order = SupplierOrder.objects.get()
    assert supplier_order.status == SupplierOrder.Status.CANCELLED
    assert supplier_order.order.status == Order.Status.CANCELLED
    assert _reserved(shop.offers["MUG-1"]) == 0
    assert InboundWebhook.objects.filter(status="FAILED").count() == 0


def test_woocommerce_pending_order_deleted_before_payment_gives_its_stock_back(
    client, django_capture_on_commit_callbacks, woo_sandbox, retailer
):
    shop = woo_shop(woo_sandbox, retailer=retailer)
    placed = shop.app.create_order(
        "maple-woo", lines=[{"sku": "MUG-1", "quantity": 2}], status="pending"
    )
    shop.replay(client, django_capture_on_commit_callbacks)
    assert _reserved(shop.offers["MUG-1"]) == 2
    shop.app.delete_order("maple-woo", placed["id"])
    shop.replay(client, django_capture_on_commit_callbacks)
    order = Order.objects.get()
    assert (order.status, order.is_awaiting_payment) == (Order.Status.CANCELLED, False)
    assert _reserved(shop.offers["MUG-1"]) == 0
    assert not SupplierOrder.objects.exists()
