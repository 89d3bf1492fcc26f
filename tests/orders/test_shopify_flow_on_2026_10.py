"""The whole Shopify flow on the pinned Admin API version 2026-10, over real HTTP: a retailer
imports a product, a shopper's order arrives as a signed webhook and is routed to the supplier,
the supplier ships, and the tracking lands in the store as a fulfilment. Every call must be
answered by 2026-10 itself (no fall-forward: shopify.dev/docs/api/usage/versioning)."""

from decimal import Decimal

import pytest

from catalog.models import Variant
from integrations.models import ApiVersionNotice, InboundWebhook
from integrations.registry import get_store_client
from orders.models import Order, SupplierOrder
from orders.services import fulfilment
from retailers.models import ListingVariant, PricingRule
from retailers.services import start_store_imports
from retailers.sync.drain import drain_store
from tests import factories
from tests.orders.pipeline import make_supplier

pytestmark = pytest.mark.django_db(transaction=True)
UPS = "1Z999AA10123456784"


def test_import_order_ship_and_track_in_the_store_on_2026_10(
    shopify_sandbox, live_server, settings, client_sleeps
):
    assert settings.SHOPIFY_API_VERSION == "2026-10"
    supplier = make_supplier(stock_buffer_percent=100)
    mug = factories.ProductFactory(supplier=supplier, title="Stoneware mug")
    variant = factories.VariantFactory(
        product=mug, sku="MUG-1", wholesale_price=Decimal("4.00"), stock_on_hand=20
    )
    retailer = factories.RetailerFactory(has_payment_terms=True)
    PricingRule.objects.create(retailer=retailer, name="Default", method="MULTIPLIER", value=2)
    store = shopify_sandbox.connect_store(retailer=retailer)
    get_store_client(store=store).register_webhooks(
        callback_url=f"{live_server.url}/webhooks/shopify/"
    )
    app = shopify_sandbox.app

    # Import: one product in the store, published to the Online Store, stock set.
    (job,) = start_store_imports(retailer=retailer, stores=[store], product_ids=[mug.pk])
    job.refresh_from_db()
    assert (job.status, job.succeeded_count) == ("COMPLETED", 1)
    shop = app.shop(store.domain)
    [product] = shop.products.values()
    assert product["publication_ids"] == [shop.online_store_publication_id]
    assert shop.quantity_for_sku("MUG-1") == 20

    # A shopper orders 2 in the store: orders/create reaches our endpoint and is routed.
    app.create_order(store.domain, lines=[{"sku": "MUG-1", "quantity": 2}])
    webhook = InboundWebhook.objects.get(topic="orders/create")
    assert webhook.status == InboundWebhook.Status.PROCESSED, webhook.last_error
    order = Order.objects.get(store=store)
    supplier_order = SupplierOrder.objects.get(order=order)
    assert supplier_order.status == SupplierOrder.Status.SENT
    assert Variant.objects.get(pk=variant.pk).stock_reserved == 2

    # The reservation lowers what the store may sell: the drain sets it by compare-and-swap
    # from the quantity the import set (20).
    drain_store(store_id=store.pk)
    [push] = app.calls_for(store.domain, "inventorySetQuantities")
    assert push.variables["input"]["quantities"][0]["changeFromQuantity"] == 20
    assert shop.quantity_for_sku("MUG-1") == 18
    assert ListingVariant.objects.get(listing__store=store).store_quantity == 18

    # The supplier ships: the tracking reaches the store as a fulfilment of the order's line.
    fulfilment.ship_supplier_order(
        supplier_order=supplier_order, carrier="UPS", tracking_number=UPS
    )
    [fulfillment] = shop.fulfillments.values()
    assert fulfillment["trackingInfo"][0]["number"] == UPS
    supplier_order.refresh_from_db()
    assert supplier_order.status == SupplierOrder.Status.SHIPPED

    # Every Admin API call was answered by 2026-10, and so were the webhooks.
    served = {c.api_version for c in app.calls_for(store.domain)}
    assert served == {"2026-10"}
    assert {d.headers["X-Shopify-API-Version"] for d in app.deliveries} == {"2026-10"}
    assert not ApiVersionNotice.objects.exists()
