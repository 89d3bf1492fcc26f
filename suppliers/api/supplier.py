"""Supplier shipping API: read and replace your shipping rates, handling time and minimum order.

    GET /api/v1/supplier/shipping-rates
    PUT /api/v1/supplier/shipping-rates   {"handling_days"?, "min_order_value"?, "rates": [...]}

The PUT replaces the whole set, like the fulfilment step of the supplier's settings page (the same
service, suppliers.services.save_fulfilment): rates are few (one per carrier, service, shipping
class and zone) and quotes must never see half of an update. Omitted `handling_days` and
`min_order_value` keep their values.
"""

from decimal import Decimal
from typing import Annotated, Literal

from ninja import Field, Router, Schema
from pydantic import ConfigDict

from dropship.api import ErrorOut
from dropship.api_auth import SupplierApiRequest, api_actor, supplier_auth
from suppliers import selectors, services
from suppliers.models import Supplier

MAX_RATES = 100
Money = Annotated[Decimal, Field(ge=0, le=Decimal("99999999.99"), decimal_places=2)]
Days = Annotated[int, Field(strict=True, ge=0, le=365)]

router = Router(auth=supplier_auth, tags=["supplier shipping"])


class SupplierShippingRateIn(Schema):
    carrier: Annotated[str, Field(min_length=1, max_length=32)]
    service: Annotated[str, Field(min_length=1, max_length=64)]
    shipping_class: Annotated[str, Field(min_length=1, max_length=32)] = "standard"
    zone: Literal["DOMESTIC", "INTERNATIONAL"]
    price: Money
    additional_item_price: Money = Decimal("0.00")
    min_days: Days = 2
    max_days: Days = 7


class SupplierShippingRatesIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "handling_days": 2,
                    "rates": [
                        {
                            "carrier": "UPS",
                            "service": "Ground",
                            "zone": "DOMESTIC",
                            "price": "5.90",
                            "additional_item_price": "1.50",
                            "min_days": 2,
                            "max_days": 5,
                        },
                        {
                            "carrier": "DHL",
                            "service": "Express",
                            "zone": "INTERNATIONAL",
                            "price": "24.00",
                            "min_days": 3,
                            "max_days": 8,
                        },
                    ],
                }
            ]
        }
    )

    handling_days: Annotated[int, Field(strict=True, ge=0, le=60)] | None = None
    min_order_value: Money | None = None
    rates: Annotated[list[SupplierShippingRateIn], Field(min_length=1, max_length=MAX_RATES)]


class SupplierShippingRateOut(Schema):
    id: int
    carrier: str
    service: str
    shipping_class: str
    zone: str
    price: Decimal
    additional_item_price: Decimal
    min_days: int
    max_days: int


class SupplierShippingRatesOut(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "currency": "USD",
                    "ship_from_country": "US",
                    "handling_days": 2,
                    "min_order_value": "0.00",
                    "rates": [
                        {
                            "id": 12,
                            "carrier": "UPS",
                            "service": "Ground",
                            "shipping_class": "standard",
                            "zone": "DOMESTIC",
                            "price": "5.90",
                            "additional_item_price": "1.50",
                            "min_days": 2,
                            "max_days": 5,
                        }
                    ],
                }
            ]
        }
    )

    currency: str
    ship_from_country: str
    handling_days: int
    min_order_value: Decimal
    rates: list[SupplierShippingRateOut]


def _answer(supplier: Supplier) -> dict[str, object]:
    return {
        "currency": supplier.currency,
        "ship_from_country": supplier.ship_from_country,
        "handling_days": supplier.handling_days,
        "min_order_value": supplier.min_order_value,
        "rates": selectors.list_shipping_rates_for_supplier(supplier=supplier),
    }


@router.get(
    "",
    response={200: SupplierShippingRatesOut, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut},
    operation_id="suppliers_api_get_shipping_rates",
)
def get_shipping_rates(request: SupplierApiRequest):
    """Your shipping rates (what retailers are quoted), handling time and minimum order value.
    Domestic rates apply when the shopper is in your ship-from country, international otherwise."""
    return _answer(request.supplier)


@router.put(
    "",
    response={
        200: SupplierShippingRatesOut,
        400: ErrorOut,
        401: ErrorOut,
        403: ErrorOut,
        422: ErrorOut,
    },
    operation_id="suppliers_api_set_shipping_rates",
)
def set_shipping_rates(request: SupplierApiRequest, payload: SupplierShippingRatesIn):
    """Replace all your shipping rates at once (at most 100). Two rates with the same carrier,
    service, shipping class and zone, or max days below min days, answer 400 naming `rates`;
    an account under review or suspended cannot change them (400)."""
    supplier = request.supplier
    services.save_fulfilment(
        supplier=supplier,
        actor=api_actor(request),
        handling_days=supplier.handling_days
        if payload.handling_days is None
        else payload.handling_days,
        min_order_value=supplier.min_order_value
        if payload.min_order_value is None
        else payload.min_order_value,
        rates=[services.ShippingRateData(**rate.model_dump()) for rate in payload.rates],
    )
    supplier.refresh_from_db()
    return _answer(supplier)
