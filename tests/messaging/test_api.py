"""The messages API for retailer and supplier keys: start a thread about a supplier order, list,
read, reply, mark read, fetch an attachment; another organisation's thread or order is 404, and
bad input answers a problem that names it with nothing written."""

import pytest

from dropship.accounts.services import create_api_key
from messaging.models import Message, Side, Thread
from messaging.services import post_message
from tests import factories
from tests.messaging.files import png
from tests.problems import problem

pytestmark = pytest.mark.django_db
BASE = "/api/v1/threads"


def _auth(organisation, member):
    _, secret = create_api_key(organisation=organisation, name="ERP", created_by=member)
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


@pytest.fixture
def retailer_auth(supplier_order, retailer_user):
    return _auth(supplier_order.order.retailer, retailer_user)


@pytest.fixture
def supplier_auth(supplier_order, supplier_user):
    return _auth(supplier_order.supplier, supplier_user)


def test_retailer_starts_a_thread_and_the_supplier_replies(
    client, supplier_order, retailer_auth, supplier_auth
):
    started = client.post(
        BASE,
        {"supplier_order_id": supplier_order.pk, "body": "Is the blue one in stock?"},
        content_type="application/json",
        **retailer_auth,
    )
    assert started.status_code == 201, started.content
    thread = started.json()
    assert thread["supplier_order_number"] == supplier_order.number
    assert thread["last_message_side"] == "RETAILER"
    assert [(m["side"], m["body"], m["read_by"]) for m in thread["messages"]] == [
        ("RETAILER", "Is the blue one in stock?", [])
    ]

    listed = client.get(BASE, **supplier_auth).json()
    assert [(t["id"], t["unread_count"]) for t in listed["items"]] == [(thread["id"], 1)]

    reply = client.post(
        f"{BASE}/{thread['id']}/messages",
        {"body": "Yes, 12 left."},
        content_type="application/json",
        **supplier_auth,
    )
    assert reply.status_code == 201, reply.content
    assert reply.json()["side"] == "SUPPLIER"
    assert reply.json()["author"] == supplier_order.supplier.company_name
    # Writing marks the writer's side read: the retailer's question now carries the receipt.
    detail = client.get(f"{BASE}/{thread['id']}", **retailer_auth).json()
    assert [m["body"] for m in detail["messages"]] == ["Is the blue one in stock?", "Yes, 12 left."]
    assert [r["side"] for r in detail["messages"][0]["read_by"]] == ["SUPPLIER"]
    assert detail["messages"][1]["read_by"] == []
    assert detail["unread_count"] == 1

    marked = client.post(f"{BASE}/{thread['id']}/read", **retailer_auth)
    assert marked.status_code == 200
    again = client.get(f"{BASE}/{thread['id']}", **supplier_auth).json()
    assert [r["side"] for r in again["messages"][1]["read_by"]] == ["RETAILER"]
    assert client.get(BASE, **retailer_auth).json()["items"][0]["unread_count"] == 0


def test_writing_again_about_the_same_order_adds_to_its_thread(
    client, supplier_order, supplier_auth
):
    for body in ("First", "Second"):
        response = client.post(
            BASE,
            {"supplier_order_id": supplier_order.pk, "body": body},
            content_type="application/json",
            **supplier_auth,
        )
        assert response.status_code == 201
    assert Thread.objects.count() == 1
    assert list(Message.objects.values_list("body", flat=True)) == ["First", "Second"]
    only = client.get(BASE, {"supplier_order_id": supplier_order.pk}, **supplier_auth).json()
    assert len(only["items"]) == 1
    none = client.get(BASE, {"supplier_order_id": supplier_order.pk + 999}, **supplier_auth)
    assert none.json()["items"] == []


def test_other_organisations_get_404(client, supplier_order):
    message = post_message(
        supplier_order=supplier_order, side=Side.RETAILER, body="Secret", files=[png()]
    )
    thread_id, attachment_id = message.thread_id, message.attachments.get().pk
    other_retailer = factories.RetailerMemberFactory()
    other_supplier = factories.SupplierMemberFactory()
    for auth in (
        _auth(other_retailer.retailer, other_retailer.user),
        _auth(other_supplier.supplier, other_supplier.user),
    ):
        assert client.get(BASE, **auth).json()["items"] == []
        assert client.get(f"{BASE}/{thread_id}", **auth).status_code == 404
        assert client.post(f"{BASE}/{thread_id}/read", **auth).status_code == 404
        assert (
            client.get(f"{BASE}/{thread_id}/attachments/{attachment_id}", **auth).status_code == 404
        )
        replied = client.post(
            f"{BASE}/{thread_id}/messages",
            {"body": "Let me in"},
            content_type="application/json",
            **auth,
        )
        assert replied.status_code == 404
        assert problem(replied)["detail"] == "Not found."
        started = client.post(
            BASE,
            {"supplier_order_id": supplier_order.pk, "body": "Let me in"},
            content_type="application/json",
            **auth,
        )
        assert started.status_code == 404
        assert problem(started)["detail"] == "Not found."
    assert Message.objects.count() == 1


def test_parties_fetch_attachments_through_the_api(
    client, supplier_order, retailer_auth, supplier_auth
):
    message = post_message(
        supplier_order=supplier_order, side=Side.RETAILER, body="Photo", files=[png()]
    )
    detail = client.get(f"{BASE}/{message.thread_id}", **supplier_auth).json()
    url = detail["messages"][0]["attachments"][0]["url"]

    served = client.get(url, **supplier_auth)

    assert served.status_code == 200
    assert served["Content-Type"] == "image/png"
    assert b"".join(served.streaming_content).startswith(b"\x89PNG")


def test_blank_body_is_refused_and_nothing_is_written(client, supplier_order, retailer_auth):
    blank = client.post(
        BASE,
        {"supplier_order_id": supplier_order.pk, "body": "  \n"},
        content_type="application/json",
        **retailer_auth,
    )
    assert blank.status_code == 400
    body = problem(blank)
    assert body["detail"] == "Write a message: it is empty."
    assert body["field"] == "body"

    missing = client.post(
        BASE,
        {"supplier_order_id": supplier_order.pk},
        content_type="application/json",
        **retailer_auth,
    )
    assert missing.status_code == 422
    assert problem(missing)["field"] == "body"
    assert Thread.objects.count() == Message.objects.count() == 0
