"""Catalog search (catalog/search.py) on PostgreSQL: relevance, filters, keyset paging, facets,
what is never shown, and bad input. The search rows are kept by database triggers, so every test
writes through the ordinary models and factories."""

import re
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog.models import Product, ProductSearch
from catalog.search import (
    SearchCriteria,
    SearchError,
    decode_cursor,
    encode_cursor,
    parse_criteria,
    run_search,
    run_search_portable,
)
from suppliers.models import Supplier, SupplierScorecard
from tests.factories import CategoryFactory, ProductFactory, SupplierFactory, VariantFactory

pytestmark = pytest.mark.django_db


def _product(*, title, description="", supplier=None, category=None, price="10.00", **variant):
    product = ProductFactory(
        title=title,
        description=description,
        category=category,
        **({"supplier": supplier} if supplier else {}),
    )
    VariantFactory(product=product, wholesale_price=Decimal(price), **variant)
    return product


def _ids(criteria: SearchCriteria, **kwargs) -> list[int]:
    return [hit.product_id for hit in run_search(criteria=criteria, **kwargs).hits]


def _all_pages(criteria: SearchCriteria, *, limit: int) -> list[int]:
    ids, cursor = [], None
    while True:
        result = run_search(criteria=criteria, cursor=cursor, limit=limit)
        ids += [hit.product_id for hit in result.hits]
        cursor = result.next_cursor
        if cursor is None:
            return ids


# ---------------------------------------------------------------- relevance


def test_exact_sku_match_ranks_first():
    title_match = _product(title="Copper kettle KT-100 style")
    exact = _product(title="Stovetop teapot", sku="KT-100")
    result = run_search(criteria=SearchCriteria(q="KT-100", sort="relevance"))
    assert [hit.product_id for hit in result.hits] == [exact.pk, title_match.pk]


def test_title_match_ranks_above_description_match():
    in_description = _product(title="Kitchen helper", description="Works like a blender for soup")
    in_title = _product(title="Blender 600W", description="Smooth soups")
    assert _ids(SearchCriteria(q="blender", sort="relevance")) == [in_title.pk, in_description.pk]


def test_supplier_and_category_names_are_searchable():
    supplier = SupplierFactory(company_name="Nordic Steelworks")
    knives = CategoryFactory(name="Knives")
    by_supplier = _product(title="Chef's tool", supplier=supplier)
    by_category = _product(title="Paring tool", category=knives)
    assert _ids(SearchCriteria(q="steelworks")) == [by_supplier.pk]
    assert _ids(SearchCriteria(q="knives")) == [by_category.pk]


def test_misspelling_still_finds_and_says_what_it_searched():
    blender = _product(title="Glass blender jug")
    _product(title="Ceramic mug")
    result = run_search(criteria=SearchCriteria(q="blendr", sort="relevance"))
    assert [hit.product_id for hit in result.hits] == [blender.pk]
    assert result.corrected_query == "blender"


def test_only_common_words_is_ignored_not_an_error():
    product = _product(title="Steel pan")
    result = run_search(criteria=SearchCriteria(q="the and", sort="relevance"))
    assert result.ignored_query is True
    assert [hit.product_id for hit in result.hits] == [product.pk]


# ---------------------------------------------------------------- visibility


def test_only_active_products_of_active_suppliers_are_listed():
    shown = _product(title="Lamp shown")
    draft = _product(title="Lamp draft")
    draft.status = Product.Status.DRAFT
    draft.save(update_fields=["status"])
    suspended = SupplierFactory(status=Supplier.Status.SUSPENDED)
    _product(title="Lamp of suspended supplier", supplier=suspended)
    pending = SupplierFactory(status=Supplier.Status.PENDING)
    _product(title="Lamp of pending supplier", supplier=pending)
    ProductFactory(title="Lamp without variants")
    assert _ids(SearchCriteria(q="lamp")) == [shown.pk]
    assert _ids(SearchCriteria()) == [shown.pk]


def test_suspending_a_supplier_hides_its_products_at_once_and_reinstating_shows_them():
    supplier = SupplierFactory()
    product = _product(title="Desk fan", supplier=supplier)
    supplier.status = Supplier.Status.SUSPENDED
    supplier.save(update_fields=["status"])
    assert _ids(SearchCriteria(q="fan")) == []
    supplier.status = Supplier.Status.ACTIVE
    supplier.save(update_fields=["status"])
    assert _ids(SearchCriteria(q="fan")) == [product.pk]


def test_search_row_follows_edits_of_title_price_stock_and_deletion():
    product = _product(title="Old name", price="10.00")
    variant = product.variants.get()
    product.title = "Walnut cutting board"
    product.save(update_fields=["title"])
    variant.wholesale_price = Decimal("7.50")
    variant.stock_on_hand = 0
    variant.save(update_fields=["wholesale_price", "stock_on_hand"])
    row = ProductSearch.objects.get(product=product)
    assert (row.min_price, row.in_stock) == (Decimal("7.50"), False)
    assert _ids(SearchCriteria(q="walnut")) == [product.pk]
    assert _ids(SearchCriteria(q="old name")) == []
    product.delete()
    assert not ProductSearch.objects.filter(product_id=product.pk).exists()


def test_in_stock_uses_advertised_quantity_after_the_suppliers_buffer():
    supplier = SupplierFactory(stock_buffer_percent=50)
    product = _product(title="Rare vase", supplier=supplier, stock_on_hand=1)
    assert ProductSearch.objects.get(product=product).in_stock is False  # floor(1 × 50%) = 0
    variant = product.variants.get()
    variant.stock_on_hand = 2
    variant.save(update_fields=["stock_on_hand"])
    assert ProductSearch.objects.get(product=product).in_stock is True


# ---------------------------------------------------------------- filters


def test_filter_combinations():
    home = CategoryFactory(name="Home")
    kitchen = CategoryFactory(name="Kitchen", parent=home)
    garden = CategoryFactory(name="Garden")
    fast_us = SupplierFactory(handling_days=1, ship_from_country="US")
    slow_de = SupplierFactory(handling_days=5, ship_from_country="DE")
    a = _product(title="Pan A", category=kitchen, supplier=fast_us, price="12.00")
    b = _product(title="Pan B", category=home, supplier=slow_de, price="30.00")
    c = _product(title="Pan C", category=garden, supplier=fast_us, price="8.00", stock_on_hand=0)
    d = _product(title="Pan D", category=kitchen, supplier=slow_de, price="55.00")

    def ids(**params):
        criteria = parse_criteria({"sort": "price", **params}, can_see_prices=True)
        return _ids(criteria)

    assert ids(category=str(home.pk)) == [a.pk, b.pk, d.pk]  # with its child Kitchen
    assert ids(category=str(kitchen.pk)) == [a.pk, d.pk]
    assert ids(min_price="10", max_price="40") == [a.pk, b.pk]
    assert ids(supplier=str(fast_us.pk)) == [c.pk, a.pk]
    assert ids(in_stock="1") == [a.pk, b.pk, d.pk]
    assert ids(max_handling_days="2") == [c.pk, a.pk]
    assert ids(ship_from="de") == [b.pk, d.pk]
    assert ids(category=str(home.pk), ship_from="DE", max_price="40", q="pan") == [b.pk]
    assert ids(supplier=str(fast_us.pk), in_stock="true", category=str(garden.pk)) == []


def test_sorts_price_newest_margin():
    cheap = _product(title="Cup cheap", price="2.00", msrp=Decimal("3.00"))
    dear = _product(title="Cup dear", price="20.00", msrp=Decimal("60.00"))
    middle = _product(title="Cup middle", price="9.00", msrp=None)
    assert _ids(SearchCriteria(sort="price")) == [cheap.pk, middle.pk, dear.pk]
    assert _ids(SearchCriteria(sort="price_desc")) == [dear.pk, middle.pk, cheap.pk]
    assert _ids(SearchCriteria(sort="newest")) == [middle.pk, dear.pk, cheap.pk]
    assert _ids(SearchCriteria(sort="margin")) == [dear.pk, cheap.pk, middle.pk]


def test_facets_count_categories_and_suppliers_of_the_whole_result():
    one, two = CategoryFactory(name="One"), CategoryFactory(name="Two")
    s1, s2 = SupplierFactory(), SupplierFactory()
    _product(title="Bowl 1", category=one, supplier=s1)
    _product(title="Bowl 2", category=one, supplier=s2)
    _product(title="Bowl 3", category=two, supplier=s2)
    _product(title="Bowl 4", supplier=s2)
    _product(title="Plate", category=two, supplier=s1)
    result = run_search(criteria=SearchCriteria(q="bowl"), limit=1)
    assert result.total == 4
    assert result.total_is_capped is False
    assert result.category_facets == [
        (one.pk, "One", 2),
        (two.pk, "Two", 1),
        (None, "Uncategorised", 1),
    ]
    assert result.supplier_facets == [(s2.pk, s2.company_name, 3), (s1.pk, s1.company_name, 1)]


# ---------------------------------------------------------------- keyset paging


@pytest.mark.parametrize("sort", ["newest", "price", "price_desc", "margin", "relevance"])
def test_keyset_pages_cover_everything_once(sort):
    for i in range(11):
        _product(title=f"Towel {i}", price=f"{5 + i % 3}.00", msrp=Decimal(f"{20 + i % 4}.00"))
    criteria = SearchCriteria(q="towel" if sort == "relevance" else "", sort=sort)
    paged = _all_pages(criteria, limit=3)
    assert len(paged) == 11
    assert paged == _ids(criteria, limit=50)


@pytest.mark.parametrize("sort", ["newest", "price", "relevance"])
def test_keyset_paging_is_stable_when_rows_are_inserted_between_pages(sort):
    originals = [_product(title=f"Mat {i}", price=f"{10 + i}.00") for i in range(6)]
    criteria = SearchCriteria(q="mat" if sort == "relevance" else "", sort=sort)
    first = run_search(criteria=criteria, limit=3)
    # New rows that sort before, between and after the rows already seen.
    inserted = [
        _product(title=f"Mat new {i}", price=price) for i, price in enumerate(["1", "12.5", "99"])
    ]
    seen = [hit.product_id for hit in first.hits]
    cursor = first.next_cursor
    while cursor:
        page = run_search(criteria=criteria, cursor=cursor, limit=3)
        seen += [hit.product_id for hit in page.hits]
        cursor = page.next_cursor
    original_ids = {p.pk for p in originals}
    assert len(seen) == len(set(seen)), "no duplicates"
    assert original_ids <= set(seen), "no original row skipped"
    assert set(seen) <= original_ids | {p.pk for p in inserted}


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "text",
    [
        '"unterminated',
        "a & b | !c <-> d:*",
        "'; DROP TABLE catalog_product; --",
        "OR AND NOT -",
        "(((",
        "\x00 nul byte",
        "émile ñandú 東京",
        "x" * 200,
    ],
)
def test_any_search_text_is_safe(text):
    product = _product(title="Robust widget")
    criteria = parse_criteria({"q": text}, can_see_prices=False)
    result = run_search(criteria=criteria)
    assert isinstance(result.hits, list)
    assert Product.objects.filter(pk=product.pk).exists()


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"q": "x" * 5000}, "q", "The search text is 5,000 characters long; use at most 200."),
        ({"min_price": "-5"}, "min_price", "Minimum price cannot be negative."),
        ({"max_price": "1e12"}, "max_price", "Maximum price must be at most 1,000,000."),
        ({"min_price": "abc"}, "min_price", "Minimum price “abc” is not a number."),
        ({"min_price": "NaN"}, "min_price", "Minimum price must be a number."),
        (
            {"min_price": "50", "max_price": "10"},
            "min_price",
            "The minimum price (50.00) is above the maximum price (10.00).",
        ),
        ({"category": "abc"}, "category", "Category must be the number of an existing category."),
        ({"supplier": "-1"}, "supplier", "Supplier must be the number of an existing supplier."),
        (
            {"max_handling_days": "999"},
            "max_handling_days",
            "Handling time must be a whole number of days from 0 to 60.",
        ),
        (
            {"ship_from": "USA"},
            "ship_from",
            "Shipping origin must be a two-letter country code such as US or DE.",
        ),
        ({"in_stock": "maybe"}, "in_stock", "“In stock only” must be true or false."),
        (
            {"sort": "random"},
            "sort",
            "Unknown sort “random”; use one of: relevance, newest, price, price_desc, margin, score.",
        ),
    ],
)
def test_bad_parameters_are_refused_with_a_message(params, field, message):
    with pytest.raises(SearchError) as caught:
        parse_criteria(params, can_see_prices=True)
    assert (caught.value.field, caught.value.message) == (field, message)


def test_price_filters_and_sorts_need_a_retailer():
    with pytest.raises(
        SearchError, match=re.escape("Sign in as a retailer to filter by wholesale price.")
    ):
        parse_criteria({"max_price": "10"}, can_see_prices=False)
    with pytest.raises(
        SearchError, match=re.escape("Sign in as a retailer to sort by price or margin.")
    ):
        parse_criteria({"sort": "price"}, can_see_prices=False)


def test_unknown_category_and_supplier_are_named():
    with pytest.raises(SearchError, match=re.escape("There is no category number 999999.")):
        run_search(criteria=SearchCriteria(category_id=999999))
    suspended = SupplierFactory(status=Supplier.Status.SUSPENDED)
    with pytest.raises(
        SearchError, match=re.escape(f"There is no active supplier number {suspended.pk}.")
    ):
        run_search(criteria=SearchCriteria(supplier_id=suspended.pk))


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!!",
        "",
        encode_cursor(sort="price", key="10.00", product_id=1),  # another sort's cursor
        encode_cursor(sort="newest", key="not a date", product_id=1),
        encode_cursor(sort="newest", key="2026-01-01T00:00:00", product_id=1),  # naive
        encode_cursor(sort="newest", key="2026-01-01T00:00:00+00:00", product_id=-3),
        "W10",  # "[]"
        "A" * 500,
    ],
)
def test_malformed_cursor_is_refused(cursor):
    _product(title="Anything")
    with pytest.raises(SearchError, match=re.escape("That page link is not valid any more")):
        decode_cursor(cursor, sort="newest")


# ---------------------------------------------------------------- portable path (SQLite demo)


def test_portable_search_agrees_with_postgres_on_filters_sorts_paging_and_facets():
    home = CategoryFactory(name="Home")
    kitchen = CategoryFactory(name="Kitchen", parent=home)
    fast = SupplierFactory(handling_days=1, ship_from_country="US")
    slow = SupplierFactory(handling_days=5, ship_from_country="DE")
    for i in range(7):
        _product(
            title=f"Teapot {i}",
            category=kitchen if i % 2 else home,
            supplier=fast if i % 3 else slow,
            price=f"{10 + i}.00",
            stock_on_hand=0 if i == 4 else 50,
        )
    _product(title="Unrelated lamp", category=home, supplier=fast, price="3.00")
    for params in (
        {"sort": "price"},
        {"sort": "price_desc", "category": str(kitchen.pk)},
        {"sort": "newest", "q": "teapot", "in_stock": "1"},
        {"sort": "margin", "max_handling_days": "2", "ship_from": "US"},
        {"sort": "price", "min_price": "11", "max_price": "15", "category": str(home.pk)},
    ):
        criteria = parse_criteria(params, can_see_prices=True)
        expected = run_search(criteria=criteria, limit=3)
        portable = run_search_portable(criteria=criteria, limit=3)
        assert [h.product_id for h in portable.hits] == [h.product_id for h in expected.hits]
        assert portable.total == expected.total
        assert portable.category_facets == expected.category_facets
        assert portable.supplier_facets == expected.supplier_facets
        if expected.next_cursor:
            after_pg = run_search(criteria=criteria, cursor=expected.next_cursor, limit=3)
            after_portable = run_search_portable(
                criteria=criteria, cursor=portable.next_cursor, limit=3
            )
            assert [h.product_id for h in after_portable.hits] == [
                h.product_id for h in after_pg.hits
            ]


def test_portable_relevance_puts_the_exact_sku_first():
    in_title = _product(title="Kettle KT-9")
    exact = _product(title="Teapot", sku="KT-9")
    result = run_search_portable(criteria=SearchCriteria(q="kt-9", sort="relevance"))
    assert [h.product_id for h in result.hits] == [exact.pk, in_title.pk]


def test_moving_a_category_moves_its_products_in_the_category_filter():
    home, garden = CategoryFactory(name="Home"), CategoryFactory(name="Garden")
    pots = CategoryFactory(name="Pots", parent=home)
    product = _product(title="Clay pot", category=pots)
    assert _ids(SearchCriteria(category_id=home.pk)) == [product.pk]
    pots.parent = garden
    pots.save(update_fields=["parent"])
    assert _ids(SearchCriteria(category_id=home.pk)) == []
    assert _ids(SearchCriteria(category_id=garden.pk)) == [product.pk]
    garden.name = "Outdoor living"
    garden.save(update_fields=["name"])
    assert _ids(SearchCriteria(q="outdoor")) == [product.pk]


def test_with_more_matches_than_are_ranked_title_matches_are_ranked_first(monkeypatch):
    monkeypatch.setattr("catalog.search.FACET_LIMIT", 3)
    in_descriptions = [
        _product(title=f"Bowl {i}", description="goes well with a ladle") for i in range(6)
    ]
    in_title = _product(title="Ladle, stainless")
    result = run_search(criteria=SearchCriteria(q="ladle", sort="relevance"), limit=2)
    assert result.hits[0].product_id == in_title.pk
    assert result.total_is_capped is True
    assert result.total == 3
    seen = _all_pages(SearchCriteria(q="ladle", sort="relevance"), limit=2)
    assert len(seen) == len(set(seen)) == 4
    assert set(seen) <= {p.pk for p in in_descriptions} | {in_title.pk}


# ---------------------------------------------------------------- supplier score


def _scored(score: int | None) -> Supplier:
    supplier = SupplierFactory()
    SupplierScorecard.objects.create(
        supplier=supplier, computed_at=timezone.now(), orders=30, score=score
    )
    return supplier


@pytest.mark.parametrize("search", [run_search, run_search_portable])
def test_sort_and_filter_by_supplier_score_put_new_suppliers_last_or_out(search):
    reliable = _product(title="Lamp reliable", supplier=_scored(92))
    middling = _product(title="Lamp middling", supplier=_scored(71))
    new = _product(title="Lamp new", supplier=_scored(None))
    unscored = _product(title="Lamp never scored")

    def ids(**params):
        criteria = parse_criteria({"sort": "score", **params}, can_see_prices=False)
        return [hit.product_id for hit in search(criteria=criteria).hits]

    assert ids()[:2] == [reliable.pk, middling.pk]
    assert set(ids()[2:]) == {new.pk, unscored.pk}
    assert ids(min_score="80") == [reliable.pk]
    assert ids(min_score="0") == [reliable.pk, middling.pk]
    # Keyset paging walks the same order, scored first.
    criteria = parse_criteria({"sort": "score"}, can_see_prices=False)
    first = search(criteria=criteria, limit=1)
    second = search(criteria=criteria, cursor=first.next_cursor, limit=1)
    assert [first.hits[0].product_id, second.hits[0].product_id] == [reliable.pk, middling.pk]


@pytest.mark.parametrize("raw", ["101", "-1", "high", "7.5"])
def test_a_bad_minimum_score_names_the_field(raw):
    with pytest.raises(SearchError) as error:
        parse_criteria({"min_score": raw}, can_see_prices=False)
    assert error.value.field == "min_score"
    assert "0 to 100" in str(error.value)
