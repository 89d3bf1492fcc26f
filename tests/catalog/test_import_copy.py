"""The COPY writer (PostgreSQL) imports exactly what the row-wise ORM writer (SQLite's) imports.

Each file of the import tests goes through both writers, for two suppliers alike in every way,
and the jobs (counts, errors by row and column) and the catalogs they leave (products, variants,
stock movements, images, search rows) are compared row for row. The ORM writer is the one
`make run` uses, so this is also the proof that both engines import a file the same way.
"""

import codecs
import tracemalloc

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from catalog.imports import runner
from catalog.imports.postgresql import CopyCatalogWriter
from catalog.imports.writer import CatalogWriter
from catalog.models import ImportJob, Product, ProductImage, StockMovement, Variant
from catalog.services import commit_import, create_import_job, start_import_validation
from tests import factories
from tests.catalog.test_imports import MESSY_FILE

pytestmark = pytest.mark.django_db

FIRST = (
    b"handle,title,option1 name,option1 value,sku,wholesale price,stock,image src\n"
    b"mug,Mug,Size,S,MUG-1,4.00,10,https://img.example.com/mug.jpg\n"
    b"mug,,,M,MUG-2,4.00,10,https://img.example.com/mug.jpg\n"
    b"mug,,,L,MUG-4,4.00,0,https://img.example.com/mug-l.jpg\n"
)
SECOND = (
    b"sku,title,option1 value,wholesale price,stock,msrp,weight (g),shipping class\n"
    b"MUG-1,Big mug,,4.25,10,,,\n"
    b"MUG-2,,,4.00,3,9.99,350,bulky\n"
    b"MUG-3,Mug,XL,5.00,1,,,\n"
    b"MUG-4,,,4.00,0,,,\n"
)


def _shirts() -> bytes:
    lines = ["Handle,Title,SKU,Option1 Name,Option1 Value,Wholesale Price,Stock,Status"]
    for product in range(300):
        for index, size in enumerate(("S", "M", "L")):
            title = f"Shirt {product}" if index == 0 else ""
            name = "Size" if index == 0 else ""
            status = "active" if index == 0 and product % 3 else ""
            lines.append(
                f"shirt-{product},{title},SH-{product}-{size},{name},{size},9.50,{product % 7},{status}"
            )
    return codecs.BOM_UTF8 + "\n".join(lines).encode()


@pytest.fixture
def twins(categories_for_twins):
    """Two suppliers identical but for their slug: one imports with each writer."""
    return [
        factories.SupplierMemberFactory(
            supplier__company_name="Twin Goods", supplier__low_stock_threshold=2
        )
        for _ in range(2)
    ]


@pytest.fixture
def categories_for_twins():
    home = factories.CategoryFactory(name="Home goods", slug="home-goods")
    fashion = factories.CategoryFactory(name="Fashion", slug="fashion")
    factories.CategoryFactory(name="Kitchen", slug="kitchen", parent=home)
    factories.CategoryFactory(name="Bags", slug="bags", parent=fashion)
    factories.CategoryFactory(name="Scarves", slug="scarves", parent=fashion)


def _import(member, content: bytes, name: str, writer, monkeypatch, capture) -> ImportJob:
    monkeypatch.setattr(runner, "catalog_writer_class", lambda: writer)
    job = create_import_job(
        supplier=member.supplier, actor=member.user, upload=SimpleUploadedFile(name, content)
    )
    with capture(execute=True):
        start_import_validation(job=job, actor=member.user, mapping=job.mapping, kind=job.kind)
    job.refresh_from_db()
    with capture(execute=True):
        commit_import(job=job, actor=member.user, mode=ImportJob.Mode.VALID_ONLY)
    job.refresh_from_db()
    return job


def _job(job: ImportJob) -> tuple:
    return (
        job.status,
        job.total_rows,
        job.processed_rows,
        (job.created_count, job.updated_count, job.unchanged_count, job.failed_count),
        list(
            job.row_errors.order_by("row_number", "id").values_list(
                "row_number", "column", "message"
            )
        ),
    )


def _catalog(supplier) -> dict:
    """Everything an import writes for a supplier, without ids, timestamps and job numbers."""
    return {
        "products": list(
            Product.objects.filter(supplier=supplier)
            .order_by("id")
            .values_list("handle", "title", "description", "category_id", "status", "option_names")
        ),
        "variants": list(
            Variant.objects.filter(supplier=supplier)
            .order_by("id")
            .values_list(
                "sku",
                "product__handle",
                "options",
                "wholesale_price",
                "msrp",
                "currency",
                "weight_grams",
                "shipping_class",
                "stock_on_hand",
                "stock_reserved",
                "is_low_stock_alerted",
                "position",
            )
        ),
        "movements": [
            (sku, source, before, after, reference.split(" (")[-1])
            for sku, source, before, after, reference in StockMovement.objects.filter(
                variant__supplier=supplier
            )
            .order_by("id")
            .values_list("variant__sku", "source", "on_hand_before", "on_hand_after", "reference")
        ],
        "images": list(
            ProductImage.objects.filter(product__supplier=supplier)
            .order_by("id")
            .values_list("product__handle", "source_url", "position")
        ),
        "search": _search_rows(supplier),
    }


def _search_rows(supplier) -> list[tuple]:
    """The search rows; lexemes with their weights and SKUs as sets, since the refresh lists a
    product's SKUs in the order it reads the variants, which updates change."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT p.handle, ps.is_listed, "
            "(SELECT array_agg(t.lexeme || ':' || array_to_string(t.weights, '') ORDER BY t.lexeme)"
            " FROM unnest(ps.document) t), "
            "(SELECT array_agg(t.lexeme || ':' || array_to_string(t.weights, '') ORDER BY t.lexeme)"
            " FROM unnest(ps.title_document) t), "
            "(SELECT array_agg(w ORDER BY w) FROM unnest(string_to_array(ps.skus, ' ')) w), "
            "ps.min_price, ps.est_margin, ps.in_stock, ps.category_path::text "
            "FROM catalog_productsearch ps JOIN catalog_product p ON p.id = ps.product_id "
            "WHERE ps.supplier_id = %s ORDER BY p.id",
            [supplier.pk],
        )
        return cursor.fetchall()


def _both(twins, files, monkeypatch, capture, *, batch_size: int = 1000):
    monkeypatch.setattr(runner, "BATCH_SIZE", batch_size)
    results = []
    for member, writer in zip(twins, (CatalogWriter, CopyCatalogWriter), strict=True):
        jobs = [_job(_import(member, *f, writer, monkeypatch, capture)) for f in files]
        results.append((jobs, _catalog(member.supplier)))
    return results


@pytest.mark.parametrize("batch_size", [4, 1000])
def test_the_messy_file_imported_twice_gives_the_same_jobs_and_catalog_with_either_writer(
    twins, monkeypatch, django_capture_on_commit_callbacks, batch_size
):
    files = [(MESSY_FILE, "catalog.csv"), (MESSY_FILE, "catalog.csv")]

    (orm_jobs, orm_catalog), (copy_jobs, copy_catalog) = _both(
        twins, files, monkeypatch, django_capture_on_commit_callbacks, batch_size=batch_size
    )

    assert copy_jobs == orm_jobs
    assert copy_jobs[0][3] == (5, 0, 0, 11)  # the import tests' numbers: it did import
    assert copy_jobs[1][3] == (0, 0, 5, 11)
    assert copy_catalog == orm_catalog
    assert len(copy_catalog["search"]) == 3


def test_a_second_file_updating_by_sku_gives_the_same_result_with_either_writer(
    twins, monkeypatch, django_capture_on_commit_callbacks
):
    files = [(FIRST, "first.csv"), (SECOND, "second.csv")]

    (orm_jobs, orm_catalog), (copy_jobs, copy_catalog) = _both(
        twins, files, monkeypatch, django_capture_on_commit_callbacks, batch_size=2
    )

    assert copy_jobs == orm_jobs
    assert copy_jobs[1][3] == (1, 2, 1, 0)
    assert copy_catalog == orm_catalog
    assert [v[0] for v in copy_catalog["variants"]] == ["MUG-1", "MUG-2", "MUG-4", "MUG-3"]


def test_thousands_of_rows_in_batches_give_the_same_catalog_with_either_writer(
    twins, monkeypatch, django_capture_on_commit_callbacks
):
    files = [(_shirts(), "shirts.csv"), (_shirts().replace(b",9.50,", b",9.75,"), "shirts.csv")]

    (orm_jobs, orm_catalog), (copy_jobs, copy_catalog) = _both(
        twins, files, monkeypatch, django_capture_on_commit_callbacks, batch_size=250
    )

    assert copy_jobs == orm_jobs
    assert copy_jobs[0][3] == (900, 0, 0, 0)
    assert copy_jobs[1][3] == (0, 900, 0, 0)
    assert copy_catalog == orm_catalog


def test_stock_refused_at_import_fails_the_same_row_with_either_writer(
    twins, monkeypatch, django_capture_on_commit_callbacks
):
    results = []
    for member, writer in zip(twins, (CatalogWriter, CopyCatalogWriter), strict=True):
        _import(member, FIRST, "first.csv", writer, monkeypatch, django_capture_on_commit_callbacks)
        monkeypatch.setattr(runner, "catalog_writer_class", lambda writer=writer: writer)
        job = create_import_job(
            supplier=member.supplier,
            actor=member.user,
            upload=SimpleUploadedFile("second.csv", SECOND),
        )
        with django_capture_on_commit_callbacks(execute=True):
            start_import_validation(job=job, actor=member.user, mapping=job.mapping, kind=job.kind)
        Variant.objects.filter(supplier=member.supplier, sku="MUG-2").update(stock_reserved=6)
        with django_capture_on_commit_callbacks(execute=True):
            commit_import(job=job, actor=member.user, mode=ImportJob.Mode.ALL)
        job.refresh_from_db()
        results.append((_job(job), _catalog(member.supplier)))

    assert results[1][0] == results[0][0]
    for key in results[0][1]:
        assert (key, results[1][1][key]) == (key, results[0][1][key])
    assert results[1][0][4] == [
        (3, "stock", "Stock 3 is below the 6 units reserved for open orders.")
    ]
    assert results[1][0][3] == (1, 1, 1, 1)


def _catalog_file(path, products: int) -> int:
    """A generated catalog: three sizes per product, product fields on the first row only."""
    rows = 0
    with path.open("w", encoding="utf-8") as handle:
        handle.write("Handle,Title,Body,Type,SKU,Option1 Name,Option1 Value,Price,Qty,Image\n")
        for product in range(products):
            for index, size in enumerate(("S", "M", "L")):
                first = index == 0
                handle.write(
                    f"p-{product},{f'Product {product}' if first else ''},"
                    f"{'Long enough description of the product. ' * 4 if first else ''},"
                    f"{'Kitchen' if first else ''},P-{product}-{size},{'Size' if first else ''},"
                    f"{size},{4 + product % 9}.50,{product % 11},"
                    f"{f'https://img.example.com/{product}.jpg' if first else ''}\n"
                )
                rows += 1
    return rows


def _peak_import_memory(member, path, capture) -> tuple[int, ImportJob]:
    """Peak bytes Python allocated over both passes of importing the file at `path`."""
    with path.open("rb") as handle:
        job = create_import_job(
            supplier=member.supplier,
            actor=member.user,
            upload=SimpleUploadedFile(path.name, handle.read()),
        )
    tracemalloc.start()
    try:
        with capture(execute=True):
            start_import_validation(job=job, actor=member.user, mapping=job.mapping, kind=job.kind)
        with capture(execute=True):
            commit_import(job=job, actor=member.user, mode=ImportJob.Mode.ALL)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    job.refresh_from_db()
    return peak, job


def test_memory_stays_bounded_as_the_file_grows(
    twins, tmp_path, django_capture_on_commit_callbacks
):
    """The file is streamed batch by batch: five times the rows adds only the checks' memory of
    what was seen (each SKU's first row, each product's option combinations: a few hundred bytes
    per row), never the rows themselves, which a whole-file read would hold (tens of MB here)."""
    warm_up, small, large = tmp_path / "warm.csv", tmp_path / "small.csv", tmp_path / "large.csv"
    _catalog_file(warm_up, 10)
    small_rows = _catalog_file(small, 500)
    large_rows = _catalog_file(large, 2500)
    third = factories.SupplierMemberFactory(supplier__company_name="Twin Goods")
    _peak_import_memory(third, warm_up, django_capture_on_commit_callbacks)  # imports, caches

    small_peak, small_job = _peak_import_memory(twins[0], small, django_capture_on_commit_callbacks)
    large_peak, large_job = _peak_import_memory(twins[1], large, django_capture_on_commit_callbacks)

    assert (small_job.status, small_job.created_count) == ("COMPLETED", small_rows)
    assert (large_job.status, large_job.created_count) == ("COMPLETED", large_rows)
    assert large_peak - small_peak < 512 * (large_rows - small_rows)
    assert large_peak < 12 * 1024 * 1024
