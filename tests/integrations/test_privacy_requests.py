"""Shopify's mandatory privacy webhooks (payloads as its GDPR docs show them) into our DTOs."""

import json

import pytest

from integrations.base import (
    PrivacyRequest,
    PrivacyRequestKind,
    StorePermanentError,
    WebhookSubject,
)
from integrations.registry import get_privacy_request_parser, privacy_request_platforms
from tests.integrations.helpers import fixture_json

CUSTOMER = {"id": 191167, "email": "Bob@Example.com", "phone": "555-625-1199"}


@pytest.fixture
def parser():
    return get_privacy_request_parser(platform="SHOPIFY")


def test_only_shopify_sends_privacy_requests_and_its_three_topics_are_read():
    assert privacy_request_platforms() == ("SHOPIFY",)
    assert get_privacy_request_parser(platform="SHOPIFY").privacy_topics == (
        "customers/data_request",
        "customers/redact",
        "shop/redact",
    )


def test_data_request_names_the_orders_under_both_id_forms_and_the_shopper(parser):
    payload = {
        "shop_id": 954889,
        "shop_domain": "maple-and-co.myshopify.com",
        "orders_requested": [299938, 280263],
        "customer": CUSTOMER,
        "data_request": {"id": 9999},
    }
    assert parser.parse_privacy_request(
        topic="customers/data_request", payload=payload
    ) == PrivacyRequest(
        kind=PrivacyRequestKind.DATA_REQUEST,
        store_order_ids=frozenset(
            {"gid://shopify/Order/299938", "299938", "gid://shopify/Order/280263", "280263"}
        ),
        customer_email="Bob@Example.com",
        customer_phone="555-625-1199",
        request_id="9999",
    )


def test_customer_redact_names_the_orders_to_redact(parser):
    payload = {"shop_id": 954889, "customer": CUSTOMER, "orders_to_redact": [299938]}
    assert parser.parse_privacy_request(topic="customers/redact", payload=payload) == (
        PrivacyRequest(
            kind=PrivacyRequestKind.CUSTOMER_REDACT,
            store_order_ids=frozenset({"gid://shopify/Order/299938", "299938"}),
            customer_email="Bob@Example.com",
            customer_phone="555-625-1199",
        )
    )


def test_shop_redact_names_nobody(parser):
    payload = {"shop_id": 954889, "shop_domain": "maple-and-co.myshopify.com"}
    assert parser.parse_privacy_request(topic="shop/redact", payload=payload) == PrivacyRequest(
        kind=PrivacyRequestKind.SHOP_REDACT
    )


@pytest.mark.parametrize(
    ("topic", "payload", "message"),
    [
        ("customers/redact", ["not", "an", "object"], "The webhook body is not a JSON object."),
        ("customers/redact", {"customer": "bob"}, "The request's customer is not a JSON object."),
        (
            "customers/redact",
            {"orders_to_redact": "1001"},
            "The request's orders_to_redact is not a JSON array.",
        ),
        ("orders/create", {}, "orders/create is not a Shopify privacy topic."),
    ],
)
def test_a_payload_that_is_no_privacy_request_is_refused_naming_what_is_wrong(
    parser, topic, payload, message
):
    with pytest.raises(StorePermanentError) as excinfo:
        parser.parse_privacy_request(topic=topic, payload=payload)
    assert str(excinfo.value) == message


def test_a_stored_order_webhook_is_about_its_order_under_every_id_form(parser):
    body = json.dumps(fixture_json("shopify-order.json")["order"]).encode()
    assert parser.webhook_subject(topic="orders/create", body=body) == WebhookSubject(
        store_order_ids=frozenset({"gid://shopify/Order/450789469", "450789469"})
    )


def test_a_stored_privacy_request_is_about_its_shopper(parser):
    body = json.dumps({"customer": CUSTOMER, "orders_to_redact": [1]}).encode()
    assert parser.webhook_subject(topic="customers/redact", body=body) == WebhookSubject(
        customer_email="bob@example.com"
    )


@pytest.mark.parametrize(
    ("topic", "body"),
    [
        ("orders/create", b""),
        ("orders/create", b"{not json"),
        ("orders/create", b"\xff\xfe"),
        ("orders/create", b"[1001]"),
        ("customers/redact", b'{"customer": "bob@example.com"}'),
        ("app/uninstalled", b'{"id": 690933842, "customer": {"email": "bob@example.com"}}'),
    ],
)
def test_an_unreadable_or_impersonal_stored_webhook_is_about_nobody(parser, topic, body):
    assert parser.webhook_subject(topic=topic, body=body) == WebhookSubject()
