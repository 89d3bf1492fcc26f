"""Nothing lost when webhooks are: the order poll finds orders whose webhooks never came and runs
them through the same inbox and intake, once; quiet webhooks are flagged; the daily check puts
dropped or disabled subscriptions back. Against the Shopify and WooCommerce sandboxes."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from integrations.base import ProductData, VariantData
from integrations.models import InboundWebhook
from integrations.registry import get_store_client
from orders import tasks
from orders.models import Order, StoreOrderSync, SupplierOrder
from orders.services import reconciliation
from retailers.models import Store
from sandbox.server import Response
from tests import factories
from tests.integrations.helpers import post_shopify
from tests.orders.pipeline import make_offer

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_client_sleep(client_sleeps):
    return client_sleeps


def _listed_store(handle, skus: list[str], **connect):
    """A connected store on payment terms with one product per SKU listed in the sandbox."""
    retailer = factories.RetailerFactory(has_payment_terms=True)
    store = handle.connect_store(
        retailer=retailer, connected_at=timezone.now() - timedelta(hours=1), **connect
    )
    offers = {}
    for sku in skus:
        [result] = get_store_client(store=store).upsert_products(
            products=[
                ProductData(
                    reference=sku,
                    title=f"Apron {sku}",
                    variants=(VariantData(sku=sku, price=Decimal("24.99"), inventory_quantity=9),),
                )
            ]
        )
        assert result.is_ok, result.error
        offers[sku] = make_offer(
            store=store, sku=sku, stock=10, store_variant_id=result.variant_ids[sku]
        )
    return store, offers


def _sync(store) -> StoreOrderSync:
    return StoreOrderSync.objects.get(store=store)


@pytest.mark.embedded
def test_shopify_orders_whose_webhooks_never_came_are_routed_once_and_the_store_is_flagged(
    shopify_sandbox, django_capture_on_commit_callbacks, client, settings
):
    store, offers = _listed_store(shopify_sandbox, ["APR-1"])
    store.last_webhook_at = timezone.now() - timedelta(hours=2)
    store.save(update_fields=["last_webhook_at"])
    shopify_sandbox.app.silence_webhooks(store.domain)
    placed = [
        shopify_sandbox.app.create_order(store.domain, lines=[{"sku": "APR-1", "quantity": 1}])
        for _ in range(6)
    ]
    assert shopify_sandbox.app.deliveries == []  # the switch: nothing reached us
    later = timezone.now() + timedelta(minutes=5)  # the orders are older than a webhook's delay

    with django_capture_on_commit_callbacks(execute=True):
        result = reconciliation.poll_store_orders(store=store, now=later)
    assert (result.fetched, result.stored, result.error) == (6, 6, "")
    # Five orders a page (within Shopify's single-query cost limit): two pages were read.
    assert len(shopify_sandbox.app.calls_for(store.domain, "orders")) == 2
    orders = Order.objects.filter(store=store)
    assert sorted(orders.values_list("store_order_id", flat=True)) == sorted(
        o["id"] for o in placed
    )
    assert {o.supplier_orders.get().status for o in orders} == {SupplierOrder.Status.SENT}
    offers["APR-1"].variant.refresh_from_db()
    assert offers["APR-1"].variant.stock_reserved == 6
    assert set(
        InboundWebhook.objects.filter(store=store).values_list("topic", "status").distinct()
    ) == {("orders/polled", InboundWebhook.Status.PROCESSED)}
    sync = _sync(store)
    assert sync.watermark is not None
    assert sync.orders_found == 6
    assert sync.webhooks_quiet_since == later
    assert sync.quiet_reason.startswith(
        f"6 orders placed in {store.name} reached Dropship only through the periodic order check"
    )
    store.refresh_from_db()
    assert store.last_webhook_at < timezone.now() - timedelta(hours=1)  # the poll is no webhook

    # Running it again (beat twice, a second worker) changes nothing.
    with django_capture_on_commit_callbacks(execute=True):
        again = reconciliation.poll_store_orders(store=store, now=later)
        tasks.poll_store_orders_task(store.pk)
    # The changes of the watermark's second are asked for again (>=): all six here; none stored.
    assert (again.fetched, again.stored) == (6, 0)
    assert Order.objects.filter(store=store).count() == 6
    assert InboundWebhook.objects.filter(store=store).count() == 6

    # The retailer sees it on the stores page, and is told once.
    member = factories.RetailerMemberFactory(retailer=store.retailer)
    client.force_login(member.user)
    page = client.get("/retailer/stores/").content.decode()
    assert f"Webhooks from {store.name} have gone quiet since" in page
    assert "reached Dropship only through the periodic order check" in page
    assert store.retailer.notifications.filter(kind="store_webhooks_quiet").count() == 1


def test_a_cancellation_found_by_the_poll_cancels_the_order(
    shopify_sandbox, django_capture_on_commit_callbacks
):
    store, offers = _listed_store(shopify_sandbox, ["APR-2"])
    order = shopify_sandbox.app.create_order(store.domain, lines=[{"sku": "APR-2", "quantity": 2}])
    with django_capture_on_commit_callbacks(execute=True):
        reconciliation.poll_store_orders(store=store)
    shopify_sandbox.app.silence_webhooks(store.domain)
    shopify_sandbox.app.cancel_order(store.domain, order["id"])
    with django_capture_on_commit_callbacks(execute=True):
        assert reconciliation.poll_store_orders(store=store).stored == 1
    ours = Order.objects.get(store=store)
    assert ours.supplier_orders.get().status == SupplierOrder.Status.CANCELLED
    offers["APR-2"].variant.refresh_from_db()
    assert offers["APR-2"].variant.stock_reserved == 0


def test_a_failed_poll_keeps_its_watermark_and_says_why(
    shopify_sandbox, django_capture_on_commit_callbacks
):
    store, _offers = _listed_store(shopify_sandbox, ["APR-3"])
    shopify_sandbox.app.create_order(store.domain, lines=[{"sku": "APR-3", "quantity": 1}])
    with django_capture_on_commit_callbacks(execute=True):
        reconciliation.poll_store_orders(store=store)
    watermark = _sync(store).watermark
    shopify_sandbox.app.create_order(store.domain, lines=[{"sku": "APR-3", "quantity": 1}])
    shopify_sandbox.app.inject(store.domain, *[Response.json({}, status=503)] * 10)
    with django_capture_on_commit_callbacks(execute=True):
        result = reconciliation.poll_store_orders(store=store)
    assert result.error.startswith("The store did not answer; the next poll goes on from here")
    sync = _sync(store)
    assert (sync.watermark, sync.last_poll_error, sync.poll_lease_until) == (
        watermark,
        result.error,
        None,
    )
    assert Order.objects.filter(store=store).count() == 1


def test_woocommerce_orders_are_listed_by_modified_after_page_by_page(
    woo_sandbox, django_capture_on_commit_callbacks, monkeypatch
):
    from integrations.woocommerce import client as woo_client

    monkeypatch.setattr(woo_client, "BATCH_LIMIT", 2)  # pages of two, as with 100 in production
    store, offers = _listed_store(woo_sandbox, ["MUG-1"])
    woo_sandbox.app.silence_webhooks("maple-woo")
    placed = [
        woo_sandbox.app.create_order("maple-woo", lines=[{"sku": "MUG-1", "quantity": 1}])
        for _ in range(3)
    ]
    with django_capture_on_commit_callbacks(execute=True):
        result = reconciliation.poll_store_orders(store=store)
    assert (result.fetched, result.stored, result.error) == (3, 3, "")
    listed = [c for c in woo_sandbox.app.calls_for("maple-woo") if c.path.endswith("/wc/v3/orders")]
    assert len(listed) == 2
    assert sorted(Order.objects.filter(store=store).values_list("store_order_id", flat=True)) == (
        sorted(str(o["id"]) for o in placed)
    )
    offers["MUG-1"].variant.refresh_from_db()
    assert offers["MUG-1"].variant.stock_reserved == 3


@pytest.mark.django_db(transaction=True)
def test_a_webhook_and_the_poll_racing_for_one_order_make_one_order(
    shopify_sandbox, client, settings
):
    store, offers = _listed_store(shopify_sandbox, ["APR-4"])
    placed = shopify_sandbox.app.create_order(
        store.domain, lines=[{"sku": "APR-4", "quantity": 1}], deliver=False
    )
    webhook_body = json.dumps(
        shopify_sandbox.app.order_payload(shopify_sandbox.app.shops[store.domain], placed)
    ).encode()
    start = threading.Barrier(2)
    answers = []

    def deliver():
        start.wait()
        try:
            answers.append(
                post_shopify(client, webhook_body, topic="orders/create", shop=store.domain)
            )
        finally:
            connection.close()

    def poll():
        start.wait()
        try:
            reconciliation.poll_store_orders(store=Store.objects.get(pk=store.pk))
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver), threading.Thread(target=poll)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers[0].status_code == 200
    assert sorted(InboundWebhook.objects.filter(store=store).values_list("topic", "status")) == [
        ("orders/create", InboundWebhook.Status.PROCESSED),
        ("orders/polled", InboundWebhook.Status.PROCESSED),
    ]
    order = Order.objects.get(store=store)
    assert order.supplier_orders.get().status == SupplierOrder.Status.SENT
    offers["APR-4"].variant.refresh_from_db()
    assert offers["APR-4"].variant.stock_reserved == 1


def test_the_daily_check_subscribes_again_to_topics_shopify_dropped(shopify_sandbox, settings):
    from integrations.shopify.client import WEBHOOK_TOPICS

    store, _offers = _listed_store(shopify_sandbox, ["APR-5"])
    get_store_client(store=store).register_webhooks(
        callback_url=reconciliation.store_webhook_url(store=store)
    )
    shopify_sandbox.app.drop_subscriptions(store.domain, "orders/create")
    repaired = reconciliation.check_store_webhooks(store=store)
    assert repaired == ("orders/create: missing, subscribed again",)
    shop = shopify_sandbox.app.shops[store.domain]
    assert sorted(s["topic"] for s in shop.webhooks.values()) == sorted(WEBHOOK_TOPICS)
    store.refresh_from_db()
    assert sorted(store.credentials["webhook_ids"]) == sorted(shop.webhooks)
    assert "orders/create: missing, subscribed again" in _sync(store).webhooks_repaired
    assert reconciliation.check_store_webhooks(store=store) == ()  # a second run: all in place


def test_the_daily_check_sets_woocommerces_disabled_webhooks_active_again(woo_sandbox):
    from integrations.woocommerce.client import WEBHOOK_TOPICS

    store, _offers = _listed_store(woo_sandbox, ["MUG-2"])
    get_store_client(store=store).register_webhooks(
        callback_url=reconciliation.store_webhook_url(store=store)
    )
    woo_sandbox.app.disable_webhooks("maple-woo", "order.created")
    site = woo_sandbox.app.sites["maple-woo"]
    site.webhooks.pop(
        next(w["id"] for w in site.webhooks.values() if w["topic"] == "order.updated")
    )
    repaired = reconciliation.check_store_webhooks(store=store)
    assert repaired == (
        "order.created: disabled, set active again",
        "order.updated: missing, created again",
    )
    assert sorted((w["topic"], w["status"]) for w in site.webhooks.values()) == [
        (topic, "active") for topic in sorted(WEBHOOK_TOPICS)
    ]


def test_support_lists_the_stores_whose_webhooks_went_quiet(admin_client):
    quiet = factories.StoreFactory(name="Quiet Shop")
    factories.StoreFactory(name="Chatty Shop")
    StoreOrderSync.objects.create(
        store=quiet, webhooks_quiet_since=timezone.now(), quiet_reason="4 orders came by poll."
    )
    page = admin_client.get("/admin/retailers/store/?webhooks=quiet").content.decode()
    assert "Quiet Shop" in page
    assert "Chatty Shop" not in page
    assert "4 orders came by poll." in page
