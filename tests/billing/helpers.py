"""Building blocks for billing tests: a retailer with a card in the Stripe sandbox, a paid and
shipped supplier order, events delivered through the webhook inbox."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from billing.models import LedgerEntry
from orders.models import SupplierOrder
from orders.services.payment import pay_supplier_order
from tests import factories


def supplier_order_for(retailer, **fields) -> SupplierOrder:
    order = factories.OrderFactory(store=factories.StoreFactory(retailer=retailer))
    return factories.PayableSupplierOrderFactory(order=order, **fields)


def paid_supplier_order(stripe_sandbox, *, retailer=None, card="4242424242424242", **fields):
    retailer = retailer or factories.RetailerFactory()
    if not retailer.stripe_payment_method_id:
        stripe_sandbox.save_card(retailer, card)
    supplier_order = supplier_order_for(retailer, **fields)
    result = pay_supplier_order(supplier_order=supplier_order)
    assert result.is_paid, result.message
    return result.supplier_order


def ship(supplier_order: SupplierOrder, *, days_ago: int = 8) -> SupplierOrder:
    """What the order pipeline does when the supplier ships (not billing's to do)."""
    supplier_order.status = SupplierOrder.Status.SHIPPED
    supplier_order.shipped_at = timezone.now() - timedelta(days=days_ago)
    supplier_order.save(update_fields=["status", "shipped_at", "updated_at"])
    return supplier_order


def balance(account: str, **filters) -> Decimal:
    total = Decimal("0.00")
    for amount in LedgerEntry.objects.filter(account=account, **filters).values_list(
        "amount", flat=True
    ):
        total += amount
    return total
