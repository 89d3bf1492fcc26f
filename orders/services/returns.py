"""Returns (RMA): the retailer opens one on delivered lines of a supplier order, the supplier
answers, the goods come back, the retailer is refunded.

The states and every move between them live here and only here (`TRANSITIONS`, `_move`); the
database allows only these states and keeps each one's facts (constraints on ReturnRequest):

    REQUESTED ─approve─▶ APPROVED ─return tracking─▶ SHIPPED_BACK ─receive─▶ RECEIVED ─refund─▶ REFUNDED
        │  └─offer partial refund─▶ OFFERED ─retailer accepts─▶ REFUNDED
        │                              └─retailer refuses─▶ REJECTED
        ├─decline─▶ REJECTED     (the parties disagree: either may escalate it to support)
        └─withdraw─▶ CANCELLED   (also from APPROVED, before anything was sent back)

Opening checks the supplier's return policy as it is then (frozen on the return): the window
from the parcel's delivery, non-returnable categories, and never more units than were delivered
less those already in a live return; the supplier order row is locked while it counts, so two
requests for the same units cannot both pass. The refund goes through billing's refund service
(`refund_supplier_order`): the wholesale value of the units received, less the policy's
restocking fee when the reason is not the supplier's doing; billing takes the supplier's share
out of its payout, or back from its transfer when it was paid already, and books both in the
ledger. Resellable units go back on hand (catalog's stock service). Every step lands on the
order timeline, in the audit trail, and with the other party as a notice.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Max, Sum
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from billing.models import Charge, Refund
from billing.services import RefundError, RefundPending, refund_supplier_order
from catalog.services.stock import restock_returned_units
from dropship.accounts.models import Notification, User
from dropship.accounts.services import email_organisation, notify
from dropship.core.audit import record_audit
from dropship.core.errors import Conflict, DomainError
from dropship.core.money import ZERO, format_money, quantize
from dropship.core.uploads import check_document, check_image
from orders.carriers import validate_tracking_number
from orders.models import (
    Order,
    OrderItem,
    ReturnLine,
    ReturnPhoto,
    ReturnRequest,
    ShipmentItem,
    SupplierOrder,
    TrackingStatus,
)
from orders.services.timeline import record_event
from retailers.models import NoticeKind
from retailers.services.notices import send_retailer_notice
from suppliers.return_policies import is_category_returnable, policy_for

logger = logging.getLogger(__name__)
R = ReturnRequest.Status
MAX_PHOTOS = 5
MAX_TEXT = 2000

TRANSITIONS: dict[str, frozenset[str]] = {
    R.REQUESTED: frozenset({R.APPROVED, R.OFFERED, R.REJECTED, R.CANCELLED}),
    R.APPROVED: frozenset({R.SHIPPED_BACK, R.CANCELLED}),
    R.OFFERED: frozenset({R.REFUNDED, R.REJECTED}),
    R.SHIPPED_BACK: frozenset({R.RECEIVED}),
    R.RECEIVED: frozenset({R.REFUNDED}),
}
VERBS: dict[str, str] = {
    R.APPROVED: "approved",
    R.OFFERED: "answered with an offer",
    R.REJECTED: "declined",
    R.CANCELLED: "withdrawn",
    R.SHIPPED_BACK: "given a return tracking number",
    R.RECEIVED: "marked received",
    R.REFUNDED: "refunded",
}


class ReturnError(DomainError):
    pass


class ReturnStateError(Conflict):
    """The return is not in a state that allows this step (409)."""


class ReturnEventKind:
    REQUESTED = "return_requested"
    APPROVED = "return_approved"
    DECLINED = "return_declined"
    OFFERED = "return_offered"
    CANCELLED = "return_cancelled"
    SHIPPED_BACK = "return_shipped_back"
    RECEIVED = "return_received"
    REFUNDED = "return_refunded"


@dataclass(frozen=True)
class ReturnLineRequest:
    order_item_id: int
    quantity: int | str  # as typed on the page; checked by open_return


def can_move(return_request: ReturnRequest, to: str) -> bool:
    return to in TRANSITIONS.get(return_request.status, frozenset())


def _move(return_request: ReturnRequest, to: str, *, fields: Sequence[str] = ()) -> None:
    """The one place a return's status changes: refused unless TRANSITIONS allows it."""
    if not can_move(return_request, to):
        raise ReturnStateError(
            f"Return {return_request.number} is {return_request.get_status_display().lower()}: "
            f"it cannot be {VERBS.get(to, to.lower())} now."
        )
    return_request.status = to
    return_request.save(update_fields=["status", "updated_at", *fields])


def _lock(return_request: ReturnRequest) -> ReturnRequest:
    return (
        ReturnRequest.objects.select_for_update(of=("self",))
        .select_related("supplier_order__order__retailer", "supplier_order__supplier")
        .get(pk=return_request.pk)
    )


def _url(name: str, pk: int) -> str:
    try:
        return reverse(name, args=[pk])
    except NoReverseMatch:  # the pages are not mounted
        return ""


def _actor(actor: User | None) -> User | None:
    return actor if getattr(actor, "is_authenticated", False) else None


def _text(value: str, *, field: str, label: str, required: bool = False) -> str:
    text = (value or "").strip()
    if required and not text:
        raise ReturnError(f"Enter {label}.", field=field)
    if len(text) > MAX_TEXT:
        raise ReturnError(
            f"{label[0].upper()}{label[1:]} is at most {MAX_TEXT:,} characters.", field=field
        )
    return text


# --- what can be returned --------------------------------------------------------------------------
@dataclass(frozen=True)
class Returnable:
    item: OrderItem
    delivered: int
    in_returns: int
    delivered_at: datetime | None

    @property
    def left(self) -> int:
        return max(self.delivered - self.in_returns, 0)


def returnable_lines(*, supplier_order: SupplierOrder) -> list[Returnable]:
    """Each line of the supplier order with the units delivered (parcels the carrier or the
    supplier reported delivered), the units already in a live return, and when it was delivered."""
    items = list(
        OrderItem.objects.filter(supplier_order=supplier_order)
        .select_related("variant__product")
        .order_by("pk")
    )
    delivered = {
        row["order_item_id"]: (row["units"], row["at"])
        for row in ShipmentItem.objects.filter(
            order_item__in=items, shipment__tracking_status=TrackingStatus.DELIVERED
        )
        .values("order_item_id")
        .annotate(units=Sum("quantity"), at=Max("shipment__delivered_at"))
    }
    in_returns = dict(
        ReturnLine.objects.filter(order_item__in=items)
        .exclude(return_request__status__in=ReturnRequest.VOID_STATUSES)
        .values("order_item_id")
        .annotate(units=Sum("quantity"))
        .values_list("order_item_id", "units")
    )
    return [
        Returnable(
            item=item,
            delivered=delivered.get(item.pk, (0, None))[0],
            in_returns=in_returns.get(item.pk, 0),
            delivered_at=delivered.get(item.pk, (0, None))[1],
        )
        for item in items
    ]


def _quantity(value: object, *, field: str) -> int:
    if isinstance(value, bool):
        raise ReturnError("Quantities are whole numbers.", field=field)
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise ReturnError("Quantities are whole numbers.", field=field) from None
    if number < 0:
        raise ReturnError("Quantities cannot be negative.", field=field)
    return number


# --- open ------------------------------------------------------------------------------------------
def open_return(
    *,
    order: Order,
    lines: Sequence[ReturnLineRequest],
    reason_code: str,
    reason: str = "",
    photos: Sequence[UploadedFile[bytes]] = (),
    actor: User | None = None,
) -> ReturnRequest:
    """The retailer asks to return delivered units of one supplier order (`order` is already
    scoped to the retailer). Every check runs before anything is written; a refusal names the
    line and the rule."""
    if reason_code not in ReturnRequest.Reason.values:
        raise ReturnError("Choose the reason for the return from the list.", field="reason_code")
    reason = _text(reason, field="reason", label="the reason")
    if len(photos) > MAX_PHOTOS:
        raise ReturnError(f"Attach at most {MAX_PHOTOS} photos.", field="photos")
    for photo in photos:
        check_image(photo, field="photos")
    wanted: dict[int, int] = {}
    for line in lines:
        if line.order_item_id in wanted:
            raise ReturnError("Each line appears once in a return.", field="lines")
        quantity = _quantity(line.quantity, field="lines")
        if quantity:
            wanted[line.order_item_id] = quantity
    if not wanted:
        raise ReturnError("Choose at least one unit to return.", field="lines")
    items = {
        item.pk: item
        for item in OrderItem.objects.filter(order=order, pk__in=wanted).only("supplier_order_id")
    }
    if len(items) != len(wanted):
        raise ReturnError("Some of these lines are not part of this order.", field="lines")
    if any(item.supplier_order_id is None for item in items.values()):
        raise ReturnError("Only lines a supplier shipped can be returned.", field="lines")
    supplier_order_ids = {
        item.supplier_order_id for item in items.values() if item.supplier_order_id is not None
    }
    if len(supplier_order_ids) != 1:
        raise ReturnError(
            "A return goes to one supplier: open one return per supplier order.", field="lines"
        )
    with transaction.atomic():
        supplier_order = (
            SupplierOrder.objects.select_for_update(of=("self",))
            .select_related("supplier", "order__retailer")
            .get(pk=supplier_order_ids.pop())
        )
        return _open_locked(
            supplier_order=supplier_order,
            wanted=wanted,
            reason_code=reason_code,
            reason=reason,
            photos=photos,
            actor=actor,
        )


def _open_locked(
    *,
    supplier_order: SupplierOrder,
    wanted: dict[int, int],
    reason_code: str,
    reason: str,
    photos: Sequence[UploadedFile[bytes]],
    actor: User | None,
) -> ReturnRequest:
    supplier = supplier_order.supplier
    policy = policy_for(supplier=supplier)
    if policy.window_days == 0:
        raise ReturnError(f"{supplier.company_name} does not accept returns.", field="lines")
    now = timezone.now()
    by_item = {
        row.item.pk: row
        for row in returnable_lines(supplier_order=supplier_order)
        if row.item.pk in wanted
    }
    for item_id, quantity in wanted.items():
        row = by_item[item_id]
        title = row.item.title
        if row.delivered == 0 or row.delivered_at is None:
            raise ReturnError(
                f"“{title}” has not been delivered yet: a return opens once it is.",
                field="lines",
            )
        if quantity > row.delivered:
            raise ReturnError(
                f"You asked to return {quantity} × “{title}”, but {row.delivered} "
                f"{'was' if row.delivered == 1 else 'were'} delivered.",
                field="lines",
            )
        if quantity > row.left:
            raise ReturnError(
                f"{row.in_returns} of the {row.delivered} “{title}” delivered are already in a "
                f"return; {row.left} can still be returned.",
                field="lines",
            )
        closes = row.delivered_at + timedelta(days=policy.window_days)
        if now > closes:
            raise ReturnError(
                f"The return window for “{title}” closed on {closes:%d %b %Y} "
                f"({policy.window_days} days from delivery).",
                field="lines",
            )
        product = row.item.variant.product if row.item.variant else None
        if product is not None and not is_category_returnable(
            policy=policy, category=product.category
        ):
            raise ReturnError(
                f"“{title}” is in a category {supplier.company_name} does not take back "
                f"({product.category}).",
                field="lines",
            )
    count = ReturnRequest.objects.filter(supplier_order=supplier_order).count()
    return_request = ReturnRequest.objects.create(
        supplier_order=supplier_order,
        number=f"RMA-{supplier_order.number}-{count + 1}",
        reason_code=reason_code,
        reason=reason,
        requested_by=_actor(actor),
        window_days=policy.window_days,
        restocking_fee_percent=policy.restocking_fee_percent,
        return_shipping_paid_by=policy.return_shipping_paid_by,
        return_address=policy.return_address,
    )
    ReturnLine.objects.bulk_create(
        [
            ReturnLine(return_request=return_request, order_item_id=item_id, quantity=quantity)
            for item_id, quantity in wanted.items()
        ]
    )
    for photo in photos:
        ReturnPhoto.objects.create(
            return_request=return_request,
            image=photo,
            content_type=getattr(photo, "content_type", "") or "image/jpeg",
        )
    units = sum(wanted.values())
    summary = (
        f"Return {return_request.number} requested: {units} unit{'s' if units != 1 else ''}, "
        f"{return_request.get_reason_code_display().lower()}" + (f": {reason}" if reason else "")
    )
    _record(return_request, kind=ReturnEventKind.REQUESTED, message=summary, actor=actor)
    _tell_supplier(
        return_request,
        kind="return_requested",
        subject=f"Return requested on {supplier_order.number}",
        message=f"{supplier_order.order.retailer.business_name} asks to return {units} "
        f"unit{'s' if units != 1 else ''} of {supplier_order.number} "
        f"({return_request.get_reason_code_display().lower()}). Approve, decline or offer a "
        "partial refund.",
    )
    return return_request


# --- the supplier's answer -------------------------------------------------------------------------
@transaction.atomic
def approve_return(
    *,
    return_request: ReturnRequest,
    instructions: str = "",
    label_file: UploadedFile[bytes] | None = None,
    label_number: str = "",
    actor: User | None = None,
) -> ReturnRequest:
    """The supplier takes the goods back: how to send them, optionally with a label."""
    instructions = _text(instructions, field="instructions", label="the instructions")
    label_number = (label_number or "").strip()
    if len(label_number) > 100:
        raise ReturnError("The label number is at most 100 characters.", field="label_number")
    if label_file is not None:
        check_document(label_file, field="label_file")
    return_request = _lock(return_request)
    if not instructions:
        if not return_request.return_address:
            raise ReturnError(
                "Tell the retailer where and how to send the goods back.", field="instructions"
            )
        instructions = f"Send the goods to:\n{return_request.return_address}"
    return_request.supplier_instructions = instructions
    return_request.label_number = label_number
    return_request.decided_at = timezone.now()
    fields = ["supplier_instructions", "label_number", "decided_at"]
    if label_file is not None:
        return_request.label_file = label_file
        return_request.label_content_type = getattr(label_file, "content_type", "") or ""
        fields += ["label_file", "label_content_type"]
    _move(return_request, R.APPROVED, fields=fields)
    label = " A prepaid label is attached." if label_file or label_number else ""
    _record(
        return_request,
        kind=ReturnEventKind.APPROVED,
        message=f"Return {return_request.number} approved.{label}",
        actor=actor,
    )
    _tell_retailer(
        return_request,
        event=ReturnEventKind.APPROVED,
        subject=f"Return {return_request.number} approved",
        message=f"{return_request.supplier_order.supplier.company_name} approved return "
        f"{return_request.number}.{label} Send the goods back and enter the return tracking "
        f"number: {instructions}",
    )
    return return_request


@transaction.atomic
def decline_return(
    *, return_request: ReturnRequest, reason: str, actor: User | None = None
) -> ReturnRequest:
    reason = _text(reason, field="reason", label="why you decline it", required=True)
    return_request = _lock(return_request)
    now = timezone.now()
    return_request.decline_reason = reason
    return_request.decided_at = now
    return_request.closed_at = now
    _move(return_request, R.REJECTED, fields=["decline_reason", "decided_at", "closed_at"])
    _record(
        return_request,
        kind=ReturnEventKind.DECLINED,
        message=f"Return {return_request.number} declined: {reason}",
        actor=actor,
    )
    _tell_retailer(
        return_request,
        event=ReturnEventKind.DECLINED,
        subject=f"Return {return_request.number} declined",
        message=f"{return_request.supplier_order.supplier.company_name} declined return "
        f"{return_request.number}: {reason}",
        level=Notification.Level.WARNING,
    )
    return return_request


def goods_value(*, return_request: ReturnRequest, received: bool = False) -> Decimal:
    """The wholesale value of the return's units (of those received, with `received`)."""
    total = ZERO
    for line in return_request.lines.select_related("order_item"):
        price = line.order_item.wholesale_unit_price
        if price is None:
            raise ReturnError(f"“{line.order_item.title}” has no wholesale price to refund.")
        total += price * (line.quantity_received if received else line.quantity)
    return quantize(total)


def _amount(value: object, *, field: str) -> Decimal:
    try:
        amount = quantize(Decimal(str(value).strip()))
    except (InvalidOperation, ValueError):
        raise ReturnError("Enter an amount such as 12.50.", field=field) from None
    if not amount.is_finite() or amount <= ZERO:
        raise ReturnError("The amount must be more than zero.", field=field)
    return amount


@transaction.atomic
def offer_partial_refund(
    *, return_request: ReturnRequest, amount: object, message: str = "", actor: User | None = None
) -> ReturnRequest:
    """Instead of taking the goods back, the supplier offers part of their value; the
    retailer accepts (refunded at once) or refuses (declined, which it may escalate)."""
    offered = _amount(amount, field="amount")
    message = _text(message, field="message", label="the message")
    return_request = _lock(return_request)
    value = goods_value(return_request=return_request)
    currency = return_request.supplier_order.currency
    if offered > value:
        raise ReturnError(
            f"An offer of {format_money(offered, currency)} is more than the "
            f"{format_money(value, currency)} the returned goods cost.",
            field="amount",
        )
    return_request.offered_amount = offered
    return_request.supplier_instructions = message
    return_request.decided_at = timezone.now()
    _move(
        return_request,
        R.OFFERED,
        fields=["offered_amount", "supplier_instructions", "decided_at"],
    )
    text = f"Partial refund of {format_money(offered, currency)} offered on {return_request.number}"
    _record(
        return_request,
        kind=ReturnEventKind.OFFERED,
        message=text + (f": {message}" if message else "."),
        actor=actor,
    )
    _tell_retailer(
        return_request,
        event=ReturnEventKind.OFFERED,
        subject=f"An offer on return {return_request.number}",
        message=f"{return_request.supplier_order.supplier.company_name} offers "
        f"{format_money(offered, currency)} back on return {return_request.number} instead of "
        "a return" + (f": {message}" if message else ".") + " Accept or refuse it.",
    )
    return return_request


# --- the retailer's steps --------------------------------------------------------------------------
@transaction.atomic
def accept_offer(*, return_request: ReturnRequest, actor: User | None = None) -> ReturnRequest:
    """The retailer takes the supplier's offer: refunded now, nothing is sent back."""
    return_request = _lock(return_request)
    if return_request.status != R.OFFERED or return_request.offered_amount is None:
        raise ReturnStateError(
            f"Return {return_request.number} has no offer waiting for your answer."
        )
    _record(
        return_request,
        kind=ReturnEventKind.OFFERED,
        message=f"Offer on {return_request.number} accepted by the retailer.",
        actor=actor,
    )
    _refund(
        return_request,
        amount=return_request.offered_amount,
        reason=f"Partial refund accepted on return {return_request.number}",
        actor=actor,
    )
    return return_request


@transaction.atomic
def refuse_offer(
    *, return_request: ReturnRequest, reason: str = "", actor: User | None = None
) -> ReturnRequest:
    reason = _text(reason, field="reason", label="why you refuse it")
    return_request = _lock(return_request)
    if return_request.status != R.OFFERED:
        raise ReturnStateError(
            f"Return {return_request.number} has no offer waiting for your answer."
        )
    now = timezone.now()
    return_request.decline_reason = "The retailer refused the partial refund offered" + (
        f": {reason}" if reason else "."
    )
    return_request.closed_at = now
    _move(return_request, R.REJECTED, fields=["decline_reason", "closed_at"])
    _record(
        return_request,
        kind=ReturnEventKind.DECLINED,
        message=f"Offer on {return_request.number} refused" + (f": {reason}" if reason else "."),
        actor=actor,
    )
    _tell_supplier(
        return_request,
        kind=ReturnEventKind.DECLINED,
        subject=f"Offer refused on return {return_request.number}",
        message=return_request.decline_reason,
    )
    return return_request


@transaction.atomic
def cancel_return(*, return_request: ReturnRequest, actor: User | None = None) -> ReturnRequest:
    """The retailer withdraws a return nothing was sent back for yet."""
    return_request = _lock(return_request)
    return_request.closed_at = timezone.now()
    _move(return_request, R.CANCELLED, fields=["closed_at"])
    _record(
        return_request,
        kind=ReturnEventKind.CANCELLED,
        message=f"Return {return_request.number} withdrawn by the retailer.",
        actor=actor,
    )
    _tell_supplier(
        return_request,
        kind=ReturnEventKind.CANCELLED,
        subject=f"Return {return_request.number} withdrawn",
        message=f"The retailer withdrew return {return_request.number}; nothing comes back.",
    )
    return return_request


@transaction.atomic
def submit_return_tracking(
    *,
    return_request: ReturnRequest,
    carrier: str,
    tracking_number: str,
    actor: User | None = None,
) -> ReturnRequest:
    """The retailer sent the goods back: the tracking number is checked like an outbound one.
    The same number again is a no-op (a retried call)."""
    found, number = validate_tracking_number(carrier=carrier, tracking_number=tracking_number)
    return_request = _lock(return_request)
    if return_request.status == R.SHIPPED_BACK and (
        return_request.return_carrier,
        return_request.return_tracking_number,
    ) == (found.code, number):
        return return_request
    return_request.return_carrier = found.code
    return_request.return_tracking_number = number
    return_request.return_tracking_url = found.tracking_url(number)
    return_request.shipped_back_at = timezone.now()
    _move(
        return_request,
        R.SHIPPED_BACK,
        fields=[
            "return_carrier",
            "return_tracking_number",
            "return_tracking_url",
            "shipped_back_at",
        ],
    )
    _record(
        return_request,
        kind=ReturnEventKind.SHIPPED_BACK,
        message=f"Return {return_request.number} sent back with {found.name}, tracking {number}.",
        actor=actor,
    )
    _tell_supplier(
        return_request,
        kind=ReturnEventKind.SHIPPED_BACK,
        subject=f"Return {return_request.number} is on its way back",
        message=f"The retailer sent return {return_request.number} back with {found.name}, "
        f"tracking {number}: {return_request.return_tracking_url}. Mark it received when it "
        "arrives.",
    )
    return return_request


# --- receipt and refund ----------------------------------------------------------------------------
@transaction.atomic
def receive_return(
    *,
    return_request: ReturnRequest,
    condition: str,
    is_resellable: bool,
    quantities: dict[int, object] | None = None,
    actor: User | None = None,
) -> ReturnRequest:
    """The supplier has the goods: FULL (every unit), PARTIAL (`quantities` per return line id)
    or DAMAGED (every unit, never resellable). The refund follows in the same step: the value of
    the units received less the restocking fee where it applies. A refund billing refuses (more
    than is left of the payment) undoes the whole step."""
    if condition not in ReturnRequest.Condition.values:
        raise ReturnError(
            "Say whether everything, part or damaged goods came back.", field="condition"
        )
    return_request = _lock(return_request)
    if return_request.status != R.SHIPPED_BACK:
        _move(return_request, R.RECEIVED)  # raises with the state's words
    lines = list(return_request.lines.select_related("order_item").order_by("pk"))
    if condition == ReturnRequest.Condition.PARTIAL:
        given = quantities or {}
        unknown = set(given) - {line.pk for line in lines}
        if unknown:
            raise ReturnError(
                "Some of these lines are not part of this return.", field="quantities"
            )
        for line in lines:
            received = _quantity(given.get(line.pk, 0), field="quantities")
            if received > line.quantity:
                raise ReturnError(
                    f"{received} × “{line.order_item.title}” received is more than the "
                    f"{line.quantity} in the return.",
                    field="quantities",
                )
            line.quantity_received = received
        if not any(line.quantity_received for line in lines):
            raise ReturnError(
                "Enter how many units of each line came back (at least one).", field="quantities"
            )
    else:
        for line in lines:
            line.quantity_received = line.quantity
    ReturnLine.objects.bulk_update(lines, ["quantity_received"])
    is_resellable = bool(is_resellable) and condition != ReturnRequest.Condition.DAMAGED
    value = goods_value(return_request=return_request, received=True)
    fee = ZERO
    if return_request.reason_code not in ReturnRequest.SUPPLIER_FAULT:
        fee = quantize(value * return_request.restocking_fee_percent / 100)
    return_request.received_at = timezone.now()
    return_request.condition = condition
    return_request.is_resellable = is_resellable
    return_request.restocking_fee = fee
    return_request.refund_amount = value - fee
    _move(
        return_request,
        R.RECEIVED,
        fields=["received_at", "condition", "is_resellable", "restocking_fee", "refund_amount"],
    )
    restocked = [line.order_item.stock_line(line.quantity_received) for line in lines]
    restocked = [(variant_id, units) for variant_id, units in restocked if units]
    if is_resellable and restocked:
        restock_returned_units(lines=restocked, reference=return_request.number, actor=actor)
    currency = return_request.supplier_order.currency
    units = sum(line.quantity_received for line in lines)
    _record(
        return_request,
        kind=ReturnEventKind.RECEIVED,
        message=f"Return {return_request.number} received ({return_request.get_condition_display().lower()}, "
        f"{units} unit{'s' if units != 1 else ''}"
        + (", back in stock" if is_resellable else ", not resellable")
        + ")."
        + (f" Restocking fee {format_money(fee, currency)}." if fee else ""),
        actor=actor,
    )
    _refund(
        return_request,
        amount=value - fee,
        reason=f"Return {return_request.number} received",
        actor=actor,
    )
    return return_request


def _refund(
    return_request: ReturnRequest, *, amount: Decimal, reason: str, actor: User | None
) -> None:
    """Refund through billing (rows locked by the caller's transaction). Billing refusing undoes
    the caller's step; Stripe not answering leaves the refund pending, and the return RECEIVED
    until `settle_return_refunds` sees it succeed."""
    supplier_order = return_request.supplier_order
    refund: Refund | None
    try:
        refund = refund_supplier_order(
            supplier_order=supplier_order, amount=amount, reason=reason, actor=_actor(actor)
        )
    except RefundPending:
        refund = (
            Refund.objects.filter(supplier_order=supplier_order, status=Refund.Status.PENDING)
            .order_by("-pk")
            .first()
        )
    except RefundError as exc:
        raise ReturnError(f"The refund cannot be made: {exc.message}", field="amount") from exc
    if refund is None or refund.status == Refund.Status.FAILED:
        message = refund.failure_message if refund is not None else "no refund was recorded"
        raise ReturnError(f"The refund failed: {message}", field="amount")
    return_request.refund = refund
    return_request.refund_amount = amount
    return_request.save(update_fields=["refund", "refund_amount", "updated_at"])
    if refund.status == Refund.Status.SUCCEEDED:
        _mark_refunded(return_request, refund=refund, actor=actor)


def _mark_refunded(return_request: ReturnRequest, *, refund: Refund, actor: User | None) -> None:
    now = timezone.now()
    return_request.refunded_at = refund.refunded_at or now
    return_request.closed_at = return_request.closed_at or now
    _move(return_request, R.REFUNDED, fields=["refunded_at", "closed_at"])
    amount = format_money(refund.amount, refund.currency)
    fee = return_request.restocking_fee
    _record(
        return_request,
        kind=ReturnEventKind.REFUNDED,
        message=f"Return {return_request.number}: {amount} refunded"
        + (f" (restocking fee {format_money(fee, refund.currency)} kept)." if fee else "."),
        actor=actor,
    )
    _tell_retailer(
        return_request,
        event=ReturnEventKind.REFUNDED,
        subject=f"Return {return_request.number} refunded",
        message=f"{amount} is refunded on return {return_request.number}"
        + (f", less a {format_money(fee, refund.currency)} restocking fee." if fee else "."),
    )
    _tell_supplier(
        return_request,
        kind=ReturnEventKind.REFUNDED,
        subject=f"Return {return_request.number} refunded",
        message=f"{amount} was refunded to the retailer on return {return_request.number}; "
        "your share of it comes out of the payout of "
        f"{return_request.supplier_order.number}.",
    )


def settle_return_refunds() -> int:
    """Beat job: returns whose refund Stripe confirmed later (it was pending) become REFUNDED.
    Safe to run twice: only RECEIVED (or accepted OFFERED) returns with a SUCCEEDED refund move."""
    moved = 0
    waiting = ReturnRequest.objects.filter(
        status__in=[R.RECEIVED, R.OFFERED], refund__status=Refund.Status.SUCCEEDED
    ).values_list("pk", flat=True)
    for pk in list(waiting[:500]):
        with transaction.atomic():
            return_request = _lock(ReturnRequest(pk=pk))
            if return_request.refund is None or not can_move(return_request, R.REFUNDED):
                continue
            _mark_refunded(return_request, refund=return_request.refund, actor=None)
            moved += 1
    return moved


def refundable_left(*, supplier_order: SupplierOrder) -> Decimal:
    """What is left to refund of the supplier order's payment (zero when it was not paid)."""
    charge = supplier_order.charges.filter(status__in=Charge.PAID_STATUSES).first()
    return charge.refundable if charge is not None else ZERO


# --- timeline, audit, notices ----------------------------------------------------------------------
def _record(return_request: ReturnRequest, *, kind: str, message: str, actor: User | None) -> None:
    supplier_order = return_request.supplier_order
    record_event(
        order=supplier_order.order,
        supplier_order=supplier_order,
        kind=kind,
        message=message,
        actor=_actor(actor),
    )
    record_audit(
        actor=_actor(actor),
        action=f"orders.{kind}",
        target=return_request,
        summary=message[:500],
        data={"status": return_request.status},
    )


def _tell_retailer(
    return_request: ReturnRequest,
    *,
    event: str,
    subject: str,
    message: str,
    level: str = Notification.Level.INFO,
) -> None:
    send_retailer_notice(
        retailer=return_request.supplier_order.order.retailer,
        kind=NoticeKind.RETURN_UPDATE,
        event=event,
        subject=subject,
        message=message[:1000],
        level=level,
        url=_url("orders:retailer_return", return_request.pk),
    )


def _tell_supplier(return_request: ReturnRequest, *, kind: str, subject: str, message: str) -> None:
    supplier = return_request.supplier_order.supplier
    url = _url("supplier_returns:detail", return_request.pk)
    notify(organisation=supplier, kind=kind, message=message[:500], url=url)
    link = f"\n\n{settings.SITE_URL}{url}" if url else ""
    email_organisation(organisation=supplier, subject=subject, message=message + link)
