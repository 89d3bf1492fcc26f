"""The support inbox in the staff workspace: linked from the admin index, open threads the
longest waiting first with the reply clock against MESSAGE_REPLY_SLA_HOURS; an agent reads,
writes as Support (joining the conversation, shown as such to both sides) and closes it."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from dropship.accounts.roles import SUPPORT_AGENT
from dropship.core.models import AuditLogEntry
from messaging.models import Side, Thread
from messaging.services import post_message
from tests import factories
from tests.messaging.files import pdf
from tests.mfa import login_with_second_factor

pytestmark = pytest.mark.django_db
INBOX = "/staff/support/"


@pytest.fixture
def agent(client):
    user = factories.staff_in_group(SUPPORT_AGENT, "agent@dropship.example")
    login_with_second_factor(client, user)
    return user


def _thread(*, waiting_hours, created_hours, last_side=Side.RETAILER):
    supplier_order = factories.SupplierOrderFactory()
    post_message(supplier_order=supplier_order, side=last_side, body="Question")
    now = timezone.now()
    Thread.objects.filter(supplier_order=supplier_order).update(
        created_at=now - timedelta(hours=created_hours),
        waiting_since=now - timedelta(hours=waiting_hours) if waiting_hours is not None else None,
    )
    return Thread.objects.get(supplier_order=supplier_order)


def test_admin_index_links_to_the_support_inbox(client, agent):
    page = client.get(reverse("admin:index")).content.decode()

    assert f'<a href="{INBOX}">Support inbox</a>' in page


def test_open_threads_are_listed_longest_waiting_first_with_the_sla_clock(client, agent, settings):
    settings.MESSAGE_REPLY_SLA_HOURS = 24
    recent = _thread(waiting_hours=2, created_hours=2)
    overdue = _thread(waiting_hours=30, created_hours=50)
    answered = _thread(waiting_hours=None, created_hours=80, last_side=Side.SUPPORT)
    closed = _thread(waiting_hours=100, created_hours=100)
    Thread.objects.filter(pk=closed.pk).update(status="CLOSED", closed_at=timezone.now())

    page = client.get(INBOX).content.decode()

    numbers = [t.supplier_order.number for t in (overdue, recent, answered)]
    positions = [page.index(f">{number}</a>") for number in numbers]
    assert positions == sorted(positions)
    assert f">{closed.supplier_order.number}</a>" not in page
    assert "Conversations (3 open)" in page
    assert "Overdue by 6" in page  # 30 h waiting against a 24 h clock
    assert "Due in 21" in page  # 2 h waiting: 22 h left, shown as 21 h 59 min and so on
    assert "Answered by support" in page


def test_support_joins_by_writing_and_is_shown_as_support_to_both_sides(
    client, agent, django_capture_on_commit_callbacks
):
    thread = _thread(waiting_hours=30, created_hours=30)
    retailer_user = factories.RetailerMemberFactory(retailer=thread.retailer).user
    supplier_user = factories.SupplierMemberFactory(supplier=thread.supplier).user
    url = reverse("messaging:support_thread", args=[thread.pk])

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"body": "Support here: I am looking into it."})

    assert response.status_code == 302
    thread.refresh_from_db()
    assert thread.support_joined_at is not None
    assert thread.waiting_since is None  # answered: off the clock
    message = thread.messages.last()
    assert (message.side, message.author) == (Side.SUPPORT, agent)
    assert AuditLogEntry.objects.filter(action="messages.support_joined").count() == 1
    # Both parties are e-mailed, each with its own link back.
    assert len(mail.outbox) == 2
    assert {tuple(sorted(email.to)) for email in mail.outbox} == {
        tuple(sorted({retailer_user.email, thread.retailer.contact_email})),
        tuple(sorted({supplier_user.email, thread.supplier.contact_email})),
    }
    assert all(e.subject.startswith("New message from Dropship support") for e in mail.outbox)

    client.force_login(retailer_user)
    page = client.get(
        reverse("messaging:retailer_thread", args=[thread.supplier_order_id])
    ).content.decode()
    assert "Dropship support joined this conversation" in page
    assert 'Dropship support</strong> <span class="badge badge-support">Support</span>' in page
    assert agent.email not in page  # the agent is "Support", not a person's address


def test_support_closes_a_thread_and_a_new_message_opens_it(client, agent):
    thread = _thread(waiting_hours=3, created_hours=3)

    client.post(reverse("messaging:support_close", args=[thread.pk]))

    thread.refresh_from_db()
    assert (thread.status, thread.waiting_since) == ("CLOSED", None)
    assert f">{thread.supplier_order.number}</a>" not in client.get(INBOX).content.decode()
    assert AuditLogEntry.objects.filter(action="messages.thread_closed").count() == 1

    post_message(supplier_order=thread.supplier_order, side=Side.SUPPLIER, body="One more thing")
    thread.refresh_from_db()
    assert (thread.status, thread.closed_at) == ("OPEN", None)


def test_the_inbox_is_for_staff_only(client):
    retailer = factories.RetailerMemberFactory().user
    client.force_login(retailer)

    assert client.get(INBOX).status_code == 302  # to the admin login
    thread = _thread(waiting_hours=1, created_hours=1)
    response = client.post(
        reverse("messaging:support_thread", args=[thread.pk]), {"body": "I am support, honest"}
    )
    assert response.status_code == 302
    assert thread.messages.count() == 1


def test_staff_read_attachments_of_any_thread(client, agent):
    supplier_order = factories.SupplierOrderFactory()
    message = post_message(
        supplier_order=supplier_order, side=Side.RETAILER, body="Invoice", files=[pdf()]
    )
    attachment = message.attachments.get()

    served = client.get(reverse("messaging:attachment", args=[attachment.pk]))

    assert served.status_code == 200
    assert served["Content-Type"] == "application/pdf"
