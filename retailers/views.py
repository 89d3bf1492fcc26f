from functools import partial

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from dropship.accounts.access import owner_required, retailer_required
from dropship.accounts.selectors import list_recent_notifications
from dropship.core.errors import DomainError
from retailers import selectors, services
from retailers.forms import (
    PricingRuleForm,
    ShopifyConnectForm,
    TierFormSet,
    WooCommerceConnectForm,
    rule_input,
    tier_initial,
)
from retailers.models import Listing
from retailers.sync.status import retailer_sync_summary

SHOPIFY_OAUTH_SESSION_KEY = "shopify_oauth"


@retailer_required
def dashboard(request: HttpRequest) -> HttpResponse:
    retailer = request.retailer
    return render(
        request,
        "retailers/dashboard.html",
        {
            "retailer": retailer,
            "stats": selectors.get_retailer_dashboard(retailer=retailer),
            "stores": selectors.list_stores_for_retailer(retailer=retailer),
            "recent_orders": selectors.list_recent_orders_for_retailer(retailer=retailer),
            "notifications": list_recent_notifications(organisation=retailer),
            "sync": retailer_sync_summary(retailer=retailer),
        },
    )


def _stores_page(request: HttpRequest, *, shopify_form=None, woo_form=None, status=200):
    retailer = request.retailer
    return render(
        request,
        "retailers/store_list.html",
        {
            "stores": selectors.list_stores_with_health_for_retailer(retailer=retailer),
            "shopify_form": shopify_form or ShopifyConnectForm(),
            "woo_form": woo_form or WooCommerceConnectForm(),
        },
        status=status,
    )


@require_GET
@retailer_required
def stores(request: HttpRequest) -> HttpResponse:
    return _stores_page(request)


@require_POST
@retailer_required
@owner_required
def connect_shopify(request: HttpRequest) -> HttpResponse:
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
def shopify_callback(request: HttpRequest) -> HttpResponse:
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
def connect_woocommerce(request: HttpRequest) -> HttpResponse:
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
def test_connection(request: HttpRequest, store_id: int) -> HttpResponse:
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
def disconnect(request: HttpRequest, store_id: int) -> HttpResponse:
    store = selectors.get_store_for_retailer(retailer=request.retailer, store_id=store_id)
    services.disconnect_store(store=store, actor=request.user)
    messages.success(request, f"{store.name} is disconnected and its credentials are erased.")
    return redirect("retailers:stores")


# --- pricing rules ----------------------------------------------------------------------------
def _rule_forms(request: HttpRequest, rule=None):
    retailer = request.retailer
    if request.method == "POST":
        form = PricingRuleForm(request.POST, retailer=retailer)
        tiers = TierFormSet(request.POST, prefix="tiers")
    else:
        form = PricingRuleForm(initial=PricingRuleForm.initial_for(rule), retailer=retailer)
        tiers = TierFormSet(initial=tier_initial(rule), prefix="tiers")
    return form, tiers


@require_GET
@retailer_required
def pricing_rules(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "retailers/pricing_rule_list.html",
        {"rules": selectors.list_pricing_rules_for_retailer(retailer=request.retailer)},
    )


@retailer_required
def pricing_rule_edit(request: HttpRequest, rule_id: int | None = None) -> HttpResponse:
    rule = (
        selectors.get_pricing_rule_for_retailer(retailer=request.retailer, rule_id=rule_id)
        if rule_id
        else None
    )
    form, tiers = _rule_forms(request, rule)
    status = 200
    if request.method == "POST":
        if form.is_valid() and tiers.is_valid():
            try:
                saved = services.save_pricing_rule(
                    retailer=request.retailer,
                    data=rule_input(form, tiers),
                    rule=rule,
                    actor=request.user,
                )
            except DomainError as exc:
                on_rule = exc.field in form.fields and not exc.message.startswith("Tier")
                form.add_error(exc.field if on_rule else None, exc.message)
            else:
                messages.success(request, f"Pricing rule “{saved.name}” saved.")
                return redirect("retailers:pricing_rules")
        status = 400
    return render(
        request,
        "retailers/pricing_rule_form.html",
        {"rule": rule, "form": form, "tiers": tiers},
        status=status,
    )


@require_POST
@retailer_required
def pricing_rule_preview(request: HttpRequest) -> HttpResponse:
    """htmx: the prices the rule being edited would give, before it is saved."""
    form, tiers = _rule_forms(request)
    rows, source, error = [], "", ""
    if not (form.is_valid() and tiers.is_valid()):
        error = "Correct the highlighted fields to see a preview."
        problems = [e for errors in form.errors.values() for e in errors]
        problems += [e for t in tiers.errors for errors in t.values() for e in errors]
        problems += list(tiers.non_form_errors())
        if problems:
            error = " ".join(str(p) for p in problems[:3])
    else:
        try:
            rows, source = services.preview_pricing_rule(
                retailer=request.retailer, data=rule_input(form, tiers)
            )
        except DomainError as exc:
            error = exc.message
    return render(
        request,
        "retailers/_pricing_preview.html",
        {"rows": rows, "source": source, "error": error, "currency": request.retailer.currency},
    )


@require_POST
@retailer_required
def pricing_rule_delete(request: HttpRequest, rule_id: int) -> HttpResponse:
    rule = selectors.get_pricing_rule_for_retailer(retailer=request.retailer, rule_id=rule_id)
    services.delete_pricing_rule(rule=rule, actor=request.user)
    messages.success(request, f"Pricing rule “{rule.name}” deleted.")
    return redirect("retailers:pricing_rules")


# --- import list ------------------------------------------------------------------------------
def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse(fallback)


@require_POST
@retailer_required
def import_list_add(request: HttpRequest) -> HttpResponse:
    """Add one or more catalog products (`product_ids`, repeated) to the import list."""
    back = _safe_next(request, "retailers:import_list")
    try:
        ids = services.parse_product_ids(request.POST.getlist("product_ids"))
        result = services.add_to_import_list(retailer=request.retailer, product_ids=ids)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    if result.added:
        messages.success(
            request,
            f"{result.added} product{'s' if result.added != 1 else ''} added to your import list.",
        )
    else:
        messages.info(request, "Already on your import list.")
    return redirect(back)


@require_GET
@retailer_required
def import_list(request: HttpRequest) -> HttpResponse:
    retailer = request.retailer
    return render(
        request,
        "retailers/import_list.html",
        {
            "rows": selectors.list_import_list_for_retailer(retailer=retailer),
            "stores": selectors.list_importable_stores_for_retailer(retailer=retailer),
            "jobs": selectors.list_import_jobs_for_retailer(retailer=retailer),
            "currency": retailer.currency,
        },
    )


@require_POST
@retailer_required
def import_list_item(request: HttpRequest, item_id: int) -> HttpResponse:
    """Save one product's edits (title, description, image order, prices)."""
    item = selectors.get_import_list_item_for_retailer(retailer=request.retailer, item_id=item_id)
    back = f"{reverse('retailers:import_list')}#item-{item.pk}"
    raw_order = request.POST.get("image_order", "").replace(" ", "").split(",")
    if not all(v.isdigit() for v in raw_order if v):
        messages.error(request, "The image order must be image numbers separated by commas.")
        return redirect(back)
    image_order = [int(v) for v in raw_order if v]
    variant_names = {f"price_{v.pk}": v for v in item.product.variants.all()}
    try:
        prices = {
            variant.pk: services.parse_price(
                request.POST.get(name, ""), label=f"Price of {variant.sku}"
            )
            for name, variant in variant_names.items()
        }
        services.update_import_list_item(
            item=item,
            title=request.POST.get("title", ""),
            description=request.POST.get("description", ""),
            image_order=image_order,
            variant_prices=prices,
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Saved your changes to “{item.product.title}”.")
    return redirect(back)


@require_POST
@retailer_required
def import_list_remove(request: HttpRequest) -> HttpResponse:
    ids = [int(v) for v in request.POST.getlist("item_ids") if v.isdigit()]
    removed = services.remove_from_import_list(retailer=request.retailer, item_ids=ids)
    messages.success(request, f"{removed} product{'s' if removed != 1 else ''} removed.")
    return redirect("retailers:import_list")


@require_POST
@retailer_required
def import_list_push(request: HttpRequest) -> HttpResponse:
    retailer = request.retailer
    store_ids = [int(v) for v in request.POST.getlist("store_ids") if v.isdigit()]
    item_ids = [int(v) for v in request.POST.getlist("item_ids") if v.isdigit()]
    stores = [
        selectors.get_store_for_retailer(retailer=retailer, store_id=store_id)
        for store_id in dict.fromkeys(store_ids)
    ]
    try:
        jobs = services.push_import_list(
            retailer=retailer, stores=stores, item_ids=item_ids, actor=request.user
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("retailers:import_list")
    if len(jobs) == 1:
        return redirect("retailers:import_job", job_id=jobs[0].pk)
    messages.success(request, f"Pushing to {len(jobs)} stores; progress is shown below.")
    return redirect("retailers:import_list")


@require_GET
@retailer_required
def import_job(request: HttpRequest, job_id: int) -> HttpResponse:
    job = selectors.get_import_job_for_retailer(retailer=request.retailer, job_id=job_id)
    return render(
        request,
        "retailers/import_job.html",
        {"job": job, "items": selectors.list_import_items_for_job(job=job)},
    )


@require_GET
@retailer_required
def import_job_progress(request: HttpRequest, job_id: int) -> HttpResponse:
    job = selectors.get_import_job_for_retailer(retailer=request.retailer, job_id=job_id)
    response = render(request, "retailers/_import_job_progress.html", {"job": job})
    if not job.is_running and request.htmx:
        response["HX-Refresh"] = "true"  # show the per-product results
    return response


@require_POST
@retailer_required
def import_job_retry(request: HttpRequest, job_id: int) -> HttpResponse:
    job = selectors.get_import_job_for_retailer(retailer=request.retailer, job_id=job_id)
    ids = [int(v) for v in request.POST.getlist("item_ids") if v.isdigit()] or None
    try:
        services.retry_store_import(job=job, item_ids=ids)
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("retailers:import_job", job_id=job.pk)


# --- my products ------------------------------------------------------------------------------
@require_GET
@retailer_required
def products(request: HttpRequest) -> HttpResponse:
    retailer = request.retailer
    store_id = request.GET.get("store", "")
    status = request.GET.get("status", "")
    if status not in {"", *Listing.Status.values, *Listing.SyncStatus.values}:
        status = ""
    listings = selectors.list_listings_for_retailer(
        retailer=retailer, store_id=int(store_id) if store_id.isdigit() else None, status=status
    )
    page = Paginator(listings, 50).get_page(request.GET.get("page"))
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
def listing_price(request: HttpRequest, listing_variant_id: int) -> HttpResponse:
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


def _listing_action(request: HttpRequest, listing_id: int, action, done: str, back: str):
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
def listing_resync(request: HttpRequest, listing_id: int) -> HttpResponse:
    return _listing_action(
        request,
        listing_id,
        services.resync_listing,
        "“{title}” is being sent again.",
        "retailers:products",
    )


@require_POST
@retailer_required
def listing_unlist(request: HttpRequest, listing_id: int) -> HttpResponse:
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
def listing_remove(request: HttpRequest, listing_id: int) -> HttpResponse:
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
def approvals(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "retailers/approval_list.html",
        {"listings": selectors.list_paused_listings_for_retailer(retailer=request.retailer)},
    )


@require_POST
@retailer_required
def approval_accept(request: HttpRequest, listing_id: int) -> HttpResponse:
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
