"""Retailer API: pricing rules, saved by the same service and checks as the Pricing page's form.

GET    /api/v1/pricing-rules         list (cursor)
POST   /api/v1/pricing-rules         create (201)
GET    /api/v1/pricing-rules/{id}    one rule with its tiers
PUT    /api/v1/pricing-rules/{id}    replace it (as the page's form saves it)
DELETE /api/v1/pricing-rules/{id}    delete it (204)
"""

from decimal import Decimal
from typing import Annotated, Any, Literal

from ninja import Field, Path, Router, Schema
from ninja.pagination import paginate

from catalog.models import Category
from dropship.api import ErrorOut
from dropship.api_auth import RetailerApiRequest, api_actor, retailer_auth
from dropship.api_pagination import CursorPagination
from dropship.core.errors import NotFound
from dropship.core.money import quantize
from retailers import selectors, services
from retailers.models import PricingRule, Retailer, Store

router = Router(auth=retailer_auth, tags=["retailer pricing rules"])

MAX_ID = 2**31 - 1
Method = Literal["PERCENT", "MULTIPLIER", "FIXED"]
Rounding = Literal["NONE", "END_99", "END_95", "WHOLE"]
MAX_MONEY = Decimal("999999999999.99")
MAX_MARKUP = Decimal("999999.9999")

RULE_EXAMPLE: dict[str, Any] = {
    "name": "Default",
    "store_id": None,
    "category_id": None,
    "method": "MULTIPLIER",
    "value": "2.5",
    "rounding": "END_99",
    "include_shipping_in_cost": False,
    "include_fees_in_cost": False,
    "compare_at_from_msrp": True,
    "min_margin_amount": "3.00",
    "min_margin_percent": "20",
    "tiers": [
        {"min_cost": "0", "max_cost": "10", "method": "MULTIPLIER", "value": "3"},
        {"min_cost": "10", "max_cost": None, "method": "PERCENT", "value": "80"},
    ],
}


class TierIn(Schema):
    min_cost: Decimal = Field(ge=0, le=MAX_MONEY, max_digits=14, decimal_places=2)
    max_cost: Decimal | None = Field(
        None, ge=0, le=MAX_MONEY, max_digits=14, decimal_places=2, description="null: no limit."
    )
    method: Method
    value: Decimal = Field(ge=0, le=MAX_MARKUP, max_digits=10, decimal_places=4)


class TierOut(Schema):
    min_cost: Decimal
    max_cost: Decimal | None
    method: str
    value: Decimal


class PricingRuleIn(Schema):
    model_config = {"json_schema_extra": {"examples": [RULE_EXAMPLE]}}

    name: str = Field(min_length=1, max_length=100)
    store_id: int | None = Field(None, ge=1, le=MAX_ID, description="null: every store.")
    category_id: int | None = Field(None, ge=1, le=MAX_ID, description="null: every category.")
    method: Method = Field(description="PERCENT, MULTIPLIER or FIXED markup.")
    value: Decimal = Field(ge=0, le=MAX_MARKUP, max_digits=10, decimal_places=4)
    rounding: Rounding = "END_99"
    include_shipping_in_cost: bool = False
    include_fees_in_cost: bool = False
    compare_at_from_msrp: bool = True
    min_margin_amount: Decimal | None = Field(
        None, ge=0, le=MAX_MONEY, max_digits=14, decimal_places=2
    )
    min_margin_percent: Decimal | None = Field(None, ge=0, lt=100, max_digits=5, decimal_places=2)
    tiers: Annotated[list[TierIn], Field(max_length=10)] = Field(
        default_factory=list,
        description="Markups for cost ranges: from 0, no gaps, the last one without a limit.",
    )


class PricingRuleOut(Schema):
    model_config = {"json_schema_extra": {"examples": [{"id": 7, **RULE_EXAMPLE}]}}

    id: int
    name: str
    store_id: int | None
    category_id: int | None
    method: str
    value: Decimal
    rounding: str
    include_shipping_in_cost: bool
    include_fees_in_cost: bool
    compare_at_from_msrp: bool
    min_margin_amount: Decimal | None
    min_margin_percent: Decimal | None
    tiers: list[TierOut]

    @staticmethod
    def resolve_tiers(obj: PricingRule) -> list[TierOut]:
        return [
            TierOut(min_cost=t.min_cost, max_cost=t.max_cost, method=t.method, value=t.value)
            for t in obj.tiers.all()
        ]


def _rule_input(retailer: Retailer, payload: PricingRuleIn) -> services.RuleInput:
    """The form's RuleInput: the store must be one of the retailer's (not disconnected), as the
    form's choices are."""
    store = None
    if payload.store_id is not None:
        store = (
            Store.objects.filter(retailer=retailer, pk=payload.store_id)
            .exclude(status=Store.Status.DISCONNECTED)
            .first()
        )
        if store is None:
            raise NotFound("No connected store of yours has that id.", field="store_id")
    category = None
    if payload.category_id is not None:
        category = Category.objects.filter(pk=payload.category_id).first()
        if category is None:
            raise NotFound("No category has that id.", field="category_id")
    return services.RuleInput(
        name=payload.name,
        store=store,
        category=category,
        method=payload.method,
        value=payload.value,
        rounding=payload.rounding,
        include_shipping_in_cost=payload.include_shipping_in_cost,
        include_fees_in_cost=payload.include_fees_in_cost,
        compare_at_from_msrp=payload.compare_at_from_msrp,
        min_margin_amount=None
        if payload.min_margin_amount is None
        else quantize(payload.min_margin_amount),
        min_margin_percent=payload.min_margin_percent,
        tiers=tuple(
            services.TierInput(
                min_cost=quantize(t.min_cost),
                max_cost=None if t.max_cost is None else quantize(t.max_cost),
                method=t.method,
                value=t.value,
            )
            for t in payload.tiers
        ),
    )


def _read(retailer: Retailer, rule_id: int) -> PricingRule:
    return selectors.get_pricing_rule_for_retailer(retailer=retailer, rule_id=rule_id)


@router.get(
    "/pricing-rules",
    response={200: list[PricingRuleOut], 401: ErrorOut, 403: ErrorOut, 422: ErrorOut},
    operation_id="retailers_api_list_pricing_rules",
)
@paginate(CursorPagination, ordering=("id",))
def list_pricing_rules(request: RetailerApiRequest):
    """Your pricing rules with their tiers, oldest first."""
    return PricingRule.objects.filter(retailer=request.retailer).prefetch_related("tiers")


@router.post(
    "/pricing-rules",
    response={
        201: PricingRuleOut,
        401: ErrorOut,
        403: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        422: ErrorOut,
    },
    operation_id="retailers_api_create_pricing_rule",
)
def create_pricing_rule(request: RetailerApiRequest, payload: PricingRuleIn):
    """A new rule. Refused (422 naming the field) when it would sell below cost or its tiers
    overlap or leave gaps; 409 when you already have a rule for that store and category."""
    rule = services.save_pricing_rule(
        retailer=request.retailer,
        data=_rule_input(request.retailer, payload),
        actor=api_actor(request),
    )
    return 201, _read(request.retailer, rule.pk)


@router.get(
    "/pricing-rules/{rule_id}",
    response={200: PricingRuleOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    operation_id="retailers_api_get_pricing_rule",
)
def get_pricing_rule(request: RetailerApiRequest, rule_id: int = Path(..., ge=1, le=MAX_ID)):
    """One rule with its tiers."""
    return _read(request.retailer, rule_id)


@router.put(
    "/pricing-rules/{rule_id}",
    response={
        200: PricingRuleOut,
        401: ErrorOut,
        403: ErrorOut,
        404: ErrorOut,
        409: ErrorOut,
        422: ErrorOut,
    },
    operation_id="retailers_api_replace_pricing_rule",
)
def replace_pricing_rule(
    request: RetailerApiRequest,
    payload: PricingRuleIn,
    rule_id: int = Path(..., ge=1, le=MAX_ID),
):
    """Replace the rule and its tiers, as saving the page's form does."""
    rule = _read(request.retailer, rule_id)
    services.save_pricing_rule(
        retailer=request.retailer,
        data=_rule_input(request.retailer, payload),
        rule=rule,
        actor=api_actor(request),
    )
    return _read(request.retailer, rule_id)


@router.delete(
    "/pricing-rules/{rule_id}",
    response={204: None, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    operation_id="retailers_api_delete_pricing_rule",
)
def delete_pricing_rule(request: RetailerApiRequest, rule_id: int = Path(..., ge=1, le=MAX_ID)):
    """Delete the rule; listings priced by it keep their prices."""
    services.delete_pricing_rule(rule=_read(request.retailer, rule_id), actor=api_actor(request))
    return 204, None
