"""The API's cursor pagination walks a list exactly once, in order, and refuses cursors it did
not issue (tests use the user table: any model with a sortable field would do)."""

from datetime import timedelta

import pytest
from django.core import signing
from django.utils import timezone
from ninja.errors import ValidationError

from dropship.accounts.models import User
from dropship.api_pagination import CURSOR_SALT, CursorPagination

pytestmark = pytest.mark.django_db


def _page(paginator: CursorPagination, *, limit: int, cursor: str | None = None) -> dict:
    pagination = CursorPagination.Input(limit=limit, cursor=cursor)
    return paginator.paginate_queryset(User.objects.all(), pagination, request=None)


def _users(count: int, *, joined) -> list[User]:
    return [
        User.objects.create_user(email=f"user{index}@example.test", date_joined=joined)
        for index in range(count)
    ]


def _walk(paginator: CursorPagination, *, limit: int) -> list[int]:
    seen, cursor = [], None
    while True:
        page = _page(paginator, limit=limit, cursor=cursor)
        seen += [user.pk for user in page["items"]]
        assert page["has_more"] is (page["next_cursor"] is not None)
        if not page["has_more"]:
            return seen
        cursor = page["next_cursor"]


def test_pages_cover_every_row_once_in_order_even_when_sort_values_tie():
    now = timezone.now()
    tied = _users(5, joined=now)  # the same date_joined: the primary key breaks the tie
    older = User.objects.create_user(
        email="older@example.test", date_joined=now - timedelta(days=1)
    )
    paginator = CursorPagination(ordering=("-date_joined",))

    seen = _walk(paginator, limit=2)

    assert seen == [user.pk for user in sorted(tied, key=lambda u: -u.pk)] + [older.pk]


def test_rows_added_between_pages_neither_repeat_nor_shift_the_next_page():
    users = _users(4, joined=timezone.now())
    paginator = CursorPagination()  # newest id first
    first = _page(paginator, limit=2)
    User.objects.create_user(email="newcomer@example.test")  # sorts before the first page

    second = _page(paginator, limit=2, cursor=first["next_cursor"])

    assert [u.pk for u in first["items"]] == [users[3].pk, users[2].pk]
    assert [u.pk for u in second["items"]] == [users[1].pk, users[0].pk]
    assert second["has_more"] is False
    assert second["next_cursor"] is None


def test_a_tampered_cursor_is_refused_naming_the_parameter():
    _users(3, joined=timezone.now())
    paginator = CursorPagination()
    cursor = _page(paginator, limit=1)["next_cursor"]

    with pytest.raises(ValidationError) as refused:
        _page(paginator, limit=1, cursor=cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB"))

    assert refused.value.errors[0]["loc"] == ("query", "cursor")
    assert "not issued" in refused.value.errors[0]["msg"]


def test_a_cursor_of_another_list_or_with_damaged_values_is_refused():
    _users(3, joined=timezone.now())
    by_date = CursorPagination(ordering=("-date_joined",))
    foreign = _page(CursorPagination(), limit=1)["next_cursor"]
    damaged = signing.dumps({"o": list(by_date.ordering), "v": ["not a date", 1]}, salt=CURSOR_SALT)

    with pytest.raises(ValidationError, match="another list"):
        _page(by_date, limit=1, cursor=foreign)
    with pytest.raises(ValidationError) as refused:
        _page(by_date, limit=1, cursor=damaged)
    assert "damaged" in refused.value.errors[0]["msg"]
