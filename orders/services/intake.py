"""Intake: a store's order (webhook or API) becomes one Order, its stock reserved, its lines routed.

DESIGN flows 1–3 in one transaction, in as few round trips as possible (this is the hot path):

1. the payload is cleaned (`clean_order_data`): bad quantities, missing ids and unusable addresses
   are refused with a message naming the line or field; over-long text is cut to its column;
2. the Order is inserted once per (store, store order id): a savepoint around the INSERT turns a
   concurrent or repeated delivery into "that order already exists" (the unique constraint
   decides, not a read-then-write);
3. lines are mapped to listing variants by store variant id, then SKU (one query); other lines
   are recorded NOT_OURS and skipped;
4. each supplier's lines are quoted for shipping, then reserved with one conditional UPDATE per
   line (catalog.services.reservations); a line that cannot be reserved is an EXCEPTION item;
5. one SupplierOrder per supplier with the money frozen (wholesale, shipping, fee, commission),
   created in bulk with its items and timeline events;
6. paid and dispatched (orders.services.routing.settle_supplier_orders): inline for a retailer on
   payment terms, in bulk, else by one task after commit (the card is charged outside the
   transaction); the timeline is written in one INSERT at the end.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db import IntegrityError, transaction
from django.db.models import Max, Q, prefetch_related_objects
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from billing.selectors import FrozenFees, get_fees_for_retailer
from billing.services.usage import count_routed_order
from catalog.models import Variant
from catalog.services.reservations import reserve_stock
from dropship.accounts.models import Notification, User
from dropship.accounts.services import notify
from dropship.core.errors import DomainError
from dropship.core.exchange import NoExchangeRate, RateBook, get_rate
from dropship.core.money import CURRENCY_CHOICES
from integrations.base import OrderData, OrderLineData, PaymentState
from orders.models import Order, OrderEvent, OrderItem, SupplierOrder
from orders.services import fraud
from orders.services.cancellation import cancel_store_order
from orders.services.routing import settle_supplier_orders
from orders.services.timeline import EventKind, refresh_order_status
from orders.shipping import ShippingLine, ShippingUnavailable, quote_shipping
from retailers.models import ListingVariant, NoticeKind, Retailer, Store
from retailers.services.notices import send_retailer_notice
from suppliers.models import Supplier

logger = logging.getLogger(__name__)

# How long a held order's lines stay reserved (DESIGN flow 1: a marketplace must not oversell,
# nor lock stock forever). Card authorizations are valid for about a week and bank transfers
# take a few working days: after three days the stock goes back on sale and the lines are
# reserved again (or become out-of-stock exceptions) when the order is released.
HOLD_RESERVATION = datetime.timedelta(hours=72)
MAX_LINES = 250
MAX_QUANTITY = 10_000
ADDRESS_KEYS = (
    "name",
    "company",
    "address1",
    "address2",
    "city",
    "province",
    "province_code",
    "zip",
    "country",
    "country_code",
    "phone",
)
ADDRESS_MAX = 255
_CURRENCIES = {code for code, _ in CURRENCY_CHOICES}


class OrderIntakeError(DomainError):
    status_code = 422


@dataclass(frozen=True)
class Review:
    """The fraud checks' verdict on a new order (orders.services.fraud) and its fingerprints."""

    address_key: str = ""
    shopper_key: str = ""
    reasons: tuple[str, ...] = ()


def review_new_order(*, store: Store, data: OrderData) -> Review:
    address_key = fraud.address_fingerprint(data.shipping_address)
    shopper_key = fraud.shopper_fingerprint(data.shopper_email)
    reasons = fraud.review_reasons(
        store=store, data=data, address_key=address_key, shopper_key=shopper_key
    )
    return Review(address_key=address_key, shopper_key=shopper_key, reasons=tuple(reasons))


@dataclass
class IntakeResult:
    order: Order | None
    created: bool
    message: str = ""
    supplier_orders: list[SupplierOrder] = dataclasses.field(default_factory=list)


# --- cleaning ------------------------------------------------------------------------------------
def _text(value: object, limit: int) -> str:
    text = "" if value is None else str(value)
    text = text.replace("\x00", "").strip()
    return text[:limit]


def _clean_line(index: int, line: OrderLineData, seen: set[str]) -> OrderLineData:
    label = f"Line {index + 1}" + (f" (“{_text(line.title, 60)}”)" if line.title else "")
    line_id = _text(line.store_line_id, 1000)
    if not line_id:
        raise OrderIntakeError(f"{label} has no line id.", field=f"lines[{index}].store_line_id")
    if len(line_id) > 100:
        raise OrderIntakeError(
            f"{label}: the line id is longer than 100 characters.",
            field=f"lines[{index}].store_line_id",
        )
    if line_id in seen:
        raise OrderIntakeError(
            f"{label}: line id {line_id} appears twice.", field=f"lines[{index}].store_line_id"
        )
    seen.add(line_id)
    quantity = line.quantity
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise OrderIntakeError(
            f"{label}: quantity must be a whole number, not {quantity!r}.",
            field=f"lines[{index}].quantity",
        )
    if quantity < 1:
        raise OrderIntakeError(
            f"{label}: quantity must be at least 1 (got {quantity}).",
            field=f"lines[{index}].quantity",
        )
    if quantity > MAX_QUANTITY:
        raise OrderIntakeError(
            f"{label}: quantity {quantity} is more than the {MAX_QUANTITY} we accept per line.",
            field=f"lines[{index}].quantity",
        )
    try:
        price = Decimal(line.unit_price).quantize(Decimal("0.01"))
    except (InvalidOperation, TypeError, ValueError):
        raise OrderIntakeError(
            f"{label}: the unit price {line.unit_price!r} is not a number.",
            field=f"lines[{index}].unit_price",
        ) from None
    if price < 0 or price >= Decimal("100000000"):
        raise OrderIntakeError(
            f"{label}: the unit price {price} is out of range.", field=f"lines[{index}].unit_price"
        )
    return OrderLineData(
        store_line_id=line_id,
        store_variant_id=_text(line.store_variant_id, 100),
        sku=_text(line.sku, 100),
        title=_text(line.title, 500) or _text(line.sku, 500) or f"Line {index + 1}",
        quantity=quantity,
        unit_price=price,
        store_product_id=_text(line.store_product_id, 100),
    )


def clean_address(address: object) -> dict[str, str]:
    """Known keys only, each a string cut to 255 characters (unicode kept as it is)."""
    if not isinstance(address, dict):
        address = {}
    cleaned = {key: _text(address.get(key), ADDRESS_MAX) for key in ADDRESS_KEYS}
    cleaned["country_code"] = cleaned["country_code"][:2].upper()
    return cleaned


def clean_order_data(*, data: OrderData) -> OrderData:
    """The payload made safe to store, or OrderIntakeError naming what is wrong."""
    store_order_id = _text(data.store_order_id, 1000)
    if not store_order_id:
        raise OrderIntakeError("The order has no id.", field="store_order_id")
    if len(store_order_id) > 100:
        raise OrderIntakeError(
            "The order id is longer than 100 characters.", field="store_order_id"
        )
    currency = _text(data.currency, 10).upper() or "USD"
    if currency not in _CURRENCIES:
        raise OrderIntakeError(
            f"Currency {currency!r} is not one we handle ({', '.join(sorted(_CURRENCIES))}).",
            field="currency",
        )
    lines = list(data.lines or ())
    if not lines:
        raise OrderIntakeError("The order has no lines.", field="lines")
    if len(lines) > MAX_LINES:
        raise OrderIntakeError(
            f"The order has {len(lines)} lines; the most we accept is {MAX_LINES}.", field="lines"
        )
    seen: set[str] = set()
    cleaned_lines = tuple(_clean_line(index, line, seen) for index, line in enumerate(lines))
    try:
        total = Decimal(data.total or 0).quantize(Decimal("0.01"))
    except (InvalidOperation, TypeError, ValueError):
        raise OrderIntakeError(
            f"The total {data.total!r} is not a number.", field="total"
        ) from None
    return dataclasses.replace(
        data,
        store_order_id=store_order_id,
        number=_text(data.number, 50) or store_order_id[:50],
        currency=currency,
        shopper_name=_text(data.shopper_name, ADDRESS_MAX),
        shopper_email=_text(data.shopper_email, 254),
        shipping_address=clean_address(data.shipping_address),
        lines=cleaned_lines,
        total=total if total >= 0 else Decimal("0"),
        placed_at=_text(data.placed_at, 64),
        status=_text(data.status, 50),
        billing_country=_text(data.billing_country, 2).upper(),
    )


def has_street_address(address: Mapping[str, str]) -> bool:
    return bool(address.get("address1") and address.get("country_code"))


def is_payment_awaited(*, store: Store, state: PaymentState) -> bool:
    """Whether an order in this payment state waits before it is routed: not paid yet, or paid
    by hand (cash on delivery, bank transfer) in a store that does not route those at once."""
    if state == PaymentState.MANUAL:
        return not store.routes_manual_payment_orders
    return state != PaymentState.PAID


def _require_address(address: Mapping[str, str]) -> None:
    missing = [
        label
        for key, label in (("address1", "street (address1)"), ("country_code", "country code"))
        if not address.get(key)
    ]
    if missing:
        raise OrderIntakeError(
            f"The shipping address has no {' and no '.join(missing)}; a supplier cannot ship it.",
            field="shipping_address",
        )


def _placed_at(value: str) -> datetime.datetime | None:
    parsed = parse_datetime(value) if value else None
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, datetime.UTC)
    return parsed


# --- mapping ------------------------------------------------------------------------------------
# What routing, payment and dispatch read of a matched line (66 columns were loaded before; a
# field missing here costs one query per supplier, which tests/orders/test_intake_batching.py's
# constant query count would catch).
ROUTING_FIELDS = (
    "store_variant_id",
    "store_id",
    "listing_id",
    "variant__sku",
    "variant__product_id",
    "variant__wholesale_price",
    "variant__currency",
    "variant__shipping_class",
    "variant__supplier__company_name",
    "variant__supplier__status",
    "variant__supplier__ship_from_country",
    "variant__supplier__handling_days",
    "variant__supplier__order_channel",
    "variant__supplier__webhook_url",
    "variant__supplier__webhook_secret",
    "variant__supplier__order_email",
    "variant__supplier__contact_email",
    "variant__supplier__min_order_value",
)


def map_lines(*, store: Store, lines: tuple[OrderLineData, ...]) -> list[ListingVariant | None]:
    """The store's listing variant for each line, by store variant id, then SKU (one query)."""
    ids = {line.store_variant_id for line in lines if line.store_variant_id}
    skus = {line.sku for line in lines if line.sku}
    if not ids and not skus:
        return [None] * len(lines)
    rows = list(
        ListingVariant.objects.filter(store=store)
        .filter(Q(store_variant_id__in=ids) | Q(variant__sku__in=skus))
        .select_related("variant__supplier")
        .only(*ROUTING_FIELDS)
        .order_by("pk")
    )
    by_id = {row.store_variant_id: row for row in rows if row.store_variant_id}
    by_sku: dict[str, ListingVariant] = {}
    for row in rows:
        by_sku.setdefault(row.variant.sku, row)
    return [
        (by_id.get(line.store_variant_id) if line.store_variant_id else None)
        or (by_sku.get(line.sku) if line.sku else None)
        for line in lines
    ]


# --- intake -------------------------------------------------------------------------------------
def _insert_order(
    *,
    store: Store,
    data: OrderData,
    retail_total: Decimal,
    is_awaiting_payment: bool = False,
    is_missing_address: bool = False,
    review: Review | None = None,
    is_held_for_account: bool = False,
) -> tuple[Order, bool]:
    """INSERT once per (store, store order id); a concurrent or repeated delivery gets the row."""
    address = data.shipping_address
    review = review or Review()
    is_held = (
        is_awaiting_payment or is_missing_address or bool(review.reasons) or is_held_for_account
    )
    order = Order(
        store=store,
        retailer_id=store.retailer_id,
        store_order_id=data.store_order_id,
        number=data.number,
        currency=data.currency,
        shopper_name=data.shopper_name,
        shopper_email=data.shopper_email,
        shipping_address=address,
        shipping_country=address.get("country_code", "")[:2],
        retail_total=retail_total,
        placed_at=_placed_at(data.placed_at) or timezone.now(),
        is_awaiting_payment=is_awaiting_payment,
        is_missing_address=is_missing_address,
        payment_label=data.payment_label[:100],
        held_since=timezone.now() if is_held else None,
        billing_country=data.billing_country,
        address_fingerprint=review.address_key,
        shopper_fingerprint=review.shopper_key,
        is_held_for_review=bool(review.reasons),
        is_held_for_account=is_held_for_account,
        review_reasons=" ".join(review.reasons)[:500],
    )
    try:
        with transaction.atomic():
            order.save(force_insert=True)
    except IntegrityError:
        existing = Order.objects.get(store=store, store_order_id=data.store_order_id)
        return existing, False
    return order, True


def receive_store_order(
    *, store: Store, data: OrderData, actor: User | None = None
) -> IntakeResult:
    """Create, reserve and route a store's order once; a repeat returns the existing order.

    The same entry point takes the order again whenever the store sends it (created, paid,
    updated, or found by a poll): a held order that is now paid, or now has its address, is
    released and routed; anything else about a known order changes nothing.

    An order not paid yet (`is_payment_awaited`), one a store sent without a street address
    (Shopify withholds protected customer data), or one a fraud rule matches
    (`orders.services.fraud`, the retailer reviews it) is held: its lines are reserved, nothing is
    routed, and orders.services.holds releases it (payment, address) or lets its reservation
    lapse. A custom store's API call without an address is refused instead (its sender can fix
    it). Runs in the caller's transaction when there is one (the webhook inbox), else in its own.
    Raises OrderIntakeError (nothing written) for a payload that cannot be an order.
    """
    data = clean_order_data(data=data)
    ends = {
        PaymentState.VOIDED: f"Payment voided in {store.name}.",
        PaymentState.REFUNDED: f"Refunded in {store.name}.",
    }
    if data.is_cancelled or data.payment_state in ends:
        order = cancel_store_order(
            store=store,
            store_order_id=data.store_order_id,
            reason=f"Cancelled in {store.name}." if data.is_cancelled else ends[data.payment_state],
        )
        return IntakeResult(order=order, created=False, message="cancelled")
    # Reads and checks first: a refusal leaves the caller's transaction untouched. A repeated
    # delivery is recognised by the INSERT below (the unique constraint), not by a read.
    matches = map_lines(store=store, lines=data.lines)
    if not any(matches):
        existing = Order.objects.filter(store=store, store_order_id=data.store_order_id).first()
        if existing is not None:  # received before; its products were delisted since
            return _receive_again(order=existing, store=store, data=data, actor=actor)
        return IntakeResult(
            order=None,
            created=False,
            message="None of the lines are Dropship products "
            f"({', '.join(line.sku or line.title for line in data.lines)[:300]}).",
        )
    is_missing_address = not has_street_address(data.shipping_address)
    if is_missing_address and store.platform == Store.Platform.CUSTOM:
        _require_address(data.shipping_address)
    is_awaiting_payment = is_payment_awaited(store=store, state=data.payment_state)
    review = review_new_order(store=store, data=data)
    with transaction.atomic(savepoint=False):
        order, created = _insert_order(
            store=store,
            data=data,
            retail_total=data.total,
            is_awaiting_payment=is_awaiting_payment,
            is_missing_address=is_missing_address,
            review=review,
            is_held_for_account=store.retailer.is_suspended,
        )
        order.store = store
        order.retailer = store.retailer
        if not created:
            return _receive_again(order=order, store=store, data=data, actor=actor)
        if order.is_held:
            _hold_new_order(order=order, store=store, data=data, matches=matches)
            return IntakeResult(order=order, created=True, message="held")
        supplier_orders, item_statuses, events = _route_new_order(
            order=order, store=store, data=data, matches=matches
        )
        settle_supplier_orders(
            order=order,
            supplier_orders=supplier_orders,
            actor=actor,
            item_statuses=item_statuses,
            events=events,
        )
    return IntakeResult(order=order, created=True, supplier_orders=supplier_orders)


def _receive_again(
    *, order: Order, store: Store, data: OrderData, actor: User | None
) -> IntakeResult:
    """The store sent an order we have: release what its news allows (paid now, an address
    now), else nothing changes. Safe for any number of repeats."""
    # local: holds.py builds on this module's routing helpers
    from orders.services.holds import receive_held_order_again

    if order.is_held:
        receive_held_order_again(
            order=order,
            is_paid=not is_payment_awaited(store=store, state=data.payment_state),
            payment_label=data.payment_label,
            address=data.shipping_address if has_street_address(data.shipping_address) else None,
            actor=actor,
        )
        order.refresh_from_db()
    return IntakeResult(order=order, created=False, message="duplicate")


def _new_item(
    *, order: Order, data: OrderLineData, match: ListingVariant | None, **fields: Any
) -> OrderItem:
    """An order line as the store sent it, bound to our listing variant when it is ours."""
    return OrderItem(
        order=order,
        variant=match.variant if match else None,
        listing_variant=match,
        store_line_id=data.store_line_id,
        store_variant_id=data.store_variant_id,
        sku=data.sku,
        title=data.title,
        quantity=data.quantity,
        wholesale_unit_price=match.variant.wholesale_price if match else None,
        retail_unit_price=data.unit_price,
        **fields,
    )


def _hold_new_order(
    *, order: Order, store: Store, data: OrderData, matches: list[ListingVariant | None]
) -> None:
    """A new order that waits (payment, address): its lines are reserved now, for the hold's
    reservation window; a line that cannot be reserved or shipped yet is HELD and tried again
    when the order is released. No supplier order is made."""
    from orders.tasks import fetch_shipping_address_task  # local: tasks.py imports the services

    reasons = []
    if order.is_held_for_account:
        reasons.append(
            "because your account is suspended"
            + (f" ({store.retailer.suspension_reason})" if store.retailer.suspension_reason else "")
        )
    if order.is_held_for_review:
        reasons.append("for your review (fraud checks: " + order.review_reasons + ")")
    if order.is_awaiting_payment:
        reasons.append(f"waiting for the shopper's payment ({order.payment_label or 'unpaid'})")
    if order.is_missing_address:
        reasons.append(f"{store.name} did not share the shipping address")
    items = []
    to_reserve: list[tuple[OrderItem, int]] = []
    for line, match in zip(data.lines, matches, strict=True):
        item = _new_item(
            order=order,
            data=line,
            match=match,
            status=OrderItem.Status.HELD if match else OrderItem.Status.NOT_OURS,
        )
        items.append(item)
        if match is not None:
            to_reserve.append((item, match.variant_id))
    applied = (
        reserve_stock(
            lines=[(variant_id, item.quantity) for item, variant_id in to_reserve],
            reference=f"Order {order.number} ({store.name}, held)",
        )
        if to_reserve
        else []
    )
    for (item, _variant_id), ok in zip(to_reserve, applied, strict=True):
        if ok:
            item.status = OrderItem.Status.RESERVED
        else:
            item.status_reason = "Out of stock now; reserved again when the order is released."
    OrderItem.objects.bulk_create(items)
    reserved = sum(1 for item in items if item.status == OrderItem.Status.RESERVED)
    window = min(
        [HOLD_RESERVATION]
        * (order.is_awaiting_payment or order.is_missing_address or order.is_held_for_account)
        + [fraud.review_reservation()] * order.is_held_for_review
    )
    OrderEvent.objects.bulk_create(
        [
            OrderEvent(
                order=order,
                kind=EventKind.RECEIVED,
                message=f"Order {order.number} received from {store.name}: {len(items)} line"
                f"{'s' if len(items) != 1 else ''}.",
            ),
            OrderEvent(
                order=order,
                kind=EventKind.HELD,
                message=(
                    "Held, " + " and ".join(reasons) + f": {reserved} line"
                    f"{'s' if reserved != 1 else ''} reserved for "
                    f"{int(window.total_seconds() // 3600)} hours; nothing is sent "
                    "to suppliers until it is released."
                )[:500],
            ),
        ]
    )
    refresh_order_status(order=order)
    if order.is_held_for_account:
        _warn_retailer(
            order=order,
            kind="orders.held_for_account",
            message=f"Order {order.number} is held because your account is suspended; it is "
            "sent to the supplier as soon as your account is active again. Contact support.",
        )
    if order.is_held_for_review:
        _warn_retailer(
            order=order,
            kind="orders.held_for_review",
            message=f"Order {order.number} is held for your review: {order.review_reasons} "
            "Release it to send it to the supplier, or cancel it.",
        )
    if order.is_missing_address:
        transaction.on_commit(partial(fetch_shipping_address_task.delay, order.pk))


@dataclass(kw_only=True)
class RouteLine:
    """A line bound for a supplier order: what stock, shipping and pricing read of it."""

    variant: Variant
    quantity: int


@dataclass(kw_only=True)
class _Line(RouteLine):
    """A line of the store's order matched to one of the store's listing variants."""

    data: OrderLineData
    listing_variant: ListingVariant
    status: str = OrderItem.Status.RESERVED
    reason: str = ""
    supplier_order: SupplierOrder | None = None


def _route_new_order(
    *, order: Order, store: Store, data: OrderData, matches: list[ListingVariant | None]
) -> tuple[list[SupplierOrder], list[str], list[OrderEvent]]:
    """Reserve and group the lines; returns the supplier orders, the item statuses and the
    timeline events (not written yet: the caller adds its own and writes them at once)."""
    # One _Line per Dropship line, None for a line of someone else's product (NOT_OURS).
    lines = [
        None
        if match is None
        else _Line(variant=match.variant, quantity=line.quantity, data=line, listing_variant=match)
        for line, match in zip(data.lines, matches, strict=True)
    ]
    ours = [line for line in lines if line is not None]
    by_supplier: dict[int, list[_Line]] = defaultdict(list)
    for line in ours:
        by_supplier[line.variant.supplier_id].append(line)
    suppliers = {line.variant.supplier_id: line.variant.supplier for line in ours}
    prefetch_related_objects(list(suppliers.values()), "shipping_rates")
    country = order.shipping_country
    to_reserve: list[_Line] = []
    for supplier_id, supplier_lines in by_supplier.items():
        supplier = suppliers[supplier_id]
        reason = cannot_route_reason(
            supplier=supplier, country=country, lines=supplier_lines, currency=order.currency
        ) or below_minimum_reason(supplier=supplier, lines=supplier_lines)
        if reason:
            for line in supplier_lines:
                line.status, line.reason = OrderItem.Status.EXCEPTION, reason
        else:
            to_reserve.extend(supplier_lines)
    if to_reserve:
        applied = reserve_stock(
            lines=[(line.listing_variant.variant_id, line.quantity) for line in to_reserve],
            reference=f"Order {order.number} ({store.name})",
        )
        for line, ok in zip(to_reserve, applied, strict=True):
            if ok:
                line.status = OrderItem.Status.RESERVED
            else:
                line.status = OrderItem.Status.EXCEPTION
                line.reason = (
                    f"Out of stock: {suppliers[line.variant.supplier_id].company_name} "
                    f"had fewer than {line.quantity} of {line.variant.sku} available."
                )
    reserved = {
        supplier_id: [line for line in supplier_lines if line.status == OrderItem.Status.RESERVED]
        for supplier_id, supplier_lines in by_supplier.items()
    }
    supplier_orders = build_supplier_orders(order=order, groups=reserved, suppliers=suppliers)
    for supplier_order in supplier_orders:
        for line in reserved[supplier_order.supplier_id]:
            line.supplier_order = supplier_order
    OrderItem.objects.bulk_create(
        [
            _new_item(
                order=order,
                data=line_data,
                match=line.listing_variant if line else None,
                supplier_order=line.supplier_order if line else None,
                status=line.status if line else OrderItem.Status.NOT_OURS,
                status_reason=line.reason[:300] if line else "",
            )
            for line_data, line in zip(data.lines, lines, strict=True)
        ]
    )
    foreign = len(lines) - len(ours)
    events = [
        OrderEvent(
            order=order,
            kind=EventKind.RECEIVED,
            message=(
                f"Order {order.number} received from {store.name}: {len(lines)} line"
                f"{'s' if len(lines) != 1 else ''}"
                + (
                    f", {foreign} not Dropship product{'s' if foreign != 1 else ''} (skipped)"
                    if foreign
                    else ""
                )
                + "."
            )[:500],
        )
    ]
    for supplier_order in supplier_orders:
        count = len(reserved[supplier_order.supplier_id])
        events.append(
            OrderEvent(
                order=order,
                supplier_order=supplier_order,
                kind=EventKind.RESERVED,
                message=f"Stock reserved at {supplier_order.supplier.company_name} for {count} "
                f"line{'s' if count != 1 else ''}; {supplier_order.number} created.",
            )
        )
    exceptions = [line for line in ours if line.status == OrderItem.Status.EXCEPTION]
    events.extend(
        OrderEvent(
            order=order,
            kind=EventKind.OUT_OF_STOCK,
            message=f"“{line.data.title[:200]}” × {line.quantity}: {line.reason}"[:500],
        )
        for line in exceptions
    )
    if exceptions:
        _tell_retailer_exceptions(order=order, count=len(exceptions))
    return (
        supplier_orders,
        [line.status if line else OrderItem.Status.NOT_OURS for line in lines],
        events,
    )


def cannot_route_reason(
    *, supplier: Supplier, country: str, lines: Sequence[RouteLine], currency: str = ""
) -> str:
    """Why the supplier cannot take these lines to `country` (not active, no shipping, or, for
    an order in `currency`, no exchange rate from the supplier's prices to it), or ""."""
    if supplier.status != Supplier.Status.ACTIVE:
        return f"{supplier.company_name} is not taking orders right now."
    priced_in = lines[0].variant.currency if lines else currency
    if currency and priced_in != currency:
        try:
            get_rate(base=priced_in, quote=currency)
        except NoExchangeRate:
            return (
                f"{supplier.company_name} prices in {priced_in} and this order is in "
                f"{currency}, and we have no {priced_in}→{currency} exchange rate for today. "
                "Retry the line once support has added the rate, substitute it or cancel it."
            )
    try:
        quote_shipping(
            supplier=supplier,
            destination_country=country,
            lines=[ShippingLine(line.variant.shipping_class, line.quantity) for line in lines],
            rates=list(supplier.shipping_rates.all()),
        )
    except ShippingUnavailable as exc:
        return exc.message
    return ""


def below_minimum_reason(*, supplier: Supplier, lines: Sequence[RouteLine]) -> str:
    """Why these lines, together, are below the supplier's minimum order value, or "". The
    lines become exceptions the retailer resolves like any other (substitute or cancel)."""
    minimum = supplier.min_order_value
    if not minimum:
        return ""
    wholesale = sum((line.variant.wholesale_price * line.quantity for line in lines), Decimal(0))
    if wholesale >= minimum:
        return ""
    currency = lines[0].variant.currency if lines else ""
    return (
        f"Below {supplier.company_name}'s minimum order of {minimum} {currency}: these lines "
        f"come to {wholesale.quantize(Decimal('0.01'))} {currency} at wholesale. Substitute "
        "them or cancel them."
    )


def build_supplier_orders(
    *,
    order: Order,
    groups: Mapping[int, Sequence[RouteLine]],
    suppliers: Mapping[int, Supplier],
    part_for: Callable[[int], int] | None = None,
    count_usage: bool = True,
) -> list[SupplierOrder]:
    """One SupplierOrder per supplier with reserved lines in `groups`, ordered by supplier id,
    money frozen now: wholesale, shipping from the supplier's rates, fee and commission of the
    retailer's plan. Created in one INSERT.

    For a retailer on payment terms they are born paid and sent (nothing can refuse a terms
    payment): the caller must hand them to `settle_supplier_orders` in the same transaction,
    which writes their charges and ledger movements and tells the suppliers. Others are born
    PENDING, to be paid by card after commit.

    `count_usage`: this is the order's first routing, counted against the plan's monthly order
    limit (billing/services/usage.py); an order over it carries the plan's overage fee on its
    first supplier order's platform fee."""
    groups = {supplier_id: lines for supplier_id, lines in groups.items() if lines}
    if not groups:
        return []
    try:
        fees = _fees_for(order.retailer, get_fees_for_retailer)
    except ObjectDoesNotExist:  # an admin deleted the plan's schedule: route, charge no fee
        logger.error(
            "No fee schedule for plan %s; routing order %s without fees",
            order.retailer.plan,
            order.pk,
        )
        fees = FrozenFees(
            platform_fee=Decimal("0"), commission_percent=Decimal("0"), currency=order.currency
        )
    overage = (
        count_routed_order(retailer=order.retailer, fees=fees).overage_fee
        if count_usage
        else Decimal(0)
    )
    supplier_orders: list[SupplierOrder] = []
    now = timezone.now()
    born: dict[str, Any] = (
        {"status": SupplierOrder.Status.SENT, "paid_at": now, "sent_at": now}
        if order.retailer.has_payment_terms
        else {}
    )
    rates = RateBook()
    for supplier_id, lines in sorted(groups.items()):
        supplier = suppliers[supplier_id]
        currency = lines[0].variant.currency
        # Raises NoExchangeRate (the caller's transaction writes nothing) only where the caller
        # skipped cannot_route_reason, which turns a missing rate into an exception line.
        rate = (
            rates.rate(base=currency, quote=order.currency) if currency != order.currency else None
        )
        wholesale = sum(
            (line.variant.wholesale_price * line.quantity for line in lines),
            Decimal("0"),
        )
        quote = quote_shipping(
            supplier=supplier,
            destination_country=order.shipping_country,
            lines=[ShippingLine(line.variant.shipping_class, line.quantity) for line in lines],
            rates=list(supplier.shipping_rates.all()),
        )
        part = part_for(supplier_id) if part_for else 1
        supplier_order = SupplierOrder(
            order=order,
            supplier=supplier,
            part=part,
            number=f"SO-{order.pk}-{supplier_id}" + (f"-{part}" if part > 1 else ""),
            currency=currency,
            exchange_rate=rate.rate if rate else None,
            exchange_rate_date=rate.day if rate else None,
            wholesale_total=wholesale.quantize(Decimal("0.01")),
            shipping_total=quote.total,
            platform_fee=fees.platform_fee + (overage if not supplier_orders else Decimal(0)),
            commission_percent=fees.commission_percent,
            **born,
        )
        supplier_orders.append(supplier_order)
    SupplierOrder.objects.bulk_create(supplier_orders)
    return supplier_orders


def route_reserved_items(
    *, order: Order, items: list[OrderItem], actor: User | None = None
) -> list[SupplierOrder]:
    """Put reserved items (variant set) of an order in new supplier order parts (one per
    supplier, after the parts it has), then pay and dispatch them."""
    supplier_ids = {item.catalog_variant.supplier_id for item in items}
    suppliers = {
        supplier.pk: supplier
        for supplier in Supplier.objects.filter(pk__in=supplier_ids).prefetch_related(
            "shipping_rates"
        )
    }
    parts = dict(
        SupplierOrder.objects.filter(order=order, supplier_id__in=supplier_ids)
        .values("supplier_id")
        .annotate(last=Max("part"))
        .values_list("supplier_id", "last")
    )
    by_supplier: dict[int, list[OrderItem]] = {}
    for item in items:
        by_supplier.setdefault(item.catalog_variant.supplier_id, []).append(item)
    supplier_orders = build_supplier_orders(
        order=order,
        groups={
            supplier_id: [
                RouteLine(variant=item.catalog_variant, quantity=item.quantity)
                for item in supplier_items
            ]
            for supplier_id, supplier_items in by_supplier.items()
        },
        suppliers=suppliers,
        part_for=lambda supplier_id: parts.get(supplier_id, 0) + 1,
        count_usage=not SupplierOrder.objects.filter(order=order).exists(),
    )
    for supplier_order in supplier_orders:  # one per supplier of `by_supplier`
        for item in by_supplier[supplier_order.supplier_id]:
            item.supplier_order = supplier_order
            item.save(update_fields=["supplier_order"])
    settle_supplier_orders(order=order, supplier_orders=supplier_orders, actor=actor)
    return supplier_orders


_FEES: dict[str, tuple[float, FrozenFees]] = {}
FEES_CACHE_SECONDS = 30.0


def _fees_for(retailer: Retailer, lookup: Callable[..., FrozenFees]) -> FrozenFees:
    """The plan's fees, remembered for a few seconds per process (one query less per order on
    the hot path; an admin's change of a fee schedule applies within FEES_CACHE_SECONDS)."""
    now = time.monotonic()
    cached = _FEES.get(retailer.plan)
    if cached is not None and now - cached[0] < FEES_CACHE_SECONDS:
        return cached[1]
    fees = lookup(retailer=retailer)
    _FEES[retailer.plan] = (now, fees)
    return fees


def _tell_retailer_exceptions(*, order: Order, count: int) -> None:
    send_retailer_notice(
        retailer=order.retailer,
        kind=NoticeKind.NEEDS_DECISION,
        event="orders.exception",
        subject=f"Order {order.number} needs your decision",
        message=f"Order {order.number}: {count} line{'s' if count != 1 else ''} could not be "
        "reserved. Choose to wait for stock, substitute or cancel.",
        level=Notification.Level.WARNING,
        url=reverse("orders:retailer_detail", args=[order.pk]),
    )


def _warn_retailer(*, order: Order, kind: str, message: str) -> None:
    """A warning on the retailer's dashboard that links to the order."""
    notify(
        organisation=order.retailer,
        kind=kind,
        message=message,
        level=Notification.Level.WARNING,
        url=reverse("orders:retailer_detail", args=[order.pk]),
    )
