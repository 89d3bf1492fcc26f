"""No 500 from input: every URL pattern, as anonymous and as a signed-in retailer, supplier and
platform admin, with the inputs that used to break requests.

The URLconf is walked (admin included) and each pattern's path parameters are filled with the
ids of a small world (a supplier, a retailer with a store, a listing and an order routed to the
supplier), so views get past their lookups. Per path and role: a plain GET; NUL and control
characters in the query, in a form field and in headers (the guard answers 400 before any view
runs); deep, bare-number and NUL-carrying JSON bodies (the views and the API's parser answer
4xx); and a body over the upload limit (413). A failure lists every request that answered 5xx or
not the exact guard status.
"""

import pytest
from django.test import Client

from tests.mfa import login_with_second_factor
from tests.url_sweep import World, build_world, fill_route, routes

DEEP_JSON = b"[" * 100_000 + b"]" * 100_000
BODY_LIMIT = 1024  # DATA_UPLOAD_MAX_MEMORY_SIZE for the sweep, so an oversized body stays small
ROLES = ("anonymous", "retailer", "supplier", "staff")


@pytest.fixture
def world(db) -> World:
    return build_world()


def _requests(path: str):
    """(label, method, kwargs, expected): expected is an exact status, or None for "not 5xx"."""
    return [
        ("plain GET", "get", {}, None),
        ("NUL in the query", "get", {"data": {"q": "\x00", "page": "1"}}, 400),
        ("control character in the query", "get", {"data": {"q": "lamp\x01"}}, 400),
        (
            "NUL in Shopify headers",
            "get",
            {
                "HTTP_X_SHOPIFY_SHOP_DOMAIN": "shop\x00.myshopify.com",
                "HTTP_X_SHOPIFY_TOPIC": "orders/create\x00",
            },
            400,
        ),
        ("NUL in a form field", "post", {"data": {"q": "\x00", "name": "a\x00b"}}, 400),
        (
            "deep JSON",
            "post",
            {"data": DEEP_JSON, "content_type": "application/json"},
            None,
        ),
        ("a bare number as JSON", "post", {"data": b"5", "content_type": "application/json"}, None),
        (
            "NUL in JSON",
            "post",
            {"data": b'{"name": "a\\u0000", "q": "\\u0000"}', "content_type": "application/json"},
            None,
        ),
        (
            "oversized body",
            "post",
            {
                "data": b'{"a": "' + b"x" * 2 * BODY_LIMIT + b'"}',
                "content_type": "application/json",
            },
            413,
        ),
    ]


@pytest.mark.parametrize("role", ROLES)
def test_no_url_answers_5xx_to_bad_input(world, role, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = BODY_LIMIT
    client = Client(raise_request_exception=False)
    user = world.users.get(role)
    all_routes = routes()
    failures, sent = [], 0
    for route in all_routes:
        path = fill_route(route, world.values)
        for label, method, kwargs, expected in _requests(path):
            if user is not None and "_auth_user_id" not in client.session:
                login_with_second_factor(
                    client, user
                )  # a POST to logout (or a view that logs out) ended it
            response = getattr(client, method)(path, **kwargs)
            sent += 1
            status = response.status_code
            if status >= 500 or (expected is not None and status != expected):
                failures.append(f"{role} {method.upper()} {path} ({label}): {status}")

    assert len(all_routes) > 450  # the whole URLconf, admin included (486 when written)
    assert sent == len(all_routes) * 9
    assert not failures, "\n".join(failures)
