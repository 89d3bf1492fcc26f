"""The one way stock changes. Pages, imports, the API, feeds and (later) orders all come through here.

Every change locks the variant rows in primary-key order (so two callers touching the same
variants never deadlock), refuses on-hand below reserved, writes the new values with a
conditional UPDATE per row (sent together), appends a StockMovement per variant (source, before/after, who, reference)
and raises or clears low-stock alerts. `_apply_stock_changes` is the single place where rows are
written; whatever must follow a stock change (alerts today) hangs off its result.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.urls import reverse
from django.utils import timezone

from catalog.models import StockMovement, Variant
from dropship.accounts.models import Notification, User
from dropship.accounts.services import email_organisation, notify
from dropship.core.errors import Conflict, DomainError
from retailers import catalog_events
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
    def available_before(self) -> int:
        return self.on_hand_before - self.reserved_before

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


class LockedVariant(NamedTuple):
    """What a stock change reads of a variant row it has locked."""

    pk: int
    sku: str
    supplier_id: int
    stock_on_hand: int
    stock_reserved: int
    low_stock_threshold: int | None
    is_low_stock_alerted: bool


def _lock_variants(variant_ids: Iterable[int]) -> list[LockedVariant]:
    """The rows, locked FOR UPDATE in primary-key order (the supplier row is not locked); read as
    plain tuples, since an import locks thousands at a time."""
    return [
        LockedVariant(*values)
        for values in Variant.objects.select_for_update(of=("self",))
        .filter(pk__in=set(variant_ids))
        .order_by("pk")
        .values_list(*(name if name != "pk" else "id" for name in LockedVariant._fields))
    ]


def _apply_stock_changes(
    *,
    rows: list[LockedVariant],
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

    _write_conditionally(changes, alert_flags, by_id)
    _record_movements(changes, source=source, actor=actor, reference=reference)
    for supplier_id, low in newly_low.items():
        _alert_low_stock(supplier=suppliers[supplier_id], changes=low)
    catalog_events.stock_changed(
        variant_ids=[c.variant_id for c in changes if c.available_after != c.available_before]
    )
    return changes


def _write_conditionally(
    changes: list[StockChange], alert_flags: dict[int, bool], rows: dict[int, LockedVariant]
) -> None:
    """Conditional UPDATEs: a row is written only if it still holds the values read under the lock.

    On PostgreSQL the batch is one `UPDATE … FROM unnest(…)`; elsewhere one UPDATE per row. The
    database's check constraints refuse reserved > on hand whatever happens, and a row that does
    not match aborts the whole change.
    """
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    table = connection.ops.quote_name(Variant._meta.db_table)  # our own model's table name
    rows_params = [
        (
            c.variant_id,
            c.on_hand_before,
            c.reserved_before,
            c.on_hand_after,
            c.reserved_after,
            alert_flags.get(c.variant_id, rows[c.variant_id].is_low_stock_alerted),
        )
        for c in changes
    ]
    written = 0
    with connection.cursor() as cursor:
        for start in range(0, len(rows_params), 5000):
            chunk = rows_params[start : start + 5000]
            written += _update_chunk(cursor, table, now, chunk)
    if written != len(changes):  # rows are locked: only a deleted variant can get here
        raise StockError("Some variants changed or disappeared while their stock was being set.")


def _update_chunk(
    cursor: CursorWrapper,
    table: str,
    now: str | None,  # adapted for the database already
    rows_params: Sequence[tuple[int, int, int, int, int, bool]],
) -> int:
    if connection.vendor == "postgresql":
        # One array per column, not a placeholder per value: a batch of thousands of rows stays
        # a short statement that the driver does not have to split.
        columns = list(zip(*rows_params, strict=True))
        cursor.execute(
            f"UPDATE {table} AS v SET stock_on_hand = d.on_hand, stock_reserved = d.reserved, "  # noqa: S608 - the values are placeholders
            "is_low_stock_alerted = d.alerted, stock_updated_at = %s "
            "FROM unnest(%s::bigint[], %s::int[], %s::int[], %s::int[], %s::int[], %s::bool[]) "
            "AS d(id, old_on_hand, old_reserved, on_hand, reserved, alerted) "
            "WHERE v.id = d.id AND v.stock_on_hand = d.old_on_hand "
            "AND v.stock_reserved = d.old_reserved",
            [now, *(list(column) for column in columns)],
        )
    else:
        cursor.executemany(
            f"UPDATE {table} SET stock_on_hand = %s, stock_reserved = %s, "  # noqa: S608 - the values are placeholders
            "is_low_stock_alerted = %s, stock_updated_at = %s "
            "WHERE id = %s AND stock_on_hand = %s AND stock_reserved = %s",
            [
                (on, res, alerted, now, pk, old_on, old_res)
                for pk, old_on, old_res, on, res, alerted in rows_params
            ],
        )
    rowcount: int = cursor.rowcount
    return rowcount


def _record_movements(
    changes: list[StockChange], *, source: str, actor: User | None, reference: str
) -> None:
    """One StockMovement per change, in the order of the changes (primary-key order).

    On PostgreSQL one INSERT of unnested arrays whatever the number of rows (an import writes
    thousands per batch); elsewhere bulk_create.
    """
    actor_id = actor.pk if actor is not None and actor.is_authenticated else None
    reference = reference[:120]
    if connection.vendor != "postgresql":
        StockMovement.objects.bulk_create(
            [
                StockMovement(
                    variant_id=c.variant_id,
                    source=source,
                    on_hand_before=c.on_hand_before,
                    on_hand_after=c.on_hand_after,
                    reserved_before=c.reserved_before,
                    reserved_after=c.reserved_after,
                    actor_id=actor_id,
                    reference=reference,
                )
                for c in changes
            ],
            batch_size=1000,
        )
        return
    table = connection.ops.quote_name(StockMovement._meta.db_table)  # our own model's table name
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (variant_id, on_hand_before, on_hand_after, reserved_before, "  # noqa: S608 - the values are placeholders
            "reserved_after, source, actor_id, reference, created_at) "
            "SELECT m.variant_id, m.on_hand_before, m.on_hand_after, m.reserved_before, "
            "m.reserved_after, %s, %s, %s, %s FROM unnest(%s::bigint[], %s::int[], %s::int[], "
            "%s::int[], %s::int[]) WITH ORDINALITY AS m(variant_id, on_hand_before, on_hand_after, "
            "reserved_before, reserved_after, n) ORDER BY m.n",
            [
                source,
                actor_id,
                reference,
                timezone.now(),
                [c.variant_id for c in changes],
                [c.on_hand_before for c in changes],
                [c.on_hand_after for c in changes],
                [c.reserved_before for c in changes],
                [c.reserved_after for c in changes],
            ],
        )


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


@transaction.atomic
def restock_returned_units(
    *, lines: Sequence[tuple[int, int]], reference: str, actor: User | None = None
) -> list[StockChange]:
    """Units a supplier took back as resellable go back on hand: (variant id, units) pairs,
    each recorded as a RETURN movement (listings see the new quantity like any stock change)."""
    added: dict[int, int] = defaultdict(int)
    for variant_id, units in lines:
        added[variant_id] += _validate_quantity(units, field_name="quantity_received")
    rows = _lock_variants(added)
    if len(rows) != len(added):
        raise StockError("Some of these variants no longer exist.")
    targets = {
        row.pk: (row.stock_on_hand + added[row.pk], row.stock_reserved)
        for row in rows
        if added[row.pk]
    }
    for row in rows:
        if row.pk in targets and targets[row.pk][0] > MAX_STOCK_QUANTITY:
            raise StockError(f"{row.sku} would hold more than {MAX_STOCK_QUANTITY:,} units.")
    return _apply_stock_changes(
        rows=rows, targets=targets, source=Source.RETURN, actor=actor, reference=reference
    )


@transaction.atomic
def set_stock_buffer(*, supplier: Supplier, percent: object, actor: User | None = None) -> bool:
    """Change the share of available stock advertised to retailers (1–100 %). Every listing of
    the supplier's catalog then shows a new number: they are marked for the inventory sync in
    one statement. Returns whether anything changed."""
    if isinstance(percent, bool) or not isinstance(percent, int) or not 1 <= percent <= 100:
        raise StockError("The stock buffer is a whole percentage from 1 to 100.", field="percent")
    changed = (
        Supplier.objects.filter(pk=supplier.pk)
        .exclude(stock_buffer_percent=percent)
        .update(stock_buffer_percent=percent, updated_at=timezone.now())
    )
    supplier.stock_buffer_percent = percent
    if changed:
        catalog_events.suppliers_changed(supplier_ids=[supplier.pk])
    return bool(changed)
