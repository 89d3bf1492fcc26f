"""Retailer API: listings (products in the retailer's stores), through the My products services.

GET   /api/v1/listings               list (filters: store, status, q; cursor)
PATCH /api/v1/listings/{id}          set retail prices (never below the wholesale cost: 422)
POST  /api/v1/listings/{id}/unlist   unpublish in the store; quantity 0
POST  /api/v1/listings/{id}/resync   send it to the store again

A custom store's listing carries the Dropship ids its shop puts on order lines
(`store_product_id` DSP-…, each variant's `store_variant_id` DSV-…).
"""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from ninja import Field, Path, Query, Router, Schema
from ninja.pagination import paginate

from dropship.api import ErrorOut
from dropship.api_auth import RetailerApiRequest, api_actor, retailer_auth
from dropship.api_pagination import CursorPagination
from retailers import selectors, services
from retailers.models import Listing

router = Router(auth=retailer_auth, tags=["retailer listings"])

MAX_ID = 2**31 - 1
MAX_PRICE = Decimal("9999999.99")


class ListingVariantOut(Schema):
    id: int
    variant_id: int
    sku: str
    store_variant_id: str
    retail_price: Decimal
    compare_at_price: Decimal | None
    currency: str
    wholesale_price: Decimal

    @staticmethod
    def resolve_sku(obj) -> str:
        return obj.variant.sku

    @staticmethod
    def resolve_wholesale_price(obj) -> Decimal:
        return obj.variant.wholesale_price


class ListingOut(Schema):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "id": 501,
                    "store_id": 14,
                    "product_id": 88,
                    "title": "Red mug",
                    "status": "ACTIVE",
                    "sync_status": "SYNCED",
                    "last_error": "",
                    "last_synced_at": "2026-12-07T18:00:00Z",
                    "store_product_id": "DSP-88",
                    "variants": [
                        {
                            "id": 901,
                            "variant_id": 301,
                            "sku": "MUG-RED",
                            "store_variant_id": "DSV-301",
                            "retail_price": "24.99",
                            "compare_at_price": None,
                            "currency": "USD",
                            "wholesale_price": "10.00",
                        }
                    ],
                }
            ]
        }
    }

    id: int
    store_id: int
    product_id: int
    title: str
    status: str
    sync_status: str
    last_error: str
    last_synced_at: datetime | None
    store_product_id: str
    variants: list[ListingVariantOut]

    @staticmethod
    def resolve_title(obj) -> str:
        return obj.title or obj.product.title


class ListingFilters(Schema):
    store: int | None = Field(None, ge=1, le=MAX_ID, description="Only this store's listings.")
    status: Literal["ACTIVE", "PAUSED", "UNLISTED", "SYNCED", "PENDING", "ERROR"] | None = Field(
        None, description="A listing status (ACTIVE, PAUSED, UNLISTED) or a sync status."
    )
    q: str = Field("", max_length=100, description="Part of the title.")


class PriceIn(Schema):
    id: int = Field(ge=1, le=MAX_ID, description="The listing variant's id.")
    retail_price: Decimal = Field(gt=0, le=MAX_PRICE, max_digits=9, decimal_places=2)


class ListingPatchIn(Schema):
    model_config = {
        "json_schema_extra": {"examples": [{"variants": [{"id": 901, "retail_price": "27.99"}]}]}
    }

    variants: Annotated[list[PriceIn], Field(min_length=1, max_length=100)]


def _listing(request: RetailerApiRequest, listing_id: int) -> Listing:
    listing = selectors.get_listing_for_retailer(retailer=request.retailer, listing_id=listing_id)
    return selectors.list_listings_for_retailer(retailer=request.retailer).get(pk=listing.pk)


@router.get(
    "/listings",
    response={200: list[ListingOut], 401: ErrorOut, 403: ErrorOut, 422: ErrorOut},
    operation_id="retailers_api_list_listings",
)
@paginate(CursorPagination, ordering=("-created_at", "-id"))
def list_listings(request: RetailerApiRequest, filters: Query[ListingFilters]):
    """Your listings, newest first, with each variant's price and ids in the store."""
    return selectors.list_listings_for_retailer(
        retailer=request.retailer,
        store_id=filters.store,
        status=filters.status or "",
        query=filters.q.strip(),
    )


@router.patch(
    "/listings/{listing_id}",
    response={200: ListingOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    operation_id="retailers_api_update_listing",
)
def update_listing(
    request: RetailerApiRequest,
    payload: ListingPatchIn,
    listing_id: int = Path(..., ge=1, le=MAX_ID),
):
    """Set retail prices of a listing's variants and send them to the store. A price below the
    variant's wholesale cost (a sale at a loss) is refused with 422; nothing is changed then."""
    listing = selectors.get_listing_for_retailer(retailer=request.retailer, listing_id=listing_id)
    prices = {row.id: row.retail_price for row in payload.variants}
    if len(prices) != len(payload.variants):
        raise services.ListingError("Each variant appears once.", field="variants")
    services.set_listing_prices(listing=listing, prices=prices, actor=api_actor(request))
    return _listing(request, listing_id)


@router.post(
    "/listings/{listing_id}/unlist",
    response={200: ListingOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    operation_id="retailers_api_unlist_listing",
)
def unlist_listing(request: RetailerApiRequest, listing_id: int = Path(..., ge=1, le=MAX_ID)):
    """Unpublish the product in the store; it advertises quantity 0 until imported again."""
    listing = selectors.get_listing_for_retailer(retailer=request.retailer, listing_id=listing_id)
    services.unlist_listing(listing=listing, actor=api_actor(request))
    return _listing(request, listing_id)


@router.post(
    "/listings/{listing_id}/resync",
    response={202: ListingOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    operation_id="retailers_api_resync_listing",
)
def resync_listing(request: RetailerApiRequest, listing_id: int = Path(..., ge=1, le=MAX_ID)):
    """Send the listing to its store again (in the background: 202, sync_status PENDING)."""
    listing = selectors.get_listing_for_retailer(retailer=request.retailer, listing_id=listing_id)
    services.resync_listing(listing=listing)
    return 202, _listing(request, listing_id)
