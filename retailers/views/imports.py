"""The import list (catalog products picked for a store) and the push jobs that send them."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from dropship.accounts.access import RetailerRequest, retailer_required
from dropship.core.errors import DomainError
from retailers import selectors, services


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse(fallback)


@require_POST
@retailer_required
def import_list_add(request: RetailerRequest) -> HttpResponse:
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
def import_list(request: RetailerRequest) -> HttpResponse:
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
def import_list_item(request: RetailerRequest, item_id: int) -> HttpResponse:
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
def import_list_remove(request: RetailerRequest) -> HttpResponse:
    ids = [int(v) for v in request.POST.getlist("item_ids") if v.isdigit()]
    removed = services.remove_from_import_list(retailer=request.retailer, item_ids=ids)
    messages.success(request, f"{removed} product{'s' if removed != 1 else ''} removed.")
    return redirect("retailers:import_list")


@require_POST
@retailer_required
def import_list_push(request: RetailerRequest) -> HttpResponse:
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
def import_job(request: RetailerRequest, job_id: int) -> HttpResponse:
    job = selectors.get_import_job_for_retailer(retailer=request.retailer, job_id=job_id)
    return render(
        request,
        "retailers/import_job.html",
        {"job": job, "items": selectors.list_import_items_for_job(job=job)},
    )


@require_GET
@retailer_required
def import_job_progress(request: RetailerRequest, job_id: int) -> HttpResponse:
    job = selectors.get_import_job_for_retailer(retailer=request.retailer, job_id=job_id)
    response = render(request, "retailers/_import_job_progress.html", {"job": job})
    if not job.is_running and request.htmx:
        response["HX-Refresh"] = "true"  # show the per-product results
    return response


@require_POST
@retailer_required
def import_job_retry(request: RetailerRequest, job_id: int) -> HttpResponse:
    job = selectors.get_import_job_for_retailer(retailer=request.retailer, job_id=job_id)
    ids = [int(v) for v in request.POST.getlist("item_ids") if v.isdigit()] or None
    try:
        services.retry_store_import(job=job, item_ids=ids)
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect("retailers:import_job", job_id=job.pk)
