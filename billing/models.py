import uuid

from django.db import models
from django.db.models import Q

from dropship.core.models import TimeStampedModel
from dropship.core.money import ZERO, CurrencyField, MoneyField


class FeeSchedule(TimeStampedModel):
    """What the platform earns on a retailer plan: a fee per supplier order and a supplier commission."""

    plan = models.CharField(
        max_length=10,
        choices=[("BASIC", "Basic"), ("PRO", "Pro"), ("ENTERPRISE", "Enterprise")],
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
                condition=Q(order_fee__gte=0, monthly_price__gte=0),
            ),
        ]

    def __str__(self) -> str:
        return self.get_plan_display()


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
    invoice = models.ForeignKey(
        "billing.Invoice", null=True, blank=True, on_delete=models.SET_NULL, related_name="charges"
    )

    class Meta:
        ordering = ["-created_at"]
        permissions = [("refund_charge", "Can refund a charge")]
        constraints = [
            models.CheckConstraint(name="charge_amount_non_negative", condition=Q(amount__gte=0)),
            models.CheckConstraint(
                name="charge_refund_within_amount",
                condition=Q(amount_refunded__gte=0, amount_refunded__lte=models.F("amount")),
            ),
        ]

    def __str__(self) -> str:
        return f"Charge {self.amount} {self.currency} for {self.supplier_order_id}"


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
            )
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
    transfer_group = models.CharField(max_length=64, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)

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
