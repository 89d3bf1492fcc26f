"""Row validation for imports: each cell parsed, each row checked against the file and the catalog.

`CatalogChecker` / `StockChecker` take rows in file order, batch by batch (one query per batch
for the SKUs and handles it mentions) and return the valid rows plus every problem found, as
(row number, column header, reason). Validation and the import itself run the same checks, so
what the supplier was shown is what gets written.

Rules of a catalog file:
- a row is one variant, identified by its SKU (upsert: existing SKUs are updated);
- variants of one product share the handle column (without one, new SKUs are grouped by title,
  existing SKUs stay in their product);
- the first row of a product carries its product fields (title, description, category, status,
  option names); on later rows these may be left blank;
- blank cells leave existing values as they are.
"""

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache, partial
from typing import Any

from django.utils.text import slugify

from catalog.imports.mapping import FIELDS_BY_NAME
from catalog.models import Category, Product, Variant
from catalog.services.stock import MAX_STOCK_QUANTITY
from dropship.core.spreadsheets import Formula

MAX_PRICE = Decimal("999999999999.99")
STATUS_WORDS = {
    "active": Product.Status.ACTIVE,
    "draft": Product.Status.DRAFT,
    "discontinued": Product.Status.DISCONTINUED,
    "archived": Product.Status.DISCONTINUED,
}
_CURRENCY = re.compile(
    r"^(?:[$€£]|usd|eur|gbp|cad|aud|ca\$|a\$)\s*|\s*(?:[$€£]|usd|eur|gbp|cad|aud)$", re.I
)
_THOUSANDS = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")
_DECIMAL_COMMA = re.compile(r"^-?\d+,\d{1,2}$")
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.I)


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    message: str


class CellError(Exception):
    pass


def parse_money(text: str) -> Decimal | None:
    text = text.replace("\u00a0", " ").strip()
    if not text:
        return None
    original = text
    text = _CURRENCY.sub("", text).replace(" ", "")
    if "," in text and "." in text:
        if text.rfind(",") > text.rfind("."):  # 1.234,56
            text = text.replace(".", "").replace(",", ".")
        else:  # 1,234.56
            text = text.replace(",", "")
    elif _THOUSANDS.match(text):
        text = text.replace(",", "")
    elif _DECIMAL_COMMA.match(text):
        text = text.replace(",", ".")
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise CellError(f"“{original}” is not a number.") from exc
    if not amount.is_finite():
        raise CellError(f"“{original}” is not a number.")
    if amount < 0:
        raise CellError(f"Must not be negative (got {original}).")
    if amount != amount.quantize(Decimal("0.01")):
        raise CellError(f"At most 2 decimals (got {original}).")
    if amount > MAX_PRICE:
        raise CellError(f"Too large (got {original}).")
    return amount.quantize(Decimal("0.01"))


def parse_whole_number(text: str, *, maximum: int, unit: str = "") -> int | None:
    text = text.replace("\u00a0", " ").strip()
    if not text:
        return None
    original = text
    compact = text.replace(" ", "").replace("_", "")
    if _THOUSANDS.match(compact):
        compact = compact.replace(",", "")
    try:
        number = Decimal(compact)
    except InvalidOperation as exc:
        raise CellError(f"“{original}” is not a whole number{unit}.") from exc
    if not number.is_finite() or number != number.to_integral_value():
        raise CellError(f"“{original}” is not a whole number{unit}.")
    if number < 0:
        raise CellError(f"Must not be negative (got {original}).")
    if number > maximum:
        raise CellError(f"Must be at most {maximum:,} (got {original}).")
    return int(number)


@dataclass
class ParsedRow:
    row: int
    sku: str = ""
    handle: str = ""  # a slug: from the handle column, else the SKU's product, else the title
    handle_given: bool = False
    title: str = ""
    description: str = ""
    category_id: int | None = None
    status: str = ""
    option_names: list[str] = field(default_factory=lambda: ["", "", ""])
    option_values: list[str] = field(default_factory=lambda: ["", "", ""])
    wholesale_price: Decimal | None = None
    msrp: Decimal | None = None
    weight_grams: int | None = None
    shipping_class: str = ""
    stock: int | None = None
    image_url: str = ""
    # filled by the checkers
    defines_product: bool = False
    variant_id: int | None = None
    known_options: dict | None = None  # the existing variant's options


class CategoryIndex:
    """Categories by name or by path ("Home goods > Kitchen"), case-insensitive."""

    def __init__(self) -> None:
        categories = list(Category.objects.only("id", "name", "parent_id"))
        by_id = {c.pk: c for c in categories}
        self.by_path: dict[str, int] = {}
        self.by_name: dict[str, list[int]] = {}
        for category in categories:
            parts: list[str] = []
            node: Category | None = category
            while node is not None:
                parts.append(node.name.strip().lower())
                node = by_id.get(node.parent_id) if node.parent_id else None
            self.by_path[" > ".join(reversed(parts))] = category.pk
            self.by_name.setdefault(category.name.strip().lower(), []).append(category.pk)
        self.example = categories[0].name if categories else ""

    def resolve(self, text: str) -> int:
        key = re.sub(r"\s*[>/]\s*", " > ", text.strip().lower())
        if key in self.by_path:
            return self.by_path[key]
        matches = self.by_name.get(key, [])
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise CellError(f"Category “{text}” is ambiguous; write it as “Parent > {text}”.")
        raise CellError(f"Unknown category “{text}”.")


def _category_id(categories: CategoryIndex, text: str) -> int | None:
    return categories.resolve(text) if text else None


PARSE_ORDER = (
    "sku",
    "handle",
    "title",
    "description",
    "category",
    "status",
    "option1_name",
    "option1_value",
    "option2_name",
    "option2_value",
    "option3_name",
    "option3_value",
    "wholesale_price",
    "msrp",
    "weight_grams",
    "shipping_class",
    "stock",
    "image_url",
)


class RowParser:
    """Turns one row's cells into a ParsedRow, or lists what is wrong with its cells.

    The columns to read are worked out once (a plan of column, header and converter), so a row
    costs one converter call per mapped column.
    """

    def __init__(
        self, *, headers: list[str], mapping: dict[str, str], categories: CategoryIndex | None
    ):
        self.columns = {name: int(index) for index, name in mapping.items()}
        self.headers = headers
        self.categories = categories
        # Each converter's result is the value of its own ParsedRow field (str, int, Decimal...).
        converters: dict[str, Callable[[str], Any]] = {
            "sku": _sku,
            "handle": _handle,
            "title": partial(_max_length, limit=255, label="title"),
            "description": str,
            "status": _status,
            "wholesale_price": parse_money,
            "msrp": parse_money,
            "weight_grams": partial(parse_whole_number, maximum=1_000_000, unit=" of grams"),
            "shipping_class": partial(_max_length, limit=32, label="shipping class"),
            "stock": partial(parse_whole_number, maximum=MAX_STOCK_QUANTITY),
            "image_url": _image_url,
        }
        if categories is not None:
            converters["category"] = partial(_category_id, categories)
        for i in range(1, 4):
            converters[f"option{i}_name"] = partial(_max_length, limit=40, label="option name")
            converters[f"option{i}_value"] = partial(_max_length, limit=100, label="option value")
        self.plan = [
            (name, self.columns[name], self.header(name), converters[name])
            for name in PARSE_ORDER
            if name in self.columns and name in converters
        ]

    def header(self, field_name: str) -> str:
        index = self.columns.get(field_name)
        if index is None:
            return FIELDS_BY_NAME[field_name].label
        return self.headers[index] or f"Column {index + 1}"

    def parse(self, number: int, cells: list) -> tuple[ParsedRow, list[RowError]]:
        errors: list[RowError] = []
        failed: set[str] = set()
        values: dict[str, Any] = {}
        width = len(cells)
        for name, index, header, convert in self.plan:
            raw = cells[index] if index < width else ""
            if isinstance(raw, Formula):
                errors.append(
                    RowError(
                        number,
                        header,
                        f"Formulas are not accepted ({raw[:40]}): paste the values instead.",
                    )
                )
                failed.add(name)
                continue
            try:
                values[name] = convert(raw.strip())
            except CellError as exc:
                errors.append(RowError(number, header, str(exc)))
                failed.add(name)
        get = values.get
        row = ParsedRow(
            row=number,
            sku=get("sku") or "",
            handle=get("handle") or "",
            title=get("title") or "",
            description=get("description") or "",
            category_id=get("category"),
            status=get("status") or "",
            option_names=[
                get("option1_name") or "",
                get("option2_name") or "",
                get("option3_name") or "",
            ],
            option_values=[
                get("option1_value") or "",
                get("option2_value") or "",
                get("option3_value") or "",
            ],
            wholesale_price=get("wholesale_price"),
            msrp=get("msrp"),
            weight_grams=get("weight_grams"),
            shipping_class=get("shipping_class") or "",
            stock=get("stock"),
            image_url=get("image_url") or "",
        )
        if "sku" in self.columns and not row.sku and "sku" not in failed:
            errors.insert(0, RowError(number, self.header("sku"), "SKU is required."))
        if (
            "wholesale_price" in self.columns
            and row.wholesale_price is None
            and "wholesale_price" not in failed
        ):
            errors.append(
                RowError(number, self.header("wholesale_price"), "Wholesale price is required.")
            )
        return row, errors


def _max_length(text: str, *, limit: int, label: str) -> str:
    if len(text) > limit:
        raise CellError(f"The {label} is longer than {limit} characters.")
    return text


def _sku(text: str) -> str:
    if len(text) > 100:
        raise CellError("SKU is longer than 100 characters.")
    return text


@lru_cache(maxsize=4096)
def _handle(text: str) -> str:
    if not text:
        return ""
    handle = slugify(text)[:255]
    if not handle:
        raise CellError(f"“{text}” has no letters or digits to make a handle from.")
    return handle


def _status(text: str) -> str:
    if not text:
        return ""
    status = STATUS_WORDS.get(text.strip().lower())
    if status is None:
        raise CellError(f"Unknown status “{text}”: use ACTIVE, DRAFT or DISCONTINUED.")
    return status


def _image_url(text: str) -> str:
    if not text:
        return ""
    if len(text) > 1000 or not _URL.match(text):
        raise CellError(f"“{text[:80]}” is not an http(s) URL.")
    return text


@dataclass
class _ProductState:
    first_row: int
    is_ok: bool
    exists: bool
    option_names: list[str]
    combinations: dict[tuple[str, ...], int] = field(default_factory=dict)


class CatalogChecker:
    """Checks rows of a catalog file against each other and the supplier's catalog."""

    def __init__(self, *, supplier_id: int, parser: RowParser):
        self.supplier_id = supplier_id
        self.parser = parser
        self.has_handle_column = "handle" in parser.columns
        self.seen_skus: dict[str, int] = {}
        self.products: dict[str, _ProductState] = {}

    def check(
        self, rows: Iterable[tuple[int, list]]
    ) -> tuple[list[ParsedRow], list[RowError], int]:
        """(valid rows, errors, number of invalid rows) for one batch, in file order."""
        header = self.parser.header
        parsed = [self.parser.parse(number, cells) for number, cells in rows]
        skus = {row.sku for row, _ in parsed if row.sku}
        existing = {
            v["sku"]: v
            for v in Variant.objects.filter(supplier_id=self.supplier_id, sku__in=skus).values(
                "id", "sku", "product_id", "product__handle", "stock_reserved", "options"
            )
        }
        for row, _ in parsed:
            row.handle_given = bool(row.handle)
            if not row.handle:
                known = existing.get(row.sku)
                row.handle = known["product__handle"] if known else slugify(row.title)[:255]
        handles = {row.handle for row, _ in parsed if row.handle} - set(self.products)
        products = {
            p["handle"]: p
            for p in Product.objects.filter(
                supplier_id=self.supplier_id, handle__in=handles
            ).values("id", "handle", "option_names")
        }
        valid: list[ParsedRow] = []
        all_errors: list[RowError] = []
        invalid = 0
        for row, errors in parsed:
            known = existing.get(row.sku)
            if row.sku:
                first = self.seen_skus.get(row.sku)
                if first is not None:
                    errors.append(
                        RowError(
                            row.row,
                            header("sku"),
                            f"Duplicate SKU: {row.sku} already appears in row {first}.",
                        )
                    )
                else:
                    self.seen_skus[row.sku] = row.row
            if known is not None:
                row.variant_id = known["id"]
                row.known_options = known["options"] or {}
                if row.handle_given and row.handle != known["product__handle"]:
                    errors.append(
                        RowError(
                            row.row,
                            header("handle"),
                            f"{row.sku} belongs to your product “{known['product__handle']}”; "
                            "use that handle or a new SKU.",
                        )
                    )
                if row.stock is not None and row.stock < known["stock_reserved"]:
                    errors.append(
                        RowError(
                            row.row,
                            header("stock"),
                            f"Stock {row.stock:,} is below the {known['stock_reserved']:,} units "
                            "reserved for open orders.",
                        )
                    )
            if not row.handle:
                if not any(e.column in (header("handle"), header("title")) for e in errors):
                    column = "handle" if self.has_handle_column else "title"
                    errors.append(
                        RowError(
                            row.row,
                            header(column),
                            "A new SKU needs a handle or a title to know its product."
                            if self.has_handle_column
                            else "Title is required for a new SKU.",
                        )
                    )
            else:
                self._check_product(row, errors, products.get(row.handle))
            all_errors.extend(errors)
            if errors:
                invalid += 1
            else:
                valid.append(row)
        return valid, all_errors, invalid

    def _check_product(
        self, row: ParsedRow, errors: list[RowError], existing: Mapping[str, Any] | None
    ) -> None:
        header = self.parser.header
        state = self.products.get(row.handle)
        if state is None:
            names = [name for name in row.option_names if name]
            if not any(row.option_names) and existing:
                names = list(existing["option_names"])
            if names == ["Title"] and row.option_values[0] == "Default Title":
                names = []  # Shopify's way of saying "no options"
            if existing is None and not row.title:
                errors.append(
                    RowError(
                        row.row,
                        header("title"),
                        f"Title is required on the first row of a new product (handle “{row.handle}”).",
                    )
                )
            state = _ProductState(
                first_row=row.row, is_ok=True, exists=existing is not None, option_names=names
            )
            self.products[row.handle] = state
            row.defines_product = True
            row.option_names = names
        elif not state.is_ok and not state.exists:
            errors.append(
                RowError(
                    row.row,
                    header("handle") if self.has_handle_column else header("title"),
                    f"Skipped: row {state.first_row}, which defines product “{row.handle}”, has errors.",
                )
            )
        values = list(row.option_values)
        if not state.option_names and values == ["Default Title", "", ""]:
            values = ["", "", ""]
        if row.known_options is not None and not any(values):  # blank cells keep what exists
            kept = [str(row.known_options.get(name, "")) for name in state.option_names]
            values = [*kept, "", "", ""][:3]
        for i, name in enumerate(state.option_names):
            if not values[i]:
                errors.append(
                    RowError(
                        row.row,
                        header(f"option{i + 1}_value"),
                        f"Option{i + 1} value is required: product “{row.handle}” has option “{name}”.",
                    )
                )
        for i in range(len(state.option_names), 3):
            if values[i]:
                errors.append(
                    RowError(
                        row.row,
                        header(f"option{i + 1}_value"),
                        f"Option{i + 1} value given but product “{row.handle}” has no option{i + 1} name.",
                    )
                )
        combination = tuple(values[: len(state.option_names)])
        if not errors:
            first = state.combinations.get(combination)
            if first is not None:
                label = " / ".join(combination) or "no options"
                errors.append(
                    RowError(
                        row.row,
                        header("option1_value") if combination else header("sku"),
                        f"Same options as row {first} ({label}) in product “{row.handle}”.",
                    )
                )
            else:
                state.combinations[combination] = row.row
        row.option_values = values
        if row.defines_product:
            state.is_ok = not errors


class StockChecker:
    """Checks rows of a stock-only file (SKU, quantity) against the supplier's catalog."""

    def __init__(self, *, supplier_id: int, parser: RowParser):
        self.supplier_id = supplier_id
        self.parser = parser
        self.seen_skus: dict[str, int] = {}

    def check(
        self, rows: Iterable[tuple[int, list]]
    ) -> tuple[list[ParsedRow], list[RowError], int]:
        header = self.parser.header
        parsed = [self.parser.parse(number, cells) for number, cells in rows]
        skus = {row.sku for row, _ in parsed if row.sku}
        existing = {
            v["sku"]: v
            for v in Variant.objects.filter(supplier_id=self.supplier_id, sku__in=skus).values(
                "id", "sku", "stock_reserved"
            )
        }
        valid: list[ParsedRow] = []
        all_errors: list[RowError] = []
        invalid = 0
        for row, errors in parsed:
            if row.stock is None and not any(e.column == header("stock") for e in errors):
                errors.append(RowError(row.row, header("stock"), "Stock is required."))
            if row.sku:
                first = self.seen_skus.get(row.sku)
                known = existing.get(row.sku)
                if first is not None:
                    errors.append(
                        RowError(
                            row.row,
                            header("sku"),
                            f"Duplicate SKU: {row.sku} already appears in row {first}.",
                        )
                    )
                else:
                    self.seen_skus[row.sku] = row.row
                if known is None:
                    errors.append(
                        RowError(
                            row.row,
                            header("sku"),
                            f"Unknown SKU: {row.sku} is not in your catalog.",
                        )
                    )
                else:
                    row.variant_id = known["id"]
                    if row.stock is not None and row.stock < known["stock_reserved"]:
                        errors.append(
                            RowError(
                                row.row,
                                header("stock"),
                                f"Stock {row.stock:,} is below the {known['stock_reserved']:,} "
                                "units reserved for open orders.",
                            )
                        )
            all_errors.extend(errors)
            if errors:
                invalid += 1
            else:
                valid.append(row)
        return valid, all_errors, invalid
