"""Refunds made in Stripe's dashboard: a Charge no longer embeds its refunds (API 2022-11-15), so
they are booked from refund.created / refund.updated (and charge.refunded lists them), once, when
they succeed, and reconciliation finds them booked."""

import threading
from decimal import Decimal as D

import pytest
from django.db import connection, transaction
from django.utils import timezone

from billing.models import Charge, Refund, StripeEvent
from billing.services import reconcile_day
from billing.services.ledger import unbalanced_transactions
from billing.webhooks import handle_charge_refunded, handle_refund
from tests.billing.helpers import paid_supplier_order

pytestmark = pytest.mark.django_db


def _deliver(stripe_sandbox, client, events, callbacks_fixture):
    with callbacks_fixture(execute=True):
        for event in events:
            assert stripe_sandbox.deliver(client, event).status_code == 200


def _dashboard_refund(stripe_sandbox, amount, **kwargs):
    supplier_order = paid_supplier_order(stripe_sandbox)
    charge_id = supplier_order.charges.get().stripe_charge_id
    refund = stripe_sandbox.app.refund_in_dashboard(charge_id, amount, silent=False, **kwargs)
    return supplier_order, refund


def test_a_charge_does_not_embed_its_refunds(stripe_sandbox):
    _, refund = _dashboard_refund(stripe_sandbox, 700)

    (event,) = stripe_sandbox.app.events_of("charge.refunded")
    assert "refunds" not in event["data"]["object"]
    assert "refunds" not in stripe_sandbox.app.get(refund["charge"])
    assert event["data"]["object"]["amount_refunded"] == 700


def test_a_dashboard_refund_is_booked_once_and_reconciles(
    client, stripe_sandbox, django_capture_on_commit_callbacks
):
    _, stripe_refund = _dashboard_refund(stripe_sandbox, 700)
    events = stripe_sandbox.app.events_of("refund.created", "charge.refunded")
    assert [event["type"] for event in events] == ["refund.created", "charge.refunded"]

    _deliver(stripe_sandbox, client, events + events, django_capture_on_commit_callbacks)

    refund = Refund.objects.get()
    assert (refund.source, refund.status, refund.amount, refund.stripe_refund_id) == (
        "STRIPE",
        "SUCCEEDED",
        D("7.00"),
        stripe_refund["id"],
    )
    charge = Charge.objects.get()
    assert (charge.status, charge.amount_refunded) == ("PARTIALLY_REFUNDED", D("7.00"))
    assert StripeEvent.objects.count() == 2  # each refund event claimed once
    assert unbalanced_transactions() == {}
    run = reconcile_day(day=timezone.now().date())
    assert list(run.mismatches.values_list("message", flat=True)) == []
    assert run.status == "CLEAN"


def test_charge_refunded_alone_books_the_refund_it_no_longer_carries(
    client, stripe_sandbox, django_capture_on_commit_callbacks
):
    """refund.created was lost: charge.refunded makes us list the charge's refunds."""
    _dashboard_refund(stripe_sandbox, 500)

    _deliver(
        stripe_sandbox,
        client,
        stripe_sandbox.app.events_of("charge.refunded"),
        django_capture_on_commit_callbacks,
    )

    assert Refund.objects.get().amount == D("5.00")
    assert Charge.objects.get().amount_refunded == D("5.00")


def test_a_pending_dashboard_refund_is_booked_when_it_succeeds(
    client, stripe_sandbox, django_capture_on_commit_callbacks
):
    _, stripe_refund = _dashboard_refund(stripe_sandbox, 900, status="pending")
    _deliver(
        stripe_sandbox,
        client,
        stripe_sandbox.app.events_of("refund.created", "charge.refunded"),
        django_capture_on_commit_callbacks,
    )
    refund = Refund.objects.get()
    assert (refund.status, refund.amount) == ("PENDING", D("9.00"))
    assert Charge.objects.get().amount_refunded == D("0.00")  # nothing booked yet

    stripe_sandbox.app.settle_refund(stripe_refund["id"], status="succeeded")
    (updated,) = stripe_sandbox.app.events_of("refund.updated")
    _deliver(stripe_sandbox, client, [updated, updated], django_capture_on_commit_callbacks)

    refund.refresh_from_db()
    assert (refund.status, refund.stripe_refund_id) == ("SUCCEEDED", stripe_refund["id"])
    assert Charge.objects.get().amount_refunded == D("9.00")
    assert unbalanced_transactions() == {}


def test_a_pending_dashboard_refund_that_fails_books_nothing(
    client, stripe_sandbox, django_capture_on_commit_callbacks
):
    _, stripe_refund = _dashboard_refund(stripe_sandbox, 900, status="pending")
    stripe_sandbox.app.settle_refund(stripe_refund["id"], status="failed")

    _deliver(
        stripe_sandbox,
        client,
        stripe_sandbox.app.events_of("refund.created", "refund.updated", "charge.refunded"),
        django_capture_on_commit_callbacks,
    )

    refund = Refund.objects.get()
    assert (refund.status, refund.failure_message) == (
        "FAILED",
        "The refund failed at the bank: expired_or_canceled_card",
    )
    charge = Charge.objects.get()
    assert (charge.status, charge.amount_refunded) == ("SUCCEEDED", D("0.00"))


@pytest.mark.django_db(transaction=True)
def test_refund_events_processed_at_once_by_several_workers_book_one_refund(stripe_sandbox):
    """refund.created and charge.refunded, each delivered twice, handled by four workers at the
    same moment (PostgreSQL row locks): one refund, booked once."""
    _dashboard_refund(stripe_sandbox, 700)
    events = stripe_sandbox.app.events_of("refund.created", "charge.refunded")
    handlers = {"refund.created": handle_refund, "charge.refunded": handle_charge_refunded}
    start = threading.Barrier(4)
    errors = []

    def run(event) -> None:
        try:
            start.wait()
            with transaction.atomic():  # as the inbox runs a handler
                handlers[event["type"]](None, event)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(event,)) for event in events + events]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # A duplicate may lose the race for the event id (IntegrityError): the inbox retries it,
    # and the retry finds the event claimed. Nothing else may fail.
    assert all(type(exc).__name__ == "IntegrityError" for exc in errors), errors
    refund = Refund.objects.get()
    assert (refund.status, refund.amount) == ("SUCCEEDED", D("7.00"))
    assert Charge.objects.get().amount_refunded == D("7.00")
    assert unbalanced_transactions() == {}
