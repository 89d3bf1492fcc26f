"""The one way stock changes. Pages, imports, the API, feeds and (later) orders all come through here.

Every change locks the variant rows in primary-key order (so two callers touching the same
variants never deadlock), refuses on-hand below reserved, writes the new values with one
conditional UPDATE, appends a StockMovement per variant (source, before/after, who, reference)
and raises or clears low-stock alerts. `_apply_stock_changes` is the single place where rows are
written; whatever must follow a stock change (alerts today) hangs off its result.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import BooleanField, Case, F, IntegerField, Value, When
from django.urls import reverse
from django.utils import timezone

from catalog.models import StockMovement, Variant
from dropship.accounts.models import Notification, User
from dropship.accounts.services import email_organisation, notify
from dropship.core.errors import Conflict, DomainError
from suppliers.models import Supplier

MAX_STOCK_QUANTITY = 10_000_000
Source = StockMovement.Source


class StockError(DomainError):
    pass


class StockBelowReserved(Conflict):
    """On hand may not drop below what open orders have already reserved."""


@dataclass(frozen=True)
class StockChange:
    variant_id: int
    sku: str
    supplier_id: int
    on_hand_before: int
    on_hand_after: int
    reserved_before: int
    reserved_after: int

    @property
    def available_after(self) -> int:
        return self.on_hand_after - self.reserved_after


@dataclass
class StockUpdateResult:
    changes: list[StockChange] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)  # variant ids already at the target
    refused: dict[int, str] = field(default_factory=dict)  # variant id → why


def _validate_quantity(quantity: object, *, field_name: str = "quantity") -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise StockError("Stock must be a whole number.", field=field_name)
    if quantity < 0:
        raise StockError("Stock cannot be negative.", field=field_name)
    if quantity > MAX_STOCK_QUANTITY:
        raise StockError(
            f"Stock cannot be more than {MAX_STOCK_QUANTITY:,} units.", field=field_name
        )
    return quantity


def below_reserved_message(*, sku: str, quantity: int, reserved: int) -> str:
    return (
        f"{sku}: stock {quantity:,} is below the {reserved:,} "
        f"unit{'s' if reserved != 1 else ''} reserved for open orders; "
        f"set at least {reserved:,}."
    )


def _lock_variants(variant_ids: Iterable[int]) -> list[Variant]:
    """The rows, locked FOR UPDATE in primary-key order (the supplier row is not locked)."""
    return list(
        Variant.objects.select_for_update(of=("self",))
        .filter(pk__in=set(variant_ids))
        .only(
            "id",
            "sku",
            "supplier_id",
            "stock_on_hand",
            "stock_reserved",
            "low_stock_threshold",
            "is_low_stock_alerted",
        )
        .order_by("pk")
    )


def _apply_stock_changes(
    *,
    rows: list[Variant],
    targets: Mapping[int, tuple[int, int]],
    source: str,
    actor: User | None,
    reference: str,
) -> list[StockChange]:
    """Write (on hand, reserved) targets for locked rows; record movements; raise/clear alerts.

    Callers have locked `rows` and checked every target (reserved ≤ on hand, both ≥ 0); the
    database's check constraints stand behind that. Rows whose target equals their current
    values are not touched.
    """
    changes = [
        StockChange(
            variant_id=row.pk,
            sku=row.sku,
            supplier_id=row.supplier_id,
            on_hand_before=row.stock_on_hand,
            on_hand_after=targets[row.pk][0],
            reserved_before=row.stock_reserved,
            reserved_after=targets[row.pk][1],
        )
        for row in rows
        if row.pk in targets and targets[row.pk] != (row.stock_on_hand, row.stock_reserved)
    ]
    if not changes:
        return []
    by_id = {row.pk: row for row in rows}
    suppliers = Supplier.objects.in_bulk({change.supplier_id for change in changes})
    newly_low: dict[int, list[StockChange]] = defaultdict(list)
    alert_flags: dict[int, bool] = {}
    for change in changes:
        row = by_id[change.variant_id]
        threshold = (
            row.low_stock_threshold
            if row.low_stock_threshold is not None
            else suppliers[change.supplier_id].low_stock_threshold
        )
        is_low = change.available_after <= threshold
        if is_low and not row.is_low_stock_alerted:
            newly_low[change.supplier_id].append(change)
            alert_flags[change.variant_id] = True
        elif not is_low and row.is_low_stock_alerted:
            alert_flags[change.variant_id] = False

    now = timezone.now()
    updates = {
        "stock_on_hand": Case(
            *[When(pk=c.variant_id, then=Value(c.on_hand_after)) for c in changes],
            output_field=IntegerField(),
        ),
        "stock_updated_at": Value(now),
    }
    if any(c.reserved_after != c.reserved_before for c in changes):
        updates["stock_reserved"] = Case(
            *[When(pk=c.variant_id, then=Value(c.reserved_after)) for c in changes],
            output_field=IntegerField(),
        )
    if alert_flags:
        updates["is_low_stock_alerted"] = Case(
            *[When(pk=pk, then=Value(flag)) for pk, flag in alert_flags.items()],
            default=F("is_low_stock_alerted"),
            output_field=BooleanField(),
        )
    written = Variant.objects.filter(pk__in=[c.variant_id for c in changes]).update(**updates)
    if written != len(changes):  # the rows are locked; this cannot happen unless one was deleted
        raise StockError("Some variants disappeared while their stock was being changed.")

    StockMovement.objects.bulk_create(
        [
            StockMovement(
                variant_id=c.variant_id,
                source=source,
                on_hand_before=c.on_hand_before,
                on_hand_after=c.on_hand_after,
                reserved_before=c.reserved_before,
                reserved_after=c.reserved_after,
                actor=actor if getattr(actor, "is_authenticated", False) else None,
                reference=reference[:120],
            )
            for c in changes
        ],
        batch_size=1000,
    )
    for supplier_id, low in newly_low.items():
        _alert_low_stock(supplier=suppliers[supplier_id], changes=low)
    return changes


def _alert_low_stock(*, supplier: Supplier, changes: list[StockChange]) -> None:
    """One notification and one email per stock update, however many variants crossed."""
    listed = ", ".join(f"{c.sku} ({max(c.available_after, 0)} left)" for c in changes[:10])
    more = f" and {len(changes) - 10} more" if len(changes) > 10 else ""
    count = len(changes)
    subject = (
        f"Low stock: {changes[0].sku}"
        if count == 1
        else f"Low stock: {count} variants reached their threshold"
    )
    message = (
        f"{'This variant is' if count == 1 else 'These variants are'} low on stock: {listed}{more}."
    )
    url = reverse("catalog:product_list") + "?stock=low"
    notify(
        organisation=supplier,
        kind="stock.low",
        level=Notification.Level.WARNING,
        message=message,
        url=url,
    )
    email_organisation(
        organisation=supplier,
        subject=subject,
        message=f"{message}\n\nRestock or update the quantities in your catalog: {url}",
    )


def set_stock_levels(
    *,
    supplier: Supplier,
    levels: Mapping[int, int],
    source: str,
    actor: User | None = None,
    reference: str = "",
    skip_refused: bool = False,
) -> StockUpdateResult:
    """Set on-hand quantities {variant id: quantity} of one supplier's variants.

    Each quantity is checked against the locked row's reservations. With `skip_refused` the
    refused variants are reported and the others applied; without it the first refusal raises
    and nothing is written.
    """
    return _set_levels(
        supplier_id=supplier.pk,
        levels=levels,
        source=source,
        actor=actor,
        reference=reference,
        skip_refused=skip_refused,
    )


def set_stock(
    *,
    variant: Variant,
    quantity: int,
    source: str,
    actor: User | None = None,
    reference: str = "",
) -> StockChange | None:
    """Set one variant's on-hand quantity; None when it already was that. Refuses below reserved."""
    result = _set_levels(
        supplier_id=variant.supplier_id,
        levels={variant.pk: quantity},
        source=source,
        actor=actor,
        reference=reference,
        skip_refused=False,
    )
    return result.changes[0] if result.changes else None


@transaction.atomic
def _set_levels(
    *,
    supplier_id: int,
    levels: Mapping[int, int],
    source: str,
    actor: User | None,
    reference: str,
    skip_refused: bool,
) -> StockUpdateResult:
    for quantity in levels.values():
        _validate_quantity(quantity)
    rows = _lock_variants(levels)
    if len(rows) != len(levels) or any(row.supplier_id != supplier_id for row in rows):
        raise StockError("Some of these variants are not in your catalog.")
    result = StockUpdateResult()
    targets: dict[int, tuple[int, int]] = {}
    for row in rows:
        quantity = levels[row.pk]
        if quantity < row.stock_reserved:
            message = below_reserved_message(
                sku=row.sku, quantity=quantity, reserved=row.stock_reserved
            )
            if not skip_refused:
                raise StockBelowReserved(message, field="quantity")
            result.refused[row.pk] = message
        elif quantity == row.stock_on_hand:
            result.unchanged.append(row.pk)
        else:
            targets[row.pk] = (quantity, row.stock_reserved)
    result.changes = _apply_stock_changes(
        rows=rows, targets=targets, source=source, actor=actor, reference=reference
    )
    return result
