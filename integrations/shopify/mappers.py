"""Shopify payloads <-> our DTOs. Pure functions: no HTTP, no database.

Shopify ids are kept as global ids (``gid://shopify/Order/450789469``). Webhook bodies are REST
resources with numeric ids; they are turned into global ids here so a webhook and a GraphQL
answer name the same thing the same way.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from integrations.base import (
    OrderData,
    OrderLineData,
    PaymentState,
    ProductData,
    ProductResult,
    RefundedLine,
    StorePermanentError,
)


def gid(kind: str, value: Any) -> str:
    """`gid("Order", 450789469)` -> "gid://shopify/Order/450789469" (global ids pass through)."""
    text = str(value)
    if text.startswith("gid://"):
        return text
    return f"gid://shopify/{kind}/{text}"


def legacy_id(global_id: str) -> str:
    return global_id.rsplit("/", 1)[-1]


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value)) if value not in (None, "") else Decimal("0")
    except InvalidOperation as exc:
        raise StorePermanentError(f"Shopify sent a price we cannot read: {value!r}.") from exc


# --- products ------------------------------------------------------------------------------------
def product_set_identifier(product: ProductData) -> dict[str, Any] | None:
    """What productSet upserts by: the store's id once we have it, else our stable handle."""
    if product.store_product_id:
        return {"id": product.store_product_id}
    if product.handle:
        return {"handle": product.handle}
    return None


def product_set_input(product: ProductData, *, location_id: str) -> dict[str, Any]:
    """ProductSetInput for one product with its variants (the product is named by
    `product_set_identifier`; a create carries our handle so a retry finds it)."""
    option_names = list(product.option_names)
    if not option_names:
        option_names = ["Title"]
    data: dict[str, Any] = {
        "title": product.title,
        "descriptionHtml": product.description_html,
        "vendor": product.vendor,
        "productType": product.product_type,
        "tags": list(product.tags),
        "status": "ACTIVE" if product.is_published else "DRAFT",
        "productOptions": [
            {
                "name": name,
                "values": [
                    {"name": value}
                    for value in dict.fromkeys(
                        _option_value(v.options, name) for v in product.variants
                    )
                ],
            }
            for name in option_names
        ],
        "files": [
            {"originalSource": url, "contentType": "IMAGE", "alt": product.title}
            for url in product.images
        ],
        "variants": [],
    }
    if product.handle and not product.store_product_id:
        data["handle"] = product.handle  # an update keeps the handle (and URLs) it has
    for variant in product.variants:
        entry: dict[str, Any] = {
            "sku": variant.sku,
            "price": str(variant.price),
            "compareAtPrice": None
            if variant.compare_at_price is None
            else str(variant.compare_at_price),
            "optionValues": [
                {"optionName": name, "name": _option_value(variant.options, name)}
                for name in option_names
            ],
            "inventoryItem": {
                "sku": variant.sku,
                "tracked": True,
                "measurement": {"weight": {"value": float(variant.weight_grams), "unit": "GRAMS"}},
            },
        }
        if variant.store_variant_id:
            entry["id"] = variant.store_variant_id
        else:
            # Quantities can be set in productSet only for variants it creates.
            entry["inventoryQuantities"] = [
                {
                    "locationId": location_id,
                    "name": "available",
                    "quantity": max(0, variant.inventory_quantity),
                }
            ]
        data["variants"].append(entry)
    return data


def _option_value(options: dict[str, str], name: str) -> str:
    if name == "Title" and name not in options:
        return "Default Title"
    return str(options.get(name, ""))


def product_result(reference: str, payload: dict[str, Any]) -> ProductResult:
    """Turn a productSet payload into ids keyed by SKU, or the first user error."""
    errors = payload.get("userErrors") or []
    if errors:
        return ProductResult(reference=reference, error=user_errors_text(errors))
    product = payload.get("product") or {}
    variants = (product.get("variants") or {}).get("nodes") or []
    return ProductResult(
        reference=reference,
        store_product_id=product.get("id", ""),
        variant_ids={v["sku"]: v["id"] for v in variants if v.get("sku")},
        inventory_item_ids={
            v["sku"]: v["inventoryItem"]["id"]
            for v in variants
            if v.get("sku") and v.get("inventoryItem")
        },
    )


def user_errors_text(errors: list[dict[str, Any]]) -> str:
    parts = []
    for error in errors:
        field = ".".join(error.get("field") or [])
        parts.append(f"{field}: {error['message']}" if field else error["message"])
    return "; ".join(parts)


# --- orders --------------------------------------------------------------------------------------
# The order's financial status: `financial_status` in webhook bodies (lowercase), the
# OrderDisplayFinancialStatus enum in GraphQL (shopify.dev/docs/api/admin-graphql/latest/enums/
# OrderDisplayFinancialStatus): PENDING, AUTHORIZED, PARTIALLY_PAID, PAID, PARTIALLY_REFUNDED,
# REFUNDED, VOIDED, EXPIRED. A partially refunded order is paid for what is left (refunds/create
# says which lines went); a partially paid one is not paid yet.
_PAYMENT_STATES = {
    "paid": PaymentState.PAID,
    "partially_refunded": PaymentState.PAID,
    "pending": PaymentState.AWAITING,
    "authorized": PaymentState.AWAITING,
    "partially_paid": PaymentState.AWAITING,
    "voided": PaymentState.VOIDED,
    "expired": PaymentState.VOIDED,
    "refunded": PaymentState.REFUNDED,
}
# Payment gateways where money changes hands outside Shopify (the checkout's manual payment
# methods): a pending order of these waits for the merchant to mark it paid.
MANUAL_GATEWAYS = frozenset(
    {"cash on delivery (cod)", "manual", "bank deposit", "money order", "bank transfer"}
)


def payment_state(financial_status: Any, gateways: Any) -> tuple[PaymentState, str]:
    """(our payment state, the words for the retailer) of a financial status and the order's
    payment gateway names. An unknown or missing status waits: nothing unpaid is routed."""
    status = str(financial_status or "").strip().lower()
    names = [str(name) for name in gateways or [] if name] if isinstance(gateways, list) else []
    state = _PAYMENT_STATES.get(status, PaymentState.AWAITING)
    if status == "pending" and any(name.strip().lower() in MANUAL_GATEWAYS for name in names):
        state = PaymentState.MANUAL
    label = (status.replace("_", " ") or "unknown") + (f" ({', '.join(names)})" if names else "")
    return state, label[:100]


def _address_from_rest(address: dict[str, Any] | None) -> dict[str, Any]:
    address = address or {}
    first, last = address.get("first_name") or "", address.get("last_name") or ""
    return {
        "name": address.get("name") or f"{first} {last}".strip(),
        "company": address.get("company") or "",
        "address1": address.get("address1") or "",
        "address2": address.get("address2") or "",
        "city": address.get("city") or "",
        "province": address.get("province") or "",
        "province_code": address.get("province_code") or "",
        "zip": address.get("zip") or "",
        "country": address.get("country") or "",
        "country_code": address.get("country_code") or "",
        "phone": address.get("phone") or "",
    }


def order_from_webhook(payload: dict[str, Any]) -> OrderData:
    """An orders/create or orders/cancelled body (the REST Order resource) as OrderData."""
    try:
        order_id = payload.get("admin_graphql_api_id") or gid("Order", payload["id"])
        customer = payload.get("customer") or {}
        shipping = _address_from_rest(payload.get("shipping_address"))
        state, label = payment_state(
            payload.get("financial_status"), payload.get("payment_gateway_names")
        )
        name = shipping["name"] or " ".join(
            p for p in (customer.get("first_name"), customer.get("last_name")) if p
        )
        lines = tuple(
            OrderLineData(
                store_line_id=item.get("admin_graphql_api_id") or gid("LineItem", item["id"]),
                store_variant_id=gid("ProductVariant", item["variant_id"])
                if item.get("variant_id")
                else "",
                store_product_id=gid("Product", item["product_id"])
                if item.get("product_id")
                else "",
                sku=item.get("sku") or "",
                title=item.get("name") or item.get("title") or "",
                quantity=int(item["quantity"]),
                unit_price=_decimal(item.get("price")),
            )
            for item in payload.get("line_items") or []
        )
        return OrderData(
            store_order_id=order_id,
            number=payload.get("name") or f"#{payload.get('order_number', '')}",
            currency=payload.get("currency") or "",
            shopper_name=name,
            shopper_email=payload.get("email") or customer.get("email") or "",
            shipping_address=shipping,
            lines=lines,
            total=_decimal(payload.get("total_price")),
            placed_at=payload.get("created_at") or "",
            status=payload.get("financial_status") or "",
            is_cancelled=bool(payload.get("cancelled_at")),
            payment_state=state,
            payment_label=label,
            billing_country=str((payload.get("billing_address") or {}).get("country_code") or ""),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise StorePermanentError(f"The Shopify order is missing {exc}.") from exc


def refund_from_webhook(payload: dict[str, Any]) -> tuple[str, str, tuple[RefundedLine, ...]]:
    """A refunds/create body (the REST Refund resource): (order global id, refund id, the
    refunded lines with their quantities). Every refund_line_item counts, whatever its
    restock_type (cancel, return, no_restock): what we have not shipped yet must not ship."""
    try:
        order_id = gid("Order", payload["order_id"])
        refund_id = str(payload.get("admin_graphql_api_id") or payload.get("id") or "")
        lines: dict[str, int] = {}
        for item in payload.get("refund_line_items") or []:
            line_id = gid("LineItem", item["line_item_id"])
            lines[line_id] = lines.get(line_id, 0) + int(item.get("quantity") or 0)
    except (KeyError, TypeError, ValueError) as exc:
        raise StorePermanentError(f"The Shopify refund is missing {exc}.") from exc
    return (
        order_id,
        refund_id,
        tuple(RefundedLine(store_line_id=k, quantity=v) for k, v in lines.items() if v > 0),
    )


def order_from_graphql(node: dict[str, Any]) -> OrderData:
    """An `order` query node; fields Shopify withheld (protected customer data) are null."""
    shipping = node.get("shippingAddress") or {}
    customer = node.get("customer") or {}
    state, label = payment_state(
        str(node.get("displayFinancialStatus") or "").lower(), node.get("paymentGatewayNames")
    )
    address = {
        "name": shipping.get("name")
        or f"{shipping.get('firstName') or ''} {shipping.get('lastName') or ''}".strip(),
        "company": shipping.get("company") or "",
        "address1": shipping.get("address1") or "",
        "address2": shipping.get("address2") or "",
        "city": shipping.get("city") or "",
        "province": shipping.get("province") or "",
        "province_code": shipping.get("provinceCode") or "",
        "zip": shipping.get("zip") or "",
        "country": shipping.get("country") or "",
        "country_code": shipping.get("countryCodeV2") or "",
        "phone": shipping.get("phone") or "",
    }
    lines = tuple(
        OrderLineData(
            store_line_id=item["id"],
            store_variant_id=(item.get("variant") or {}).get("id", ""),
            store_product_id=(item.get("product") or {}).get("id", ""),
            sku=item.get("sku") or "",
            title=item.get("title") or "",
            quantity=int(item["quantity"]),
            unit_price=_decimal(item["originalUnitPriceSet"]["shopMoney"]["amount"]),
        )
        for item in (node.get("lineItems") or {}).get("nodes") or []
    )
    return OrderData(
        store_order_id=node["id"],
        number=node.get("name") or "",
        currency=node.get("currencyCode") or "",
        shopper_name=address["name"]
        or f"{customer.get('firstName') or ''} {customer.get('lastName') or ''}".strip(),
        shopper_email=node.get("email") or customer.get("email") or "",
        shipping_address=address,
        lines=lines,
        total=_decimal(((node.get("totalPriceSet") or {}).get("shopMoney") or {}).get("amount")),
        placed_at=node.get("createdAt") or "",
        status=node.get("displayFulfillmentStatus") or "",
        is_cancelled=bool(node.get("cancelledAt")),
        payment_state=state,
        payment_label=label,
    )


def address_from_destination(
    destination: dict[str, Any] | None, *, known: dict[str, Any] | None = None
) -> dict[str, str] | None:
    """A fulfillment order's `destination` as our address keys, over what the order already
    told us (`known`); None when it has no street address (redacted or a pickup)."""
    destination = destination or {}
    if not destination.get("address1"):
        return None
    known = known or {}
    first, last = destination.get("firstName") or "", destination.get("lastName") or ""
    address = {
        "name": f"{first} {last}".strip() or str(known.get("name") or ""),
        "company": destination.get("company") or "",
        "address1": destination.get("address1") or "",
        "address2": destination.get("address2") or "",
        "city": destination.get("city") or "",
        "province": destination.get("province") or str(known.get("province") or ""),
        "province_code": str(known.get("province_code") or ""),
        "zip": destination.get("zip") or "",
        "country": str(known.get("country") or ""),
        "country_code": destination.get("countryCode") or str(known.get("country_code") or ""),
        "phone": destination.get("phone") or "",
    }
    return {key: str(value) for key, value in address.items()}
