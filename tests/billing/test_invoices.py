import threading
from datetime import UTC, datetime
from decimal import Decimal as D

import pytest
from django.db import connection

from billing.models import Invoice
from billing.services import issue_invoice
from tests.factories import RetailerFactory


@pytest.mark.django_db
def test_invoices_are_numbered_per_year_in_sequence_with_frozen_lines():
    retailer = RetailerFactory()
    first = issue_invoice(
        retailer=retailer,
        currency="USD",
        issued_at=datetime(2026, 3, 1, tzinfo=UTC),
        lines=[{"description": "Supplier order SO-1", "quantity": 2, "unit_amount": "10.005"}],
    )
    second = issue_invoice(
        retailer=retailer,
        currency="USD",
        issued_at=datetime(2026, 3, 2, tzinfo=UTC),
        lines=[{"description": "Fee", "unit_amount": "2"}],
    )
    next_year = issue_invoice(
        retailer=retailer,
        currency="USD",
        issued_at=datetime(2027, 1, 1, tzinfo=UTC),
        lines=[{"description": "Fee", "unit_amount": "2"}],
    )
    assert [first.number, second.number, next_year.number] == [
        "INV-2026-000001",
        "INV-2026-000002",
        "INV-2027-000001",
    ]
    assert first.total == D("20.02")  # 10.005 → 10.01 per unit, × 2
    assert first.lines == [
        {
            "description": "Supplier order SO-1",
            "quantity": 2,
            "unit_amount": "10.01",
            "amount": "20.02",
        }
    ]


@pytest.mark.django_db(transaction=True)
def test_concurrent_invoices_get_distinct_numbers_without_gaps():
    retailer = RetailerFactory()
    errors: list[Exception] = []
    start = threading.Barrier(12)

    def issue() -> None:
        try:
            start.wait()
            issue_invoice(
                retailer=retailer,
                currency="USD",
                lines=[{"description": "Fee", "unit_amount": "1"}],
            )
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=issue) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    sequences = sorted(Invoice.objects.values_list("sequence", flat=True))
    assert sequences == list(range(1, 13))
