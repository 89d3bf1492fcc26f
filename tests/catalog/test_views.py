import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from PIL import Image

from catalog.models import ImportJob, Product, ProductImage, StockMovement, Variant
from tests import factories

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def media_root(tmp_path):
    with override_settings(MEDIA_ROOT=tmp_path):
        yield tmp_path


def _png(size=(800, 600), color=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def test_catalog_list_shows_my_products_with_stock_without_a_query_per_row(
    supplier_client, django_assert_max_num_queries
):
    supplier = supplier_client.supplier
    for i in range(6):
        product = factories.ProductFactory(supplier=supplier, title=f"Lamp {i}")
        factories.VariantFactory(product=product, sku=f"LAMP-{i}-S", stock_on_hand=10)
        factories.VariantFactory(product=product, sku=f"LAMP-{i}-L", stock_on_hand=0)
        ProductImage.objects.create(product=product, source_url=f"https://img.example/{i}.jpg")
    factories.ProductFactory(title="Someone else's lamp")

    with django_assert_max_num_queries(12):
        response = supplier_client.get("/supplier/catalog/")

    content = response.content.decode()
    assert response.status_code == 200
    assert content.count("LAMP-") == 12 * 4  # SKU link, two labels and the history link per variant
    assert "Someone else" not in content
    assert "https://img.example/5.jpg" in content


def test_catalog_search_and_stock_filters(supplier_client):
    supplier = supplier_client.supplier
    supplier.low_stock_threshold = 5
    supplier.save(update_fields=["low_stock_threshold"])
    plenty = factories.ProductFactory(supplier=supplier, title="Plenty")
    factories.VariantFactory(product=plenty, sku="PL-1", stock_on_hand=50)
    low = factories.ProductFactory(supplier=supplier, title="Lowish")
    factories.VariantFactory(product=low, sku="LO-1", stock_on_hand=3)
    out = factories.ProductFactory(supplier=supplier, title="Gone")
    factories.VariantFactory(product=out, sku="GO-1", stock_on_hand=4, stock_reserved=4)

    def titles(query: str) -> list[str]:
        page = supplier_client.get(f"/supplier/catalog/?{query}").context["page"]
        return sorted(p.title for p in page.object_list)

    assert titles("q=lo-1") == ["Lowish"]
    assert titles("stock=low") == ["Lowish"]
    assert titles("stock=out") == ["Gone"]
    assert titles("q=") == ["Gone", "Lowish", "Plenty"]


def test_inline_price_edit_saves_and_answers_with_the_cell(supplier_client):
    variant = factories.VariantFactory(
        product__supplier=supplier_client.supplier, wholesale_price=Decimal("5.00")
    )

    response = supplier_client.post(
        f"/supplier/catalog/variants/{variant.pk}/price/", {"wholesale_price": "6.75"}, **HTMX
    )

    assert response.status_code == 200
    assert 'value="6.75"' in response.content.decode()
    assert "Saved" in response.content.decode()
    variant.refresh_from_db()
    assert variant.wholesale_price == Decimal("6.75")


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("-2", "The wholesale price cannot be negative."),
        ("abc", "The wholesale price must be a number, like 12.50."),
        ("1.999", "The wholesale price can have at most 2 decimals."),
        ("", "Enter the wholesale price."),
    ],
)
def test_inline_price_errors_are_shown_in_the_cell_and_nothing_changes(
    supplier_client, typed, message
):
    variant = factories.VariantFactory(
        product__supplier=supplier_client.supplier, wholesale_price=Decimal("5.00")
    )

    response = supplier_client.post(
        f"/supplier/catalog/variants/{variant.pk}/price/", {"wholesale_price": typed}, **HTMX
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    assert 'aria-invalid="true"' in response.content.decode()
    variant.refresh_from_db()
    assert variant.wholesale_price == Decimal("5.00")


def test_inline_stock_edit_goes_through_the_stock_service(supplier_client):
    variant = factories.VariantFactory(
        product__supplier=supplier_client.supplier, stock_on_hand=10, stock_reserved=2
    )

    ok = supplier_client.post(
        f"/supplier/catalog/variants/{variant.pk}/stock/", {"stock_on_hand": "14"}, **HTMX
    )
    too_low = supplier_client.post(
        f"/supplier/catalog/variants/{variant.pk}/stock/", {"stock_on_hand": "1"}, **HTMX
    )
    nonsense = supplier_client.post(
        f"/supplier/catalog/variants/{variant.pk}/stock/", {"stock_on_hand": "lots"}, **HTMX
    )

    assert "Saved" in ok.content.decode()
    assert (
        f"{variant.sku}: stock 1 is below the 2 units reserved for open orders; set at least 2."
        in too_low.content.decode()
    )
    assert "Enter a whole number of units." in nonsense.content.decode()
    variant.refresh_from_db()
    assert variant.stock_on_hand == 14
    assert list(StockMovement.objects.values_list("source", "on_hand_before", "on_hand_after")) == [
        ("PAGE", 10, 14)
    ]


def test_another_suppliers_variant_is_not_found(supplier_client):
    theirs = factories.VariantFactory(stock_on_hand=10, wholesale_price=Decimal("5.00"))

    price = supplier_client.post(
        f"/supplier/catalog/variants/{theirs.pk}/price/", {"wholesale_price": "1"}, **HTMX
    )
    stock = supplier_client.post(
        f"/supplier/catalog/variants/{theirs.pk}/stock/", {"stock_on_hand": "1"}, **HTMX
    )
    history = supplier_client.get(f"/supplier/catalog/variants/{theirs.pk}/history/")

    assert (price.status_code, stock.status_code, history.status_code) == (404, 404, 404)
    theirs.refresh_from_db()
    assert (theirs.stock_on_hand, theirs.wholesale_price) == (10, Decimal("5.00"))


def test_bulk_actions_activate_discontinue_and_recategorise(supplier_client):
    supplier = supplier_client.supplier
    ready = factories.ProductFactory(supplier=supplier, title="Ready", status="DRAFT")
    factories.VariantFactory(product=ready)
    empty = factories.ProductFactory(supplier=supplier, title="Empty", status="DRAFT")
    kitchen = factories.CategoryFactory(name="Kitchen")

    activate = supplier_client.post(
        "/supplier/catalog/bulk/",
        {"action": "activate", "products": [ready.pk, empty.pk]},
        follow=True,
    )
    supplier_client.post(
        "/supplier/catalog/bulk/",
        {"action": "set_category", "category": kitchen.pk, "products": [ready.pk, empty.pk]},
    )
    supplier_client.post(
        "/supplier/catalog/bulk/", {"action": "discontinue", "products": [empty.pk]}
    )

    messages = [str(m) for m in activate.context["messages"]]
    assert messages == [
        "1 product changed.",
        "Not activated because they have no variants yet: Empty",
    ]
    assert dict(Product.objects.values_list("title", "status")) == {
        "Ready": "ACTIVE",
        "Empty": "DISCONTINUED",
    }
    assert set(Product.objects.values_list("category__name", flat=True)) == {"Kitchen"}


def test_bulk_action_on_someone_elses_product_changes_nothing(supplier_client):
    mine = factories.ProductFactory(supplier=supplier_client.supplier, status="ACTIVE")
    theirs = factories.ProductFactory(status="ACTIVE")

    response = supplier_client.post(
        "/supplier/catalog/bulk/",
        {"action": "discontinue", "products": [mine.pk, theirs.pk]},
        follow=True,
    )

    assert [str(m) for m in response.context["messages"]] == [
        "Some selected products are not in your catalog."
    ]
    assert set(Product.objects.values_list("status", flat=True)) == {"ACTIVE"}


def test_a_product_is_created_then_its_variants_with_opening_stock(supplier_client):
    created = supplier_client.post(
        "/supplier/catalog/new/",
        {
            "title": "Wool beanie",
            "handle": "",
            "description": "Merino.",
            "option_names": "Color, Size",
            "attributes": "Material: merino wool\nCare: hand wash",
        },
    )
    product = Product.objects.get()
    assert created.url == f"/supplier/catalog/{product.pk}/variants/new/"
    assert (product.handle, product.status, product.option_names) == (
        "wool-beanie",
        "DRAFT",
        ["Color", "Size"],
    )
    assert product.attributes == {"Material": "merino wool", "Care": "hand wash"}

    variant_form = {
        "sku": "BEANIE-RED-M",
        "option_0": "Red",
        "option_1": "M",
        "wholesale_price": "6.20",
        "msrp": "19.99",
        "weight_grams": "80",
        "shipping_class": "small",
        "low_stock_threshold": "",
        "stock_on_hand": "25",
    }
    supplier_client.post(f"/supplier/catalog/{product.pk}/variants/new/", variant_form)
    duplicate = supplier_client.post(f"/supplier/catalog/{product.pk}/variants/new/", variant_form)

    variant = Variant.objects.get()
    assert (variant.options, variant.stock_on_hand, variant.wholesale_price) == (
        {"Color": "Red", "Size": "M"},
        25,
        Decimal("6.20"),
    )
    assert list(StockMovement.objects.values_list("source", "on_hand_after", "reference")) == [
        ("PAGE", 25, "New variant")
    ]
    assert "SKU BEANIE-RED-M is already used by “Wool beanie”." in duplicate.content.decode()


def test_an_uploaded_image_is_checked_and_gets_a_small_thumbnail(supplier_client, media_root):
    product = factories.ProductFactory(supplier=supplier_client.supplier)

    response = supplier_client.post(
        f"/supplier/catalog/{product.pk}/images/",
        {"image": SimpleUploadedFile("lamp.png", _png()), "alt_text": "Red lamp"},
        follow=True,
    )

    assert [str(m) for m in response.context["messages"]] == ["Image added."]
    image = ProductImage.objects.get()
    assert image.alt_text == "Red lamp"
    assert image.image.name.endswith(".png")
    with Image.open(image.thumbnail.path) as thumbnail:
        assert thumbnail.format == "WEBP"
        assert thumbnail.size == (240, 180)
    assert image.list_url == image.thumbnail.url


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "lamp.png",
            b"#!/bin/sh\necho not an image\n",
            "This file is not a readable JPEG, PNG or WebP image.",
        ),
        (
            "lamp.gif",
            b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;",
            "GIF images are not accepted; upload a JPEG, PNG or WebP image.",
        ),
    ],
)
def test_files_that_are_not_accepted_images_are_refused(
    supplier_client, media_root, name, content, message
):
    product = factories.ProductFactory(supplier=supplier_client.supplier)

    response = supplier_client.post(
        f"/supplier/catalog/{product.pk}/images/",
        {"image": SimpleUploadedFile(name, content)},
        follow=True,
    )

    assert [str(m) for m in response.context["messages"]] == [f"Image not added: {message}"]
    assert ProductImage.objects.count() == 0
    assert list(media_root.rglob("*.*")) == []


def test_an_image_over_5_mb_is_refused(supplier_client, media_root):
    product = factories.ProductFactory(supplier=supplier_client.supplier)
    big = SimpleUploadedFile("big.png", _png() + b"\0" * (5 * 1024 * 1024))

    response = supplier_client.post(
        f"/supplier/catalog/{product.pk}/images/", {"image": big}, follow=True
    )

    assert [str(m) for m in response.context["messages"]] == [
        "Image not added: The image is 5.0 MB; the limit is 5 MB."
    ]
    assert ProductImage.objects.count() == 0


def test_stock_history_lists_every_change_newest_first(supplier_client):
    from catalog.services import set_stock

    variant = factories.VariantFactory(product__supplier=supplier_client.supplier, stock_on_hand=10)
    for quantity in (8, 30, 12):
        set_stock(variant=variant, quantity=quantity, source="PAGE", reference=f"count {quantity}")

    response = supplier_client.get(f"/supplier/catalog/variants/{variant.pk}/history/")

    assert response.status_code == 200
    assert [(m.on_hand_before, m.on_hand_after) for m in response.context["movements"]] == [
        (30, 12),
        (8, 30),
        (10, 8),
    ]
    assert response.context["chart"]["first"] == 10
    assert response.context["chart"]["last"] == 12
    assert "count 30" in response.content.decode()


def test_import_through_the_pages_from_upload_to_summary(
    supplier_client, django_capture_on_commit_callbacks
):
    upload = supplier_client.post(
        "/supplier/imports/",
        {"file": SimpleUploadedFile("c.csv", b"Ref;Name;Net;Qty\nX-1;Mug;4,00;5\nX-2;Cup;-1;5\n")},
    )
    job = ImportJob.objects.get()
    assert upload.url == f"/supplier/imports/{job.pk}/"
    mapping_page = supplier_client.get(upload.url)
    assert mapping_page.context["mapping_form"]["column_3"].initial == "stock"

    with django_capture_on_commit_callbacks(execute=True):  # the task runs eagerly on commit
        supplier_client.post(
            upload.url,
            {
                "step": "mapping",
                "kind": "CATALOG",
                "column_0": "sku",
                "column_1": "title",
                "column_2": "wholesale_price",
                "column_3": "stock",
            },
        )
    validated = supplier_client.get(upload.url)
    assert validated.context["job"].status == "VALIDATED"
    assert "Must not be negative (got -1)." in validated.content.decode()
    all_rows = supplier_client.post(upload.url, {"step": "commit", "mode": "ALL"}, follow=True)
    assert [str(m) for m in all_rows.context["messages"]] == [
        "1 row has errors, so the file cannot be imported whole: correct it, or import only the valid rows."
    ]

    with django_capture_on_commit_callbacks(execute=True):
        supplier_client.post(upload.url, {"step": "commit", "mode": "VALID_ONLY"})
    done = supplier_client.get(upload.url)

    job.refresh_from_db()
    assert (job.status, job.created_count, job.failed_count) == ("COMPLETED", 1, 1)
    content = done.content.decode()
    assert "Import summary" in content
    assert '<progress max="2" value="2"' in content
    assert list(Variant.objects.values_list("sku", "stock_on_hand")) == [("X-1", 5)]
    progress = supplier_client.get(f"/supplier/imports/{job.pk}/progress/", **HTMX)
    assert progress["HX-Refresh"] == "true"


def test_a_bad_upload_is_explained_on_the_form(supplier_client):
    response = supplier_client.post(
        "/supplier/imports/", {"file": SimpleUploadedFile("stock.csv", _png())}
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "file": ["This is a PNG image, not a spreadsheet; upload a CSV or XLSX file."]
    }
    assert ImportJob.objects.count() == 0


def test_another_suppliers_import_is_not_found(supplier_client):
    other = factories.SupplierMemberFactory()
    job = ImportJob.objects.create(
        supplier=other.supplier, original_filename="x.csv", file_format="CSV", file="imports/x.csv"
    )

    assert supplier_client.get(f"/supplier/imports/{job.pk}/").status_code == 404
    assert supplier_client.get(f"/supplier/imports/{job.pk}/progress/").status_code == 404


def test_retailers_cannot_open_the_catalog_manager(retailer_client):
    assert retailer_client.get("/supplier/catalog/").status_code == 403


def test_the_downloadable_template_is_understood_and_imports_cleanly(
    supplier_client, django_capture_on_commit_callbacks
):
    factories.CategoryFactory(name="Bags")
    factories.CategoryFactory(name="Kitchen")
    template = supplier_client.get("/supplier/imports/template.csv")
    assert template["Content-Disposition"] == 'attachment; filename="dropship-catalog-template.csv"'

    supplier_client.post(
        "/supplier/imports/", {"file": SimpleUploadedFile("template.csv", template.content)}
    )
    job = ImportJob.objects.get()
    assert len(job.mapping) == len(job.headers) == 16  # every column recognised
    form = {"step": "mapping", "kind": job.kind}
    form.update({f"column_{index}": field for index, field in job.mapping.items()})
    with django_capture_on_commit_callbacks(execute=True):
        supplier_client.post(f"/supplier/imports/{job.pk}/", form)
    with django_capture_on_commit_callbacks(execute=True):
        supplier_client.post(f"/supplier/imports/{job.pk}/", {"step": "commit", "mode": "ALL"})

    job.refresh_from_db()
    assert (job.status, job.created_count, job.failed_count) == ("COMPLETED", 3, 0)
    assert sorted(Variant.objects.values_list("sku", flat=True)) == [
        "BOTTLE-750",
        "TOTE-NAT-L",
        "TOTE-NAT-M",
    ]
