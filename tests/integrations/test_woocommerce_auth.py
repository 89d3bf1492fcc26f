"""WooCommerce authentication against the sandbox: over HTTPS, Basic auth with one fall back to
the keys in the query string when the host strips the Authorization header (remembered per
store); over plain HTTP, OAuth 1.0a; a refusal says what was tried."""

import pytest

from integrations.base import StoreAuthError
from integrations.registry import get_store_client
from retailers.models import Store

pytestmark = pytest.mark.django_db


def _https_store(woo_sandbox, slug: str = "tls-woo", *, strips: bool = False):
    woo_sandbox.app.add_site(slug, https=True)
    woo_sandbox.app.strip_authorization(slug, strips=strips)
    return woo_sandbox.connect_store(slug=slug)


def _auths(woo_sandbox, slug: str = "tls-woo") -> list[tuple[str, int]]:
    return [(c.auth, c.status) for c in woo_sandbox.app.calls_for(slug)]


def test_an_https_site_is_called_with_basic_auth(woo_sandbox):
    store = _https_store(woo_sandbox)
    assert store.domain.startswith("https://127.0.0.1:")

    info = get_store_client(store=store).verify_connection()

    assert info.currency == "USD"
    assert _auths(woo_sandbox) == [("basic", 200)]


def test_a_host_that_strips_the_header_gets_the_keys_in_the_query_string_once_and_for_good(
    woo_sandbox,
):
    store = _https_store(woo_sandbox, strips=True)

    get_store_client(store=store).verify_connection()

    assert _auths(woo_sandbox) == [("basic", 401), ("query", 200)]
    store.refresh_from_db()
    assert store.credentials["auth_method"] == "query_string"
    # The next client (another task, another worker) starts with what worked.
    get_store_client(store=Store.objects.get(pk=store.pk)).verify_connection()
    assert _auths(woo_sandbox)[2:] == [("query", 200)]


def test_wrong_keys_over_https_are_refused_naming_basic_auth_and_never_sent_in_the_url(
    woo_sandbox,
):
    store = _https_store(woo_sandbox)
    store.credentials = {**store.credentials, "consumer_secret": "cs_wrong"}

    with pytest.raises(StoreAuthError) as refused:
        get_store_client(store=store).verify_connection()

    assert str(refused.value) == (
        "WooCommerce refused our API keys (Consumer secret is invalid.); tried HTTP Basic auth. "
        "Reconnect the store with new keys."
    )
    assert _auths(woo_sandbox) == [("basic", 401)]


def test_keys_refused_both_ways_name_both_methods(woo_sandbox):
    store = _https_store(woo_sandbox, strips=True)
    woo_sandbox.app.revoke_keys("tls-woo")

    with pytest.raises(StoreAuthError) as refused:
        get_store_client(store=store).verify_connection()

    assert refused.value.tried == "HTTP Basic auth, then the keys as query parameters"
    assert "Consumer key is invalid." in str(refused.value)
    assert _auths(woo_sandbox) == [("basic", 401), ("query", 401)]
    store.refresh_from_db()
    assert "auth_method" not in store.credentials


def test_a_plain_http_site_keeps_oauth(woo_sandbox):
    store = woo_sandbox.connect_store(slug="plain-woo")
    assert store.domain.startswith("http://")

    get_store_client(store=store).verify_connection()

    assert _auths(woo_sandbox, "plain-woo") == [("oauth", 200)]


def test_connecting_an_https_store_behind_a_header_stripping_host(retailer_client, woo_sandbox):
    site, key, secret = woo_sandbox.app.add_site("tls-woo", https=True)
    woo_sandbox.app.strip_authorization("tls-woo")

    response = retailer_client.post(
        "/retailer/stores/woocommerce/connect/",
        {"site_url": site.url, "consumer_key": key, "consumer_secret": secret},
    )

    assert response.status_code == 302
    store = Store.objects.get()
    assert (store.domain, store.status, store.credentials["auth_method"]) == (
        site.url,
        "CONNECTED",
        "query_string",
    )
    # Basic auth was tried once, on the first call only.
    assert [a for a, _ in _auths(woo_sandbox)].count("basic") == 1


def test_connecting_with_keys_refused_both_ways_says_what_was_tried(retailer_client, woo_sandbox):
    site, key, _ = woo_sandbox.app.add_site("tls-woo", https=True)
    woo_sandbox.app.strip_authorization("tls-woo")

    response = retailer_client.post(
        "/retailer/stores/woocommerce/connect/",
        {"site_url": site.url, "consumer_key": key, "consumer_secret": "cs_wrong"},
    )

    assert response.status_code == 400
    assert (
        "WooCommerce refused these keys (tried HTTP Basic auth, then the keys as query parameters)."
    ) in response.content.decode()
    assert Store.objects.count() == 0
