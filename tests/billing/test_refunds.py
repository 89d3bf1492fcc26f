"""Refunds: a line, an amount or everything; to Stripe; the supplier's share comes out of its
payout, or is reversed from its transfer once paid; refusals change nothing."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from billing.models import Charge, LedgerEntry, Payout, Refund, TransferReversal
from billing.services import (
    RefundError,
    RefundPending,
    refund_supplier_order,
    schedule_payouts,
    settle_payouts,
    transfer_payout,
)
from billing.services.ledger import unbalanced_transactions
from dropship.accounts.roles import SUPPORT_AGENT
from dropship.core.audit import AuditLogEntry
from orders.services.payment import pay_supplier_order
from tests import factories
from tests.billing.helpers import balance, paid_supplier_order, ship, supplier_order_for
from tests.mfa import login_with_second_factor

Account = LedgerEntry.Account
pytestmark = pytest.mark.django_db


def _paid_out(stripe_sandbox, **fields):
    supplier_order = ship(paid_supplier_order(stripe_sandbox, **fields), days_ago=8)
    stripe_sandbox.connect_supplier(supplier_order.supplier)
    (payout,) = schedule_payouts()
    transfer_payout(payout_id=payout.pk)
    payout.refresh_from_db()
    assert payout.status == "PAID"
    return supplier_order, payout


def _with_lines(supplier_order):
    return [
        factories.OrderItemFactory(
            order=supplier_order.order,
            supplier_order=supplier_order,
            title=title,
            quantity=quantity,
            wholesale_unit_price=D(unit),
        )
        for title, quantity, unit in (("Linen apron", 1, "10.00"), ("Tea towel", 2, "5.00"))
    ]


def test_a_refund_after_payout_reverses_the_suppliers_share_from_its_transfer(
    stripe_sandbox, django_capture_on_commit_callbacks
):
    supplier_order, payout = _paid_out(stripe_sandbox)

    with django_capture_on_commit_callbacks(execute=True):
        refund = refund_supplier_order(supplier_order=supplier_order, reason="Never arrived")

    assert (refund.status, refund.amount) == ("SUCCEEDED", D("27.00"))
    assert (refund.supplier_share, refund.platform_fee_share, refund.commission_returned) == (
        D("25.00"),
        D("2.00"),
        D("1.00"),
    )
    (stripe_refund,) = stripe_sandbox.app.objects_of("refund")
    assert (stripe_refund["amount"], stripe_refund["charge"]) == (
        2700,
        supplier_order.charges.get().stripe_charge_id,
    )
    transfer = stripe_sandbox.app.get(payout.stripe_transfer_id)
    assert (transfer["amount_reversed"], transfer["reversed"]) == (2400, True)
    reversal = TransferReversal.objects.get()
    assert (reversal.status, reversal.amount, reversal.refund_id) == (
        "SUCCEEDED",
        D("24.00"),
        refund.pk,
    )
    payout.refresh_from_db()
    assert (payout.status, payout.amount_reversed) == ("REVERSED", D("24.00"))
    charge = Charge.objects.get()
    assert (charge.status, charge.amount_refunded) == ("REFUNDED", D("27.00"))
    assert balance(Account.SUPPLIER_PAYABLE) == D("0.00")
    assert balance(Account.PLATFORM_REVENUE) == D("0.00")
    assert balance(Account.STRIPE_CLEARING) == D("-1.08")  # Stripe keeps its fee
    assert balance(Account.STRIPE_FEES) == D("1.08")
    assert unbalanced_transactions() == {}
    audit = AuditLogEntry.objects.get(action="billing.refund")
    assert audit.summary == f"Refund of $27.00 on {supplier_order.number}: Never arrived"


def test_a_line_refund_is_its_wholesale_value_with_the_commission_on_it_returned(
    stripe_sandbox, django_capture_on_commit_callbacks
):
    supplier_order, payout = _paid_out(stripe_sandbox)
    _, towels = _with_lines(supplier_order)

    with django_capture_on_commit_callbacks(execute=True):
        refund = refund_supplier_order(
            supplier_order=supplier_order, order_item=towels, reason="Wrong colour"
        )

    assert (refund.amount, refund.order_item_id) == (D("10.00"), towels.pk)
    assert (refund.supplier_share, refund.platform_fee_share, refund.commission_returned) == (
        D("10.00"),
        D("0.00"),
        D("0.50"),
    )
    assert TransferReversal.objects.get().amount == D("9.50")
    assert stripe_sandbox.app.get(payout.stripe_transfer_id)["amount_reversed"] == 950
    with pytest.raises(RefundError, match=r"“Tea towel” was already refunded\."):
        refund_supplier_order(supplier_order=supplier_order, order_item=towels, reason="Again")
    assert Refund.objects.count() == 1


def test_a_refund_larger_than_what_is_left_is_refused_and_nothing_is_written(stripe_sandbox):
    supplier_order = paid_supplier_order(stripe_sandbox)
    refund_supplier_order(supplier_order=supplier_order, amount=D("20.00"), reason="Partial")
    ledger_rows = LedgerEntry.objects.count()

    with pytest.raises(RefundError) as refused:
        refund_supplier_order(supplier_order=supplier_order, amount=D("7.01"), reason="Too much")

    assert refused.value.message == (
        f"A refund of $7.01 is more than the $7.00 left to refund on {supplier_order.number} "
        "($27.00 paid, $20.00 already refunded)."
    )
    assert refused.value.field == "amount"
    assert Refund.objects.count() == 1
    assert len(stripe_sandbox.app.objects_of("refund")) == 1
    assert LedgerEntry.objects.count() == ledger_rows
    assert Charge.objects.get().amount_refunded == D("20.00")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"reason": "  "}, "Give a reason for the refund."),
        ({"reason": "x", "amount": D("0")}, "A refund must be more than zero."),
    ],
)
def test_bad_refund_requests_are_refused_with_a_reason(stripe_sandbox, kwargs, message):
    supplier_order = paid_supplier_order(stripe_sandbox)
    with pytest.raises(RefundError, match=message):
        refund_supplier_order(supplier_order=supplier_order, **kwargs)
    assert Refund.objects.count() == 0


def test_an_unpaid_supplier_order_cannot_be_refunded():
    supplier_order = supplier_order_for(factories.RetailerFactory())
    with pytest.raises(RefundError, match="has not been paid: nothing to refund"):
        refund_supplier_order(supplier_order=supplier_order, reason="x")


def test_partial_refunds_add_up_to_the_payment_and_the_commission_charged(stripe_sandbox):
    supplier_order = paid_supplier_order(stripe_sandbox, wholesale_total=D("33.33"))
    parts = [D("10.01"), D("13.32"), D("7.00"), D("6.50")]  # into wholesale, shipping, the fee

    refunds = [
        refund_supplier_order(supplier_order=supplier_order, amount=part, reason="Part")
        for part in parts
    ]
    rest = refund_supplier_order(supplier_order=supplier_order, reason="The rest")

    assert sum(r.amount for r in refunds) + rest.amount == D("40.33")
    assert sum(r.commission_returned for r in [*refunds, rest]) == D("1.67")  # 5 % of 33.33
    assert balance(Account.SUPPLIER_PAYABLE) == D("0.00")
    assert balance(Account.PLATFORM_REVENUE) == D("0.00")
    with pytest.raises(RefundError, match=r"left to refund .* \(\$40\.33 paid, \$40\.33 already"):
        refund_supplier_order(supplier_order=supplier_order, amount=D("0.01"), reason="More")


def test_stripe_down_leaves_the_refund_pending_and_the_beat_job_sends_it_once(
    stripe_sandbox, django_capture_on_commit_callbacks
):
    supplier_order = paid_supplier_order(stripe_sandbox)
    stripe_sandbox.app.add_fault("/v1/refunds", status=503)

    with pytest.raises(RefundPending, match="recorded as pending"):
        refund_supplier_order(supplier_order=supplier_order, amount=D("5.00"), reason="Late")

    refund = Refund.objects.get()
    assert refund.status == "PENDING"
    assert LedgerEntry.objects.filter(kind="REFUND").count() == 0
    with pytest.raises(RefundError, match="still being processed"):
        refund_supplier_order(supplier_order=supplier_order, amount=D("1.00"), reason="More")

    with django_capture_on_commit_callbacks(execute=True):
        settle_payouts(now=timezone.now() + timedelta(minutes=10))

    refund.refresh_from_db()
    assert refund.status == "SUCCEEDED"
    assert len(stripe_sandbox.app.objects_of("refund")) == 1
    assert Charge.objects.get().amount_refunded == D("5.00")


def test_stripe_refusing_a_refund_fails_it_and_books_nothing(stripe_sandbox):
    supplier_order = paid_supplier_order(stripe_sandbox)
    stripe_sandbox.app.open_dispute(supplier_order.charges.get().stripe_charge_id)

    refund = refund_supplier_order(supplier_order=supplier_order, reason="Customer asked")

    assert refund.status == "FAILED"
    assert refund.failure_message.startswith("Stripe refused the refund: Charge ch_")
    assert refund.failure_message.endswith("has been charged back; cannot issue a refund.")
    assert LedgerEntry.objects.filter(kind="REFUND").count() == 0
    assert Charge.objects.get().amount_refunded == D("0.00")


def test_a_refund_on_payment_terms_credits_the_receivable_without_stripe(stripe_sandbox):
    retailer = factories.RetailerFactory(has_payment_terms=True)
    supplier_order = supplier_order_for(retailer)
    pay_supplier_order(supplier_order=supplier_order)

    refund = refund_supplier_order(supplier_order=supplier_order, amount=D("7.00"), reason="x")

    assert refund.status == "SUCCEEDED"
    assert refund.stripe_refund_id is None
    assert stripe_sandbox.app.objects_of("refund") == []
    assert balance(Account.RETAILER_RECEIVABLE, retailer=retailer) == D("20.00")


# --- the admin ------------------------------------------------------------------------------------
def _staff(group: str | None, email: str):
    user = factories.UserFactory(email=email, is_staff=True)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


def test_a_support_agent_refunds_a_line_from_the_admin(
    client, stripe_sandbox, django_capture_on_commit_callbacks
):
    supplier_order = paid_supplier_order(stripe_sandbox)
    apron, _ = _with_lines(supplier_order)
    charge = supplier_order.charges.get()
    login_with_second_factor(client, _staff(SUPPORT_AGENT, "sam@support.test"))
    url = reverse("admin:billing_charge_refund", args=[charge.pk])

    assert "Refund…" in client.get(reverse("admin:billing_charge_change", args=[charge.pk])).text
    page = client.get(url)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url, {"scope": "line", "line": str(apron.pk), "reason": "Arrived broken"}
        )

    assert page.status_code == 200
    assert response.status_code == 302
    refund = Refund.objects.get()
    assert (refund.amount, refund.order_item_id, refund.created_by.email) == (
        D("10.00"),
        apron.pk,
        "sam@support.test",
    )
    assert stripe_sandbox.app.objects_of("refund")[0]["amount"] == 1000


def test_the_admin_shows_a_refund_that_is_too_large_and_writes_nothing(client, stripe_sandbox):
    supplier_order = paid_supplier_order(stripe_sandbox)
    charge = supplier_order.charges.get()
    login_with_second_factor(client, _staff(SUPPORT_AGENT, "sam@support.test"))

    response = client.post(
        reverse("admin:billing_charge_refund", args=[charge.pk]),
        {"scope": "amount", "amount": "27.01", "reason": "Goodwill"},
    )

    assert response.status_code == 200
    assert "A refund of $27.01 is more than the $27.00 left to refund" in response.text
    assert Refund.objects.count() == 0
    assert stripe_sandbox.app.objects_of("refund") == []


def test_staff_without_the_refund_permission_cannot_refund(client, stripe_sandbox):
    supplier_order = paid_supplier_order(stripe_sandbox)
    charge = supplier_order.charges.get()
    login_with_second_factor(client, _staff(None, "viewer@platform.test"))

    response = client.post(
        reverse("admin:billing_charge_refund", args=[charge.pk]),
        {"scope": "whole", "reason": "x"},
    )

    assert response.status_code == 403
    assert Refund.objects.count() == 0
    assert Payout.objects.count() == 0
