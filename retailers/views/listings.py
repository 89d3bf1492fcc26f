"""The retailer's "My products" (price, resync, unlist, remove) and the approval queue of listings
paused below their minimum margin."""

from functools import partial

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from dropship.accounts.access import RetailerRequest, retailer_required
from dropship.core.errors import DomainError
from retailers import selectors, services
from retailers.models import Listing


@require_GET
@retailer_required
def products(request: RetailerRequest) -> HttpResponse:
    retailer = request.retailer
    store_id = request.GET.get("store", "")
    status = request.GET.get("status", "")
    if status not in {"", *Listing.Status.values, *Listing.SyncStatus.values}:
        status = ""
    listings = selectors.list_listings_for_retailer(
        retailer=retailer, store_id=int(store_id) if store_id.isdigit() else None, status=status
    )
    page = Paginator(listings, 50).get_page(request.GET.get("page"))
    selectors.attach_true_margins(retailer=retailer, listings=page.object_list)
    return render(
        request,
        "retailers/product_list.html",
        {
            "page": page,
            "stores": selectors.list_stores_for_retailer(retailer=retailer),
            "store_id": store_id,
            "status": status,
            "statuses": [*Listing.SyncStatus.choices, *Listing.Status.choices],
        },
    )


@require_POST
@retailer_required
def listing_price(request: RetailerRequest, listing_variant_id: int) -> HttpResponse:
    """htmx inline edit of one variant's retail price (a normal POST falls back to a redirect)."""
    lv = selectors.get_listing_variant_for_retailer(
        retailer=request.retailer, listing_variant_id=listing_variant_id
    )
    error = ""
    try:
        price = services.parse_price(request.POST.get("price", ""), label=lv.variant.sku)
        if price is None:
            raise services.ListingError(f"{lv.variant.sku}: enter a price.")
        lv = services.set_listing_variant_price(listing_variant=lv, price=price, actor=request.user)
    except DomainError as exc:
        error = exc.message
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect("retailers:products")
    lv.refresh_from_db()
    # htmx swaps only 2xx answers: the refusal comes back as the cell with its error shown.
    return render(request, "retailers/_listing_price_cell.html", {"lv": lv, "error": error})


def _listing_action(request: RetailerRequest, listing_id: int, action, done: str, back: str):
    listing = selectors.get_listing_for_retailer(retailer=request.retailer, listing_id=listing_id)
    try:
        action(listing=listing)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done.format(title=listing.title or listing.product.title))
    return redirect(back)


@require_POST
@retailer_required
def listing_resync(request: RetailerRequest, listing_id: int) -> HttpResponse:
    return _listing_action(
        request,
        listing_id,
        services.resync_listing,
        "“{title}” is being sent again.",
        "retailers:products",
    )


@require_POST
@retailer_required
def listing_unlist(request: RetailerRequest, listing_id: int) -> HttpResponse:
    back = (
        "retailers:approvals" if request.POST.get("from") == "approvals" else "retailers:products"
    )
    return _listing_action(
        request,
        listing_id,
        partial(services.unlist_listing, actor=request.user),
        "“{title}” is unpublished in the store.",
        back,
    )


@require_POST
@retailer_required
def listing_remove(request: RetailerRequest, listing_id: int) -> HttpResponse:
    return _listing_action(
        request,
        listing_id,
        partial(services.remove_listing, actor=request.user),
        "“{title}” is removed.",
        "retailers:products",
    )


# --- approval queue ---------------------------------------------------------------------------
@require_GET
@retailer_required
def approvals(request: RetailerRequest) -> HttpResponse:
    return render(
        request,
        "retailers/approval_list.html",
        {"listings": selectors.list_paused_listings_for_retailer(retailer=request.retailer)},
    )


@require_POST
@retailer_required
def approval_accept(request: RetailerRequest, listing_id: int) -> HttpResponse:
    listing = selectors.get_listing_for_retailer(retailer=request.retailer, listing_id=listing_id)
    try:
        prices = {}
        for lv in listing.variants.select_related("variant"):
            prices[lv.pk] = services.parse_price(
                request.POST.get(f"price_{lv.pk}", ""), label=lv.variant.sku
            )
        services.accept_listing_prices(
            listing=listing,
            prices={k: v for k, v in prices.items() if v is not None},
            actor=request.user,
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, f"New price accepted; “{listing.title or listing.product.title}” sells again."
        )
    return redirect("retailers:approvals")
