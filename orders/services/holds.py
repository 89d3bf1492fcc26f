"""Held orders: received from a store, lines reserved, nothing routed yet (intake holds them).

An order is held while it waits for the shopper's payment (`Order.is_awaiting_payment`: pending,
authorized, on-hold, or cash on delivery in a store that does not route those at once), for
its shipping address (`Order.is_missing_address`: Shopify withheld it as protected customer
data) or for the retailer's review (`Order.is_held_for_review`: a fraud rule matched it,
orders.services.fraud). All end here:

- the store sends the order again, paid or with its address (`receive_held_order_again`,
  called by intake for orders/paid, orders/updated, order.updated or a poll);
- the address is read from the order's fulfillment orders (`fetch_missing_address`, a task
  after intake), or the retailer types it on the order page (`set_shipping_address`);
- the retailer releases a reviewed order (`release_review_hold`) or cancels it
  (`cancel_reviewed_order`, the store cancellation's path: stock released, lines cancelled);
- the reservation lapses after intake.HOLD_RESERVATION, or FRAUD_HOLD_RESERVATION_HOURS for a
  review (`lapse_held_reservations`, beat): the stock goes back on sale and the lines wait
  HELD, to be reserved again on release.

When nothing holds it any more, `release_order_hold` reserves what is not reserved, builds the
supplier orders and pays and dispatches them like a new order. Every function locks the order
row first, so a release, a lapse and a cancellation never interleave.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from catalog.services.reservations import release_stock, reserve_stock
from dropship.accounts.models import Notification, User
from dropship.accounts.services import notify
from dropship.core.errors import DomainError
from integrations.base import StorePermanentError
from integrations.registry import get_store_client
from orders.models import Order, OrderItem, SupplierOrder
from orders.services.cancellation import cancel_store_order
from orders.services.fraud import review_reservation
from orders.services.intake import (
    ADDRESS_KEYS,
    HOLD_RESERVATION,
    RouteLine,
    below_minimum_reason,
    cannot_route_reason,
    clean_address,
    route_reserved_items,
)
from orders.services.timeline import EventKind, record_event, refresh_order_status
from retailers.models import Retailer
from suppliers.models import Supplier

logger = logging.getLogger(__name__)

ADDRESS_NOT_SHARED = "shipping address not shared by {store}"
__all__ = ["ADDRESS_KEYS", "OrderAddressError", "set_shipping_address"]


class OrderAddressError(DomainError):
    status_code = 422


class OrderReviewError(DomainError):
    status_code = 409


def _lock(order: Order) -> Order:
    return (
        Order.objects.select_for_update(of=("self",))
        .select_related("store", "retailer")
        .get(pk=order.pk)
    )


@transaction.atomic
def receive_held_order_again(
    *,
    order: Order,
    is_paid: bool,
    payment_label: str,
    address: Mapping[str, str] | None,
    actor: User | None = None,
) -> list[SupplierOrder]:
    """The store sent a held order again: record what ended (paid, address shared) and release
    it when nothing holds it any more. A repeat of the same news changes nothing."""
    order = _lock(order)
    if order.cancelled_at is not None or not order.is_held:
        return []
    fields = []
    if order.is_awaiting_payment and is_paid:
        order.is_awaiting_payment = False
        order.payment_label = payment_label[:100]
        fields += ["is_awaiting_payment", "payment_label"]
        record_event(
            order=order,
            kind=EventKind.PAID,
            message=f"The shopper's payment arrived in {order.store.name} ({payment_label}).",
            actor=actor,
        )
    if order.is_missing_address and address is not None:
        _take_address(order, address)
        fields += ["shipping_address", "shipping_country", "is_missing_address"]
        record_event(
            order=order,
            kind=EventKind.HELD,
            message=f"{order.store.name} shared the shipping address.",
            actor=actor,
        )
    if not fields:
        return []
    order.save(update_fields=[*fields, "updated_at"])
    return _release_or_refresh(order=order, actor=actor)


def _take_address(order: Order, address: Mapping[str, str]) -> None:
    """The new address over what the order had (Shopify keeps the country when it withholds
    the street), cleaned like intake's."""
    known = order.shipping_address or {}
    merged = clean_address({**known, **{k: v for k, v in address.items() if v}})
    order.shipping_address = merged
    order.shipping_country = merged["country_code"][:2]
    order.is_missing_address = False


def _release_or_refresh(*, order: Order, actor: User | None) -> list[SupplierOrder]:
    if order.is_held:
        refresh_order_status(order=order)
        return []
    return release_order_hold(order=order, actor=actor)


@transaction.atomic
def release_order_hold(*, order: Order, actor: User | None = None) -> list[SupplierOrder]:
    """Route a held order nothing holds any more: lines whose reservation lapsed are reserved
    again (or become out-of-stock exceptions the retailer decides on), the supplier orders are
    built, paid and dispatched. Safe twice: only unrouted RESERVED / HELD lines are taken."""
    order = _lock(order)
    if order.is_held or order.cancelled_at is not None:
        return []
    items = list(
        OrderItem.objects.select_for_update(of=("self",))
        .filter(
            order=order,
            supplier_order__isnull=True,
            status__in=[OrderItem.Status.RESERVED, OrderItem.Status.HELD],
        )
        .select_related("variant")
        .order_by("pk")
    )
    suppliers = {
        supplier.pk: supplier
        for supplier in Supplier.objects.filter(
            pk__in={item.catalog_variant.supplier_id for item in items}
        ).prefetch_related("shipping_rates")
    }
    routable: list[OrderItem] = []
    exceptions: list[OrderItem] = []
    to_reserve: list[OrderItem] = []
    below_minimum = {
        supplier_id: below_minimum_reason(
            supplier=supplier,
            lines=[
                RouteLine(variant=item.catalog_variant, quantity=item.quantity)
                for item in items
                if item.catalog_variant.supplier_id == supplier_id
            ],
        )
        for supplier_id, supplier in suppliers.items()
    }
    for item in items:
        reason = (
            cannot_route_reason(
                supplier=suppliers[item.catalog_variant.supplier_id],
                country=order.shipping_country,
                lines=[RouteLine(variant=item.catalog_variant, quantity=item.quantity)],
                currency=order.currency,
            )
            or below_minimum[item.catalog_variant.supplier_id]
        )
        if reason:
            if item.status == OrderItem.Status.RESERVED:
                release_stock(lines=[item.stock_line()], reference=f"Order {order.number}")
            item.status, item.status_reason = OrderItem.Status.EXCEPTION, reason[:300]
            exceptions.append(item)
        elif item.status == OrderItem.Status.HELD:
            to_reserve.append(item)
        else:
            routable.append(item)
    if to_reserve:
        applied = reserve_stock(
            lines=[item.stock_line() for item in to_reserve],
            reference=f"Order {order.number} (released)",
            actor=actor,
        )
        for item, ok in zip(to_reserve, applied, strict=True):
            if ok:
                item.status, item.status_reason = OrderItem.Status.RESERVED, ""
                routable.append(item)
            else:
                item.status = OrderItem.Status.EXCEPTION
                item.status_reason = (
                    f"Out of stock: {suppliers[item.catalog_variant.supplier_id].company_name} "
                    f"had fewer than {item.quantity} of {item.catalog_variant.sku} available."
                )[:300]
                exceptions.append(item)
    for item in [*routable, *exceptions]:
        item.save(update_fields=["status", "status_reason"])
    Order.objects.filter(pk=order.pk).update(held_since=None, updated_at=timezone.now())
    order.held_since = None
    record_event(
        order=order,
        kind=EventKind.RELEASED,
        message=f"Order {order.number} released: {len(routable)} line"
        f"{'s' if len(routable) != 1 else ''} go to the supplier"
        + (f"; {len(exceptions)} could not be reserved or shipped" if exceptions else "")
        + ".",
        actor=actor,
    )
    supplier_orders = route_reserved_items(order=order, items=routable, actor=actor)
    if exceptions:
        notify(
            organisation=order.retailer,
            kind="orders.exception",
            message=f"Order {order.number}: {len(exceptions)} line"
            f"{'s' if len(exceptions) != 1 else ''} could not be reserved. Choose to wait for "
            "stock, substitute or cancel.",
            level=Notification.Level.WARNING,
            url=reverse("orders:retailer_detail", args=[order.pk]),
        )
        refresh_order_status(order=order)
    return supplier_orders


def clean_typed_address(address: Mapping[str, object]) -> dict[str, str]:
    """An address a retailer typed, or OrderAddressError naming the missing field."""
    cleaned = clean_address(dict(address))
    for key, label in (
        ("name", "the recipient's name"),
        ("address1", "the street address"),
        ("city", "the city"),
        ("country_code", "the two-letter country code"),
    ):
        if not cleaned[key]:
            raise OrderAddressError(f"Enter {label}.", field=key)
    if len(cleaned["country_code"]) != 2 or not cleaned["country_code"].isalpha():
        raise OrderAddressError(
            f"“{cleaned['country_code']}” is not a two-letter country code (e.g. US, DE).",
            field="country_code",
        )
    return cleaned


@transaction.atomic
def set_shipping_address(
    *, order: Order, address: Mapping[str, object], actor: User | None = None
) -> list[SupplierOrder]:
    """The retailer entered the address the store withheld: the order is released (when it
    is paid) and routed. OrderAddressError, with nothing written, for an incomplete address."""
    cleaned = clean_typed_address(address)
    order = _lock(order)
    if order.cancelled_at is not None:
        raise OrderAddressError(f"Order {order.number} is cancelled.")
    if not order.is_missing_address:
        raise OrderAddressError(f"Order {order.number} already has its shipping address.")
    _take_address(order, cleaned)
    order.save(
        update_fields=["shipping_address", "shipping_country", "is_missing_address", "updated_at"]
    )
    record_event(
        order=order,
        kind=EventKind.HELD,
        message="Shipping address entered by the retailer"
        + (
            "; the order still waits for the shopper's payment."
            if order.is_awaiting_payment
            else "."
        ),
        actor=actor,
    )
    return _release_or_refresh(order=order, actor=actor)


def _lock_for_review(order: Order, verb: str) -> Order:
    order = _lock(order)
    if order.cancelled_at is not None:
        raise OrderReviewError(f"Order {order.number} is cancelled.")
    if not order.is_held_for_review:
        raise OrderReviewError(
            f"Order {order.number} is not held for review (it was released already), so there "
            f"is nothing to {verb}."
        )
    return order


@transaction.atomic
def release_review_hold(*, order: Order, actor: User | None = None) -> list[SupplierOrder]:
    """The retailer reviewed an order a fraud rule held and lets it go: it is routed like a new
    order (unless it still waits for payment or address). OrderReviewError when it is not held
    for review any more: of two releases at once, the second finds it released (row lock)."""
    order = _lock_for_review(order, "release")
    order.is_held_for_review = False
    order.save(update_fields=["is_held_for_review", "updated_at"])
    record_event(
        order=order,
        kind=EventKind.REVIEWED,
        message="Reviewed and released"
        + (f" by {actor.email}" if actor else "")
        + f". It was held for: {order.review_reasons}",
        actor=actor,
    )
    return _release_or_refresh(order=order, actor=actor)


@transaction.atomic
def cancel_reviewed_order(*, order: Order, reason: str = "", actor: User | None = None) -> Order:
    """The retailer reviewed an order a fraud rule held and cancels it, as a store cancellation
    does: reserved stock back on sale, every line cancelled, the timeline says why."""
    order = _lock_for_review(order, "cancel")
    cancelled = cancel_store_order(
        store=order.store,
        store_order_id=order.store_order_id,
        reason=(reason.strip() or f"Held for review: {order.review_reasons}")[:300],
        actor=actor,
        cancelled_by="the retailer after review",
    )
    if cancelled is None:  # pragma: no cover - the row is locked above
        raise OrderReviewError(f"Order {order.number} was not found.")
    return cancelled


def fetch_missing_address(*, order_id: int) -> bool:
    """Ask the store for a held order's shipping address (Shopify: its fulfillment orders'
    destination). True when it was found and the order went on; otherwise the order stays an
    exception the retailer sees and can resolve by typing the address. Calls the store outside
    any transaction; StoreTemporaryError propagates for the task to retry."""
    order = Order.objects.select_related("store", "retailer").get(pk=order_id)
    if not order.is_missing_address or order.cancelled_at is not None:
        return False
    try:
        address = get_store_client(store=order.store).get_shipping_address(
            store_order_id=order.store_order_id
        )
    except StorePermanentError as exc:
        logger.warning("Reading the address of order %s failed: %s", order.pk, exc)
        address = None
    if address is not None and address.get("address1"):
        receive_held_order_again(
            order=order,
            is_paid=not order.is_awaiting_payment,
            payment_label=order.payment_label,
            address={key: str(address.get(key) or "") for key in ADDRESS_KEYS},
        )
        return True
    _tell_retailer_address_missing(order=order)
    return False


@transaction.atomic
def _tell_retailer_address_missing(*, order: Order) -> None:
    order = _lock(order)
    if not order.is_missing_address:
        return
    reason = ADDRESS_NOT_SHARED.format(store=order.store.name)
    if order.events.filter(kind=EventKind.HELD, message__startswith="Needs attention").exists():
        return  # told already (the task ran twice)
    record_event(
        order=order,
        kind=EventKind.HELD,
        message=f"Needs attention: {reason[0].upper()}{reason[1:]}. Enter the address on this "
        "page to send the order to the supplier.",
    )
    notify(
        organisation=order.retailer,
        kind="orders.address_missing",
        message=f"Order {order.number}: {reason}. Enter it to send the order on.",
        level=Notification.Level.WARNING,
        url=reverse("orders:retailer_detail", args=[order.pk]),
    )


def lapse_held_reservations(*, now: datetime | None = None, limit: int = 200) -> int:
    """Beat job: give back the stock of orders held longer than HOLD_RESERVATION (review holds:
    FRAUD_HOLD_RESERVATION_HOURS); their lines wait HELD and are reserved again on release.
    Returns the orders whose stock went back."""
    now = now or timezone.now()
    cutoffs = _Cutoffs(store=now - HOLD_RESERVATION, review=now - review_reservation())
    order_ids = list(
        Order.objects.filter(
            Q(
                Q(is_awaiting_payment=True)
                | Q(is_missing_address=True)
                | Q(is_held_for_account=True),
                held_since__lt=cutoffs.store,
            )
            | Q(is_held_for_review=True, held_since__lt=cutoffs.review),
            cancelled_at__isnull=True,
            items__status=OrderItem.Status.RESERVED,
            items__supplier_order__isnull=True,
        )
        .values_list("pk", flat=True)
        .distinct()
        .order_by("pk")[:limit]
    )
    return sum(_lapse(order_id=order_id, cutoffs=cutoffs) for order_id in order_ids)


@dataclass(frozen=True)
class _Cutoffs:
    store: datetime  # payment or address holds started before this have lapsed
    review: datetime  # review holds started before this have lapsed

    def window(self, order: Order) -> timedelta | None:
        """The hold window that is over for this (locked) order, or None."""
        if order.held_since is None:
            return None
        if (
            order.is_awaiting_payment or order.is_missing_address or order.is_held_for_account
        ) and order.held_since < self.store:
            return HOLD_RESERVATION
        if order.is_held_for_review and order.held_since < self.review:
            return review_reservation()
        return None


@transaction.atomic
def _lapse(*, order_id: int, cutoffs: _Cutoffs) -> bool:
    order = (
        Order.objects.select_for_update(of=("self",))
        .filter(pk=order_id, held_since__isnull=False, cancelled_at__isnull=True)
        .first()
    )
    window = cutoffs.window(order) if order is not None and order.is_held else None
    if order is None or window is None:
        return False
    items = list(
        OrderItem.objects.select_for_update()
        .filter(order=order, supplier_order__isnull=True, status=OrderItem.Status.RESERVED)
        .order_by("pk")
    )
    if not items:
        return False
    release_stock(
        lines=[item.stock_line() for item in items],
        reference=f"Order {order.number} (hold lapsed)",
    )
    hours = int(window.total_seconds() // 3600)
    OrderItem.objects.filter(pk__in=[item.pk for item in items]).update(
        status=OrderItem.Status.HELD,
        status_reason=f"Reservation released after {hours} hours on hold; reserved again "
        "when the order is released.",
    )
    record_event(
        order=order,
        kind=EventKind.HELD,
        message=f"Still held after {hours} hours: the stock of {len(items)} line"
        f"{'s' if len(items) != 1 else ''} went back on sale. It is reserved again when the "
        "order is released.",
    )
    return True


# --- orders held while the retailer was suspended --------------------------------------------------
def release_account_holds(*, retailer_id: int | None = None, limit: int = 200) -> int:
    """Route the orders held while their retailer was suspended, now that it is active again
    (one retailer, or every active one: beat's sweep). Each order is locked and released on its
    own; a repeat finds nothing. Returns how many orders were released."""
    query = Order.objects.filter(
        is_held_for_account=True,
        cancelled_at__isnull=True,
        retailer__status=Retailer.Status.ACTIVE,
    )
    if retailer_id is not None:
        query = query.filter(retailer_id=retailer_id)
    order_ids = list(query.order_by("pk").values_list("pk", flat=True)[:limit])
    return sum(_release_account_hold(order_id=order_id) for order_id in order_ids)


@transaction.atomic
def _release_account_hold(*, order_id: int) -> bool:
    order = (
        Order.objects.select_for_update(of=("self",))
        .select_related("store", "retailer")
        .filter(pk=order_id, is_held_for_account=True, cancelled_at__isnull=True)
        .first()
    )
    if order is None or order.retailer.is_suspended:
        return False
    order.is_held_for_account = False
    order.save(update_fields=["is_held_for_account", "updated_at"])
    record_event(
        order=order,
        kind=EventKind.RELEASED,
        message="Your account is active again: the order is no longer held.",
    )
    _release_or_refresh(order=order, actor=None)
    return True
