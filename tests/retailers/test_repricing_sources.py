"""Every place a supplier changes a wholesale price re-prices the listings: the variant form, the
list page's inline edit (test_repricing.py) and the CSV import. Plus the digest's beat entry."""

from decimal import Decimal

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from catalog.models import ImportJob
from catalog.services import commit_import, create_import_job, start_import_validation
from catalog.services.products import VariantData, update_variant
from retailers.models import Listing, PriceChange, PricingRule
from retailers.services import start_store_imports
from tests.factories import ProductFactory, RetailerFactory, SupplierMemberFactory, VariantFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def listed_tote(shopify_sandbox):
    supplier_member = SupplierMemberFactory()
    retailer = RetailerFactory()
    PricingRule.objects.create(retailer=retailer, name="Default", method="MULTIPLIER", value=2)
    store = shopify_sandbox.connect_store(retailer=retailer)
    product = ProductFactory(supplier=supplier_member.supplier, handle="tote", title="Canvas tote")
    variant = VariantFactory(
        product=product, sku="TOTE-1", wholesale_price=Decimal("6.40"), msrp=None
    )
    start_store_imports(retailer=retailer, stores=[store], product_ids=[product.pk])
    listing = Listing.objects.get(store=store)
    assert listing.variants.get().retail_price == Decimal("12.99")
    return supplier_member, variant, listing, shopify_sandbox.app.shop(store.domain)


def test_a_csv_import_that_changes_the_price_reprices_and_pushes(listed_tote):
    member, _variant, listing, shop = listed_tote
    csv = b"Handle,Title,SKU,Wholesale price\ntote,Canvas tote,TOTE-1,7.10\n"
    job = create_import_job(
        supplier=member.supplier, actor=member.user, upload=SimpleUploadedFile("c.csv", csv)
    )
    start_import_validation(job=job, actor=member.user, mapping=job.mapping, kind=job.kind)
    job.refresh_from_db()
    commit_import(job=job, actor=member.user, mode=ImportJob.Mode.ALL)

    lv = listing.variants.get()
    assert lv.retail_price == Decimal("14.99")  # 7.10 × 2 = 14.20 → 14.99
    assert Decimal(str(shop.variants[lv.store_variant_id]["price"])) == Decimal("14.99")
    assert PriceChange.objects.get().new_cost == Decimal("7.10")


def test_the_variant_form_reprices_only_when_the_wholesale_price_changes(listed_tote):
    member, variant, listing, _ = listed_tote

    update_variant(
        variant=variant,
        actor=member.user,
        data=VariantData(sku="TOTE-1", options={}, wholesale_price=Decimal("6.40"), weight_grams=5),
    )
    assert not PriceChange.objects.exists()

    update_variant(
        variant=variant,
        actor=member.user,
        data=VariantData(sku="TOTE-1", options={}, wholesale_price=Decimal("5.00")),
    )
    assert listing.variants.get().retail_price == Decimal("10.99")


def test_the_price_digest_runs_daily_from_beat():
    entry = settings.CELERY_BEAT_SCHEDULE["retailer-price-digests"]
    assert entry["task"] == "retailers.tasks.send_price_digests_task"
    assert settings.CELERY_TASK_ROUTES["retailers.tasks.run_store_import_task"] == {
        "queue": "imports"
    }
