import codecs
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

from catalog.imports import runner
from catalog.imports.mapping import auto_map
from catalog.imports.rows import CellError, parse_money
from catalog.models import ImportJob, Product, ProductImage, StockMovement, Variant
from catalog.services import commit_import, create_import_job, run_import, start_import_validation
from catalog.services.imports import ImportStateError
from catalog.services.stock import set_stock
from dropship.core.errors import DomainError
from dropship.core.spreadsheets import ImportFileError
from tests import factories

# The README flow: run on SQLite too (`make test`), where the ORM writer imports what COPY
# imports on PostgreSQL.
pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


@pytest.fixture
def member():
    return factories.SupplierMemberFactory()


@pytest.fixture
def categories():
    home = factories.CategoryFactory(name="Home goods", slug="home-goods")
    fashion = factories.CategoryFactory(name="Fashion", slug="fashion")
    return {
        "Kitchen": factories.CategoryFactory(name="Kitchen", slug="kitchen", parent=home),
        "Bags": factories.CategoryFactory(name="Bags", slug="bags", parent=fashion),
        "Scarves": factories.CategoryFactory(name="Scarves", slug="scarves", parent=fashion),
    }


@pytest.fixture
def importer(member, django_capture_on_commit_callbacks):
    """Upload → mapping → validation → commit, through the services, tasks run eagerly."""

    def upload(content: bytes, name: str = "catalog.csv") -> ImportJob:
        return create_import_job(
            supplier=member.supplier, actor=member.user, upload=SimpleUploadedFile(name, content)
        )

    def validate(job: ImportJob, mapping: dict | None = None, kind: str | None = None):
        with django_capture_on_commit_callbacks(execute=True):
            start_import_validation(
                job=job, actor=member.user, mapping=mapping or job.mapping, kind=kind or job.kind
            )
        job.refresh_from_db()
        return job

    def commit(job: ImportJob, mode: str = ImportJob.Mode.VALID_ONLY) -> ImportJob:
        with django_capture_on_commit_callbacks(execute=True):
            commit_import(job=job, actor=member.user, mode=mode)
        job.refresh_from_db()
        return job

    def full(content: bytes, name: str = "catalog.csv", mode: str = ImportJob.Mode.VALID_ONLY):
        return commit(validate(upload(content, name)), mode)

    upload.validate = validate
    upload.commit = commit
    upload.full = full
    return upload


def _errors(job: ImportJob) -> list[tuple[int, str, str]]:
    return list(
        job.row_errors.order_by("row_number", "id").values_list("row_number", "column", "message")
    )


def _summary(job: ImportJob) -> tuple[int, int, int, int]:
    return (job.created_count, job.updated_count, job.unchanged_count, job.failed_count)


# A supplier's spreadsheet as it really arrives: exported from Excel in Windows-1252, semicolons,
# decimal commas, its own column names, a quoted cell holding a semicolon, a notes column we do
# not use, a blank line, and mistakes.
MESSY_ROWS = [
    "Handle;Product Name;Body (HTML);Type;Variant SKU;Option1 Name;Option1 Value;Option2 Name;"
    "Option2 Value;Wholesale Price (EUR);RRP;Weight (g);Qty;Image Src;Status;Notes",
    'cafe-mug;Café mug – 350 ml;"Stoneware; dishwasher safe";Kitchen;MUG-CRM-S;Colour;Cream;Size;'
    "S;4,50;12,99;350;120;https://img.example.com/mug-cream.jpg;active;first batch",
    "cafe-mug;;;;MUG-CRM-L;;Cream;;L;4,90;13,99;420;80;;;",
    "cafe-mug;;;;MUG-SGE-S;;Sage;;S;4,50;12,99;350;-4;;;",
    "cafe-mug;;;;MUG-CRM-S;;Cream;;XL;5,10;14,99;480;10;;;",
    "linen-scarf;Linen scarf;Soft washed linen.;Scarves;SCARF-NAT;;;;;twelve;29,00;90;15;;draft;",
    "linen-scarf;;;;SCARF-BLU;;;;;12,00;29,00;90;15;;;",
    "tote;Canvas tote;Heavy canvas.;Bags;TOTE-NAT;;;;;6,40;24,99;320;30;;Active;",
    "tote;;;;TOTE-BLK;;;;;6,40;24,99;320;3.5;;;",
    "",
    "notebook;A5 notebook;;Stationery;NB-A5;;;;;2,10;7,99;200;500;;;",
    "pen;Gel pen;;Kitchen;PEN-1;;;;;0,80;2,49;15;1000;ftp://x/pen.png;;",
    "bottle;Steel bottle 750 ml;;Kitchen;BTL-750;;;;;7,80;29,99;410;200;;sold out;",
    "mug-2;;;;MUG2-1;;;;;3,00;;;;;;",
    "cafe-mug;;;;MUG-SGE-L;;Sage;;;4,90;13,99;420;5;;;",
    "cafe-mug;;;;MUG-CRM-L2;;Cream;;L;4,90;13,99;420;8;;;",
    "cafe-mug;;;;MUG-SGE-M;;Sage;;M;4,70;13,99;420;7;;;",
    "bottle-s;Steel bottle 500 ml;;Home goods > Kitchen;BTL-500;;;;;6,90;24,99;330;1200;;DRAFT;",
]
MESSY_FILE = ("\r\n".join(MESSY_ROWS) + "\r\n").encode("cp1252")
MESSY_ERRORS = [
    (4, "Qty", "Must not be negative (got -4)."),
    (5, "Variant SKU", "Duplicate SKU: MUG-CRM-S already appears in row 2."),
    (6, "Wholesale Price (EUR)", "“twelve” is not a number."),
    (7, "Handle", "Skipped: row 6, which defines product “linen-scarf”, has errors."),
    (9, "Qty", "“3.5” is not a whole number."),
    (11, "Type", "Unknown category “Stationery”."),
    (12, "Image Src", "“ftp://x/pen.png” is not an http(s) URL."),
    (13, "Status", "Unknown status “sold out”: use ACTIVE, DRAFT or DISCONTINUED."),
    (14, "Product Name", "Title is required on the first row of a new product (handle “mug-2”)."),
    (15, "Option2 Value", "Option2 value is required: product “cafe-mug” has option “Size”."),
    (16, "Option1 Value", "Same options as row 3 (Cream / L) in product “cafe-mug”."),
]


def test_messy_file_is_read_mapped_and_every_problem_listed_by_row_and_column(
    importer, categories, monkeypatch
):
    monkeypatch.setattr(runner, "BATCH_SIZE", 4)  # products span batches, as in big files

    job = importer(MESSY_FILE, "Lieferant Export.csv")

    assert (job.file_format, job.encoding, job.delimiter) == ("CSV", "cp1252", ";")
    assert job.headers[1] == "Product Name"
    assert job.mapping == {
        "0": "handle",
        "1": "title",
        "2": "description",
        "3": "category",
        "4": "sku",
        "5": "option1_name",
        "6": "option1_value",
        "7": "option2_name",
        "8": "option2_value",
        "9": "wholesale_price",
        "10": "msrp",
        "11": "weight_grams",
        "12": "stock",
        "13": "image_url",
        "14": "status",
    }
    job = importer.validate(job)

    assert job.status == ImportJob.Status.VALIDATED
    assert (job.total_rows, job.valid_rows, job.invalid_rows) == (16, 5, 11)
    assert _errors(job) == MESSY_ERRORS
    assert Product.objects.count() == 0  # validation writes nothing


def test_messy_file_cannot_be_imported_whole(importer, categories):
    job = importer.validate(importer(MESSY_FILE))

    with pytest.raises(ImportStateError) as refused:
        importer.commit(job, mode=ImportJob.Mode.ALL)

    assert refused.value.message == (
        "11 rows have errors, so the file cannot be imported whole: correct it, or import only "
        "the valid rows."
    )
    job.refresh_from_db()
    assert job.status == ImportJob.Status.VALIDATED
    assert Product.objects.count() == 0
    assert Variant.objects.count() == 0


def test_messy_file_imports_its_valid_rows_and_reports_the_rest(importer, categories, monkeypatch):
    monkeypatch.setattr(runner, "BATCH_SIZE", 4)

    job = importer.full(MESSY_FILE)

    assert job.status == ImportJob.Status.COMPLETED
    assert (job.processed_rows, job.total_rows) == (16, 16)
    assert _summary(job) == (5, 0, 0, 11)
    assert _errors(job) == MESSY_ERRORS
    mug = Product.objects.get(handle="cafe-mug")
    assert (mug.title, mug.description, mug.category, mug.status) == (
        "Café mug – 350 ml",
        "Stoneware; dishwasher safe",
        categories["Kitchen"],
        "ACTIVE",
    )
    assert mug.option_names == ["Colour", "Size"]
    assert list(
        Variant.objects.filter(product=mug)
        .order_by("id")
        .values_list("sku", "options", "wholesale_price", "msrp", "weight_grams", "stock_on_hand")
    ) == [
        (
            "MUG-CRM-S",
            {"Colour": "Cream", "Size": "S"},
            Decimal("4.50"),
            Decimal("12.99"),
            350,
            120,
        ),
        ("MUG-CRM-L", {"Colour": "Cream", "Size": "L"}, Decimal("4.90"), Decimal("13.99"), 420, 80),
        ("MUG-SGE-M", {"Colour": "Sage", "Size": "M"}, Decimal("4.70"), Decimal("13.99"), 420, 7),
    ]
    assert list(ProductImage.objects.values_list("product__handle", "source_url")) == [
        ("cafe-mug", "https://img.example.com/mug-cream.jpg")
    ]
    assert dict(Product.objects.values_list("handle", "status")) == {
        "cafe-mug": "ACTIVE",
        "tote": "ACTIVE",
        "bottle-s": "DRAFT",
    }
    assert Product.objects.get(handle="bottle-s").category == categories["Kitchen"]
    movements = StockMovement.objects.order_by("id")
    assert [(m.variant.sku, m.source, m.on_hand_before, m.on_hand_after) for m in movements] == [
        ("MUG-CRM-S", "IMPORT", 0, 120),
        ("MUG-CRM-L", "IMPORT", 0, 80),
        ("TOTE-NAT", "IMPORT", 0, 30),
        ("MUG-SGE-M", "IMPORT", 0, 7),
        ("BTL-500", "IMPORT", 0, 1200),
    ]
    assert {m.reference for m in movements} == {f"Import #{job.pk} (catalog.csv)"}


def test_importing_the_same_file_twice_changes_nothing(importer, categories, monkeypatch):
    monkeypatch.setattr(runner, "BATCH_SIZE", 4)
    importer.full(MESSY_FILE)
    before = {
        "products": list(Product.objects.order_by("pk").values_list("pk", "updated_at")),
        "variants": list(
            Variant.objects.order_by("pk").values_list("pk", "updated_at", "stock_on_hand")
        ),
        "movements": StockMovement.objects.count(),
        "images": ProductImage.objects.count(),
    }

    again = importer.full(MESSY_FILE)

    assert _summary(again) == (0, 0, 5, 11)
    assert {
        "products": list(Product.objects.order_by("pk").values_list("pk", "updated_at")),
        "variants": list(
            Variant.objects.order_by("pk").values_list("pk", "updated_at", "stock_on_hand")
        ),
        "movements": StockMovement.objects.count(),
        "images": ProductImage.objects.count(),
    } == before


def test_a_second_file_updates_by_sku_and_leaves_other_rows_alone(importer, member):
    first = (
        b"\xef\xbb\xbfhandle,title,option1 name,option1 value,sku,wholesale price,stock\n"
        b"mug,Mug,Size,S,MUG-1,4.00,10\nmug,,,M,MUG-2,4.00,10\n"
    )
    second = (
        b"sku,title,option1 value,wholesale price,stock,msrp\n"
        b"MUG-1,Big mug,,4.25,10,\nMUG-2,,,4.00,3,9.99\nMUG-3,Mug,L,5.00,1,\n"
    )
    importer.full(first, "first.csv")

    job = importer.full(second, "second.csv")

    assert job.encoding == "utf-8"
    assert _errors(job) == []  # blank option values keep the existing variants' options
    assert _summary(job) == (1, 2, 0, 0)
    mug = Product.objects.get(handle="mug")
    assert mug.title == "Big mug"  # no handle column: MUG-1 stays in its product
    assert list(
        Variant.objects.order_by("sku").values_list(
            "sku", "product__handle", "options", "wholesale_price", "msrp", "stock_on_hand"
        )
    ) == [
        ("MUG-1", "mug", {"Size": "S"}, Decimal("4.25"), None, 10),
        ("MUG-2", "mug", {"Size": "M"}, Decimal("4.00"), Decimal("9.99"), 3),
        ("MUG-3", "mug", {"Size": "L"}, Decimal("5.00"), None, 1),
    ]


def test_a_utf8_bom_file_with_thousands_of_rows_imports_in_batches(importer):
    lines = ["Handle,Title,SKU,Option1 Name,Option1 Value,Wholesale Price,Stock"]
    for product in range(1000):
        for size_index, size in enumerate(("S", "M", "L")):
            name = "Size" if size_index == 0 else ""
            title = f"Shirt {product}" if size_index == 0 else ""
            lines.append(
                f"shirt-{product},{title},SH-{product}-{size},{name},{size},9.50,{product % 7}"
            )
    content = codecs.BOM_UTF8 + "\n".join(lines).encode()

    job = importer.full(content, "shirts.csv")

    assert job.encoding == "utf-8-sig"
    assert (job.total_rows, job.processed_rows) == (3000, 3000)
    assert _summary(job) == (3000, 0, 0, 0)
    assert Product.objects.count() == 1000
    assert Variant.objects.count() == 3000
    assert Variant.objects.get(sku="SH-999-L").options == {"Size": "L"}
    assert StockMovement.objects.count() == sum(1 for p in range(1000) for _ in range(3) if p % 7)


def test_a_stock_only_file_updates_quantities_through_the_stock_service(importer, member):
    supplier = member.supplier
    factories.VariantFactory(product__supplier=supplier, sku="A-1", stock_on_hand=5)
    factories.VariantFactory(product__supplier=supplier, sku="A-2", stock_on_hand=7)
    factories.VariantFactory(
        product__supplier=supplier, sku="A-3", stock_on_hand=9, stock_reserved=4
    )
    factories.VariantFactory(sku="THEIRS", stock_on_hand=1)
    content = b"SKU\tQuantity\nA-1\t50\nA-2\t7\nA-3\t2\nTHEIRS\t0\nNOPE\t3\n"

    job = importer(content, "stock.tsv")
    assert (job.kind, job.delimiter, job.mapping) == ("STOCK", "\t", {"0": "sku", "1": "stock"})
    job = importer.commit(importer.validate(job))

    assert _summary(job) == (0, 1, 1, 3)
    assert _errors(job) == [
        (4, "Quantity", "Stock 2 is below the 4 units reserved for open orders."),
        (5, "SKU", "Unknown SKU: THEIRS is not in your catalog."),
        (6, "SKU", "Unknown SKU: NOPE is not in your catalog."),
    ]
    assert dict(Variant.objects.values_list("sku", "stock_on_hand")) == {
        "A-1": 50,
        "A-2": 7,
        "A-3": 9,
        "THEIRS": 1,
    }
    assert list(StockMovement.objects.values_list("source", "on_hand_before", "on_hand_after")) == [
        ("IMPORT", 5, 50)
    ]


def test_reservations_made_after_validation_are_respected_at_import(importer, member):
    variant = factories.VariantFactory(
        product__supplier=member.supplier, sku="A-1", stock_on_hand=10
    )
    factories.VariantFactory(product__supplier=member.supplier, sku="A-2", stock_on_hand=10)
    job = importer.validate(importer(b"sku,stock\nA-1,3\nA-2,4\n"))
    assert job.invalid_rows == 0
    Variant.objects.filter(pk=variant.pk).update(stock_reserved=6)  # an order came in meanwhile

    job = importer.commit(job, mode=ImportJob.Mode.ALL)

    assert _summary(job) == (0, 1, 0, 1)
    assert _errors(job) == [(2, "stock", "Stock 3 is below the 6 units reserved for open orders.")]
    assert dict(Variant.objects.values_list("sku", "stock_on_hand")) == {"A-1": 10, "A-2": 4}


def test_xlsx_with_formulas_gets_an_error_per_formula_cell(importer):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Handle", "Title", "SKU", "Wholesale price", "Stock"])
    sheet.append(["lamp", "Desk lamp", "LAMP-1", 18.5, 40])
    sheet.append(["lamp-2", "Floor lamp", "LAMP-2", "=D2*2", 12])
    sheet.append(["lamp-3", "Wall lamp", "LAMP-3", 22, "=SUM(E2:E3)"])
    buffer = io.BytesIO()
    workbook.save(buffer)

    job = importer.full(buffer.getvalue(), "lamps.xlsx")

    assert job.file_format == "XLSX"
    assert _errors(job) == [
        (3, "Wholesale price", "Formulas are not accepted (=D2*2): paste the values instead."),
        (4, "Stock", "Formulas are not accepted (=SUM(E2:E3)): paste the values instead."),
    ]
    assert _summary(job) == (1, 0, 0, 2)
    assert list(Variant.objects.values_list("sku", "wholesale_price", "stock_on_hand")) == [
        ("LAMP-1", Decimal("18.50"), 40)
    ]


def test_excel_unicode_text_export_utf16_tab_separated_works(importer):
    content = "SKU\tTitle\tWholesale price\nÜ-1\tÜberzug\t3.10\n".encode("utf-16")

    job = importer.full(content, "export.txt")

    assert (job.encoding, job.delimiter) == ("utf-16", "\t")
    assert list(Variant.objects.values_list("sku", "product__title")) == [("Ü-1", "Überzug")]


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "empty.csv", "The file is empty."),
        (b"   \n\n", "blank.csv", "The file is empty."),
        (
            b"sku,title,wholesale price\n",
            "header.csv",
            "The file has a header row but no data rows.",
        ),
        (
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
            "photo.csv",
            "This is a PNG image, not a spreadsheet; upload a CSV or XLSX file.",
        ),
        (
            b"\x00\x01\x02binary\x00stuff",
            "data.csv",
            "This is a binary file, not a CSV (whatever its name says); upload a CSV or XLSX file.",
        ),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
            "old.xls",
            "This is an old Excel (.xls) file; save it as .xlsx or CSV and upload that.",
        ),
        (
            b"PK\x03\x04not really a zip",
            "book.xlsx",
            "This file looks like an XLSX workbook but it is damaged.",
        ),
    ],
)
def test_unreadable_files_are_refused_with_a_reason_and_nothing_is_stored(
    importer, content, name, message
):
    with pytest.raises(ImportFileError) as refused:
        importer(content, name)

    assert refused.value.message == message
    assert ImportJob.objects.count() == 0


def test_missing_required_columns_are_named_before_any_row_is_checked(importer):
    job = importer(b"Name,Colour,Price\nMug,Blue,4.00\n", "nosku.csv")

    with pytest.raises(DomainError) as refused:
        importer.validate(job)

    assert refused.value.message == (
        "Required column missing: SKU. Choose which column of your file holds it."
    )
    job.refresh_from_db()
    assert job.status == ImportJob.Status.UPLOADED


def test_the_supplier_can_correct_the_mapping(importer):
    job = importer(b"Ref,Name,Net\nX-1,Mug,4.00\n", "odd.csv")
    assert job.mapping == {"1": "title"}  # "Ref" and "Net" mean nothing to us

    job = importer.validate(job, mapping={"0": "sku", "1": "title", "2": "wholesale_price"})
    job = importer.commit(job, mode=ImportJob.Mode.ALL)

    assert _summary(job) == (1, 0, 0, 0)
    assert Variant.objects.get().sku == "X-1"


def test_one_field_chosen_for_two_columns_is_refused(importer):
    job = importer(b"SKU,Title,Price,Cost\nX-1,Mug,4.00,3.00\n")

    with pytest.raises(DomainError) as refused:
        importer.validate(
            job, mapping={"0": "sku", "1": "title", "2": "wholesale_price", "3": "wholesale_price"}
        )

    assert (
        refused.value.message
        == "“Wholesale price” is chosen for two columns (Price and Cost); choose it once."
    )


def test_running_an_import_task_twice_imports_once(importer):
    job = importer.full(b"sku,title,wholesale price,stock\nA,Mug,1.00,5\n")

    run_import(job_id=job.pk)

    job.refresh_from_db()
    assert _summary(job) == (1, 0, 0, 0)
    assert StockMovement.objects.count() == 1


def test_auto_mapping_understands_a_shopify_product_export():
    headers = [
        "Handle",
        "Title",
        "Body (HTML)",
        "Vendor",
        "Product Category",
        "Type",
        "Tags",
        "Published",
        "Option1 Name",
        "Option1 Value",
        "Option2 Name",
        "Option2 Value",
        "Variant SKU",
        "Variant Grams",
        "Variant Inventory Qty",
        "Variant Price",
        "Variant Compare At Price",
        "Image Src",
        "Status",
    ]

    assert {headers[int(i)]: field for i, field in auto_map(headers).items()} == {
        "Handle": "handle",
        "Title": "title",
        "Body (HTML)": "description",
        "Product Category": "category",
        "Option1 Name": "option1_name",
        "Option1 Value": "option1_value",
        "Option2 Name": "option2_name",
        "Option2 Value": "option2_value",
        "Variant SKU": "sku",
        "Variant Grams": "weight_grams",
        "Variant Inventory Qty": "stock",
        "Variant Price": "wholesale_price",
        "Variant Compare At Price": "msrp",
        "Image Src": "image_url",
        "Status": "status",
    }


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("12", "12.00"),
        ("12,5", "12.50"),
        ("1.234,56", "1234.56"),
        ("1,234.56", "1234.56"),
        ("$4.99", "4.99"),
        ("4.99 EUR", "4.99"),
        ("1,000", "1000.00"),
    ],
)
def test_prices_are_read_the_way_people_write_them(text, amount):
    assert parse_money(text) == Decimal(amount)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-1", "Must not be negative (got -1)."),
        ("1.234", "At most 2 decimals (got 1.234)."),
        ("abc", "“abc” is not a number."),
    ],
)
def test_impossible_prices_are_explained(text, message):
    with pytest.raises(CellError) as refused:
        parse_money(text)
    assert str(refused.value) == message


def test_stock_changed_on_the_page_after_an_import_is_imported_again_as_an_update(importer, member):
    importer.full(b"sku,title,wholesale price,stock\nA,Mug,1.00,5\n")
    set_stock(variant=Variant.objects.get(sku="A"), quantity=2, source="PAGE", actor=member.user)

    job = importer.full(b"sku,title,wholesale price,stock\nA,Mug,1.00,5\n")

    assert _summary(job) == (0, 1, 0, 0)
    assert list(StockMovement.objects.order_by("id").values_list("source", "on_hand_after")) == [
        ("IMPORT", 5),
        ("PAGE", 2),
        ("IMPORT", 5),
    ]
