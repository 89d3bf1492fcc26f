"""Billing writes. `pay_supplier_order` is the seam the order pipeline calls; after a retailer's
card changes, `retry_failed_payments` pays what was waiting (the pipeline dispatches those)."""

from billing.services.cards import CardSetupError, complete_card_setup, start_card_setup
from billing.services.connect import (
    PayoutSetupError,
    refresh_connected_account,
    start_payout_onboarding,
)
from billing.services.invoices import (
    format_invoice_number,
    issue_charge_invoice,
    issue_invoice,
    issue_monthly_invoices,
)
from billing.services.ledger import Leg, UnbalancedMovement, record_movement
from billing.services.payments import (
    PaymentError,
    PaymentResult,
    StripeTemporaryError,
    has_payments_awaiting_stripe,
    pay_new_supplier_orders_on_terms,
    pay_supplier_order,
    record_charge_in_ledger,
    retry_failed_payments,
)
from billing.services.payouts import (
    release_held_payouts,
    reverse_transfer,
    schedule_payouts,
    settle_payouts,
    transfer_payout,
)
from billing.services.reconciliation import reconcile_day
from billing.services.refunds import (
    RefundError,
    RefundPending,
    refund_supplier_order,
    submit_refund,
)

__all__ = [
    "CardSetupError",
    "Leg",
    "PaymentError",
    "PaymentResult",
    "PayoutSetupError",
    "RefundError",
    "RefundPending",
    "StripeTemporaryError",
    "UnbalancedMovement",
    "complete_card_setup",
    "format_invoice_number",
    "has_payments_awaiting_stripe",
    "issue_charge_invoice",
    "issue_invoice",
    "issue_monthly_invoices",
    "pay_new_supplier_orders_on_terms",
    "pay_supplier_order",
    "reconcile_day",
    "record_charge_in_ledger",
    "record_movement",
    "refresh_connected_account",
    "refund_supplier_order",
    "release_held_payouts",
    "retry_failed_payments",
    "reverse_transfer",
    "schedule_payouts",
    "settle_payouts",
    "start_card_setup",
    "start_payout_onboarding",
    "submit_refund",
    "transfer_payout",
]
