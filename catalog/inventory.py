"""How many units of a variant retailers are told about. The one definition, in Python and in SQL.

Available = on hand − reserved. Advertised = floor(available × supplier.stock_buffer_percent / 100),
so a supplier keeps a safety margin against stock it sells elsewhere. Everything that shows or
pushes a quantity to a retailer's store uses one of these two, never its own arithmetic.
"""

from django.db.models import ExpressionWrapper, F, IntegerField, Value
from django.db.models.functions import Greatest


def advertised_quantity(*, on_hand: int, reserved: int, buffer_percent: int) -> int:
    available = max(on_hand - reserved, 0)
    return available * buffer_percent // 100


def advertised_quantity_expression(
    *,
    on_hand: str = "stock_on_hand",
    reserved: str = "stock_reserved",
    buffer_percent: str = "supplier__stock_buffer_percent",
) -> ExpressionWrapper:
    """The same number as a query expression: `Variant.objects.annotate(advertised=...)`.

    Integer division truncates toward zero in PostgreSQL and SQLite; the operand is never
    negative (GREATEST(.., 0)), so truncation is the floor.
    """
    available = Greatest(F(on_hand) - F(reserved), Value(0))
    return ExpressionWrapper(
        available * F(buffer_percent) / Value(100), output_field=IntegerField()
    )
