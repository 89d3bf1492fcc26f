"""Pushing products into the Shopify and WooCommerce sandboxes: listings with the store's ids,
re-imports update in place, and every refusal leaves nothing behind."""

from decimal import Decimal

import pytest
from django.db import transaction

from catalog.models import Product
from dropship.core.errors import DomainError, NotFound
from retailers.models import (
    ImportListItem,
    Listing,
    ListingVariant,
    PricingRule,
    Store,
    StoreImportItem,
    StoreImportJob,
)
from retailers.services import (
    add_to_import_list,
    push_import_list,
    retry_store_import,
    start_store_imports,
    update_import_list_item,
)
from suppliers.models import Supplier
from tests.factories import (
    ProductFactory,
    RetailerFactory,
    StoreFactory,
    SupplierFactory,
    VariantFactory,
)

# A README flow: `make test` runs it on SQLite as well.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.embedded]


def _shirt(supplier=None):
    product = ProductFactory(
        supplier=supplier or SupplierFactory(),
        title="Linen shirt",
        option_names=["Size"],
        description="<p>Soft linen.</p>",
    )
    VariantFactory(
        product=product,
        sku="SHIRT-S",
        options={"Size": "S"},
        wholesale_price=Decimal("10.00"),
        msrp=Decimal("39.00"),
        stock_on_hand=50,
    )
    VariantFactory(
        product=product,
        sku="SHIRT-M",
        options={"Size": "M"},
        wholesale_price=Decimal("12.40"),
        msrp=None,
        stock_on_hand=10,
    )
    return product


def _mug():
    product = ProductFactory(title="Stoneware mug")
    VariantFactory(
        product=product, sku="MUG-1", wholesale_price=Decimal("4.00"), msrp=None, stock_on_hand=20
    )
    return product


def _rule(retailer, **extra):
    values = {
        "name": "Default",
        "method": "MULTIPLIER",
        "value": Decimal("2.5"),
        "rounding": "END_99",
    }
    values.update(extra)
    return PricingRule.objects.create(retailer=retailer, **values)


def test_import_into_shopify_creates_the_product_with_rule_prices_and_stores_the_ids(
    shopify_sandbox,
):
    retailer = RetailerFactory()
    _rule(retailer)
    store = shopify_sandbox.connect_store(retailer=retailer)
    shirt = _shirt()

    (job,) = start_store_imports(retailer=retailer, stores=[store], product_ids=[shirt.pk])

    job.refresh_from_db()
    assert (job.status, job.succeeded_count, job.failed_count) == ("COMPLETED", 1, 0)
    listing = Listing.objects.get(store=store, product=shirt)
    assert listing.sync_status == Listing.SyncStatus.SYNCED
    assert listing.store_product_id.startswith("gid://shopify/Product/")
    shop = shopify_sandbox.app.shop(store.domain)
    product = shop.products[listing.store_product_id]
    assert product["title"] == "Linen shirt"
    rows = {lv.variant.sku: lv for lv in listing.variants.select_related("variant")}
    # 10.00 × 2.5 = 25.00 → 25.99; 12.40 × 2.5 = 31.00 → 31.99; compare-at from MSRP when above
    assert rows["SHIRT-S"].retail_price == Decimal("25.99")
    assert rows["SHIRT-S"].compare_at_price == Decimal("39.00")
    assert rows["SHIRT-M"].retail_price == Decimal("31.99")
    assert rows["SHIRT-M"].compare_at_price is None
    for sku, lv in rows.items():
        store_variant = shop.variants[lv.store_variant_id]
        assert store_variant["sku"] == sku
        assert Decimal(str(store_variant["price"])) == lv.retail_price
        assert lv.inventory_item_id == store_variant["inventory_item_id"]
        assert lv.is_inventory_dirty
    # advertised = floor(available × 90 %)
    assert shop.quantity_for_sku("SHIRT-S") == 45
    assert shop.quantity_for_sku("SHIRT-M") == 9


def test_import_into_woocommerce_creates_variable_and_simple_products(woo_sandbox):
    retailer = RetailerFactory()
    _rule(retailer, method="PERCENT", value=Decimal("100"), rounding="WHOLE")
    store = woo_sandbox.connect_store(retailer=retailer)
    shirt, mug = _shirt(), _mug()

    (job,) = start_store_imports(retailer=retailer, stores=[store], product_ids=[shirt.pk, mug.pk])

    job.refresh_from_db()
    assert (job.status, job.succeeded_count) == ("COMPLETED", 2)
    site = woo_sandbox.app.sites["maple-woo"]
    shirt_listing = Listing.objects.get(store=store, product=shirt)
    parent = site.products[int(shirt_listing.store_product_id)]
    assert (parent["type"], parent["name"]) == ("variable", "Linen shirt")
    for lv in shirt_listing.variants.select_related("variant"):
        variation = site.variations[int(lv.store_variant_id)]
        assert variation["sku"] == lv.variant.sku
        assert Decimal(variation["price"]) == lv.retail_price
    prices = dict(
        ListingVariant.objects.filter(listing__store=store).values_list(
            "variant__sku", "retail_price"
        )
    )
    assert prices == {
        "SHIRT-S": Decimal("20.00"),
        "SHIRT-M": Decimal("25.00"),
        "MUG-1": Decimal("8.00"),
    }
    mug_listing = Listing.objects.get(store=store, product=mug)
    simple = site.products[int(mug_listing.store_product_id)]
    assert (simple["type"], simple["sku"], simple["regular_price"]) == ("simple", "MUG-1", "8.00")
    assert simple["stock_quantity"] == 18


@pytest.mark.parametrize("platform", ["shopify", "woo"])
def test_reimport_updates_the_listing_without_a_duplicate_in_the_store(
    platform, shopify_sandbox, woo_sandbox
):
    retailer = RetailerFactory()
    sandbox = shopify_sandbox if platform == "shopify" else woo_sandbox
    store = sandbox.connect_store(retailer=retailer)
    shirt = _shirt()
    start_store_imports(retailer=retailer, stores=[store], product_ids=[shirt.pk])
    first = Listing.objects.get(store=store, product=shirt)
    first_ids = set(first.variants.values_list("store_variant_id", flat=True))
    item = add_to_import_list(retailer=retailer, product_ids=[shirt.pk]) and (
        ImportListItem.objects.get(retailer=retailer, product=shirt)
    )
    small = shirt.variants.get(sku="SHIRT-S")
    update_import_list_item(
        item=item,
        title="Linen shirt, relaxed fit",
        description=shirt.description,
        image_order=[],
        variant_prices={small.pk: Decimal("29.00")},
    )

    push_import_list(retailer=retailer, stores=[store], item_ids=[item.pk])

    assert Listing.objects.filter(store=store, product=shirt).count() == 1
    listing = Listing.objects.get(store=store, product=shirt)
    assert listing.store_product_id == first.store_product_id
    assert set(listing.variants.values_list("store_variant_id", flat=True)) == first_ids
    assert listing.variants.get(variant=small).retail_price == Decimal("29.00")
    if platform == "shopify":
        shop = shopify_sandbox.app.shop(store.domain)
        assert len(shop.products) == 1
        assert shop.products[listing.store_product_id]["title"] == "Linen shirt, relaxed fit"
        assert len(shop.variants) == 2
    else:
        site = woo_sandbox.app.sites["maple-woo"]
        assert len(site.products) == 1
        assert site.products[int(listing.store_product_id)]["name"] == "Linen shirt, relaxed fit"
        assert len(site.variations) == 2
    # pushed from the import list: it leaves the list
    assert not ImportListItem.objects.filter(retailer=retailer).exists()


@pytest.mark.parametrize("status", [Store.Status.DISCONNECTED, Store.Status.NEEDS_RECONNECT])
def test_importing_into_a_store_that_is_not_connected_is_refused(status):
    retailer = RetailerFactory()
    store = StoreFactory(retailer=retailer, status=status)
    shirt = _shirt()

    with pytest.raises(DomainError) as refused:
        start_store_imports(retailer=retailer, stores=[store], product_ids=[shirt.pk])

    assert store.name in refused.value.message
    assert not StoreImportJob.objects.exists()
    assert not Listing.objects.exists()


def test_importing_into_another_retailers_store_is_not_found():
    retailer = RetailerFactory()
    foreign = StoreFactory()

    with pytest.raises(NotFound):
        start_store_imports(retailer=retailer, stores=[foreign], product_ids=[_shirt().pk])

    assert not StoreImportJob.objects.exists()


def test_products_that_are_not_active_or_of_a_suspended_supplier_cannot_be_added():
    retailer = RetailerFactory()
    draft = ProductFactory(title="Draft lamp", status=Product.Status.DRAFT)
    suspended = _shirt(SupplierFactory(status=Supplier.Status.SUSPENDED, company_name="Gone Ltd"))
    fine = _mug()

    with pytest.raises(NotFound) as refused:
        add_to_import_list(retailer=retailer, product_ids=[fine.pk, draft.pk, suspended.pk])

    assert refused.value.message == (
        f"These products do not exist: {min(draft.pk, suspended.pk)}, "
        f"{max(draft.pk, suspended.pk)}."
    )
    assert not ImportListItem.objects.exists()


def test_a_supplier_suspended_after_the_push_started_fails_only_its_product(shopify_sandbox):
    retailer = RetailerFactory()
    store = shopify_sandbox.connect_store(retailer=retailer)
    shirt, mug = _shirt(), _mug()
    from django.db import transaction
    from django.test.utils import CaptureQueriesContext  # noqa: F401 - keep import light

    with transaction.atomic():
        (job,) = start_store_imports(
            retailer=retailer, stores=[store], product_ids=[shirt.pk, mug.pk]
        )
        Supplier.objects.filter(pk=shirt.supplier_id).update(status=Supplier.Status.SUSPENDED)

    job.refresh_from_db()
    assert (job.status, job.succeeded_count, job.failed_count) == ("COMPLETED", 1, 1)
    failed = job.items.get(product=shirt)
    assert failed.status == StoreImportItem.Status.ERROR
    assert failed.error == f"“{shirt.title}” is no longer available in the catalog."
    assert not Listing.objects.filter(product=shirt).exists()
    assert Listing.objects.filter(product=mug, sync_status="SYNCED").exists()
    assert len(shopify_sandbox.app.shop(store.domain).products) == 1


def test_a_failed_product_is_retried_once_the_cause_is_gone(shopify_sandbox):
    retailer = RetailerFactory()
    store = shopify_sandbox.connect_store(retailer=retailer)
    shirt = _shirt()

    with transaction.atomic():
        (job,) = start_store_imports(retailer=retailer, stores=[store], product_ids=[shirt.pk])
        Supplier.objects.filter(pk=shirt.supplier_id).update(status=Supplier.Status.SUSPENDED)
    job.refresh_from_db()
    assert job.failed_count == 1
    Supplier.objects.filter(pk=shirt.supplier_id).update(status=Supplier.Status.ACTIVE)

    retry_store_import(job=job)

    job.refresh_from_db()
    assert (job.status, job.succeeded_count, job.failed_count) == ("COMPLETED", 1, 0)
    assert Listing.objects.get(product=shirt).sync_status == "SYNCED"


def test_running_the_job_twice_pushes_each_product_once(shopify_sandbox):
    from retailers.services import run_store_import

    retailer = RetailerFactory()
    store = shopify_sandbox.connect_store(retailer=retailer)
    (job,) = start_store_imports(retailer=retailer, stores=[store], product_ids=[_mug().pk])
    calls = len(shopify_sandbox.app.calls_for(store.domain, "productSet"))

    StoreImportJob.objects.filter(pk=job.pk).update(status="RUNNING")  # as if a worker died
    run_store_import(job_id=job.pk)

    assert len(shopify_sandbox.app.calls_for(store.domain, "productSet")) == calls == 1
    assert Listing.objects.filter(store=store).count() == 1


def test_a_price_below_wholesale_cost_is_refused_on_the_import_list():
    retailer = RetailerFactory()
    shirt = _shirt()
    add_to_import_list(retailer=retailer, product_ids=[shirt.pk])
    item = ImportListItem.objects.get()
    small = shirt.variants.get(sku="SHIRT-S")

    with pytest.raises(DomainError) as refused:
        update_import_list_item(
            item=item,
            title="Cheap",
            description="",
            image_order=[],
            variant_prices={small.pk: Decimal("9.99")},
        )

    assert "SHIRT-S" in refused.value.message
    assert "below its wholesale cost" in refused.value.message
    item.refresh_from_db()
    assert (item.title, item.variant_prices) == ("", {})


def test_two_jobs_pushing_the_same_product_at_once_create_it_once_in_the_store(shopify_sandbox):
    import threading

    from django.db import connection

    from retailers.services import run_store_import

    retailer = RetailerFactory()
    store = shopify_sandbox.connect_store(retailer=retailer)
    shirt = _shirt()
    jobs = []
    for _ in range(2):  # two pushes queued at the same moment (e.g. page and API)
        job = StoreImportJob.objects.create(retailer=retailer, store=store, total_count=1)
        StoreImportItem.objects.create(job=job, product=shirt)
        jobs.append(job)
    barrier = threading.Barrier(2)
    errors = []

    def push(job_id):
        try:
            barrier.wait()
            run_store_import(job_id=job_id)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=push, args=(job.pk,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(shopify_sandbox.app.shop(store.domain).products) == 1
    assert Listing.objects.filter(store=store, product=shirt).count() == 1
    assert set(StoreImportJob.objects.values_list("status", "succeeded_count")) == {
        ("COMPLETED", 1)
    }


def test_a_product_set_answer_lost_then_retried_makes_exactly_one_product(
    shopify_sandbox, client_sleeps
):
    """productSet upserts by `identifier` (shopify.dev/changelog/productset-and-customerset-
    mutations-now-support-upserts): the retry after a lost answer finds the product the lost
    call created, by our handle, instead of creating a twin."""
    retailer = RetailerFactory()
    _rule(retailer)
    store = shopify_sandbox.connect_store(retailer=retailer)
    mug = _mug()
    shopify_sandbox.app.lose_answers(store.domain, "productSet")

    (job,) = start_store_imports(retailer=retailer, stores=[store], product_ids=[mug.pk])

    job.refresh_from_db()
    assert (job.status, job.succeeded_count, job.failed_count) == ("COMPLETED", 1, 0)
    assert len(shopify_sandbox.app.calls_for(store.domain, "productSet")) == 2
    shop = shopify_sandbox.app.shop(store.domain)
    [(product_id, product)] = shop.products.items()
    assert product["handle"] == f"{mug.handle}-ds{mug.pk}"
    assert Listing.objects.get(store=store, product=mug).store_product_id == product_id
    assert product["publication_ids"] == [shop.online_store_publication_id]


def test_imported_products_are_published_to_the_online_store_storefront(shopify_sandbox):
    import requests  # local: only this test reads the sandbox storefront

    retailer = RetailerFactory()
    _rule(retailer)
    store = shopify_sandbox.connect_store(retailer=retailer)
    mug = _mug()
    storefront = f"{shopify_sandbox.base_url}/{store.domain}/storefront/"
    assert "MUG-1" not in requests.get(storefront, timeout=10).text

    start_store_imports(retailer=retailer, stores=[store], product_ids=[mug.pk])

    assert "Stoneware mug" in requests.get(storefront, timeout=10).text
    row = ListingVariant.objects.get(listing__store=store)
    assert (row.store_quantity, row.last_pushed_quantity) == (18, 18)  # what the create set
