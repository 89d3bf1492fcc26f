"""Messages between a retailer and a supplier about one supplier order: the thread's life, unread
counts in the navigation and read receipts, escaped bodies, the e-mail notice with its link back,
bad input that writes nothing, and other organisations answered 404."""

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from dropship.core.uploads import IMAGE_MAX_BYTES
from messaging.models import Attachment, Message, Side, Thread
from messaging.selectors import count_unread_messages
from messaging.services import MessageError, mark_thread_read, post_message
from orders.models import SupplierOrder
from tests import factories
from tests.messaging.files import pdf, png

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]


def _retailer_url(supplier_order):
    return reverse("messaging:retailer_thread", args=[supplier_order.pk])


def _supplier_url(supplier_order):
    return reverse("messaging:supplier_thread", args=[supplier_order.pk])


def test_thread_starts_with_the_first_message_and_both_sides_converse(
    client, supplier_order, retailer_user, supplier_user
):
    client.force_login(retailer_user)
    empty = client.get(_retailer_url(supplier_order))
    assert empty.status_code == 200
    assert Thread.objects.count() == 0  # reading creates nothing

    sent = client.post(_retailer_url(supplier_order), {"body": "Can you ship by Friday?"})
    assert sent.status_code == 302
    thread = Thread.objects.get()
    assert (thread.supplier_order, thread.retailer, thread.supplier) == (
        supplier_order,
        supplier_order.order.retailer,
        supplier_order.supplier,
    )
    assert thread.last_message_side == Side.RETAILER
    assert thread.waiting_since == thread.last_message_at

    client.force_login(supplier_user)
    page = client.get(_supplier_url(supplier_order))
    assert "Can you ship by Friday?" in page.content.decode()
    client.post(_supplier_url(supplier_order), {"body": "Yes, it leaves Thursday."})

    thread.refresh_from_db()
    assert [(m.side, m.body, m.author) for m in thread.messages.all()] == [
        (Side.RETAILER, "Can you ship by Friday?", retailer_user),
        (Side.SUPPLIER, "Yes, it leaves Thursday.", supplier_user),
    ]
    assert thread.last_message_side == Side.SUPPLIER
    assert thread.waiting_since == thread.last_message_at  # now the retailer is to answer
    assert Thread.objects.count() == 1  # one thread per supplier order


def test_unread_counts_in_the_navigation_and_read_receipts(
    client, supplier_order, retailer_user, supplier_user
):
    post_message(
        supplier_order=supplier_order, side=Side.RETAILER, body="One", author=retailer_user
    )
    post_message(
        supplier_order=supplier_order, side=Side.RETAILER, body="Two", author=retailer_user
    )
    supplier, retailer = supplier_order.supplier, supplier_order.order.retailer
    assert count_unread_messages(organisation=supplier) == 2
    assert count_unread_messages(organisation=retailer) == 0

    client.force_login(supplier_user)
    dashboard = client.get(reverse("supplier_orders:list")).content.decode()
    assert '<span id="unread-messages" class="nav-count">2<span class="sr-only"> unread</span>' in (
        dashboard
    )
    inbox = client.get(reverse("messaging:supplier_inbox")).content.decode()
    assert '<span class="nav-count">2</span>' in inbox

    client.force_login(retailer_user)
    before = client.get(_retailer_url(supplier_order)).content.decode()
    assert before.count("Not read yet") == 2

    client.force_login(supplier_user)
    client.get(_supplier_url(supplier_order))  # the supplier reads the thread
    assert count_unread_messages(organisation=supplier) == 0
    thread = Thread.objects.get()
    assert thread.supplier_read_at is not None

    client.force_login(retailer_user)
    after = client.get(_retailer_url(supplier_order)).content.decode()
    assert "Not read yet" not in after
    assert after.count("Read by supplier") == 2

    post_message(supplier_order=supplier_order, side=Side.SUPPLIER, body="Three")
    assert count_unread_messages(organisation=retailer) == 1
    assert count_unread_messages(organisation=supplier) == 0


def test_reading_again_writes_nothing(supplier_order, retailer_user):
    message = post_message(supplier_order=supplier_order, side=Side.SUPPLIER, body="Hi")
    thread = message.thread
    assert mark_thread_read(thread=thread, side=Side.RETAILER) is True
    first = Thread.objects.get().retailer_read_at
    assert mark_thread_read(thread=thread, side=Side.RETAILER) is False
    assert Thread.objects.get().retailer_read_at == first


def test_message_bodies_are_escaped(client, supplier_order, retailer_user, supplier_user):
    attack = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    post_message(supplier_order=supplier_order, side=Side.RETAILER, body=attack)
    client.force_login(supplier_user)

    page = client.get(_supplier_url(supplier_order)).content.decode()

    assert "<script>alert" not in page
    assert "<img src=x" not in page
    assert (
        "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"
        in page
    )


def test_new_message_emails_the_other_side_with_a_link_back(
    supplier_order, retailer_user, supplier_user, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://dropship.example"
    with django_capture_on_commit_callbacks(execute=True):
        post_message(
            supplier_order=supplier_order,
            side=Side.RETAILER,
            body="Where is the parcel?",
            author=retailer_user,
        )

    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert set(email.to) == {supplier_order.supplier.contact_email, supplier_user.email}
    assert email.subject == (
        f"New message from {supplier_order.order.retailer.business_name} (retailer) about order "
        f"{supplier_order.number}"
    )
    assert "Where is the parcel?" in email.body
    link = f"https://dropship.example/supplier/messages/{supplier_order.pk}/"
    assert f"Read and reply: {link}\n" in email.body

    with django_capture_on_commit_callbacks(execute=True):
        post_message(supplier_order=supplier_order, side=Side.SUPPLIER, body="On its way.")
    assert set(mail.outbox[1].to) == {
        supplier_order.order.retailer.contact_email,
        retailer_user.email,
    }
    assert f"https://dropship.example/retailer/messages/{supplier_order.pk}/" in mail.outbox[1].body


def test_attachments_are_stored_privately_and_served_only_to_the_parties(
    client, supplier_order, retailer_user, supplier_user
):
    client.force_login(retailer_user)
    client.post(
        _retailer_url(supplier_order),
        {"body": "Photo and invoice attached", "attachments": [png(), pdf()]},
    )
    image, document = Attachment.objects.order_by("pk")
    assert (image.name, image.content_type) == ("damage.png", "image/png")
    assert (document.name, document.content_type) == ("invoice.pdf", "application/pdf")
    assert image.file.name.startswith(f"messages/{image.message.thread_id}/")
    with pytest.raises(ValueError, match="no public URL"):
        image.file.url  # noqa: B018

    url = reverse("messaging:attachment", args=[image.pk])
    for party in (retailer_user, supplier_user):
        client.force_login(party)
        served = client.get(url)
        assert served.status_code == 200
        assert served["Content-Type"] == "image/png"
        assert b"".join(served.streaming_content).startswith(b"\x89PNG")

    for outsider in (
        factories.RetailerMemberFactory().user,
        factories.SupplierMemberFactory().user,
        factories.UserFactory(),
    ):
        client.force_login(outsider)
        assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302  # to the login page


@pytest.mark.parametrize(
    ("upload", "error"),
    [
        (
            lambda: SimpleUploadedFile("notes.txt", b"just some text", content_type="text/plain"),
            "“notes.txt” is not a PDF or a JPEG, PNG or WebP image",
        ),
        (
            lambda: SimpleUploadedFile(
                "evil.png", b"#!/bin/sh\nrm -rf /\n", content_type="image/png"
            ),
            "“evil.png” is not a PDF or a JPEG, PNG or WebP image",
        ),
        (
            lambda: SimpleUploadedFile(
                "huge.png", png().read() + b"\0" * IMAGE_MAX_BYTES, content_type="image/png"
            ),
            "the limit is 5 MB",
        ),
    ],
)
def test_bad_attachment_is_refused_and_nothing_is_written(
    client, supplier_order, retailer_user, upload, error
):
    client.force_login(retailer_user)

    response = client.post(
        _retailer_url(supplier_order), {"body": "See attached", "attachments": [png(), upload()]}
    )

    assert response.status_code == 400
    assert error in response.content.decode()
    assert (Thread.objects.count(), Message.objects.count(), Attachment.objects.count()) == (
        0,
        0,
        0,
    )


def test_empty_body_is_refused_and_nothing_is_written(client, supplier_order, retailer_user):
    client.force_login(retailer_user)

    response = client.post(_retailer_url(supplier_order), {"body": "   \n "})

    assert response.status_code == 400
    assert "Write a message: it is empty." in response.content.decode()
    assert Thread.objects.count() == Message.objects.count() == 0


def test_too_many_attachments_are_refused(supplier_order):
    with pytest.raises(MessageError, match="6 files attached; a message takes at most 5"):
        post_message(
            supplier_order=supplier_order,
            side=Side.RETAILER,
            body="Photos",
            files=[png(f"{n}.png") for n in range(6)],
        )
    assert Message.objects.count() == 0


def test_an_unpaid_order_cannot_be_messaged_yet(client, retailer_user, supplier_order):
    SupplierOrder.objects.filter(pk=supplier_order.pk).update(status=SupplierOrder.Status.PENDING)
    client.force_login(retailer_user)

    response = client.post(_retailer_url(supplier_order), {"body": "Hello?"})

    assert response.status_code == 400
    assert "The supplier sees this order once it is paid" in response.content.decode()
    assert Thread.objects.count() == 0


def test_other_organisations_get_404_for_the_thread_pages(client, supplier_order):
    post_message(supplier_order=supplier_order, side=Side.RETAILER, body="Private question")
    other_retailer = factories.RetailerMemberFactory().user
    other_supplier = factories.SupplierMemberFactory().user

    client.force_login(other_retailer)
    assert client.get(_retailer_url(supplier_order)).status_code == 404
    assert client.post(_retailer_url(supplier_order), {"body": "Me too"}).status_code == 404
    assert (
        "Private question" not in client.get(reverse("messaging:retailer_inbox")).content.decode()
    )

    client.force_login(other_supplier)
    assert client.get(_supplier_url(supplier_order)).status_code == 404
    assert client.post(_supplier_url(supplier_order), {"body": "Me too"}).status_code == 404
    assert (
        supplier_order.number
        not in client.get(reverse("messaging:supplier_inbox")).content.decode()
    )
    assert Message.objects.count() == 1


def test_order_pages_link_to_the_thread(client, supplier_order, retailer_user, supplier_user):
    client.force_login(retailer_user)
    order_page = client.get(reverse("orders:retailer_detail", args=[supplier_order.order_id]))
    assert (
        f'href="{_retailer_url(supplier_order)}">Message supplier</a>'
        in order_page.content.decode()
    )

    client.force_login(supplier_user)
    order_page = client.get(reverse("supplier_orders:detail", args=[supplier_order.pk]))
    assert (
        f'href="{_supplier_url(supplier_order)}">Message retailer</a>'
        in order_page.content.decode()
    )


def test_posting_with_htmx_answers_the_conversation_only(client, supplier_order, retailer_user):
    client.force_login(retailer_user)

    response = client.post(
        _retailer_url(supplier_order), {"body": "Quick one"}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert '<section class="card conversation" id="conversation"' in body
    assert "<html" not in body
    assert "Quick one" in body
