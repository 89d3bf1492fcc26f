"""Validly signed webhook bodies that are not a JSON object we accept answer 400 with the reason,
on every webhook; nothing waits to be processed. A NUL in a Shopify header is refused before."""

import pytest

from integrations.models import InboundWebhook
from integrations.signatures import sign_body
from suppliers.models import Supplier
from tests import factories
from tests.integrations.helpers import shopify_headers, stripe_headers, woo_headers

pytestmark = pytest.mark.django_db

BAD_BODIES = [
    (b"[" * 100_000 + b"]" * 100_000, "The body is nested too deeply (more than 64 levels)."),
    (b"5", "The body must be a JSON object."),
    (b'{"id": "a\\u0000b"}', "The body contains a NUL character (\\u0000)."),
    (b'{"total": NaN}', "The body is not valid JSON: NaN is not a number."),
]
IDS = ["deep", "bare-number", "nul", "nan"]


def _assert_refused(response, message):
    assert response.status_code == 400
    assert response.json()["detail"] == message
    assert not InboundWebhook.objects.filter(status=InboundWebhook.Status.RECEIVED).exists()


@pytest.mark.parametrize(("body", "message"), BAD_BODIES, ids=IDS)
def test_shopify(client, body, message):
    store = factories.StoreFactory(domain="bad-bodies.myshopify.com")

    response = client.post(
        "/webhooks/shopify/",
        data=body,
        content_type="application/json",
        **shopify_headers(body, topic="orders/create", shop=store.domain),
    )

    _assert_refused(response, message)
    assert InboundWebhook.objects.get().last_error == message  # support sees what arrived


@pytest.mark.parametrize(("body", "message"), BAD_BODIES, ids=IDS)
def test_woocommerce(client, body, message):
    store = factories.StoreFactory(platform="WOOCOMMERCE", domain="shop.example.com")

    response = client.post(
        f"/webhooks/woocommerce/{store.public_id}/",
        data=body,
        content_type="application/json",
        **woo_headers(body, topic="order.created", secret=store.webhook_secret),
    )

    _assert_refused(response, message)


@pytest.mark.parametrize(("body", "message"), BAD_BODIES, ids=IDS)
def test_stripe(client, body, message):
    response = client.post(
        "/webhooks/stripe/", data=body, content_type="application/json", **stripe_headers(body)
    )

    _assert_refused(response, message)


@pytest.mark.parametrize(("body", "message"), BAD_BODIES, ids=IDS)
def test_supplier(client, body, message):
    supplier = factories.SupplierFactory(
        order_channel=Supplier.OrderChannel.WEBHOOK, webhook_secret="supplier-secret"
    )

    response = client.post(
        f"/webhooks/supplier/{supplier.slug}/",
        data=body,
        content_type="application/json",
        HTTP_X_DROPSHIP_SIGNATURE=sign_body(body, "supplier-secret"),
    )

    _assert_refused(response, message)
    assert not InboundWebhook.objects.exists()


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("HTTP_X_SHOPIFY_SHOP_DOMAIN", "X-Shopify-Shop-Domain"),
        ("HTTP_X_SHOPIFY_TOPIC", "X-Shopify-Topic"),
    ],
)
def test_a_nul_in_a_signed_shopify_header_is_400(client, header, name):
    store = factories.StoreFactory(domain="nul.myshopify.com")
    body = b'{"id": 1}'
    headers = shopify_headers(body, topic="orders/create", shop=store.domain)
    headers[header] += "\x00"

    response = client.post(
        "/webhooks/shopify/", data=body, content_type="application/json", **headers
    )

    assert response.status_code == 400
    # The input guard's one error shape (problem+json), whatever the endpoint.
    assert response.json()["detail"] == f"The header {name} contains a control character."
    assert not InboundWebhook.objects.exists()


def test_an_oversized_webhook_body_is_413_before_it_is_read(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    body = b'{"id": "' + b"x" * 2048 + b'"}'

    response = client.post(
        "/webhooks/stripe/", data=body, content_type="application/json", **stripe_headers(body)
    )

    assert response.status_code == 413
    assert response.json()["detail"] == (
        "The request body is larger than the limit of 1,024 bytes."
    )
    assert not InboundWebhook.objects.exists()
