"""Read an uploaded CSV or XLSX file as a stream of rows, whatever its encoding and separator.

The one reader of spreadsheets people upload or publish: the catalog and stock import, the
supplier inventory feeds and the bulk shipping file all go through it.

The file's content decides what it is, not its name: a ZIP is tried as XLSX, text is decoded as
UTF-8 (with or without BOM), UTF-16 (Excel's "Unicode text") or Windows-1252/Latin-1, and the
separator (`,` `;` tab `|`) is the one that splits the first lines into a consistent table.
Anything else (a picture or a PDF renamed .csv, an old .xls) is refused with a message.
"""

import codecs
import csv
import io
import itertools
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import BinaryIO

from dropship.core.errors import DomainError

SAMPLE_BYTES = 64 * 1024
MAX_COLUMNS = 200
DELIMITERS = (",", ";", "\t", "|")
csv.field_size_limit(1024 * 1024)


class ImportFileError(DomainError):
    """The file as a whole cannot be imported."""


class Formula(str):
    """An XLSX cell holding a formula rather than a value (we refuse those, row by row)."""

    __slots__ = ()


@dataclass(frozen=True)
class FileInfo:
    file_format: str  # "CSV" | "XLSX"
    encoding: str
    delimiter: str
    headers: list[str]


_KNOWN_BINARY = (
    (
        b"\xd0\xcf\x11\xe0",
        "This is an old Excel (.xls) file; save it as .xlsx or CSV and upload that.",
    ),
    (b"%PDF", "This is a PDF, not a spreadsheet; upload a CSV or XLSX file."),
    (b"\x89PNG", "This is a PNG image, not a spreadsheet; upload a CSV or XLSX file."),
    (b"\xff\xd8\xff", "This is a JPEG image, not a spreadsheet; upload a CSV or XLSX file."),
    (b"GIF8", "This is a GIF image, not a spreadsheet; upload a CSV or XLSX file."),
)
ENCODING_LABELS = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 with BOM",
    "utf-16": "UTF-16",
    "cp1252": "Windows-1252 (Latin-1)",
    "latin-1": "Latin-1 (ISO-8859-1)",
}
DELIMITER_LABELS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


def _detect_encoding(fileobj: BinaryIO) -> str:
    fileobj.seek(0)
    head = fileobj.read(4)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    fileobj.seek(0)
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for chunk in iter(lambda: fileobj.read(1024 * 1024), b""):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        fileobj.seek(0)
        try:
            for chunk in iter(lambda: fileobj.read(1024 * 1024), b""):
                chunk.decode("cp1252")
        except UnicodeDecodeError:
            return "latin-1"
        return "cp1252"
    finally:
        fileobj.seek(0)
    return "utf-8"


def _text_stream(fileobj: BinaryIO, encoding: str) -> io.TextIOWrapper:
    fileobj.seek(0)
    return io.TextIOWrapper(fileobj, encoding=encoding, newline="")


def _detect_delimiter(sample: str) -> str:
    """The delimiter that splits the header into most columns and the next lines consistently."""
    lines = sample.splitlines(keepends=True)
    if len(lines) > 1 and not sample.endswith(("\n", "\r")):
        lines = lines[:-1]  # the sample may end in the middle of a line
    lines = lines[:30]
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        try:
            rows = [row for row in csv.reader(lines, delimiter=delimiter) if row]
        except csv.Error:
            continue
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        consistent = sum(1 for row in rows[1:] if len(row) == width)
        score = (consistent, width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _cell_text(value: object) -> str:
    """An XLSX value as the text a person would have typed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def _open_workbook(fileobj: BinaryIO):
    from openpyxl import load_workbook  # local: slow to import; only XLSX uploads need it

    fileobj.seek(0)
    try:
        return load_workbook(fileobj, read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many kinds for a damaged or foreign ZIP
        raise ImportFileError(
            "This file is not a readable XLSX workbook (it may be damaged, password-protected "
            "or another kind of ZIP file)."
        ) from exc


def _xlsx_rows(fileobj: BinaryIO) -> Iterator[list]:
    workbook = _open_workbook(fileobj)
    try:
        if not workbook.worksheets:
            return
        sheet = workbook.worksheets[0]
        for row in sheet.iter_rows():
            values = []
            for cell in row:
                value = getattr(cell, "value", None)
                is_formula = getattr(cell, "data_type", None) == "f" or type(value).__name__ in (
                    "ArrayFormula",
                    "DataTableFormula",
                )
                if is_formula:
                    text = value if isinstance(value, str) else getattr(value, "text", "")
                    values.append(Formula(str(text or "=…")))
                else:
                    values.append(_cell_text(value))
            yield values
    finally:
        workbook.close()


def _csv_rows(fileobj: BinaryIO, info: FileInfo) -> Iterator[list]:
    stream = _text_stream(fileobj, info.encoding)
    try:
        yield from csv.reader(stream, delimiter=info.delimiter)
    except csv.Error as exc:
        raise ImportFileError(f"The CSV file is malformed: {exc}.") from exc
    finally:
        stream.detach()


def _raw_rows(fileobj: BinaryIO, info: FileInfo) -> Iterator[list]:
    if info.file_format == "XLSX":
        return _xlsx_rows(fileobj)
    return _csv_rows(fileobj, info)


def _is_blank(cells: list) -> bool:
    return all(not str(cell).strip() for cell in cells)


def sniff_file(fileobj: BinaryIO) -> FileInfo:
    """Work out format, encoding and separator (not the headers); refuse files we cannot read."""
    fileobj.seek(0)
    head = fileobj.read(SAMPLE_BYTES)
    fileobj.seek(0)
    if not head.strip():
        raise ImportFileError("The file is empty.")
    if head.startswith(b"PK\x03\x04"):
        if not zipfile.is_zipfile(fileobj):
            raise ImportFileError("This file looks like an XLSX workbook but it is damaged.")
        info = FileInfo(file_format="XLSX", encoding="", delimiter="", headers=[])
    else:
        for magic, message in _KNOWN_BINARY:
            if head.startswith(magic):
                raise ImportFileError(message)
        is_utf16 = head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
        if not is_utf16 and b"\x00" in head:
            raise ImportFileError(
                "This is a binary file, not a CSV (whatever its name says); upload a CSV or "
                "XLSX file."
            )
        encoding = _detect_encoding(fileobj)
        sample = head.decode(encoding, errors="ignore") if encoding != "utf-16" else ""
        if encoding == "utf-16":
            stream = _text_stream(fileobj, encoding)
            sample = stream.read(SAMPLE_BYTES)
            stream.detach()
        sample = sample.lstrip("\ufeff")
        printable = sum(1 for ch in sample if ch.isprintable() or ch in "\r\n\t")
        if sample and printable / len(sample) < 0.95:
            raise ImportFileError(
                "This file does not contain readable text; upload a CSV or XLSX file."
            )
        info = FileInfo(
            file_format="CSV", encoding=encoding, delimiter=_detect_delimiter(sample), headers=[]
        )
    return info


def inspect_file(fileobj: BinaryIO) -> FileInfo:
    """Work out format, encoding, separator and headers; refuse files we cannot read."""
    info = sniff_file(fileobj)
    rows = _raw_rows(fileobj, info)
    header = next((row for row in rows if not _is_blank(row)), None)
    if header is None:
        raise ImportFileError("The file is empty.")
    if any(isinstance(cell, Formula) for cell in header):
        raise ImportFileError("The header row contains formulas; use plain column names.")
    headers = [str(cell).replace("\ufeff", "").strip() for cell in header]
    while headers and not headers[-1]:
        headers.pop()
    if len(headers) > MAX_COLUMNS:
        raise ImportFileError(f"The file has {len(headers)} columns; the limit is {MAX_COLUMNS}.")
    if not any(not _is_blank(row) for row in itertools.islice(rows, 0, 1000)):
        raise ImportFileError("The file has a header row but no data rows.")
    rows.close()
    fileobj.seek(0)
    return FileInfo(
        file_format=info.file_format,
        encoding=info.encoding,
        delimiter=info.delimiter,
        headers=headers,
    )


def iter_data_rows(fileobj: BinaryIO, info: FileInfo) -> Iterator[tuple[int, list]]:
    """(row number as a spreadsheet shows it, cells) for every non-blank row after the header."""
    rows = iter_rows(fileobj, info)
    next(rows, None)
    yield from rows


def count_data_rows(fileobj: BinaryIO, info: FileInfo) -> int:
    count = sum(1 for _ in iter_data_rows(fileobj, info))
    fileobj.seek(0)
    return count


def iter_rows(fileobj: BinaryIO, info: FileInfo) -> Iterator[tuple[int, list]]:
    """(row number as a spreadsheet shows it, cells) for every non-blank row, the header too."""
    for number, row in enumerate(_raw_rows(fileobj, info), start=1):
        if not _is_blank(row):
            yield number, row
