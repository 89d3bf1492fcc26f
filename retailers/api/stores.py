"""Retailer API: the retailer's stores (the Stores page's services behind another door).

GET  /api/v1/stores                      list (filters: platform, status; cursor)
GET  /api/v1/stores/{id}                 one store: platform, status, currency, counts, last sync
POST /api/v1/stores                      connect WooCommerce by keys, or create a custom store
POST /api/v1/stores/shopify-install      Shopify's install (OAuth authorize) URL for a shop
POST /api/v1/stores/{id}/disconnect      remove our webhooks, erase the credentials

Credentials are never shown. Retailer credentials only; another retailer's store answers 404.
Connecting and disconnecting need an owner when called from a member's session (as the page).
"""

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from ninja import Field, Path, Query, Router, Schema
from ninja.pagination import paginate

from dropship.accounts.models import User
from dropship.accounts.selectors import get_membership
from dropship.api import ErrorOut
from dropship.api_auth import RetailerApiRequest, api_actor, retailer_auth
from dropship.api_pagination import CursorPagination
from dropship.core.errors import DomainError, PermissionDenied
from orders.models import Order
from retailers import selectors, services
from retailers.models import Listing, Retailer, Store
from retailers.services.stores import PENDING_INSTALL_SECONDS

router = Router(auth=retailer_auth, tags=["retailer stores"])

MAX_ID = 2**31 - 1
STORE_EXAMPLE: dict[str, Any] = {
    "id": 14,
    "public_id": "6f1c1f0e-2d0b-4b8e-9a4e-3f8c2a1b9d10",
    "name": "Maple & Co",
    "platform": "WOOCOMMERCE",
    "domain": "https://maple.example",
    "status": "CONNECTED",
    "status_reason": "",
    "currency": "USD",
    "connected_at": "2026-12-01T10:00:00Z",
    "listing_count": 120,
    "order_count": 311,
    "last_synced_at": "2026-12-07T18:00:00Z",
    "last_order_at": "2026-12-07T17:42:10Z",
}


class StoreOut(Schema):
    model_config = {"json_schema_extra": {"examples": [STORE_EXAMPLE]}}

    id: int
    public_id: UUID = Field(description="Send it as `store` with `POST /api/v1/orders`.")
    name: str
    platform: str
    domain: str = Field(description="The shop's address; empty for a custom store.")
    status: str
    status_reason: str
    currency: str
    connected_at: datetime | None
    listing_count: int = Field(description="Listings not unlisted.")
    order_count: int
    last_synced_at: datetime | None = Field(description="When a listing was last sent to it.")
    last_order_at: datetime | None

    @staticmethod
    def resolve_domain(obj: Store) -> str:
        return "" if obj.platform == Store.Platform.CUSTOM else obj.domain


class StoreFilters(Schema):
    platform: Literal["SHOPIFY", "WOOCOMMERCE", "CUSTOM"] | None = None
    status: Literal["CONNECTED", "NEEDS_RECONNECT", "DISCONNECTED"] | None = None


class StoreIn(Schema):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "platform": "WOOCOMMERCE",
                    "site_url": "https://maple.example",
                    "consumer_key": "ck_2f1e…",
                    "consumer_secret": "cs_9a8b…",
                },
                {"platform": "CUSTOM", "name": "Phone orders", "currency": "USD"},
            ]
        }
    }

    platform: Literal["WOOCOMMERCE", "CUSTOM"] = Field(
        description="WOOCOMMERCE: connect by REST API keys (verified against the shop). CUSTOM: "
        "a store on any system that sends its orders to `POST /api/v1/orders`."
    )
    site_url: str = Field("", max_length=500, description="WOOCOMMERCE: the site's https:// URL.")
    consumer_key: str = Field("", max_length=100, description="WOOCOMMERCE: ck_…")
    consumer_secret: str = Field("", max_length=100, description="WOOCOMMERCE: cs_…")
    name: str = Field("", max_length=255, description="CUSTOM: the store's name.")
    currency: str = Field(
        "", max_length=3, description="CUSTOM: its prices' currency (default: yours)."
    )


class ShopifyInstallIn(Schema):
    model_config = {"json_schema_extra": {"examples": [{"shop": "maple-and-co.myshopify.com"}]}}

    shop: str = Field(max_length=255, description="The shop's myshopify.com domain.")


class ShopifyInstallOut(Schema):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "shop": "maple-and-co.myshopify.com",
                    "authorize_url": "https://maple-and-co.myshopify.com/admin/oauth/authorize?…",
                    "expires_in": 3600,
                }
            ]
        }
    }

    shop: str
    authorize_url: str = Field(
        description="Open it in the merchant's browser: after approving, they sign in to "
        "Dropship as your owner and the store is connected."
    )
    expires_in: int = Field(description="Seconds the URL's state stays valid.")


def _stores(retailer: Retailer) -> QuerySet[Store]:
    """The retailer's stores with their counts, one subquery each (joining listings and orders
    together would multiply the rows of a busy store)."""
    listings = Listing.objects.filter(store=OuterRef("pk"))
    orders = Order.objects.filter(store=OuterRef("pk"))
    return Store.objects.filter(retailer=retailer).annotate(
        listing_count=Coalesce(
            Subquery(
                listings.exclude(status=Listing.Status.UNLISTED)
                .values("store")
                .annotate(n=Count("pk"))
                .values("n")
            ),
            0,
        ),
        order_count=Coalesce(
            Subquery(orders.values("store").annotate(n=Count("pk")).values("n")), 0
        ),
        last_synced_at=Subquery(
            listings.filter(last_synced_at__isnull=False)
            .order_by("-last_synced_at")
            .values("last_synced_at")[:1]
        ),
        last_order_at=Subquery(orders.order_by("-created_at").values("created_at")[:1]),
    )


def _load(retailer: Retailer, store_id: int) -> Store:
    selectors.get_store_for_retailer(retailer=retailer, store_id=store_id)  # 404 for others
    return _stores(retailer).get(pk=store_id)


def _owner(request: RetailerApiRequest) -> User | None:
    """The acting member (None for an API key); a staff member's session may not connect or
    disconnect stores, as on the Stores page."""
    actor = api_actor(request)
    if actor is not None:
        membership = get_membership(user=actor)
        if membership is None or not membership.is_owner:
            raise PermissionDenied("Only an owner of your team can connect or disconnect stores.")
    return actor


def _required(value: str, field: str, label: str) -> str:
    if not value.strip():
        raise services.StoreConnectionError(f"Enter the {label}.", field=field)
    return value


@router.get(
    "/stores",
    response={200: list[StoreOut], 401: ErrorOut, 403: ErrorOut, 422: ErrorOut},
    operation_id="retailers_api_list_stores",
)
@paginate(CursorPagination, ordering=("name", "id"))
def list_stores(request: RetailerApiRequest, filters: Query[StoreFilters]):
    """Your stores (disconnected ones too), by name."""
    stores = _stores(request.retailer)
    if filters.platform:
        stores = stores.filter(platform=filters.platform)
    if filters.status:
        stores = stores.filter(status=filters.status)
    return stores


@router.post(
    "/stores/shopify-install",
    response={200: ShopifyInstallOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut},
    operation_id="retailers_api_shopify_install",
)
def shopify_install(request: RetailerApiRequest, payload: ShopifyInstallIn):
    """The URL that installs Dropship on a Shopify shop (Shopify's OAuth authorize page)."""
    _owner(request)
    try:
        url, shop = services.start_shopify_install_for_api(
            retailer=request.retailer, shop=payload.shop
        )
    except DomainError as exc:  # a malformed domain, or a shop another account holds
        raise services.StoreConnectionError(exc.message, field="shop") from exc
    return ShopifyInstallOut(shop=shop, authorize_url=url, expires_in=PENDING_INSTALL_SECONDS)


@router.get(
    "/stores/{store_id}",
    response={200: StoreOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    operation_id="retailers_api_get_store",
)
def get_store(request: RetailerApiRequest, store_id: int = Path(..., ge=1, le=MAX_ID)):
    """One store: platform, status, currency, listing and order counts, last sync."""
    return _load(request.retailer, store_id)


@router.post(
    "/stores",
    response={201: StoreOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut},
    operation_id="retailers_api_create_store",
)
def create_store(request: RetailerApiRequest, payload: StoreIn):
    """Connect a WooCommerce store by its REST API keys (proved with a real call, our webhooks
    registered) or create a custom store. Shopify stores connect through
    `POST /api/v1/stores/shopify-install`."""
    actor = _owner(request)
    if payload.platform == Store.Platform.WOOCOMMERCE:
        store = services.connect_woocommerce_store(
            retailer=request.retailer,
            site_url=_required(payload.site_url, "site_url", "site's address"),
            consumer_key=_required(payload.consumer_key, "consumer_key", "consumer key"),
            consumer_secret=_required(payload.consumer_secret, "consumer_secret", "secret"),
            actor=actor,
        )
    else:
        store = services.create_custom_store(
            retailer=request.retailer, name=payload.name, currency=payload.currency, actor=actor
        )
    return 201, _load(request.retailer, store.pk)


@router.post(
    "/stores/{store_id}/disconnect",
    response={200: StoreOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    operation_id="retailers_api_disconnect_store",
)
def disconnect_store(request: RetailerApiRequest, store_id: int = Path(..., ge=1, le=MAX_ID)):
    """Remove our webhooks from the store where it still lets us, then erase its credentials.
    Its orders and listings stay readable; disconnecting twice changes nothing."""
    actor = _owner(request)
    store = selectors.get_store_for_retailer(retailer=request.retailer, store_id=store_id)
    if store.status != Store.Status.DISCONNECTED:
        services.disconnect_store(store=store, actor=actor)
    return _load(request.retailer, store.pk)
