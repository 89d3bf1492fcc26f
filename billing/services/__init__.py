"""Billing writes. `pay_supplier_order` is the seam the order pipeline calls."""

from billing.services.invoices import format_invoice_number, issue_invoice
from billing.services.ledger import Leg, UnbalancedMovement, record_movement
from billing.services.payments import (
    PaymentError,
    PaymentResult,
    pay_supplier_order,
    record_charge_in_ledger,
)

__all__ = [
    "Leg",
    "PaymentError",
    "PaymentResult",
    "UnbalancedMovement",
    "format_invoice_number",
    "issue_invoice",
    "pay_supplier_order",
    "record_charge_in_ledger",
    "record_movement",
]
