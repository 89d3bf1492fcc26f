"""The owner's audit log page: its organisation's entries only, filtered, paged, readable."""

from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from dropship.accounts.models import Role
from dropship.core.audit import audit_context, record_audit
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

URL = reverse("accounts:audit_log")


def _entry_at(when: datetime, *, retailer=None, supplier=None, action="listing.removed") -> None:
    """An entry written at `when` (auto_now_add and the append-only trigger allow no backdating
    through the ORM, so the row is inserted as it would have been then)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO core_auditlogentry (created_at, actor_kind, actor_label, action,"
            " target_type, target_id, summary, data, changes, request_id, retailer_id,"
            " supplier_id) VALUES (%s, 'SYSTEM', 'system', %s, 'request', 'x', '', '{}', '{}',"
            " '', %s, %s)",
            [
                connection.ops.adapt_datetimefield_value(when),
                action,
                getattr(retailer, "pk", None),
                getattr(supplier, "pk", None),
            ],
        )


def _rows(response) -> list[str]:
    """The actions shown, in order."""
    return [entry.action for entry in response.context["page"].object_list]


def test_the_owner_sees_its_organisations_entries_with_readable_before_and_after(
    retailer_client,
):
    retailer = retailer_client.retailer
    owner = retailer.memberships.get().user
    store = factories.StoreFactory(retailer=retailer, name="Maple")
    record_audit(
        actor=owner,
        action="store.renamed",
        target=store,
        changes={"name": ["Old maple", "Maple"]},
    )
    record_audit(actor=None, action="store.disconnected", target=factories.StoreFactory())

    response = retailer_client.get(URL)

    assert response.status_code == 200
    assert _rows(response) == ["store.renamed"]
    html = response.content.decode()
    assert '<td class="before">Old maple</td><td>Maple</td>' in html
    assert owner.email in html
    assert "Store <span" in html  # the object type in words


def test_filters_by_actor_action_object_type_and_dates(retailer_client):
    retailer = retailer_client.retailer
    owner = retailer.memberships.get().user
    store = factories.StoreFactory(retailer=retailer)
    now = timezone.now()
    _entry_at(now - timedelta(days=10), retailer=retailer, action="listing.removed")
    _entry_at(now - timedelta(days=3), retailer=retailer, action="listing.unlisted")
    with audit_context(retailer_id=retailer.pk):
        record_audit(actor=owner, action="store.disconnected", target=store)

    def rows(**query):
        response = retailer_client.get(URL, query)
        assert response.status_code == 200, response.context["form"].errors
        return _rows(response)

    assert rows() == ["store.disconnected", "listing.unlisted", "listing.removed"]
    assert rows(actor=owner.email) == ["store.disconnected"]
    assert rows(actor="system") == ["listing.unlisted", "listing.removed"]
    assert rows(action="listing.removed") == ["listing.removed"]
    assert rows(target_type="retailers.store") == ["store.disconnected"]
    since = (now - timedelta(days=5)).date().isoformat()
    until = (now - timedelta(days=2)).date().isoformat()
    assert rows(since=since) == ["store.disconnected", "listing.unlisted"]
    assert rows(since=since, until=until) == ["listing.unlisted"]


def test_a_filter_value_that_is_not_in_the_trail_answers_400_naming_it(retailer_client):
    other = factories.RetailerFactory()
    _entry_at(timezone.now(), retailer=other, action="pricing_rule.deleted")
    _entry_at(timezone.now(), retailer=retailer_client.retailer, action="listing.removed")

    response = retailer_client.get(URL, {"action": "pricing_rule.deleted"})

    assert response.status_code == 400
    assert response.context["form"].errors["action"] == [
        "Select a valid choice. pricing_rule.deleted is not one of the available choices."
    ]
    assert _rows(response) == ["listing.removed"]  # still only its own
    response = retailer_client.get(URL, {"since": "2026-13-40", "until": ""})
    assert response.status_code == 400
    assert response.context["form"].errors["since"] == ["Enter a valid date."]
    response = retailer_client.get(URL, {"since": "2026-05-02", "until": "2026-05-01"})
    assert response.context["form"].errors["until"] == ["“Until” must be on or after “From”."]


def test_a_supplier_owner_sees_only_its_own_trail(supplier_client):
    supplier = supplier_client.supplier
    _entry_at(timezone.now(), supplier=supplier, action="supplier.approve")
    _entry_at(timezone.now(), supplier=factories.SupplierFactory(), action="supplier.reject")
    _entry_at(timezone.now(), retailer=factories.RetailerFactory(), action="listing.removed")

    response = supplier_client.get(URL)

    assert _rows(response) == ["supplier.approve"]


def test_pages_of_fifty_newest_first(retailer_client):
    retailer = retailer_client.retailer
    start = timezone.now() - timedelta(hours=1)
    for minute in range(51):
        _entry_at(start + timedelta(minutes=minute), retailer=retailer, action=f"a.{minute}")

    first = retailer_client.get(URL)
    second = retailer_client.get(URL, {"page": 2})

    assert _rows(first)[:2] == ["a.50", "a.49"]
    assert len(_rows(first)) == 50
    assert _rows(second) == ["a.0"]
    assert 'href="?page=2"' in first.content.decode()


def test_a_team_member_who_is_not_the_owner_is_refused(client):
    member = factories.RetailerMemberFactory(role=Role.STAFF)
    _entry_at(timezone.now(), retailer=member.retailer)
    client.force_login(member.user)

    response = client.get(URL)

    assert response.status_code == 403
    assert "page" not in response.context


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
