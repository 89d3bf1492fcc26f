"""Builders for the order pipeline tests: a supplier offer listed in a store, store payloads."""

from __future__ import annotations

import copy
import json
import uuid
from decimal import Decimal

from retailers.models import ListingVariant
from suppliers.models import ShippingRate, Supplier
from tests import factories
from tests.integrations.helpers import fixture_json


def make_supplier(**kwargs) -> Supplier:
    supplier = factories.SupplierFactory(**kwargs)
    for zone, price in (
        (ShippingRate.Zone.DOMESTIC, "5.00"),
        (ShippingRate.Zone.INTERNATIONAL, "15.00"),
    ):
        factories.ShippingRateFactory(supplier=supplier, zone=zone, price=Decimal(price))
    return supplier


def make_offer(
    *,
    store,
    supplier: Supplier | None = None,
    stock: int = 10,
    store_variant_id: str | None = None,
    sku: str | None = None,
    wholesale: str = "10.00",
) -> ListingVariant:
    supplier = supplier or make_supplier()
    product = factories.ProductFactory(supplier=supplier)
    variant = factories.VariantFactory(
        product=product,
        stock_on_hand=stock,
        wholesale_price=Decimal(wholesale),
        **({"sku": sku} if sku else {}),
    )
    listing = factories.ListingFactory(store=store, product=product)
    return factories.ListingVariantFactory(
        listing=listing,
        variant=variant,
        store=store,
        retail_price=Decimal("24.99"),
        **({"store_variant_id": store_variant_id} if store_variant_id else {}),
    )


def terms_store(**kwargs):
    retailer = factories.RetailerFactory(has_payment_terms=True)
    return factories.StoreFactory(retailer=retailer, **kwargs)


def shopify_order(
    *,
    order_id: int | None = None,
    lines: list[tuple[int, str, int]],
    financial_status: str = "paid",
) -> dict:
    """The fixture's orders/create body with our variants: lines of (variant id, sku, qty).
    Paid unless told: the fixture itself is an authorized card payment, not captured yet."""
    order = copy.deepcopy(fixture_json("shopify-order.json")["order"])
    order["financial_status"] = financial_status
    order["id"] = order_id or uuid.uuid4().int % 10**12
    order["admin_graphql_api_id"] = f"gid://shopify/Order/{order['id']}"
    template = order["line_items"][0]
    items = []
    for index, (variant_id, sku, quantity) in enumerate(lines):
        item = copy.deepcopy(template)
        item["id"] = 900000 + index
        item["admin_graphql_api_id"] = f"gid://shopify/LineItem/{item['id']}"
        item["variant_id"] = variant_id
        item["sku"] = sku
        item["quantity"] = quantity
        items.append(item)
    order["line_items"] = items
    return order


def woo_order(
    *, order_id: int, lines: list[tuple[int, int, str, int]], status="processing"
) -> dict:
    """The fixture's order body with lines of (product id, variation id, sku, qty)."""
    order = copy.deepcopy(fixture_json("woocommerce-order.json"))
    order["id"] = order_id
    order["number"] = str(order_id)
    order["status"] = status
    template = order["line_items"][1]
    items = []
    for index, (product_id, variation_id, sku, quantity) in enumerate(lines):
        item = copy.deepcopy(template)
        item["id"] = 700 + index
        item["product_id"] = product_id
        item["variation_id"] = variation_id
        item["sku"] = sku
        item["quantity"] = quantity
        item["subtotal"] = str(Decimal("24.99") * quantity)
        items.append(item)
    order["line_items"] = items
    return order


def body(payload: dict) -> bytes:
    return json.dumps(payload).encode()


def numeric(gid: str) -> int:
    return int(gid.rsplit("/", 1)[-1])
