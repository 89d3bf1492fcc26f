"""The returns API: a retailer opens a return and sends it back, the supplier approves and
receives it (refunded), or offers part; bad input 400, wrong state 409, another organisation 404."""

from decimal import Decimal as D

import pytest

from billing.models import Refund
from dropship.accounts.services import create_api_key
from orders.models import ReturnRequest
from tests import factories
from tests.orders.returns_helpers import UPS_BACK, delivered_to_members

pytestmark = pytest.mark.django_db


def _key(organisation, member) -> dict:
    _, secret = create_api_key(organisation=organisation, name="ERP", created_by=member.user)
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


@pytest.fixture
def keys(client, stripe_sandbox, carrier_sandbox, django_capture_on_commit_callbacks):
    supplier_order, retailer_member, supplier_member = delivered_to_members(
        client, stripe_sandbox, carrier_sandbox, django_capture_on_commit_callbacks
    )
    return (
        supplier_order,
        _key(retailer_member.retailer, retailer_member),
        _key(supplier_member.supplier, supplier_member),
    )


def _post(client, url, body, auth):
    return client.post(url, body, content_type="application/json", **auth)


def _open(client, supplier_order, retailer, quantity=2, **extra):
    return _post(
        client,
        "/api/v1/returns",
        {
            "order_id": supplier_order.order_id,
            "lines": [{"order_item_id": supplier_order.items.get().pk, "quantity": quantity}],
            "reason_code": "NO_LONGER_WANTED",
            "reason": "Too big",
            **extra,
        },
        retailer,
    )


def test_open_approve_send_back_receive_and_refund_through_the_api(
    client, keys, django_capture_on_commit_callbacks
):
    supplier_order, retailer, supplier = keys

    opened = _open(client, supplier_order, retailer)
    assert opened.status_code == 201, opened.content
    body = opened.json()
    return_id = body["id"]
    assert (body["status"], body["lines"][0]["quantity"], body["window_days"]) == (
        "REQUESTED",
        2,
        30,
    )
    assert [
        r["id"] for r in client.get("/api/v1/supplier/returns", **supplier).json()["items"]
    ] == [return_id]

    approved = _post(
        client,
        f"/api/v1/supplier/returns/{return_id}/approve",
        {"instructions": "Box it well.", "label_number": "PREPAID-1"},
        supplier,
    )
    assert (approved.status_code, approved.json()["status"]) == (200, "APPROVED")
    sent = _post(
        client,
        f"/api/v1/returns/{return_id}/tracking",
        {"carrier": "UPS", "tracking_number": UPS_BACK},
        retailer,
    )
    assert (sent.status_code, sent.json()["return_tracking_number"]) == (200, UPS_BACK)
    with django_capture_on_commit_callbacks(execute=True):
        received = _post(
            client,
            f"/api/v1/supplier/returns/{return_id}/receive",
            {"condition": "FULL", "is_resellable": True},
            supplier,
        )
    assert received.status_code == 200, received.content
    assert (
        received.json()["status"],
        received.json()["refund_amount"],
        received.json()["restocking_fee"],
        received.json()["refund_status"],
    ) == ("REFUNDED", "18.00", "2.00", "SUCCEEDED")
    assert Refund.objects.get().amount == D("18.00")
    mine = client.get(f"/api/v1/returns/{return_id}", **retailer).json()
    assert mine["status"] == "REFUNDED"


def test_bad_input_answers_400_and_the_wrong_state_409(client, keys):
    supplier_order, retailer, supplier = keys

    too_many = _open(client, supplier_order, retailer, quantity=3)
    assert too_many.status_code == 400
    assert "but 2 were delivered" in too_many.json()["detail"]
    bad_code = _open(client, supplier_order, retailer, reason_code="BORED")
    assert bad_code.status_code == 422
    assert not ReturnRequest.objects.exists()

    return_id = _open(client, supplier_order, retailer).json()["id"]
    early = _post(
        client,
        f"/api/v1/supplier/returns/{return_id}/receive",
        {"condition": "FULL", "is_resellable": True},
        supplier,
    )
    assert early.status_code == 409
    assert "cannot be marked received now" in early.json()["detail"]
    too_much = _post(
        client, f"/api/v1/supplier/returns/{return_id}/offer", {"amount": "99.00"}, supplier
    )
    assert too_much.status_code == 400
    assert "more than the $20.00 the returned goods cost" in too_much.json()["detail"]
    unknown = client.get("/api/v1/returns", {"status": "LOST"}, **retailer)
    assert unknown.status_code == 400
    assert unknown.json()["detail"].startswith("Unknown status “LOST”. Use one of: REQUESTED")
    listed = client.get("/api/v1/supplier/returns", {"status": "REQUESTED"}, **supplier).json()
    assert [r["id"] for r in listed["items"]] == [return_id]
    twice = _open(client, supplier_order, retailer, quantity=1)
    assert twice.status_code == 400
    assert "already in a return" in twice.json()["detail"]


def test_an_offer_is_accepted_through_the_api(client, keys, django_capture_on_commit_callbacks):
    supplier_order, retailer, supplier = keys
    return_id = _open(client, supplier_order, retailer).json()["id"]
    offered = _post(
        client,
        f"/api/v1/supplier/returns/{return_id}/offer",
        {"amount": "5.00", "message": "Keep it"},
        supplier,
    )
    assert (offered.json()["status"], offered.json()["offered_amount"]) == ("OFFERED", "5.00")
    with django_capture_on_commit_callbacks(execute=True):
        accepted = _post(client, f"/api/v1/returns/{return_id}/accept-offer", {}, retailer)
    assert (accepted.status_code, accepted.json()["status"]) == (200, "REFUNDED")
    assert accepted.json()["refund_amount"] == "5.00"


def test_another_organisation_gets_404_and_a_supplier_key_cannot_open_returns(client, keys):
    supplier_order, retailer, supplier = keys
    return_id = _open(client, supplier_order, retailer).json()["id"]
    other_retailer_member = factories.RetailerMemberFactory()
    other_supplier_member = factories.SupplierMemberFactory()
    stranger = _key(other_retailer_member.retailer, other_retailer_member)
    stranger_supplier = _key(other_supplier_member.supplier, other_supplier_member)

    assert client.get(f"/api/v1/returns/{return_id}", **stranger).status_code == 404
    assert client.get("/api/v1/returns", **stranger).json()["items"] == []
    assert (
        _post(
            client,
            f"/api/v1/returns/{return_id}/tracking",
            {"carrier": "UPS", "tracking_number": UPS_BACK},
            stranger,
        ).status_code
        == 404
    )
    assert _open(client, supplier_order, stranger).status_code == 404  # not its order
    assert (
        client.get(f"/api/v1/supplier/returns/{return_id}", **stranger_supplier).status_code == 404
    )
    declined = _post(
        client,
        f"/api/v1/supplier/returns/{return_id}/decline",
        {"reason": "not mine"},
        stranger_supplier,
    )
    assert declined.status_code == 404
    assert _open(client, supplier_order, supplier).status_code == 403
    assert ReturnRequest.objects.get().status == "REQUESTED"
