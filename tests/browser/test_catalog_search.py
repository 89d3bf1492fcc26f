"""A retailer finds a product through the catalog: types a misspelt word, narrows by a category
facet and a price, pages on, opens the product and sees the retail price under its own rule."""

from decimal import Decimal

import pytest

from retailers.models import PricingRule
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_retailer_searches_filters_and_opens_a_product(page):
    member = factories.RetailerMemberFactory(user__email="rae@shop.test")
    kitchen = factories.CategoryFactory(name="Kitchen")
    knives = factories.CategoryFactory(name="Knives", parent=kitchen)
    garden = factories.CategoryFactory(name="Garden")
    supplier = factories.SupplierFactory(company_name="Forge & Sons", handling_days=2)
    for i in range(30):
        product = factories.ProductFactory(
            title=f"Carbon steel knife {i:02d}", category=knives, supplier=supplier
        )
        factories.VariantFactory(product=product, wholesale_price=Decimal(f"{10 + i}.00"))
    garden_knife = factories.ProductFactory(title="Pruning knife", category=garden)
    factories.VariantFactory(product=garden_knife, wholesale_price=Decimal("12.00"))
    PricingRule.objects.create(
        retailer=member.retailer, category=kitchen, name="Kitchen", value=Decimal("3")
    )

    page.goto("/accounts/login/?next=/catalog/")
    page.get_by_label("Email").fill("rae@shop.test")
    page.get_by_label("Password").fill(factories.DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/catalog/")

    page.get_by_label("Search").fill("knfe")
    page.get_by_role("button", name="Search").click()
    assert "showing results for “knife”" in page.locator(".messages").inner_text()
    categories = page.get_by_role("region", name="Categories")
    assert "Knives 30" in " ".join(categories.inner_text().split())

    categories.get_by_role("link", name="Knives").click()
    page.get_by_label("Minimum wholesale price").fill("15")
    page.get_by_label("Sort by").select_option("price")
    page.get_by_role("button", name="Search").click()
    cards = page.locator(".product-card h3")
    assert cards.first.inner_text() == "Carbon steel knife 05"
    assert cards.count() == 24
    assert "Pruning knife" not in page.content()

    page.get_by_role("link", name="Next page").click()
    assert cards.count() == 1
    assert cards.first.inner_text() == "Carbon steel knife 29"

    cards.first.get_by_role("link").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Carbon steel knife 29"
    variants = page.get_by_role("region", name="Variants")
    assert "$39.00" in variants.inner_text()  # wholesale
    assert "$117.99" in variants.inner_text()  # ×3 under the Kitchen rule, ending .99
