"""The /catalog/ pages: public browsing, prices only for retailers, the pricing rule on the product
page, import-list forms, bad input shown as a message, and no N+1."""

from decimal import Decimal

import pytest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from catalog.models import Product, ProductImage
from retailers.models import PricingRule
from suppliers.models import Supplier, SupplierScorecard
from tests.factories import (
    CategoryFactory,
    ProductFactory,
    ShippingRateFactory,
    SupplierFactory,
    SupplierMemberFactory,
    VariantFactory,
)

pytestmark = pytest.mark.django_db

URL = "/catalog/"


def _product(title="Walnut serving board", price="10.00", **kwargs):
    product = ProductFactory(title=title, **kwargs)
    VariantFactory(product=product, wholesale_price=Decimal(price), msrp=Decimal("29.00"))
    return product


def _import_list_url() -> str | None:
    try:
        return reverse("retailers:import_list_add")
    except NoReverseMatch:
        return None


def test_visitors_browse_without_wholesale_prices(client):
    product = _product(price="12.34")
    response = client.get(URL, {"q": "walnut"})
    assert response.status_code == 200
    body = response.content.decode()
    assert product.title in body
    assert "12.34" not in body
    assert "Sign in as a retailer" in body
    assert 'name="min_price"' not in body


def test_retailers_see_the_cheapest_wholesale_price(retailer_client):
    product = _product(price="12.34")
    VariantFactory(product=product, wholesale_price=Decimal("15.00"))
    response = retailer_client.get(URL, {"q": "walnut"})
    body = response.content.decode()
    assert "from $12.34" in body
    assert 'name="min_price"' in body


def test_a_signed_in_supplier_does_not_see_other_suppliers_wholesale_prices(client):
    member = SupplierMemberFactory()
    client.force_login(member.user)
    _product(price="12.34")
    body = client.get(URL).content.decode()
    assert "12.34" not in body


def test_price_filter_as_a_visitor_is_refused_with_a_message(client):
    _product()
    response = client.get(URL, {"max_price": "10"})
    assert response.status_code == 400
    assert "Sign in as a retailer to filter by wholesale price." in response.content.decode()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"q": "x" * 5000}, "The search text is 5,000 characters long; use at most 200."),
        ({"min_price": "-1"}, "Minimum price cannot be negative."),
        ({"max_price": "99999999999"}, "Maximum price must be at most 1,000,000."),
        ({"category": "987654"}, "There is no category number 987654."),
        ({"supplier": "987654"}, "There is no active supplier number 987654."),
        ({"cursor": "not-a-cursor"}, "That page link is not valid any more"),
        ({"sort": "'; DROP TABLE x"}, "Unknown sort"),
    ],
)
def test_bad_input_shows_a_message_not_a_500(retailer_client, params, message):
    _product()
    response = retailer_client.get(URL, params)
    assert response.status_code == 400
    assert message in response.content.decode().replace("&#x27;", "'")
    assert Product.objects.count() == 1


@pytest.mark.parametrize("text", ['"unbalanced', "a:* & !b", "1; SELECT pg_sleep(5)--", "<script>"])
def test_odd_search_text_is_just_searched(client, text):
    _product()
    response = client.get(URL, {"q": text})
    assert response.status_code == 200
    assert "<script>" not in response.content.decode().split("<main", 1)[1]


def test_misspelling_page_says_what_it_searched(client):
    product = _product(title="Stainless blender")
    body = client.get(URL, {"q": "blendr"}).content.decode()
    assert product.title in body
    assert "showing results for “<strong>blender</strong>”" in body


def test_facet_links_filter_by_category_and_supplier(client):
    kitchen = CategoryFactory(name="Kitchen")
    supplier = SupplierFactory(company_name="Acme Boards")
    _product(category=kitchen, supplier=supplier)
    _product(title="Walnut tray")
    page = client.get(URL, {"q": "walnut"})
    facets_categories = page.context["page"].category_facets
    assert [(f.name, f.count) for f in facets_categories] == [
        ("Kitchen", 1),
        ("Uncategorised", 1),
    ]
    kitchen_url = facets_categories[0].url
    filtered = client.get(URL + kitchen_url)
    assert [p.title for p in filtered.context["page"].products] == ["Walnut serving board"]
    supplier_facet = next(
        f for f in page.context["page"].supplier_facets if f.name == "Acme Boards"
    )
    assert supplier_facet.count == 1


def test_next_page_link_walks_the_results(client):
    for i in range(30):
        _product(title=f"Oak spoon {i}")
    first = client.get(URL, {"q": "spoon", "sort": "newest"})
    next_url = first.context["next_url"]
    assert next_url is not None
    second = client.get(URL + next_url)
    titles = [p.title for p in first.context["page"].products] + [
        p.title for p in second.context["page"].products
    ]
    assert len(titles) == 30
    assert len(set(titles)) == 30
    assert second.context["next_url"] is None


def test_import_list_forms_only_for_retailers_and_only_when_the_import_list_exists(
    client, retailer_client
):
    product = _product()
    add_url = _import_list_url()
    body = retailer_client.get(URL).content.decode()
    if add_url is None:
        assert "Add to import list" not in body
    else:
        assert f'action="{add_url}"' in body
        assert f'name="product_ids" value="{product.pk}" form="bulk-add"' in body
        assert "Add selected to import list" in body
    client.logout()
    assert "Add to import list" not in client.get(URL).content.decode()


def test_search_page_has_no_n_plus_one(retailer_client, django_assert_max_num_queries):
    for i in range(24):
        product = _product(title=f"Linen napkin {i}", category=CategoryFactory())
        ProductImage.objects.create(product=product, source_url=f"https://img.example/{i}.jpg")
    with django_assert_max_num_queries(14):
        response = retailer_client.get(URL, {"q": "napkin"})
    assert len(response.context["page"].products) == 24


def test_catalog_link_in_the_retailer_nav_and_public_header(client, retailer_client):
    assert f'href="{URL}"' in retailer_client.get(reverse("retailers:dashboard")).content.decode()
    client.logout()
    assert f'href="{URL}"' in client.get(reverse("home")).content.decode()


# ---------------------------------------------------------------- product page


def test_product_page_for_a_visitor_shows_variants_stock_and_shipping_but_no_prices(client):
    supplier = SupplierFactory(company_name="Forest Goods", handling_days=3, rating="4.60")
    SupplierScorecard.objects.create(supplier=supplier, computed_at=timezone.now(), score=87)
    product = _product(supplier=supplier, price="11.11")
    ShippingRateFactory(supplier=supplier, carrier="UPS", service="Ground", min_days=2, max_days=4)
    response = client.get(reverse("catalog:browse_product", args=[product.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Forest Goods" in body
    assert "Reliability score <strong>87</strong>/100" in body  # measured, not the typed rating
    assert "4.60" not in body
    assert "UPS Ground" in body
    assert "$29.00" in body  # MSRP is public
    assert '<td class="num">90</td>' in body  # 100 on hand × 90 % buffer
    assert "11.11" not in body


def test_product_page_quotes_the_retailers_own_rule(retailer_client):
    kitchen = CategoryFactory(name="Kitchen")
    product = _product(category=kitchen, price="10.00")
    PricingRule.objects.create(
        retailer=retailer_client.retailer,
        category=kitchen,
        name="Kitchen ×3",
        method="MULTIPLIER",
        value=Decimal("3"),
        rounding="END_95",
        min_margin_percent=Decimal("80"),
    )
    response = retailer_client.get(reverse("catalog:browse_product", args=[product.pk]))
    quote = response.context["quotes"][0].quote
    # The true margin: 30.95 − 10.00 wholesale − 2.00 the Basic plan's fee per order (no rates).
    assert (quote.price, quote.margin) == (Decimal("30.95"), Decimal("18.95"))
    body = response.content.decode()
    assert "$30.95" in body
    assert "$10.00" in body
    assert "below your minimum margin" in body


def test_product_page_uses_the_default_rule_without_one(retailer_client):
    product = _product(price="10.00")
    response = retailer_client.get(reverse("catalog:browse_product", args=[product.pk]))
    quote = response.context["quotes"][0].quote
    assert quote.price == Decimal("20.99")


@pytest.mark.parametrize("case", ["draft", "suspended", "pending", "no_variants", "missing"])
def test_unlisted_products_are_not_found(client, case):
    product = _product()
    if case == "draft":
        Product.objects.filter(pk=product.pk).update(status=Product.Status.DRAFT)
    elif case == "suspended":
        Supplier.objects.filter(pk=product.supplier_id).update(status=Supplier.Status.SUSPENDED)
    elif case == "pending":
        Supplier.objects.filter(pk=product.supplier_id).update(status=Supplier.Status.PENDING)
    elif case == "no_variants":
        product.variants.all().delete()
    product_id = product.pk if case != "missing" else product.pk + 1000
    response = client.get(reverse("catalog:browse_product", args=[product_id]))
    assert response.status_code == 404
    assert client.get(URL).context["page"].products == ([] if case != "missing" else [product])


def test_product_page_has_no_n_plus_one(retailer_client, django_assert_max_num_queries):
    supplier = SupplierFactory()
    product = ProductFactory(supplier=supplier, category=CategoryFactory())
    for i in range(12):
        VariantFactory(product=product, options={"Size": str(i)})
        ProductImage.objects.create(product=product, source_url=f"https://img.example/{i}.jpg")
    for service in ("Ground", "Express", "Overnight"):
        ShippingRateFactory(supplier=supplier, service=service)
    # 12 before returns and messages; +1 the supplier's return policy, +1 the navigation's unread
    # message count: one query each whatever the page holds.
    with django_assert_max_num_queries(14):
        response = retailer_client.get(reverse("catalog:browse_product", args=[product.pk]))
    assert len(response.context["quotes"]) == 12
