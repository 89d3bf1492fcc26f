"""The supplier's catalog pages: list with inline edits, product and variant forms, images,
stock history, and the bulk import pages."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from catalog import selectors, services
from catalog.forms import (
    BulkActionForm,
    CommitForm,
    ImageForm,
    ImportUploadForm,
    MappingForm,
    ProductFilterForm,
    ProductForm,
    VariantForm,
)
from catalog.imports.mapping import FIELDS
from catalog.imports.runner import MAX_STORED_ERRORS
from catalog.models import ImportJob, StockMovement, Variant
from catalog.services import VariantData
from dropship.accounts.access import SupplierRequest, supplier_required
from dropship.core.errors import DomainError
from dropship.core.spreadsheet_export import csv_response
from dropship.core.spreadsheets import DELIMITER_LABELS, ENCODING_LABELS

PAGE_SIZE = 25


def _form_error(form, exc: DomainError) -> None:
    field = "stock_on_hand" if exc.field == "quantity" else exc.field
    form.add_error(field if field in form.fields else None, exc.message)


@supplier_required
def product_list(request: SupplierRequest) -> HttpResponse:
    filters = ProductFilterForm(request.GET or None)
    criteria = filters.cleaned_data if filters.is_valid() else {}
    category = criteria.get("category")
    products = selectors.list_products_for_supplier(
        supplier=request.supplier,
        search=(criteria.get("q") or "").strip(),
        status=criteria.get("status") or "",
        category_id=category.pk if category else None,
        stock=criteria.get("stock") or "",
    )
    page = Paginator(products, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "catalog/product_list.html",
        {
            "page": page,
            "filters": filters,
            "bulk_form": BulkActionForm(),
            "query": query.urlencode(),
            "supplier": request.supplier,
        },
    )


@supplier_required
@require_POST
def product_bulk(request: SupplierRequest) -> HttpResponse:
    form = BulkActionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose an action and at least one product.")
        return redirect(request.POST.get("next") or "catalog:product_list")
    try:
        result = services.apply_bulk_action(
            supplier=request.supplier,
            actor=request.user,
            product_ids=form.cleaned_data["products"],
            action=form.cleaned_data["action"],
            category=form.cleaned_data["category"],
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request, f"{result.changed} product{'s' if result.changed != 1 else ''} changed."
        )
        if result.skipped:
            messages.warning(
                request,
                "Not activated because they have no variants yet: " + ", ".join(result.skipped),
            )
    return redirect(_safe_next(request) or reverse("catalog:product_list"))


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    return target if target.startswith("/supplier/catalog/") else ""


@supplier_required
def product_create(request: SupplierRequest) -> HttpResponse:
    form = ProductForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            product = services.create_product(
                supplier=request.supplier,
                actor=request.user,
                title=form.cleaned_data["title"],
                handle=form.cleaned_data["handle"],
                description=form.cleaned_data["description"],
                category=form.cleaned_data["category"],
                attributes=form.cleaned_data["attributes"],
                option_names=form.cleaned_data["option_names"],
            )
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, f"“{product.title}” created as a draft. Add its variants.")
            return redirect("catalog:variant_create", product_id=product.pk)
    return render(request, "catalog/product_form.html", {"form": form, "product": None})


@supplier_required
def product_edit(request: SupplierRequest, product_id: int) -> HttpResponse:
    product = selectors.get_product_for_supplier(supplier=request.supplier, product_id=product_id)
    form = ProductForm(
        request.POST or None, initial=ProductForm.initial_for(product), with_status=True
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.update_product(
                product=product,
                actor=request.user,
                title=form.cleaned_data["title"],
                handle=form.cleaned_data["handle"],
                description=form.cleaned_data["description"],
                category=form.cleaned_data["category"],
                status=form.cleaned_data["status"],
                attributes=form.cleaned_data["attributes"],
                option_names=form.cleaned_data["option_names"],
            )
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, "Product saved.")
            return redirect("catalog:product_edit", product_id=product.pk)
    return render(
        request,
        "catalog/product_form.html",
        {
            "form": form,
            "product": product,
            "variants": selectors.list_variants_of_product(product=product),
            "images": product.images.order_by("position", "id"),
            "image_form": ImageForm(),
        },
    )


def _variant_data(form: VariantForm) -> VariantData:
    return VariantData(
        sku=form.cleaned_data["sku"],
        options=form.options(),
        wholesale_price=form.cleaned_data["wholesale_price"],
        msrp=form.cleaned_data["msrp"],
        weight_grams=form.cleaned_data["weight_grams"],
        shipping_class=form.cleaned_data["shipping_class"],
        low_stock_threshold=form.cleaned_data["low_stock_threshold"],
    )


@supplier_required
def variant_create(request: SupplierRequest, product_id: int) -> HttpResponse:
    product = selectors.get_product_for_supplier(supplier=request.supplier, product_id=product_id)
    form = VariantForm(request.POST or None, option_names=product.option_names)
    if request.method == "POST" and form.is_valid():
        try:
            variant = services.create_variant(
                product=product,
                actor=request.user,
                data=_variant_data(form),
                stock_on_hand=form.cleaned_data["stock_on_hand"],
            )
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, f"Variant {variant.sku} added.")
            if "add_another" in request.POST:
                return redirect("catalog:variant_create", product_id=product.pk)
            return redirect("catalog:product_edit", product_id=product.pk)
    return render(
        request, "catalog/variant_form.html", {"form": form, "product": product, "variant": None}
    )


@supplier_required
def variant_edit(request: SupplierRequest, variant_id: int) -> HttpResponse:
    variant = selectors.get_variant_for_supplier(supplier=request.supplier, variant_id=variant_id)
    product = variant.product
    initial = {
        "sku": variant.sku,
        "wholesale_price": variant.wholesale_price,
        "msrp": variant.msrp,
        "weight_grams": variant.weight_grams,
        "shipping_class": variant.shipping_class,
        "low_stock_threshold": variant.low_stock_threshold,
        "stock_on_hand": variant.stock_on_hand,
        **{
            f"option_{i}": variant.options.get(name, "")
            for i, name in enumerate(product.option_names)
        },
    }
    form = VariantForm(request.POST or None, initial=initial, option_names=product.option_names)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_variant(
                variant=variant,
                actor=request.user,
                data=_variant_data(form),
                stock_on_hand=form.cleaned_data["stock_on_hand"],
            )
        except DomainError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, f"Variant {form.cleaned_data['sku']} saved.")
            return redirect("catalog:product_edit", product_id=product.pk)
    return render(
        request,
        "catalog/variant_form.html",
        {"form": form, "product": product, "variant": variant},
    )


def _inline_cell(request, variant: Variant, template: str, **extra) -> HttpResponse:
    if not request.htmx:  # a browser without JavaScript posted the cell's form
        if extra.get("error"):
            messages.error(request, f"{variant.sku}: {extra['error']}")
        else:
            messages.success(request, f"{variant.sku} saved.")
        return redirect(request.headers.get("Referer") or reverse("catalog:product_list"))
    return render(request, template, {"variant": variant, **extra})


@supplier_required
@require_POST
def variant_price(request: SupplierRequest, variant_id: int) -> HttpResponse:
    """Inline edit of the wholesale price on the list; answers with the re-rendered cell."""
    variant = selectors.get_variant_for_supplier(supplier=request.supplier, variant_id=variant_id)
    typed = request.POST.get("wholesale_price", "")
    try:
        services.update_variant_price(variant=variant, actor=request.user, wholesale_price=typed)
    except DomainError as exc:
        return _inline_cell(
            request, variant, "catalog/_variant_price_cell.html", error=exc.message, typed=typed
        )
    variant = selectors.get_variant_for_supplier(supplier=request.supplier, variant_id=variant_id)
    return _inline_cell(request, variant, "catalog/_variant_price_cell.html", saved=True)


@supplier_required
@require_POST
def variant_stock(request: SupplierRequest, variant_id: int) -> HttpResponse:
    """Inline edit of stock on hand on the list, through the stock service (source PAGE)."""
    variant = selectors.get_variant_for_supplier(supplier=request.supplier, variant_id=variant_id)
    typed = request.POST.get("stock_on_hand", "").strip()
    try:
        try:
            quantity = int(typed)
        except ValueError as exc:
            raise services.StockError("Enter a whole number of units.") from exc
        services.set_stock(
            variant=variant,
            quantity=quantity,
            source=StockMovement.Source.PAGE,
            actor=request.user,
            reference="Catalog list",
        )
    except DomainError as exc:
        return _inline_cell(
            request, variant, "catalog/_variant_stock_cell.html", error=exc.message, typed=typed
        )
    variant = selectors.get_variant_for_supplier(supplier=request.supplier, variant_id=variant_id)
    return _inline_cell(request, variant, "catalog/_variant_stock_cell.html", saved=True)


@supplier_required
def variant_history(request: SupplierRequest, variant_id: int) -> HttpResponse:
    variant = selectors.get_variant_for_supplier(supplier=request.supplier, variant_id=variant_id)
    movements = selectors.list_stock_movements(variant=variant)
    return render(
        request,
        "catalog/variant_history.html",
        {"variant": variant, "movements": movements, "chart": _stock_chart(movements)},
    )


def _stock_chart(movements: list[StockMovement]) -> dict | None:
    """Points of an SVG step chart of on-hand stock over the movements shown (oldest first)."""
    if len(movements) < 2:
        return None
    ordered = list(reversed(movements))
    values = [ordered[0].on_hand_before, *[m.on_hand_after for m in ordered]]
    width, height, pad = 600, 160, 8
    top = max(values) or 1
    step = (width - 2 * pad) / (len(values) - 1)
    points: list[str] = []
    for index, value in enumerate(values):
        x = pad + index * step
        y = height - pad - (value / top) * (height - 2 * pad)
        if points:
            points.append(f"{x:.1f},{points[-1].split(',')[1]}")
        points.append(f"{x:.1f},{y:.1f}")
    return {
        "points": " ".join(points),
        "width": width,
        "height": height,
        "max": top,
        "min": min(values),
        "first": values[0],
        "last": values[-1],
    }


@supplier_required
@require_POST
def image_upload(request: SupplierRequest, product_id: int) -> HttpResponse:
    product = selectors.get_product_for_supplier(supplier=request.supplier, product_id=product_id)
    form = ImageForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            services.add_product_image(
                product=product,
                actor=request.user,
                upload=form.cleaned_data["image"],
                alt_text=form.cleaned_data["alt_text"],
            )
        except DomainError as exc:
            messages.error(request, f"Image not added: {exc.message}")
        else:
            messages.success(request, "Image added.")
    else:
        messages.error(request, "Choose an image file to upload.")
    return redirect(reverse("catalog:product_edit", args=[product.pk]) + "#images")


@supplier_required
@require_POST
def image_delete(request: SupplierRequest, image_id: int) -> HttpResponse:
    image = selectors.get_image_for_supplier(supplier=request.supplier, image_id=image_id)
    product_id = image.product_id
    services.remove_product_image(image=image, actor=request.user)
    messages.success(request, "Image removed.")
    return redirect(reverse("catalog:product_edit", args=[product_id]) + "#images")


# --- Bulk import ---------------------------------------------------------------------------------


@supplier_required
def import_list(request: SupplierRequest) -> HttpResponse:
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = services.create_import_job(
                supplier=request.supplier, actor=request.user, upload=form.cleaned_data["file"]
            )
        except DomainError as exc:
            form.add_error("file", exc.message)
        else:
            return redirect("catalog:import_detail", job_id=job.pk)
    return render(
        request,
        "catalog/import_list.html",
        {
            "form": form,
            "jobs": selectors.list_import_jobs(supplier=request.supplier, limit=50),
            "fields": FIELDS,
        },
    )


def _import_context(request: HttpRequest, job: ImportJob, **extra) -> dict:
    errors = job.row_errors.all()
    error_page = Paginator(errors, 100).get_page(request.GET.get("errors_page"))
    return {
        "job": job,
        "error_page": error_page,
        "errors_truncated": error_page.paginator.count >= MAX_STORED_ERRORS,
        "encoding_label": ENCODING_LABELS.get(job.encoding, job.encoding),
        "delimiter_label": DELIMITER_LABELS.get(job.delimiter, job.delimiter),
        **extra,
    }


@supplier_required
def import_detail(request: SupplierRequest, job_id: int) -> HttpResponse:
    job = selectors.get_import_job_for_supplier(supplier=request.supplier, job_id=job_id)
    mapping_form = MappingForm(request.POST or None, job=job)
    commit_form = CommitForm()
    if request.method == "POST" and request.POST.get("step") == "mapping":
        if mapping_form.is_valid():
            try:
                services.start_import_validation(
                    job=job,
                    actor=request.user,
                    mapping=mapping_form.mapping(),
                    kind=mapping_form.cleaned_data["kind"],
                )
            except DomainError as exc:
                mapping_form.add_error(None, exc.message)
            else:
                return redirect("catalog:import_detail", job_id=job.pk)
    elif request.method == "POST" and request.POST.get("step") == "commit":
        commit_form = CommitForm(request.POST)
        if commit_form.is_valid():
            try:
                services.commit_import(
                    job=job, actor=request.user, mode=commit_form.cleaned_data["mode"]
                )
            except DomainError as exc:
                messages.error(request, exc.message)
            return redirect("catalog:import_detail", job_id=job.pk)
    return render(
        request,
        "catalog/import_detail.html",
        _import_context(request, job, mapping_form=mapping_form, commit_form=commit_form),
    )


@supplier_required
def import_progress(request: SupplierRequest, job_id: int) -> HttpResponse:
    """Polled by the job page while a pass runs; a finished pass reloads the page to show its result."""
    job = selectors.get_import_job_for_supplier(supplier=request.supplier, job_id=job_id)
    response = render(request, "catalog/_import_progress.html", {"job": job, "polling": True})
    if not job.is_running:
        response["HX-Refresh"] = "true"
    return response


@supplier_required
def import_template(request: SupplierRequest) -> HttpResponse:
    """A CSV with our column names and two example products, to start from."""
    return csv_response(
        filename="dropship-catalog-template.csv", rows=[TEMPLATE_HEADERS, *TEMPLATE_ROWS]
    )


TEMPLATE_HEADERS = [
    "Handle",
    "Title",
    "Description",
    "Category",
    "SKU",
    "Option1 Name",
    "Option1 Value",
    "Option2 Name",
    "Option2 Value",
    "Wholesale Price",
    "MSRP",
    "Weight (g)",
    "Shipping Class",
    "Stock",
    "Image URL",
    "Status",
]
TEMPLATE_ROWS = [
    [
        "canvas-tote",
        "Canvas tote bag",
        "Heavy cotton canvas, inside pocket.",
        "Bags",
        "TOTE-NAT-M",
        "Color",
        "Natural",
        "Size",
        "M",
        "6.40",
        "24.99",
        "320",
        "standard",
        "120",
        "https://images.example.com/tote-natural.jpg",
        "ACTIVE",
    ],
    [
        "canvas-tote",
        "",
        "",
        "",
        "TOTE-NAT-L",
        "",
        "Natural",
        "",
        "L",
        "6.90",
        "27.99",
        "360",
        "standard",
        "80",
        "",
        "",
    ],
    [
        "steel-bottle",
        "Insulated steel bottle 750 ml",
        "Keeps drinks cold for 24 h.",
        "Kitchen",
        "BOTTLE-750",
        "",
        "",
        "",
        "",
        "7.80",
        "29.99",
        "410",
        "standard",
        "200",
        "",
        "DRAFT",
    ],
]
