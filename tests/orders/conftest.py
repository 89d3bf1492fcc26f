from decimal import Decimal

import pytest


@pytest.fixture(autouse=True)
def fee_schedules(request):
    """transaction=True tests flush the data migration's fee schedules: put them back."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None or not marker.kwargs.get("transaction"):
        return
    request.getfixturevalue("transactional_db")
    from billing.models import FeeSchedule

    for plan, fee, commission in (
        ("BASIC", "2.00", "5.00"),
        ("PRO", "1.50", "4.00"),
        ("ENTERPRISE", "1.00", "3.00"),
    ):
        FeeSchedule.objects.get_or_create(
            plan=plan,
            defaults={
                "monthly_price": Decimal("29.00"),
                "order_fee": Decimal(fee),
                "commission_percent": Decimal(commission),
                "currency": "USD",
            },
        )
