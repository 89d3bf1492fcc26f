"""Manual orders: a retailer types an order into one of its custom stores (a phone order, an
order its integration missed, or a sample sent to its own address).

It goes through the same intake as a store's order (`receive_store_order`): the typed lines
become the payload a custom store would send to `POST /api/v1/orders`. Everything that would
stop the order is checked first, so a refused order leaves nothing behind: the store must be
the retailer's connected custom store, every line one of its active listings, and every
supplier must ship to the address's country.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import prefetch_related_objects

from dropship.accounts.models import User
from dropship.core.errors import NotFound
from integrations.base import OrderData, OrderLineData
from orders.services.intake import (
    MAX_LINES,
    MAX_QUANTITY,
    IntakeResult,
    OrderIntakeError,
    RouteLine,
    cannot_route_reason,
    clean_address,
    receive_store_order,
)
from retailers.models import Listing, ListingVariant, Retailer, Store


@dataclass(frozen=True)
class ManualLine:
    listing_variant_id: int
    quantity: int


def _lines(*, store: Store, lines: list[ManualLine]) -> list[tuple[ListingVariant, int]]:
    wanted = [line for line in lines if line.quantity]
    if not wanted:
        raise OrderIntakeError("Choose at least one product and a quantity.", field="lines")
    if len(wanted) > MAX_LINES:
        raise OrderIntakeError(f"An order has at most {MAX_LINES} lines.", field="lines")
    ids = [line.listing_variant_id for line in wanted]
    if len(set(ids)) != len(ids):
        raise OrderIntakeError("Each product appears once; add up its quantities.", field="lines")
    rows = {
        lv.pk: lv
        for lv in ListingVariant.objects.filter(
            pk__in=ids, listing__store=store, listing__status=Listing.Status.ACTIVE
        ).select_related("variant__supplier", "variant__product", "listing")
    }
    chosen = []
    for index, line in enumerate(wanted):
        lv = rows.get(line.listing_variant_id)
        if lv is None:
            raise NotFound(
                f"Line {index + 1}: that product is not listed in {store.name}.",
                field=f"lines[{index}].listing_variant_id",
            )
        if not 1 <= line.quantity <= MAX_QUANTITY:
            raise OrderIntakeError(
                f"Line {index + 1}: the quantity must be from 1 to {MAX_QUANTITY}.",
                field=f"lines[{index}].quantity",
            )
        chosen.append((lv, line.quantity))
    return chosen


def _check_shipping(*, chosen: list[tuple[ListingVariant, int]], country: str) -> None:
    """Every supplier ships there, or the order is refused naming the supplier's products."""
    by_supplier: dict[int, list[RouteLine]] = defaultdict(list)
    suppliers = {}
    for lv, quantity in chosen:
        by_supplier[lv.variant.supplier_id].append(RouteLine(variant=lv.variant, quantity=quantity))
        suppliers[lv.variant.supplier_id] = lv.variant.supplier
    prefetch_related_objects(list(suppliers.values()), "shipping_rates")
    for supplier_id, route_lines in by_supplier.items():
        reason = cannot_route_reason(
            supplier=suppliers[supplier_id], country=country, lines=route_lines
        )
        if reason:
            skus = ", ".join(line.variant.sku for line in route_lines)
            raise OrderIntakeError(
                f"{skus}: {reason} Choose another address or other products.",
                field="shipping_address.country_code",
            )


def place_manual_order(
    *,
    retailer: Retailer,
    store: Store,
    lines: list[ManualLine],
    shipping_address: dict[str, str],
    shopper_name: str = "",
    shopper_email: str = "",
    actor: User | None = None,
) -> IntakeResult:
    """Send a typed order into one of the retailer's custom stores; routed like any other."""
    if store.retailer_id != retailer.pk or store.platform != Store.Platform.CUSTOM:
        raise NotFound("No custom store of yours has that id.", field="store")
    if store.status != Store.Status.CONNECTED:
        raise OrderIntakeError(f"{store.name} is disconnected.", field="store")
    address = clean_address(shipping_address)
    missing = [
        (key, label)
        for key, label in (
            ("name", "name"),
            ("address1", "street"),
            ("city", "city"),
            ("country_code", "country"),
        )
        if not address.get(key)
    ]
    if missing:
        raise OrderIntakeError(
            "The shipping address needs a " + ", ".join(label for _, label in missing) + ".",
            field=f"shipping_address.{missing[0][0]}",
        )
    chosen = _lines(store=store, lines=lines)
    _check_shipping(chosen=chosen, country=address["country_code"])
    reference = secrets.token_hex(4).upper()
    total = sum((lv.retail_price * quantity for lv, quantity in chosen), Decimal("0"))
    data = OrderData(
        store_order_id=f"manual-{reference}",
        number=f"M-{reference}",
        currency=store.currency,
        shopper_name=shopper_name or address["name"],
        shopper_email=shopper_email,
        shipping_address=address,
        lines=tuple(
            OrderLineData(
                store_line_id=str(index + 1),
                store_variant_id=lv.store_variant_id,
                sku=lv.variant.sku,
                title=lv.listing.title or lv.variant.product.title,
                quantity=quantity,
                unit_price=lv.retail_price,
                store_product_id=lv.listing.store_product_id,
            )
            for index, (lv, quantity) in enumerate(chosen)
        ),
        total=total,
    )
    return receive_store_order(store=store, data=data, actor=actor)
