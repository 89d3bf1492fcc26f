"""Issue 17 point 5, both ways: a supplier pricing in USD sells through a CAD store only through
the day's exchange rate, which is frozen (rate and date) on the supplier order; without a rate the
import is refused with a message naming the pair, and an order that still comes in keeps its
lines as exceptions the retailer resolves — nothing is lost, nothing mispriced."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog.models import Variant
from dropship.core.models import ExchangeRate
from dropship.core.money import quantize
from orders.models import Order, OrderItem, SupplierOrder
from orders.selectors import get_order_result
from orders.services.exceptions import wait_for_stock
from orders.services.manual import ManualLine, place_manual_order
from retailers import services as retailer_services
from retailers.models import ListingVariant, StoreImportJob
from retailers.services.importing import ProductImportError
from retailers.services.quoting import PriceBook
from suppliers.models import ShippingRate
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

ADDRESS = {
    "name": "Sam Shopper",
    "address1": "1 Bay St",
    "city": "Toronto",
    "zip": "M5J 2N8",
    "country_code": "CA",
}


@pytest.fixture
def cad_store():
    retailer = factories.RetailerFactory(has_payment_terms=True, currency="CAD", home_country="CA")
    return retailer_services.create_custom_store(
        retailer=retailer, name="Maple shop", currency="CAD"
    )


@pytest.fixture
def usd_product():
    supplier = factories.SupplierFactory(ship_from_country="US", currency="USD")
    factories.ShippingRateFactory(
        supplier=supplier, zone=ShippingRate.Zone.INTERNATIONAL, price=Decimal("8.00")
    )
    product = factories.ProductFactory(supplier=supplier, title="Enamel mug")
    factories.VariantFactory(
        product=product, sku="MUG-USD", wholesale_price=Decimal("10.00"), stock_on_hand=5
    )
    return product


def _rate(rate: str, *, day: datetime.date | None = None) -> ExchangeRate:
    return ExchangeRate.objects.create(
        base="USD", quote="CAD", rate=Decimal(rate), day=day or timezone.localdate()
    )


def _list(store, product, capture) -> ListingVariant:
    retailer_services.add_to_import_list(retailer=store.retailer, product_ids=[product.pk])
    item_ids = list(store.retailer.import_list.values_list("pk", flat=True))
    with capture(execute=True):
        retailer_services.push_import_list(
            retailer=store.retailer, stores=[store], item_ids=item_ids
        )
    return ListingVariant.objects.select_related("listing", "variant__product").get(
        listing__store=store
    )


def _order(store, lv, *, quantity=1, **address):
    return place_manual_order(
        retailer=store.retailer,
        store=store,
        lines=[ManualLine(listing_variant_id=lv.pk, quantity=quantity)],
        shipping_address={**ADDRESS, **address},
    )


def test_import_into_a_store_of_another_currency_is_refused_without_a_rate(cad_store, usd_product):
    retailer_services.add_to_import_list(retailer=cad_store.retailer, product_ids=[usd_product.pk])
    item_ids = list(cad_store.retailer.import_list.values_list("pk", flat=True))

    with pytest.raises(ProductImportError) as refused:
        retailer_services.push_import_list(
            retailer=cad_store.retailer, stores=[cad_store], item_ids=item_ids
        )

    assert refused.value.message == (
        "Maple shop sells in CAD and “Enamel mug” is priced in USD; we have no USD→CAD exchange "
        "rate for today, so we cannot price them for this store. Try again once support has "
        "added the rate, or import into a USD store."
    )
    assert refused.value.field == "store_ids"
    assert not StoreImportJob.objects.exists()
    assert not ListingVariant.objects.exists()


def test_a_stale_rate_is_no_rate(cad_store, usd_product, settings):
    settings.EXCHANGE_RATE_MAX_AGE_DAYS = 7
    _rate("1.40", day=timezone.localdate() - datetime.timedelta(days=8))
    retailer_services.add_to_import_list(retailer=cad_store.retailer, product_ids=[usd_product.pk])
    item_ids = list(cad_store.retailer.import_list.values_list("pk", flat=True))

    with pytest.raises(ProductImportError, match="no USD→CAD exchange rate"):
        retailer_services.push_import_list(
            retailer=cad_store.retailer, stores=[cad_store], item_ids=item_ids
        )
    assert not StoreImportJob.objects.exists()


def test_with_a_rate_the_listing_is_priced_in_the_store_currency_and_the_order_freezes_it(
    cad_store, usd_product, django_capture_on_commit_callbacks
):
    _rate("1.30", day=timezone.localdate() - datetime.timedelta(days=1))
    _rate("1.40")

    lv = _list(cad_store, usd_product, django_capture_on_commit_callbacks)

    # The default rule (retailers.rules.DEFAULT_RULE) marks up the CAD cost, 10 USD × 1.40 =
    # 14.00 CAD, not the USD number; the listing is in CAD.
    assert lv.currency == "CAD"
    assert lv.last_cost == Decimal("10.00")  # the supplier's own price, in the variant's USD
    quote = PriceBook(retailer=cad_store.retailer).quote(
        variant=lv.variant, category_id=None, store=cad_store
    )
    assert quote.economics.wholesale == Decimal("14.00")
    assert quote.economics.shipping == Decimal("11.20")  # 8.00 USD international × 1.40
    assert lv.retail_price == quote.price

    with django_capture_on_commit_callbacks(execute=True):
        result = _order(cad_store, lv, quantity=2)

    order = Order.objects.get(pk=result.order.pk)
    assert order.currency == "CAD"
    supplier_order = SupplierOrder.objects.get(order=order)
    # Charged and booked in the supplier's currency; the rate and its date frozen beside it.
    assert supplier_order.currency == "USD"
    assert supplier_order.wholesale_total == Decimal("20.00")
    assert supplier_order.exchange_rate == Decimal("1.40")
    assert supplier_order.exchange_rate_date == timezone.localdate()

    # The order's result (its page) counts the USD cost in CAD at the frozen rate.
    result = get_order_result(
        retailer=cad_store.retailer, items=order.items.all(), supplier_orders=[supplier_order]
    )
    assert result.supplier_cost == quantize(supplier_order.total * Decimal("1.40"))

    ExchangeRate.objects.filter(day=timezone.localdate()).update(rate=Decimal("1.55"))
    supplier_order.refresh_from_db()
    assert supplier_order.exchange_rate == Decimal("1.40")


def test_an_order_without_a_rate_keeps_its_lines_as_exceptions_until_the_rate_comes(
    cad_store, usd_product, django_capture_on_commit_callbacks
):
    rate = _rate("1.40")
    lv = _list(cad_store, usd_product, django_capture_on_commit_callbacks)
    rate.delete()  # the table was emptied after the import: the order must still be kept

    with django_capture_on_commit_callbacks(execute=True):
        result = _order(cad_store, lv, quantity=1)

    order = Order.objects.get(pk=result.order.pk)
    [item] = order.items.all()
    assert item.status == OrderItem.Status.EXCEPTION
    assert item.status_reason == (
        f"{usd_product.supplier.company_name} prices in USD and this order is in CAD, and we "
        "have no USD→CAD exchange rate for today. Retry the line once support has added the "
        "rate, substitute it or cancel it."
    )
    assert not SupplierOrder.objects.exists()
    assert Variant.objects.get(sku="MUG-USD").stock_reserved == 0

    # Waiting retries now (still no rate: nothing happens), then succeeds once a rate exists.
    wait_for_stock(item=item)
    item.refresh_from_db()
    assert (item.status, item.is_waiting_for_stock) == (OrderItem.Status.EXCEPTION, True)
    assert not SupplierOrder.objects.exists()

    _rate("1.41")
    with django_capture_on_commit_callbacks(execute=True):
        wait_for_stock(item=item)
    item.refresh_from_db()
    assert item.status == OrderItem.Status.RESERVED
    supplier_order = SupplierOrder.objects.get(order=order)
    assert (supplier_order.currency, supplier_order.exchange_rate) == ("USD", Decimal("1.41"))
    assert supplier_order.exchange_rate_date == timezone.localdate()


def test_an_order_in_the_supplier_currency_freezes_no_rate(
    usd_product, django_capture_on_commit_callbacks
):
    retailer = factories.RetailerFactory(has_payment_terms=True)
    store = retailer_services.create_custom_store(retailer=retailer, name="US shop", currency="USD")
    usd_product.supplier.shipping_rates.update(zone=ShippingRate.Zone.DOMESTIC)
    lv = _list(store, usd_product, django_capture_on_commit_callbacks)

    with django_capture_on_commit_callbacks(execute=True):
        _order(store, lv, country_code="US", city="Portland")

    supplier_order = SupplierOrder.objects.get()
    assert (supplier_order.exchange_rate, supplier_order.exchange_rate_date) == (None, None)


def test_the_catalog_prices_a_usd_product_in_the_retailers_cad_or_says_there_is_no_rate(
    client, usd_product
):
    member = factories.RetailerMemberFactory(retailer__currency="CAD", retailer__home_country="CA")
    client.force_login(member.user)
    url = f"/catalog/{usd_product.pk}/"

    without = client.get(url)

    assert without.status_code == 200
    assert without.context["quotes"] is None
    assert without.context["quote_error"].startswith("We have no exchange rate from USD to CAD")
    assert "We have no exchange rate from USD to CAD" in without.content.decode()
    assert "$10.00" in without.content.decode()  # wholesale still shown, as USD

    _rate("1.40")
    priced = client.get(url)

    [row] = priced.context["quotes"]
    assert row.quote.economics.wholesale == Decimal("14.00")
    body = priced.content.decode()
    assert f"CA${row.quote.price}" in body
    assert "at today's USD→CAD exchange rate" in body
