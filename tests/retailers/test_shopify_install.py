"""Installing Dropship from Shopify: the signed app URL starts OAuth at once for the shop it
names, the merchant signs in (or up) and the shop is attached to their retailer, and bad
requests get a clear 400 with nothing written. Against the Shopify sandbox over real HTTP."""

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.sessions.models import Session

from integrations.models import InboundWebhook
from retailers.models import Store
from sandbox.shopify import sign_query
from tests import factories
from tests.integrations.helpers import approve_in_shopify, post_shopify

pytestmark = pytest.mark.django_db
SHOP = "maple-and-co.myshopify.com"


def _launch(client, shopify_sandbox, **query):
    return client.get("/shopify/", {**shopify_sandbox.app.launch_query(SHOP), **query})


def _install(client, shopify_sandbox):
    """Open the app from Shopify, approve it there, come back: the answer of our callback."""
    response = _launch(client, shopify_sandbox)
    assert response.status_code == 302
    callback = approve_in_shopify(response["Location"])
    return client.get("/shopify/callback/", callback)


def _nothing_written():
    assert Store.objects.count() == 0
    assert shopify_nothing_pending()


def shopify_nothing_pending() -> bool:
    return all("shopify_pending_install" not in s.get_decoded() for s in Session.objects.all())


def test_the_app_url_starts_oauth_for_the_shop_shopify_names(client, shopify_sandbox, settings):
    response = _launch(client, shopify_sandbox)

    assert response.status_code == 302
    url = response["Location"]
    assert url.startswith(f"{shopify_sandbox.base_url}/{SHOP}/admin/oauth/authorize?")
    query = parse_qs(urlsplit(url).query)
    assert query["client_id"] == [settings.SHOPIFY_API_KEY]
    assert query["scope"] == [",".join(settings.SHOPIFY_SCOPES)]
    assert query["redirect_uri"] == [settings.SITE_URL + "/shopify/callback/"]
    assert client.session["shopify_install"] == {"state": query["state"][0], "shop": SHOP}
    assert Store.objects.count() == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"hmac": "0" * 64}, "signature on this request is not valid"),
        ({"timestamp": "1"}, "This link from Shopify has expired"),
    ],
)
def test_a_tampered_or_stale_app_url_is_a_400_and_writes_nothing(
    client, shopify_sandbox, change, message
):
    if "timestamp" in change:  # signed by Shopify, but long ago
        query = shopify_sandbox.app.launch_query(SHOP, timestamp=1)
    else:
        query = {**shopify_sandbox.app.launch_query(SHOP), **change}

    response = client.get("/shopify/", query)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert "shopify_install" not in client.session
    _nothing_written()


def test_a_shop_outside_myshopify_com_is_a_400_even_when_signed(client, shopify_sandbox, settings):
    query = {
        "host": "x",
        "shop": "evil.example.com",
        "timestamp": str(int(shopify_sandbox.clock())),
    }
    query["hmac"] = sign_query(query, settings.SHOPIFY_API_SECRET)

    response = client.get("/shopify/", query)

    assert response.status_code == 400
    assert "which myshopify.com shop" in response.content.decode()
    _nothing_written()


def test_a_merchant_who_is_not_signed_in_signs_in_and_the_shop_is_attached(client, shopify_sandbox):
    response = _install(client, shopify_sandbox)
    assert response["Location"] == "/retailer/stores/shopify/finish/"
    assert Store.objects.count() == 0
    # The token pair waits in the session, encrypted.
    sealed = client.session["shopify_pending_install"]
    [live_refresh_token] = shopify_sandbox.app.live_refresh_tokens(SHOP)
    assert live_refresh_token not in json.dumps(sealed)

    response = client.get("/retailer/stores/shopify/finish/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
    member = factories.RetailerMemberFactory()
    client.force_login(member.user)
    response = client.get("/retailer/stores/shopify/finish/")

    assert response["Location"] == "/retailer/stores/"
    store = Store.objects.get()
    assert (store.retailer, store.domain, store.status) == (member.retailer, SHOP, "CONNECTED")
    assert store.credentials["refresh_token"] == live_refresh_token
    assert "shopify_pending_install" not in client.session
    page = client.get("/retailer/stores/").content.decode()
    assert "Maple And Co is connected" in page


def test_a_signed_in_owner_gets_the_shop_attached_directly(retailer_client, shopify_sandbox):
    response = _install(retailer_client, shopify_sandbox)
    response = retailer_client.get(response["Location"])

    assert response["Location"] == "/retailer/stores/"
    store = Store.objects.get()
    assert (store.retailer, store.status) == (retailer_client.retailer, "CONNECTED")


def test_an_already_connected_shop_is_reconnected_not_duplicated(retailer_client, shopify_sandbox):
    old = factories.StoreFactory(
        retailer=retailer_client.retailer,
        platform="SHOPIFY",
        domain=SHOP,
        status="NEEDS_RECONNECT",
        status_reason="Shopify refused to renew our access.",
        credentials={"access_token": "dead"},
    )

    retailer_client.get(_install(retailer_client, shopify_sandbox)["Location"])

    store = Store.objects.get()
    assert store.pk == old.pk
    assert (store.status, store.status_reason) == ("CONNECTED", "")
    assert store.credentials["access_token"] != "dead"


def test_a_shop_another_retailer_holds_is_not_attached(retailer_client, shopify_sandbox):
    theirs = factories.StoreFactory(platform="SHOPIFY", domain=SHOP, name="Theirs")

    response = retailer_client.get(_install(retailer_client, shopify_sandbox)["Location"])

    assert response["Location"] == "/retailer/stores/"
    page = retailer_client.get("/retailer/stores/").content.decode()
    assert "already connected to another Dropship account" in page
    assert list(Store.objects.values_list("pk", "retailer_id")) == [(theirs.pk, theirs.retailer_id)]


def test_a_supplier_cannot_take_the_pending_shop(supplier_client, shopify_sandbox):
    response = supplier_client.get(_install(supplier_client, shopify_sandbox)["Location"])

    assert response.status_code == 403
    assert Store.objects.count() == 0


def test_a_callback_without_our_state_is_a_400(client, shopify_sandbox):
    response = _launch(client, shopify_sandbox)
    callback = approve_in_shopify(response["Location"])
    client.cookies.clear()  # another browser: the state is not in its session

    response = client.get("/shopify/callback/", callback)

    assert response.status_code == 400
    assert "does not belong to your session" in response.content.decode()
    _nothing_written()


def test_finishing_without_a_pending_install_says_so(retailer_client):
    response = retailer_client.get("/retailer/stores/shopify/finish/", follow=True)

    assert "There is no Shopify installation waiting to be finished" in response.content.decode()
    assert Store.objects.count() == 0


@pytest.mark.parametrize("topic", ["customers/data_request", "customers/redact", "shop/redact"])
def test_compliance_topics_for_an_unknown_shop_answer_200(client, topic):
    body = json.dumps({"shop_id": 1, "shop_domain": "never-here.myshopify.com"}).encode()

    response = post_shopify(client, body, topic=topic, shop="never-here.myshopify.com")

    assert response.status_code == 200
    assert InboundWebhook.objects.count() == 0
