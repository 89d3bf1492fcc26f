"""Cases racing themselves on PostgreSQL: both parties open a case on the same supplier order at
once (one case, the other hears 409), and two agents decide the same case at once (one
decision, at most one refund, the loser hears the case was decided)."""

import json
import threading
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test import Client

from billing.models import Refund
from billing.services.ledger import unbalanced_transactions
from dropship.accounts.services import create_api_key
from dropship.core.errors import Conflict
from orders.models import Dispute
from orders.services import cases
from tests import factories
from tests.billing.helpers import paid_supplier_order, ship

pytestmark = pytest.mark.django_db(transaction=True)


def _race(calls) -> list:
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)
    failures: list[BaseException] = []

    def run(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except BaseException as exc:  # surfaced below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    return results


def _auth(organisation) -> dict[str, str]:
    _, secret = create_api_key(organisation=organisation, name="race", created_by=None)
    return {"HTTP_AUTHORIZATION": f"Bearer {secret}"}


def test_both_parties_opening_at_once_make_one_case(stripe_sandbox):
    supplier_order = ship(paid_supplier_order(stripe_sandbox))
    keys = [_auth(supplier_order.order.retailer), _auth(supplier_order.supplier)]

    def open_with(auth):
        def call():
            return (
                Client()
                .post(
                    "/api/v1/cases",
                    data=json.dumps(
                        {
                            "supplier_order_id": supplier_order.pk,
                            "reason": "never_arrived",
                            "statement": "Our side.",
                        }
                    ),
                    content_type="application/json",
                    **auth,
                )
                .status_code
            )

        return call

    statuses = _race([open_with(auth) for auth in keys])

    assert sorted(statuses) == [201, 409]
    assert Dispute.objects.filter(kind="MEDIATION").count() == 1
    assert Dispute.objects.get().statements.count() == 1


def test_two_agents_deciding_at_once_give_one_decision(stripe_sandbox):
    supplier_order = ship(paid_supplier_order(stripe_sandbox))
    case = cases.open_case(
        supplier_order=supplier_order, party="RETAILER", reason="other", statement="Broken."
    )
    agents = [factories.UserFactory(is_staff=True) for _ in range(2)]

    def decide(outcome, agent):
        def call():
            try:
                cases.decide_case(case=case, outcome=outcome, resolution="Decided.", actor=agent)
            except Conflict:
                return "conflict"
            return outcome

        return call

    results = _race([decide("REFUND_FULL", agents[0]), decide("RELEASE", agents[1])])

    assert results.count("conflict") == 1
    case.refresh_from_db()
    winner = next(r for r in results if r != "conflict")
    assert (case.status, case.outcome) == ("CLOSED", winner)
    refunds = list(Refund.objects.values_list("amount", flat=True))
    assert refunds == ([D("27.00")] if winner == "REFUND_FULL" else [])
    assert unbalanced_transactions() == {}
