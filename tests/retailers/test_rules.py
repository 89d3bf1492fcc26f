import pytest

from retailers.models import PricingRule
from retailers.rules import DEFAULT_RULE, resolve_pricing_rule, rule_for
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def tree():
    home = factories.CategoryFactory(name="Home", slug="home")
    kitchen = factories.CategoryFactory(name="Kitchen", slug="kitchen", parent=home)
    knives = factories.CategoryFactory(name="Knives", slug="knives", parent=kitchen)
    return home, kitchen, knives


def _rule(retailer, name, **scope):
    return PricingRule.objects.create(retailer=retailer, name=name, **scope)


def test_most_specific_rule_wins(tree):
    home, kitchen, knives = tree
    store = factories.StoreFactory()
    other_store = factories.StoreFactory(retailer=store.retailer)
    retailer = store.retailer
    default = _rule(retailer, "default")
    home_rule = _rule(retailer, "home", category=home)
    kitchen_rule = _rule(retailer, "kitchen", category=kitchen)
    store_rule = _rule(retailer, "store", store=store)
    store_kitchen = _rule(retailer, "store+kitchen", store=store, category=kitchen)

    assert resolve_pricing_rule(retailer=retailer) == default
    assert resolve_pricing_rule(retailer=retailer, category=knives) == kitchen_rule
    assert resolve_pricing_rule(retailer=retailer, category=home) == home_rule
    assert resolve_pricing_rule(retailer=retailer, category=knives, store=store) == store_kitchen
    assert resolve_pricing_rule(retailer=retailer, category=home, store=store) == store_rule
    assert resolve_pricing_rule(retailer=retailer, category=knives, store=other_store) == (
        kitchen_rule
    )


def test_no_saved_rule_falls_back_to_the_default_math():
    retailer = factories.RetailerFactory()
    other = factories.RetailerFactory()
    _rule(other, "someone else's")
    assert resolve_pricing_rule(retailer=retailer) is None
    assert rule_for(retailer=retailer) == DEFAULT_RULE
