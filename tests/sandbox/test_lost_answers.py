"""The sandboxes' "lost answer" fault: the write is done, then the connection drops unanswered.

Idempotent store writes are tested against it (a retry must find what the lost call created);
these tests pin the fault itself, over real HTTP.
"""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest

from sandbox.woocommerce import sign_oauth_url

pytestmark = pytest.mark.django_db(databases=[])


def _post(
    base_url: str, path: str, body: dict, headers: dict[str, str]
) -> http.client.HTTPResponse:
    parts = urlsplit(base_url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    connection.request(
        "POST", path, body=json.dumps(body), headers={"Content-Type": "application/json", **headers}
    )
    return connection.getresponse()


def _product_set(base_url: str, domain: str, token: str, title: str) -> http.client.HTTPResponse:
    query = (
        "mutation($input: ProductSetInput!) { productSet(input: $input) "
        "{ product { id } userErrors { field message } } }"
    )
    return _post(
        base_url,
        f"/{domain}/admin/api/2026-10/graphql.json",
        {"query": query, "variables": {"input": {"title": title}}},
        {"X-Shopify-Access-Token": token},
    )


def test_shopify_commits_the_mutation_then_drops_the_answer(shopify_sandbox):
    app = shopify_sandbox.app
    domain = "lost-answers.myshopify.com"
    app.add_shop(domain)
    token = app.issue_token(domain)
    app.lose_answers(domain, "productSet")

    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        _product_set(shopify_sandbox.base_url, domain, token, "Bamboo board")

    titles = [p["title"] for p in app.shop(domain).products.values()]
    assert titles == ["Bamboo board"]
    # Only the next call was lost: the one after it is answered.
    answer = _product_set(shopify_sandbox.base_url, domain, token, "Oak board")
    assert answer.status == 200
    assert json.loads(answer.read())["data"]["productSet"]["product"]["id"]


def test_woocommerce_saves_the_note_then_drops_the_answer(woo_sandbox):
    app = woo_sandbox.app
    site, key, secret = app.add_site("lost-notes")
    order = app.create_order("lost-notes", lines=[], deliver=False)
    app.lose_answers("lost-notes", "POST", "orders/*/notes")

    def signed_path() -> str:
        url = f"{site.url}/wp-json/wc/v3/orders/{order['id']}/notes"
        return (
            urlsplit(sign_oauth_url(url, "POST", {}, key, secret))
            ._replace(scheme="", netloc="")
            .geturl()
        )

    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        _post(woo_sandbox.base_url, signed_path(), {"note": "Shipped", "customer_note": True}, {})

    notes = [n["note"] for n in site.notes[order["id"]]]
    assert notes == ["Shipped"]
    answer = _post(woo_sandbox.base_url, signed_path(), {"note": "Delivered"}, {})
    assert answer.status == 201
