"""Stock held for orders: reserve when an order arrives, release on cancel, consume on shipment.

DESIGN.md invariant 1: a reservation is a conditional UPDATE per line
(`stock_reserved + n WHERE on_hand - reserved >= n`) inside the order's transaction, rows locked
in primary-key order so concurrent orders never deadlock; the CheckConstraint
`variant_reserved_within_on_hand` backs it in the database. Shipping moves the quantity out of
on-hand and reserved together. Each successful line appends a StockMovement and records the
variant's change (one row, however many stores list it); retailers' sync marks its listings after
commit, outside the variant's row lock, so every store shows the new advertised quantity.

Both engines' paths live here, side by side, behind the three functions below:
- PostgreSQL (`_apply_in_one_statement`): one statement for all the lines of a call (this is the
  order hot path): the rows are locked in primary-key order, each is updated only if its own
  condition holds, and the movements and recorded changes are written from what the UPDATE
  returned.
- Any engine (`_apply_line_by_line`): one portable `UPDATE … RETURNING` per line. SQLite (the
  embedded `make run` default) always takes it, PostgreSQL when a call names a variant twice.
  Its SQL uses only what both engines understand: the time is a bound parameter, never `now()`.
The tests marked `embedded` run the reservation, order and shipping flows on SQLite as well.

All three functions take lines as (variant_id, quantity) pairs and return, in the caller's order,
whether each line was applied; they must run inside the caller's transaction.
"""

from collections.abc import Callable, Sequence

from django.db import connection, transaction
from django.utils import timezone

from catalog.models import StockMovement
from dropship.accounts.models import User
from dropship.core.errors import DomainError
from retailers import catalog_events

Source = StockMovement.Source

# One line each, portable SQL (PostgreSQL and SQLite ≥ 3.35 both have RETURNING).
_RESERVE = """
    UPDATE catalog_variant
       SET stock_reserved = stock_reserved + %(n)s, stock_updated_at = %(now)s
     WHERE id = %(id)s AND stock_on_hand - stock_reserved >= %(n)s
 RETURNING stock_on_hand, stock_reserved
"""
_RELEASE = """
    UPDATE catalog_variant
       SET stock_reserved = stock_reserved - %(n)s, stock_updated_at = %(now)s
     WHERE id = %(id)s AND stock_reserved >= %(n)s
 RETURNING stock_on_hand, stock_reserved
"""
_SHIP = """
    UPDATE catalog_variant
       SET stock_on_hand = stock_on_hand - %(n)s,
           stock_reserved = stock_reserved - %(n)s,
           stock_updated_at = %(now)s
     WHERE id = %(id)s AND stock_reserved >= %(n)s
 RETURNING stock_on_hand, stock_reserved
"""

# (on_hand, reserved) before the change, from the values after it.
_BEFORE: dict[str, Callable[[int, int, int], tuple[int, int]]] = {
    Source.RESERVATION: lambda on_hand, reserved, n: (on_hand, reserved - n),
    Source.RELEASE: lambda on_hand, reserved, n: (on_hand, reserved + n),
    Source.SHIPMENT: lambda on_hand, reserved, n: (on_hand + n, reserved + n),
}


class ReservationError(DomainError):
    pass


def reserve_stock(
    *, lines: Sequence[tuple[int, int]], reference: str, actor: User | None = None
) -> list[bool]:
    """Hold stock for each line if enough is available; False where it is not (nothing held)."""
    return _apply(_RESERVE, Source.RESERVATION, lines=lines, reference=reference, actor=actor)


def release_stock(
    *, lines: Sequence[tuple[int, int]], reference: str, actor: User | None = None
) -> list[bool]:
    """Give back reserved stock (cancel, reject); False where less than that is reserved."""
    return _apply(_RELEASE, Source.RELEASE, lines=lines, reference=reference, actor=actor)


def ship_stock(
    *, lines: Sequence[tuple[int, int]], reference: str, actor: User | None = None
) -> list[bool]:
    """Shipped units leave on-hand and reserved together; False where they were not reserved."""
    return _apply(_SHIP, Source.SHIPMENT, lines=lines, reference=reference, actor=actor)


def _apply(
    sql: str, source: str, *, lines: Sequence[tuple[int, int]], reference: str, actor: User | None
) -> list[bool]:
    if not transaction.get_connection().in_atomic_block:
        raise ReservationError("Stock reservations must run inside the order's transaction.")
    for variant_id, quantity in lines:
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
            raise ReservationError(
                f"Quantity for variant {variant_id} must be a whole number above 0, "
                f"not {quantity!r}."
            )
    if not lines:
        return []
    variant_ids = [variant_id for variant_id, _ in lines]
    if connection.vendor == "postgresql" and len(set(variant_ids)) == len(variant_ids):
        return _apply_in_one_statement(
            source, lines=lines, reference=reference, actor_id=getattr(actor, "pk", None)
        )
    return _apply_line_by_line(sql, source, lines=lines, reference=reference, actor=actor)


# SET and WHERE of the one-statement form, per source; `w.n` is the line's quantity.
_CHANGE: dict[str, tuple[str, str]] = {
    Source.RESERVATION: (
        "stock_reserved = v.stock_reserved + w.n",
        "v.stock_on_hand - v.stock_reserved >= w.n",
    ),
    Source.RELEASE: ("stock_reserved = v.stock_reserved - w.n", "v.stock_reserved >= w.n"),
    Source.SHIPMENT: (
        "stock_on_hand = v.stock_on_hand - w.n, stock_reserved = v.stock_reserved - w.n",
        "v.stock_reserved >= w.n",
    ),
}
# on_hand and reserved before the change, from the values after it (RETURNING gives "after").
_BEFORE_SQL: dict[str, tuple[str, str]] = {
    Source.RESERVATION: ("c.on_hand", "c.reserved - c.n"),
    Source.RELEASE: ("c.on_hand", "c.reserved + c.n"),
    Source.SHIPMENT: ("c.on_hand + c.n", "c.reserved + c.n"),
}


def _apply_in_one_statement(
    source: str, *, lines: Sequence[tuple[int, int]], reference: str, actor_id: int | None
) -> list[bool]:
    set_clause, condition = _CHANGE[source]
    on_hand_before, reserved_before = _BEFORE_SQL[source]
    # Only the constants above are formatted in; every value is a bound parameter.
    sql = f"""
        WITH wanted(id, n) AS (
            SELECT * FROM unnest(%(ids)s::bigint[], %(quantities)s::integer[])
        ),
        locked AS (
            SELECT v.id FROM catalog_variant v
             WHERE v.id = ANY(%(ids)s::bigint[])
             ORDER BY v.id
               FOR UPDATE
        ),
        changed AS (
            UPDATE catalog_variant v
               SET {set_clause}, stock_updated_at = now()
              FROM wanted w
             WHERE v.id = w.id AND v.id IN (SELECT id FROM locked) AND {condition}
         RETURNING v.id, w.n, v.stock_on_hand AS on_hand, v.stock_reserved AS reserved
        ),
        moved AS (
            INSERT INTO catalog_stockmovement (
                variant_id, source, on_hand_before, on_hand_after, reserved_before,
                reserved_after, actor_id, reference, created_at
            )
            SELECT c.id, %(source)s, {on_hand_before}, c.on_hand, {reserved_before},
                   c.reserved, %(actor_id)s, %(reference)s, now()
              FROM changed c
             ORDER BY c.id
        ),
        recorded AS (
            {catalog_events.RECORD_STOCK_CHANGES_SQL}
              FROM changed
        )
        SELECT id FROM changed
    """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            {
                "ids": [variant_id for variant_id, _ in lines],
                "quantities": [quantity for _, quantity in lines],
                "source": source,
                "actor_id": actor_id,
                "reference": reference[:120],
            },
        )
        done = {row[0] for row in cursor.fetchall()}
    if done:
        catalog_events.stock_changes_recorded()
    return [variant_id in done for variant_id, _ in lines]


def _apply_line_by_line(
    sql: str, source: str, *, lines: Sequence[tuple[int, int]], reference: str, actor: User | None
) -> list[bool]:
    applied = [False] * len(lines)
    movements: list[StockMovement] = []
    # Primary-key order: two orders touching the same variants lock them in the same order.
    order = sorted(range(len(lines)), key=lambda index: (lines[index][0], index))
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        for index in order:
            variant_id, quantity = lines[index]
            cursor.execute(sql, {"id": variant_id, "n": quantity, "now": now})
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
        catalog_events.stock_changed_by_orders(
            variant_ids={movement.variant_id for movement in movements}
        )
    return applied
