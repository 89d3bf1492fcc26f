"""Expiring offline access tokens: requested at install, stored encrypted with their refresh
token, renewed before they run out and once after a 401, saved under a row lock so concurrent
workers keep the newest pair, and a refused refresh turns the store NEEDS_RECONNECT with the
reason the retailer sees. Everything against the Shopify sandbox over real HTTP."""

import threading
import time
from decimal import Decimal

import pytest
from django.db import close_old_connections, connection

from catalog.services import set_stock
from integrations.base import StoreAuthError
from integrations.registry import get_store_client
from integrations.shopify.oauth import grant_from_answer
from retailers.models import Listing, PricingRule, Store
from retailers.services import check_store_connection, start_store_imports
from retailers.services.stores import StoreConnectionError
from retailers.sync.drain import drain_store
from tests import factories
from tests.integrations.helpers import approve_in_shopify
from tests.retailers.sync_support import list_product, shown

SHOP = "maple-and-co.myshopify.com"


def _raw_credentials(store_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials FROM retailers_store WHERE id = %s", [store_id])
        return cursor.fetchone()[0]


def _stored(store: Store) -> dict:
    return Store.objects.get(pk=store.pk).credentials


def _unauthorized(sandbox, domain: str) -> int:
    return len(sandbox.app.calls_for(domain, "unauthorized"))


def _switch_to_expiring(sandbox, store: Store) -> Store:
    """Give a connected store an expiring token pair, as the OAuth install now stores it."""
    answer = sandbox.app.issue_expiring_token(store.domain)
    store.credentials = {
        **store.credentials,
        **grant_from_answer(answer, now=sandbox.app.clock()).as_credentials(),
    }
    store.save(update_fields=["credentials"])
    return store


@pytest.mark.django_db
def test_install_requests_an_expiring_token_and_stores_the_pair_encrypted(
    retailer_client, shopify_sandbox
):
    # From 2027-01-01 Shopify refuses non-expiring offline tokens of public apps.
    shopify_sandbox.app.require_expiring_tokens()
    started = shopify_sandbox.app.clock()
    response = retailer_client.post("/retailer/stores/shopify/connect/", {"shop": "maple-and-co"})
    callback = approve_in_shopify(response["Location"])

    response = retailer_client.get("/retailer/stores/shopify/callback/", callback)

    assert response.status_code == 302
    store = Store.objects.get()
    assert store.status == Store.Status.CONNECTED
    credentials = store.credentials
    assert shopify_sandbox.app.live_refresh_tokens(SHOP) == [credentials["refresh_token"]]
    assert started + 3600 <= credentials["access_token_expires_at"] <= time.time() + 3600 + 5
    assert started + 90 * 86400 <= credentials["refresh_token_expires_at"]
    raw = _raw_credentials(store.pk)
    assert credentials["refresh_token"] not in raw
    assert credentials["access_token"] not in raw


@pytest.mark.django_db
def test_a_token_about_to_expire_is_renewed_before_the_call(shopify_sandbox):
    store = shopify_sandbox.connect_store(expiring=True)
    old = store.credentials
    # One minute left (inside the five-minute margin), on both sides.
    shopify_sandbox.clock.advance(3600 - 60)
    store.credentials = {**old, "access_token_expires_at": time.time() + 60}
    store.save(update_fields=["credentials"])

    info = check_store_connection(store=store)

    assert info.name == "Maple And Co"
    assert shopify_sandbox.app.refreshes(SHOP) == 1
    assert _unauthorized(shopify_sandbox, SHOP) == 0  # renewed before, not after a refusal
    stored = _stored(store)
    assert stored["access_token"] != old["access_token"]
    assert stored["refresh_token"] != old["refresh_token"]
    assert stored["access_token_expires_at"] > time.time() + 3000
    assert stored["webhook_ids"] == old["webhook_ids"]


@pytest.mark.django_db
def test_an_expired_token_is_renewed_once_after_the_401_and_the_call_goes_through(
    shopify_sandbox,
):
    store = shopify_sandbox.connect_store(expiring=True)
    old = store.credentials
    shopify_sandbox.app.expire_access_tokens(SHOP)

    info = get_store_client(store=store).verify_connection()

    assert info.name == "Maple And Co"
    assert _unauthorized(shopify_sandbox, SHOP) == 1
    assert shopify_sandbox.app.refreshes(SHOP) == 1
    stored = _stored(store)
    assert stored["access_token"] != old["access_token"]
    # The saved refresh token works; the old one retires once its replacement is used.
    assert stored["refresh_token"] in shopify_sandbox.app.live_refresh_tokens(SHOP)
    shopify_sandbox.app.expire_access_tokens(SHOP)
    get_store_client(store=Store.objects.get(pk=store.pk)).verify_connection()
    assert shopify_sandbox.app.refreshes(SHOP) == 2
    live = shopify_sandbox.app.live_refresh_tokens(SHOP)
    assert _stored(store)["refresh_token"] in live
    assert old["refresh_token"] not in live


@pytest.mark.django_db
def test_a_second_401_after_the_renewal_is_final(shopify_sandbox):
    store = shopify_sandbox.connect_store(expiring=True)
    shopify_sandbox.app.revoke_tokens(SHOP)  # uninstalled: every token and refresh token dead

    with pytest.raises(StoreAuthError):
        get_store_client(store=store).verify_connection()

    assert _unauthorized(shopify_sandbox, SHOP) == 1
    assert shopify_sandbox.app.refreshes(SHOP) == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_renewing_at_once_keep_the_newest_pair(shopify_sandbox):
    store = shopify_sandbox.connect_store(expiring=True)
    shopify_sandbox.app.expire_access_tokens(SHOP)
    start = threading.Barrier(2)
    answers: list[str] = []
    errors: list[BaseException] = []

    def worker():
        try:
            client = get_store_client(store=Store.objects.get(pk=store.pk))
            start.wait(timeout=10)
            answers.append(client.verify_connection().name)
        except BaseException as exc:
            errors.append(exc)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert answers == ["Maple And Co", "Maple And Co"]
    # One worker renewed under the row lock; the other found the fresh token and used it.
    assert shopify_sandbox.app.refreshes(SHOP) == 1
    assert _stored(store)["refresh_token"] in shopify_sandbox.app.live_refresh_tokens(SHOP)
    # The saved pair really works: the next expiry is renewed with it.
    shopify_sandbox.app.expire_access_tokens(SHOP)
    get_store_client(store=Store.objects.get(pk=store.pk)).verify_connection()
    assert Store.objects.get(pk=store.pk).status == Store.Status.CONNECTED


@pytest.mark.django_db
def test_a_refused_refresh_marks_the_store_needs_reconnect_with_the_reason(
    shopify_sandbox, retailer_client, mailoutbox, django_capture_on_commit_callbacks
):
    store = shopify_sandbox.connect_store(retailer=retailer_client.retailer, expiring=True)
    before = store.credentials
    shopify_sandbox.app.expire_access_tokens(SHOP)
    shopify_sandbox.app.revoke_refresh_tokens(SHOP)

    with (
        pytest.raises(StoreConnectionError) as caught,
        django_capture_on_commit_callbacks(execute=True),
    ):
        check_store_connection(store=store)

    store.refresh_from_db()
    assert store.status == Store.Status.NEEDS_RECONNECT
    assert store.status_reason.startswith("Shopify refused to renew our access")
    assert "Reconnect the store" in store.status_reason
    assert str(caught.value) == store.status_reason
    assert store.credentials == before  # nothing half-written
    page = retailer_client.get("/retailer/stores/").content.decode()
    assert "Shopify refused to renew our access" in page
    assert [m.subject for m in mailoutbox] == [f"Reconnect {store.name} to Dropship"]


@pytest.mark.django_db
def test_a_refresh_token_past_its_expiry_is_not_sent_and_asks_for_reconnection(shopify_sandbox):
    store = shopify_sandbox.connect_store(expiring=True)
    store.credentials = {
        **store.credentials,
        "access_token_expires_at": time.time() - 1,
        "refresh_token_expires_at": time.time() - 1,
    }
    store.save(update_fields=["credentials"])

    with pytest.raises(StoreConnectionError, match="refresh token for this store ran out"):
        check_store_connection(store=store)

    assert shopify_sandbox.app.refreshes(SHOP) == 0
    store.refresh_from_db()
    assert store.status == Store.Status.NEEDS_RECONNECT


@pytest.mark.django_db
def test_a_shopify_outage_during_the_refresh_changes_nothing(shopify_sandbox):
    store = shopify_sandbox.connect_store(expiring=True)
    before = store.credentials
    shopify_sandbox.app.expire_access_tokens(SHOP)
    shopify_sandbox.server.stop()  # the token endpoint cannot be reached

    with pytest.raises(StoreConnectionError):
        check_store_connection(store=store)

    store.refresh_from_db()
    assert (store.status, store.credentials) == (Store.Status.CONNECTED, before)


# --- the flows survive a renewal -----------------------------------------------------------------
@pytest.mark.django_db
def test_the_stock_drain_survives_an_expired_token(shopify_sandbox, client_sleeps):
    supplier = factories.SupplierFactory(stock_buffer_percent=100)
    variant = factories.VariantFactory(
        product=factories.ProductFactory(supplier=supplier), stock_on_hand=20
    )
    store = shopify_sandbox.connect_store()
    list_product(store, variant.product, pushed=20)
    _switch_to_expiring(shopify_sandbox, store)
    shopify_sandbox.app.expire_access_tokens(SHOP)

    set_stock(variant=variant, quantity=7, source="API")
    drain_store(store_id=store.pk)

    assert shown(shopify_sandbox, store, variant) == 7
    assert shopify_sandbox.app.refreshes(SHOP) == 1
    assert Store.objects.get(pk=store.pk).status == Store.Status.CONNECTED


@pytest.mark.django_db(transaction=True)
def test_an_import_survives_an_expired_token(shopify_sandbox, client_sleeps):
    retailer = factories.RetailerFactory()
    PricingRule.objects.create(
        retailer=retailer, name="Default", method="MULTIPLIER", value=Decimal("2")
    )
    store = _switch_to_expiring(shopify_sandbox, shopify_sandbox.connect_store(retailer=retailer))
    product = factories.ProductFactory(title="Stoneware mug")
    factories.VariantFactory(product=product, sku="MUG-1", stock_on_hand=20)
    shopify_sandbox.app.expire_access_tokens(SHOP)

    (job,) = start_store_imports(retailer=retailer, stores=[store], product_ids=[product.pk])

    job.refresh_from_db()
    assert (job.status, job.succeeded_count, job.failed_count) == ("COMPLETED", 1, 0)
    listing = Listing.objects.get(store=store, product=product)
    assert listing.store_product_id in shopify_sandbox.app.shop(SHOP).products
    assert shopify_sandbox.app.refreshes(SHOP) == 1


@pytest.mark.django_db
def test_a_tracking_push_survives_an_expired_token(
    shopify_sandbox, client_sleeps, django_capture_on_commit_callbacks
):
    from orders.models import Shipment
    from tests.orders.test_tracking import _ship, _shopify_setup

    store, _sandbox_order, _order, [supplier_order] = _shopify_setup(
        shopify_sandbox, {"APRON-A": 1}
    )
    _switch_to_expiring(shopify_sandbox, store)
    shopify_sandbox.app.expire_access_tokens(SHOP)

    shipment = _ship(django_capture_on_commit_callbacks, supplier_order)

    shipment.refresh_from_db()
    assert shipment.push_status == Shipment.PushStatus.PUSHED
    assert list(shopify_sandbox.app.shop(SHOP).fulfillments) == [shipment.store_fulfillment_id]
    assert shopify_sandbox.app.refreshes(SHOP) == 1
