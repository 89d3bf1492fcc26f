"""Mediation cases (issue 16 point 4): a case on one supplier order holds that order's payout and
nothing else of the supplier's; support decides each way through the billing services (full or
partial refund from the payout, before or after the transfer; release; reshipment), the ledger
stays balanced and closing is audited. Bad input answers clearly and writes nothing."""

from decimal import Decimal as D

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from billing.models import Payout, Refund, TransferReversal
from billing.services import schedule_payouts, transfer_payout
from billing.services.ledger import unbalanced_transactions
from dropship.accounts.models import Notification
from dropship.core.errors import Conflict, DomainError
from dropship.core.models import AuditLogEntry
from dropship.core.uploads import UploadError
from orders.models import CaseStatement, Dispute, OrderEvent, ReturnRequest
from orders.services import cases, returns
from orders.services.cases import CaseError
from orders.services.returns import ReturnLineRequest
from retailers.models import NoticeDelivery, NoticeKind, NoticePreference
from tests import factories
from tests.billing.helpers import paid_supplier_order, ship
from tests.orders.returns_helpers import delivered_supplier_order, supplier_with_policy

pytestmark = pytest.mark.django_db
Outcome = Dispute.Outcome
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def two_orders(stripe_sandbox):
    """Two paid supplier orders of one supplier, shipped past the holdback (27.00 paid each:
    20.00 wholesale + 5.00 shipping + 2.00 fee; 24.00 owed to the supplier after 5% commission)."""
    retailer = factories.RetailerFactory()
    disputed = ship(paid_supplier_order(stripe_sandbox, retailer=retailer), days_ago=8)
    other = ship(
        paid_supplier_order(stripe_sandbox, retailer=retailer, supplier=disputed.supplier),
        days_ago=8,
    )
    stripe_sandbox.connect_supplier(disputed.supplier)
    return disputed, other


@pytest.fixture
def agent(db):
    return factories.UserFactory(is_staff=True, email="agent@support.test")


def _open(supplier_order, **extra):
    fields = {
        "party": Dispute.Party.RETAILER,
        "reason": Dispute.Reason.NOT_AS_DESCRIBED,
        "statement": "The mugs arrived blue; the listing shows white.",
    }
    return cases.open_case(supplier_order=supplier_order, **{**fields, **extra})


def _settle():
    schedule_payouts()
    for payout in Payout.objects.filter(status__in=["SCHEDULED", "HELD"]):
        transfer_payout(payout_id=payout.pk)


def _payout(supplier_order) -> Payout:
    return Payout.objects.get(supplier_order=supplier_order)


def test_an_open_case_holds_only_its_supplier_order_and_the_other_payout_flows(two_orders):
    disputed, other = two_orders
    case = _open(disputed)

    _settle()

    held, paid = _payout(disputed), _payout(other)
    assert (held.status, held.status_reason) == (
        "HELD",
        f"Held while support mediates case #{case.pk} on {disputed.number}; released when the "
        "case is decided.",
    )
    assert (paid.status, paid.amount) == ("PAID", D("24.00"))
    assert case.statements.get().party == "RETAILER"
    assert OrderEvent.objects.filter(supplier_order=disputed, kind="case_opened").exists()
    assert Notification.objects.filter(supplier=disputed.supplier, kind="orders.case").exists()
    assert Notification.objects.filter(
        retailer=disputed.order.retailer, kind="orders.case"
    ).exists()


@pytest.mark.embedded
def test_full_refund_closes_the_case_refunds_everything_and_cancels_the_payout(
    two_orders, agent, django_capture_on_commit_callbacks
):
    disputed, other = two_orders
    case = _open(disputed)
    _settle()

    with django_capture_on_commit_callbacks(execute=True):
        decided = cases.decide_case(
            case=case, outcome=Outcome.REFUND_FULL, resolution="Wrong colour shipped.", actor=agent
        )
    _settle()

    refund = Refund.objects.get(supplier_order=disputed)
    assert (refund.status, refund.amount) == ("SUCCEEDED", D("27.00"))
    assert (decided.status, decided.outcome, decided.outcome_amount) == (
        "CLOSED",
        "REFUND_FULL",
        D("27.00"),
    )
    payout = _payout(disputed)
    assert (payout.status, payout.status_reason) == (
        "CANCELLED",
        "Nothing left to pay: the order was refunded.",
    )
    assert _payout(other).status == "PAID"
    assert unbalanced_transactions() == {}
    entry = AuditLogEntry.objects.get(action="orders.case_closed")
    assert entry.target_id == str(case.pk)
    assert entry.data["outcome"] == "REFUND_FULL"


def test_partial_refund_comes_out_of_the_supplier_payout(
    two_orders, agent, django_capture_on_commit_callbacks
):
    disputed, _ = two_orders
    case = _open(disputed)
    _settle()

    with django_capture_on_commit_callbacks(execute=True):
        cases.decide_case(
            case=case,
            outcome=Outcome.REFUND_PARTIAL,
            amount=D("10.00"),
            resolution="One mug chipped.",
            actor=agent,
        )
    _settle()

    refund = Refund.objects.get(supplier_order=disputed)
    assert refund.amount == D("10.00")
    payout = _payout(disputed)
    assert payout.status == "PAID"
    assert payout.amount == D("24.00") - refund.supplier_net
    assert refund.supplier_net > 0
    assert unbalanced_transactions() == {}


def test_partial_refund_after_the_transfer_is_taken_back_from_it(stripe_sandbox, agent):
    supplier_order = ship(paid_supplier_order(stripe_sandbox), days_ago=8)
    stripe_sandbox.connect_supplier(supplier_order.supplier)
    _settle()
    assert _payout(supplier_order).status == "PAID"
    case = _open(supplier_order, party=Dispute.Party.SUPPLIER, reason="other")

    cases.decide_case(
        case=case,
        outcome=Outcome.REFUND_PARTIAL,
        amount=D("5.00"),
        resolution="Goodwill for a late parcel.",
        actor=agent,
    )

    refund = Refund.objects.get()
    reversal = TransferReversal.objects.get()
    assert (reversal.payout, reversal.amount) == (_payout(supplier_order), refund.supplier_net)
    assert unbalanced_transactions() == {}


@pytest.mark.embedded
def test_release_pays_the_supplier(two_orders, agent, django_capture_on_commit_callbacks):
    disputed, _ = two_orders
    case = _open(disputed)
    _settle()
    assert _payout(disputed).status == "HELD"

    with django_capture_on_commit_callbacks(execute=True):
        cases.decide_case(
            case=case, outcome=Outcome.RELEASE, resolution="Matches the listing.", actor=agent
        )
    _settle()

    assert (_payout(disputed).status, _payout(disputed).amount) == ("PAID", D("24.00"))
    assert Refund.objects.count() == 0
    assert AuditLogEntry.objects.filter(action="orders.case_closed").count() == 1


def test_reship_holds_until_the_supplier_gives_the_new_tracking_number(
    two_orders, agent, django_capture_on_commit_callbacks
):
    disputed, _ = two_orders
    case = _open(disputed, reason=Dispute.Reason.NEVER_ARRIVED)
    decided = cases.decide_case(
        case=case, outcome=Outcome.RESHIP, resolution="Send it again.", actor=agent
    )
    _settle()
    assert decided.status == "RESHIP"
    assert _payout(disputed).status == "HELD"
    assert not AuditLogEntry.objects.filter(action="orders.case_closed").exists()

    with pytest.raises(Conflict):
        cases.decide_case(case=case, outcome=Outcome.RELEASE, resolution="again")
    with django_capture_on_commit_callbacks(execute=True):
        closed = cases.record_reship(case=case, carrier="UPS", tracking_number="1Z999AA10123456784")
    _settle()

    assert (closed.status, closed.reship_tracking_number) == ("CLOSED", "1Z999AA10123456784")
    assert _payout(disputed).status == "PAID"
    assert AuditLogEntry.objects.get(action="orders.case_closed").data["outcome"] == "RESHIP"


def test_a_refund_larger_than_paid_is_refused_and_the_case_stays_open(two_orders, agent):
    disputed, _ = two_orders
    case = _open(disputed)

    with pytest.raises(DomainError) as caught:
        cases.decide_case(
            case=case,
            outcome=Outcome.REFUND_PARTIAL,
            amount=D("30.00"),
            resolution="Too much",
            actor=agent,
        )

    assert "more than the $27.00 left to refund" in caught.value.message
    case.refresh_from_db()
    assert (case.status, case.outcome) == ("OPEN", "")
    assert Refund.objects.count() == 0
    assert not AuditLogEntry.objects.filter(action="orders.case_closed").exists()


def test_a_second_open_case_and_a_decision_on_a_closed_case_are_refused(two_orders, agent):
    disputed, _ = two_orders
    case = _open(disputed)

    with pytest.raises(Conflict, match=f"Case #{case.pk} on {disputed.number} is still open"):
        _open(disputed, party=Dispute.Party.SUPPLIER)
    cases.decide_case(case=case, outcome=Outcome.RELEASE, resolution="Fine.", actor=agent)
    with pytest.raises(Conflict, match="already decided"):
        cases.decide_case(case=case, outcome=Outcome.REFUND_FULL, resolution="No.", actor=agent)
    with pytest.raises(Conflict, match="closed"):
        cases.add_statement(case=case, party="SUPPLIER", body="late")

    assert Dispute.objects.count() == 1
    assert Refund.objects.count() == 0
    # Once decided, a new disagreement may open a new case.
    assert _open(disputed).pk != case.pk


def test_a_case_needs_a_shipped_order_a_statement_and_real_attachments(stripe_sandbox):
    unshipped = paid_supplier_order(stripe_sandbox)
    with pytest.raises(CaseError, match="once it has shipped"):
        _open(unshipped)
    shipped = ship(unshipped)
    with pytest.raises(CaseError, match="statement is empty"):
        _open(shipped, statement="  ")
    script = SimpleUploadedFile("photo.png", b"#!/bin/sh\necho hi\n", content_type="image/png")
    with pytest.raises(UploadError, match="not a PDF, PNG or JPEG"):
        _open(shipped, attachments=[script])
    assert Dispute.objects.count() == 0


def test_a_declined_return_is_escalated_with_the_case(
    client, stripe_sandbox, carrier_sandbox, django_capture_on_commit_callbacks
):
    supplier_order = delivered_supplier_order(
        client,
        stripe_sandbox,
        carrier_sandbox,
        django_capture_on_commit_callbacks,
        supplier=supplier_with_policy(),
    )
    item = supplier_order.items.get()
    declined = returns.open_return(
        order=supplier_order.order,
        lines=[ReturnLineRequest(order_item_id=item.pk, quantity=1)],
        reason_code=ReturnRequest.Reason.DEFECTIVE,
        reason="Broken",
    )
    declined = returns.decline_return(return_request=declined, reason="Worked when it left us")
    photo = SimpleUploadedFile("broken.png", PNG, content_type="image/png")

    case = _open(
        supplier_order,
        reason=Dispute.Reason.RETURN_DECLINED,
        return_request=declined,
        attachments=[photo],
    )

    assert case.return_request == declined
    attachment = CaseStatement.objects.get(case=case).attachments.get()
    assert (attachment.name, attachment.content_type) == ("broken.png", "image/png")
    with attachment.file.open("rb") as handle:
        assert handle.read() == PNG


def test_notices_reach_both_parties_as_the_retailer_chose(
    two_orders, agent, django_capture_on_commit_callbacks
):
    disputed, _ = two_orders
    retailer = disputed.order.retailer
    NoticePreference.objects.create(
        retailer=retailer, kind=NoticeKind.NEEDS_DECISION, delivery=NoticeDelivery.OFF
    )
    case = _open(disputed, party=Dispute.Party.SUPPLIER)
    cases.add_statement(case=case, party="RETAILER", body="It was blue.")
    with django_capture_on_commit_callbacks(execute=True):
        cases.decide_case(case=case, outcome=Outcome.RELEASE, resolution="White.", actor=agent)

    supplier_notices = Notification.objects.filter(supplier=disputed.supplier, kind="orders.case")
    assert [n.message.split(":")[0] for n in supplier_notices.order_by("pk")] == [
        f"Case #{case.pk} opened by the supplier on {disputed.number}",
        f"Retailer added a statement to case #{case.pk} on {disputed.number}.",
        f"Case #{case.pk} on {disputed.number} decided",
    ]
    assert not Notification.objects.filter(retailer=retailer, kind="orders.case").exists()
    subjects = [m.subject for m in mail.outbox]
    assert f"Case #{case.pk} on {disputed.number}: Release to the supplier" in subjects
