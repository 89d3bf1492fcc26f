"""Billing writes. The order pipeline (orders.services.payment) pays supplier orders through the
charge functions of `payments`, which answer with a PaymentResult it applies to the supplier
order; after a retailer's card changes, `request_payment_retry` asks the pipeline to pay what was
waiting."""

from billing.services import plans, usage
from billing.services.cards import (
    CardSetupError,
    complete_card_setup,
    register_payment_retry_task,
    request_payment_retry,
    start_card_setup,
)
from billing.services.connect import (
    PayoutSetupError,
    refresh_connected_account,
    refresh_held_accounts,
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
    charge_on_terms,
    confirm_card_charge,
    find_card_charge_for_intent,
    find_paid_charge,
    finish_on_session_payment,
    open_card_charge,
    pay_new_supplier_orders_on_terms,
    record_charge_in_ledger,
    record_payment_intent_failed,
    record_payment_intent_succeeded,
    start_on_session_payment,
    void_card_charge,
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
from billing.services.stripe_events import claim_stripe_event, event_object

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
    "charge_on_terms",
    "claim_stripe_event",
    "complete_card_setup",
    "confirm_card_charge",
    "event_object",
    "find_card_charge_for_intent",
    "find_paid_charge",
    "finish_on_session_payment",
    "format_invoice_number",
    "issue_charge_invoice",
    "issue_invoice",
    "issue_monthly_invoices",
    "open_card_charge",
    "pay_new_supplier_orders_on_terms",
    "plans",
    "reconcile_day",
    "record_charge_in_ledger",
    "record_movement",
    "record_payment_intent_failed",
    "record_payment_intent_succeeded",
    "refresh_connected_account",
    "refresh_held_accounts",
    "refund_supplier_order",
    "register_payment_retry_task",
    "release_held_payouts",
    "request_payment_retry",
    "reverse_transfer",
    "schedule_payouts",
    "settle_payouts",
    "start_card_setup",
    "start_on_session_payment",
    "start_payout_onboarding",
    "submit_refund",
    "transfer_payout",
    "usage",
    "void_card_charge",
]
