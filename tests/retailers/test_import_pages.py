"""The import list, push and job pages, my products and the approval queue, as a retailer uses them."""

from decimal import Decimal

import pytest
from django.urls import reverse

from catalog.models import Product
from retailers.models import ImportListItem, Listing, StoreImportJob
from suppliers.models import Supplier
from tests.factories import (
    ListingFactory,
    ListingVariantFactory,
    ProductFactory,
    StoreFactory,
    SupplierFactory,
    VariantFactory,
)


def _product(title="Linen shirt", **extra):
    product = ProductFactory(title=title, **extra)
    VariantFactory(product=product, wholesale_price=Decimal("10.00"), msrp=None)
    return product


@pytest.mark.django_db
def test_products_are_added_from_the_catalog_and_sent_back_to_a_safe_next(retailer_client):
    first, second = _product(), _product("Mug")

    response = retailer_client.post(
        reverse("retailers:import_list_add"),
        {"product_ids": [first.pk, second.pk], "next": "/catalog/?q=shirt"},
    )

    assert response.status_code == 302
    assert response["Location"] == "/catalog/?q=shirt"
    assert set(
        ImportListItem.objects.filter(retailer=retailer_client.retailer).values_list(
            "product_id", flat=True
        )
    ) == {first.pk, second.pk}


@pytest.mark.django_db
def test_an_outside_next_is_ignored(retailer_client):
    response = retailer_client.post(
        reverse("retailers:import_list_add"),
        {"product_ids": [_product().pk], "next": "https://evil.example/"},
    )

    assert response["Location"] == reverse("retailers:import_list")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "make",
    [
        lambda: _product("Secret draft lamp", status=Product.Status.DRAFT),
        lambda: _product("Secret old lamp", status=Product.Status.DISCONTINUED),
        lambda: _product(
            "Secret lamp",
            supplier=SupplierFactory(status=Supplier.Status.SUSPENDED, company_name="Gone Ltd"),
        ),
        lambda: _product(
            "Secret lamp",
            supplier=SupplierFactory(status=Supplier.Status.PENDING, company_name="New Ltd"),
        ),
    ],
    ids=["draft", "discontinued", "supplier-suspended", "supplier-pending"],
)
def test_a_product_outside_the_catalog_answers_like_one_that_does_not_exist(retailer_client, make):
    hidden = make()
    missing_id = hidden.pk + 1000

    hidden_page = retailer_client.post(
        reverse("retailers:import_list_add"), {"product_ids": [hidden.pk]}, follow=True
    )
    missing_page = retailer_client.post(
        reverse("retailers:import_list_add"), {"product_ids": [missing_id]}, follow=True
    )

    hidden_text = hidden_page.content.decode()
    said = [str(m) for m in hidden_page.context["messages"]]
    assert said == [f"These products do not exist: {hidden.pk}."]
    assert [str(m) for m in missing_page.context["messages"]] == [
        f"These products do not exist: {missing_id}."
    ]
    assert hidden_page.status_code == missing_page.status_code == 200
    for secret in ("Secret", "Gone Ltd", "New Ltd", "draft", "suspended", "review"):
        assert secret not in hidden_text
    assert not ImportListItem.objects.exists()


@pytest.mark.django_db
def test_a_product_id_that_is_not_a_number_is_refused_with_a_message(retailer_client):
    response = retailer_client.post(
        reverse("retailers:import_list_add"), {"product_ids": ["abc"]}, follow=True
    )

    assert "“abc” is not a product id." in response.content.decode()
    assert not ImportListItem.objects.exists()


@pytest.mark.django_db
def test_the_import_list_shows_rule_prices_and_saves_edits(retailer_client):
    product = _product()
    variant = product.variants.get()
    retailer_client.post(reverse("retailers:import_list_add"), {"product_ids": [product.pk]})
    item = ImportListItem.objects.get()

    page = retailer_client.get(reverse("retailers:import_list"))
    assert "$20.99" in page.content.decode()  # the default rule: 10.00 × 2 = 20.00 → 20.99

    retailer_client.post(
        reverse("retailers:import_list_item", args=[item.pk]),
        {
            "title": "Relaxed linen shirt",
            "description": "New words",
            f"price_{variant.pk}": "24.50",
        },
    )
    item.refresh_from_db()
    assert (item.title, item.description, item.variant_prices) == (
        "Relaxed linen shirt",
        "New words",
        {str(variant.pk): "24.50"},
    )


@pytest.mark.django_db
def test_pushing_into_another_retailers_store_is_not_found(retailer_client):
    retailer_client.post(reverse("retailers:import_list_add"), {"product_ids": [_product().pk]})
    item = ImportListItem.objects.get()

    response = retailer_client.post(
        reverse("retailers:import_list_push"),
        {"store_ids": [StoreFactory().pk], "item_ids": [item.pk]},
    )

    assert response.status_code == 404
    assert not StoreImportJob.objects.exists()


@pytest.mark.django_db
def test_pushing_into_a_disconnected_store_says_so(retailer_client):
    store = StoreFactory(retailer=retailer_client.retailer, status="DISCONNECTED", name="Old shop")
    retailer_client.post(reverse("retailers:import_list_add"), {"product_ids": [_product().pk]})

    response = retailer_client.post(
        reverse("retailers:import_list_push"),
        {"store_ids": [store.pk], "item_ids": [ImportListItem.objects.get().pk]},
        follow=True,
    )

    assert "Old shop is disconnected; connect it before importing." in response.content.decode()
    assert not StoreImportJob.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_push_shows_the_job_and_my_products_lists_the_listing(retailer_client, woo_sandbox):
    store = woo_sandbox.connect_store(retailer=retailer_client.retailer)
    product = _product()
    retailer_client.post(reverse("retailers:import_list_add"), {"product_ids": [product.pk]})

    response = retailer_client.post(
        reverse("retailers:import_list_push"),
        {"store_ids": [store.pk], "item_ids": [ImportListItem.objects.get().pk]},
        follow=True,
    )

    html = response.content.decode()
    assert "1 of 1 products · 1 pushed · 0 failed" in html
    listing = Listing.objects.get(store=store)
    assert listing.variants.get().retail_price == Decimal("20.99")
    products = retailer_client.get(reverse("retailers:products")).content.decode()
    assert "Linen shirt" in products
    assert "Synced" in products
    assert 'value="20.99"' in products


@pytest.mark.django_db
def test_my_products_page_has_no_n_plus_one(retailer_client, django_assert_max_num_queries):
    store = StoreFactory(retailer=retailer_client.retailer)
    for _ in range(15):
        listing = ListingFactory(store=store)
        ListingVariantFactory(listing=listing)
        ListingVariantFactory(listing=listing)

    with django_assert_max_num_queries(12):
        response = retailer_client.get(reverse("retailers:products"))

    assert response.status_code == 200
    assert response.content.decode().count('data-listing="') == 30


@pytest.mark.django_db
def test_an_inline_price_below_cost_is_refused_and_nothing_changes(retailer_client):
    store = StoreFactory(retailer=retailer_client.retailer)
    lv = ListingVariantFactory(listing=ListingFactory(store=store), retail_price=Decimal("24.99"))

    response = retailer_client.post(
        reverse("retailers:listing_price", args=[lv.pk]), {"price": "9.00"}, HTTP_HX_REQUEST="true"
    )

    assert 'aria-invalid="true"' in response.content.decode()
    assert "below its wholesale cost 10.00" in response.content.decode()
    lv.refresh_from_db()
    assert lv.retail_price == Decimal("24.99")


@pytest.mark.django_db
def test_another_retailers_listing_is_not_found(retailer_client):
    lv = ListingVariantFactory()

    assert (
        retailer_client.post(reverse("retailers:listing_price", args=[lv.pk]), {"price": "30"})
    ).status_code == 404
    assert (
        retailer_client.post(reverse("retailers:listing_unlist", args=[lv.listing_id]))
    ).status_code == 404
    assert (
        retailer_client.post(reverse("retailers:approval_accept", args=[lv.listing_id]))
    ).status_code == 404


@pytest.mark.django_db
def test_the_approval_queue_lists_paused_listings_only(retailer_client):
    store = StoreFactory(retailer=retailer_client.retailer)
    paused = ListingFactory(
        store=store, status="PAUSED", product=ProductFactory(title="Paused mug")
    )
    ListingVariantFactory(listing=paused)
    ListingVariantFactory(listing=ListingFactory(store=store, product=ProductFactory(title="Fine")))

    html = retailer_client.get(reverse("retailers:approvals")).content.decode()

    assert "Paused mug" in html
    assert "Fine" not in html


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("price", "abc", "is not a price"),
        ("price", "-5", "enter a price above 0"),
        ("image_order", "1,two", "The image order must be image numbers"),
    ],
)
def test_bad_edits_on_the_import_list_are_refused_and_nothing_is_saved(
    retailer_client, field, value, message
):
    product = _product()
    variant = product.variants.get()
    retailer_client.post(reverse("retailers:import_list_add"), {"product_ids": [product.pk]})
    item = ImportListItem.objects.get()
    data = {"title": "Changed", "description": "", f"price_{variant.pk}": ""}
    data[f"price_{variant.pk}" if field == "price" else field] = value

    response = retailer_client.post(
        reverse("retailers:import_list_item", args=[item.pk]), data, follow=True
    )

    assert message in response.content.decode()
    item.refresh_from_db()
    assert (item.title, item.variant_prices) == ("", {})


@pytest.mark.django_db
def test_the_dashboard_counts_listings_awaiting_price_approval(retailer_client):
    store = StoreFactory(retailer=retailer_client.retailer)
    ListingFactory(store=store, status="PAUSED")
    ListingFactory(store=store)

    response = retailer_client.get(reverse("retailers:dashboard"))

    assert response.context["stats"].paused_listing_count == 1
    assert "Awaiting price approval" in response.content.decode()
