"""Retailer catalog search on PostgreSQL: one denormalised row per product (catalog.ProductSearch,
kept current by database triggers) searched with a weighted tsvector, filtered, sorted and paged
with a keyset cursor (never OFFSET).

Relevance: an exact SKU match first, then `ts_rank` over the weighted document (title A, SKUs B,
category and supplier C, description D). Only the first FACET_LIMIT + 1 matches (in index order)
are ranked, which bounds the cost of a very common word; the same single pass over them yields
the facets, the total and the page. A search that finds nothing is retried
once with each unknown word replaced by the nearest known word (pg_trgm similarity over
catalog.SearchTerm), so "blendr" still finds blenders.

Facets and the total are counted over at most FACET_LIMIT matching rows (beyond that the page says
"more than 1,000"), and only the FACETS_SHOWN biggest categories and suppliers are returned.
Bad input raises SearchError with a message for the user, never a database error: the text goes
through websearch_to_tsquery, which accepts any string, and is capped in length.
"""

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.db import connection
from django.db.models import (
    Case,
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce

from catalog.inventory import advertised_quantity_expression
from catalog.models import Category, Product, Variant
from dropship.core.errors import DomainError
from suppliers.models import Supplier

MAX_QUERY_LENGTH = 200
MAX_PRICE = Decimal("1000000")
MAX_HANDLING_DAYS = 60
FACET_LIMIT = 1000
FACETS_SHOWN = 20
MAX_CORRECTED_WORDS = 8

RELEVANCE, NEWEST, PRICE, PRICE_DESC, MARGIN, SCORE = (
    "relevance",
    "newest",
    "price",
    "price_desc",
    "margin",
    "score",
)
SORTS = {
    RELEVANCE: "Best match",
    NEWEST: "Newest",
    PRICE: "Wholesale price: low to high",
    PRICE_DESC: "Wholesale price: high to low",
    MARGIN: "Estimated margin (MSRP − wholesale)",
    SCORE: "Supplier reliability score",
}
PRICE_SORTS = {PRICE, PRICE_DESC, MARGIN}
TRUE_WORDS = {"1", "true", "on", "yes"}
FALSE_WORDS = {"", "0", "false", "off", "no"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WORD = re.compile(r"[^\W_]+")

# Sort → (key column, direction). Keyset: ORDER BY key <dir>, product_id <dir>.
_SORT_SQL = {
    RELEVANCE: ("sort_key", "DESC"),
    NEWEST: ("ps.created_at", "DESC"),
    PRICE: ("ps.min_price", "ASC"),
    PRICE_DESC: ("ps.min_price", "DESC"),
    MARGIN: ("ps.est_margin", "DESC"),
    # The supplier's measured score (suppliers.SupplierScorecard, refreshed nightly); a new
    # supplier, without a score, after every scored one.
    SCORE: (
        "COALESCE((SELECT sc.score FROM suppliers_supplierscorecard sc"
        " WHERE sc.supplier_id = ps.supplier_id), -1)",
        "DESC",
    ),
}
_TSQUERY = "websearch_to_tsquery('english'::regconfig, %s)"


class SearchError(DomainError):
    """A search parameter the user can fix; the message names it."""


@dataclass(frozen=True)
class SearchCriteria:
    q: str = ""
    category_id: int | None = None
    supplier_id: int | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    in_stock: bool = False
    max_handling_days: int | None = None
    ship_from: str = ""
    min_score: int | None = None
    sort: str = NEWEST

    @property
    def has_filters(self) -> bool:
        return any(
            (
                self.q,
                self.category_id,
                self.supplier_id,
                self.min_price is not None,
                self.max_price is not None,
                self.in_stock,
                self.max_handling_days is not None,
                self.ship_from,
                self.min_score is not None,
            )
        )


@dataclass(frozen=True)
class SearchHit:
    product_id: int
    min_price: Decimal
    est_margin: Decimal
    in_stock: bool


@dataclass
class SearchResult:
    criteria: SearchCriteria
    hits: list[SearchHit]
    next_cursor: str | None
    total: int
    total_is_capped: bool
    category_facets: list[tuple] = field(default_factory=list)  # (id or None, name, count)
    supplier_facets: list[tuple] = field(default_factory=list)
    corrected_query: str | None = None
    ignored_query: bool = False


# ---------------------------------------------------------------- parsing


def _text(params: Mapping[str, str], name: str) -> str:
    value = params.get(name)
    return "" if value is None else str(value).strip()


def _positive_id(params: Mapping[str, str], name: str, label: str) -> int | None:
    raw = _text(params, name)
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 18 or int(raw) == 0:
        raise SearchError(f"{label} must be the number of an existing {label.lower()}.", field=name)
    return int(raw)


def _price(params: Mapping[str, str], name: str, label: str) -> Decimal | None:
    raw = _text(params, name)
    if not raw:
        return None
    try:
        value = Decimal(raw[:40])
    except InvalidOperation:
        raise SearchError(f"{label} “{raw[:40]}” is not a number.", field=name) from None
    if not value.is_finite():
        raise SearchError(f"{label} must be a number.", field=name)
    if value < 0:
        raise SearchError(f"{label} cannot be negative.", field=name)
    if value > MAX_PRICE:
        raise SearchError(f"{label} must be at most {MAX_PRICE:,}.", field=name)
    return value.quantize(Decimal("0.01"))


def parse_criteria(params: Mapping[str, str], *, can_see_prices: bool) -> SearchCriteria:
    """Validate raw query parameters (a page's GET or the API's query) into SearchCriteria."""
    q = _CONTROL.sub(" ", _text(params, "q"))
    if len(q) > MAX_QUERY_LENGTH:
        raise SearchError(
            f"The search text is {len(q):,} characters long; use at most {MAX_QUERY_LENGTH}.",
            field="q",
        )
    min_price = _price(params, "min_price", "Minimum price")
    max_price = _price(params, "max_price", "Maximum price")
    if min_price is not None and max_price is not None and min_price > max_price:
        raise SearchError(
            f"The minimum price ({min_price}) is above the maximum price ({max_price}).",
            field="min_price",
        )
    if (min_price is not None or max_price is not None) and not can_see_prices:
        raise SearchError("Sign in as a retailer to filter by wholesale price.", field="min_price")
    raw_days = _text(params, "max_handling_days")
    max_handling_days = None
    if raw_days:
        if not raw_days.isdigit() or int(raw_days) > MAX_HANDLING_DAYS:
            raise SearchError(
                f"Handling time must be a whole number of days from 0 to {MAX_HANDLING_DAYS}.",
                field="max_handling_days",
            )
        max_handling_days = int(raw_days)
    ship_from = _text(params, "ship_from").upper()
    if ship_from and not re.fullmatch(r"[A-Z]{2}", ship_from):
        raise SearchError(
            "Shipping origin must be a two-letter country code such as US or DE.",
            field="ship_from",
        )
    raw_score = _text(params, "min_score")
    min_score = None
    if raw_score:
        if not raw_score.isdigit() or int(raw_score) > 100:
            raise SearchError(
                "Minimum supplier score must be a whole number from 0 to 100.", field="min_score"
            )
        min_score = int(raw_score)
    in_stock_raw = _text(params, "in_stock").lower()
    if in_stock_raw not in TRUE_WORDS | FALSE_WORDS:
        raise SearchError("“In stock only” must be true or false.", field="in_stock")
    sort = _text(params, "sort") or (RELEVANCE if q else NEWEST)
    if sort not in SORTS:
        raise SearchError(
            f"Unknown sort “{sort[:40]}”; use one of: {', '.join(SORTS)}.", field="sort"
        )
    if sort in PRICE_SORTS and not can_see_prices:
        raise SearchError("Sign in as a retailer to sort by price or margin.", field="sort")
    if sort == RELEVANCE and not q:
        sort = NEWEST
    return SearchCriteria(
        q=q,
        category_id=_positive_id(params, "category", "Category"),
        supplier_id=_positive_id(params, "supplier", "Supplier"),
        min_price=min_price,
        max_price=max_price,
        in_stock=in_stock_raw in TRUE_WORDS,
        max_handling_days=max_handling_days,
        ship_from=ship_from,
        min_score=min_score,
        sort=sort,
    )


# ---------------------------------------------------------------- cursor


def encode_cursor(*, sort: str, key: object, product_id: int) -> str:
    if isinstance(key, datetime):
        key = key.isoformat()
    raw = json.dumps([sort, str(key), product_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


_BAD_CURSOR = "That page link is not valid any more; start again from the first page."


def decode_cursor(cursor: str, *, sort: str) -> tuple[object, int]:
    """(key, product_id) of the last row of the previous page; SearchError when tampered with."""
    try:
        if len(cursor) > 200:
            raise ValueError
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cursor_sort, key, product_id = json.loads(raw)
        if cursor_sort != sort or not isinstance(product_id, int) or product_id <= 0:
            raise ValueError
        parsed: datetime | Decimal
        if sort == NEWEST:
            parsed = datetime.fromisoformat(key)
            if parsed.tzinfo is None:
                raise ValueError
        else:
            parsed = Decimal(key)
            if not parsed.is_finite() or abs(parsed) > 10**9:
                raise ValueError
    except (ValueError, TypeError, binascii.Error, InvalidOperation, UnicodeDecodeError):
        raise SearchError(_BAD_CURSOR, field="cursor") from None
    return parsed, product_id


# ---------------------------------------------------------------- running


def _precheck(cursor, criteria: SearchCriteria) -> bool:
    """One round trip: refuse an unknown category or inactive supplier, and tell whether the text
    has any searchable word (websearch_to_tsquery drops stop words and punctuation)."""
    cursor.execute(
        f"""
        SELECT numnode({_TSQUERY}) > 0,
               %s::bigint IS NULL OR EXISTS (SELECT 1 FROM catalog_category WHERE id = %s),
               %s::bigint IS NULL OR EXISTS (
                   SELECT 1 FROM suppliers_supplier WHERE id = %s AND status = 'ACTIVE')
        """,  # noqa: S608 - constant SQL; values are parameters
        [criteria.q, *[criteria.category_id] * 2, *[criteria.supplier_id] * 2],
    )
    has_lexemes, category_ok, supplier_ok = cursor.fetchone()
    if not category_ok:
        raise SearchError(f"There is no category number {criteria.category_id}.", field="category")
    if not supplier_ok:
        raise SearchError(
            f"There is no active supplier number {criteria.supplier_id}.", field="supplier"
        )
    return bool(has_lexemes)


def _where(
    criteria: SearchCriteria, *, text: str | None, column: str = "document"
) -> tuple[str, list[object]]:
    clauses: list[str] = ["ps.is_listed"]
    params: list[object] = []
    if text:
        clauses.append(f"ps.{column} @@ {_TSQUERY}")
        params.append(text)
    if criteria.category_id:
        # category_path holds the category and its ancestors: this includes the children.
        clauses.append("ps.category_path @> ARRAY[%s]::bigint[]")
        params.append(criteria.category_id)
    if criteria.supplier_id:
        clauses.append("ps.supplier_id = %s")
        params.append(criteria.supplier_id)
    if criteria.min_price is not None:
        clauses.append("ps.min_price >= %s")
        params.append(criteria.min_price)
    if criteria.max_price is not None:
        clauses.append("ps.min_price <= %s")
        params.append(criteria.max_price)
    if criteria.in_stock:
        clauses.append("ps.in_stock")
    if criteria.max_handling_days is not None:
        clauses.append("ps.handling_days <= %s")
        params.append(criteria.max_handling_days)
    if criteria.ship_from:
        clauses.append("ps.ship_from = %s")
        params.append(criteria.ship_from)
    if criteria.min_score is not None:
        # New suppliers (no score yet) are left out: they have not earned one.
        clauses.append(
            "ps.supplier_id IN (SELECT sc.supplier_id FROM suppliers_supplierscorecard sc"
            " WHERE sc.score >= %s)"
        )
        params.append(criteria.min_score)
    return " AND ".join(clauses), params


_RANK_SQL = f"""round((CASE WHEN position(' ' || %s || ' ' IN ' ' || ps.skus || ' ') > 0
                         THEN 10 ELSE 0 END
                    + ts_rank(ps.document, {_TSQUERY}))::numeric, 6)"""


def _count(
    cursor, where: str, params: list, *, rank_text=None, title_where=None, after=None, limit=0
):
    """(total, [(category id, name, count)], [(supplier id, name, count)], page rows) over at
    most FACET_LIMIT + 1 matching rows; the FACETS_SHOWN biggest of each, names joined in.

    With `rank_text` (relevance order) the same single pass over the matches also ranks them and
    returns the page after `after`: the ranked candidates are exactly the counted rows."""
    ranked = rank_text is not None
    columns = "ps.category_id, ps.supplier_id"
    if ranked:
        # Candidates: title (and SKU) matches first, then the other matches, FACET_LIMIT + 1 in
        # all; the same rows give the facets and the total.
        columns += (
            f", ps.product_id, ps.min_price, ps.est_margin, ps.in_stock, {_RANK_SQL} AS sort_key"
        )
        title_sql, title_params = title_where
        matches_sql = f"""
            t AS MATERIALIZED (
                SELECT {columns} FROM catalog_productsearch ps
                WHERE {title_sql} LIMIT {FACET_LIMIT + 1}
            ),
            m AS MATERIALIZED (
                SELECT * FROM t
                UNION ALL
                (SELECT {columns} FROM catalog_productsearch ps
                 WHERE {where} AND NOT (ps.title_document @@ {_TSQUERY})
                 LIMIT greatest(0, {FACET_LIMIT + 1} - (SELECT count(*) FROM t)))
            )"""  # noqa: S608
        rank_args = [rank_text.lower(), rank_text]
        args: list = [*rank_args, *title_params, *rank_args, *params, rank_text]
    else:
        matches_sql = f"""
            m AS MATERIALIZED (
                SELECT {columns} FROM catalog_productsearch ps
                WHERE {where} LIMIT {FACET_LIMIT + 1}
            )"""  # noqa: S608
        args = [*params]
    page_sql = ""
    if ranked:
        keyset = "WHERE (sort_key, product_id) < (%s, %s)" if after else ""
        page_sql = f"""
        UNION ALL
        SELECT * FROM (
            SELECT 3, product_id, NULL::bigint, NULL::text, min_price, est_margin, in_stock,
                   sort_key
            FROM m {keyset} ORDER BY sort_key DESC, product_id DESC LIMIT %s) page"""  # noqa: S608
        args += [*(after or ()), limit + 1]
    cursor.execute(
        f"""
        WITH {matches_sql},
        c AS (SELECT category_id AS id, count(*) AS n FROM m GROUP BY 1
              ORDER BY n DESC, id LIMIT {FACETS_SHOWN}),
        s AS (SELECT supplier_id AS id, count(*) AS n FROM m GROUP BY 1
              ORDER BY n DESC, id LIMIT {FACETS_SHOWN})
        SELECT 0, c.id, c.n, cat.name::text{", NULL::numeric, NULL::numeric, NULL::boolean, NULL::numeric" if ranked else ""}
        FROM c LEFT JOIN catalog_category cat ON cat.id = c.id
        UNION ALL
        SELECT 1, s.id, s.n, sup.company_name::text{", NULL, NULL, NULL, NULL" if ranked else ""}
        FROM s JOIN suppliers_supplier sup ON sup.id = s.id
        UNION ALL
        SELECT 2, NULL, count(*), NULL{", NULL, NULL, NULL, NULL" if ranked else ""} FROM m
        {page_sql}
        """,  # noqa: S608 - only our own clause strings; values are parameters
        args,
    )
    categories: list[tuple] = []
    suppliers: list[tuple] = []
    rows: list[tuple] = []
    total = 0
    for kind, key, count, name, *rest in cursor.fetchall():
        if kind == 0:
            categories.append((key, name or "Uncategorised", count))
        elif kind == 1:
            suppliers.append((key, name, count))
        elif kind == 2:
            total = count
        else:
            rows.append((key, *rest))
    rows.sort(key=lambda row: (row[4], row[0]), reverse=True)

    def most_counted_first(facet: tuple) -> tuple:
        return -facet[2], facet[1]

    return (
        total,
        sorted(categories, key=most_counted_first),
        sorted(suppliers, key=most_counted_first),
        rows,
    )


def _has_lexemes(cursor, text: str) -> bool:
    cursor.execute(f"SELECT numnode({_TSQUERY}) > 0", [text])
    return bool(cursor.fetchone()[0])


def _corrected(cursor, text: str) -> str | None:
    """The text with each unknown word replaced by the most similar known one, or None."""
    words = list(dict.fromkeys(w for w in _WORD.findall(text.lower()) if 3 <= len(w) <= 40))
    words = words[:MAX_CORRECTED_WORDS]
    if not words:
        return None
    cursor.execute(
        """
        SELECT w.word, (
            SELECT t.term FROM catalog_searchterm t
            WHERE t.term %% w.word
            ORDER BY similarity(t.term, w.word) DESC, t.term LIMIT 1)
        FROM unnest(%s::text[]) AS w(word)
        WHERE NOT EXISTS (SELECT 1 FROM catalog_searchterm t WHERE t.term = w.word)
        """,
        [words],
    )
    replacements = {word: term for word, term in cursor.fetchall() if term}
    if not replacements:
        return None
    return _WORD.sub(lambda m: replacements.get(m.group(0).lower(), m.group(0)), text)


def _page(cursor, criteria, *, where, params, after, limit) -> list[tuple]:
    """A page in a column order (newest, price, margin): keyset on (key, product_id)."""
    key_sql, direction = _SORT_SQL[criteria.sort]
    compare = "<" if direction == "DESC" else ">"
    keyset = f"AND ({key_sql}, ps.product_id) {compare} (%s, %s)" if after else ""
    cursor.execute(
        f"""
        SELECT ps.product_id, ps.min_price, ps.est_margin, ps.in_stock, {key_sql}
        FROM catalog_productsearch ps
        WHERE {where} {keyset}
        ORDER BY {key_sql} {direction}, ps.product_id {direction} LIMIT %s
        """,  # noqa: S608 - only our own clause strings; values are parameters
        [*params, *(after or ()), limit + 1],
    )
    return cursor.fetchall()


def run_search(
    *, criteria: SearchCriteria, cursor: str | None = None, limit: int = 24
) -> SearchResult:
    """One page of listed products matching the criteria, with the next page's cursor."""
    if connection.vendor != "postgresql":
        return run_search_portable(criteria=criteria, cursor=cursor, limit=limit)
    with connection.cursor() as db:
        has_lexemes = _precheck(db, criteria)
        text, ignored, corrected = criteria.q or None, False, None
        if text and not has_lexemes:
            text, ignored = None, True
            if criteria.sort == RELEVANCE:
                criteria = replace(criteria, sort=NEWEST)
        after = decode_cursor(cursor, sort=criteria.sort) if cursor else None
        ranked = criteria.sort == RELEVANCE

        def counted(search_text):
            where, params = _where(criteria, text=search_text)
            rank_text = search_text if ranked and search_text else None
            title_where = _where(criteria, text=search_text, column="title_document")
            found = _count(
                db,
                where,
                params,
                rank_text=rank_text,
                title_where=title_where,
                after=after,
                limit=limit,
            )
            return where, params, found

        where, params, (total, categories, suppliers, rows) = counted(text)
        if text and total == 0:
            corrected = _corrected(db, text)
            if corrected and _has_lexemes(db, corrected):
                text = corrected
                where, params, (total, categories, suppliers, rows) = counted(text)
            else:
                corrected = None
        if not ranked:
            rows = _page(db, criteria, where=where, params=params, after=after, limit=limit)
    has_more = len(rows) > limit
    rows = rows[:limit]
    hits = [SearchHit(r[0], r[1], r[2], r[3]) for r in rows]
    next_cursor = (
        encode_cursor(sort=criteria.sort, key=rows[-1][4], product_id=rows[-1][0])
        if has_more
        else None
    )
    return SearchResult(
        criteria=criteria,
        hits=hits,
        next_cursor=next_cursor,
        total=min(total, FACET_LIMIT),
        total_is_capped=total > FACET_LIMIT,
        category_facets=categories,
        supplier_facets=suppliers,
        corrected_query=corrected,
        ignored_query=ignored,
    )


# ---------------------------------------------------------------- other databases


def _cents(value) -> Decimal:
    return Decimal(value or 0).quantize(Decimal("0.01"))


def run_search_portable(
    *, criteria: SearchCriteria, cursor: str | None = None, limit: int = 24
) -> SearchResult:
    """The same search with the ORM only, for the embedded SQLite default (`make run`).

    No stemming, weights or typo correction: words must appear (case-insensitively) in the
    title, description, a SKU, the supplier or the category name; relevance is an exact SKU
    match, then a title match, then the rest. Same filters, sorts, cursor and facets."""
    if criteria.category_id and not Category.objects.filter(pk=criteria.category_id).exists():
        raise SearchError(f"There is no category number {criteria.category_id}.", field="category")
    if (
        criteria.supplier_id
        and not Supplier.objects.filter(
            pk=criteria.supplier_id, status=Supplier.Status.ACTIVE
        ).exists()
    ):
        raise SearchError(
            f"There is no active supplier number {criteria.supplier_id}.", field="supplier"
        )
    words = _WORD.findall(criteria.q.lower())[:MAX_CORRECTED_WORDS]
    if criteria.sort == RELEVANCE and not words:
        criteria = replace(criteria, sort=NEWEST)
    after = decode_cursor(cursor, sort=criteria.sort) if cursor else None
    money = DecimalField(max_digits=12, decimal_places=2)
    products = (
        Product.objects.filter(
            status=Product.Status.ACTIVE, supplier__status=Supplier.Status.ACTIVE
        )
        .annotate(
            variant_count=Count("variants"),
            min_price=Min("variants__wholesale_price"),
            est_margin=Coalesce(
                Max(ExpressionWrapper(F("variants__msrp") - F("variants__wholesale_price"), money)),
                Value(0, money),
            ),
            in_stock=Exists(
                Variant.objects.filter(product=OuterRef("pk"))
                .annotate(advertised=advertised_quantity_expression())
                .filter(advertised__gt=0)
            ),
        )
        .filter(variant_count__gt=0)
    )
    for word in words:
        products = products.filter(
            Q(title__icontains=word)
            | Q(description__icontains=word)
            | Q(supplier__company_name__icontains=word)
            | Q(category__name__icontains=word)
            | Exists(Variant.objects.filter(product=OuterRef("pk"), sku__icontains=word))
        )
    if criteria.category_id:
        ids, frontier = {criteria.category_id}, {criteria.category_id}
        while frontier:
            frontier = (
                set(Category.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
                - ids
            )
            ids |= frontier
        products = products.filter(category_id__in=ids)
    if criteria.supplier_id:
        products = products.filter(supplier_id=criteria.supplier_id)
    if criteria.min_price is not None:
        products = products.filter(min_price__gte=criteria.min_price)
    if criteria.max_price is not None:
        products = products.filter(min_price__lte=criteria.max_price)
    if criteria.in_stock:
        products = products.filter(in_stock=True)
    if criteria.max_handling_days is not None:
        products = products.filter(supplier__handling_days__lte=criteria.max_handling_days)
    if criteria.ship_from:
        products = products.filter(supplier__ship_from_country=criteria.ship_from)
    if criteria.min_score is not None:
        products = products.filter(supplier__scorecard__score__gte=criteria.min_score)
    matches = list(
        products.order_by().values_list(
            "category_id", "category__name", "supplier_id", "supplier__company_name"
        )[: FACET_LIMIT + 1]
    )
    categories: dict = {}
    suppliers: dict = {}
    for category_id, category_name, supplier_id, supplier_name in matches:
        category_key = (category_id, category_name or "Uncategorised")
        categories[category_key] = categories.get(category_key, 0) + 1
        suppliers[(supplier_id, supplier_name)] = suppliers.get((supplier_id, supplier_name), 0) + 1

    def top(counts: dict) -> list[tuple]:
        ranked = sorted(((k[0], k[1], n) for k, n in counts.items()), key=lambda r: (-r[2], r[1]))
        return ranked[:FACETS_SHOWN]

    if criteria.sort == RELEVANCE:
        phrase = criteria.q.lower()
        products = products.annotate(
            sort_key=Cast(
                Case(
                    When(
                        Exists(Variant.objects.filter(product=OuterRef("pk"), sku__iexact=phrase)),
                        then=Value(10),
                    ),
                    When(title__icontains=words[0], then=Value(1)),
                    default=Value(0),
                    output_field=IntegerField(),
                ),
                output_field=money,
            )
        )
        key, descending = "sort_key", True
    else:
        key, descending = {
            NEWEST: ("created_at", True),
            PRICE: ("min_price", False),
            PRICE_DESC: ("min_price", True),
            MARGIN: ("est_margin", True),
            SCORE: ("supplier_score", True),
        }[criteria.sort]
        if criteria.sort == SCORE:
            products = products.annotate(
                supplier_score=Coalesce(
                    F("supplier__scorecard__score"),
                    Value(-1),
                    output_field=IntegerField(),
                )
            )
    if after:
        beyond = "lt" if descending else "gt"
        products = products.filter(
            Q(**{f"{key}__{beyond}": after[0]}) | Q(**{key: after[0], f"pk__{beyond}": after[1]})
        )
    prefix = "-" if descending else ""
    rows = list(
        products.order_by(f"{prefix}{key}", f"{prefix}pk").values_list(
            "pk", "min_price", "est_margin", "in_stock", key
        )[: limit + 1]
    )
    has_more = len(rows) > limit
    rows = rows[:limit]
    total = len(matches)
    return SearchResult(
        criteria=criteria,
        hits=[SearchHit(r[0], _cents(r[1]), _cents(r[2]), bool(r[3])) for r in rows],
        next_cursor=encode_cursor(sort=criteria.sort, key=rows[-1][4], product_id=rows[-1][0])
        if has_more
        else None,
        total=min(total, FACET_LIMIT),
        total_is_capped=total > FACET_LIMIT,
        category_facets=top(categories),
        supplier_facets=top(suppliers),
    )
