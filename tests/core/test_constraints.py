"""The database keeps the invariants even when code bypasses the services (update(), raw SQL)."""

from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from billing.models import StripeEvent
from catalog.models import Variant
from integrations.models import InboundWebhook
from orders.models import SupplierOrder
from tests import factories


def refused_by_database(action) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        action()


def raw_update(table: str, assignment: str, pk: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET {assignment} WHERE id = %s", [pk])  # noqa: S608


@pytest.fixture
def variant(db):
    return factories.VariantFactory(
        stock_on_hand=10, stock_reserved=4, wholesale_price=Decimal("5")
    )


@pytest.mark.parametrize(
    "values",
    [
        {"stock_on_hand": -1, "stock_reserved": 0},
        {"stock_reserved": -1},
        {"stock_reserved": 11},
        {"stock_on_hand": 3},  # below the 4 reserved
        {"wholesale_price": Decimal("-0.01")},
        {"msrp": Decimal("-1.00")},
    ],
)
def test_queryset_update_cannot_break_variant_invariants(variant, values):
    refused_by_database(lambda: Variant.objects.filter(pk=variant.pk).update(**values))

    variant.refresh_from_db()
    assert (variant.stock_on_hand, variant.stock_reserved) == (10, 4)
    assert variant.wholesale_price == Decimal("5.00")


@pytest.mark.parametrize(
    "assignment",
    [
        "stock_on_hand = -5, stock_reserved = 0",
        "stock_reserved = -1",
        "stock_reserved = stock_on_hand + 1",
        "wholesale_price = -1",
    ],
)
def test_raw_sql_cannot_break_variant_invariants(variant, assignment):
    refused_by_database(lambda: raw_update("catalog_variant", assignment, variant.pk))

    variant.refresh_from_db()
    assert (variant.stock_on_hand, variant.stock_reserved) == (10, 4)


def test_stock_within_bounds_is_accepted(variant):
    Variant.objects.filter(pk=variant.pk).update(stock_on_hand=4, stock_reserved=4)

    variant.refresh_from_db()
    assert variant.stock_available == 0


@pytest.mark.parametrize("field", ["wholesale_total", "shipping_total", "platform_fee"])
def test_supplier_order_money_cannot_be_negative(db, field):
    supplier_order = factories.SupplierOrderFactory()
    before = getattr(supplier_order, field)

    refused_by_database(
        lambda: SupplierOrder.objects.filter(pk=supplier_order.pk).update(**{field: Decimal("-1")})
    )
    refused_by_database(
        lambda: raw_update("orders_supplierorder", f"{field} = -0.01", supplier_order.pk)
    )

    supplier_order.refresh_from_db()
    assert getattr(supplier_order, field) == before


def test_sku_is_unique_per_supplier_only(db):
    first = factories.VariantFactory(sku="MUG-01")

    refused_by_database(
        lambda: factories.VariantFactory(
            sku="MUG-01", product=factories.ProductFactory(supplier=first.supplier)
        )
    )

    other_supplier = factories.VariantFactory(sku="MUG-01")
    assert other_supplier.supplier_id != first.supplier_id
    assert Variant.objects.filter(sku="MUG-01").count() == 2


def test_store_order_id_is_unique_per_store(db):
    order = factories.OrderFactory(store_order_id="450789469")

    refused_by_database(
        lambda: factories.OrderFactory(store=order.store, store_order_id="450789469")
    )

    assert factories.OrderFactory(store_order_id="450789469").store_id != order.store_id


def test_stripe_event_id_is_unique(db):
    event = {"type": "charge.succeeded", "created": timezone.now(), "payload": {}}
    StripeEvent.objects.create(event_id="evt_1NG8Du2eZvKYlo2CUI79vXWy", **event)

    refused_by_database(
        lambda: StripeEvent.objects.create(event_id="evt_1NG8Du2eZvKYlo2CUI79vXWy", **event)
    )

    assert StripeEvent.objects.count() == 1


def test_inbound_webhook_dedup_key_is_unique_per_source(db):
    def receive(source: str) -> InboundWebhook:
        return InboundWebhook.objects.create(
            source=source, topic="orders/create", dedup_key="98880550-7158-44d4-b7cd", body=b"{}"
        )

    receive(InboundWebhook.Source.SHOPIFY)

    refused_by_database(lambda: receive(InboundWebhook.Source.SHOPIFY))

    receive(InboundWebhook.Source.WOOCOMMERCE)
    assert InboundWebhook.objects.count() == 2
