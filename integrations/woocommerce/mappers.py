"""WooCommerce REST payloads <-> our DTOs. Pure functions: no HTTP, no database."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from integrations.base import (
    OrderData,
    OrderLineData,
    PaymentState,
    ProductData,
    StorePermanentError,
    VariantData,
)

# WooCommerce's order statuses (woocommerce.github.io/code-reference/classes/
# Automattic-WooCommerce-Enums-OrderStatus.html): processing is paid; on-hold awaits a payment
# confirmation (bank transfer, cheque); pending has no payment yet; failed was declined (the
# shopper may pay again, so it waits too); refunded, cancelled and trash end the order.
CANCELLED_STATUSES = {"cancelled", "refunded", "trash"}
_PAYMENT_STATES = {
    "processing": PaymentState.PAID,
    "completed": PaymentState.PAID,
    "on-hold": PaymentState.AWAITING,
    "pending": PaymentState.AWAITING,
    "failed": PaymentState.AWAITING,
    "refunded": PaymentState.REFUNDED,
}
# The offline payment gateways WooCommerce ships: an on-hold order paid through one of these
# waits for the merchant to confirm the money arrived.
MANUAL_PAYMENT_METHODS = frozenset({"bacs", "cheque", "cod"})


def payment_state(payload: dict[str, Any]) -> tuple[PaymentState, str]:
    status = str(payload.get("status") or "")
    method = str(payload.get("payment_method") or "")
    state = _PAYMENT_STATES.get(status, PaymentState.AWAITING)
    if status == "on-hold" and method in MANUAL_PAYMENT_METHODS:
        state = PaymentState.MANUAL
    title = str(payload.get("payment_method_title") or method)
    return state, (f"{status or 'unknown'}" + (f" ({title})" if title else ""))[:100]


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(str(value)) if value not in (None, "") else Decimal("0")
    except InvalidOperation as exc:
        raise StorePermanentError(f"WooCommerce sent an amount we cannot read: {value!r}.") from exc


def is_simple(product: ProductData) -> bool:
    return not product.option_names and len(product.variants) <= 1


def _prices(variant: VariantData) -> dict[str, str]:
    """Shopify's compare-at price is WooCommerce's regular price with the price as a sale price."""
    if variant.compare_at_price is not None and variant.compare_at_price > variant.price:
        return {"regular_price": str(variant.compare_at_price), "sale_price": str(variant.price)}
    return {"regular_price": str(variant.price), "sale_price": ""}


def product_payload(product: ProductData) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": product.title,
        "description": product.description_html,
        "status": "publish" if product.is_published else "draft",
        "images": [{"src": url} for url in product.images],
        "tags": [{"name": tag} for tag in product.tags],
    }
    if product.store_product_id:
        data["id"] = int(product.store_product_id)
    if is_simple(product):
        variant = product.variants[0] if product.variants else None
        data["type"] = "simple"
        if variant is not None:
            data.update(
                {
                    "sku": variant.sku,
                    **_prices(variant),
                    "weight": _kilograms(variant.weight_grams),
                    "manage_stock": True,
                    "stock_quantity": max(0, variant.inventory_quantity),
                }
            )
    else:
        data["type"] = "variable"
        data["attributes"] = [
            {
                "name": name,
                "visible": True,
                "variation": True,
                "options": list(dict.fromkeys(v.options.get(name, "") for v in product.variants)),
            }
            for name in product.option_names
        ]
    return data


def variation_payload(variant: VariantData, option_names: tuple[str, ...]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "sku": variant.sku,
        **_prices(variant),
        "weight": _kilograms(variant.weight_grams),
        "manage_stock": True,
        "stock_quantity": max(0, variant.inventory_quantity),
        "attributes": [
            {"name": name, "option": variant.options.get(name, "")} for name in option_names
        ],
    }
    if variant.store_variant_id:
        data["id"] = int(variant.store_variant_id)
    return data


def _kilograms(grams: int) -> str:
    return f"{Decimal(grams) / 1000:.3f}" if grams else ""


def batch_error(item: dict[str, Any]) -> str:
    error = item.get("error") or {}
    return str(error.get("message") or error.get("code") or "")


def _address(shipping: dict[str, Any], billing: dict[str, Any]) -> dict[str, Any]:
    source = shipping if (shipping or {}).get("address_1") else billing
    source = source or {}
    return {
        "name": f"{source.get('first_name') or ''} {source.get('last_name') or ''}".strip(),
        "company": source.get("company") or "",
        "address1": source.get("address_1") or "",
        "address2": source.get("address_2") or "",
        "city": source.get("city") or "",
        "province": source.get("state") or "",
        "province_code": source.get("state") or "",
        "zip": source.get("postcode") or "",
        "country": source.get("country") or "",
        "country_code": source.get("country") or "",
        "phone": source.get("phone") or billing.get("phone") or "",
    }


def order_from_payload(payload: dict[str, Any]) -> OrderData:
    """GET /orders/<id>, which is also the order.created / order.updated webhook body."""
    try:
        billing = payload.get("billing") or {}
        state, label = payment_state(payload)
        address = _address(payload.get("shipping") or {}, billing)
        lines = []
        for item in payload.get("line_items") or []:
            quantity = int(item["quantity"])
            subtotal = _decimal(item.get("subtotal"))
            unit = (subtotal / quantity).quantize(Decimal("0.01")) if quantity else Decimal("0")
            lines.append(
                OrderLineData(
                    store_line_id=str(item["id"]),
                    store_variant_id=str(item.get("variation_id") or item.get("product_id") or ""),
                    store_product_id=str(item.get("product_id") or ""),
                    sku=item.get("sku") or "",
                    title=item.get("name") or "",
                    quantity=quantity,
                    unit_price=unit,
                )
            )
        return OrderData(
            store_order_id=str(payload["id"]),
            number=str(payload.get("number") or payload["id"]),
            currency=payload.get("currency") or "",
            shopper_name=address["name"]
            or f"{billing.get('first_name') or ''} {billing.get('last_name') or ''}".strip(),
            shopper_email=billing.get("email") or "",
            shipping_address=address,
            lines=tuple(lines),
            total=_decimal(payload.get("total")),
            placed_at=payload.get("date_created_gmt") or payload.get("date_created") or "",
            status=payload.get("status") or "",
            is_cancelled=payload.get("status") in CANCELLED_STATUSES,
            payment_state=state,
            payment_label=label,
            billing_country=str(billing.get("country") or ""),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise StorePermanentError(f"The WooCommerce order is missing {exc}.") from exc
