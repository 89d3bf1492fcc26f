"""The manual order form (README: "Manual orders and samples"): a retailer creates its "Manual
orders" custom store on first use, lists a product into it, types an order with a ship-to address,
and the order is routed to the supplier, shipped and tracked like a store's order."""

from decimal import Decimal

import pytest

from catalog.models import Variant
from orders.models import Order, SupplierOrder
from orders.services.fulfilment import accept_supplier_order, ship_supplier_order
from retailers import services as retailer_services
from retailers.models import ListingVariant, Store
from suppliers.models import ShippingRate
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

MANUAL = "/retailer/orders/manual/"


@pytest.fixture
def retailer_client(client):
    member = factories.RetailerMemberFactory(retailer__has_payment_terms=True)
    client.force_login(member.user)
    client.retailer = member.retailer
    client.user = member.user
    return client


@pytest.fixture
def domestic_offer():
    """A US supplier that ships only inside the US."""
    supplier = factories.SupplierFactory(ship_from_country="US")
    factories.ShippingRateFactory(supplier=supplier, zone=ShippingRate.Zone.DOMESTIC)
    product = factories.ProductFactory(supplier=supplier, title="Sample mug")
    variant = factories.VariantFactory(
        product=product, sku="MUG-S", stock_on_hand=5, wholesale_price=Decimal("10.00")
    )
    return product, variant


def _address(**changes):
    return {
        "name": "Maple & Co (sample)",
        "address1": "12 Harbour St",
        "city": "Portland",
        "province": "ME",
        "zip": "04101",
        "country_code": "us",
        "phone": "",
        "email": "owner@maple.example",
        **changes,
    }


def _list_into(store, product, django_capture_on_commit_callbacks):
    retailer_services.add_to_import_list(retailer=store.retailer, product_ids=[product.pk])
    item_ids = list(store.retailer.import_list.values_list("pk", flat=True))
    with django_capture_on_commit_callbacks(execute=True):
        retailer_services.push_import_list(
            retailer=store.retailer, stores=[store], item_ids=item_ids
        )
    return ListingVariant.objects.get(listing__store=store)


def test_a_sample_ordered_on_the_manual_form_reaches_the_supplier_and_ships(
    retailer_client, domestic_offer, django_capture_on_commit_callbacks
):
    product, variant = domestic_offer
    first_visit = retailer_client.get(MANUAL)
    assert first_visit.status_code == 200
    assert "Create “Manual orders” store" in first_visit.content.decode()

    created = retailer_client.post("/retailer/orders/manual/store/")
    store = Store.objects.get(retailer=retailer_client.retailer)
    assert created.status_code == 302
    assert created["Location"] == f"{MANUAL}?store={store.pk}"
    assert (store.name, store.platform, store.status) == ("Manual orders", "CUSTOM", "CONNECTED")
    retailer_client.post("/retailer/orders/manual/store/")  # a second click reuses it
    assert Store.objects.filter(retailer=retailer_client.retailer).count() == 1

    lv = _list_into(store, product, django_capture_on_commit_callbacks)
    assert lv.store_variant_id == f"DSV-{variant.pk}"
    page = retailer_client.get(f"{MANUAL}?store={store.pk}").content.decode()
    assert f"DSV-{variant.pk}" in page
    assert 'name="qty_' in page

    with django_capture_on_commit_callbacks(execute=True):
        placed = retailer_client.post(
            MANUAL, {"store": store.pk, f"qty_{lv.pk}": "2", **_address()}
        )

    order = Order.objects.get()
    assert placed.status_code == 302
    assert placed["Location"] == f"/retailer/orders/{order.pk}/"
    assert (order.store_id, order.shipping_country, order.shopper_email) == (
        store.pk,
        "US",
        "owner@maple.example",
    )
    assert order.shipping_address["address1"] == "12 Harbour St"
    supplier_order = SupplierOrder.objects.get()
    assert supplier_order.status == SupplierOrder.Status.SENT
    assert Variant.objects.get(pk=variant.pk).stock_reserved == 2

    accept_supplier_order(supplier_order=supplier_order)
    ship_supplier_order(
        supplier_order=supplier_order, carrier="UPS", tracking_number="1Z999AA10123456784"
    )
    order.refresh_from_db()
    assert order.status == Order.Status.SHIPPED
    detail = retailer_client.get(f"/retailer/orders/{order.pk}/").content.decode()
    assert "1Z999AA10123456784" in detail


def test_an_address_the_supplier_does_not_ship_to_is_refused_and_nothing_is_written(
    retailer_client, domestic_offer, django_capture_on_commit_callbacks
):
    product, variant = domestic_offer
    store = retailer_services.get_or_create_manual_orders_store(retailer=retailer_client.retailer)
    lv = _list_into(store, product, django_capture_on_commit_callbacks)

    response = retailer_client.post(
        MANUAL, {"store": store.pk, f"qty_{lv.pk}": "1", **_address(country_code="FR")}
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert "MUG-S:" in page
    assert "Choose another address or other products." in page
    assert Order.objects.count() == 0
    assert SupplierOrder.objects.count() == 0
    assert Variant.objects.get(pk=variant.pk).stock_reserved == 0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"qty": "0"}, "Choose at least one product and a quantity."),
        ({"qty": "two"}, "Quantities are whole numbers."),
        ({"qty": "10001"}, "the quantity must be from 1 to 10000"),
        ({"country_code": "USA"}, "Enter the two-letter country code"),
        ({"address1": ""}, "This field is required."),
    ],
)
def test_a_manual_order_with_bad_input_shows_why_and_writes_nothing(
    retailer_client, domestic_offer, django_capture_on_commit_callbacks, changes, message
):
    product, _ = domestic_offer
    store = retailer_services.get_or_create_manual_orders_store(retailer=retailer_client.retailer)
    lv = _list_into(store, product, django_capture_on_commit_callbacks)
    quantity = changes.pop("qty", "1")
    response = retailer_client.post(
        MANUAL, {"store": store.pk, f"qty_{lv.pk}": quantity, **_address(**changes)}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Order.objects.count() == 0


def test_another_retailers_custom_store_is_not_offered(retailer_client):
    theirs = retailer_services.create_custom_store(
        retailer=factories.RetailerFactory(), name="Their phone orders"
    )
    response = retailer_client.get(f"{MANUAL}?store={theirs.pk}")
    assert response.status_code == 200
    assert "Their phone orders" not in response.content.decode()
    assert Order.objects.count() == 0


def test_a_custom_store_is_created_on_the_stores_page(retailer_client):
    response = retailer_client.post(
        "/retailer/stores/custom/", {"name": "Etsy shop", "currency": "EUR"}
    )
    assert response.status_code == 302
    store = Store.objects.get()
    assert (store.name, store.platform, store.currency, store.retailer_id) == (
        "Etsy shop",
        "CUSTOM",
        "EUR",
        retailer_client.retailer.pk,
    )
    page = retailer_client.get("/retailer/stores/").content.decode()
    assert f"Store id {store.public_id}" in page
    refused = retailer_client.post("/retailer/stores/custom/", {"name": "", "currency": "EUR"})
    assert refused.status_code == 400
    assert Store.objects.count() == 1
