"""What a supplier charges to ship a set of lines to a destination, from its published rates.

Lines are grouped by shipping class. Each class ships with the supplier's cheapest rate for the
destination zone (DOMESTIC when the destination is the supplier's ship-from country, else
INTERNATIONAL): the first unit at `price`, every further unit at `additional_item_price`.
"""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from functools import partial

from dropship.core.errors import DomainError
from dropship.core.money import ZERO, quantize
from suppliers.models import ShippingRate, Supplier


class ShippingUnavailable(DomainError):
    pass


@dataclass(frozen=True)
class ShippingLine:
    shipping_class: str
    quantity: int


@dataclass(frozen=True)
class ShippingQuote:
    total: Decimal
    zone: str
    rates: tuple[ShippingRate, ...]  # the rate used for each shipping class

    @property
    def carriers(self) -> list[str]:
        return sorted({rate.carrier for rate in self.rates})

    @property
    def max_days(self) -> int:
        return max((rate.max_days for rate in self.rates), default=0)


def zone_for(*, supplier: Supplier, destination_country: str) -> str:
    domestic = (
        bool(supplier.ship_from_country)
        and supplier.ship_from_country.upper() == (destination_country or "").upper()
    )
    return ShippingRate.Zone.DOMESTIC if domestic else ShippingRate.Zone.INTERNATIONAL


def _cost(rate: ShippingRate, quantity: int) -> Decimal:
    return rate.price + rate.additional_item_price * max(quantity - 1, 0)


def _rank(rate: ShippingRate, *, quantity: int) -> tuple[Decimal, int, int]:
    """Cheapest first, then fastest, then the first made: the same rate for the same lines."""
    return _cost(rate, quantity), rate.max_days, rate.pk or 0


def quote_shipping(
    *,
    supplier: Supplier,
    destination_country: str,
    lines: list[ShippingLine],
    rates: list[ShippingRate] | None = None,
) -> ShippingQuote:
    """The cheapest way this supplier ships these lines. `rates` may be passed preloaded."""
    zone = zone_for(supplier=supplier, destination_country=destination_country)
    available = [
        r for r in (rates if rates is not None else supplier.shipping_rates.all()) if r.zone == zone
    ]
    quantities: dict[str, int] = defaultdict(int)
    for line in lines:
        if line.quantity > 0:
            quantities[line.shipping_class or "standard"] += line.quantity
    total, used = ZERO, []
    for shipping_class, quantity in sorted(quantities.items()):
        candidates = [rate for rate in available if rate.shipping_class == shipping_class]
        if not candidates:
            where = (
                "within its country"
                if zone == ShippingRate.Zone.DOMESTIC
                else f"to {destination_country or 'this destination'}"
            )
            raise ShippingUnavailable(
                f"{supplier.company_name} has no shipping rate for “{shipping_class}” items {where}."
            )
        best = min(candidates, key=partial(_rank, quantity=quantity))
        total += _cost(best, quantity)
        used.append(best)
    return ShippingQuote(total=quantize(total), zone=zone, rates=tuple(used))
