"""Signature checks against known vectors and the platforms' own payloads."""

import base64
import hashlib
import hmac
import time

import pytest

from integrations.shopify import oauth
from integrations.shopify import webhooks as shopify_webhooks
from integrations.woocommerce import webhooks as woo_webhooks
from sandbox.woocommerce import sign_oauth_url
from tests.integrations.helpers import fixture_bytes

# The OAuth example of Shopify's documentation, as used by the ShopifyAPI package's own tests
# (Shopify/shopify_python_api test/session_test.py, test_hmac_calculation).
SHOPIFY_DOC_PARAMS = {
    "shop": "some-shop.myshopify.com",
    "code": "a94a110d86d2452eb3e2af4cfb8a3828",
    "timestamp": "1337178173",
    "hmac": "2cb1a277650a659f1b11e92a4a64275b128e037f2c3390e3c8fd2d8721dac9e2",
}


def test_oauth_hmac_matches_shopify_documented_vector(settings):
    settings.SHOPIFY_API_SECRET = "hush"
    assert oauth.calculate_hmac(SHOPIFY_DOC_PARAMS) == SHOPIFY_DOC_PARAMS["hmac"]


def test_oauth_hmac_escapes_ampersand_and_equals_like_shopify(settings):
    # ShopifyAPI's test_hmac_calculation_with_ampersand_and_equal_sign_characters.
    settings.SHOPIFY_API_SECRET = "secret"
    expected = hmac.new(b"secret", b"a=1%26b=2&c%3D3%26d=4", hashlib.sha256).hexdigest()
    assert oauth.calculate_hmac({"a": "1&b=2", "c=3&d": "4"}) == expected


def test_callback_with_documented_vector_passes_every_check_but_its_age(settings):
    settings.SHOPIFY_API_SECRET = "hush"
    params = {**SHOPIFY_DOC_PARAMS, "state": "nonce-1"}
    params["hmac"] = oauth.calculate_hmac(params)
    checked = oauth.verify_callback(params, expected_state="nonce-1", now=1337178173 + 60)
    assert (checked.shop, checked.code) == (
        "some-shop.myshopify.com",
        "a94a110d86d2452eb3e2af4cfb8a3828",
    )
    with pytest.raises(oauth.OAuthCallbackError, match="expired"):
        oauth.verify_callback(params, expected_state="nonce-1", now=1337178173 + 2 * 86400)


def test_an_empty_secret_never_verifies_a_body_signed_with_it():
    # With SHOPIFY_API_SECRET unset (production default) a body signed with the empty key was
    # accepted before the one signing helper; no secret must mean no valid signature.
    body = fixture_bytes("shopify-order.json")
    header = base64.b64encode(hmac.new(b"", body, hashlib.sha256).digest()).decode()
    assert shopify_webhooks.is_valid_signature(body, header, "") is False
    assert shopify_webhooks.is_valid_signature(body, header, "shpss_test_secret") is False


@pytest.mark.parametrize(
    "fixture", ["shopify-order.json", "shopify-shop.json", "shopify-product.json"]
)
def test_shopify_webhook_signature_on_fixture_bodies(fixture):
    body = fixture_bytes(fixture)
    secret = "shpss_test_secret"
    header = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    assert shopify_webhooks.is_valid_signature(body, header, secret)
    assert not shopify_webhooks.is_valid_signature(body + b" ", header, secret)
    assert not shopify_webhooks.is_valid_signature(body, header, "another-secret")
    assert not shopify_webhooks.is_valid_signature(body, "", secret)
    assert not shopify_webhooks.is_valid_signature(body, None, secret)


def test_woocommerce_webhook_signature_on_fixture_body():
    body = fixture_bytes("woocommerce-order.json")
    header = base64.b64encode(hmac.new(b"wc-secret", body, hashlib.sha256).digest()).decode()
    assert woo_webhooks.is_valid_signature(body, header, "wc-secret")
    assert not woo_webhooks.is_valid_signature(body.replace(b"727", b"728"), header, "wc-secret")
    assert not woo_webhooks.is_valid_signature(body, header, "")


def test_woocommerce_dedup_key_is_store_topic_and_body():
    body = fixture_bytes("woocommerce-order.json")

    def key(store_id: str, topic: str) -> str:
        return woo_webhooks.dedup_key(store_id=store_id, topic=topic, body=body)

    assert key("store-a", "order.created") == key("store-a", "order.created")
    assert key("store-a", "order.created") != key("store-a", "order.updated")
    assert key("store-a", "order.created") != key("store-b", "order.created")
    assert woo_webhooks.is_ping(b"webhook_id=42")
    assert not woo_webhooks.is_ping(b'{"webhook_id": 42}')


def test_package_oauth_signature_is_accepted_by_woocommerce_checker(woo_sandbox, settings):
    """Our client signs with the woocommerce package; the sandbox checks as WooCommerce does."""
    from integrations.woocommerce.client import WooCommerceClient

    site, key, secret = woo_sandbox.app.add_site("signed")
    client = WooCommerceClient(url=site.url, consumer_key=key, consumer_secret=secret)
    assert client.request("GET", "settings/general")[0]["value"] == "USD"
    assert woo_sandbox.app.rejected_calls() == []


@pytest.mark.parametrize("algorithm", ["HMAC-SHA1", "HMAC-SHA256"])
def test_woocommerce_checker_accepts_both_algorithms_and_refuses_replays(woo_sandbox, algorithm):
    import requests

    site, key, secret = woo_sandbox.app.add_site("algos")
    url = f"{site.url}/wp-json/wc/v3/settings/general"
    signed = sign_oauth_url(
        url, "GET", {"context": "view"}, key, secret, nonce="n-1", algorithm=algorithm
    )
    assert requests.get(signed, timeout=5).status_code == 200
    replay = requests.get(signed, timeout=5)
    assert (replay.status_code, replay.json()["message"]) == (
        401,
        "Invalid nonce - nonce has already been used.",
    )
    stale = sign_oauth_url(url, "GET", {}, key, secret, timestamp=int(time.time()) - 16 * 60)
    assert requests.get(stale, timeout=5).json()["message"] == "Invalid timestamp."
    wrong = sign_oauth_url(url, "GET", {}, key, "cs_wrong")
    assert (
        requests.get(wrong, timeout=5).json()["message"]
        == "Invalid signature - provided signature does not match."
    )
    unknown = sign_oauth_url(url, "GET", {}, "ck_unknown", secret)
    assert requests.get(unknown, timeout=5).json()["message"] == "Consumer key is invalid."
