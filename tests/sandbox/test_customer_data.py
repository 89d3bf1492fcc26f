"""The Shopify sandbox withholds protected customer data as Shopify does without level 2 access
(shopify.dev/docs/apps/launch/protected-customer-data): the switch the redaction tests use."""

from sandbox.shopify import ShopifySandbox

DOMAIN = "quiet-shop.myshopify.com"


def _placed(app: ShopifySandbox) -> dict:
    shop = app.add_shop(DOMAIN)
    variant_id = "gid://shopify/ProductVariant/1"
    shop.products["gid://shopify/Product/1"] = {"id": "gid://shopify/Product/1", "title": "Mug"}
    shop.variants[variant_id] = {
        "id": variant_id,
        "sku": "MUG-1",
        "title": "Default Title",
        "price": "12.00",
        "product_id": "gid://shopify/Product/1",
    }
    return app.create_order(DOMAIN, lines=[{"variant_id": variant_id, "quantity": 1}])


def test_redacted_webhook_body_keeps_the_region_and_withholds_the_shopper():
    app = ShopifySandbox()
    order = _placed(app)
    app.redact_customer_data(DOMAIN)
    body = app.order_payload(app.shop(DOMAIN), order)
    assert (body["email"], body["contact_email"], body["phone"]) == (None, None, None)
    assert set(body["customer"]) == {"id", "admin_graphql_api_id"}
    assert body["shipping_address"] == {
        "province": "Kentucky",
        "province_code": "KY",
        "country": "United States",
        "country_code": "US",
    }
    assert body["billing_address"] == body["shipping_address"]
    assert order["shipping_address"]["address1"] == "Chestnut Street 92"  # kept in the shop
    app.share_customer_data(DOMAIN)
    assert app.order_payload(app.shop(DOMAIN), order)["shipping_address"]["address1"] == (
        "Chestnut Street 92"
    )


def test_unpaid_order_is_paid_and_refunded_with_shopifys_topics():
    app = ShopifySandbox()
    order = _placed(app)
    assert app.order_payload(app.shop(DOMAIN), order)["financial_status"] == "paid"
    pending = app.create_order(
        DOMAIN,
        lines=[{"variant_id": "gid://shopify/ProductVariant/1", "quantity": 2}],
        financial_status="pending",
        gateway="Cash on Delivery (COD)",
        deliver=False,
    )
    body = app.order_payload(app.shop(DOMAIN), pending)
    assert (body["financial_status"], body["payment_gateway_names"]) == (
        "pending",
        ["Cash on Delivery (COD)"],
    )
    app.mark_paid(DOMAIN, pending["id"])
    assert pending["financial_status"] == "paid"
    refund = app.refund_lines(DOMAIN, pending["id"], [(pending["line_items"][0]["gid"], 1)])
    [line] = refund["refund_line_items"]
    assert (line["quantity"], line["restock_type"], refund["order_id"]) == (
        1,
        "cancel",
        pending["legacy_id"],
    )
    assert pending["financial_status"] == "partially_refunded"
    app.refund_lines(DOMAIN, pending["id"], [(pending["line_items"][0]["gid"], 1)])
    assert pending["financial_status"] == "refunded"
