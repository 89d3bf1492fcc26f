"""The platform defaults of the fraud checks, switched off: staff turn them on in the admin (an
order held by surprise would stop every retailer's flow), retailers set their own."""

from decimal import Decimal

from django.db import migrations

DEFAULTS = [
    ("ORDER_VALUE", {"amount": Decimal("5000.00")}),
    ("ADDRESS_VELOCITY", {"max_orders": 3, "window_hours": 24}),
    ("SHOPPER_VELOCITY", {"max_orders": 3, "window_hours": 24}),
    ("NEW_STORE", {"amount": Decimal("1000.00"), "window_hours": 168}),
    ("COUNTRY_MISMATCH", {}),
]


def create_defaults(apps, schema_editor):
    FraudRule = apps.get_model("orders", "FraudRule")
    for kind, values in DEFAULTS:
        FraudRule.objects.get_or_create(
            retailer=None, kind=kind, defaults={"is_enabled": False, **values}
        )


class Migration(migrations.Migration):
    dependencies = [("orders", "0007_order_fraud_review_holds")]

    operations = [migrations.RunPython(create_defaults, migrations.RunPython.noop)]
