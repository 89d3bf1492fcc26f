"""Card payments through the seam: one PaymentIntent per supplier order whatever happens
(retried tasks, concurrent calls, Stripe outages, lost answers), declines wait for a new card."""

import threading
from decimal import Decimal as D

import pytest
from django.core import mail
from django.db import connection

from billing.models import Charge, Invoice, LedgerEntry
from billing.services import StripeTemporaryError, confirm_card_charge, open_card_charge
from billing.services.ledger import unbalanced_transactions
from dropship.accounts.models import Notification
from orders.models import SupplierOrder
from orders.services.payment import pay_supplier_order, retry_failed_payments
from orders.tasks import retry_failed_payments_task
from tests import factories
from tests.billing.helpers import balance, supplier_order_for

Account = LedgerEntry.Account
DECLINING_CARD = "4000000000000341"  # saves fine, every charge is declined


@pytest.fixture
def retailer_with_card(stripe_sandbox, db):
    retailer = factories.RetailerMemberFactory(retailer__contact_email="").retailer
    return stripe_sandbox.save_card(retailer)


def _intent_calls(stripe_sandbox):
    return [c for c in stripe_sandbox.app.calls if c.path == "/v1/payment_intents"]


@pytest.mark.django_db
def test_a_card_payment_charges_the_total_in_minor_units_and_books_every_cent(
    stripe_sandbox, retailer_with_card
):
    supplier_order = supplier_order_for(retailer_with_card)

    result = pay_supplier_order(supplier_order=supplier_order)

    assert result.is_paid
    (intent,) = stripe_sandbox.app.payment_intents()
    assert (intent["amount"], intent["currency"], intent["status"]) == (2700, "usd", "succeeded")
    assert intent["customer"] == retailer_with_card.stripe_customer_id
    assert intent["payment_method"] == retailer_with_card.stripe_payment_method_id
    assert intent["transfer_group"] == supplier_order.number
    assert intent["metadata"]["supplier_order"] == supplier_order.number
    assert [c.idempotency_key for c in _intent_calls(stripe_sandbox)] == [
        f"supplier-order-{supplier_order.pk}-attempt-1"
    ]
    charge = Charge.objects.get(supplier_order=supplier_order)
    assert (charge.method, charge.status, charge.amount, charge.stripe_fee) == (
        "CARD",
        "SUCCEEDED",
        D("27.00"),
        D("1.08"),  # 2.9 % + 30 cents of 27.00
    )
    assert charge.stripe_payment_intent_id == intent["id"]
    assert charge.stripe_charge_id == intent["latest_charge"]
    assert charge.card_label == "Visa •••• 4242"
    supplier_order.refresh_from_db()
    assert supplier_order.status == SupplierOrder.Status.PAID
    assert balance(Account.STRIPE_CLEARING) == D("25.92")
    assert balance(Account.STRIPE_FEES) == D("1.08")
    assert balance(Account.SUPPLIER_PAYABLE, supplier=supplier_order.supplier) == D("-24.00")
    assert balance(Account.PLATFORM_REVENUE) == D("-3.00")
    assert unbalanced_transactions() == {}
    invoice = charge.invoice
    assert (invoice.status, invoice.total, invoice.retailer_id) == (
        Invoice.Status.PAID,
        D("27.00"),
        retailer_with_card.pk,
    )
    assert [line["description"] for line in invoice.lines] == [
        f"Products from supplier order {supplier_order.number}",
        f"Shipping for {supplier_order.number}",
        "Dropship platform fee",
    ]


@pytest.mark.django_db
def test_paying_twice_makes_one_payment_intent(stripe_sandbox, retailer_with_card):
    supplier_order = supplier_order_for(retailer_with_card)

    first = pay_supplier_order(supplier_order=supplier_order)
    second = pay_supplier_order(supplier_order=supplier_order)

    assert (first.is_paid, second.is_paid) == (True, True)
    assert first.charge.pk == second.charge.pk
    assert len(stripe_sandbox.app.payment_intents()) == 1
    assert Charge.objects.filter(supplier_order=supplier_order).count() == 1
    assert Invoice.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_payments_of_one_supplier_order_make_one_payment_intent(stripe_sandbox):
    retailer = stripe_sandbox.save_card(factories.RetailerFactory())
    supplier_order = supplier_order_for(retailer)
    start = threading.Barrier(6)
    results, errors = [], []

    def pay() -> None:
        try:
            start.wait()
            results.append(pay_supplier_order(supplier_order=SupplierOrder(pk=supplier_order.pk)))
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=pay) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert [r.is_paid for r in results] == [True] * 6
    assert len(stripe_sandbox.app.payment_intents()) == 1
    assert Charge.objects.filter(supplier_order=supplier_order).count() == 1
    assert LedgerEntry.objects.filter(kind="CHARGE").count() == 2
    assert unbalanced_transactions() == {}


@pytest.mark.django_db
def test_a_declined_card_holds_the_order_emails_a_fix_link_and_books_nothing(
    stripe_sandbox, django_capture_on_commit_callbacks
):
    member = factories.RetailerMemberFactory(user__email="owner@maple.test")
    retailer = stripe_sandbox.save_card(member.retailer, DECLINING_CARD)
    supplier_order = supplier_order_for(retailer)

    with django_capture_on_commit_callbacks(execute=True):
        result = pay_supplier_order(supplier_order=supplier_order)
        again = pay_supplier_order(supplier_order=supplier_order)

    assert (result.is_paid, again.is_paid) == (False, False)
    supplier_order.refresh_from_db()
    assert supplier_order.status == SupplierOrder.Status.PAYMENT_FAILED
    assert supplier_order.status_reason == (
        "Card payment declined: Your card was declined. Update your card; we retry as soon as "
        "you do."
    )
    charge = Charge.objects.get(supplier_order=supplier_order)
    assert (charge.status, charge.failure_message) == ("FAILED", "Your card was declined.")
    assert charge.stripe_payment_intent_id == stripe_sandbox.app.payment_intents()[0]["id"]
    # The same card is not charged again by a re-run: one PaymentIntent, one email.
    assert len(stripe_sandbox.app.payment_intents()) == 1
    assert LedgerEntry.objects.count() == 0
    assert Invoice.objects.count() == 0
    (email,) = mail.outbox
    assert email.to == ["owner@maple.test", retailer.contact_email]
    assert email.subject == f"Payment needed for order {supplier_order.order.number} ($27.00)"
    assert "Fix it on your billing page: http://localhost:8000/retailer/billing/" in email.body
    notice = Notification.objects.get(retailer=retailer)
    assert (notice.kind, notice.level, notice.url) == (
        "billing.payment_failed",
        "ERROR",
        "/retailer/billing/",
    )


@pytest.mark.django_db
def test_a_new_card_retries_the_declined_orders_and_pays_them(
    stripe_sandbox, django_capture_on_commit_callbacks
):
    retailer = stripe_sandbox.save_card(factories.RetailerFactory(), DECLINING_CARD)
    declined = [supplier_order_for(retailer) for _ in range(2)]
    for supplier_order in declined:
        assert not pay_supplier_order(supplier_order=supplier_order).is_paid
    untouched = supplier_order_for(retailer)  # still PENDING: the pipeline pays it, not the retry

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        stripe_sandbox.save_card(retailer, "5555555555554444")

    # The retry task, enqueued after the card was saved (then the dispatch's supplier emails).
    assert callbacks[0].func.__self__.name == "billing.tasks.retry_failed_payments_task"
    for supplier_order in declined:
        supplier_order.refresh_from_db()
        assert supplier_order.status == SupplierOrder.Status.SENT  # paid, then dispatched
        charges = list(supplier_order.charges.order_by("attempt"))
        assert [(c.attempt, c.status) for c in charges] == [(1, "FAILED"), (2, "SUCCEEDED")]
        assert charges[1].idempotency_key == f"supplier-order-{supplier_order.pk}-attempt-2"
        assert charges[1].card_label == "Mastercard •••• 4444"
    untouched.refresh_from_db()
    assert untouched.status == SupplierOrder.Status.PENDING
    intents = stripe_sandbox.app.payment_intents()
    assert sorted(i["status"] for i in intents) == [
        "requires_payment_method",
        "requires_payment_method",
        "succeeded",
        "succeeded",
    ]


@pytest.mark.django_db
def test_the_retry_task_run_twice_pays_each_order_once_and_returns_them(stripe_sandbox):
    retailer = stripe_sandbox.save_card(factories.RetailerFactory(), DECLINING_CARD)
    supplier_order = supplier_order_for(retailer)
    pay_supplier_order(supplier_order=supplier_order)
    stripe_sandbox.save_card(retailer, "4242424242424242")  # on_commit retry not run here

    first = retry_failed_payments_task.apply(args=[retailer.pk]).get()
    second = retry_failed_payments_task.apply(args=[retailer.pk]).get()

    assert (first, second) == ([supplier_order.pk], [])
    assert len(stripe_sandbox.app.payment_intents()) == 2  # the declined one and the paid one
    supplier_order.refresh_from_db()
    assert supplier_order.status == SupplierOrder.Status.SENT  # handed on to the supplier at once
    assert retry_failed_payments(retailer=retailer) == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_retry_tasks_make_one_payment_intent_per_order(stripe_sandbox):
    retailer = stripe_sandbox.save_card(factories.RetailerFactory(), DECLINING_CARD)
    orders = [supplier_order_for(retailer) for _ in range(3)]
    for supplier_order in orders:
        pay_supplier_order(supplier_order=supplier_order)
    # A new card is on file (set up in the sandbox and on the row, without the service's own
    # retry), so the racing tasks below are the ones that pay.
    with stripe_sandbox.app.lock:
        method = stripe_sandbox.app._new_payment_method("4242424242424242", None)
        method["customer"] = retailer.stripe_customer_id
    type(retailer).objects.filter(pk=retailer.pk).update(stripe_payment_method_id=method["id"])
    start = threading.Barrier(4)
    paid, errors = [], []

    def retry() -> None:
        try:
            start.wait()
            run = retry_failed_payments_task.apply(args=[retailer.pk])
            paid.extend(run.get(disable_sync_subtasks=False))  # it enqueues dispatch tasks
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=retry) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(paid) == sorted(o.pk for o in orders)  # each returned by exactly one run
    intents = stripe_sandbox.app.payment_intents()
    assert (
        sorted(i["status"] for i in intents) == ["requires_payment_method"] * 3 + ["succeeded"] * 3
    )
    assert Charge.objects.filter(status="SUCCEEDED").count() == 3
    assert unbalanced_transactions() == {}


@pytest.mark.django_db
@pytest.mark.parametrize("status", [500, 503, 429])
def test_stripe_down_or_rate_limiting_is_temporary_and_the_retry_charges_once(
    stripe_sandbox, retailer_with_card, status
):
    supplier_order = supplier_order_for(retailer_with_card)
    stripe_sandbox.app.add_fault("/v1/payment_intents", status=status)

    with pytest.raises(StripeTemporaryError):
        pay_supplier_order(supplier_order=supplier_order)

    supplier_order.refresh_from_db()
    assert supplier_order.status == SupplierOrder.Status.PENDING
    charge = Charge.objects.get(supplier_order=supplier_order)
    assert charge.status == Charge.Status.PENDING
    assert LedgerEntry.objects.count() == 0
    assert stripe_sandbox.app.payment_intents() == []

    assert pay_supplier_order(supplier_order=supplier_order).is_paid
    assert len(stripe_sandbox.app.payment_intents()) == 1
    keys = [c.idempotency_key for c in _intent_calls(stripe_sandbox)]
    assert keys == [charge.idempotency_key] * 2


@pytest.mark.django_db
def test_an_answer_lost_after_stripe_charged_is_replayed_on_retry_not_charged_again(
    stripe_sandbox, retailer_with_card, settings
):
    supplier_order = supplier_order_for(retailer_with_card)
    settings.STRIPE_TIMEOUT_SECONDS = 0.5
    stripe_sandbox.app.add_fault("/v1/payment_intents", status=500, after=True, delay=1.0)

    with pytest.raises(StripeTemporaryError, match="did not answer in time"):
        pay_supplier_order(supplier_order=supplier_order)
    assert [i["status"] for i in stripe_sandbox.app.payment_intents()] == ["succeeded"]
    assert LedgerEntry.objects.count() == 0

    settings.STRIPE_TIMEOUT_SECONDS = 5
    assert pay_supplier_order(supplier_order=supplier_order).is_paid
    assert len(stripe_sandbox.app.payment_intents()) == 1
    assert [c.replayed for c in _intent_calls(stripe_sandbox)] == [False, True]
    assert balance(Account.STRIPE_CLEARING) == D("25.92")


@pytest.mark.django_db
def test_a_card_changed_while_an_attempt_is_pending_does_not_double_charge(
    stripe_sandbox, retailer_with_card
):
    supplier_order = supplier_order_for(retailer_with_card)
    stripe_sandbox.app.add_fault("/v1/payment_intents", status=500, after=True)
    with pytest.raises(StripeTemporaryError):
        pay_supplier_order(supplier_order=supplier_order)
    first_card = retailer_with_card.stripe_payment_method_id
    stripe_sandbox.save_card(retailer_with_card, "5555555555554444")

    assert pay_supplier_order(supplier_order=supplier_order).is_paid

    (intent,) = stripe_sandbox.app.payment_intents()
    assert intent["payment_method"] == first_card  # the pending attempt is replayed as it was


@pytest.mark.django_db
def test_without_a_card_the_retailer_is_told_once(django_capture_on_commit_callbacks):
    retailer = factories.RetailerMemberFactory().retailer
    supplier_order = supplier_order_for(retailer)

    with django_capture_on_commit_callbacks(execute=True):
        pay_supplier_order(supplier_order=supplier_order)
        pay_supplier_order(supplier_order=supplier_order)

    assert len(mail.outbox) == 1
    assert Charge.objects.count() == 0


@pytest.mark.django_db
def test_a_cancelled_supplier_order_is_not_charged_by_a_pending_attempt(
    stripe_sandbox, retailer_with_card
):
    supplier_order = supplier_order_for(retailer_with_card)
    stripe_sandbox.app.add_fault("/v1/payment_intents", status=503)
    with pytest.raises(StripeTemporaryError):
        pay_supplier_order(supplier_order=supplier_order)
    SupplierOrder.objects.filter(pk=supplier_order.pk).update(status="CANCELLED")

    result = pay_supplier_order(supplier_order=supplier_order)

    assert not result.is_paid
    assert stripe_sandbox.app.payment_intents() == []


@pytest.mark.django_db
def test_billing_books_a_card_payment_and_leaves_the_supplier_order_to_the_pipeline(
    stripe_sandbox, retailer_with_card
):
    supplier_order = supplier_order_for(retailer_with_card)
    charge = open_card_charge(supplier_order=supplier_order, retailer=retailer_with_card)

    result = confirm_card_charge(supplier_order=supplier_order, charge_id=charge.pk)

    assert (result.is_paid, result.paid_now, result.failure) == (True, True, "")
    assert result.charge.status == Charge.Status.SUCCEEDED
    assert balance(Account.STRIPE_CLEARING) == D("25.92")
    supplier_order.refresh_from_db()
    assert (supplier_order.status, supplier_order.paid_at) == (SupplierOrder.Status.PENDING, None)


@pytest.mark.django_db
def test_billing_answers_a_decline_with_stripes_reason_and_leaves_the_supplier_order_alone(
    stripe_sandbox,
):
    retailer = stripe_sandbox.save_card(factories.RetailerFactory(), DECLINING_CARD)
    supplier_order = supplier_order_for(retailer)
    charge = open_card_charge(supplier_order=supplier_order, retailer=retailer)

    result = confirm_card_charge(supplier_order=supplier_order, charge_id=charge.pk)

    assert (result.is_paid, result.paid_now, result.failure) == (
        False,
        False,
        "Your card was declined.",
    )
    assert result.charge.status == Charge.Status.FAILED
    supplier_order.refresh_from_db()
    assert (supplier_order.status, supplier_order.status_reason) == (
        SupplierOrder.Status.PENDING,
        "",
    )
    assert mail.outbox == []
    assert LedgerEntry.objects.count() == 0
