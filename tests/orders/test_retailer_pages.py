"""Retailer order pages: list with filters, detail with timeline, exception actions, scoping."""

import re

import pytest

from orders.models import Order, OrderItem
from tests import factories
from tests.integrations.helpers import post_shopify
from tests.orders.pipeline import body, make_offer, numeric, shopify_order

pytestmark = pytest.mark.django_db


def _orders(client, capture, store, count=3, stock=100):
    offer = make_offer(store=store, stock=stock)
    for _ in range(count):
        payload = shopify_order(lines=[(numeric(offer.store_variant_id), offer.variant.sku, 1)])
        with capture(execute=True):
            post_shopify(client, body(payload), topic="orders/create", shop=store.domain)
    return offer


def test_order_list_filters_and_has_no_n_plus_one(
    retailer_client, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    retailer = retailer_client.retailer
    retailer.has_payment_terms = True
    retailer.save()
    store = factories.StoreFactory(retailer=retailer)
    _orders(retailer_client, django_capture_on_commit_callbacks, store, count=5)
    other = factories.StoreFactory()  # another retailer's order never shows
    _orders(retailer_client, django_capture_on_commit_callbacks, other, count=1)
    with django_assert_max_num_queries(12):
        response = retailer_client.get("/retailer/orders/")
    assert response.status_code == 200
    page = response.content.decode()
    assert len(re.findall(r'href="/retailer/orders/\d+/"', page)) == 5
    assert "Orders" in page
    response = retailer_client.get("/retailer/orders/?status=EXCEPTION")
    assert re.findall(r'href="/retailer/orders/\d+/"', response.content.decode()) == []


def test_order_detail_shows_timeline_and_another_retailers_order_is_404(
    retailer_client, django_capture_on_commit_callbacks
):
    retailer = retailer_client.retailer
    retailer.has_payment_terms = True
    retailer.save()
    store = factories.StoreFactory(retailer=retailer)
    _orders(retailer_client, django_capture_on_commit_callbacks, store, count=1)
    order = Order.objects.get(store=store)
    page = retailer_client.get(f"/retailer/orders/{order.pk}/").content.decode()
    assert "Chestnut Street 92" in page
    for words in ("Received", "Reserved", "Paid", "Sent"):
        assert words in page
    assert order.supplier_orders.get().number in page
    other = factories.StoreFactory()
    _orders(retailer_client, django_capture_on_commit_callbacks, other, count=1)
    foreign = Order.objects.get(store=other)
    assert retailer_client.get(f"/retailer/orders/{foreign.pk}/").status_code == 404
    item = foreign.items.get()
    response = retailer_client.post(f"/retailer/orders/{foreign.pk}/items/{item.pk}/cancel/")
    assert response.status_code == 404


def test_exception_actions_from_the_page(retailer_client, django_capture_on_commit_callbacks):
    retailer = retailer_client.retailer
    retailer.has_payment_terms = True
    retailer.save()
    store = factories.StoreFactory(retailer=retailer)
    _orders(retailer_client, django_capture_on_commit_callbacks, store, count=1, stock=0)
    order = Order.objects.get()
    item = order.items.get()
    other = make_offer(store=store, stock=5)
    page = retailer_client.get(f"/retailer/orders/{order.pk}/").content.decode()
    assert "Wait for stock" in page
    assert other.variant.sku in page  # offered as a substitute
    with django_capture_on_commit_callbacks(execute=True):
        response = retailer_client.post(
            f"/retailer/orders/{order.pk}/items/{item.pk}/substitute/",
            {"variant": str(other.variant_id)},
            follow=True,
        )
    assert "will be sent as" in response.content.decode()
    item.refresh_from_db()
    assert item.status == OrderItem.Status.RESERVED
    response = retailer_client.post(
        f"/retailer/orders/{order.pk}/items/{item.pk}/substitute/", {"variant": "x"}, follow=True
    )
    assert '<p class="message message-error">Choose the variant to send instead.</p>' in (
        response.content.decode()
    )


def _one_order(client, capture, store, *, wholesale):
    offer = make_offer(store=store, wholesale=wholesale)
    payload = shopify_order(lines=[(numeric(offer.store_variant_id), offer.variant.sku, 1)])
    with capture(execute=True):
        post_shopify(client, body(payload), topic="orders/create", shop=store.domain)
    return Order.objects.filter(store=store).latest("id")


def test_an_order_whose_real_result_is_a_loss_is_flagged_on_its_page(
    retailer_client, django_capture_on_commit_callbacks
):
    retailer = retailer_client.retailer
    retailer.has_payment_terms = True
    retailer.processing_fee_fixed = "0.30"
    retailer.save()
    store = factories.StoreFactory(retailer=retailer)
    losing = _one_order(
        retailer_client, django_capture_on_commit_callbacks, store, wholesale="195.00"
    )
    earning = _one_order(
        retailer_client, django_capture_on_commit_callbacks, store, wholesale="10.00"
    )

    page = retailer_client.get(f"/retailer/orders/{losing.pk}/").content.decode()
    # 199.00 paid − (195.00 wholesale + 5.00 domestic shipping + 2.00 Basic fee) − 0.30
    assert "This order loses money" in page
    assert "$202.00 to suppliers" in page
    assert "<strong>$-3.30</strong>" in page  # dropship.core.money's format of a negative
    page = retailer_client.get(f"/retailer/orders/{earning.pk}/").content.decode()
    assert "This order loses money" not in page
    assert "<strong>$181.70</strong>" in page  # 199.00 − 17.00 − 0.30
