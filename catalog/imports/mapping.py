"""Our import fields, the header names people use for them, and the automatic column mapping."""

import re
from dataclasses import dataclass

from dropship.core.errors import DomainError


@dataclass(frozen=True)
class ImportField:
    name: str
    label: str
    synonyms: tuple[str, ...]
    help: str = ""


FIELDS: tuple[ImportField, ...] = (
    ImportField(
        "handle",
        "Product handle",
        (
            "handle",
            "product handle",
            "url handle",
            "parent sku",
            "parent",
            "product code",
            "product key",
            "group",
        ),
        "Variants of one product share it.",
    ),
    ImportField("title", "Title", ("title", "name", "product name", "product title", "item name")),
    ImportField(
        "description",
        "Description",
        (
            "description",
            "body",
            "body html",
            "product description",
            "long description",
            "details",
            "desc",
        ),
    ),
    ImportField(
        "category",
        "Category",
        ("category", "product category", "product type", "type", "collection", "department"),
    ),
    ImportField(
        "sku",
        "SKU",
        (
            "sku",
            "variant sku",
            "item sku",
            "sku code",
            "article number",
            "item number",
            "item code",
            "product sku",
            "art nr",
            "artikelnummer",
        ),
    ),
    ImportField(
        "option1_name", "Option 1 name", ("option1 name", "option 1 name", "option name 1")
    ),
    ImportField(
        "option1_value", "Option 1 value", ("option1 value", "option 1 value", "option value 1")
    ),
    ImportField(
        "option2_name", "Option 2 name", ("option2 name", "option 2 name", "option name 2")
    ),
    ImportField(
        "option2_value", "Option 2 value", ("option2 value", "option 2 value", "option value 2")
    ),
    ImportField(
        "option3_name", "Option 3 name", ("option3 name", "option 3 name", "option name 3")
    ),
    ImportField(
        "option3_value", "Option 3 value", ("option3 value", "option 3 value", "option value 3")
    ),
    ImportField(
        "wholesale_price",
        "Wholesale price",
        (
            "wholesale price",
            "wholesale",
            "price",
            "cost",
            "cost price",
            "unit price",
            "variant price",
            "trade price",
            "net price",
            "dealer price",
            "unit cost",
        ),
    ),
    ImportField(
        "msrp",
        "MSRP",
        (
            "msrp",
            "rrp",
            "srp",
            "retail price",
            "recommended retail price",
            "list price",
            "compare at price",
            "variant compare at price",
            "suggested retail price",
        ),
    ),
    ImportField(
        "weight_grams",
        "Weight (grams)",
        (
            "weight grams",
            "weight",
            "weight g",
            "grams",
            "variant grams",
            "weight in grams",
            "gram",
            "net weight",
        ),
    ),
    ImportField(
        "shipping_class",
        "Shipping class",
        ("shipping class", "shipping profile", "shipping", "shipping group", "freight class"),
    ),
    ImportField(
        "stock",
        "Stock on hand",
        (
            "stock",
            "quantity",
            "qty",
            "inventory",
            "stock on hand",
            "on hand",
            "stock level",
            "variant inventory qty",
            "inventory quantity",
            "available",
            "stock quantity",
            "quantity on hand",
            "qoh",
            "units",
        ),
    ),
    ImportField(
        "image_url",
        "Image URL",
        (
            "image url",
            "image src",
            "image",
            "image link",
            "picture",
            "photo",
            "photo url",
            "main image",
            "variant image",
            "image 1",
        ),
    ),
    ImportField(
        "status",
        "Status",
        ("status", "product status", "state"),
        "ACTIVE, DRAFT or DISCONTINUED.",
    ),
)

FIELDS_BY_NAME = {f.name: f for f in FIELDS}
REQUIRED = {
    "CATALOG": ("sku", "title", "wholesale_price"),
    "STOCK": ("sku", "stock"),
}
STOCK_FIELDS = {"sku", "stock"}


class MappingError(DomainError):
    pass


def normalise_header(header: object) -> str:
    """`Variant SKU` → `variant sku`; `Weight (g)` → `weight g`; `wholesale_price` → `wholesale price`."""
    text = str(header or "").replace("\ufeff", "").strip().lower()
    text = re.sub(r"[^0-9a-zäöüß]+", " ", text)
    return re.sub(r"\s+", " ", text).strip()


_SYNONYMS = {
    normalise_header(synonym): f.name for f in FIELDS for synonym in (f.name, f.label, *f.synonyms)
}
_UNIT_SUFFIX = re.compile(r"\s(usd|eur|gbp|cad|aud|g|kg|grams|pcs|units|incl|excl|ex vat)$")


def _field_for(header: str) -> str | None:
    normal = normalise_header(header)
    if normal in _SYNONYMS:
        return _SYNONYMS[normal]
    without_brackets = normalise_header(re.sub(r"\(.*?\)|\[.*?\]", " ", str(header)))
    if without_brackets in _SYNONYMS:
        return _SYNONYMS[without_brackets]
    trimmed = _UNIT_SUFFIX.sub("", normal)
    return _SYNONYMS.get(trimmed)


def auto_map(headers: list[str]) -> dict[str, str]:
    """{column position as text: field name}; each field goes to the first column that fits."""
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for index, header in enumerate(headers):
        name = _field_for(header)
        if name and name not in used:
            mapping[str(index)] = name
            used.add(name)
    return mapping


def detect_kind(mapping: dict[str, str]) -> str:
    """A file with only SKU and quantity columns is a stock update; anything more is a catalog."""
    fields = set(mapping.values())
    return "STOCK" if fields and fields <= STOCK_FIELDS else "CATALOG"


def clean_mapping(*, headers: list[str], mapping: dict[str, str], kind: str) -> dict[str, str]:
    """Check a (possibly corrected) mapping: known fields, one column each, required ones present."""
    clean: dict[str, str] = {}
    seen: dict[str, str] = {}
    for position, name in mapping.items():
        if not name:
            continue
        if name not in FIELDS_BY_NAME:
            raise MappingError(f"Unknown field “{name}”.", field="mapping")
        try:
            index = int(position)
        except (TypeError, ValueError) as exc:
            raise MappingError("The mapping refers to a column that does not exist.") from exc
        if not 0 <= index < len(headers):
            raise MappingError("The mapping refers to a column that does not exist.")
        label = FIELDS_BY_NAME[name].label
        if name in seen:
            raise MappingError(
                f"“{label}” is chosen for two columns ({seen[name]} and {headers[index]}); "
                "choose it once.",
                field="mapping",
            )
        seen[name] = headers[index] or f"column {index + 1}"
        clean[str(index)] = name
    missing = [FIELDS_BY_NAME[name].label for name in REQUIRED[kind] if name not in seen]
    if missing:
        noun = "column" if len(missing) == 1 else "columns"
        raise MappingError(
            f"Required {noun} missing: {', '.join(missing)}. Choose which column of your file "
            f"holds {'it' if len(missing) == 1 else 'them'}.",
            field="mapping",
        )
    if kind == "STOCK" and set(clean.values()) - STOCK_FIELDS:
        raise MappingError(
            "A stock-only import uses just the SKU and stock columns; set the other columns to "
            "“ignore” or import as a catalog.",
            field="mapping",
        )
    return clean
