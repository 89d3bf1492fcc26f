"""Returns (RMA) end to end: order → ship → delivered by the carrier's webhook → return →
approve → return tracking → receive → refund → payout reduced → ledger balanced → stock back;
the partial-refund offer and the after-transfer case; and every refusal, with nothing written."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from billing.models import Charge, LedgerEntry, Refund, TransferReversal
from billing.services import schedule_payouts, settle_payouts, transfer_payout
from billing.services.ledger import unbalanced_transactions
from catalog.models import StockMovement, Variant
from dropship.accounts.models import Notification
from dropship.core.audit import AuditLogEntry
from dropship.core.uploads import UploadError
from orders.models import OrderEvent, ReturnLine, ReturnPhoto, ReturnRequest, Shipment
from orders.services import returns
from orders.services.returns import ReturnError, ReturnLineRequest, ReturnStateError
from tests import factories
from tests.billing.helpers import balance
from tests.orders.returns_helpers import (
    UPS_BACK,
    delivered_supplier_order,
    paid_supplier_order,
    pdf_label,
    photo,
    ship,
    supplier_with_policy,
)

Account = LedgerEntry.Account
pytestmark = pytest.mark.django_db


@pytest.fixture
def delivered(client, stripe_sandbox, carrier_sandbox, django_capture_on_commit_callbacks):
    def make(**kwargs):
        kwargs.setdefault("supplier", supplier_with_policy())
        return delivered_supplier_order(
            client, stripe_sandbox, carrier_sandbox, django_capture_on_commit_callbacks, **kwargs
        )

    return make


def _open(supplier_order, quantity=2, reason_code="NO_LONGER_WANTED", **kwargs):
    item = supplier_order.items.get()
    return returns.open_return(
        order=supplier_order.order,
        lines=[ReturnLineRequest(order_item_id=item.pk, quantity=quantity)],
        reason_code=reason_code,
        **kwargs,
    )


def _stock(supplier_order):
    variant = Variant.objects.get(pk=supplier_order.items.get().variant_id)
    return variant.stock_on_hand, variant.stock_reserved


@pytest.mark.embedded  # the README's return flow runs on SQLite too
def test_the_whole_return_path_refunds_net_of_the_fee_lowers_the_payout_and_restocks(
    delivered, django_capture_on_commit_callbacks
):
    supplier_order = delivered()
    assert _stock(supplier_order) == (8, 0)  # 2 shipped out of 10

    return_request = _open(
        supplier_order, reason="The shopper changed their mind.", photos=[photo()]
    )
    assert return_request.status == "REQUESTED"
    assert return_request.number == f"RMA-{supplier_order.number}-1"
    assert (return_request.window_days, return_request.restocking_fee_percent) == (30, D("10.00"))
    assert ReturnPhoto.objects.filter(return_request=return_request).count() == 1
    supplier_note = Notification.objects.get(
        supplier=supplier_order.supplier, kind="return_requested"
    )
    assert "asks to return 2 units" in supplier_note.message

    returns.approve_return(
        return_request=return_request, instructions="Use the label.", label_file=pdf_label()
    )
    returns.submit_return_tracking(
        return_request=return_request, carrier="UPS", tracking_number=UPS_BACK.lower()
    )
    return_request.refresh_from_db()
    assert (return_request.status, return_request.return_tracking_number) == (
        "SHIPPED_BACK",
        UPS_BACK,
    )
    with django_capture_on_commit_callbacks(execute=True):
        returns.receive_return(return_request=return_request, condition="FULL", is_resellable=True)

    return_request.refresh_from_db()
    # $20 of goods back, 10% restocking fee kept on a change of mind.
    assert (return_request.status, return_request.restocking_fee, return_request.refund_amount) == (
        "REFUNDED",
        D("2.00"),
        D("18.00"),
    )
    refund = Refund.objects.get()
    assert return_request.refund_id == refund.pk
    assert (refund.status, refund.amount, refund.supplier_share, refund.commission_returned) == (
        "SUCCEEDED",
        D("18.00"),
        D("18.00"),
        D("0.90"),
    )
    assert Charge.objects.get().amount_refunded == D("18.00")
    assert _stock(supplier_order) == (10, 0)
    assert (
        StockMovement.objects.filter(source="RETURN", reference=return_request.number).count() == 1
    )
    # Not transferred yet: the payout is computed from the ledger, lower by the supplier's net.
    (payout,) = schedule_payouts()
    assert payout.amount == D("25.00") - D("1.00") - (D("18.00") - D("0.90"))
    assert balance(Account.SUPPLIER_PAYABLE, supplier_order=supplier_order) == -payout.amount
    assert unbalanced_transactions() == {}
    kinds = list(
        OrderEvent.objects.filter(
            order=supplier_order.order, kind__startswith="return_"
        ).values_list("kind", flat=True)
    )
    assert kinds == [
        "return_requested",
        "return_approved",
        "return_shipped_back",
        "return_received",
        "return_refunded",
    ]
    assert Notification.objects.filter(
        retailer=supplier_order.order.retailer, kind="return_refunded"
    ).exists()
    assert any(m.subject == f"Return {return_request.number} refunded" for m in mail.outbox)
    assert AuditLogEntry.objects.filter(action="orders.return_received").count() == 1


def test_a_return_after_the_payout_is_reversed_from_the_suppliers_transfer(
    delivered, stripe_sandbox, django_capture_on_commit_callbacks
):
    supplier_order = delivered(supplier=supplier_with_policy(fee="0"))
    stripe_sandbox.connect_supplier(supplier_order.supplier)
    (payout,) = schedule_payouts()
    transfer_payout(payout_id=payout.pk, now=timezone.now() + timedelta(days=30))
    payout.refresh_from_db()
    assert (payout.status, payout.amount) == ("PAID", D("24.00"))

    return_request = _open(supplier_order, quantity=1, reason_code="DEFECTIVE")
    returns.approve_return(return_request=return_request)
    return_request.refresh_from_db()
    assert return_request.supplier_instructions.startswith("Send the goods to:\nReturns dept")
    returns.submit_return_tracking(
        return_request=return_request, carrier="UPS", tracking_number=UPS_BACK
    )
    with django_capture_on_commit_callbacks(execute=True):
        returns.receive_return(return_request=return_request, condition="FULL", is_resellable=False)

    return_request.refresh_from_db()
    assert (return_request.status, return_request.refund_amount) == ("REFUNDED", D("10.00"))
    reversal = TransferReversal.objects.get()
    assert (reversal.status, reversal.amount) == ("SUCCEEDED", D("9.50"))
    assert stripe_sandbox.app.get(payout.stripe_transfer_id)["amount_reversed"] == 950
    payout.refresh_from_db()
    assert payout.amount_reversed == D("9.50")
    assert balance(Account.SUPPLIER_PAYABLE, supplier_order=supplier_order) == D("0.00")
    assert unbalanced_transactions() == {}
    assert _stock(supplier_order) == (8, 0)  # not resellable: nothing back on hand


@pytest.mark.embedded  # the README's return flow runs on SQLite too
def test_a_partial_receipt_refunds_only_the_units_that_came_back(
    delivered, django_capture_on_commit_callbacks
):
    supplier_order = delivered(supplier=supplier_with_policy(fee="0"))
    return_request = _open(supplier_order, quantity=2, reason_code="WRONG_ITEM")
    returns.approve_return(return_request=return_request, instructions="Back to the dock.")
    returns.submit_return_tracking(
        return_request=return_request, carrier="UPS", tracking_number=UPS_BACK
    )
    line = ReturnLine.objects.get(return_request=return_request)

    with django_capture_on_commit_callbacks(execute=True):
        returns.receive_return(
            return_request=return_request,
            condition="PARTIAL",
            quantities={line.pk: 1},
            is_resellable=True,
        )

    return_request.refresh_from_db()
    line.refresh_from_db()
    assert (return_request.status, return_request.refund_amount, line.quantity_received) == (
        "REFUNDED",
        D("10.00"),
        1,
    )
    assert _stock(supplier_order) == (9, 0)
    assert unbalanced_transactions() == {}


def test_damaged_goods_are_refunded_but_never_restocked(
    delivered, django_capture_on_commit_callbacks
):
    supplier_order = delivered(supplier=supplier_with_policy(fee="0"))
    return_request = _open(supplier_order, reason_code="DAMAGED")
    returns.approve_return(return_request=return_request, instructions="Send it back.")
    returns.submit_return_tracking(
        return_request=return_request, carrier="UPS", tracking_number=UPS_BACK
    )
    with django_capture_on_commit_callbacks(execute=True):
        returns.receive_return(
            return_request=return_request, condition="DAMAGED", is_resellable=True
        )

    return_request.refresh_from_db()
    assert (return_request.status, return_request.is_resellable) == ("REFUNDED", False)
    assert _stock(supplier_order) == (8, 0)


def test_an_accepted_partial_offer_refunds_it_and_nothing_comes_back(
    delivered, django_capture_on_commit_callbacks
):
    supplier_order = delivered()
    return_request = _open(supplier_order, reason_code="NOT_AS_DESCRIBED")
    returns.offer_partial_refund(
        return_request=return_request, amount="7.50", message="Keep it, with 7.50 back."
    )
    assert Notification.objects.get(
        retailer=supplier_order.order.retailer, kind="return_offered"
    ).message.startswith(f"{supplier_order.supplier.company_name} offers $7.50 back")

    with django_capture_on_commit_callbacks(execute=True):
        returns.accept_offer(return_request=return_request)

    return_request.refresh_from_db()
    assert (return_request.status, return_request.refund_amount) == ("REFUNDED", D("7.50"))
    assert Refund.objects.get().amount == D("7.50")
    assert _stock(supplier_order) == (8, 0)
    assert unbalanced_transactions() == {}


def test_a_refused_offer_and_a_declined_return_end_declined_and_free_the_units(delivered):
    supplier_order = delivered()
    first = _open(supplier_order, quantity=1)
    returns.offer_partial_refund(return_request=first, amount="3.00")
    returns.refuse_offer(return_request=first, reason="Not enough.")
    first.refresh_from_db()
    assert (first.status, first.decline_reason) == (
        "REJECTED",
        "The retailer refused the partial refund offered: Not enough.",
    )
    second = _open(supplier_order, quantity=2)  # the declined units may be asked for again
    returns.decline_return(return_request=second, reason="Used and washed.")
    second.refresh_from_db()
    assert (second.status, second.decline_reason) == ("REJECTED", "Used and washed.")
    assert second.closed_at is not None
    assert not Refund.objects.exists()


# --- the state machine --------------------------------------------------------------------------
def test_steps_out_of_order_are_refused_with_409_and_change_nothing(delivered):
    supplier_order = delivered()
    return_request = _open(supplier_order)

    with pytest.raises(ReturnStateError, match=r"is requested: it cannot be marked received now"):
        returns.receive_return(return_request=return_request, condition="FULL", is_resellable=True)
    with pytest.raises(ReturnStateError, match="cannot be given a return tracking number now"):
        returns.submit_return_tracking(
            return_request=return_request, carrier="UPS", tracking_number=UPS_BACK
        )
    returns.decline_return(return_request=return_request, reason="No.")
    with pytest.raises(ReturnStateError, match="is declined: it cannot be approved now"):
        returns.approve_return(return_request=return_request, instructions="Oops")
    assert ReturnStateError.status_code == 409
    return_request.refresh_from_db()
    assert (return_request.status, return_request.supplier_instructions) == ("REJECTED", "")


def test_the_database_refuses_a_state_outside_the_machine(delivered):
    from django.db import IntegrityError, transaction

    return_request = _open(delivered())
    with pytest.raises(IntegrityError), transaction.atomic():
        ReturnRequest.objects.filter(pk=return_request.pk).update(status="LOST")
    with pytest.raises(IntegrityError), transaction.atomic():
        ReturnRequest.objects.filter(pk=return_request.pk).update(status="REJECTED")  # no reason


def test_the_same_return_tracking_twice_is_a_retry(delivered):
    return_request = _open(delivered())
    returns.approve_return(return_request=return_request, instructions="Ship it.")
    for _ in range(2):
        returns.submit_return_tracking(
            return_request=return_request, carrier="UPS", tracking_number=UPS_BACK
        )
    assert OrderEvent.objects.filter(kind="return_shipped_back").count() == 1


# --- bad input ----------------------------------------------------------------------------------
def _nothing_written(supplier_order):
    assert not ReturnRequest.objects.filter(supplier_order=supplier_order).exists()
    assert not ReturnLine.objects.exists()
    assert not ReturnPhoto.objects.exists()


@pytest.mark.embedded  # the README's return flow runs on SQLite too
def test_more_units_than_delivered_are_refused(delivered):
    supplier_order = delivered()
    with pytest.raises(
        ReturnError, match=r"You asked to return 3 × “Linen apron 1”, but 2 were delivered\."
    ):
        _open(supplier_order, quantity=3)
    _nothing_written(supplier_order)


def test_the_same_units_twice_are_refused(delivered):
    supplier_order = delivered()
    _open(supplier_order, quantity=2)
    with pytest.raises(
        ReturnError, match=r"2 of the 2 “Linen apron 1” delivered are already in a return; 0 can"
    ):
        _open(supplier_order, quantity=1)
    assert ReturnRequest.objects.count() == 1


def test_a_return_before_delivery_is_refused(
    stripe_sandbox, carrier_sandbox, django_capture_on_commit_callbacks
):
    supplier_order = paid_supplier_order(stripe_sandbox, supplier=supplier_with_policy())
    ship(supplier_order, django_capture_on_commit_callbacks)
    with pytest.raises(ReturnError, match="has not been delivered yet"):
        _open(supplier_order)
    _nothing_written(supplier_order)


def test_a_return_outside_the_window_is_refused(delivered):
    supplier_order = delivered(supplier=supplier_with_policy(window_days=14))
    Shipment.objects.filter(supplier_order=supplier_order).update(
        delivered_at=timezone.now() - timedelta(days=15)
    )
    with pytest.raises(
        ReturnError,
        match=r"The return window for “Linen apron 1” closed on .* \(14 days from delivery\)\.",
    ):
        _open(supplier_order)
    _nothing_written(supplier_order)


def test_a_non_returnable_category_is_refused_below_it_too(delivered):
    knives = factories.CategoryFactory(name="Knives")
    chef = factories.CategoryFactory(name="Chef knives", parent=knives)
    supplier = supplier_with_policy(categories=[knives])
    supplier_order = delivered(supplier=supplier, category=chef)
    with pytest.raises(
        ReturnError, match=r"is in a category .* does not take back \(Chef knives\)"
    ):
        _open(supplier_order)
    _nothing_written(supplier_order)


def test_a_supplier_without_returns_refuses_them(delivered):
    supplier_order = delivered(supplier=supplier_with_policy(window_days=0, address=""))
    with pytest.raises(ReturnError, match="does not accept returns"):
        _open(supplier_order)


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (SimpleUploadedFile("a.png", b"#!/bin/sh\necho hi\n"), "not a readable JPEG, PNG or WebP"),
        (
            SimpleUploadedFile("big.png", b"\x89PNG" + b"0" * (5 * 1024 * 1024 + 1)),
            "the limit is 5 MB",
        ),
    ],
)
def test_bad_photos_are_refused(delivered, upload, message):
    supplier_order = delivered()
    with pytest.raises(UploadError, match=message):
        _open(supplier_order, photos=[upload])
    _nothing_written(supplier_order)


def test_six_photos_are_refused(delivered):
    supplier_order = delivered()
    with pytest.raises(ReturnError, match="at most 5 photos"):
        _open(supplier_order, photos=[photo() for _ in range(6)])
    _nothing_written(supplier_order)


def test_an_offer_larger_than_the_goods_is_refused(delivered):
    return_request = _open(delivered())
    with pytest.raises(ReturnError, match=r"An offer of \$25.00 is more than the \$20.00"):
        returns.offer_partial_refund(return_request=return_request, amount="25")
    return_request.refresh_from_db()
    assert (return_request.status, return_request.offered_amount) == ("REQUESTED", None)


def test_a_refund_larger_than_what_is_left_undoes_the_receipt(
    delivered, django_capture_on_commit_callbacks
):
    from billing.services import refund_supplier_order

    supplier_order = delivered(supplier=supplier_with_policy(fee="0"))
    return_request = _open(supplier_order, reason_code="DEFECTIVE")
    returns.approve_return(return_request=return_request, instructions="Send it.")
    returns.submit_return_tracking(
        return_request=return_request, carrier="UPS", tracking_number=UPS_BACK
    )
    with django_capture_on_commit_callbacks(execute=True):
        refund_supplier_order(supplier_order=supplier_order, amount=D("15.00"), reason="Goodwill")

    with pytest.raises(
        ReturnError,
        match=r"The refund cannot be made: A refund of \$20.00 is more than the \$12.00 left",
    ):
        returns.receive_return(return_request=return_request, condition="FULL", is_resellable=True)

    return_request.refresh_from_db()
    assert (return_request.status, return_request.received_at) == ("SHIPPED_BACK", None)
    assert ReturnLine.objects.get().quantity_received == 0
    assert _stock(supplier_order) == (8, 0)
    assert Refund.objects.count() == 1
    assert not OrderEvent.objects.filter(kind="return_received").exists()


def test_a_bad_return_tracking_number_is_refused(delivered):
    return_request = _open(delivered())
    returns.approve_return(return_request=return_request, instructions="Ship it.")
    with pytest.raises(Exception, match="is not a UPS tracking number"):
        returns.submit_return_tracking(
            return_request=return_request, carrier="UPS", tracking_number="12345"
        )
    return_request.refresh_from_db()
    assert (return_request.status, return_request.return_tracking_number) == ("APPROVED", "")


def test_a_label_that_is_not_a_document_is_refused(delivered):
    return_request = _open(delivered())
    with pytest.raises(Exception, match="not a PDF, PNG or JPEG"):
        returns.approve_return(
            return_request=return_request,
            instructions="x",
            label_file=SimpleUploadedFile("label.pdf", b"MZ\x90\x00 not a pdf"),
        )
    return_request.refresh_from_db()
    assert return_request.status == "REQUESTED"


def test_lines_of_two_supplier_orders_or_another_order_are_refused(delivered):
    supplier_order = delivered()
    other = delivered()
    with pytest.raises(ReturnError, match="not part of this order"):
        returns.open_return(
            order=supplier_order.order,
            lines=[ReturnLineRequest(order_item_id=other.items.get().pk, quantity=1)],
            reason_code="DEFECTIVE",
        )
    with pytest.raises(ReturnError, match="Choose the reason"):
        _open(supplier_order, reason_code="BORED")
    _nothing_written(supplier_order)


def test_a_pending_refund_leaves_the_return_received_until_stripe_confirms(
    delivered, stripe_sandbox, django_capture_on_commit_callbacks
):
    supplier_order = delivered(supplier=supplier_with_policy(fee="0"))
    return_request = _open(supplier_order, reason_code="DEFECTIVE")
    returns.approve_return(return_request=return_request, instructions="Send it.")
    returns.submit_return_tracking(
        return_request=return_request, carrier="UPS", tracking_number=UPS_BACK
    )
    stripe_sandbox.app.add_fault("/v1/refunds", status=503)

    with django_capture_on_commit_callbacks(execute=True):
        returns.receive_return(return_request=return_request, condition="FULL", is_resellable=True)

    return_request.refresh_from_db()
    assert (return_request.status, return_request.refund.status) == ("RECEIVED", "PENDING")
    assert returns.settle_return_refunds() == 0  # Stripe has not confirmed it yet
    with django_capture_on_commit_callbacks(execute=True):
        settle_payouts(now=timezone.now() + timedelta(minutes=10))  # billing sends it again
    assert returns.settle_return_refunds() == 1
    assert returns.settle_return_refunds() == 0  # twice: nothing more
    return_request.refresh_from_db()
    assert (return_request.status, return_request.refund_amount) == ("REFUNDED", D("20.00"))
    assert OrderEvent.objects.filter(kind="return_refunded").count() == 1
