"""Connecting stores against the sandboxes over real HTTP: Shopify OAuth and WooCommerce keys."""

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import mail
from django.db import connection

from integrations.shopify import oauth
from retailers.models import Store
from tests import factories
from tests.integrations.helpers import approve_in_shopify

SHOP = "maple-and-co.myshopify.com"


def _raw_credentials(store_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials FROM retailers_store WHERE id = %s", [store_id])
        return cursor.fetchone()[0]


def test_full_shopify_oauth_connect_flow(retailer_client, shopify_sandbox, settings):
    response = retailer_client.post("/retailer/stores/shopify/connect/", {"shop": "maple-and-co"})
    assert response.status_code == 302
    authorize_url = response["Location"]
    assert authorize_url.startswith(f"{shopify_sandbox.base_url}/{SHOP}/admin/oauth/authorize?")
    query = parse_qs(urlsplit(authorize_url).query)
    assert query["client_id"] == [settings.SHOPIFY_API_KEY]
    assert query["scope"] == [",".join(settings.SHOPIFY_SCOPES)]
    assert query["redirect_uri"] == [settings.SITE_URL + "/retailer/stores/shopify/callback/"]

    callback = approve_in_shopify(authorize_url)
    response = retailer_client.get("/retailer/stores/shopify/callback/", callback)
    assert response.status_code == 302
    assert response["Location"] == "/retailer/stores/"

    store = Store.objects.get()
    shop = shopify_sandbox.app.shop(SHOP)
    assert (
        store.retailer,
        store.platform,
        store.domain,
        store.status,
        store.name,
        store.currency,
    ) == (retailer_client.retailer, "SHOPIFY", SHOP, "CONNECTED", "Maple And Co", "USD")
    assert store.location_id == shop.location_id
    token = store.credentials["access_token"]
    assert shopify_sandbox.app.tokens[token] == SHOP
    assert token not in _raw_credentials(store.pk)  # encrypted at rest
    subscriptions = sorted((w["topic"], w["callbackUrl"]) for w in shop.webhooks.values())
    callback_url = settings.SITE_URL + "/webhooks/shopify/"
    assert subscriptions == [
        ("APP_UNINSTALLED", callback_url),
        ("FULFILLMENT_ORDERS_HOLD_RELEASED", callback_url),
        ("FULFILLMENT_ORDERS_SCHEDULED_FULFILLMENT_ORDER_READY", callback_url),
        ("ORDERS_CANCELLED", callback_url),
        ("ORDERS_CREATE", callback_url),
        ("ORDERS_PAID", callback_url),
        ("ORDERS_UPDATED", callback_url),
        ("REFUNDS_CREATE", callback_url),
    ]
    assert sorted(store.credentials["webhook_ids"]) == sorted(shop.webhooks)
    page = retailer_client.get("/retailer/stores/")
    assert "Maple And Co" in page.content.decode()


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        ({"hmac": "0" * 64}, "signature on this request is not valid"),
        ({"state": "somebody-elses-state"}, "does not belong to your session"),
        ({"timestamp": str(int(time.time()) - 3 * 86400)}, "has expired"),
    ],
)
def test_shopify_callback_refused_when_tampered_and_nothing_stored(
    retailer_client, shopify_sandbox, settings, tamper, message
):
    response = retailer_client.post("/retailer/stores/shopify/connect/", {"shop": SHOP})
    callback = approve_in_shopify(response["Location"])
    callback.update(tamper)
    if (
        "hmac" not in tamper
    ):  # a forger who knows the secret could re-sign; Shopify's signature still has to hold
        callback["hmac"] = (
            oauth.calculate_hmac(callback) if "timestamp" in tamper else callback["hmac"]
        )
    response = retailer_client.get("/retailer/stores/shopify/callback/", callback, follow=True)
    assert message in response.content.decode()
    assert Store.objects.count() == 0
    assert shopify_sandbox.app.tokens == {}  # the code was never exchanged


def test_shopify_connect_refuses_a_domain_that_is_not_myshopify(retailer_client, shopify_sandbox):
    response = retailer_client.post(
        "/retailer/stores/shopify/connect/", {"shop": "https://evil.example.com"}
    )
    assert response.status_code == 400
    assert "myshopify.com address" in response.content.decode()


def test_shop_connected_to_another_retailer_is_refused(retailer_client, shopify_sandbox):
    factories.StoreFactory(domain=SHOP)
    response = retailer_client.post("/retailer/stores/shopify/connect/", {"shop": SHOP})
    assert response.status_code == 400
    assert "already connected to another Dropship account" in response.content.decode()


# --- WooCommerce -------------------------------------------------------------------------------
def test_woocommerce_connect_against_the_sandbox(retailer_client, woo_sandbox, settings):
    site, key, secret = woo_sandbox.app.add_site("maple-woo", currency="EUR")
    response = retailer_client.post(
        "/retailer/stores/woocommerce/connect/",
        {"site_url": site.url + "/", "consumer_key": key, "consumer_secret": secret},
    )
    assert response.status_code == 302
    store = Store.objects.get()
    assert (store.platform, store.domain, store.name, store.currency, store.status) == (
        "WOOCOMMERCE",
        site.url,
        "Maple Woo",
        "EUR",
        "CONNECTED",
    )
    assert store.credentials["consumer_secret"] == secret
    assert secret not in _raw_credentials(store.pk)
    callback = f"{settings.SITE_URL}/webhooks/woocommerce/{store.public_id}/"
    hooks = sorted((w["topic"], w["delivery_url"], w["secret"]) for w in site.webhooks.values())
    assert hooks == [
        ("order.created", callback, store.webhook_secret),
        ("order.deleted", callback, store.webhook_secret),
        ("order.updated", callback, store.webhook_secret),
    ]
    assert len(store.webhook_secret) == 43  # 32 random bytes, URL-safe base64
    assert [d.topic for d in woo_sandbox.app.deliveries] == ["ping", "ping", "ping"]
    assert woo_sandbox.app.rejected_calls() == []


def test_woocommerce_connect_with_wrong_keys_stores_nothing(retailer_client, woo_sandbox):
    site, key, _ = woo_sandbox.app.add_site("maple-woo")
    response = retailer_client.post(
        "/retailer/stores/woocommerce/connect/",
        {"site_url": site.url, "consumer_key": key, "consumer_secret": "cs_wrong"},
    )
    assert response.status_code == 400
    assert "WooCommerce refused these keys" in response.content.decode()
    assert Store.objects.count() == 0
    assert site.webhooks == {}


@pytest.mark.parametrize(
    ("key", "secret", "message"),
    [
        ("cs_swapped", "ck_swapped", "The consumer key starts with ck_"),
        ("ck_right", "not-a-secret", "The consumer secret starts with cs_."),
    ],
)
def test_woocommerce_keys_of_the_wrong_shape_are_refused_before_any_call(
    retailer_client, woo_sandbox, key, secret, message
):
    site, _, _ = woo_sandbox.app.add_site("maple-woo")
    response = retailer_client.post(
        "/retailer/stores/woocommerce/connect/",
        {"site_url": site.url, "consumer_key": key, "consumer_secret": secret},
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Store.objects.count() == 0
    assert woo_sandbox.app.calls == []


@pytest.mark.parametrize(
    ("site_url", "message"),
    [
        ("http://shop.example.com", "must start with https://"),
        ("https://169.254.169.254/", "private, loopback or reserved"),
        ("https://10.0.0.1/", "private, loopback or reserved"),
        ("https://[fd00::1]/", "private, loopback or reserved"),
    ],
)
def test_woocommerce_connect_refuses_unsafe_addresses_before_any_request(
    retailer_client, woo_sandbox, monkeypatch, site_url, message
):
    from integrations import safe_http

    monkeypatch.setattr(safe_http, "resolve_host", lambda host, port: ["93.184.215.14"])
    monkeypatch.setattr(
        safe_http, "safe_request", lambda *a, **k: pytest.fail("a request was sent")
    )
    response = retailer_client.post(
        "/retailer/stores/woocommerce/connect/",
        {"site_url": site_url, "consumer_key": "ck_x", "consumer_secret": "cs_y"},
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Store.objects.count() == 0


def test_woocommerce_loopback_refused_when_loopback_is_not_allowed(
    retailer_client, woo_sandbox, settings
):
    settings.ALLOW_LOOPBACK_URLS = False
    site, key, secret = woo_sandbox.app.add_site("maple-woo")
    response = retailer_client.post(
        "/retailer/stores/woocommerce/connect/",
        {"site_url": site.url, "consumer_key": key, "consumer_secret": secret},
    )
    assert response.status_code == 400
    assert woo_sandbox.app.calls == []
    assert Store.objects.count() == 0


# --- test, disconnect, 401 ---------------------------------------------------------------------
def test_disconnect_wipes_credentials_and_removes_webhooks(retailer_client, woo_sandbox):
    site, key, secret = woo_sandbox.app.add_site("maple-woo")
    retailer_client.post(
        "/retailer/stores/woocommerce/connect/",
        {"site_url": site.url, "consumer_key": key, "consumer_secret": secret},
    )
    store = Store.objects.get()
    response = retailer_client.post(f"/retailer/stores/{store.pk}/disconnect/")
    assert response.status_code == 302
    store.refresh_from_db()
    assert (store.status, store.credentials, store.webhook_secret) == ("DISCONNECTED", None, "")
    assert site.webhooks == {}


def test_store_answering_401_needs_reconnection_and_the_retailer_is_told(
    retailer_client, shopify_sandbox, django_capture_on_commit_callbacks
):
    store = shopify_sandbox.connect_store(retailer=retailer_client.retailer)
    assert retailer_client.post(f"/retailer/stores/{store.pk}/test/").status_code == 302
    shopify_sandbox.app.revoke_tokens(store.domain)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = retailer_client.post(f"/retailer/stores/{store.pk}/test/", follow=True)
    assert "refused our access token" in response.content.decode()
    store.refresh_from_db()
    assert store.status == "NEEDS_RECONNECT"
    assert "Needs reconnection" in response.content.decode()
    assert [m.subject for m in mail.outbox] == [f"Reconnect {store.name} to Dropship"]
    notice = retailer_client.retailer.notifications.get()
    assert (notice.kind, notice.level) == ("store_needs_reconnect", "ERROR")
    # A second refusal does not tell them twice.
    with django_capture_on_commit_callbacks(execute=True):
        retailer_client.post(f"/retailer/stores/{store.pk}/test/")
    assert len(mail.outbox) == 1


def test_another_retailers_store_is_404(retailer_client, shopify_sandbox):
    other = factories.StoreFactory()
    assert retailer_client.post(f"/retailer/stores/{other.pk}/disconnect/").status_code == 404
    other.refresh_from_db()
    assert other.status == "CONNECTED"


def test_stores_page_shows_webhook_health_without_a_query_per_store(retailer_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    first = factories.StoreFactory(retailer=retailer_client.retailer, name="First shop")
    with CaptureQueriesContext(connection) as one_store:
        retailer_client.get("/retailer/stores/")
    for n in range(5):
        factories.StoreFactory(retailer=retailer_client.retailer, name=f"Shop {n}")
    with CaptureQueriesContext(connection) as six_stores:
        page = retailer_client.get("/retailer/stores/")
    assert len(six_stores) == len(one_store)
    assert "First shop" in page.content.decode()
    assert first.domain in page.content.decode()
