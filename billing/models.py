import uuid

from django.db import models
from django.db.models import Q

from dropship.core.models import TimeStampedModel
from dropship.core.money import ZERO, CurrencyField, MoneyField


class FeeSchedule(TimeStampedModel):
    """A retailer plan: its monthly price (a Stripe Billing Price, billing/services/plans.py), its
    limits, and what the platform earns on it (a fee per supplier order, a supplier commission).

    The plan keys are the seed's (BASIC, PRO, ENTERPRISE); customers see them as Starter, Growth
    and Pro."""

    plan = models.CharField(
        max_length=10,
        choices=[("BASIC", "Starter"), ("PRO", "Growth"), ("ENTERPRISE", "Pro")],
        unique=True,
    )
    monthly_price = MoneyField(default=ZERO)
    order_fee = MoneyField(default=ZERO, help_text="Charged to the retailer per supplier order.")
    commission_percent = models.DecimalField(
        max_digits=5, decimal_places=2, default=0, help_text="Kept from the supplier's payout."
    )
    monthly_order_limit = models.PositiveIntegerField(
        null=True, blank=True, help_text="Empty means unlimited."
    )
    supplier_limit = models.PositiveIntegerField(
        null=True, blank=True, help_text="Empty means unlimited."
    )
    store_limit = models.PositiveIntegerField(
        null=True, blank=True, help_text="Connected stores; empty means unlimited."
    )
    overage_order_fee = MoneyField(
        default=ZERO,
        help_text="Added to the platform fee of each order routed over the monthly order limit.",
    )
    trial_days = models.PositiveSmallIntegerField(
        default=14, help_text="Free days before the first invoice of a new subscription (0: none)."
    )
    stripe_product_id = models.CharField(max_length=64, blank=True)
    stripe_price_id = models.CharField(
        max_length=64, blank=True, help_text="Set by `manage.py sync_stripe_plans`."
    )
    currency = CurrencyField()

    class Meta:
        ordering = ["monthly_price"]
        constraints = [
            models.CheckConstraint(
                name="fee_schedule_commission_range",
                condition=Q(commission_percent__gte=0, commission_percent__lt=100),
            ),
            models.CheckConstraint(
                name="fee_schedule_money_non_negative",
                condition=Q(order_fee__gte=0, monthly_price__gte=0, overage_order_fee__gte=0),
            ),
        ]

    def __str__(self) -> str:
        return self.get_plan_display()

    @property
    def lookup_key(self) -> str:
        """The Stripe Price's lookup key: how the sync command finds its own prices again."""
        return f"dropship_plan_{self.plan.lower()}"


class Charge(TimeStampedModel):
    """A retailer's payment for one supplier order (card through Stripe, or on payment terms)."""

    class Method(models.TextChoices):
        CARD = "CARD", "Card"
        TERMS = "TERMS", "Payment terms"

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending"
        SUCCEEDED = "SUCCEEDED", "Succeeded"
        FAILED = "FAILED", "Failed"
        REFUNDED = "REFUNDED", "Refunded"
        PARTIALLY_REFUNDED = "PARTIALLY_REFUNDED", "Partially refunded"

    supplier_order = models.ForeignKey(
        "orders.SupplierOrder", on_delete=models.PROTECT, related_name="charges"
    )
    retailer = models.ForeignKey(
        "retailers.Retailer", on_delete=models.PROTECT, related_name="charges"
    )
    method = models.CharField(max_length=5, choices=Method.choices)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    amount = MoneyField()
    amount_refunded = MoneyField(default=ZERO)
    currency = CurrencyField()
    idempotency_key = models.CharField(max_length=120, unique=True)
    stripe_payment_intent_id = models.CharField(max_length=64, null=True, blank=True, unique=True)
    stripe_charge_id = models.CharField(max_length=64, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    failure_code = models.CharField(
        max_length=40,
        blank=True,
        help_text="Stripe's code; authentication_required: the retailer confirms it on-session.",
    )
    invoice = models.ForeignKey(
        "billing.Invoice", null=True, blank=True, on_delete=models.SET_NULL, related_name="charges"
    )
    attempt = models.PositiveSmallIntegerField(
        default=1, help_text="1 for the first try; a new card makes a new attempt (and key)."
    )
    stripe_payment_method_id = models.CharField(max_length=64, blank=True)
    card_label = models.CharField(max_length=40, blank=True, help_text="e.g. Visa •••• 4242")
    stripe_fee = MoneyField(default=ZERO, help_text="Stripe's processing fee (platform's cost).")
    settled_at = models.DateTimeField(null=True, blank=True)
    # Where Stripe settled it: the platform's balance may be in another currency than the charge
    # (converted at `exchange_rate`); Stripe's amount and fee are then in that currency.
    settlement_currency = models.CharField(max_length=3, blank=True)
    settlement_amount = MoneyField(default=ZERO)
    settlement_fee = MoneyField(default=ZERO, help_text="Stripe's fee, in the settlement currency.")
    exchange_rate = models.DecimalField(max_digits=18, decimal_places=9, null=True, blank=True)
    intent_canceled_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Its PaymentIntent, left awaiting authentication, was cancelled at Stripe "
        "(a new card or another payment replaced it): it can never be confirmed.",
    )

    LIVE_STATUSES = ("PENDING", "SUCCEEDED", "PARTIALLY_REFUNDED", "REFUNDED")
    PAID_STATUSES = ("SUCCEEDED", "PARTIALLY_REFUNDED", "REFUNDED")

    class Meta:
        ordering = ["-created_at"]
        permissions = [("refund_charge", "Can refund a charge")]
        constraints = [
            models.CheckConstraint(name="charge_amount_non_negative", condition=Q(amount__gte=0)),
            models.CheckConstraint(
                name="charge_refund_within_amount",
                condition=Q(amount_refunded__gte=0, amount_refunded__lte=models.F("amount")),
            ),
            # Never two payments for one supplier order: at most one charge pending or paid.
            models.UniqueConstraint(
                fields=["supplier_order"],
                condition=Q(status__in=["PENDING", "SUCCEEDED", "PARTIALLY_REFUNDED", "REFUNDED"]),
                name="charge_one_live_per_supplier_order",
            ),
        ]

    def __str__(self) -> str:
        return f"Charge {self.amount} {self.currency} for {self.supplier_order_id}"

    @property
    def is_paid(self) -> bool:
        return self.status in self.PAID_STATUSES

    @property
    def refundable(self):
        return self.amount - self.amount_refunded if self.is_paid else ZERO

    @property
    def needs_authentication(self) -> bool:
        """A failed off-session attempt the retailer's bank wants confirmed with 3-D Secure."""
        return (
            self.status == self.Status.FAILED
            and self.failure_code == "authentication_required"
            and bool(self.stripe_payment_intent_id)
            and self.intent_canceled_at is None
        )


class Invoice(TimeStampedModel):
    """A numbered invoice; numbers are sequential per year with no gaps (INV-2026-000042)."""

    class Status(models.TextChoices):
        DRAFT = "DRAFT", "Draft"
        OPEN = "OPEN", "Open"
        PAID = "PAID", "Paid"
        VOID = "VOID", "Void"

    retailer = models.ForeignKey(
        "retailers.Retailer", on_delete=models.PROTECT, related_name="invoices"
    )
    year = models.PositiveSmallIntegerField()
    sequence = models.PositiveIntegerField()
    number = models.CharField(max_length=20, unique=True)
    status = models.CharField(max_length=5, choices=Status.choices, default=Status.OPEN)
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    subtotal = MoneyField(default=ZERO)
    total = MoneyField(default=ZERO)
    currency = CurrencyField()
    issued_at = models.DateTimeField()
    due_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    lines = models.JSONField(default=list, blank=True, help_text="Frozen lines as printed.")

    class Meta:
        ordering = ["-year", "-sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["year", "sequence"], name="invoice_number_unique_per_year"
            ),
            # One monthly invoice per payment-terms retailer and period.
            models.UniqueConstraint(
                fields=["retailer", "period_start", "period_end"],
                condition=Q(period_start__isnull=False),
                name="invoice_one_per_retailer_period",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class InvoiceCounter(models.Model):
    """The last invoice sequence of a year; its row is locked while a number is taken, so no gaps."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last_sequence = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last_sequence}"


class Payout(TimeStampedModel):
    """What a supplier is paid for a shipped supplier order: wholesale + shipping − commission."""

    class Status(models.TextChoices):
        SCHEDULED = "SCHEDULED", "Scheduled (holdback)"
        HELD = "HELD", "Held"
        PAID = "PAID", "Transferred"
        FAILED = "FAILED", "Failed"
        REVERSED = "REVERSED", "Reversed"
        CANCELLED = "CANCELLED", "Nothing to pay (refunded)"

    supplier = models.ForeignKey(
        "suppliers.Supplier", on_delete=models.PROTECT, related_name="payouts"
    )
    supplier_order = models.OneToOneField(
        "orders.SupplierOrder", on_delete=models.PROTECT, related_name="payout"
    )
    amount = MoneyField()
    amount_reversed = MoneyField(default=ZERO)
    currency = CurrencyField()
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.SCHEDULED, db_index=True
    )
    status_reason = models.CharField(max_length=300, blank=True)
    available_at = models.DateTimeField(help_text="End of the holdback period.")
    stripe_transfer_id = models.CharField(max_length=64, null=True, blank=True, unique=True)
    transfer_currency = models.CharField(
        max_length=3, blank=True, help_text="Set when the transfer left in another currency."
    )
    transfer_amount = MoneyField(default=ZERO, help_text="In transfer_currency, when set.")
    transfer_group = models.CharField(max_length=64, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    transfer_attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Transfers Stripe refused for a temporary reason (balance short)."
    )
    retry_at = models.DateTimeField(
        null=True, blank=True, help_text="Not transferred before this (a temporary refusal)."
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(name="payout_amount_non_negative", condition=Q(amount__gte=0)),
            models.CheckConstraint(
                name="payout_reversal_within_amount",
                condition=Q(amount_reversed__gte=0, amount_reversed__lte=models.F("amount")),
            ),
        ]

    def __str__(self) -> str:
        return f"Payout {self.amount} {self.currency} to {self.supplier_id}"


class LedgerEntry(models.Model):
    """One leg of a money movement. The legs sharing a `transaction_id` sum to zero (double entry);
    balances are sums over an account, never stored."""

    class Account(models.TextChoices):
        RETAILER_RECEIVABLE = "RETAILER_RECEIVABLE", "Retailer receivable"
        SUPPLIER_PAYABLE = "SUPPLIER_PAYABLE", "Supplier payable"
        PLATFORM_REVENUE = "PLATFORM_REVENUE", "Platform revenue"
        STRIPE_CLEARING = "STRIPE_CLEARING", "Stripe clearing"
        STRIPE_FEES = "STRIPE_FEES", "Stripe fees"

    class Kind(models.TextChoices):
        CHARGE = "CHARGE", "Charge"
        FEE = "FEE", "Platform fee"
        COMMISSION = "COMMISSION", "Commission"
        TRANSFER = "TRANSFER", "Transfer to supplier"
        REFUND = "REFUND", "Refund"
        REVERSAL = "REVERSAL", "Transfer reversal"
        STRIPE_FEE = "STRIPE_FEE", "Stripe fee"
        REFUND_FAILED = "REFUND_FAIL", "Refund failed (reversed)"
        SUBSCRIPTION = "SUBSCRIPTION", "Plan subscription"

    transaction_id = models.UUIDField(default=uuid.uuid4, db_index=True)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    account = models.CharField(max_length=20, choices=Account.choices)
    retailer = models.ForeignKey(
        "retailers.Retailer", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    supplier = models.ForeignKey(
        "suppliers.Supplier", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    supplier_order = models.ForeignKey(
        "orders.SupplierOrder",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ledger_entries",
    )
    amount = MoneyField(allow_negative=True, help_text="Debit positive, credit negative.")
    currency = CurrencyField()
    memo = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "ledger entries"
        indexes = [
            models.Index(fields=["account", "supplier"]),
            models.Index(fields=["account", "retailer"]),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.amount} {self.currency}"


class Refund(TimeStampedModel):
    """Money given back to a retailer on a supplier order: a line, an amount or all of it.

    The split says where it comes from: the supplier's share (wholesale and shipping, with the
    commission on it returned) and the platform fee. `amount == supplier_share + platform_fee_share`.
    """

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending"
        SUCCEEDED = "SUCCEEDED", "Refunded"
        FAILED = "FAILED", "Failed"

    class Source(models.TextChoices):
        SUPPORT = "SUPPORT", "Support agent"
        STRIPE = "STRIPE", "Made in Stripe"
        CHARGEBACK = "CHARGEBACK", "Chargeback lost"

    charge = models.ForeignKey(Charge, on_delete=models.PROTECT, related_name="refunds")
    supplier_order = models.ForeignKey(
        "orders.SupplierOrder", on_delete=models.PROTECT, related_name="refunds"
    )
    order_item = models.ForeignKey(
        "orders.OrderItem",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="refunds",
        help_text="Set when one line is refunded.",
    )
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.SUPPORT)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    amount = MoneyField()
    supplier_share = MoneyField(help_text="Taken back from wholesale + shipping.")
    platform_fee_share = MoneyField(help_text="Taken back from the platform fee.")
    commission_returned = MoneyField(help_text="Commission no longer kept on the refunded goods.")
    currency = CurrencyField()
    reason = models.TextField()
    failure_message = models.CharField(max_length=500, blank=True)
    idempotency_key = models.CharField(max_length=120, unique=True)
    stripe_refund_id = models.CharField(max_length=64, null=True, blank=True, unique=True)
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    refunded_at = models.DateTimeField(null=True, blank=True)
    reversed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Stripe reported it failed after it was booked: reversed in the ledger then.",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(name="refund_amount_positive", condition=Q(amount__gt=0)),
            models.CheckConstraint(
                name="refund_split_adds_up",
                condition=Q(amount=models.F("supplier_share") + models.F("platform_fee_share")),
            ),
            models.CheckConstraint(
                name="refund_commission_within_supplier_share",
                condition=Q(commission_returned__lte=models.F("supplier_share")),
            ),
            # One refund in flight per charge: each split is computed on the settled ones.
            models.UniqueConstraint(
                fields=["charge"],
                condition=Q(status="PENDING"),
                name="refund_one_pending_per_charge",
            ),
            models.UniqueConstraint(
                fields=["order_item"],
                condition=Q(order_item__isnull=False) & ~Q(status="FAILED"),
                name="refund_line_once",
            ),
        ]

    def __str__(self) -> str:
        return f"Refund {self.amount} {self.currency} on {self.supplier_order_id}"

    @property
    def supplier_net(self):
        """What the supplier gives back: its share minus the commission returned to it."""
        return self.supplier_share - self.commission_returned


class TransferReversal(TimeStampedModel):
    """Money taken back from a supplier's Stripe transfer (its share of a refund after payout)."""

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending"
        SUCCEEDED = "SUCCEEDED", "Reversed"
        FAILED = "FAILED", "Failed"

    payout = models.ForeignKey(Payout, on_delete=models.PROTECT, related_name="reversals")
    refund = models.ForeignKey(
        Refund, null=True, blank=True, on_delete=models.PROTECT, related_name="reversals"
    )
    amount = MoneyField()
    currency = CurrencyField()
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    failure_message = models.CharField(max_length=500, blank=True)
    idempotency_key = models.CharField(max_length=120, unique=True)
    stripe_reversal_id = models.CharField(max_length=64, null=True, blank=True, unique=True)
    reversed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(name="reversal_amount_positive", condition=Q(amount__gt=0)),
        ]

    def __str__(self) -> str:
        return f"Reversal {self.amount} {self.currency} of payout {self.payout_id}"


class ConnectedAccount(TimeStampedModel):
    """A supplier's Stripe Connect account, as Stripe last told us (API answer or account.updated)."""

    supplier = models.OneToOneField(
        "suppliers.Supplier", on_delete=models.PROTECT, related_name="connected_account"
    )
    stripe_account_id = models.CharField(max_length=64, unique=True)
    details_submitted = models.BooleanField(default=False)
    payouts_enabled = models.BooleanField(default=False)
    transfers_active = models.BooleanField(default=False)
    requirements_due = models.JSONField(default=list, blank=True)
    disabled_reason = models.CharField(max_length=100, blank=True)
    synced_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When Stripe reported this state (older events are ignored).",
    )

    def __str__(self) -> str:
        return self.stripe_account_id

    @property
    def is_enabled(self) -> bool:
        return self.payouts_enabled and self.transfers_active

    @property
    def status_label(self) -> str:
        return "Enabled" if self.is_enabled else "Details needed"


class BankPayout(TimeStampedModel):
    """Stripe paying a supplier's connected balance out to its bank (payout.paid / payout.failed)."""

    class Status(models.TextChoices):
        PAID = "PAID", "Paid to bank"
        FAILED = "FAILED", "Failed"
        IN_TRANSIT = "IN_TRANSIT", "In transit"

    supplier = models.ForeignKey(
        "suppliers.Supplier", on_delete=models.PROTECT, related_name="bank_payouts"
    )
    stripe_payout_id = models.CharField(max_length=64, unique=True)
    amount = MoneyField()
    currency = CurrencyField()
    status = models.CharField(max_length=10, choices=Status.choices)
    arrival_date = models.DateField(null=True, blank=True)
    failure_message = models.CharField(max_length=500, blank=True)
    reported_at = models.DateTimeField(help_text="When Stripe reported this state.")

    class Meta:
        ordering = ["-reported_at", "-id"]

    def __str__(self) -> str:
        return self.stripe_payout_id


class ReconciliationRun(models.Model):
    """One comparison of ledger, Stripe balance transactions and supplier orders for a day."""

    class Status(models.TextChoices):
        RUNNING = "RUNNING", "Running"
        CLEAN = "CLEAN", "Everything matches"
        MISMATCHES = "MISMATCHES", "Mismatches found"
        FAILED = "FAILED", "Could not run"

    day = models.DateField(db_index=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    balance_transactions_checked = models.PositiveIntegerField(default=0)
    supplier_orders_checked = models.PositiveIntegerField(default=0)
    mismatch_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-day", "-started_at"]

    def __str__(self) -> str:
        return f"Reconciliation {self.day} ({self.get_status_display()})"


class ReconciliationMismatch(models.Model):
    """Something the ledger, Stripe and the supplier orders disagree on, for an admin to resolve."""

    class Kind(models.TextChoices):
        MISSING_IN_LEDGER = "MISSING_IN_LEDGER", "In Stripe, not in our books"
        MISSING_IN_STRIPE = "MISSING_IN_STRIPE", "In our books, not in Stripe"
        AMOUNT = "AMOUNT", "Amounts differ"
        FEE = "FEE", "Stripe fee differs"
        ORDER_STATE = "ORDER_STATE", "Supplier order and money disagree"
        UNBALANCED = "UNBALANCED", "Ledger transaction does not balance"

    run = models.ForeignKey(ReconciliationRun, on_delete=models.CASCADE, related_name="mismatches")
    kind = models.CharField(max_length=20, choices=Kind.choices, db_index=True)
    reference = models.CharField(max_length=100, help_text="Stripe id or our record.")
    supplier_order = models.ForeignKey(
        "orders.SupplierOrder",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reconciliation_mismatches",
    )
    expected = models.CharField(max_length=100, blank=True)
    actual = models.CharField(max_length=100, blank=True)
    message = models.CharField(max_length=500)
    is_resolved = models.BooleanField(default=False)
    resolved_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "reconciliation mismatches"

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.reference}"


class StripeEvent(models.Model):
    """A Stripe event processed once: the unique id makes a duplicate delivery a no-op."""

    event_id = models.CharField(max_length=64, unique=True)
    type = models.CharField(max_length=64, db_index=True)
    created = models.DateTimeField()
    processed_at = models.DateTimeField(auto_now_add=True)
    payload = models.JSONField()

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class Subscription(TimeStampedModel):
    """A retailer's plan subscription at Stripe Billing, as Stripe last told us (webhooks and
    reads; billing/services/plans.py). `Retailer.plan` follows its price."""

    class Status(models.TextChoices):
        INCOMPLETE = "incomplete", "Waiting for the first payment"
        TRIALING = "trialing", "Free trial"
        ACTIVE = "active", "Active"
        PAST_DUE = "past_due", "Payment overdue"
        UNPAID = "unpaid", "Unpaid"
        CANCELED = "canceled", "Cancelled"
        INCOMPLETE_EXPIRED = "incomplete_expired", "Expired"
        PAUSED = "paused", "Paused"

    retailer = models.OneToOneField(
        "retailers.Retailer", on_delete=models.CASCADE, related_name="subscription"
    )
    stripe_subscription_id = models.CharField(max_length=64, unique=True)
    plan = models.CharField(max_length=10)
    status = models.CharField(max_length=20, choices=Status.choices, db_index=True)
    trial_end = models.DateTimeField(null=True, blank=True)
    current_period_start = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    canceled_at = models.DateTimeField(null=True, blank=True)
    past_due_since = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When a renewal first failed; the grace period runs from it.",
    )

    def __str__(self) -> str:
        return f"{self.plan} {self.status} ({self.stripe_subscription_id})"

    @property
    def is_live(self) -> bool:
        return self.status in (self.Status.TRIALING, self.Status.ACTIVE, self.Status.PAST_DUE)


class SubscriptionInvoice(TimeStampedModel):
    """A Stripe Billing invoice of a retailer's subscription (first payment, renewal, proration).
    Paid once, it is booked once as platform revenue (`booked_at`)."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        OPEN = "open", "Open"
        PAID = "paid", "Paid"
        VOID = "void", "Void"
        UNCOLLECTIBLE = "uncollectible", "Uncollectible"

    retailer = models.ForeignKey(
        "retailers.Retailer", on_delete=models.PROTECT, related_name="subscription_invoices"
    )
    stripe_invoice_id = models.CharField(max_length=64, unique=True)
    stripe_subscription_id = models.CharField(max_length=64, blank=True)
    number = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=14, choices=Status.choices)
    billing_reason = models.CharField(max_length=40, blank=True)
    description = models.CharField(max_length=300, blank=True)
    amount_due = MoneyField(default=ZERO)
    amount_paid = MoneyField(default=ZERO)
    currency = CurrencyField()
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    attempt_count = models.PositiveSmallIntegerField(default=0)
    next_payment_attempt = models.DateTimeField(null=True, blank=True)
    hosted_invoice_url = models.URLField(max_length=500, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    booked_at = models.DateTimeField(null=True, blank=True)
    issued_at = models.DateTimeField()

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.CheckConstraint(
                name="subscription_invoice_money_non_negative",
                condition=Q(amount_due__gte=0, amount_paid__gte=0),
            ),
        ]

    def __str__(self) -> str:
        return self.number or self.stripe_invoice_id


class PlanUsage(models.Model):
    """A retailer's routed orders in one calendar month (UTC): one counter row, bumped by one
    UPSERT per routed order (billing/services/usage.py), so a limit check never counts orders."""

    retailer = models.ForeignKey(
        "retailers.Retailer", on_delete=models.CASCADE, related_name="plan_usage"
    )
    month = models.DateField(help_text="The first day of the month.")
    routed_orders = models.PositiveIntegerField(default=0)
    overage_orders = models.PositiveIntegerField(default=0)
    warned_near_limit_at = models.DateTimeField(null=True, blank=True)
    warned_at_limit_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["retailer", "month"], name="plan_usage_one_per_month")
        ]

    def __str__(self) -> str:
        return f"{self.retailer_id} {self.month:%Y-%m}: {self.routed_orders}"
