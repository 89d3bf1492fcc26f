"""Return pages: the retailer starts a return from the order page, the supplier answers on its
returns page, the photos and label reach the two parties only; the supplier's policy page and
the policy on product pages and in the catalog API."""

from decimal import Decimal as D

import pytest
from django.test import Client
from django.urls import reverse

from orders.models import Dispute, ReturnRequest
from orders.services import returns
from orders.services.returns import ReturnLineRequest
from suppliers.models import ReturnPolicy
from tests import factories
from tests.orders.returns_helpers import (
    UPS_BACK,
    delivered_to_members,
    pdf_label,
    photo,
)

pytestmark = pytest.mark.django_db


def _logged_in(membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


@pytest.fixture
def parties(client, stripe_sandbox, carrier_sandbox, django_capture_on_commit_callbacks):
    """A delivered supplier order with a logged-in retailer and supplier of it."""
    supplier_order, retailer_member, supplier_member = delivered_to_members(
        client, stripe_sandbox, carrier_sandbox, django_capture_on_commit_callbacks
    )
    return supplier_order, _logged_in(retailer_member), _logged_in(supplier_member)


def test_the_retailer_starts_a_return_and_the_supplier_approves_it_on_its_page(parties):
    supplier_order, retailer, supplier = parties
    order = supplier_order.order
    item = supplier_order.items.get()

    page = retailer.get(reverse("orders:retailer_detail", args=[order.pk]))
    start = reverse("orders:retailer_return_start", args=[order.pk, supplier_order.pk])
    assert start in page.content.decode()
    form = retailer.get(start)
    assert form.status_code == 200
    assert "30 days from delivery" in form.content.decode()

    answer = retailer.post(
        start,
        {
            f"qty_{item.pk}": "1",
            "reason_code": "DEFECTIVE",
            "reason": "Stopped working",
            "photos": [photo()],
        },
    )
    return_request = ReturnRequest.objects.get()
    assert answer.status_code == 302
    assert answer["Location"] == reverse("orders:retailer_return", args=[return_request.pk])
    assert (return_request.status, return_request.lines.get().quantity) == ("REQUESTED", 1)

    inbox = supplier.get(reverse("supplier_returns:list"))
    assert return_request.number in inbox.content.decode()
    approved = supplier.post(
        reverse("supplier_returns:step", args=[return_request.pk, "approve"]),
        {"instructions": "Use the label inside.", "label_file": pdf_label()},
    )
    assert approved.status_code == 302
    return_request.refresh_from_db()
    assert return_request.status == "APPROVED"

    detail = retailer.get(reverse("orders:retailer_return", args=[return_request.pk]))
    body = detail.content.decode()
    assert "Use the label inside." in body
    label = retailer.get(reverse("orders:retailer_return_label", args=[return_request.pk]))
    assert (label.status_code, label["Content-Type"]) == (200, "application/pdf")
    assert label.content.startswith(b"%PDF-")
    assert label["Cache-Control"] == "private, no-store"
    photo_row = return_request.photos.get()
    seen = supplier.get(reverse("supplier_returns:photo", args=[return_request.pk, photo_row.pk]))
    assert (seen.status_code, seen.content[:4]) == (200, b"\x89PNG")


def test_a_bad_return_shows_the_reason_and_writes_nothing(parties):
    supplier_order, retailer, _ = parties
    item = supplier_order.items.get()
    start = reverse(
        "orders:retailer_return_start", args=[supplier_order.order_id, supplier_order.pk]
    )

    answer = retailer.post(start, {f"qty_{item.pk}": "5", "reason_code": "DEFECTIVE"})

    assert answer.status_code == 400
    assert (
        "You asked to return 5 × “Linen apron 1”, but 2 were delivered." in answer.content.decode()
    )
    assert not ReturnRequest.objects.exists()


def test_a_receive_before_the_goods_are_sent_back_answers_409_on_the_page(parties):
    supplier_order, _, supplier = parties
    return_request = returns.open_return(
        order=supplier_order.order,
        lines=[ReturnLineRequest(order_item_id=supplier_order.items.get().pk, quantity=1)],
        reason_code="DEFECTIVE",
    )
    answer = supplier.post(
        reverse("supplier_returns:step", args=[return_request.pk, "receive"]),
        {"condition": "FULL", "is_resellable": "on"},
    )
    assert answer.status_code == 409
    assert "cannot be marked received now" in answer.content.decode()


def test_another_organisation_gets_404_for_the_return_its_files_and_its_steps(parties):
    supplier_order, _, _ = parties
    return_request = returns.open_return(
        order=supplier_order.order,
        lines=[ReturnLineRequest(order_item_id=supplier_order.items.get().pk, quantity=1)],
        reason_code="DEFECTIVE",
        photos=[photo()],
    )
    returns.approve_return(return_request=return_request, label_file=pdf_label())
    photo_id = return_request.photos.get().pk
    stranger_retailer = _logged_in(factories.RetailerMemberFactory())
    stranger_supplier = _logged_in(factories.SupplierMemberFactory())

    for url in (
        reverse("orders:retailer_return", args=[return_request.pk]),
        reverse("orders:retailer_return_label", args=[return_request.pk]),
        reverse("orders:retailer_return_photo", args=[return_request.pk, photo_id]),
        reverse("orders:retailer_return_start", args=[supplier_order.order_id, supplier_order.pk]),
    ):
        assert stranger_retailer.get(url).status_code == 404, url
    assert (
        stranger_retailer.post(
            reverse("orders:retailer_return_step", args=[return_request.pk, "cancel"])
        ).status_code
        == 404
    )
    for url in (
        reverse("supplier_returns:detail", args=[return_request.pk]),
        reverse("supplier_returns:label", args=[return_request.pk]),
        reverse("supplier_returns:photo", args=[return_request.pk, photo_id]),
    ):
        assert stranger_supplier.get(url).status_code == 404, url
    assert (
        stranger_supplier.post(
            reverse("supplier_returns:step", args=[return_request.pk, "decline"]),
            {"reason": "mine now"},
        ).status_code
        == 404
    )
    return_request.refresh_from_db()
    assert return_request.status == "APPROVED"


def test_the_retailer_enters_return_tracking_on_the_page(parties):
    supplier_order, retailer, _ = parties
    return_request = returns.open_return(
        order=supplier_order.order,
        lines=[ReturnLineRequest(order_item_id=supplier_order.items.get().pk, quantity=2)],
        reason_code="WRONG_ITEM",
    )
    returns.approve_return(return_request=return_request, instructions="Send it.")
    step = reverse("orders:retailer_return_step", args=[return_request.pk, "tracking"])

    bad = retailer.post(step, {"carrier": "UPS", "tracking_number": "nope"}, follow=True)
    assert "is not a UPS tracking number" in bad.content.decode()
    retailer.post(step, {"carrier": "UPS", "tracking_number": UPS_BACK})

    return_request.refresh_from_db()
    assert (return_request.status, return_request.return_tracking_number) == (
        "SHIPPED_BACK",
        UPS_BACK,
    )


def test_the_supplier_saves_its_policy_and_retailers_read_it(client, supplier_client):
    knives = factories.CategoryFactory(name="Knives")
    answer = supplier_client.post(
        reverse("suppliers:return_policy"),
        {
            "window_days": "14",
            "restocking_fee_percent": "15",
            "return_shipping_paid_by": "SUPPLIER",
            "return_address": "1 Dock Road, Leeds",
            "non_returnable_categories": [str(knives.pk)],
        },
    )
    assert answer.status_code == 302
    policy = ReturnPolicy.objects.get(supplier=supplier_client.supplier)
    assert (policy.window_days, policy.restocking_fee_percent, policy.return_shipping_paid_by) == (
        14,
        D("15.00"),
        "SUPPLIER",
    )
    bad = supplier_client.post(
        reverse("suppliers:return_policy"),
        {
            "window_days": "400",
            "restocking_fee_percent": "0",
            "return_shipping_paid_by": "RETAILER",
        },
    )
    assert bad.status_code == 400
    assert "The return window is 0 to 365 days" in bad.content.decode()
    policy.refresh_from_db()
    assert policy.window_days == 14

    product = factories.ProductFactory(supplier=supplier_client.supplier, category=knives)
    factories.VariantFactory(product=product)
    page = client.get(reverse("catalog:browse_product", args=[product.pk])).content.decode()
    assert "14 days from delivery" in page
    assert "15% of the goods returned" in page
    assert "This product's category is not returnable." in page
    listed = client.get(f"/api/v1/suppliers/{supplier_client.supplier.pk}/products").json()["items"]
    assert listed[0]["return_policy"] == {
        "window_days": 14,
        "restocking_fee_percent": "15.00",
        "return_shipping_paid_by": "SUPPLIER",
        "non_returnable_categories": ["Knives"],
    }
    suppliers = client.get("/api/v1/suppliers").json()["items"]
    assert (
        next(s for s in suppliers if s["id"] == supplier_client.supplier.pk)["return_policy"][
            "window_days"
        ]
        == 14
    )


def test_a_declined_return_is_escalated_to_a_case_from_its_page(parties):
    """Declined → the retailer's 'escalate to support' opens a case on that supplier order that
    carries the return; another retailer's return in the link is 404 and opens nothing."""

    supplier_order, retailer, _ = parties
    item = supplier_order.items.get()
    rma = returns.open_return(
        order=supplier_order.order,
        lines=[ReturnLineRequest(order_item_id=item.pk, quantity=1)],
        reason_code="NOT_AS_DESCRIBED",
        reason="Colour differs",
    )
    returns.decline_return(return_request=rma, reason="Colour is as pictured")

    detail = retailer.get(reverse("orders:retailer_return", args=[rma.pk]))
    escalate = reverse("cases:retailer_open", args=[supplier_order.pk]) + f"?return={rma.pk}"
    assert escalate in detail.content.decode()
    assert "escalates the declined return" in retailer.get(escalate).content.decode()

    outsider = _logged_in(factories.RetailerMemberFactory())
    assert outsider.get(escalate).status_code == 404

    answer = retailer.post(
        escalate, {"reason": "return_declined", "statement": "The colour is clearly different."}
    )

    case = Dispute.objects.get()
    assert answer.status_code == 302
    assert case.return_request == rma
    assert case.supplier_order == supplier_order
    assert case.kind == Dispute.Kind.MEDIATION
