"""Writing spreadsheets people open in Excel, LibreOffice or Google Sheets.

Every CSV (and any future XLSX) the product hands out goes through here, so a product title, a
store name or a shopper's name typed as `=HYPERLINK(...)` is shown as text, never run as a
formula (OWASP "CSV injection"): a text cell starting with `=`, `+`, `-`, `@`, tab or carriage
return gets a leading apostrophe, which spreadsheets read as "this is text" and do not display.

Numbers are a different thing from text. Our own code writes amounts, counts and percentages as
`int`, `Decimal` or `float` (never from user input), and those are written as they are: a refund
of `-12.50` stays the number -12.50 that a spreadsheet can sum. Only `str` values are escaped,
even when they look like numbers (a title "-5" becomes "'-5"): text came from someone, and
telling a harmless "-5" from "-5+cmd|..." is exactly the guessing this helper exists to avoid.
"""

import csv
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.http import HttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(value: object) -> str:
    """The text a spreadsheet cell should hold for `value`: numbers as they are, dates in ISO
    form, None empty, and text that would start a formula behind an apostrophe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def escape_row(row: Iterable[object]) -> list[str]:
    return [escape_cell(value) for value in row]


def write_csv(handle: Any, rows: Iterable[Iterable[object]]) -> None:
    """Write rows to an open text file (or an HttpResponse), every cell escaped."""
    writer = csv.writer(handle)
    writer.writerows(escape_row(row) for row in rows)


def csv_response(*, filename: str, rows: Iterable[Iterable[object]]) -> HttpResponse:
    """A CSV download of `rows` (the first being the header), every cell escaped."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    write_csv(response, rows)
    return response
