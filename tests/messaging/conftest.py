import pytest

from tests import factories


@pytest.fixture
def supplier_order(db):
    """A paid supplier order: its retailer and supplier may write about it."""
    return factories.SupplierOrderFactory()


@pytest.fixture
def retailer_user(supplier_order):
    return factories.RetailerMemberFactory(retailer=supplier_order.order.retailer).user


@pytest.fixture
def supplier_user(supplier_order):
    return factories.SupplierMemberFactory(supplier=supplier_order.supplier).user


@pytest.fixture
def retailer_page(client, retailer_user):
    client.force_login(retailer_user)
    return client


@pytest.fixture
def supplier_page(client, supplier_user):
    client.force_login(supplier_user)
    return client
