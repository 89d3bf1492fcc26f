"""Every CSV the product hands out escapes formula cells (OWASP CSV injection): the helper's
rules, every export endpoint fed a hostile product title / shopper name, and a guard that no
module writes CSV or spreadsheets around the helper."""

import csv
import io
import json
import re
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest

from dropship.core.spreadsheet_export import FORMULA_STARTS, escape_cell, escape_row
from privacy.services import exports
from tests import factories
from tests.orders.test_analytics import RANGE, sales  # noqa: F401  (the fixture)

pytestmark = pytest.mark.embedded  # every export is a README flow: SQLite too

HOSTILE = '=HYPERLINK("http://evil.example","click")'
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_text_starting_a_formula_gets_an_apostrophe(start):
    assert escape_cell(f"{start}1+1") == f"'{start}1+1"


def test_plain_text_numbers_dates_and_none_are_written_as_they_are():
    assert escape_row(["Maple & Co", Decimal("-12.50"), -3, 1.5, None, True]) == [
        "Maple & Co",
        "-12.50",
        "-3",
        "1.5",
        "",
        "true",
    ]
    # Text that looks like a negative number is still text someone typed.
    assert escape_cell("-5") == "'-5"


def _rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode())))


def _no_formula(rows: list[list[str]]) -> None:
    for row in rows:
        for cell in row:
            assert not (cell.startswith(FORMULA_STARTS) and not _is_number(cell)), cell


def _is_number(cell: str) -> bool:
    return re.fullmatch(r"-?\d+(\.\d+)?", cell) is not None


@pytest.mark.django_db
@pytest.mark.parametrize("group_by", ["store", "supplier", "product"])
def test_the_analytics_csv_escapes_hostile_names(retailer_client, sales, group_by):  # noqa: F811
    _retailer, store, mug, _lamp = sales
    store.name = HOSTILE
    store.save(update_fields=["name"])
    mug.variant.product.title = "+cmd|' /C calc'!A0"
    mug.variant.product.save(update_fields=["title"])
    mug.variant.product.supplier.company_name = "@SUM(1+1)"
    mug.variant.product.supplier.save(update_fields=["company_name"])

    response = retailer_client.get(
        "/retailer/analytics/", {**RANGE, "format": "csv", "group_by": group_by}
    )

    assert response.status_code == 200
    rows = _rows(response.content)
    labels = {row[0] for row in rows[1:]}
    expected = {
        "store": f"'{HOSTILE}",
        "supplier": "'@SUM(1+1)",
        "product": "'+cmd|' /C calc'!A0",
    }[group_by]
    assert expected in labels
    _no_formula(rows)


@pytest.mark.django_db
def test_the_catalog_template_goes_through_the_helper(supplier_client):
    response = supplier_client.get("/supplier/imports/template.csv")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="dropship-catalog-template.csv"'
    _no_formula(_rows(response.content))


@pytest.mark.django_db
def test_the_data_export_csvs_escape_hostile_titles_and_shopper_names(settings, tmp_path):
    settings.PRIVATE_MEDIA_ROOT = tmp_path
    member = factories.RetailerMemberFactory()
    store = factories.StoreFactory(retailer=member.retailer, name="-2+3")
    order = factories.OrderFactory(store=store, shopper_name=HOSTILE, shopper_email="@x.example")
    factories.OrderItemFactory(order=order, title="=1+1")
    supplier_member = factories.SupplierMemberFactory()
    factories.ProductFactory(supplier=supplier_member.supplier, title="\tTAB")

    for user in (member.user, supplier_member.user):
        export = exports.request_data_export(user=user, scope="ORGANISATION")
        exports.build_data_export(export_id=export.pk)
        export.refresh_from_db()
        with export.file.open("rb") as handle, zipfile.ZipFile(handle) as archive:
            for name in archive.namelist():
                if name.endswith(".csv"):
                    _no_formula(_rows(archive.read(name)))
            data = json.loads(archive.read("data.json"))
        if user == member.user:
            assert data["orders"][0]["shopper_name"] == HOSTILE  # JSON keeps the real value
            assert data["order_items"][0]["title"] == "=1+1"


SPREADSHEET_WRITERS = re.compile(r"csv\.writer|csv\.DictWriter|openpyxl|xlsxwriter|text/csv")
ALLOWED = {
    "dropship/core/spreadsheet_export.py",  # the one writer
    "dropship/core/spreadsheets.py",  # the reader of uploads
    "suppliers/feeds.py",  # asks a feed for text/csv
    "catalog/forms.py",  # the upload field's accept list
}


def test_no_module_writes_a_spreadsheet_around_the_helper():
    offenders = []
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT).as_posix()
        if relative.split("/")[0] in {".venv", ".tools", "tests", "sandbox", "var"}:
            continue
        if relative in ALLOWED:
            continue
        if SPREADSHEET_WRITERS.search(path.read_text(encoding="utf-8")):
            offenders.append(relative)
    assert offenders == []
