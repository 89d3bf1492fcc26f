"""The three retailer plans of seed 003 with their starting fees (editable by platform admins)."""

from decimal import Decimal

from django.db import migrations

PLANS = [
    # plan, monthly price, fee per supplier order, supplier commission %, orders/month, suppliers
    ("BASIC", Decimal("29.00"), Decimal("2.00"), Decimal("5.00"), 100, 5),
    ("PRO", Decimal("79.00"), Decimal("1.50"), Decimal("4.00"), 500, None),
    ("ENTERPRISE", Decimal("199.00"), Decimal("1.00"), Decimal("3.00"), None, None),
]


def create_fee_schedules(apps, schema_editor):
    FeeSchedule = apps.get_model("billing", "FeeSchedule")
    for plan, monthly, order_fee, commission, order_limit, supplier_limit in PLANS:
        FeeSchedule.objects.get_or_create(
            plan=plan,
            defaults={
                "monthly_price": monthly,
                "order_fee": order_fee,
                "commission_percent": commission,
                "monthly_order_limit": order_limit,
                "supplier_limit": supplier_limit,
                "currency": "USD",
            },
        )


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunPython(create_fee_schedules, migrations.RunPython.noop)]
