"""The supplier product API: products and variants through the catalog services, images fetched
by URL through the safe outbound helper, and the bulk upsert by SKU that shares the spreadsheet
import's checks. Another supplier's object is 404, a retailer key 403."""

import contextlib
import json
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BytesIO

import pytest
from django.test import override_settings
from PIL import Image

from catalog.models import Product, ProductImage, StockMovement, Variant
from dropship.accounts.services import create_api_key
from dropship.core.uploads import IMAGE_MAX_BYTES
from tests import factories
from tests.problems import problem

pytestmark = pytest.mark.django_db
BASE = "/api/v1/supplier"


@pytest.fixture
def supplier():
    return factories.SupplierFactory()


@pytest.fixture
def auth(supplier):
    _, secret = create_api_key(organisation=supplier, name="ERP", created_by=None)
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


@pytest.fixture
def retailer_auth():
    _, secret = create_api_key(
        organisation=factories.RetailerFactory(), name="Shop", created_by=None
    )
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def _send(client, method, path, body, auth):
    return getattr(client, method)(
        f"{BASE}{path}", data=json.dumps(body), content_type="application/json", **auth
    )


# --- products --------------------------------------------------------------------------------------
@pytest.mark.embedded
def test_create_a_product_then_a_variant_then_activate_it(client, supplier, auth):
    category = factories.CategoryFactory(name="Kitchen")

    created = _send(
        client,
        "post",
        "/products",
        {
            "title": "Stoneware mug",
            "description": "Hand-glazed.",
            "category": "kitchen",
            "attributes": {"material": "stoneware"},
            "option_names": ["Color"],
        },
        auth,
    )
    assert created.status_code == 201, created.content
    product = Product.objects.get(supplier=supplier)
    assert created.json() | {"created_at": None, "updated_at": None} == {
        "id": product.pk,
        "handle": "stoneware-mug",
        "title": "Stoneware mug",
        "status": "DRAFT",
        "category": "Kitchen",
        "option_names": ["Color"],
        "variants": [],
        "description": "Hand-glazed.",
        "attributes": {"material": "stoneware"},
        "images": [],
        "created_at": None,
        "updated_at": None,
    }
    assert product.category == category

    variant = _send(
        client,
        "post",
        f"/products/{product.pk}/variants",
        {
            "sku": "MUG-BLUE",
            "options": {"Color": "Blue"},
            "wholesale_price": "6.50",
            "msrp": 14,
            "weight_grams": 420,
            "stock_on_hand": 120,
        },
        auth,
    )
    assert variant.status_code == 201, variant.content
    body = variant.json()
    assert (body["sku"], body["options"], body["wholesale_price"], body["msrp"]) == (
        "MUG-BLUE",
        {"Color": "Blue"},
        "6.50",
        "14.00",
    )
    assert (body["stock_on_hand"], body["available"], body["advertised"]) == (120, 120, 108)
    movement = StockMovement.objects.get(variant_id=body["id"])
    assert (movement.source, movement.on_hand_after) == ("API", 120)
    assert movement.reference.startswith("API key ")

    activated = _send(client, "patch", f"/products/{product.pk}", {"status": "ACTIVE"}, auth)
    assert activated.status_code == 200
    assert activated.json()["status"] == "ACTIVE"
    assert activated.json()["title"] == "Stoneware mug"  # fields not sent are kept
    assert activated.json()["category"] == "Kitchen"

    detail = client.get(f"{BASE}/products/{product.pk}", **auth)
    assert detail.status_code == 200
    assert [v["sku"] for v in detail.json()["variants"]] == ["MUG-BLUE"]


def test_activating_a_product_without_variants_is_refused_naming_status(client, supplier, auth):
    product = factories.ProductFactory(supplier=supplier, status=Product.Status.DRAFT)

    response = _send(client, "patch", f"/products/{product.pk}", {"status": "ACTIVE"}, auth)

    assert response.status_code == 400
    assert problem(response) == {
        "detail": "Add at least one variant before activating the product.",
        "field": "status",
    }
    product.refresh_from_db()
    assert product.status == Product.Status.DRAFT


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "x" * 256}, "title"),
        ({"title": "Mug", "option_names": ["A", "B", "C", "D"]}, "option_names"),
        ({"title": "Mug", "attributes": {"k": "v" * 1001}}, "attributes.k"),
    ],
)
def test_bad_product_bodies_answer_422_naming_the_field(client, supplier, auth, body, field):
    response = _send(client, "post", "/products", body, auth)

    assert response.status_code == 422
    assert response.json()["field"] == field
    assert not Product.objects.filter(supplier=supplier).exists()


def test_an_unknown_category_or_a_taken_handle_is_refused_naming_it(client, supplier, auth):
    factories.ProductFactory(supplier=supplier, handle="mug")

    unknown = _send(client, "post", "/products", {"title": "Mug", "category": "Nowhere"}, auth)
    taken = _send(client, "post", "/products", {"title": "Mug", "handle": "mug"}, auth)

    assert unknown.status_code == 400
    assert problem(unknown) == {"detail": "Unknown category “Nowhere”.", "field": "category"}
    assert taken.status_code == 409
    assert problem(taken)["field"] == "handle"
    assert Product.objects.filter(supplier=supplier).count() == 1


def test_archive_discontinues_the_product(client, supplier, auth):
    product = factories.ProductFactory(supplier=supplier, status=Product.Status.ACTIVE)

    response = client.post(f"{BASE}/products/{product.pk}/archive", **auth)

    assert response.status_code == 200
    assert response.json()["status"] == "DISCONTINUED"
    product.refresh_from_db()
    assert product.status == Product.Status.DISCONTINUED


def test_list_filters_by_status_and_rejects_an_unknown_one(client, supplier, auth):
    factories.ProductFactory(supplier=supplier, title="Live", status=Product.Status.ACTIVE)
    factories.ProductFactory(supplier=supplier, title="Draft", status=Product.Status.DRAFT)

    active = client.get(f"{BASE}/products", {"status": "ACTIVE"}, **auth)
    unknown = client.get(f"{BASE}/products", {"status": "LOST"}, **auth)

    assert [p["title"] for p in active.json()["items"]] == ["Live"]
    assert unknown.status_code == 422
    assert unknown.json()["field"] == "status"


def test_another_suppliers_product_and_variant_are_404_and_untouched(client, auth):
    theirs = factories.VariantFactory(sku="THEIRS", wholesale_price=Decimal("5.00"))
    product = theirs.product

    responses = [
        client.get(f"{BASE}/products/{product.pk}", **auth),
        _send(client, "patch", f"/products/{product.pk}", {"title": "Mine now"}, auth),
        client.post(f"{BASE}/products/{product.pk}/archive", **auth),
        _send(
            client,
            "post",
            f"/products/{product.pk}/variants",
            {"sku": "NEW", "wholesale_price": "1.00"},
            auth,
        ),
        _send(client, "post", f"/products/{product.pk}/images", {"url": "http://x.test/a"}, auth),
        _send(client, "patch", f"/variants/{theirs.pk}", {"wholesale_price": "1.00"}, auth),
    ]

    assert [r.status_code for r in responses] == [404] * 6
    assert {problem(r)["detail"] for r in responses} <= {
        "Not found.",
        "No such product in your catalog.",
    }
    before = (product.title, product.status)
    product.refresh_from_db()
    theirs.refresh_from_db()
    assert (product.title, product.status) == before
    assert theirs.wholesale_price == Decimal("5.00")
    assert product.variants.count() == 1


def test_a_retailer_key_gets_403_on_every_supplier_catalog_operation(client, retailer_auth):
    product = factories.ProductFactory()
    variant = factories.VariantFactory(product=product)

    responses = [
        client.get(f"{BASE}/products", **retailer_auth),
        client.get(f"{BASE}/products/{product.pk}", **retailer_auth),
        _send(client, "post", "/products", {"title": "Mug"}, retailer_auth),
        _send(client, "patch", f"/products/{product.pk}", {"title": "X"}, retailer_auth),
        client.post(f"{BASE}/products/{product.pk}/archive", **retailer_auth),
        _send(
            client,
            "post",
            f"/products/{product.pk}/variants",
            {"sku": "N", "wholesale_price": "1.00"},
            retailer_auth,
        ),
        _send(client, "patch", f"/variants/{variant.pk}", {"sku": "X"}, retailer_auth),
        _send(
            client,
            "post",
            "/variants/bulk-upsert",
            {"items": [{"sku": "A", "wholesale_price": "1.00"}]},
            retailer_auth,
        ),
        _send(
            client, "post", f"/products/{product.pk}/images", {"url": "http://x/"}, retailer_auth
        ),
    ]

    assert [r.status_code for r in responses] == [403] * 9
    assert Product.objects.count() == 1


# --- variants --------------------------------------------------------------------------------------
def test_update_a_variant_changes_only_what_is_sent_and_records_the_stock(client, supplier, auth):
    variant = factories.VariantFactory(
        product__supplier=supplier, sku="MUG", stock_on_hand=10, stock_reserved=2, weight_grams=300
    )

    response = _send(
        client,
        "patch",
        f"/variants/{variant.pk}",
        {"wholesale_price": "7.25", "stock_on_hand": 40},
        auth,
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["sku"], body["wholesale_price"], body["weight_grams"]) == ("MUG", "7.25", 300)
    assert (body["stock_on_hand"], body["stock_reserved"], body["available"]) == (40, 2, 38)
    assert StockMovement.objects.get(variant=variant).source == "API"


def test_a_variant_update_refused_for_stock_keeps_the_other_edits_unsaved(client, supplier, auth):
    variant = factories.VariantFactory(
        product__supplier=supplier, stock_on_hand=10, stock_reserved=6, wholesale_price=5
    )

    response = _send(
        client,
        "patch",
        f"/variants/{variant.pk}",
        {"wholesale_price": "9.00", "stock_on_hand": 3},
        auth,
    )

    assert response.status_code == 409
    assert "reserved" in problem(response)["detail"]
    variant.refresh_from_db()
    assert (variant.wholesale_price, variant.stock_on_hand) == (Decimal("5.00"), 10)


def test_variant_sku_clash_and_missing_option_name_the_field(client, supplier, auth):
    product = factories.ProductFactory(supplier=supplier, option_names=["Size"])
    factories.VariantFactory(product__supplier=supplier, sku="TAKEN")

    clash = _send(
        client,
        "post",
        f"/products/{product.pk}/variants",
        {"sku": "TAKEN", "options": {"Size": "M"}, "wholesale_price": "1.00"},
        auth,
    )
    no_option = _send(
        client,
        "post",
        f"/products/{product.pk}/variants",
        {"sku": "NEW", "wholesale_price": "1.00"},
        auth,
    )

    assert clash.status_code == 409
    assert problem(clash)["field"] == "sku"
    assert no_option.status_code == 400
    assert problem(no_option) == {
        "detail": "Enter the Size of this variant.",
        "field": "options.Size",
    }
    assert product.variants.count() == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"sku": "A"}, "wholesale_price"),
        ({"sku": "A", "wholesale_price": "-1"}, "wholesale_price"),
        ({"sku": "A", "wholesale_price": "1.005"}, "wholesale_price"),
        ({"sku": "", "wholesale_price": "1"}, "sku"),
        ({"sku": "A", "wholesale_price": "1", "stock_on_hand": -1}, "stock_on_hand"),
        ({"sku": "A", "wholesale_price": "1", "weight_grams": 10**12}, "weight_grams"),
    ],
)
def test_bad_variant_bodies_answer_422_naming_the_field(client, supplier, auth, body, field):
    product = factories.ProductFactory(supplier=supplier)

    response = _send(client, "post", f"/products/{product.pk}/variants", body, auth)

    assert response.status_code == 422
    assert response.json()["field"] == field
    assert not Variant.objects.exists()


# --- images by URL ---------------------------------------------------------------------------------
def _png(size=(64, 48)) -> bytes:
    buffer = BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def image_server():
    """A loopback server: /mug.png is an image, /page.html a web page, /huge.png 5 MB + 1 byte,
    /broken answers 503."""
    bodies = {
        "/mug.png": (200, "image/png", _png()),
        "/page.html": (200, "text/html", b"<html><body>not an image</body></html>"),
        "/huge.png": (200, "image/png", b"\x89PNG\r\n\x1a\n" + b"0" * IMAGE_MAX_BYTES),
        "/broken": (503, "text/plain", b"down"),
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            status, content_type, body = bodies.get(self.path, (404, "text/plain", b"no"))
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            # the client hangs up once it has had enough (the size cap)
            with contextlib.suppress(OSError):
                self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def media(tmp_path):
    with override_settings(MEDIA_ROOT=tmp_path):
        yield tmp_path


@pytest.mark.embedded
def test_an_image_by_url_is_fetched_checked_and_stored_with_a_thumbnail(
    client, supplier, auth, image_server, media
):
    product = factories.ProductFactory(supplier=supplier, title="Mug")

    response = _send(
        client,
        "post",
        f"/products/{product.pk}/images",
        {"url": f"{image_server}/mug.png", "alt_text": "Red mug"},
        auth,
    )

    assert response.status_code == 201, response.content
    image = ProductImage.objects.get(product=product)
    assert response.json() == {
        "id": image.pk,
        "url": image.image.url,
        "thumbnail_url": image.thumbnail.url,
        "source_url": f"{image_server}/mug.png",
        "alt_text": "Red mug",
        "position": 0,
    }
    assert image.image.read() == _png()
    assert image.thumbnail.name.endswith(".webp")


@pytest.mark.parametrize(
    ("path", "status", "detail_part"),
    [
        ("/page.html", 400, "not a readable JPEG, PNG or WebP image"),
        ("/huge.png", 400, "larger than 5 MB"),
        ("/missing.png", 400, "answered 404"),
        ("/broken", 502, "answered 503"),
    ],
)
def test_a_url_that_is_not_a_small_image_is_refused_naming_url(
    client, supplier, auth, image_server, media, path, status, detail_part
):
    product = factories.ProductFactory(supplier=supplier)

    response = _send(
        client, "post", f"/products/{product.pk}/images", {"url": image_server + path}, auth
    )

    assert response.status_code == status
    assert problem(response)["field"] == "url"
    assert detail_part in problem(response)["detail"]
    assert not ProductImage.objects.exists()


def test_an_image_url_on_a_private_address_is_refused_before_any_request(
    client, supplier, auth, settings
):
    settings.ALLOW_LOOPBACK_URLS = False
    product = factories.ProductFactory(supplier=supplier)

    responses = [
        _send(client, "post", f"/products/{product.pk}/images", {"url": url}, auth)
        for url in (
            "http://169.254.169.254/latest/meta-data/",
            "http://127.0.0.1:9/a.png",
            "http://10.0.0.1/a.png",
            "file:///etc/passwd",
        )
    ]

    assert [r.status_code for r in responses] == [400] * 4
    assert {problem(r)["field"] for r in responses} == {"url"}
    assert "private, loopback or reserved" in problem(responses[0])["detail"]
    assert not ProductImage.objects.exists()


# --- bulk upsert -----------------------------------------------------------------------------------
@pytest.mark.embedded
def test_bulk_upsert_creates_then_updates_by_sku_like_the_spreadsheet_import(
    client, supplier, auth
):
    items = [
        {
            "sku": "MUG-BLUE",
            "handle": "mug",
            "title": "Stoneware mug",
            "option_names": ["Color"],
            "option_values": ["Blue"],
            "wholesale_price": "6.50",
            "stock": 12,
        },
        {"sku": "MUG-RED", "handle": "mug", "option_values": ["Red"], "wholesale_price": 6.5},
    ]

    created = _send(client, "post", "/variants/bulk-upsert", {"items": items}, auth)
    again = _send(client, "post", "/variants/bulk-upsert", {"items": items}, auth)
    repriced = _send(
        client,
        "post",
        "/variants/bulk-upsert",
        {"items": [{"sku": "MUG-RED", "wholesale_price": "7.00", "stock": 5}]},
        auth,
    )

    assert created.status_code == 200, created.content
    assert created.json() == {
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "items": [
            {"sku": "MUG-BLUE", "outcome": "created"},
            {"sku": "MUG-RED", "outcome": "created"},
        ],
    }
    assert again.json()["unchanged"] == 2
    assert repriced.json()["items"] == [{"sku": "MUG-RED", "outcome": "updated"}]
    product = Product.objects.get(supplier=supplier)
    assert (product.handle, product.title, product.option_names) == (
        "mug",
        "Stoneware mug",
        ["Color"],
    )
    red = Variant.objects.get(sku="MUG-RED")
    assert (red.options, red.wholesale_price, red.stock_on_hand) == (
        {"Color": "Red"},
        Decimal("7.00"),
        5,
    )
    assert StockMovement.objects.filter(variant=red).get().source == "API"


def test_bulk_upsert_with_bad_rows_writes_nothing_and_lists_every_problem(client, supplier, auth):
    factories.VariantFactory(
        product__supplier=supplier, sku="OLD", stock_on_hand=10, stock_reserved=4
    )
    items = [
        {"sku": "NEW-1", "handle": "new", "title": "New", "wholesale_price": "1.00"},
        {"sku": "NEW-1", "handle": "new", "wholesale_price": "1.00"},
        {"sku": "OLD", "wholesale_price": "1.00", "stock": 2},
        {"sku": "ORPHAN", "wholesale_price": "1.00"},
        {"sku": "CAT", "title": "Cat", "category": "Nowhere", "wholesale_price": "1.00"},
    ]

    response = _send(client, "post", "/variants/bulk-upsert", {"items": items}, auth)

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "upsert_refused"
    assert body["field"] == "items.1.sku"
    assert [(e["field"], e["message"]) for e in body["errors"]] == [
        ("items.1.sku", "Duplicate SKU: NEW-1 already appears in row 0."),
        ("items.2.stock", "Stock 2 is below the 4 units reserved for open orders."),
        ("items.3.handle", "A new SKU needs a handle or a title to know its product."),
        ("items.4.category", "Unknown category “Nowhere”."),
    ]
    assert body["detail"].startswith("4 rows of the batch have errors; nothing was written.")
    assert not Product.objects.filter(handle="new").exists()
    assert list(Variant.objects.values_list("sku", "stock_on_hand")) == [("OLD", 10)]


def test_bulk_upsert_takes_1000_variants_in_one_call_and_refuses_1001(client, supplier, auth):
    def item(n):
        return {
            "sku": f"SKU-{n:04}",
            "handle": f"product-{n // 10}",
            "title": f"Product {n // 10}",
            "option_names": ["Size"],
            "option_values": [f"S{n % 10}"],
            "wholesale_price": "2.50",
            "stock": n % 7,
        }

    too_many = _send(
        client, "post", "/variants/bulk-upsert", {"items": [item(n) for n in range(1001)]}, auth
    )
    assert too_many.status_code == 422
    assert too_many.json()["field"] == "items"
    assert not Variant.objects.exists()

    thousand = _send(
        client, "post", "/variants/bulk-upsert", {"items": [item(n) for n in range(1000)]}, auth
    )

    assert thousand.status_code == 200, thousand.content[:500]
    assert (thousand.json()["created"], thousand.json()["updated"]) == (1000, 0)
    assert Variant.objects.filter(supplier=supplier).count() == 1000
    assert Product.objects.filter(supplier=supplier).count() == 100
    assert Variant.objects.get(sku="SKU-0999").stock_on_hand == 999 % 7
