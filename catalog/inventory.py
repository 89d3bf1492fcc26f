"""How many units of a variant retailers are told about. The one definition, in Python and in SQL.

Available = on hand − reserved. Advertised = floor(available × supplier.stock_buffer_percent / 100),
so a supplier keeps a safety margin against stock it sells elsewhere. Everything that shows or
pushes a quantity to a retailer's store uses one of these two, never its own arithmetic.
"""

from django.db.models import Case, ExpressionWrapper, F, IntegerField, Q, Value, When
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


# --- what one store listing shows --------------------------------------------------------------
# A listing shows nothing while it is paused or unlisted, and neither does a product that is not
# active or a supplier that is not active (suspended, under review): retailers must not sell it.
LISTING_STATUSES_SHOWING_STOCK = ("ACTIVE",)
PRODUCT_STATUSES_SHOWING_STOCK = ("ACTIVE",)
SUPPLIER_STATUSES_SHOWING_STOCK = ("ACTIVE",)


def listing_advertised_quantity(
    *,
    on_hand: int,
    reserved: int,
    buffer_percent: int,
    listing_status: str,
    product_status: str,
    supplier_status: str,
) -> int:
    """The quantity one store listing of a variant shows (0 when it may not be sold)."""
    if (
        listing_status not in LISTING_STATUSES_SHOWING_STOCK
        or product_status not in PRODUCT_STATUSES_SHOWING_STOCK
        or supplier_status not in SUPPLIER_STATUSES_SHOWING_STOCK
    ):
        return 0
    return advertised_quantity(on_hand=on_hand, reserved=reserved, buffer_percent=buffer_percent)


def listing_advertised_expression(*, from_listing: bool = False) -> Case:
    """`listing_advertised_quantity` as an expression: over ListingVariant rows (the drain,
    reconciliation), or with `from_listing` over a Listing's variants (to Sum per listing)."""
    variant = "variants__variant__" if from_listing else "variant__"
    listing_status = "status" if from_listing else "listing__status"
    return Case(
        When(
            Q(**{f"{listing_status}__in": LISTING_STATUSES_SHOWING_STOCK})
            & Q(**{f"{variant}product__status__in": PRODUCT_STATUSES_SHOWING_STOCK})
            & Q(**{f"{variant}supplier__status__in": SUPPLIER_STATUSES_SHOWING_STOCK}),
            then=advertised_quantity_expression(
                on_hand=f"{variant}stock_on_hand",
                reserved=f"{variant}stock_reserved",
                buffer_percent=f"{variant}supplier__stock_buffer_percent",
            ),
        ),
        default=Value(0),
        output_field=IntegerField(),
    )
