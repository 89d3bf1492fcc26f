"""Every page type answers with the Content-Security-Policy, Permissions-Policy and the other
security headers, and its HTML needs nothing the policy forbids (inline script, inline event
handlers, style attributes): public, retailer, supplier, admin, API docs, API and error pages."""

from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import include, path, reverse

from dropship.accounts.models import User
from tests import factories
from tests.mfa import login_with_second_factor


def _boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("an unexpected failure, to see the 500 page's headers")


# The real URLs plus one view that fails, so the 500 page is fetched like any other.
urlpatterns = [path("test-boom/", _boom), path("", include("dropship.urls"))]


def _directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def assert_security_headers(response) -> None:
    where = f"{response.request['PATH_INFO']} ({response.status_code})"
    csp = response.get("Content-Security-Policy")
    assert csp, f"no Content-Security-Policy on {where}"
    policy = _directives(csp)
    assert policy["default-src"] == ["'self'"], where
    for directive in ("script-src", "style-src"):
        assert "'self'" in policy[directive], where
        for loophole in ("'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "*", "https:"):
            assert loophole not in policy[directive], f"{directive} allows {loophole} on {where}"
    assert policy["object-src"] == ["'none'"], where
    assert policy["base-uri"] == ["'none'"], where
    assert policy["frame-ancestors"] == ["'none'"], where
    assert "'self'" in policy["form-action"], where
    permissions = response.get("Permissions-Policy", "")
    for feature in ("camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()"):
        assert feature in permissions, f"Permissions-Policy lacks {feature} on {where}"
    assert response.get("Referrer-Policy") == "same-origin", where
    assert response.get("X-Content-Type-Options") == "nosniff", where
    assert response.get("Cross-Origin-Opener-Policy") == "same-origin", where
    assert response.get("X-Frame-Options") == "DENY", where


class _InlineFinder(HTMLParser):
    """Collects what a strict policy would block: <script> without src (JSON data blocks are not
    run), on* handler attributes, style attributes, <style> elements, javascript: URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script" and not values.get("src") and values.get("type") != "application/json":
            self.found.append(f"inline <script> {values}")
        if tag == "style":
            self.found.append("<style> element")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=…>")
            if name == "style":
                self.found.append(f"<{tag} style={value!r}>")
            if name in ("href", "src", "action") and (value or "").strip().startswith(
                "javascript:"
            ):
                self.found.append(f"<{tag} {name}={value!r}>")


def assert_no_inline_code(response) -> None:
    if not response.get("Content-Type", "").startswith("text/html"):
        return
    finder = _InlineFinder()
    finder.feed(response.content.decode())
    assert finder.found == [], f"{response.request['PATH_INFO']}: {finder.found}"


@pytest.fixture
def pages(db):
    """One of each kind of object a detail page needs, for a retailer and a supplier."""
    supplier_member = factories.SupplierMemberFactory()
    retailer_member = factories.RetailerMemberFactory()
    supplier = supplier_member.supplier
    product = factories.ProductFactory(supplier=supplier)
    variant = factories.VariantFactory(product=product)
    store = factories.StoreFactory(retailer=retailer_member.retailer)
    order = factories.OrderFactory(store=store)
    factories.OrderItemFactory(order=order, variant=variant)
    supplier_order = factories.SupplierOrderFactory(order=order, supplier=supplier)
    staff = User.objects.create_superuser("staff@example.com", "staff-password-123")
    return {
        "supplier": supplier_member.user,
        "retailer": retailer_member.user,
        "staff": staff,
        "supplier_slug": supplier.slug,
        "product": product,
        "variant": variant,
        "order": order,
        "supplier_order": supplier_order,
    }


def _client(user=None) -> Client:
    client = Client(raise_request_exception=False)
    if user is not None and user.is_staff:
        login_with_second_factor(client, user)  # the admin is behind the staff MFA gate
    elif user is not None:
        client.force_login(user)
    return client


@pytest.mark.urls("tests.core.test_security_headers")
def test_every_page_type_sends_the_security_headers_and_needs_no_inline_code(pages):
    product, variant = pages["product"], pages["variant"]
    checked: dict[str, list[tuple[str, int]]] = {
        "public": [
            ("/", 200),
            (reverse("account_login"), 200),
            (reverse("account_signup"), 200),
            (reverse("suppliers:directory"), 200),
            (reverse("suppliers:profile", args=[pages["supplier_slug"]]), 200),
            (reverse("health"), 200),
        ],
        "retailer": [
            (reverse("retailers:dashboard"), 200),
            (reverse("retailers:stores"), 200),
            (reverse("catalog:browse"), 200),
            (reverse("catalog:browse_product", args=[product.pk]), 200),
            (reverse("retailers:import_list"), 200),
            (reverse("retailers:products"), 200),
            (reverse("retailers:pricing_rules"), 200),
            (reverse("retailers:pricing_rule_new"), 200),
            (reverse("retailers:sync_status"), 200),
            (reverse("orders:retailer_list"), 200),
            (reverse("orders:retailer_detail", args=[pages["order"].pk]), 200),
            (reverse("billing:retailer"), 200),
            (reverse("accounts:team"), 200),
            (reverse("accounts:api_keys"), 200),
            (reverse("privacy:settings"), 200),
        ],
        "supplier": [
            (reverse("suppliers:dashboard"), 200),
            (reverse("catalog:product_list"), 200),
            (reverse("catalog:product_edit", args=[product.pk]), 200),
            (reverse("catalog:variant_edit", args=[variant.pk]), 200),
            (reverse("catalog:variant_history", args=[variant.pk]), 200),
            (reverse("catalog:import_list"), 200),
            (reverse("suppliers:feed"), 200),
            (reverse("supplier_orders:list"), 200),
            (reverse("supplier_orders:detail", args=[pages["supplier_order"].pk]), 200),
            (reverse("billing:supplier"), 200),
        ],
        "staff": [
            (reverse("admin:index"), 200),
            (reverse("admin:suppliers_supplier_changelist"), 200),
            (reverse("admin:suppliers_supplier_change", args=[product.supplier_id]), 200),
            (reverse("admin:orders_order_changelist"), 200),
            (reverse("admin:privacy_shopperdatarequest_execute"), 200),
        ],
        "anonymous-api": [
            (reverse("api:openapi-view"), 200),
            (reverse("api:openapi-json"), 200),
            (reverse("api:me"), 401),
        ],
        "anonymous-errors": [
            ("/no-such-page/", 404),
            ("/test-boom/", 500),
            (reverse("admin:index"), 302),
            (reverse("retailers:dashboard"), 302),
        ],
        "supplier-errors": [
            (reverse("retailers:dashboard"), 403),  # another workspace's page
        ],
    }
    users = {"retailer": pages["retailer"], "supplier": pages["supplier"], "staff": pages["staff"]}
    for kind, urls in checked.items():
        client = _client(users.get(kind.split("-")[0]))
        for url, status in urls:
            response = client.get(url)
            assert response.status_code == status, f"{kind} {url}: {response.status_code}"
            assert_security_headers(response)
            assert_no_inline_code(response)

    # The answers of refused input: a form without its CSRF token, a NUL in the query, a body
    # over the limit.
    strict = Client(enforce_csrf_checks=True, raise_request_exception=False)
    strict.force_login(pages["retailer"])
    refused = [
        (strict.post(reverse("retailers:pricing_rule_new"), {"name": "x"}), 403),
        (_client().get(reverse("suppliers:directory"), {"q": "a\x00b"}), 400),
        (
            _client().post(
                reverse("account_login"),
                data=b"x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1),
                content_type="application/octet-stream",
            ),
            413,
        ),
    ]
    for response, status in refused:
        assert response.status_code == status, response.request["PATH_INFO"]
        assert_security_headers(response)
        assert_no_inline_code(response)
    assert "CSRF verification failed" in refused[0][0].content.decode()
