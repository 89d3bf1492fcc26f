"""The notification centre: the organisation's notifications, read state, the navigation's count."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dropship.accounts.models import Notification, Role
from dropship.accounts.services import notify
from dropship.core.models import AuditLogEntry
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

URL = reverse("accounts:notifications")
READ_ALL = reverse("accounts:notifications_read_all")
HTMX = {"HTTP_HX_REQUEST": "true"}


def _read_url(notification: Notification) -> str:
    return reverse("accounts:notification_read", args=[notification.pk])


def _unread_badge(html: str) -> str:
    """The text of the navigation's unread count."""
    match = re.search(r'id="unread-notifications"[^>]*>(\d*)', html)
    assert match, "the page shows the unread count"
    return match.group(1)


def test_a_member_sees_its_own_notifications_newest_first_and_paged(client):
    member = factories.RetailerMemberFactory(role=Role.STAFF)
    retailer = member.retailer
    for number in range(30):
        notify(organisation=retailer, kind="test", message=f"Notice {number}")
    notify(organisation=factories.RetailerFactory(), kind="test", message="Someone else's")
    client.force_login(member.user)

    first = client.get(URL)
    second = client.get(URL, {"page": 2})

    assert first.status_code == second.status_code == 200
    shown = [n.message for n in first.context["page"].object_list] + [
        n.message for n in second.context["page"].object_list
    ]
    assert shown == [f"Notice {number}" for number in reversed(range(30))]
    html = first.content.decode() + second.content.decode()
    assert "Someone else" not in html
    assert "Older →" in first.content.decode()


def test_marking_one_read_changes_its_state_and_the_count(retailer_client):
    retailer = retailer_client.retailer
    first = notify(organisation=retailer, kind="test", message="Stock low on Mug")
    notify(organisation=retailer, kind="test", message="Order failed")

    assert _unread_badge(retailer_client.get(URL).content.decode()) == "2"

    response = retailer_client.post(_read_url(first), {"page": "1"})

    assert response.status_code == 302
    assert response["Location"] == f"{URL}?page=1"
    first.refresh_from_db()
    assert first.read_at is not None
    assert _unread_badge(retailer_client.get(URL).content.decode()) == "1"

    assert not AuditLogEntry.objects.filter(action__startswith="page.").exists()
    read_at = first.read_at
    retailer_client.post(_read_url(first))
    first.refresh_from_db()
    assert first.read_at == read_at, "reading it again keeps the first time it was read"
    entries = AuditLogEntry.objects.filter(retailer=retailer, action="notification.read")
    assert [entry.target_id for entry in entries] == [str(first.pk)]


def test_htmx_mark_read_answers_with_the_row_and_the_new_count(supplier_client):
    notification = notify(organisation=supplier_client.supplier, kind="test", message="Approved")

    response = supplier_client.post(_read_url(notification), **HTMX)

    html = response.content.decode()
    assert response.status_code == 200
    assert f'id="notification-{notification.pk}"' in html
    assert "Mark read" not in html
    assert 'hx-swap-oob="true"' in html
    assert _unread_badge(html) == ""
    assert "<html" not in html


def test_mark_all_read_marks_only_the_organisations_unread_ones(retailer_client):
    retailer = retailer_client.retailer
    for number in range(3):
        notify(organisation=retailer, kind="test", message=f"Notice {number}")
    other = notify(organisation=factories.RetailerFactory(), kind="test", message="Other")

    response = retailer_client.post(READ_ALL)

    assert response.status_code == 302
    assert not Notification.objects.filter(retailer=retailer, read_at__isnull=True).exists()
    other.refresh_from_db()
    assert other.read_at is None
    page = retailer_client.get(URL).content.decode()
    assert "3 notifications marked read." in page
    assert _unread_badge(page) == ""
    entry = AuditLogEntry.objects.get(action="notification.read_all")
    assert (entry.retailer_id, entry.data["marked"]) == (retailer.pk, 3)

    htmx = retailer_client.post(READ_ALL, **HTMX).content.decode()
    assert 'id="notification-centre"' in htmx
    assert "<html" not in htmx


def test_another_organisations_notification_is_a_404_and_stays_unread(retailer_client):
    other = notify(organisation=factories.SupplierFactory(), kind="test", message="Not yours")

    response = retailer_client.post(_read_url(other))

    assert response.status_code == 404
    assert "Not yours" not in response.content.decode()
    other.refresh_from_db()
    assert other.read_at is None


def test_reads_and_writes_need_the_right_method_and_a_sign_in(client, retailer_client):
    notification = notify(organisation=retailer_client.retailer, kind="test", message="x")

    assert retailer_client.get(_read_url(notification)).status_code == 405
    assert retailer_client.get(READ_ALL).status_code == 405
    assert retailer_client.post(URL).status_code == 405
    retailer_client.logout()
    assert client.get(URL).status_code == 302
    assert client.post(_read_url(notification)).status_code == 302
    notification.refresh_from_db()
    assert notification.read_at is None


def test_the_navigation_count_costs_one_query_however_many_notifications(retailer_client):
    retailer = retailer_client.retailer
    dashboard = reverse("retailers:dashboard")

    def notification_queries(url: str) -> list[str]:
        with CaptureQueriesContext(connection) as queries:
            assert retailer_client.get(url).status_code == 200
        return [q["sql"] for q in queries if "accounts_notification" in q["sql"]]

    notify(organisation=retailer, kind="test", message="One")
    few_dashboard, few_centre = notification_queries(dashboard), notification_queries(URL)
    for number in range(40):
        notify(organisation=retailer, kind="test", message=f"Notice {number}")
    many_dashboard, many_centre = notification_queries(dashboard), notification_queries(URL)

    assert len(many_dashboard) == len(few_dashboard)
    assert len(many_centre) == len(few_centre)
    assert sum("COUNT(" in sql.upper() for sql in few_dashboard) == 1
    assert _unread_badge(retailer_client.get(dashboard).content.decode()) == "41"
