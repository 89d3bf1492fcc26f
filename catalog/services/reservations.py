"""Stock held for orders: reserve when an order arrives, release on cancel, consume on shipment.

DESIGN.md invariant 1: a reservation is ONE conditional UPDATE per line
(`stock_reserved + n WHERE on_hand - reserved >= n`) inside the order's transaction, rows touched
in primary-key order so concurrent orders never deadlock; the CheckConstraint
`variant_reserved_within_on_hand` backs it in the database. Shipping moves the quantity out of
on-hand and reserved together. Each successful line appends a StockMovement and marks the
variant's listings dirty so every store shows the new advertised quantity.

All three functions take lines as (variant_id, quantity) pairs and return, in the caller's order,
whether each line was applied; they must run inside the caller's transaction.
"""

from collections.abc import Sequence

from django.db import connection, transaction

from catalog.models import StockMovement
from dropship.core.errors import DomainError
from retailers.sync import mark_variants_dirty

Source = StockMovement.Source

_RESERVE = """
    UPDATE catalog_variant
       SET stock_reserved = stock_reserved + %(n)s, stock_updated_at = now()
     WHERE id = %(id)s AND stock_on_hand - stock_reserved >= %(n)s
 RETURNING stock_on_hand, stock_reserved
"""
_RELEASE = """
    UPDATE catalog_variant
       SET stock_reserved = stock_reserved - %(n)s, stock_updated_at = now()
     WHERE id = %(id)s AND stock_reserved >= %(n)s
 RETURNING stock_on_hand, stock_reserved
"""
_SHIP = """
    UPDATE catalog_variant
       SET stock_on_hand = stock_on_hand - %(n)s,
           stock_reserved = stock_reserved - %(n)s,
           stock_updated_at = now()
     WHERE id = %(id)s AND stock_reserved >= %(n)s
 RETURNING stock_on_hand, stock_reserved
"""

# (on_hand, reserved) before the change, from the values after it.
_BEFORE = {
    Source.RESERVATION: lambda on_hand, reserved, n: (on_hand, reserved - n),
    Source.RELEASE: lambda on_hand, reserved, n: (on_hand, reserved + n),
    Source.SHIPMENT: lambda on_hand, reserved, n: (on_hand + n, reserved + n),
}


class ReservationError(DomainError):
    pass


def reserve_stock(*, lines: Sequence[tuple[int, int]], reference: str, actor=None) -> list[bool]:
    """Hold stock for each line if enough is available; False where it is not (nothing held)."""
    return _apply(_RESERVE, Source.RESERVATION, lines=lines, reference=reference, actor=actor)


def release_stock(*, lines: Sequence[tuple[int, int]], reference: str, actor=None) -> list[bool]:
    """Give back reserved stock (cancel, reject); False where less than that is reserved."""
    return _apply(_RELEASE, Source.RELEASE, lines=lines, reference=reference, actor=actor)


def ship_stock(*, lines: Sequence[tuple[int, int]], reference: str, actor=None) -> list[bool]:
    """Shipped units leave on-hand and reserved together; False where they were not reserved."""
    return _apply(_SHIP, Source.SHIPMENT, lines=lines, reference=reference, actor=actor)


def _apply(
    sql: str, source: str, *, lines: Sequence[tuple[int, int]], reference: str, actor
) -> list[bool]:
    if not transaction.get_connection().in_atomic_block:
        raise ReservationError("Stock reservations must run inside the order's transaction.")
    for variant_id, quantity in lines:
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
            raise ReservationError(
                f"Quantity for variant {variant_id} must be a whole number above 0, "
                f"not {quantity!r}."
            )
    applied = [False] * len(lines)
    movements: list[StockMovement] = []
    # Primary-key order: two orders touching the same variants lock them in the same order.
    order = sorted(range(len(lines)), key=lambda index: (lines[index][0], index))
    with connection.cursor() as cursor:
        for index in order:
            variant_id, quantity = lines[index]
            cursor.execute(sql, {"id": variant_id, "n": quantity})
            row = cursor.fetchone()
            if row is None:
                continue
            applied[index] = True
            on_hand, reserved = row
            on_hand_before, reserved_before = _BEFORE[source](on_hand, reserved, quantity)
            movements.append(
                StockMovement(
                    variant_id=variant_id,
                    source=source,
                    on_hand_before=on_hand_before,
                    on_hand_after=on_hand,
                    reserved_before=reserved_before,
                    reserved_after=reserved,
                    actor=actor,
                    reference=reference[:120],
                )
            )
    if movements:
        StockMovement.objects.bulk_create(movements)
        mark_variants_dirty(variant_ids={movement.variant_id for movement in movements})
    return applied
