"""Pagination for the JSON API's list operations: every number a client sends is range-checked
before it reaches the database (a page or offset past PostgreSQL's bigint used to answer 500).
Out of range answers 422 naming the parameter, in the API's one error shape.
"""

from typing import Any

from ninja import Field, Schema
from ninja.pagination import LimitOffsetPagination, PageNumberPagination

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
