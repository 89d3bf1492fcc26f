"""The supplier's side of an order: accept, reject with a reason, ship lines with tracking.

Every entry point (dashboard, CSV upload, API, the supplier's own webhook) calls these functions,
so the rules hold the same everywhere:

- a supplier order is accepted from PAID or SENT (accepting twice changes nothing);
- a rejection gives the reserved stock back (`release_stock`), turns its lines into EXCEPTION
  items carrying the reason, and tells the retailer (dashboard notification + email);
- a shipment takes some or all of the remaining quantities of the supplier order's lines, with a
  carrier and a tracking number checked against the carrier's format; the quantities leave
  on-hand and reserved together (`ship_stock`); one `Shipment` per parcel; the fulfilment is
  pushed to the store after commit (orders/services/tracking.py). Recording the same carrier and
  tracking number again for the same lines is a no-op, so a retried call never ships twice.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from django.db import transaction
from django.db.models import F
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from catalog.services.reservations import release_stock, ship_stock
from dropship.accounts.models import Notification, User
from dropship.core import spreadsheets
from dropship.core.audit import diff, record_audit, snapshot
from dropship.core.errors import Conflict, DomainError, NotFound
from orders.carriers import validate_tracking_number
from orders.models import Order, OrderItem, Shipment, ShipmentItem, SupplierOrder
from orders.services.delivery import queue_tracker_registration
from orders.services.timeline import EventKind, record_event, refresh_order_status
from orders.services.tracking import queue_tracking_push
from retailers.models import NoticeKind
from retailers.services.notices import send_retailer_notice
from suppliers.models import Supplier

S = SupplierOrder.Status
ACCEPTABLE = (S.PAID, S.SENT)
SHIPPABLE = (S.PAID, S.SENT, S.ACCEPTED)
REJECTABLE = (S.PAID, S.SENT, S.ACCEPTED)
MAX_REASON = 300
MAX_CSV_BYTES = 2 * 1024 * 1024
MAX_CSV_ROWS = 5000


class FulfilmentError(DomainError):
    pass


class FulfilmentConflict(Conflict):
    pass


@dataclass(frozen=True)
class ShipLine:
    """Ship `quantity` of one line of the supplier order (our OrderItem id)."""

    order_item_id: int
    quantity: int


class RequestedShipLine(Protocol):
    """A line to ship as the API schema gives it (a supplier's webhook sends the same keys as a
    JSON object): our line id or the SKU, and the quantity."""

    @property
    def line_id(self) -> int | None: ...
    @property
    def sku(self) -> str: ...
    @property
    def quantity(self) -> int: ...


def _locked(supplier_order: SupplierOrder) -> SupplierOrder:
    return (
        SupplierOrder.objects.select_for_update(of=("self",))
        .select_related("order", "supplier")
        .get(pk=supplier_order.pk)
    )


# --- accept --------------------------------------------------------------------------------------
@transaction.atomic
def accept_supplier_order(
    *, supplier_order: SupplierOrder, actor: User | None = None
) -> SupplierOrder:
    """The supplier takes the order on. Accepting an accepted order changes nothing."""
    supplier_order = _locked(supplier_order)
    if supplier_order.status == S.ACCEPTED:
        return supplier_order
    if supplier_order.status not in ACCEPTABLE:
        raise FulfilmentConflict(
            f"Order {supplier_order.number} is {supplier_order.get_status_display().lower()} "
            "and cannot be accepted."
        )
    _mark_accepted(supplier_order, actor=actor)
    refresh_order_status(order=supplier_order.order)
    return supplier_order


def _mark_accepted(supplier_order: SupplierOrder, *, actor: User | None) -> None:
    before = snapshot(supplier_order, ["status", "accepted_at"])
    supplier_order.status = S.ACCEPTED
    supplier_order.accepted_at = timezone.now()
    supplier_order.save(update_fields=["status", "accepted_at", "updated_at"])
    record_audit(
        actor=actor,
        action="supplier_order.accepted",
        target=supplier_order,
        summary=f"Accepted {supplier_order.number}",
        changes=diff(before, supplier_order),
    )
    record_event(
        order=supplier_order.order,
        supplier_order=supplier_order,
        kind=EventKind.ACCEPTED,
        message=f"{supplier_order.supplier.company_name} accepted {supplier_order.number}.",
        actor=actor,
    )


# --- reject --------------------------------------------------------------------------------------
@transaction.atomic
def reject_supplier_order(
    *, supplier_order: SupplierOrder, reason: str, actor: User | None = None
) -> SupplierOrder:
    """The supplier cannot fulfil: stock released, lines in EXCEPTION, retailer told."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise FulfilmentError("Say why you reject the order (e.g. out of stock).", field="reason")
    if len(reason) > MAX_REASON:
        raise FulfilmentError(
            f"Keep the reason under {MAX_REASON} characters (it has {len(reason)}).",
            field="reason",
        )
    supplier_order = _locked(supplier_order)
    if supplier_order.status not in REJECTABLE:
        raise FulfilmentConflict(
            f"Order {supplier_order.number} is {supplier_order.get_status_display().lower()} "
            "and cannot be rejected."
        )
    items = list(supplier_order.items.select_for_update().order_by("pk"))
    if any(item.quantity_shipped for item in items):
        raise FulfilmentConflict(
            f"Part of {supplier_order.number} has already shipped; it can no longer be rejected."
        )
    reserved = [item for item in items if item.status == OrderItem.Status.RESERVED]
    if reserved:
        applied = release_stock(
            lines=[item.stock_line() for item in reserved],
            reference=f"Rejected {supplier_order.number}",
            actor=actor,
        )
        if not all(applied):
            raise FulfilmentError(
                f"The stock held for {supplier_order.number} does not match its lines; "
                "support has to look at it."
            )
        OrderItem.objects.filter(pk__in=[item.pk for item in reserved]).update(
            status=OrderItem.Status.EXCEPTION,
            status_reason=f"Rejected by supplier: {reason}"[:300],
        )
    before = snapshot(supplier_order, ["status", "status_reason"])
    supplier_order.status = S.EXCEPTION
    supplier_order.status_reason = reason
    supplier_order.save(update_fields=["status", "status_reason", "updated_at"])
    record_audit(
        actor=actor,
        action="supplier_order.rejected",
        target=supplier_order,
        summary=f"Rejected {supplier_order.number}: {reason}",
        changes=diff(before, supplier_order),
    )
    order = supplier_order.order
    company = supplier_order.supplier.company_name
    record_event(
        order=order,
        supplier_order=supplier_order,
        kind=EventKind.REJECTED,
        message=f"{company} rejected {supplier_order.number}: {reason}",
        actor=actor,
    )
    refresh_order_status(order=order)
    message = (
        f"{company} cannot fulfil order {order.number} ({supplier_order.number}): {reason}. "
        "Its stock was released; choose to wait, substitute or cancel the lines."
    )
    send_retailer_notice(
        retailer=order.retailer,
        kind=NoticeKind.NEEDS_DECISION,
        event="order_rejected",
        subject=f"Order {order.number} needs your attention",
        message=message,
        level=Notification.Level.WARNING,
        url=_retailer_order_url(order),
    )
    return supplier_order


def _retailer_order_url(order: Order) -> str:
    try:
        return reverse("orders:retailer_detail", args=[order.pk])
    except NoReverseMatch:  # the retailer order pages are not mounted
        return ""


# --- ship ----------------------------------------------------------------------------------------
def resolve_ship_lines(
    *, supplier_order: SupplierOrder, lines: Sequence[dict[str, Any] | RequestedShipLine] | None
) -> list[ShipLine] | None:
    """API / webhook lines (by our line id or by SKU) as ShipLines; unknown ones are a 404."""
    if lines is None:
        return None
    items = list(supplier_order.items.all())
    by_sku = {item.sku.lower(): item for item in items if item.sku}
    by_id = {item.pk: item for item in items}
    result = []
    for line in lines:
        line_id = line.get("line_id") if isinstance(line, dict) else line.line_id
        sku = (line.get("sku") if isinstance(line, dict) else line.sku) or ""
        quantity = line.get("quantity") if isinstance(line, dict) else line.quantity
        item = by_id.get(line_id) if line_id else by_sku.get(str(sku).strip().lower())
        if item is None:
            raise NotFound(
                f"Order {supplier_order.number} has no line "
                f"{('id ' + str(line_id)) if line_id else ('with SKU ' + str(sku))}.",
                field="lines",
            )
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            raise DomainError(
                f"Quantity for {item.sku or item.title} must be a whole number of 1 or more.",
                field="lines",
            )
        result.append(ShipLine(order_item_id=item.pk, quantity=quantity))
    return result


@transaction.atomic
def ship_supplier_order(
    *,
    supplier_order: SupplierOrder,
    carrier: str,
    tracking_number: str,
    lines: list[ShipLine] | None = None,
    actor: User | None = None,
    shipped_at: datetime | None = None,
) -> Shipment:
    """Record a parcel: `lines` (default: everything still to ship) with carrier and tracking."""
    found, number = validate_tracking_number(carrier=carrier, tracking_number=tracking_number)
    supplier_order = _locked(supplier_order)
    existing = Shipment.objects.filter(
        supplier_order=supplier_order, carrier=found.code, tracking_number=number
    ).first()
    if existing is not None:
        return _same_shipment_again(existing, lines)
    if supplier_order.status not in SHIPPABLE:
        raise FulfilmentConflict(
            f"Order {supplier_order.number} is {supplier_order.get_status_display().lower()} "
            "and cannot be shipped."
        )
    items = {item.pk: item for item in supplier_order.items.select_for_update().order_by("pk")}
    plan = _plan(supplier_order, items, lines)
    applied = ship_stock(
        lines=[item.stock_line(quantity) for item, quantity in plan],
        reference=f"Shipped {supplier_order.number} {found.code} {number}",
        actor=actor,
    )
    if not all(applied):
        bad = ", ".join(
            item.sku or item.title for (item, _), ok in zip(plan, applied, strict=True) if not ok
        )
        raise FulfilmentError(
            f"The stock held for {bad} is less than the quantity shipped; support has to look at it."
        )
    now = shipped_at or timezone.now()
    shipment = Shipment.objects.create(
        supplier_order=supplier_order,
        carrier=found.code,
        tracking_number=number,
        tracking_url=found.tracking_url(number),
        shipped_at=now,
    )
    ShipmentItem.objects.bulk_create(
        ShipmentItem(shipment=shipment, order_item=item, quantity=quantity)
        for item, quantity in plan
    )
    for item, quantity in plan:
        item.quantity_shipped += quantity
        fields: dict[str, object] = {"quantity_shipped": F("quantity_shipped") + quantity}
        if item.quantity_shipped >= item.quantity:
            item.status = OrderItem.Status.SHIPPED
            fields["status"] = OrderItem.Status.SHIPPED
        OrderItem.objects.filter(pk=item.pk).update(**fields)

    if supplier_order.status != S.ACCEPTED:
        _mark_accepted(supplier_order, actor=actor)  # shipping implies accepting
    is_complete = all(
        item.quantity_shipped >= item.quantity
        for item in items.values()
        if item.status not in (OrderItem.Status.CANCELLED, OrderItem.Status.EXCEPTION)
    )
    supplier_order.carrier = found.code
    supplier_order.tracking_number = number
    supplier_order.tracking_url = shipment.tracking_url
    update = ["carrier", "tracking_number", "tracking_url", "updated_at"]
    if is_complete:
        supplier_order.status = S.SHIPPED
        supplier_order.shipped_at = now
        update += ["status", "shipped_at"]
    supplier_order.save(update_fields=update)
    shipped_text = ", ".join(f"{quantity} × {item.title}" for item, quantity in plan)
    record_event(
        order=supplier_order.order,
        supplier_order=supplier_order,
        kind=EventKind.SHIPPED,
        message=f"Shipped {shipped_text} with {found.name}, tracking {number}.",
        actor=actor,
    )
    refresh_order_status(order=supplier_order.order)

    queue_tracking_push(shipment=shipment)
    queue_tracker_registration(shipment=shipment)
    order = supplier_order.order
    send_retailer_notice(
        retailer=order.retailer,
        kind=NoticeKind.ORDER_SHIPPED,
        event="order_shipped",
        subject=f"Order {order.number} shipped",
        message=f"Order {order.number}: {shipped_text} shipped with {found.name}, tracking "
        f"{number}. Track it: {shipment.tracking_url}",
        url=_retailer_order_url(order),
    )
    return shipment


def _plan(
    supplier_order: SupplierOrder, items: dict[int, OrderItem], lines: list[ShipLine] | None
) -> list[tuple[OrderItem, int]]:
    """(item, quantity) pairs to ship, checked; a FulfilmentError names the first bad line."""
    if lines is None:
        plan = [
            (item, item.quantity - item.quantity_shipped)
            for item in items.values()
            if item.status == OrderItem.Status.RESERVED and item.quantity > item.quantity_shipped
        ]
        if not plan:
            raise FulfilmentConflict(f"Nothing is left to ship on {supplier_order.number}.")
        return plan
    if not lines:
        raise FulfilmentError("Choose at least one line and a quantity to ship.", field="lines")
    wanted: dict[int, int] = defaultdict(int)
    for line in lines:
        if not isinstance(line.quantity, int) or isinstance(line.quantity, bool):
            raise FulfilmentError("Quantities must be whole numbers.", field="lines")
        if line.quantity < 0:
            raise FulfilmentError("A quantity cannot be negative.", field="lines")
        if line.order_item_id not in items:
            raise NotFound(
                f"Line {line.order_item_id} is not part of order {supplier_order.number}.",
                field="lines",
            )
        wanted[line.order_item_id] += line.quantity
    plan = []
    for item_id, quantity in wanted.items():
        if quantity == 0:
            continue
        item = items[item_id]
        label = item.sku or item.title
        if item.status != OrderItem.Status.RESERVED:
            raise FulfilmentConflict(
                f"{label} is {item.get_status_display().lower()} and cannot be shipped.",
                field="lines",
            )
        remaining = item.quantity - item.quantity_shipped
        if quantity > remaining:
            raise FulfilmentError(
                f"Only {remaining} of {label} are left to ship, not {quantity}.", field="lines"
            )
        plan.append((item, quantity))
    if not plan:
        raise FulfilmentError("Choose at least one line and a quantity to ship.", field="lines")
    return plan


def _same_shipment_again(shipment: Shipment, lines: list[ShipLine] | None) -> Shipment:
    """The same carrier and tracking number again: a retry if it is for the same lines."""
    recorded = {
        item.order_item_id: item.quantity
        for item in shipment.items.all()  # ShipmentItem rows
    }
    if lines is None:
        return shipment
    asked: dict[int, int] = defaultdict(int)
    for line in lines:
        if line.quantity:
            asked[line.order_item_id] += line.quantity
    if dict(asked) == recorded:
        return shipment
    raise FulfilmentConflict(
        f"Tracking number {shipment.tracking_number} is already recorded for other lines of "
        "this order.",
        field="tracking_number",
    )


# --- bulk ship by CSV ----------------------------------------------------------------------------
CSV_COLUMNS = ("order_number", "sku", "carrier", "tracking_number")
_HEADER_ALIASES = {
    "order": "order_number",
    "order number": "order_number",
    "order_number": "order_number",
    "number": "order_number",
    "sku": "sku",
    "carrier": "carrier",
    "tracking": "tracking_number",
    "tracking number": "tracking_number",
    "tracking_number": "tracking_number",
    "quantity": "quantity",
    "qty": "quantity",
}


@dataclass(frozen=True)
class CsvRowError:
    row: int  # 1-based line number in the file, header = 1
    message: str


@dataclass
class BulkShipResult:
    shipments: list[Shipment]
    errors: list[CsvRowError]

    @property
    def is_ok(self) -> bool:
        return not self.errors


def _read_csv(content: bytes) -> list[tuple[int, dict[str, str]]]:
    """The file's rows as {column: value} by row number (header = 1), through the one spreadsheet
    reader: UTF-8, UTF-16 or Windows-1252, any usual separator, or an XLSX workbook."""
    if len(content) > MAX_CSV_BYTES:
        raise FulfilmentError("The file is larger than 2 MB; split it.", field="file")
    fileobj = io.BytesIO(content)
    try:
        info = spreadsheets.sniff_file(fileobj)
        rows = spreadsheets.iter_rows(fileobj, info)
        _, header = next(rows, (0, None))
        if header is None:
            raise FulfilmentError("The file is empty.", field="file")
        columns = [_HEADER_ALIASES.get(str(name).strip().lower(), "") for name in header]
        missing = [c for c in CSV_COLUMNS if c not in columns]
        if missing:
            hint = ""
            if info.encoding not in ("", "utf-8", "utf-8-sig"):
                label = spreadsheets.ENCODING_LABELS.get(info.encoding, info.encoding)
                hint = f" The file is not UTF-8 (it reads as {label}); save it as CSV UTF-8."
            raise FulfilmentError(
                "The header must name the columns order_number, sku, carrier, tracking_number "
                f"(missing: {', '.join(missing)}).{hint}",
                field="file",
            )
        parsed: list[tuple[int, dict[str, str]]] = []
        for row_number, values in rows:
            if len(parsed) >= MAX_CSV_ROWS:
                raise FulfilmentError(f"Upload at most {MAX_CSV_ROWS} rows at once.", field="file")
            row = {
                column: str(value).strip()
                for column, value in zip(columns, values, strict=False)
                if column
            }
            parsed.append((row_number, row))
    except spreadsheets.ImportFileError as exc:
        raise FulfilmentError(exc.message, field="file") from exc
    if not parsed:
        raise FulfilmentError("The file has a header but no rows.", field="file")
    return parsed


def bulk_ship_from_csv(
    *, supplier: Supplier, content: bytes, actor: User | None = None
) -> BulkShipResult:
    """Ship many lines from a CSV (order_number, sku, carrier, tracking_number[, quantity]).

    All or nothing: every row is checked first and, if any is wrong, nothing is shipped and each
    bad row is reported by its row number. Rows with the same order and tracking number form one
    parcel.
    """
    rows = _read_csv(content)
    errors: list[CsvRowError] = []
    numbers = {row.get("order_number", "") for _, row in rows}
    orders = {
        so.number: so
        for so in SupplierOrder.objects.filter(supplier=supplier, number__in=numbers)
        .select_related("order")
        .prefetch_related("items")
    }
    parcels: dict[tuple[str, str, str], list[tuple[int, OrderItem, int]]] = defaultdict(list)
    planned: dict[int, int] = defaultdict(int)  # order item id -> quantity already in the file
    for row_number, row in rows:
        number, sku = row.get("order_number", ""), row.get("sku", "")
        carrier, tracking = row.get("carrier", ""), row.get("tracking_number", "")
        if not number or not sku or not carrier or not tracking:
            errors.append(
                CsvRowError(
                    row_number, "order_number, sku, carrier and tracking_number are required."
                )
            )
            continue
        supplier_order = orders.get(number)
        if supplier_order is None:
            errors.append(CsvRowError(row_number, f"No order {number} of yours was found."))
            continue
        if supplier_order.status not in SHIPPABLE:
            errors.append(
                CsvRowError(
                    row_number,
                    f"Order {number} is {supplier_order.get_status_display().lower()} "
                    "and cannot be shipped.",
                )
            )
            continue
        try:
            found, normalised = validate_tracking_number(carrier=carrier, tracking_number=tracking)
        except DomainError as exc:
            errors.append(CsvRowError(row_number, exc.message))
            continue
        item = next((i for i in supplier_order.items.all() if i.sku.lower() == sku.lower()), None)
        if item is None:
            errors.append(CsvRowError(row_number, f"Order {number} has no line with SKU {sku}."))
            continue
        remaining = item.quantity - item.quantity_shipped
        raw_quantity = row.get("quantity", "")
        if raw_quantity:
            try:
                quantity = int(raw_quantity)
            except ValueError:
                errors.append(
                    CsvRowError(row_number, f"Quantity “{raw_quantity}” is not a number.")
                )
                continue
            if quantity <= 0:
                errors.append(CsvRowError(row_number, "Quantity must be 1 or more."))
                continue
        else:
            quantity = remaining
        if item.status != OrderItem.Status.RESERVED or remaining <= 0:
            errors.append(
                CsvRowError(row_number, f"{sku} on order {number} has nothing left to ship.")
            )
            continue
        already = planned[item.pk]
        if quantity + already > remaining:
            errors.append(
                CsvRowError(
                    row_number, f"Only {remaining} of {sku} on order {number} are left to ship."
                )
            )
            continue
        planned[item.pk] += quantity
        parcels[(number, found.code, normalised)].append((row_number, item, quantity))
    if errors:
        return BulkShipResult(shipments=[], errors=errors)
    shipments: list[Shipment] = []
    try:
        with transaction.atomic():
            for (number, carrier_code, tracking), entries in parcels.items():
                first_row = entries[0][0]
                try:
                    shipments.append(
                        ship_supplier_order(
                            supplier_order=orders[number],
                            carrier=carrier_code,
                            tracking_number=tracking,
                            lines=[ShipLine(item.pk, quantity) for _, item, quantity in entries],
                            actor=actor,
                        )
                    )
                except DomainError as exc:
                    errors.append(CsvRowError(first_row, exc.message))
                    raise
    except DomainError:
        return BulkShipResult(shipments=[], errors=errors)
    return BulkShipResult(shipments=shipments, errors=[])
