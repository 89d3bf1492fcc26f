"""The retailer API: stores, custom stores, orders, listings, pricing rules and import jobs."""

from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest

from catalog.models import Variant
from dropship.accounts.services import create_api_key
from integrations.connect import TokenGrant
from orders.models import Order, Shipment
from retailers.models import Listing, ListingVariant, PricingRule, Store
from retailers.services import (
    StoreConnectionError,
    api_install_state,
    create_custom_store,
    open_pending_install,
    seal_pending_install,
)
from tests import factories
from tests.integrations.helpers import approve_in_shopify
from tests.orders.pipeline import make_offer, make_supplier

pytestmark = pytest.mark.django_db


def _auth(organisation) -> dict[str, str]:
    _, secret = create_api_key(organisation=organisation, name="test", created_by=None)
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def _post(client, path, body, headers):
    return client.post(path, body, content_type="application/json", **headers)


ADDRESS = {
    "name": "Ada Lovelace",
    "address1": "1 Analytical Way",
    "city": "Boston",
    "zip": "02101",
    "country": "United States",
    "country_code": "US",
}


# --- stores and pricing rules through the API only -------------------------------------------
@pytest.mark.embedded  # README: the JSON API's retailer resources
def test_a_retailer_connects_woocommerce_and_creates_a_pricing_rule_using_only_the_api(
    client, woo_sandbox
):
    retailer = factories.RetailerFactory()
    headers = _auth(retailer)
    site, key, secret = woo_sandbox.app.add_site("maple-woo", currency="EUR")

    created = _post(
        client,
        "/api/v1/stores",
        {
            "platform": "WOOCOMMERCE",
            "site_url": site.url,
            "consumer_key": key,
            "consumer_secret": secret,
        },
        headers,
    )

    assert created.status_code == 201, created.content
    store = Store.objects.get()
    body = created.json()
    assert (body["id"], body["platform"], body["status"], body["currency"], body["name"]) == (
        store.pk,
        "WOOCOMMERCE",
        "CONNECTED",
        "EUR",
        "Maple Woo",
    )
    assert secret not in created.content.decode()
    assert key not in created.content.decode()
    assert len(site.webhooks) == 3

    listed = client.get("/api/v1/stores", **headers).json()
    assert [s["id"] for s in listed["items"]] == [store.pk]
    assert listed["has_more"] is False
    detail = client.get(f"/api/v1/stores/{store.pk}", **headers).json()
    assert (detail["listing_count"], detail["order_count"], detail["last_synced_at"]) == (
        0,
        0,
        None,
    )

    rule = _post(
        client,
        "/api/v1/pricing-rules",
        {
            "name": "Woo markup",
            "store_id": store.pk,
            "method": "PERCENT",
            "value": "80",
            "rounding": "END_95",
            "min_margin_percent": "15",
            "tiers": [
                {"min_cost": "0", "max_cost": "10", "method": "MULTIPLIER", "value": "3"},
                {"min_cost": "10", "max_cost": None, "method": "PERCENT", "value": "60"},
            ],
        },
        headers,
    )
    assert rule.status_code == 201, rule.content
    saved = PricingRule.objects.get()
    assert (saved.store_id, saved.method, saved.value, saved.rounding) == (
        store.pk,
        "PERCENT",
        Decimal("80"),
        "END_95",
    )
    assert [(t.min_cost, t.max_cost) for t in saved.tiers.all()] == [
        (Decimal("0.00"), Decimal("10.00")),
        (Decimal("10.00"), None),
    ]
    assert rule.json()["tiers"][1]["method"] == "PERCENT"

    replaced = client.put(
        f"/api/v1/pricing-rules/{saved.pk}",
        {"name": "Woo markup", "store_id": store.pk, "method": "MULTIPLIER", "value": "2.5"},
        content_type="application/json",
        **headers,
    )
    assert replaced.status_code == 200, replaced.content
    assert (replaced.json()["method"], replaced.json()["tiers"]) == ("MULTIPLIER", [])
    assert [r["id"] for r in client.get("/api/v1/pricing-rules", **headers).json()["items"]] == [
        saved.pk
    ]
    assert client.delete(f"/api/v1/pricing-rules/{saved.pk}", **headers).status_code == 204
    assert PricingRule.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"platform": "CUSTOM"}, "name"),
        ({"platform": "CUSTOM", "name": "Phone", "currency": "XXX"}, "currency"),
        ({"platform": "SHOPIFY", "name": "x"}, "platform"),
        ({"platform": "WOOCOMMERCE", "site_url": "https://maple.example"}, "consumer_key"),
        (
            {
                "platform": "WOOCOMMERCE",
                "site_url": "https://127.0.0.1:9",
                "consumer_key": "cs_swapped",
                "consumer_secret": "ck_swapped",
            },
            "consumer_key",
        ),
        (
            {
                "platform": "WOOCOMMERCE",
                "site_url": "ftp://x",
                "consumer_key": "ck_a",
                "consumer_secret": "cs_b",
            },
            "site_url",
        ),
    ],
)
def test_a_store_the_api_cannot_create_answers_422_naming_the_field(client, body, field):
    retailer = factories.RetailerFactory()
    response = _post(client, "/api/v1/stores", body, _auth(retailer))
    assert response.status_code == 422, response.content
    assert response.json()["field"] == field
    assert Store.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "", "method": "PERCENT", "value": "50"}, "name"),
        ({"name": "Low", "method": "MULTIPLIER", "value": "0.5"}, "value"),
        ({"name": "Neg", "method": "PERCENT", "value": "-1"}, "value"),
        ({"name": "Odd", "method": "SQUARE", "value": "2"}, "method"),
        (
            {"name": "Pct", "method": "PERCENT", "value": "50", "min_margin_percent": "100"},
            "min_margin_percent",
        ),
        (
            {
                "name": "Gap",
                "method": "PERCENT",
                "value": "50",
                "tiers": [
                    {"min_cost": "0", "max_cost": "10", "method": "PERCENT", "value": "50"},
                    {"min_cost": "12", "method": "PERCENT", "value": "40"},
                ],
            },
            "tiers",
        ),
    ],
)
def test_a_pricing_rule_the_form_would_refuse_answers_422_naming_the_field(client, body, field):
    retailer = factories.RetailerFactory()
    response = _post(client, "/api/v1/pricing-rules", body, _auth(retailer))
    assert response.status_code == 422, response.content
    assert response.json()["field"] == field
    assert PricingRule.objects.count() == 0


def test_a_second_rule_for_the_same_scope_answers_409(client):
    retailer = factories.RetailerFactory()
    headers = _auth(retailer)
    rule = {"name": "Default", "method": "MULTIPLIER", "value": "2"}
    assert _post(client, "/api/v1/pricing-rules", rule, headers).status_code == 201
    again = _post(client, "/api/v1/pricing-rules", rule, headers)
    assert again.status_code == 409
    assert "already have your default rule" in again.json()["detail"]
    assert PricingRule.objects.count() == 1


def test_shopify_install_answers_the_authorize_url_whose_state_the_callback_accepts(
    client, settings
):
    retailer = factories.RetailerFactory()
    response = _post(
        client, "/api/v1/stores/shopify-install", {"shop": "maple-and-co"}, _auth(retailer)
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["shop"] == "maple-and-co.myshopify.com"
    assert body["expires_in"] == 3600
    url = urlsplit(body["authorize_url"])
    query = parse_qs(url.query)
    assert (url.netloc, url.path) == ("maple-and-co.myshopify.com", "/admin/oauth/authorize")
    assert query["redirect_uri"] == [f"{settings.SITE_URL}/shopify/callback/"]
    state = query["state"][0]
    assert api_install_state(state) == {
        "state": state,
        "shop": "maple-and-co.myshopify.com",
        "retailer": retailer.pk,
    }
    assert api_install_state("forged") == {}

    for shop in ("not a shop!", "[maple.myshopify.com"):  # "[" once made urllib raise: 500
        bad = _post(client, "/api/v1/stores/shopify-install", {"shop": shop}, _auth(retailer))
        assert bad.status_code == 422, shop
        assert bad.json()["field"] == "shop"


def test_an_install_asked_for_through_the_api_is_finished_only_by_that_retailer():
    asking, other = factories.RetailerFactory(), factories.RetailerFactory()
    grant = TokenGrant(access_token="shpat_x", scope="read_products")
    sealed = seal_pending_install(
        shop="maple-and-co.myshopify.com", grant=grant, retailer_id=asking.pk
    )

    with pytest.raises(StoreConnectionError, match="another Dropship account"):
        open_pending_install(sealed, retailer=other)
    shop, opened = open_pending_install(sealed, retailer=asking)

    assert shop == "maple-and-co.myshopify.com"
    assert opened.access_token == "shpat_x"


def test_disconnecting_a_custom_store_keeps_it_readable_and_is_safe_twice(client):
    retailer = factories.RetailerFactory()
    store = create_custom_store(retailer=retailer, name="Phone orders", currency="USD")
    headers = _auth(retailer)
    first = _post(client, f"/api/v1/stores/{store.pk}/disconnect", {}, headers)
    again = _post(client, f"/api/v1/stores/{store.pk}/disconnect", {}, headers)
    assert (first.status_code, again.status_code) == (200, 200)
    assert first.json()["status"] == again.json()["status"] == "DISCONNECTED"
    assert first.json()["domain"] == ""
    assert (
        client.get("/api/v1/stores?status=DISCONNECTED", **headers).json()["items"][0]["id"]
        == store.pk
    )


# --- scoping: another retailer's objects, a supplier's key ----------------------------------
@pytest.fixture
def other_retailers_objects():
    store = factories.StoreFactory(platform="CUSTOM", domain="other.custom.dropship")
    offer = make_offer(store=store)
    rule = PricingRule.objects.create(retailer=store.retailer, name="Theirs")
    order = factories.OrderFactory(store=store, retailer=store.retailer)
    return {"store": store, "listing": offer.listing, "rule": rule, "order": order}


def test_another_retailers_objects_answer_404_like_missing_ones(client, other_retailers_objects):
    objects = other_retailers_objects
    headers = _auth(factories.RetailerFactory())
    requests = [
        ("get", f"/api/v1/stores/{objects['store'].pk}", None),
        ("post", f"/api/v1/stores/{objects['store'].pk}/disconnect", {}),
        ("get", f"/api/v1/orders/{objects['order'].pk}", None),
        (
            "patch",
            f"/api/v1/listings/{objects['listing'].pk}",
            {"variants": [{"id": 1, "retail_price": "1"}]},
        ),
        ("post", f"/api/v1/listings/{objects['listing'].pk}/unlist", {}),
        ("post", f"/api/v1/listings/{objects['listing'].pk}/resync", {}),
        ("get", f"/api/v1/pricing-rules/{objects['rule'].pk}", None),
        (
            "put",
            f"/api/v1/pricing-rules/{objects['rule'].pk}",
            {"name": "x", "method": "PERCENT", "value": "1"},
        ),
        ("delete", f"/api/v1/pricing-rules/{objects['rule'].pk}", None),
    ]
    for method, path, body in requests:
        kwargs = {"content_type": "application/json", "data": body} if body is not None else {}
        response = getattr(client, method)(path, **kwargs, **headers)
        assert response.status_code == 404, (method, path, response.content)
        assert response.json()["status"] == 404
    assert objects["store"].__class__.objects.get(pk=objects["store"].pk).status == "CONNECTED"
    assert Listing.objects.get(pk=objects["listing"].pk).status == "ACTIVE"
    assert PricingRule.objects.filter(pk=objects["rule"].pk).exists()
    for path in (
        "/api/v1/stores",
        "/api/v1/orders",
        "/api/v1/listings",
        "/api/v1/pricing-rules",
        "/api/v1/jobs",
    ):
        assert client.get(path, **headers).json()["items"] == [], path


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/stores"),
        ("get", "/api/v1/stores/1"),
        ("post", "/api/v1/stores"),
        ("post", "/api/v1/stores/shopify-install"),
        ("post", "/api/v1/stores/1/disconnect"),
        ("get", "/api/v1/orders"),
        ("get", "/api/v1/orders/1"),
        ("get", "/api/v1/listings"),
        ("patch", "/api/v1/listings/1"),
        ("post", "/api/v1/listings/1/unlist"),
        ("post", "/api/v1/listings/1/resync"),
        ("get", "/api/v1/pricing-rules"),
        ("post", "/api/v1/pricing-rules"),
        ("get", "/api/v1/pricing-rules/1"),
        ("put", "/api/v1/pricing-rules/1"),
        ("delete", "/api/v1/pricing-rules/1"),
        ("get", "/api/v1/jobs"),
    ],
)
def test_a_supplier_key_answers_403(client, method, path):
    headers = _auth(factories.SupplierFactory())
    response = getattr(client, method)(path, content_type="application/json", **headers)
    assert response.status_code == 403, response.content
    assert "retailer" in response.json()["detail"]


# --- a custom store end to end by the API ---------------------------------------------------
@pytest.mark.embedded  # README: custom stores and manual orders
@pytest.mark.django_db(transaction=True)  # the card charge runs when the order commits
def test_a_custom_store_created_by_api_takes_an_order_the_supplier_ships_with_its_invoice_link(
    client, stripe_sandbox, settings
):
    retailer = stripe_sandbox.save_card(factories.RetailerFactory())
    headers = _auth(retailer)
    supplier = make_supplier()
    product = factories.ProductFactory(supplier=supplier, title="Red mug")
    variant = factories.VariantFactory(
        product=product, sku="MUG-RED", stock_on_hand=10, wholesale_price=Decimal("10.00")
    )

    created = _post(
        client, "/api/v1/stores", {"platform": "CUSTOM", "name": "Phone orders"}, headers
    )
    assert created.status_code == 201, created.content
    store_id, public_id = created.json()["id"], created.json()["public_id"]
    job = _post(
        client,
        "/api/v1/products/import",
        {"store_id": store_id, "product_ids": [product.pk]},
        headers,
    )
    assert job.status_code == 202, job.content
    jobs = client.get("/api/v1/jobs", **headers).json()["items"]
    assert [(j["id"], j["status"], j["succeeded"], j["failed"]) for j in jobs] == [
        (job.json()["job_id"], "COMPLETED", 1, 0)
    ]
    listing = client.get(f"/api/v1/listings?store={store_id}", **headers).json()["items"][0]
    assert listing["store_product_id"] == f"DSP-{product.pk}"
    assert [(v["sku"], v["store_variant_id"]) for v in listing["variants"]] == [
        ("MUG-RED", f"DSV-{variant.pk}")
    ]

    order = _post(
        client,
        "/api/v1/orders",
        {
            "store": public_id,
            "store_order_id": "PH-1",
            "shipping_address": ADDRESS,
            "lines": [
                {"store_line_id": "1", "store_variant_id": f"DSV-{variant.pk}", "quantity": 2}
            ],
        },
        headers,
    )
    assert order.status_code == 201, order.content
    body = order.json()
    so = body["supplier_orders"][0]
    assert so["status"] == "SENT"
    invoice = retailer.invoices.get()
    assert so["invoice_url"] == f"{settings.SITE_URL}/retailer/billing/invoices/{invoice.number}/"
    assert body["invoice_url"] == so["invoice_url"]

    supplier_headers = _auth(supplier)
    assert (
        _post(
            client, f"/api/v1/supplier/orders/{so['id']}/accept", {}, supplier_headers
        ).status_code
        == 200
    )
    shipped = _post(
        client,
        f"/api/v1/supplier/orders/{so['id']}/ship",
        {"carrier": "UPS", "tracking_number": "1Z999AA10123456784"},
        supplier_headers,
    )
    assert shipped.status_code == 200, shipped.content

    detail = client.get(f"/api/v1/orders/{body['id']}", **headers).json()
    assert detail["status"] == "SHIPPED"
    parcel = detail["supplier_orders"][0]["shipments"][0]
    assert (parcel["carrier"], parcel["tracking_number"]) == ("UPS", "1Z999AA10123456784")
    assert parcel["line_ids"] == [detail["items"][0]["id"]]
    assert Variant.objects.get(pk=variant.pk).stock_on_hand == 8
    assert Shipment.objects.get().supplier_order.order.store_id == store_id
    summary = client.get(f"/api/v1/stores/{store_id}", **headers).json()
    assert (summary["listing_count"], summary["order_count"]) == (1, 1)


# --- orders list -----------------------------------------------------------------------------
def test_orders_list_filters_and_pages_with_a_cursor(client):
    retailer = factories.RetailerFactory()
    store = factories.StoreFactory(retailer=retailer)
    other_store = factories.StoreFactory(retailer=retailer, domain="second.myshopify.com")
    orders = [
        factories.OrderFactory(
            store=store, retailer=retailer, number=f"#{1000 + i}", status="CONFIRMED"
        )
        for i in range(3)
    ]
    shipped = factories.OrderFactory(
        store=other_store, retailer=retailer, number="#2000", status="SHIPPED"
    )
    headers = _auth(retailer)

    first = client.get("/api/v1/orders?limit=2", **headers).json()
    assert [o["id"] for o in first["items"]] == [shipped.pk, orders[2].pk]
    second = client.get(f"/api/v1/orders?limit=2&cursor={first['next_cursor']}", **headers).json()
    assert [o["id"] for o in second["items"]] == [orders[1].pk, orders[0].pk]
    assert second["has_more"] is False

    def ids(query):
        response = client.get(f"/api/v1/orders?{query}", **headers)
        assert response.status_code == 200, response.content
        return [o["id"] for o in response.json()["items"]]

    assert ids("status=SHIPPED") == [shipped.pk]
    assert ids(f"store={store.pk}") == [o.pk for o in reversed(orders)]
    assert ids("q=2000") == [shipped.pk]
    Order.objects.filter(pk=orders[0].pk).update(created_at="2026-01-01T00:00:00Z")
    assert ids("created_to=2026-02-01T00:00:00Z") == [orders[0].pk]
    assert orders[0].pk not in ids("created_from=2026-02-01T00:00:00Z")

    bad = client.get("/api/v1/orders?status=LOST", **headers)
    assert (bad.status_code, bad.json()["field"]) == (422, "status")
    bad = client.get("/api/v1/orders?store=0", **headers)
    assert (bad.status_code, bad.json()["field"]) == (422, "store")


# --- listings --------------------------------------------------------------------------------
def test_listing_prices_are_set_by_api_and_a_price_below_cost_changes_nothing(client):
    retailer = factories.RetailerFactory()
    store = create_custom_store(retailer=retailer, name="Phone orders")
    offer = make_offer(store=store, wholesale="10.00")
    headers = _auth(retailer)
    path = f"/api/v1/listings/{offer.listing_id}"

    refused = client.patch(
        path,
        {"variants": [{"id": offer.pk, "retail_price": "9.99"}]},
        content_type="application/json",
        **headers,
    )
    assert refused.status_code == 422
    assert refused.json()["field"] == "variants.0.retail_price"
    assert "below its wholesale cost 10.00" in refused.json()["detail"]
    assert ListingVariant.objects.get(pk=offer.pk).retail_price == Decimal("24.99")

    foreign = client.patch(
        path,
        {"variants": [{"id": 999999, "retail_price": "20"}]},
        content_type="application/json",
        **headers,
    )
    assert (foreign.status_code, foreign.json()["field"]) == (422, "variants.0.id")

    changed = client.patch(
        path,
        {"variants": [{"id": offer.pk, "retail_price": "27.50"}]},
        content_type="application/json",
        **headers,
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["variants"][0]["retail_price"] == "27.50"
    assert ListingVariant.objects.get(pk=offer.pk).retail_price == Decimal("27.50")

    assert _post(client, f"{path}/resync", {}, headers).status_code == 202
    unlisted = _post(client, f"{path}/unlist", {}, headers)
    assert (unlisted.status_code, unlisted.json()["status"]) == (200, "UNLISTED")
    assert [
        item["id"]
        for item in client.get("/api/v1/listings?status=UNLISTED", **headers).json()["items"]
    ] == [offer.listing_id]
    assert client.get("/api/v1/listings?status=ACTIVE", **headers).json()["items"] == []


def test_a_shop_installed_from_the_api_url_is_attached_to_the_owner_who_signs_in(
    client, shopify_sandbox
):
    member = factories.RetailerMemberFactory()
    shop = "maple-and-co.myshopify.com"
    shopify_sandbox.app.add_shop(shop)
    answer = _post(
        client, "/api/v1/stores/shopify-install", {"shop": shop}, _auth(member.retailer)
    ).json()

    callback = approve_in_shopify(answer["authorize_url"])  # the merchant approves in Shopify
    client.force_login(member.user)  # in the browser signed in to Dropship
    response = client.get("/shopify/callback/", callback)
    assert response["Location"] == "/retailer/stores/shopify/finish/"
    response = client.get("/retailer/stores/shopify/finish/")

    assert response["Location"] == "/retailer/stores/"
    store = Store.objects.get()
    assert (store.retailer, store.domain, store.status) == (member.retailer, shop, "CONNECTED")


def test_a_forged_install_state_is_refused_by_the_callback(client, shopify_sandbox):
    response = client.get(
        "/shopify/callback/", {"shop": "maple-and-co.myshopify.com", "state": "forged", "code": "x"}
    )
    assert response.status_code == 400
    assert Store.objects.count() == 0
