"""Retailer notices follow the notification preferences: off, immediately, or the daily digest."""

import pytest
from django.core import mail

from dropship.accounts.models import Notification, Role
from orders.services import fulfilment
from retailers.models import DigestNotice, NoticePreference
from retailers.services import notices
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]
UPS = "1Z999AA10123456784"
URL = "/retailer/settings/notifications/"


def _ship(retailer, capture):
    order = factories.OrderFactory(
        store=factories.StoreFactory(retailer=retailer, platform="CUSTOM")
    )
    supplier_order = factories.make_supplier_order(order=order)
    with capture(execute=True):
        fulfilment.ship_supplier_order(
            supplier_order=supplier_order, carrier="UPS", tracking_number=UPS
        )
    return order


def _owner(retailer):
    return factories.RetailerMemberFactory(
        retailer=retailer, role=Role.OWNER, user__email="owner@maple.test"
    )


def test_without_a_preference_a_shipped_order_is_told_at_once(django_capture_on_commit_callbacks):
    retailer = factories.RetailerFactory()
    _owner(retailer)

    order = _ship(retailer, django_capture_on_commit_callbacks)

    (email,) = mail.outbox
    assert email.subject == f"Order {order.number} shipped"
    assert f"https://www.ups.com/track?tracknum={UPS}" in email.body
    assert email.to == ["owner@maple.test", retailer.contact_email]
    notice = Notification.objects.get(retailer=retailer)
    assert (notice.kind, notice.url) == ("order_shipped", f"/retailer/orders/{order.pk}/")


def test_off_sends_nothing(django_capture_on_commit_callbacks):
    retailer = factories.RetailerFactory()
    notices.set_notice_preferences(retailer=retailer, choices={"order_shipped": "OFF"})

    _ship(retailer, django_capture_on_commit_callbacks)

    assert mail.outbox == []
    assert not Notification.objects.filter(retailer=retailer).exists()
    assert not DigestNotice.objects.exists()


def test_digest_shows_in_app_now_and_mails_once_a_day(django_capture_on_commit_callbacks):
    retailer = factories.RetailerFactory()
    other = factories.RetailerFactory()
    notices.set_notice_preferences(retailer=retailer, choices={"order_shipped": "DIGEST"})
    first = _ship(retailer, django_capture_on_commit_callbacks)
    second = _ship(retailer, django_capture_on_commit_callbacks)
    _ship(other, django_capture_on_commit_callbacks)
    mail.outbox.clear()  # the other retailer's immediate e-mail
    assert Notification.objects.filter(retailer=retailer, kind="order_shipped").count() == 2

    with django_capture_on_commit_callbacks(execute=True):
        assert notices.send_notice_digests() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert notices.send_notice_digests() == 0  # run twice: nothing twice

    (email,) = mail.outbox
    assert email.subject == "Dropship daily digest: 2 order updates"
    assert f"Order {first.number}:" in email.body
    assert f"Order {second.number}:" in email.body
    assert f"/retailer/orders/{first.pk}/" in email.body
    assert not DigestNotice.objects.filter(sent_at__isnull=True).exists()


def test_a_rejection_is_a_decision_notice(django_capture_on_commit_callbacks):
    supplier_order = factories.make_supplier_order()
    retailer = supplier_order.order.retailer
    notices.set_notice_preferences(retailer=retailer, choices={"needs_decision": "OFF"})

    with django_capture_on_commit_callbacks(execute=True):
        fulfilment.reject_supplier_order(supplier_order=supplier_order, reason="Out of stock")

    assert mail.outbox == []
    assert not Notification.objects.filter(retailer=retailer).exists()


def test_bad_choices_are_refused_and_nothing_is_saved():
    retailer = factories.RetailerFactory()
    with pytest.raises(notices.NoticePreferenceError, match="Choose off, immediately or daily"):
        notices.set_notice_preferences(
            retailer=retailer, choices={"order_shipped": "OFF", "order_delivered": "LOUD"}
        )
    with pytest.raises(notices.NoticePreferenceError, match="is not a kind of notice"):
        notices.set_notice_preferences(retailer=retailer, choices={"gossip": "OFF"})
    assert not NoticePreference.objects.exists()


def test_the_preferences_page_saves_the_owners_choices(client):
    retailer = factories.RetailerFactory()
    client.force_login(_owner(retailer).user)

    page = client.get(URL)
    assert page.status_code == 200
    html = page.content.decode()
    assert '<label for="pref-order_delivered">An order was delivered</label>' in html
    assert '<option value="IMMEDIATE" selected>' in html

    saved = client.post(
        URL,
        {
            "order_shipped": "DIGEST",
            "order_delivered": "OFF",
            "delivery_exception": "IMMEDIATE",
            "needs_decision": "IMMEDIATE",
            "order_loss": "OFF",
            "return_update": "DIGEST",
        },
    )
    assert saved.status_code == 302
    assert dict(retailer.notice_preferences.values_list("kind", "delivery")) == {
        "order_shipped": "DIGEST",
        "order_delivered": "OFF",
        "delivery_exception": "IMMEDIATE",
        "needs_decision": "IMMEDIATE",
        "order_loss": "OFF",
        "return_update": "DIGEST",
    }


def test_the_page_answers_400_with_the_reason_for_a_bad_choice(client):
    retailer = factories.RetailerFactory()
    client.force_login(_owner(retailer).user)

    answer = client.post(URL, {"order_shipped": "SOMETIMES"})

    assert answer.status_code == 400
    assert "Choose off, immediately or daily digest" in answer.content.decode()
    assert not NoticePreference.objects.exists()


def test_a_staff_member_sees_the_preferences_but_cannot_change_them(client):
    retailer = factories.RetailerFactory()
    member = factories.RetailerMemberFactory(retailer=retailer, role=Role.STAFF)
    client.force_login(member.user)

    assert client.get(URL).status_code == 200
    assert client.post(URL, {"order_shipped": "OFF"}).status_code == 403
    assert not NoticePreference.objects.exists()
