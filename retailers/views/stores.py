"""Connecting, testing and disconnecting the retailer's Shopify and WooCommerce stores."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from dropship.accounts.access import RetailerRequest, owner_required, retailer_required
from dropship.core.errors import DomainError
from retailers import selectors, services
from retailers.forms import CustomStoreForm, ShopifyConnectForm, WooCommerceConnectForm

SHOPIFY_OAUTH_SESSION_KEY = "shopify_oauth"


def _stores_page(
    request: RetailerRequest, *, shopify_form=None, woo_form=None, custom_form=None, status=200
):
    retailer = request.retailer
    return render(
        request,
        "retailers/store_list.html",
        {
            "stores": selectors.list_stores_with_health_for_retailer(retailer=retailer),
            "shopify_form": shopify_form or ShopifyConnectForm(),
            "woo_form": woo_form or WooCommerceConnectForm(),
            "custom_form": custom_form or CustomStoreForm(initial={"currency": retailer.currency}),
        },
        status=status,
    )


@require_GET
@retailer_required
def stores(request: RetailerRequest) -> HttpResponse:
    return _stores_page(request)


@require_POST
@retailer_required
@owner_required
def connect_shopify(request: RetailerRequest) -> HttpResponse:
    form = ShopifyConnectForm(request.POST)
    if not form.is_valid():
        return _stores_page(request, shopify_form=form, status=400)
    try:
        url, state, shop = services.start_shopify_connection(
            retailer=request.retailer, shop=form.cleaned_data["shop"]
        )
    except DomainError as exc:
        form.add_error("shop", exc.message)
        return _stores_page(request, shopify_form=form, status=400)
    request.session[SHOPIFY_OAUTH_SESSION_KEY] = {
        "state": state,
        "shop": shop,
        "retailer_id": request.retailer.pk,
    }
    return redirect(url)


@require_GET
@retailer_required
def shopify_callback(request: RetailerRequest) -> HttpResponse:
    pending = request.session.pop(SHOPIFY_OAUTH_SESSION_KEY, None) or {}
    if pending.get("retailer_id") != request.retailer.pk:
        pending = {}
    try:
        store = services.complete_shopify_connection(
            retailer=request.retailer,
            params=request.GET.dict(),
            expected_state=pending.get("state", ""),
            expected_shop=pending.get("shop", ""),
            actor=request.user,
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("retailers:stores")
    messages.success(request, f"{store.name} is connected. Orders will arrive automatically.")
    return redirect("retailers:stores")


@retailer_required
@owner_required
def connect_woocommerce(request: RetailerRequest) -> HttpResponse:
    if request.method != "POST":
        return redirect("retailers:stores")
    form = WooCommerceConnectForm(request.POST)
    if form.is_valid():
        try:
            store = services.connect_woocommerce_store(
                retailer=request.retailer, actor=request.user, **form.cleaned_data
            )
        except DomainError as exc:
            field = exc.field if exc.field in form.fields else None
            form.add_error(field, exc.message)
        else:
            messages.success(
                request, f"{store.name} is connected. Orders will arrive automatically."
            )
            return redirect("retailers:stores")
    return _stores_page(request, woo_form=form, status=400)


@require_POST
@retailer_required
@owner_required
def create_custom_store(request: RetailerRequest) -> HttpResponse:
    form = CustomStoreForm(request.POST)
    if form.is_valid():
        try:
            store = services.create_custom_store(
                retailer=request.retailer, actor=request.user, **form.cleaned_data
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(
                request,
                f"{store.name} is ready. List products into it from your import list; it takes "
                f"orders at POST /api/v1/orders (store id {store.public_id}) or on the manual "
                "order page.",
            )
            return redirect("retailers:stores")
    return _stores_page(request, custom_form=form, status=400)


@require_POST
@retailer_required
def test_connection(request: RetailerRequest, store_id: int) -> HttpResponse:
    store = selectors.get_store_for_retailer(retailer=request.retailer, store_id=store_id)
    try:
        info = services.check_store_connection(store=store)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{store.name} answered: {info.name}, prices in {info.currency}.")
    return redirect("retailers:stores")


@require_POST
@retailer_required
@owner_required
def disconnect(request: RetailerRequest, store_id: int) -> HttpResponse:
    store = selectors.get_store_for_retailer(retailer=request.retailer, store_id=store_id)
    services.disconnect_store(store=store, actor=request.user)
    messages.success(request, f"{store.name} is disconnected and its credentials are erased.")
    return redirect("retailers:stores")


OUT_OF_STOCK_CHOICES = {"": None, "unpublish": True, "keep": False}


@require_POST
@retailer_required
@owner_required
def out_of_stock(request: RetailerRequest, store_id: int) -> HttpResponse:
    store = selectors.get_store_for_retailer(retailer=request.retailer, store_id=store_id)
    choice = request.POST.get("unpublish_when_out_of_stock", "")
    if choice not in OUT_OF_STOCK_CHOICES:
        messages.error(request, "Choose unpublish, keep published or your default.")
        return redirect("retailers:stores")
    services.set_store_out_of_stock_behaviour(
        store=store, unpublish_when_out_of_stock=OUT_OF_STOCK_CHOICES[choice], actor=request.user
    )
    messages.success(request, f"{store.name}: out-of-stock behaviour saved.")
    return redirect("retailers:stores")


@require_POST
@retailer_required
@owner_required
def manual_payments(request: RetailerRequest, store_id: int) -> HttpResponse:
    store = selectors.get_store_for_retailer(retailer=request.retailer, store_id=store_id)
    enabled = request.POST.get("routes_manual_payment_orders") == "on"
    services.set_manual_payment_routing(
        store=store, routes_manual_payment_orders=enabled, actor=request.user
    )
    messages.success(
        request,
        f"{store.name}: cash-on-delivery and manual-payment orders are "
        + ("sent to suppliers when placed." if enabled else "held until they are paid."),
    )
    return redirect("retailers:stores")
