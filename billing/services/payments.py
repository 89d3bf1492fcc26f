"""Paying for supplier orders: the one seam the order pipeline calls (`pay_supplier_order`).

A retailer on payment terms (granted by a platform admin) is trusted to pay a monthly invoice:
the supplier order is paid at once and the amount is owed on the retailer's receivable account.
Card payments through Stripe go through the same seam (billing issue).
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from billing.fees import supplier_order_amounts
from billing.models import Charge, LedgerEntry
from billing.services.ledger import Leg, record_movement
from dropship.core.errors import DomainError
from orders.models import SupplierOrder

Account = LedgerEntry.Account


class PaymentError(DomainError):
    pass


@dataclass(frozen=True)
class PaymentResult:
    supplier_order: SupplierOrder
    charge: Charge | None
    is_paid: bool
    message: str = ""


PAYABLE_STATUSES = {SupplierOrder.Status.PENDING, SupplierOrder.Status.PAYMENT_FAILED}


def record_charge_in_ledger(*, charge: Charge, debit_account: str) -> None:
    """Money owed/received for a supplier order: what is due to the supplier, the platform fee,
    and the commission the platform keeps from the supplier's share."""
    supplier_order = charge.supplier_order
    amounts = supplier_order_amounts(
        wholesale=supplier_order.wholesale_total,
        shipping=supplier_order.shipping_total,
        platform_fee=supplier_order.platform_fee,
        commission_percent=supplier_order.commission_percent,
    )
    retailer, supplier, currency = charge.retailer, supplier_order.supplier, charge.currency
    record_movement(
        kind=LedgerEntry.Kind.CHARGE,
        currency=currency,
        supplier_order=supplier_order,
        memo=f"Charge for {supplier_order.number}",
        legs=[
            Leg(debit_account, amounts.retailer_total, retailer=retailer),
            Leg(
                Account.SUPPLIER_PAYABLE, -(amounts.wholesale + amounts.shipping), supplier=supplier
            ),
            Leg(Account.PLATFORM_REVENUE, -amounts.platform_fee),
        ],
    )
    if amounts.commission:
        record_movement(
            kind=LedgerEntry.Kind.COMMISSION,
            currency=currency,
            supplier_order=supplier_order,
            memo=f"Commission {supplier_order.commission_percent}% on {supplier_order.number}",
            legs=[
                Leg(Account.SUPPLIER_PAYABLE, amounts.commission, supplier=supplier),
                Leg(Account.PLATFORM_REVENUE, -amounts.commission),
            ],
        )


@transaction.atomic
def pay_supplier_order(*, supplier_order: SupplierOrder) -> PaymentResult:
    """Pay for a supplier order; safe to call twice (a paid order is returned as it is)."""
    supplier_order = (
        SupplierOrder.objects.select_for_update()
        .select_related("order__retailer", "supplier")
        .get(pk=supplier_order.pk)
    )
    existing = supplier_order.charges.filter(status=Charge.Status.SUCCEEDED).first()
    if supplier_order.status not in PAYABLE_STATUSES:
        return PaymentResult(
            supplier_order=supplier_order, charge=existing, is_paid=existing is not None
        )
    retailer = supplier_order.order.retailer
    if not retailer.has_payment_terms:
        message = "No way to pay yet: add a card on your billing page, or ask us for payment terms."
        _mark_payment_failed(supplier_order=supplier_order, reason=message)
        return PaymentResult(
            supplier_order=supplier_order, charge=None, is_paid=False, message=message
        )
    charge, _ = Charge.objects.get_or_create(
        idempotency_key=f"supplier-order-{supplier_order.pk}-terms",
        defaults={
            "supplier_order": supplier_order,
            "retailer": retailer,
            "method": Charge.Method.TERMS,
            "status": Charge.Status.SUCCEEDED,
            "amount": supplier_order.total,
            "currency": supplier_order.currency,
        },
    )
    record_charge_in_ledger(charge=charge, debit_account=Account.RETAILER_RECEIVABLE)
    supplier_order.status = SupplierOrder.Status.PAID
    supplier_order.status_reason = ""
    supplier_order.paid_at = timezone.now()
    supplier_order.save(update_fields=["status", "status_reason", "paid_at", "updated_at"])
    return PaymentResult(supplier_order=supplier_order, charge=charge, is_paid=True)


def _mark_payment_failed(*, supplier_order: SupplierOrder, reason: str) -> None:
    supplier_order.status = SupplierOrder.Status.PAYMENT_FAILED
    supplier_order.status_reason = reason
    supplier_order.save(update_fields=["status", "status_reason", "updated_at"])
