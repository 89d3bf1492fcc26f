"""The import list and pushing its products into stores (one Celery job per store).

add → edit (title, description, image order, per-variant prices) → push: `start_store_imports`
checks everything and creates one `StoreImportJob` per store, run by `run_store_import` in a task.
Each product becomes a `Listing` with `ListingVariant`s carrying the store's ids; a product already
listed in that store is updated in place. A product whose supplier was suspended meanwhile is that
product's error and leaves nothing behind.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import partial

from django.db import transaction
from django.db.models import F, Prefetch
from django.utils import timezone

from catalog.models import Product, Variant
from dropship.accounts.models import User
from dropship.core.errors import DomainError, NotFound
from dropship.core.exchange import NoExchangeRate, RateBook
from dropship.core.locks import exclusive_lock
from dropship.core.money import quantize
from integrations.base import StoreAuthError, StoreClient, StorePermanentError, chunked
from integrations.registry import get_store_client
from retailers.models import (
    ImportListItem,
    Listing,
    PricingRule,
    Retailer,
    Store,
    StoreImportItem,
    StoreImportJob,
)
from retailers.plan_limits import check_can_use_suppliers, check_writable
from retailers.services.quoting import PriceBook
from retailers.services.store_push import (
    PricedVariant,
    ProductPush,
    custom_product_id,
    custom_variant_id,
    product_data,
    record_push_error,
    record_pushed_product,
)
from retailers.services.stores import reconnect_on_auth_error
from retailers.sync import mark_listings_dirty
from suppliers.models import Supplier

logger = logging.getLogger(__name__)

MAX_PRODUCTS_PER_JOB = 5000
STORE_IMPORT_LOCK = 5_105  # exclusive_lock namespace: one store import at a time
PROGRESS_GROUP = 20


class ProductImportError(DomainError):
    pass


# --- availability ---------------------------------------------------------------------------
def unavailable_reason(product: Product) -> str:
    """Why a product on a retailer's import list cannot be pushed now ("" when it can).

    Only for products the retailer already saw in the catalog (on its import list or in a job):
    it names the product, never its supplier nor why it left the catalog (a draft, a supplier
    suspended or under review is the supplier's business)."""
    if product.supplier.status != Supplier.Status.ACTIVE or product.status != Product.Status.ACTIVE:
        return f"“{product.title}” is no longer available in the catalog."
    return ""


def _available_products(product_ids: list[int]) -> list[Product]:
    """The catalog products among `product_ids`; any other id is refused as missing.

    A product the retailer may not see (another supplier's draft, a discontinued product, a
    product of a supplier under review or suspended) answers exactly as an id that does not
    exist: ids are sequential, so anything more would let the unpublished catalog be walked."""
    ids = sorted(set(product_ids))
    if not ids:
        raise ProductImportError("Choose at least one product.", field="product_ids")
    if len(ids) > MAX_PRODUCTS_PER_JOB:
        raise ProductImportError(
            f"Import at most {MAX_PRODUCTS_PER_JOB} products at once.", field="product_ids"
        )
    products = list(
        Product.objects.filter(
            pk__in=ids, status=Product.Status.ACTIVE, supplier__status=Supplier.Status.ACTIVE
        ).select_related("supplier")
    )
    missing = sorted(set(ids) - {p.pk for p in products})
    if missing:
        raise NotFound(
            "These products do not exist: " + ", ".join(str(pk) for pk in missing[:20]) + ".",
            field="product_ids",
        )
    return products


def parse_product_ids(values: list[str]) -> list[int]:
    ids = []
    for value in values:
        try:
            ids.append(int(str(value).strip()))
        except ValueError as exc:
            raise ProductImportError(
                f"“{str(value)[:40]}” is not a product id.", field="product_ids"
            ) from exc
    return ids


# --- the import list ------------------------------------------------------------------------
@dataclass(frozen=True)
class AddResult:
    added: int
    already: int


@transaction.atomic
def add_to_import_list(*, retailer: Retailer, product_ids: list[int]) -> AddResult:
    """Add catalog products; all or nothing: an unavailable product refuses the whole request."""
    products = _available_products(product_ids)
    present = set(
        ImportListItem.objects.filter(retailer=retailer, product__in=products).values_list(
            "product_id", flat=True
        )
    )
    ImportListItem.objects.bulk_create(
        [ImportListItem(retailer=retailer, product=p) for p in products if p.pk not in present],
        ignore_conflicts=True,
    )
    return AddResult(added=len(products) - len(present), already=len(present))


def parse_price(value: str, *, label: str) -> Decimal | None:
    text = (value or "").strip().replace("$", "").replace(",", "")
    if not text:
        return None
    try:
        price = Decimal(text)
    except InvalidOperation as exc:
        raise ProductImportError(f"{label}: “{value[:20]}” is not a price.") from exc
    if not price.is_finite() or price <= 0 or price >= Decimal("10000000"):
        raise ProductImportError(f"{label}: enter a price above 0.")
    return quantize(price)


@transaction.atomic
def update_import_list_item(
    *,
    item: ImportListItem,
    title: str,
    description: str,
    image_order: list[int],
    variant_prices: dict[int, Decimal | None],
) -> ImportListItem:
    """Save the retailer's edits. A price below the variant's wholesale cost is refused."""
    product = item.product
    variants = {v.pk: v for v in Variant.objects.filter(product=product)}
    rates = RateBook()  # typed prices are in the retailer's currency, like the list shows them
    prices: dict[str, str] = {}
    for variant_id, price in variant_prices.items():
        variant = variants.get(variant_id)
        if variant is None:
            raise NotFound("That variant is not part of this product.")
        if price is None:
            continue
        cost = rates.convert(
            variant.wholesale_price, base=variant.currency, quote=item.retailer.currency
        )
        if price < cost:
            raise ProductImportError(
                f"{variant.sku}: {price} is below its wholesale cost {cost} "
                f"{item.retailer.currency}; you would sell at a loss.",
                field=f"price_{variant_id}",
            )
        prices[str(variant_id)] = str(price)
    image_ids = set(product.images.values_list("id", flat=True))
    order = [i for i in dict.fromkeys(image_order) if i in image_ids]
    item.title = title.strip()[:255] if title.strip() != product.title else ""
    item.description = description if description.strip() != product.description.strip() else ""
    item.image_order = order
    item.variant_prices = prices
    item.save(update_fields=["title", "description", "image_order", "variant_prices", "updated_at"])
    return item


def remove_from_import_list(*, retailer: Retailer, item_ids: list[int]) -> int:
    deleted, _ = ImportListItem.objects.filter(retailer=retailer, pk__in=item_ids).delete()
    return deleted


# --- starting jobs --------------------------------------------------------------------------
def check_store_can_import(*, retailer: Retailer, store: Store) -> None:
    if store.retailer_id != retailer.pk:
        raise NotFound("That store does not exist.", field="store_id")
    if store.status == Store.Status.NEEDS_RECONNECT:
        raise ProductImportError(
            f"{store.name} refused our access and needs reconnecting before products can be "
            "imported into it.",
            field="store_id",
        )
    if store.status != Store.Status.CONNECTED:
        raise ProductImportError(
            f"{store.name} is {store.get_status_display().lower()}; connect it before importing.",
            field="store_id",
        )


def check_store_currencies(*, stores: list[Store], products: list[Product]) -> None:
    """Every product priced in another currency than a store's has today's rate into it, or
    the import is refused naming the store, the currencies and the products (one query)."""
    priced_in: dict[str, list[str]] = defaultdict(list)
    for currency, title in (
        Variant.objects.filter(product__in=products)
        .values_list("currency", "product__title")
        .distinct()
        .order_by("product__title")
    ):
        priced_in[currency].append(title)
    rates = RateBook()
    for store in dict.fromkeys(stores):
        for currency, titles in sorted(priced_in.items()):
            try:
                rates.rate(base=currency, quote=store.currency)
            except NoExchangeRate as exc:
                if currency == store.currency:  # pragma: no cover - same currency has a rate
                    raise
                names = ", ".join(f"“{title}”" for title in dict.fromkeys(titles))
                raise ProductImportError(
                    f"{store.name} sells in {store.currency} and {names} "
                    f"{'is' if len(titles) == 1 else 'are'} priced in {currency}; we have no "
                    f"{currency}→{store.currency} exchange rate for today, so we cannot price "
                    "them for this store. Try again once support has added the rate, or import "
                    f"into a {currency} store.",
                    field="store_ids",
                ) from exc


@transaction.atomic
def start_store_imports(
    *,
    retailer: Retailer,
    stores: list[Store],
    product_ids: list[int],
    pricing_rule: PricingRule | None = None,
    edits: dict[int, ImportListItem] | None = None,
    actor: User | None = None,
) -> list[StoreImportJob]:
    """Check every store and product first, then create one job per store (nothing if any
    check fails) and run them after the commit."""
    from retailers.tasks import run_store_import_task  # local: tasks.py imports the services

    check_writable(retailer=retailer)
    if not stores:
        raise ProductImportError("Choose at least one store to import into.", field="store_ids")
    for store in stores:
        check_store_can_import(retailer=retailer, store=store)
    if pricing_rule is not None and pricing_rule.retailer_id != retailer.pk:
        raise NotFound("That pricing rule does not exist.", field="pricing_rule_id")
    products = _available_products(product_ids)
    check_can_use_suppliers(retailer=retailer, supplier_ids={p.supplier_id for p in products})
    check_store_currencies(stores=stores, products=products)
    edits = edits or {}
    jobs = []
    for store in dict.fromkeys(stores):
        job = StoreImportJob.objects.create(
            retailer=retailer,
            store=store,
            pricing_rule=pricing_rule,
            total_count=len(products),
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        StoreImportItem.objects.bulk_create(
            StoreImportItem(
                job=job,
                product=product,
                title=getattr(edits.get(product.pk), "title", ""),
                description=getattr(edits.get(product.pk), "description", ""),
                image_order=getattr(edits.get(product.pk), "image_order", []),
                variant_prices=getattr(edits.get(product.pk), "variant_prices", {}),
            )
            for product in products
        )
        transaction.on_commit(partial(run_store_import_task.delay, job.pk))
        jobs.append(job)
    return jobs


def push_import_list(
    *, retailer: Retailer, stores: list[Store], item_ids: list[int], actor: User | None = None
) -> list[StoreImportJob]:
    """Push the chosen import list items, with their edits, into the chosen stores."""
    items = list(
        ImportListItem.objects.filter(retailer=retailer, pk__in=item_ids).select_related("product")
    )
    if not items:
        raise ProductImportError("Choose at least one product to push.", field="item_ids")
    return start_store_imports(
        retailer=retailer,
        stores=stores,
        product_ids=[item.product_id for item in items],
        edits={item.product_id: item for item in items},
        actor=actor,
    )


@transaction.atomic
def retry_store_import(*, job: StoreImportJob, item_ids: list[int] | None = None) -> StoreImportJob:
    """Put the failed products of a finished job back in the queue and run the job again."""
    from retailers.tasks import run_store_import_task  # local: tasks.py imports the services

    job = (
        StoreImportJob.objects.select_for_update(of=("self",))
        .select_related("store", "retailer")
        .get(pk=job.pk)
    )
    check_store_can_import(retailer=job.retailer, store=job.store)
    if job.is_running:
        raise ProductImportError("This import is still running.")
    failed = job.items.filter(status=StoreImportItem.Status.ERROR)
    if item_ids is not None:
        failed = failed.filter(pk__in=item_ids)
    count = failed.update(status=StoreImportItem.Status.PENDING, error="")
    if not count:
        raise ProductImportError("There is nothing to retry in this import.")
    job.status = StoreImportJob.Status.QUEUED
    job.failed_count = max(0, job.failed_count - count)
    job.error = ""
    job.finished_at = None
    job.save(update_fields=["status", "failed_count", "error", "finished_at", "updated_at"])
    transaction.on_commit(partial(run_store_import_task.delay, job.pk))
    return job


# --- running a job --------------------------------------------------------------------------
def _claim(job_id: int) -> StoreImportJob | None:
    """QUEUED or RUNNING (a crashed run) → RUNNING; a finished job is left alone."""
    with transaction.atomic():
        job = (
            StoreImportJob.objects.select_for_update(of=("self",))
            .select_related("store__retailer", "pricing_rule")
            .filter(pk=job_id)
            .first()
        )
        if job is None or not job.is_running:
            return None
        job.status = StoreImportJob.Status.RUNNING
        job.started_at = job.started_at or timezone.now()
        job.save(update_fields=["status", "started_at", "updated_at"])
        return job


def _finish(job: StoreImportJob, *, error: str = "") -> None:
    if error:
        job.items.filter(status=StoreImportItem.Status.PENDING).update(
            status=StoreImportItem.Status.ERROR, error=error[:2000]
        )
    failed = job.items.filter(status=StoreImportItem.Status.ERROR).count()
    succeeded = job.items.filter(status=StoreImportItem.Status.SYNCED).count()
    StoreImportJob.objects.filter(pk=job.pk).update(
        status=StoreImportJob.Status.FAILED if error else StoreImportJob.Status.COMPLETED,
        error=error[:2000],
        failed_count=failed,
        succeeded_count=succeeded,
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )


def fail_store_import(*, job_id: int, error: str) -> None:
    job = StoreImportJob.objects.filter(pk=job_id).first()
    if job is not None and job.is_running:
        _finish(job, error=error)


def _load_products(product_ids: list[int]) -> dict[int, Product]:
    return {
        p.pk: p
        for p in Product.objects.filter(pk__in=product_ids)
        .select_related("supplier", "category")
        .prefetch_related(
            Prefetch(
                "variants",
                queryset=Variant.objects.select_related("supplier").order_by("position", "id"),
            ),
            "images",
        )
    }


def _existing_listings(*, store: Store, product_ids: list[int]) -> dict[int, Listing]:
    return {
        listing.product_id: listing
        for listing in Listing.objects.filter(store=store, product_id__in=product_ids)
        .select_related("store")
        .prefetch_related("variants")
    }


def build_push(
    *,
    store: Store,
    book: PriceBook,
    product: Product,
    listing: Listing | None,
    reference: str,
    title: str = "",
    description: str = "",
    image_order: list[int] | None = None,
    price_overrides: dict[str, str] | None = None,
    keep_listing_prices: bool = False,
) -> ProductPush:
    """Prices: the retailer's typed price, else (re-import) the rule's price; `keep_listing_prices`
    (resync, price edit, re-pricing) keeps what the listing variants hold."""
    overrides = price_overrides or {}
    rule_row = book.rule_row(category_id=product.category_id, store=store)
    rule = book.rule_for(category_id=product.category_id, store=store)
    held = {lv.variant_id: lv for lv in listing.variants.all()} if listing is not None else {}
    is_custom = store.platform == Store.Platform.CUSTOM
    variants = []
    for variant in product.variants.all():
        lv = held.get(variant.pk)
        if keep_listing_prices and lv is not None:
            price, compare_at = lv.retail_price, lv.compare_at_price
        elif str(variant.pk) in overrides:
            price = Decimal(overrides[str(variant.pk)])
            msrp = (
                book.in_currency(variant.msrp, variant=variant, currency=store.currency)
                if rule.compare_at_from_msrp and variant.msrp is not None
                else None
            )
            compare_at = msrp if msrp is not None and msrp > price else None
        else:
            quote = book.quote(
                variant=variant, category_id=product.category_id, store=store, rule=rule
            )
            price, compare_at = quote.price, quote.compare_at
        variants.append(
            PricedVariant(
                variant=variant,
                price=price,
                compare_at=compare_at,
                store_variant_id=(lv.store_variant_id if lv else "")
                or (custom_variant_id(variant) if is_custom else ""),
                inventory_item_id=lv.inventory_item_id if lv else "",
            )
        )
    return ProductPush(
        reference=reference,
        product=product,
        title=title or (listing.title if listing else ""),
        description=description or (listing.description if listing else ""),
        image_order=list(image_order or (listing.image_order if listing else [])),
        variants=variants,
        listing=listing,
        pricing_rule=rule_row,
        is_sellable=listing is None or listing.status != Listing.Status.PAUSED,
        images=list(product.images.all()),
        store_product_id=(listing.store_product_id if listing else "")
        or (custom_product_id(product) if is_custom else ""),
    )


def run_store_import(*, job_id: int) -> None:
    """Push the job's pending products in batches of the store API's size. Safe to run twice:
    finished products are skipped. A temporary store failure propagates for the task to retry."""
    store_id = StoreImportJob.objects.filter(pk=job_id).values_list("store_id", flat=True).first()
    if store_id is None:
        return
    # One import at a time per store: two jobs pushing the same product never both create it
    # in the store; the second finds the listing and updates it.
    with exclusive_lock(namespace=STORE_IMPORT_LOCK, key=store_id):
        _run_store_import(job_id=job_id)


def _run_store_import(*, job_id: int) -> None:
    job = _claim(job_id)
    if job is None:
        return
    store = job.store
    try:
        check_store_can_import(retailer=job.retailer, store=store)
    except DomainError as exc:
        _finish(job, error=exc.message)
        return
    client = get_store_client(store=store)
    book = PriceBook(retailer=job.retailer, forced_rule=job.pricing_rule)
    calls_before = getattr(client, "calls", 0)
    pending = list(job.items.filter(status=StoreImportItem.Status.PENDING).order_by("id"))
    try:
        # Load and record in groups even where the store takes one product per call (Shopify):
        # a handful of queries per group instead of per product; progress moves per group.
        with reconnect_on_auth_error(store=store):
            for batch in chunked(pending, max(client.product_batch_size, PROGRESS_GROUP)):
                _push_batch(job=job, store=store, client=client, book=book, items=batch)
    except StoreAuthError as exc:
        _finish(job, error=f"{store.name} refused our access: {exc}. Reconnect it and retry.")
        return
    finally:
        StoreImportJob.objects.filter(pk=job.pk).update(
            api_calls=F("api_calls") + (getattr(client, "calls", 0) - calls_before)
        )
    _finish(job)


def _unpushable_reason(product: Product | None) -> str:
    if product is None:
        return "This product was removed from the catalog."
    if reason := unavailable_reason(product):
        return reason
    if not product.variants.all():
        return f"“{product.title}” has no variants to sell."
    return ""


def _push_batch(
    *,
    job: StoreImportJob,
    store: Store,
    client: StoreClient,
    book: PriceBook,
    items: list[StoreImportItem],
) -> None:
    products = _load_products([item.product_id for item in items])
    listings = _existing_listings(store=store, product_ids=list(products))
    book.load_shipping(v for p in products.values() for v in p.variants.all())
    pushes: dict[str, tuple[StoreImportItem, ProductPush]] = {}
    for item in items:
        product = products.get(item.product_id)
        reason = _unpushable_reason(product)
        if product is None or reason:
            _item_failed(job=job, item=item, error=reason, listing=None)
            continue
        try:
            push = build_push(
                store=store,
                book=book,
                product=product,
                listing=listings.get(product.pk),
                reference=str(item.pk),
                title=item.title,
                description=item.description,
                image_order=item.image_order,
                price_overrides=item.variant_prices,
            )
        except NoExchangeRate as exc:  # the rate ran out between the start and this run
            _item_failed(job=job, item=item, error=exc.message, listing=listings.get(product.pk))
            continue
        pushes[push.reference] = (item, push)
    if not pushes:
        return
    vendor = store.retailer.display_brand
    try:
        results = client.upsert_products(
            products=[product_data(push, vendor=vendor) for _, push in pushes.values()]
        )
    except StorePermanentError as exc:
        if isinstance(exc, StoreAuthError):
            raise
        for item, push in pushes.values():
            _item_failed(job=job, item=item, error=str(exc), listing=push.listing)
        return
    answered = {result.reference: result for result in results}
    synced: list[StoreImportItem] = []
    with transaction.atomic():
        for reference, (item, push) in pushes.items():
            result = answered.get(reference)
            if result is None or not result.is_ok or not result.store_product_id:
                error = result.error if result is not None else "The store did not answer for it."
                _item_failed(job=job, item=item, error=error or "Refused.", listing=push.listing)
                continue
            item.listing = record_pushed_product(
                store=store, push=push, result=result, mark_dirty=False
            )
            item.status, item.error = StoreImportItem.Status.SYNCED, ""
            synced.append(item)
        if synced:
            StoreImportItem.objects.bulk_update(synced, ["status", "error", "listing"])
            StoreImportJob.objects.filter(pk=job.pk).update(
                succeeded_count=F("succeeded_count") + len(synced), updated_at=timezone.now()
            )
            ImportListItem.objects.filter(
                retailer=job.retailer, product_id__in=[item.product_id for item in synced]
            ).delete()
            mark_listings_dirty(
                listing_ids=[item.listing_id for item in synced if item.listing_id is not None]
            )


def _item_failed(
    *, job: StoreImportJob, item: StoreImportItem, error: str, listing: Listing | None
) -> None:
    with transaction.atomic():
        StoreImportItem.objects.filter(pk=item.pk).update(
            status=StoreImportItem.Status.ERROR, error=error[:2000]
        )
        StoreImportJob.objects.filter(pk=job.pk).update(
            failed_count=F("failed_count") + 1, updated_at=timezone.now()
        )
        record_push_error(listing=listing, error=error)
