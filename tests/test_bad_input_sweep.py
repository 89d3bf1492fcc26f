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

import re
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from dropship.accounts.services import create_api_key
from retailers.models import ImportListItem, PricingRule
from suppliers.models import Supplier
from tests import factories
from tests.mfa import login_with_second_factor

DEEP_JSON = b"[" * 100_000 + b"]" * 100_000
BODY_LIMIT = 1024  # DATA_UPLOAD_MAX_MEMORY_SIZE for the sweep, so an oversized body stays small
ROLES = ("anonymous", "retailer", "supplier", "staff")


def _routes(patterns=None, prefix: str = "") -> list[str]:
    routes = []
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            routes += _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            routes.append(prefix + str(pattern.pattern))
    return routes


@dataclass
class World:
    values: dict[str, str]
    users: dict[str, object]


@pytest.fixture
def world(db) -> World:
    supplier_member = factories.SupplierMemberFactory(
        supplier__order_channel=Supplier.OrderChannel.WEBHOOK,
        supplier__webhook_secret="supplier-secret",
    )
    supplier = supplier_member.supplier
    retailer_member = factories.RetailerMemberFactory()
    retailer = retailer_member.retailer
    store = factories.StoreFactory(retailer=retailer)
    order = factories.OrderFactory(store=store)
    supplier_order = factories.make_supplier_order(supplier=supplier, order=order)
    item = supplier_order.items.first()
    variant = item.variant
    listing_variant = factories.ListingVariantFactory(
        listing__store=store, listing__product=variant.product, variant=variant
    )
    rule = PricingRule.objects.create(
        retailer=retailer, name="Double", method="MULTIPLIER", value=2, rounding="NONE"
    )
    ImportListItem.objects.create(retailer=retailer, product=variant.product)
    api_key, _ = create_api_key(organisation=retailer, name="CI", created_by=None)
    staff = factories.UserFactory(is_staff=True, is_superuser=True)
    values = {
        "supplier_order_id": supplier_order.pk,
        "order_id": order.pk,
        "item_id": item.pk,
        "product_id": variant.product_id,
        "variant_id": variant.pk,
        "sku": variant.sku,
        "listing_id": listing_variant.listing_id,
        "listing_variant_id": listing_variant.pk,
        "store_id": store.pk,
        "public_id": store.public_id,
        "rule_id": rule.pk,
        "api_key_id": api_key.pk,
        "supplier_id": supplier.pk,
        "slug": supplier.slug,
        "step_slug": "profile",
        "number": supplier_order.number,
        "app_label": "suppliers",
        "content_type_id": ContentType.objects.get_for_model(Supplier).pk,
        "object_id": supplier.pk,
        "uidb36": "1",
    }
    users = {"retailer": retailer_member.user, "supplier": supplier_member.user, "staff": staff}
    return World(values={k: str(v) for k, v in values.items()}, users=users)


def _path(route: str, values: dict[str, str]) -> str:
    """The route with its parameters filled; an admin object is a row of that admin's model."""
    values = dict(values)
    admin_model = re.match(r"admin/(\w+)/(\w+)/<path:object_id>", route)
    if admin_model:
        model = apps.get_model(*admin_model.groups())
        row = model._default_manager.order_by("pk").first()
        values["object_id"] = str(row.pk) if row is not None else "1"
    route = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values.get(m.group(1), "1"), route)
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: values.get(m.group(1), "x"), route)
    return "/" + route.replace("^", "").replace("$", "")


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
    routes = _routes()
    failures, sent = [], 0
    for route in routes:
        path = _path(route, world.values)
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

    assert len(routes) > 450  # the whole URLconf, admin included (486 when written)
    assert sent == len(routes) * 9
    assert not failures, "\n".join(failures)
