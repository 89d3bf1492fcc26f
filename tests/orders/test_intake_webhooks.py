"""Store orders delivered as signed webhooks through the real endpoints flow to suppliers."""

from decimal import Decimal

import pytest
from django.core import mail

from billing.models import Charge
from catalog.models import Variant
from integrations.models import InboundWebhook
from orders.models import Order, OrderEvent, OrderItem, SupplierOrder
from tests import factories
from tests.integrations.helpers import post_shopify, woo_headers
from tests.orders.pipeline import (
    body,
    make_offer,
    make_supplier,
    numeric,
    shopify_order,
    terms_store,
    woo_order,
)

pytestmark = pytest.mark.django_db
# The README's order intake: every test but the raw-SQL one is marked `embedded` (run on SQLite too).


def _deliver_shopify(client, capture, payload, *, store, topic="orders/create", event_id=None):
    with capture(execute=True):
        return post_shopify(
            client, body(payload), topic=topic, shop=store.domain, event_id=event_id
        )


@pytest.mark.embedded
def test_shopify_order_from_fixture_is_reserved_paid_and_sent_to_dashboard_supplier(
    client, django_capture_on_commit_callbacks
):
    store = terms_store()
    offer = make_offer(store=store, stock=5)
    payload = shopify_order(
        lines=[(numeric(offer.store_variant_id), offer.variant.sku, 2), (123, "NOT-OURS", 1)]
    )
    response = _deliver_shopify(client, django_capture_on_commit_callbacks, payload, store=store)
    assert response.status_code == 200
    webhook = InboundWebhook.objects.get()
    assert webhook.status == InboundWebhook.Status.PROCESSED, webhook.last_error
    order = Order.objects.get(store=store)
    assert order.store_order_id == f"gid://shopify/Order/{payload['id']}"
    assert order.status == Order.Status.CONFIRMED
    assert order.shipping_address["address1"] == "Chestnut Street 92"
    assert order.shipping_country == "US"
    items = {item.sku: item for item in order.items.all()}
    assert items[offer.variant.sku].status == OrderItem.Status.RESERVED
    assert items[offer.variant.sku].wholesale_unit_price == Decimal("10.00")
    assert items["NOT-OURS"].status == OrderItem.Status.NOT_OURS
    assert items["NOT-OURS"].supplier_order is None
    supplier_order = SupplierOrder.objects.get(order=order)
    assert supplier_order.status == SupplierOrder.Status.SENT
    assert supplier_order.wholesale_total == Decimal("20.00")
    assert supplier_order.shipping_total == Decimal("6.00")  # 5.00 + 1.00 for the second unit
    assert supplier_order.platform_fee == Decimal("2.00")  # the BASIC plan's fee per supplier order
    assert Charge.objects.get(supplier_order=supplier_order).method == Charge.Method.TERMS
    variant = Variant.objects.get(pk=offer.variant.pk)
    assert (variant.stock_on_hand, variant.stock_reserved) == (5, 2)
    kinds = list(order.events.values_list("kind", flat=True))
    assert kinds == ["received", "reserved", "paid", "sent"]
    assert supplier_order.supplier.notifications.filter(kind="orders.new").count() == 1
    assert any(supplier_order.number in message.subject for message in mail.outbox)


def test_address_is_encrypted_at_rest(client, django_capture_on_commit_callbacks):
    from django.db import connection

    store = terms_store()
    offer = make_offer(store=store)
    payload = shopify_order(lines=[(numeric(offer.store_variant_id), offer.variant.sku, 1)])
    _deliver_shopify(client, django_capture_on_commit_callbacks, payload, store=store)
    order = Order.objects.get()
    with connection.cursor() as cursor:
        cursor.execute("SELECT shipping_address::text, shopper_name FROM orders_order")
        raw_address, raw_name = cursor.fetchone()
    assert "Chestnut" not in raw_address
    assert "Norman" not in raw_name
    assert order.shipping_address["city"] == "Louisville"


@pytest.mark.embedded
def test_same_shopify_event_twice_and_same_order_with_new_event_create_one_order(
    client, django_capture_on_commit_callbacks
):
    store = terms_store()
    offer = make_offer(store=store, stock=5)
    payload = shopify_order(lines=[(numeric(offer.store_variant_id), offer.variant.sku, 1)])
    _deliver_shopify(
        client, django_capture_on_commit_callbacks, payload, store=store, event_id="e1"
    )
    _deliver_shopify(
        client, django_capture_on_commit_callbacks, payload, store=store, event_id="e1"
    )
    _deliver_shopify(
        client, django_capture_on_commit_callbacks, payload, store=store, event_id="e2"
    )
    assert Order.objects.count() == 1
    assert SupplierOrder.objects.count() == 1
    assert Variant.objects.get(pk=offer.variant.pk).stock_reserved == 1
    assert InboundWebhook.objects.count() == 2
    assert set(InboundWebhook.objects.values_list("status", flat=True)) == {"PROCESSED"}


@pytest.mark.embedded
def test_woocommerce_order_from_fixture_maps_by_variation_then_sku(
    client, django_capture_on_commit_callbacks
):
    store = terms_store(
        platform="WOOCOMMERCE", domain="shop.example.com", webhook_secret="wc-secret"
    )
    by_id = make_offer(store=store, store_variant_id="23", stock=4)
    by_sku = make_offer(store=store, store_variant_id="", sku="WOO-SKU-1", stock=4)
    payload = woo_order(order_id=727, lines=[(22, 23, "", 1), (93, 0, "WOO-SKU-1", 2)])
    raw = body(payload)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/webhooks/woocommerce/{store.public_id}/",
            data=raw,
            content_type="application/json",
            **woo_headers(raw, topic="order.created", secret="wc-secret"),
        )
    assert response.status_code == 200
    webhook = InboundWebhook.objects.get()
    assert webhook.status == "PROCESSED", webhook.last_error
    order = Order.objects.get(store=store)
    assert order.store_order_id == "727"
    assert order.shipping_address["city"] == "San Francisco"
    assert sorted(order.items.values_list("variant_id", "status", "quantity")) == sorted(
        [(by_id.variant_id, "RESERVED", 1), (by_sku.variant_id, "RESERVED", 2)]
    )
    assert order.supplier_orders.count() == 2  # two suppliers
    assert set(order.supplier_orders.values_list("status", flat=True)) == {"SENT"}


@pytest.mark.embedded
def test_woocommerce_pending_order_is_ignored_until_processing(
    client, django_capture_on_commit_callbacks
):
    store = terms_store(
        platform="WOOCOMMERCE", domain="shop.example.com", webhook_secret="wc-secret"
    )
    offer = make_offer(store=store, store_variant_id="23", stock=4)
    for status, topic in (("pending", "order.created"), ("processing", "order.updated")):
        raw = body(woo_order(order_id=728, lines=[(22, 23, offer.variant.sku, 1)], status=status))
        with django_capture_on_commit_callbacks(execute=True):
            client.post(
                f"/webhooks/woocommerce/{store.public_id}/",
                data=raw,
                content_type="application/json",
                **woo_headers(raw, topic=topic, secret="wc-secret"),
            )
    assert Order.objects.count() == 1
    assert Order.objects.get().status == Order.Status.CONFIRMED


@pytest.mark.embedded
def test_multi_supplier_order_splits_into_one_supplier_order_each(
    client, django_capture_on_commit_callbacks
):
    store = terms_store()
    supplier_a, supplier_b = make_supplier(), make_supplier()
    a1 = make_offer(store=store, supplier=supplier_a, wholesale="10.00")
    a2 = make_offer(store=store, supplier=supplier_a, wholesale="4.50")
    b1 = make_offer(store=store, supplier=supplier_b, wholesale="7.00")
    payload = shopify_order(
        lines=[
            (numeric(a1.store_variant_id), a1.variant.sku, 1),
            (numeric(b1.store_variant_id), b1.variant.sku, 3),
            (numeric(a2.store_variant_id), a2.variant.sku, 2),
        ]
    )
    _deliver_shopify(client, django_capture_on_commit_callbacks, payload, store=store)
    order = Order.objects.get()
    split = {so.supplier_id: so for so in order.supplier_orders.all()}
    assert set(split) == {supplier_a.pk, supplier_b.pk}
    assert split[supplier_a.pk].wholesale_total == Decimal("19.00")
    assert split[supplier_b.pk].wholesale_total == Decimal("21.00")
    assert split[supplier_b.pk].shipping_total == Decimal("7.00")
    assert sorted(split[supplier_a.pk].items.values_list("variant_id", flat=True)) == sorted(
        [a1.variant_id, a2.variant_id]
    )
    assert {so.status for so in split.values()} == {"SENT"}
    assert OrderEvent.objects.filter(order=order, kind="sent").count() == 2


@pytest.mark.embedded
def test_order_with_only_foreign_products_creates_nothing(
    client, django_capture_on_commit_callbacks
):
    store = terms_store()
    make_offer(store=store)
    payload = shopify_order(lines=[(1, "THEIRS-1", 1), (2, "THEIRS-2", 1)])
    _deliver_shopify(client, django_capture_on_commit_callbacks, payload, store=store)
    assert InboundWebhook.objects.get().status == "PROCESSED"
    assert Order.objects.count() == 0


@pytest.mark.embedded
@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda p: p["line_items"][0].update(quantity=0), "quantity must be at least 1 (got 0)"),
        (lambda p: p["line_items"][0].update(quantity=-3), "quantity must be at least 1 (got -3)"),
        (lambda p: p.update(line_items=[]), "The order has no lines."),
    ],
)
def test_bad_shopify_orders_fail_the_event_with_a_reason_and_write_nothing(
    client, django_capture_on_commit_callbacks, change, message
):
    store = terms_store()
    offer = make_offer(store=store, stock=5)
    payload = shopify_order(lines=[(numeric(offer.store_variant_id), offer.variant.sku, 1)])
    change(payload)
    response = _deliver_shopify(client, django_capture_on_commit_callbacks, payload, store=store)
    assert response.status_code == 200  # stored; processing records why it failed
    webhook = InboundWebhook.objects.get()
    assert webhook.status == "FAILED"
    assert message in webhook.last_error
    assert Order.objects.count() == 0
    assert Variant.objects.get(pk=offer.variant.pk).stock_reserved == 0


@pytest.mark.embedded
def test_unicode_and_2000_character_address_lines_are_kept_safely(
    client, django_capture_on_commit_callbacks
):
    store = terms_store()
    offer = make_offer(store=store)
    payload = shopify_order(lines=[(numeric(offer.store_variant_id), offer.variant.sku, 1)])
    payload["shipping_address"]["address1"] = "Straße 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 " + "x" * 2000
    payload["shipping_address"]["name"] = "Zoë Ñúñez 山田"
    payload["line_items"][0]["name"] = "T" * 2000
    _deliver_shopify(client, django_capture_on_commit_callbacks, payload, store=store)
    assert InboundWebhook.objects.get().status == "PROCESSED"
    order = Order.objects.get()
    assert order.shipping_address["name"] == "Zoë Ñúñez 山田"
    assert order.shipping_address["address1"].startswith("Straße 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ")
    assert len(order.shipping_address["address1"]) == 255
    assert len(order.items.get().title) == 500


@pytest.mark.embedded
def test_out_of_stock_line_becomes_exception_and_the_rest_goes_on(
    client, django_capture_on_commit_callbacks
):
    store = terms_store()
    plenty = make_offer(store=store, stock=10)
    scarce = make_offer(store=store, stock=1)
    payload = shopify_order(
        lines=[
            (numeric(plenty.store_variant_id), plenty.variant.sku, 2),
            (numeric(scarce.store_variant_id), scarce.variant.sku, 3),
        ]
    )
    _deliver_shopify(client, django_capture_on_commit_callbacks, payload, store=store)
    order = Order.objects.get()
    assert order.status == Order.Status.EXCEPTION
    exception = order.items.get(variant=scarce.variant)
    assert exception.status == OrderItem.Status.EXCEPTION
    assert exception.supplier_order is None
    assert "Out of stock" in exception.status_reason
    assert Variant.objects.get(pk=scarce.variant.pk).stock_reserved == 0
    assert order.supplier_orders.get().status == "SENT"
    assert store.retailer.notifications.filter(kind="orders.exception").count() == 1


@pytest.mark.embedded
def test_card_retailer_without_card_holds_the_supplier_order_and_is_told(
    client, django_capture_on_commit_callbacks
):
    store = factories.StoreFactory()  # no payment terms, no card
    offer = make_offer(store=store)
    payload = shopify_order(lines=[(numeric(offer.store_variant_id), offer.variant.sku, 1)])
    _deliver_shopify(client, django_capture_on_commit_callbacks, payload, store=store)
    order = Order.objects.get()
    supplier_order = order.supplier_orders.get()
    assert supplier_order.status == SupplierOrder.Status.PAYMENT_FAILED
    assert order.status == Order.Status.EXCEPTION
    assert order.events.filter(kind="payment_failed").exists()
    assert store.retailer.notifications.filter(kind="billing.payment_failed").exists()
    assert Variant.objects.get(pk=offer.variant.pk).stock_reserved == 1  # held, not lost
