"""Pagination for the JSON API's list operations: every number a client sends is range-checked
before it reaches the database (a page or offset past PostgreSQL's bigint used to answer 500).
Out of range answers 422 naming the parameter, in the API's one error shape.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.core import signing
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import models
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from ninja import Field, Schema
from ninja.errors import ValidationError
from ninja.pagination import LimitOffsetPagination, PageNumberPagination, PaginationBase

MAX_PAGE = 10_000
MAX_PAGE_SIZE = 200
MAX_OFFSET = 1_000_000


class BoundedPageNumberPagination(PageNumberPagination):
    """`?page=` from 1 to 10,000 and `?page_size=` from 1 to 200."""

    class Input(Schema):
        page: int = Field(1, ge=1, le=MAX_PAGE)
        page_size: int | None = Field(None, ge=1, le=MAX_PAGE_SIZE)

    def __init__(self, page_size: int = 50, **kwargs: Any) -> None:
        super().__init__(page_size=page_size, max_page_size=MAX_PAGE_SIZE, **kwargs)


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    """`?limit=` from 1 to 200 and `?offset=` from 0 to 1,000,000."""

    class Input(Schema):
        limit: int = Field(50, ge=1, le=MAX_PAGE_SIZE)
        offset: int = Field(0, ge=0, le=MAX_OFFSET)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_limit=MAX_PAGE_SIZE, **kwargs)


CURSOR_SALT = "dropship.api.cursor"
MAX_CURSOR_LENGTH = 1_000


def _invalid_cursor(message: str) -> ValidationError:
    return ValidationError([{"loc": ("query", "cursor"), "msg": message, "type": "invalid_cursor"}])


class CursorPagination(PaginationBase):
    """`?limit=` from 1 to 200 (default 50) and `?cursor=` from the previous page's `next_cursor`.

    Keyset pagination, as Stripe's and Shopify's APIs page: the cursor holds the sort values of the
    last item shown, signed so a tampered or foreign cursor answers 422 instead of reaching the
    database, and a page never skips or repeats an item when rows are added meanwhile. `ordering`
    names non-null fields of the model itself; the primary key is appended as the tie-breaker.
    """

    class Input(Schema):
        limit: int = Field(50, ge=1, le=MAX_PAGE_SIZE, description="Items per page, 1 to 200.")
        cursor: str | None = Field(
            None,
            max_length=MAX_CURSOR_LENGTH,
            description="`next_cursor` of the previous page; omit it for the first page.",
        )

    class Output(Schema):
        items: list[Any]
        next_cursor: str | None = Field(
            description="Pass as `cursor` to get the next page; null on the last page."
        )
        has_more: bool

    def __init__(self, *, ordering: tuple[str, ...] = ("-id",), **kwargs: Any) -> None:
        names = [field.lstrip("-") for field in ordering]
        self.ordering = ordering if {"id", "pk"} & set(names) else (*ordering, "-id")
        super().__init__(**kwargs)

    def paginate_queryset(
        self, queryset: QuerySet, pagination: Any, request: HttpRequest, **params: Any
    ) -> dict[str, Any]:
        queryset = queryset.order_by(*self.ordering)
        if pagination.cursor:
            queryset = queryset.filter(self._after(queryset.model, self._decode(pagination.cursor)))
        rows = list(queryset[: pagination.limit + 1])
        has_more = len(rows) > pagination.limit
        items = rows[: pagination.limit]
        return {
            "items": items,
            "next_cursor": self._encode(items[-1]) if has_more else None,
            "has_more": has_more,
        }

    def _fields(self) -> list[tuple[str, bool]]:
        """(field name, descending) for each sort key."""
        return [(field.lstrip("-"), field.startswith("-")) for field in self.ordering]

    def _encode(self, item: Any) -> str:
        values = [_serialise(getattr(item, name)) for name, _ in self._fields()]
        return signing.dumps({"o": list(self.ordering), "v": values}, salt=CURSOR_SALT)

    def _decode(self, cursor: str) -> list[Any]:
        try:
            data = signing.loads(cursor, salt=CURSOR_SALT)
        except signing.BadSignature:
            raise _invalid_cursor(
                "This cursor was not issued by this list: pass `next_cursor` unchanged."
            ) from None
        if not isinstance(data, dict) or data.get("o") != list(self.ordering):
            raise _invalid_cursor("This cursor belongs to another list: start again without it.")
        values = data.get("v")
        if not isinstance(values, list) or len(values) != len(self.ordering):
            raise _invalid_cursor("This cursor is incomplete: start again without it.")
        return values

    def _after(self, model: type[models.Model], values: list[Any]) -> Q:
        """Rows strictly after the cursor in the list's order: (a, b) after (x, y) is
        a > x, or a = x and b > y (with < for descending keys)."""
        condition = Q()
        equal_so_far = Q()
        for (name, descending), raw in zip(self._fields(), values, strict=True):
            field = model._meta.pk if name == "pk" else model._meta.get_field(name)
            if not isinstance(field, models.Field):
                raise TypeError(f"CursorPagination sorts on the model's own fields, not {name!r}")
            try:
                value = field.to_python(raw)
            except DjangoValidationError:
                raise _invalid_cursor("This cursor is damaged: start again without it.") from None
            lookup = "lt" if descending else "gt"
            condition |= equal_so_far & Q(**{f"{name}__{lookup}": value})
            equal_so_far &= Q(**{name: value})
        return condition


def _serialise(value: Any) -> Any:
    if isinstance(value, datetime | date | Decimal | UUID):
        return value.isoformat() if isinstance(value, datetime | date) else str(value)
    return value
