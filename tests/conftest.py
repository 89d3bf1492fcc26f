import pytest

from tests import factories


@pytest.fixture
def supplier_member(db):
    return factories.SupplierMemberFactory()


@pytest.fixture
def retailer_member(db):
    return factories.RetailerMemberFactory()


@pytest.fixture
def supplier_client(client, supplier_member):
    client.force_login(supplier_member.user)
    client.supplier = supplier_member.supplier
    return client


@pytest.fixture
def retailer_client(client, retailer_member):
    client.force_login(retailer_member.user)
    client.retailer = retailer_member.retailer
    return client


# The Shopify, WooCommerce and Stripe sandboxes (tests/sandboxes.py), for every test package.
from tests.sandboxes import shopify_sandbox, stripe_sandbox, woo_sandbox  # noqa: E402, F401
