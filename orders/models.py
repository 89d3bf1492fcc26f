import uuid
from pathlib import Path

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from catalog.models import Variant
from dropship.core.fields import EncryptedJSONField, EncryptedTextField
from dropship.core.models import TimeStampedModel
from dropship.core.money import ZERO, CurrencyField, MoneyField
from dropship.core.storage import private_storage


class Order(TimeStampedModel):
    """A shopper's order in a retailer's store, once per store order id."""

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending"
        AWAITING_PAYMENT = "AWAITING_PAYMENT", "Awaiting payment"
        CONFIRMED = "CONFIRMED", "Confirmed"
        PARTIALLY_SHIPPED = "PARTIALLY_SHIPPED", "Partially shipped"
        SHIPPED = "SHIPPED", "Shipped"
        PARTIALLY_DELIVERED = "PARTIALLY_DELIVERED", "Partially delivered"
        DELIVERED = "DELIVERED", "Delivered"
        CANCELLED = "CANCELLED", "Cancelled"
        EXCEPTION = "EXCEPTION", "Needs attention"
        HELD_FOR_REVIEW = "HELD_FOR_REVIEW", "Held for review"
        ON_HOLD = "ON_HOLD", "On hold (account suspended)"

    store = models.ForeignKey("retailers.Store", on_delete=models.PROTECT, related_name="orders")
    retailer = models.ForeignKey(
        "retailers.Retailer", on_delete=models.PROTECT, related_name="orders"
    )
    store_order_id = models.CharField(max_length=100)
    number = models.CharField(max_length=50, help_text="The store's order name, e.g. #1001.")
    currency = CurrencyField()
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    # The shopper's personal data is encrypted at rest and erased on a privacy request.
    shopper_name = EncryptedTextField(blank=True)
    shopper_email = EncryptedTextField(blank=True)
    shipping_address = EncryptedJSONField(null=True, blank=True)
    shipping_country = models.CharField(
        max_length=2, blank=True, help_text="Kept in clear for routing and shipping zones."
    )
    retail_total = MoneyField(default=ZERO)
    placed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the last parcel was delivered (the carrier's time); starts the return "
        "window.",
    )
    is_redacted = models.BooleanField(default=False)
    # A received order is held (its lines reserved, nothing routed) while the shopper has not
    # paid, or while the store has not shared where to ship it; orders.services.holds.
    is_awaiting_payment = models.BooleanField(default=False)
    payment_label = models.CharField(
        max_length=100, blank=True, help_text="The store's payment status, e.g. pending (COD)."
    )
    is_missing_address = models.BooleanField(
        default=False, help_text="The store did not share the shipping address."
    )
    held_since = models.DateTimeField(
        null=True, blank=True, help_text="When the hold's stock reservation started."
    )
    # Held because it matched a fraud rule (orders.services.fraud): the retailer releases or
    # cancels it; review_reasons says which rules, in words the retailer reads.
    is_held_for_review = models.BooleanField(default=False)
    # Held because its retailer was suspended when it came in (orders.services.account_holds):
    # routed when the retailer is active again.
    is_held_for_account = models.BooleanField(default=False)
    review_reasons = models.CharField(max_length=500, blank=True)
    billing_country = models.CharField(max_length=2, blank=True)
    # Keyed hashes of the normalised shipping address and shopper email (both encrypted above)
    # so the velocity rules can count recent orders with an indexed query; blanked on erasure.
    address_fingerprint = models.CharField(max_length=64, blank=True)
    shopper_fingerprint = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["store", "store_order_id"], name="order_unique_per_store"
            ),
            models.CheckConstraint(
                name="order_held_since_when_held",
                condition=Q(
                    is_awaiting_payment=False,
                    is_missing_address=False,
                    is_held_for_review=False,
                    is_held_for_account=False,
                )
                | Q(held_since__isnull=False),
            ),
        ]
        indexes = [
            models.Index(fields=["retailer", "-created_at"], name="order_retailer_recent"),
            models.Index(
                fields=["retailer", "address_fingerprint", "created_at"],
                name="order_address_velocity",
                condition=~Q(address_fingerprint=""),
            ),
            models.Index(
                fields=["retailer", "shopper_fingerprint", "created_at"],
                name="order_shopper_velocity",
                condition=~Q(shopper_fingerprint=""),
            ),
        ]

    def __str__(self) -> str:
        return f"Order {self.number}"

    @property
    def is_held(self) -> bool:
        return (
            self.is_awaiting_payment
            or self.is_missing_address
            or self.is_held_for_review
            or self.is_held_for_account
        )


class FraudRule(TimeStampedModel):
    """One fraud check: a platform default (no retailer) or a retailer's own setting of it.

    For each kind the retailer's row, when it has one, replaces the platform default (also to
    switch a check off). An order matching an enabled rule is held for the retailer's review
    before anything is charged or sent to a supplier (orders.services.fraud)."""

    class Kind(models.TextChoices):
        ORDER_VALUE = "ORDER_VALUE", "Order value over a threshold"
        ADDRESS_VELOCITY = "ADDRESS_VELOCITY", "Many orders to one shipping address"
        SHOPPER_VELOCITY = "SHOPPER_VELOCITY", "Many orders from one shopper"
        NEW_STORE = "NEW_STORE", "Large order in a store connected recently"
        COUNTRY_MISMATCH = "COUNTRY_MISMATCH", "Billing and shipping countries differ"

    AMOUNT_KINDS = (Kind.ORDER_VALUE, Kind.NEW_STORE)
    VELOCITY_KINDS = (Kind.ADDRESS_VELOCITY, Kind.SHOPPER_VELOCITY)

    retailer = models.ForeignKey(
        "retailers.Retailer",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="fraud_rules",
        help_text="Empty for the platform default every retailer gets unless it sets its own.",
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    is_enabled = models.BooleanField(default=True)
    amount = MoneyField(
        null=True,
        blank=True,
        help_text="Order value and new store: hold orders whose total (in the order's "
        "currency) is more than this.",
    )
    max_orders = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Velocity: hold an order that makes more than this many orders in the window.",
    )
    window_hours = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Velocity: the window counted back from now. New store: a store connected "
        "less than this many hours ago.",
    )

    class Meta:
        ordering = ["kind", "retailer_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind"],
                condition=Q(retailer__isnull=True),
                name="fraud_rule_one_platform_default_per_kind",
            ),
            models.UniqueConstraint(
                fields=["retailer", "kind"],
                condition=Q(retailer__isnull=False),
                name="fraud_rule_one_per_retailer_and_kind",
            ),
            models.CheckConstraint(
                name="fraud_rule_amount_when_needed",
                violation_error_message="An enabled order value or new store check needs an amount.",
                condition=Q(is_enabled=False)
                | ~Q(kind__in=["ORDER_VALUE", "NEW_STORE"])
                | Q(amount__isnull=False, amount__gte=0),
            ),
            models.CheckConstraint(
                name="fraud_rule_window_when_needed",
                violation_error_message="An enabled velocity or new store check needs a window of at least 1 hour.",
                condition=Q(is_enabled=False)
                | ~Q(kind__in=["ADDRESS_VELOCITY", "SHOPPER_VELOCITY", "NEW_STORE"])
                | Q(window_hours__isnull=False, window_hours__gte=1),
            ),
            models.CheckConstraint(
                name="fraud_rule_max_orders_when_needed",
                violation_error_message="An enabled velocity check needs a number of orders (at least 1).",
                condition=Q(is_enabled=False)
                | ~Q(kind__in=["ADDRESS_VELOCITY", "SHOPPER_VELOCITY"])
                | Q(max_orders__isnull=False, max_orders__gte=1),
            ),
        ]

    def __str__(self) -> str:
        owner = (self.retailer_id and f"retailer {self.retailer_id}") or "platform default"
        return f"{self.get_kind_display()} ({owner})"


class SupplierOrder(TimeStampedModel):
    """The part of an order one supplier fulfils, with the money frozen when it was routed."""

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending payment"
        PAYMENT_FAILED = "PAYMENT_FAILED", "Payment failed"
        PAID = "PAID", "Paid"
        SENT = "SENT", "Sent to supplier"
        ACCEPTED = "ACCEPTED", "Accepted"
        SHIPPED = "SHIPPED", "Shipped"
        DELIVERED = "DELIVERED", "Delivered"
        EXCEPTION = "EXCEPTION", "Exception"
        CANCELLED = "CANCELLED", "Cancelled"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="supplier_orders")
    supplier = models.ForeignKey(
        "suppliers.Supplier", on_delete=models.PROTECT, related_name="supplier_orders"
    )
    number = models.CharField(max_length=40, unique=True)
    part = models.PositiveSmallIntegerField(
        default=1,
        help_text="1 for the first supplier order of this supplier in the order; a line that "
        "was waiting for stock or substituted after the first was sent goes in a new part.",
    )
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    # Every amount of a supplier order is in `currency`, the supplier's (its variants' currency):
    # what the retailer is charged, what the ledger records and the supplier is paid out in.
    currency = CurrencyField()
    wholesale_total = MoneyField(default=ZERO)
    shipping_total = MoneyField(default=ZERO)
    platform_fee = MoneyField(default=ZERO)
    # When the order (the store) is in another currency: one unit of `currency` in the order's
    # currency, and the day of that reference rate, frozen at routing for the margin figures.
    # Both empty when the currencies are the same.
    exchange_rate = models.DecimalField(max_digits=18, decimal_places=8, null=True, blank=True)
    exchange_rate_date = models.DateField(null=True, blank=True)
    commission_percent = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    status_reason = models.TextField(blank=True, help_text="Why rejected, held or in exception.")
    carrier = models.CharField(max_length=32, blank=True)
    tracking_number = models.CharField(max_length=100, blank=True)
    tracking_url = models.URLField(max_length=500, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    is_flagged = models.BooleanField(default=False, help_text="Raised by the watchdog for support.")
    flag_reason = models.CharField(max_length=300, blank=True)
    flag_cleared_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When support last cleared the flag (the watchdog waits a day).",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "supplier", "part"], name="supplier_order_one_per_supplier_part"
            ),
            models.CheckConstraint(
                name="supplier_order_money_non_negative",
                condition=Q(wholesale_total__gte=0, shipping_total__gte=0, platform_fee__gte=0),
            ),
            models.CheckConstraint(
                name="supplier_order_rate_with_its_date",
                condition=Q(exchange_rate__isnull=True, exchange_rate_date__isnull=True)
                | Q(exchange_rate__gt=0, exchange_rate_date__isnull=False),
            ),
        ]
        indexes = [
            models.Index(fields=["supplier", "status"], name="supplier_order_inbox"),
            # The operations home counts the watchdog's flags: a few rows among millions.
            models.Index(
                fields=["is_flagged"], condition=Q(is_flagged=True), name="supplier_order_flagged"
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def total(self):
        """What the retailer pays: wholesale + shipping + platform fee."""
        return self.wholesale_total + self.shipping_total + self.platform_fee


class OrderItem(models.Model):
    class Status(models.TextChoices):
        RESERVED = "RESERVED", "Reserved"
        # A line of a held order whose reservation lapsed (or could not be made): it is
        # reserved again when the order is released.
        HELD = "HELD", "Held with the order"
        EXCEPTION = "EXCEPTION", "Out of stock"
        NOT_OURS = "NOT_OURS", "Not a Dropship product"
        SHIPPED = "SHIPPED", "Shipped"
        CANCELLED = "CANCELLED", "Cancelled"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    supplier_order = models.ForeignKey(
        SupplierOrder, null=True, blank=True, on_delete=models.SET_NULL, related_name="items"
    )
    variant = models.ForeignKey(
        "catalog.Variant",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="order_items",
    )
    listing_variant = models.ForeignKey(
        "retailers.ListingVariant",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    store_line_id = models.CharField(max_length=100)
    store_variant_id = models.CharField(max_length=100, blank=True)
    sku = models.CharField(max_length=100, blank=True)
    title = models.CharField(max_length=500)
    quantity = models.PositiveIntegerField()
    quantity_shipped = models.PositiveIntegerField(default=0)
    wholesale_unit_price = MoneyField(null=True, blank=True)
    retail_unit_price = MoneyField(default=ZERO)
    status = models.CharField(max_length=10, choices=Status.choices, db_index=True)
    status_reason = models.CharField(max_length=300, blank=True)
    is_waiting_for_stock = models.BooleanField(
        default=False,
        help_text="The retailer chose to wait: the reservation is retried when stock returns.",
    )

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["order", "store_line_id"], name="order_item_unique_line"
            ),
            models.CheckConstraint(
                name="order_item_quantity_positive", condition=Q(quantity__gt=0)
            ),
            models.CheckConstraint(
                name="order_item_shipped_within_quantity",
                condition=Q(quantity_shipped__lte=F("quantity")),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.title}"

    @property
    def quantity_to_ship(self) -> int:
        return self.quantity - self.quantity_shipped

    @property
    def catalog_variant(self) -> Variant:
        """The variant this line reserves, ships or waits for. Every line but a NOT_OURS one
        (a product the store sells that is not from Dropship) has one."""
        if self.variant is None:
            raise ValueError(f"Order item {self.pk} is not a Dropship product: it has no variant.")
        return self.variant

    def stock_line(self, quantity: int | None = None) -> tuple[int, int]:
        """(variant id, units) for catalog's stock movements: the line's whole quantity unless
        told. Like `catalog_variant`, only a line of a Dropship product has stock to move."""
        if self.variant_id is None:
            raise ValueError(f"Order item {self.pk} is not a Dropship product: it has no stock.")
        return self.variant_id, self.quantity if quantity is None else quantity


class TrackingStatus(models.TextChoices):
    """A parcel's status in our words; each tracking provider's statuses map onto these."""

    UNKNOWN = "UNKNOWN", "Not scanned yet"
    PRE_TRANSIT = "PRE_TRANSIT", "Label created"
    IN_TRANSIT = "IN_TRANSIT", "In transit"
    OUT_FOR_DELIVERY = "OUT_FOR_DELIVERY", "Out for delivery"
    AVAILABLE_FOR_PICKUP = "AVAILABLE_FOR_PICKUP", "Available for pickup"
    DELIVERED = "DELIVERED", "Delivered"
    EXCEPTION = "EXCEPTION", "Delivery exception"
    RETURNED = "RETURNED", "Returned to sender"


# A parcel in one of these is done: no more polling, no watchdog.
FINAL_TRACKING_STATUSES = (TrackingStatus.DELIVERED, TrackingStatus.RETURNED)


class Shipment(TimeStampedModel):
    """One parcel: some lines of a supplier order with one carrier and tracking number."""

    class PushStatus(models.TextChoices):
        PENDING = "PENDING", "Pending"
        PUSHED = "PUSHED", "Pushed to store"
        # The store holds the lines (Shopify fulfillment order on hold or scheduled): sent
        # once the hold is released; push_error says why it is held.
        HELD = "HELD", "Held by the store"
        FAILED = "FAILED", "Failed"

    supplier_order = models.ForeignKey(
        SupplierOrder, on_delete=models.CASCADE, related_name="shipments"
    )
    carrier = models.CharField(max_length=32)
    tracking_number = models.CharField(max_length=100)
    tracking_url = models.URLField(max_length=500, blank=True)
    shipped_at = models.DateTimeField()
    store_fulfillment_id = models.CharField(max_length=100, blank=True)
    push_status = models.CharField(
        max_length=8, choices=PushStatus.choices, default=PushStatus.PENDING
    )
    push_error = models.TextField(blank=True)
    pushed_at = models.DateTimeField(null=True, blank=True)
    # Carrier tracking (orders/services/delivery.py): the tracker registered with the tracking
    # provider, the parcel's latest status by the carrier's own event times, and when we last
    # heard of it (a webhook or a poll).
    tracker_id = models.CharField(max_length=64, blank=True, db_index=True)
    tracker_error = models.CharField(max_length=500, blank=True)
    tracking_status = models.CharField(
        max_length=20, choices=TrackingStatus.choices, default=TrackingStatus.UNKNOWN
    )
    tracking_detail = models.CharField(max_length=300, blank=True)
    tracking_status_at = models.DateTimeField(
        null=True, blank=True, help_text="The carrier's time of the latest event."
    )
    tracking_checked_at = models.DateTimeField(
        null=True, blank=True, help_text="When the provider last told us about the parcel."
    )
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-shipped_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["supplier_order", "carrier", "tracking_number"],
                name="shipment_unique_tracking",
            ),
            models.CheckConstraint(
                name="shipment_delivered_at_when_delivered",
                condition=Q(tracking_status="DELIVERED", delivered_at__isnull=False)
                | (~Q(tracking_status="DELIVERED") & Q(delivered_at__isnull=True)),
            ),
        ]
        indexes = [
            models.Index(
                fields=["tracking_checked_at"],
                condition=~Q(tracking_status__in=["DELIVERED", "RETURNED"]),
                name="shipment_tracking_open",
            ),
        ]

    @property
    def is_tracking_final(self) -> bool:
        return self.tracking_status in FINAL_TRACKING_STATUSES

    def __str__(self) -> str:
        return f"{self.carrier} {self.tracking_number}"


class ShipmentItem(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="items")
    order_item = models.ForeignKey(
        OrderItem, on_delete=models.CASCADE, related_name="shipment_items"
    )
    quantity = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shipment", "order_item"], name="shipment_item_unique"),
            models.CheckConstraint(
                name="shipment_item_quantity_positive", condition=Q(quantity__gt=0)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.order_item_id}"


class TrackingEvent(models.Model):
    """One carrier scan of a parcel, once per (shipment, status, carrier time): repeated and
    out-of-order deliveries of the same history insert nothing new, so the parcel's state,
    computed from these rows, is the same whatever order they came in."""

    class Source(models.TextChoices):
        CARRIER = "CARRIER", "Carrier"
        SUPPLIER = "SUPPLIER", "Supplier"

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="tracking_events")
    status = models.CharField(max_length=20, choices=TrackingStatus.choices)
    occurred_at = models.DateTimeField()
    message = models.CharField(max_length=300, blank=True)
    location = models.CharField(max_length=200, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.CARRIER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["shipment", "status", "occurred_at"], name="tracking_event_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.status} at {self.occurred_at:%Y-%m-%d %H:%M}"


class OrderEvent(models.Model):
    """A line of an order's timeline: received, reserved, paid, sent, accepted, shipped ..."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    supplier_order = models.ForeignKey(
        SupplierOrder, null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    kind = models.CharField(max_length=32, db_index=True)
    message = models.CharField(max_length=500)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


def return_file_path(instance: models.Model, filename: str) -> str:
    """Private path of a return's photo or label: a random name, the extension kept."""
    extension = Path(filename).suffix.lower()[:8]
    return f"returns/{uuid.uuid4().hex}{extension}"


class ReturnRequest(TimeStampedModel):
    """A return (RMA) of delivered lines of one supplier order. Every change of `status` goes
    through orders.services.returns, the one place that knows the transitions; the constraints
    below keep each state's facts in the database."""

    class Status(models.TextChoices):
        REQUESTED = "REQUESTED", "Requested"
        APPROVED = "APPROVED", "Approved: send it back"
        OFFERED = "OFFERED", "Partial refund offered"
        SHIPPED_BACK = "SHIPPED_BACK", "On its way back"
        RECEIVED = "RECEIVED", "Received by supplier"
        REFUNDED = "REFUNDED", "Refunded"
        # Declined by the supplier (or its partial offer refused by the retailer): the parties
        # disagree, and either may escalate it to support.
        REJECTED = "REJECTED", "Declined"
        CANCELLED = "CANCELLED", "Withdrawn"

    class Reason(models.TextChoices):
        DEFECTIVE = "DEFECTIVE", "Defective or does not work"
        DAMAGED = "DAMAGED", "Arrived damaged"
        WRONG_ITEM = "WRONG_ITEM", "Wrong item sent"
        NOT_AS_DESCRIBED = "NOT_AS_DESCRIBED", "Not as described"
        NO_LONGER_WANTED = "NO_LONGER_WANTED", "Shopper no longer wants it"
        OTHER = "OTHER", "Other"

    class Condition(models.TextChoices):
        FULL = "FULL", "Everything came back"
        PARTIAL = "PARTIAL", "Only part came back"
        DAMAGED = "DAMAGED", "Came back damaged"

    # Reasons that are the supplier's doing: no restocking fee is kept on them.
    SUPPLIER_FAULT = (
        Reason.DEFECTIVE,
        Reason.DAMAGED,
        Reason.WRONG_ITEM,
        Reason.NOT_AS_DESCRIBED,
    )
    # Not settled yet (a RECEIVED one waits for its refund); the shopper purge waits for them.
    OPEN_STATUSES = (
        Status.REQUESTED,
        Status.APPROVED,
        Status.OFFERED,
        Status.SHIPPED_BACK,
        Status.RECEIVED,
    )
    # Ended without goods or money moving: their units may be returned again.
    VOID_STATUSES = (Status.REJECTED, Status.CANCELLED)

    supplier_order = models.ForeignKey(
        SupplierOrder, on_delete=models.CASCADE, related_name="returns"
    )
    number = models.CharField(max_length=40, unique=True)
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.REQUESTED, db_index=True
    )
    reason_code = models.CharField(max_length=20, choices=Reason.choices)
    reason = models.TextField(blank=True, max_length=2000, help_text="In the retailer's words.")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The supplier's policy when the return was opened (it may change later).
    window_days = models.PositiveSmallIntegerField(default=0)
    restocking_fee_percent = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    return_shipping_paid_by = models.CharField(max_length=8, blank=True)
    return_address = models.TextField(blank=True)
    # The supplier's answer.
    decided_at = models.DateTimeField(null=True, blank=True)
    supplier_instructions = models.TextField(blank=True)
    label_file = models.FileField(
        upload_to=return_file_path, storage=private_storage, blank=True, max_length=200
    )
    label_content_type = models.CharField(max_length=64, blank=True)
    label_number = models.CharField(
        max_length=100, blank=True, help_text="A prepaid label's tracking number."
    )
    decline_reason = models.TextField(blank=True)
    offered_amount = MoneyField(null=True, blank=True)
    # The way back.
    return_carrier = models.CharField(max_length=32, blank=True)
    return_tracking_number = models.CharField(max_length=100, blank=True)
    return_tracking_url = models.URLField(max_length=500, blank=True)
    shipped_back_at = models.DateTimeField(null=True, blank=True)
    # Receipt and refund.
    received_at = models.DateTimeField(null=True, blank=True)
    condition = models.CharField(max_length=8, choices=Condition.choices, blank=True)
    is_resellable = models.BooleanField(default=False)
    restocking_fee = MoneyField(default=ZERO)
    refund_amount = MoneyField(null=True, blank=True)
    refund = models.ForeignKey(
        "billing.Refund", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    refunded_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                name="return_status_allowed",
                condition=Q(
                    status__in=[
                        "REQUESTED",
                        "APPROVED",
                        "OFFERED",
                        "SHIPPED_BACK",
                        "RECEIVED",
                        "REFUNDED",
                        "REJECTED",
                        "CANCELLED",
                    ]
                ),
            ),
            models.CheckConstraint(
                name="return_declined_with_reason",
                condition=~Q(status="REJECTED") | ~Q(decline_reason=""),
            ),
            models.CheckConstraint(
                name="return_offer_has_amount",
                condition=~Q(status="OFFERED") | Q(offered_amount__gt=0),
            ),
            models.CheckConstraint(
                name="return_shipped_back_with_tracking",
                condition=~Q(status__in=["SHIPPED_BACK", "RECEIVED"])
                | ~Q(return_tracking_number=""),
            ),
            models.CheckConstraint(
                name="return_received_with_condition",
                condition=~Q(status="RECEIVED") | (Q(received_at__isnull=False) & ~Q(condition="")),
            ),
            models.CheckConstraint(
                name="return_refunded_with_refund",
                condition=~Q(status="REFUNDED")
                | Q(refund__isnull=False, refund_amount__gt=0, refunded_at__isnull=False),
            ),
            models.CheckConstraint(
                name="return_money_non_negative",
                condition=Q(restocking_fee__gte=0)
                & (Q(refund_amount__isnull=True) | Q(refund_amount__gte=0)),
            ),
        ]
        indexes = [
            models.Index(fields=["supplier_order", "status"], name="return_by_supplier_order"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


class ReturnLine(models.Model):
    """Units of one order line in a return, and how many of them came back."""

    return_request = models.ForeignKey(
        ReturnRequest, on_delete=models.CASCADE, related_name="lines"
    )
    order_item = models.ForeignKey(OrderItem, on_delete=models.PROTECT, related_name="returns")
    quantity = models.PositiveIntegerField()
    quantity_received = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["return_request", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["return_request", "order_item"], name="return_line_once_per_item"
            ),
            models.CheckConstraint(
                name="return_line_quantity_positive", condition=Q(quantity__gt=0)
            ),
            models.CheckConstraint(
                name="return_line_received_within_quantity",
                condition=Q(quantity_received__lte=F("quantity")),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.order_item_id}"


class ReturnPhoto(models.Model):
    """A photo the retailer attached to its return: private, served only to the two parties."""

    return_request = models.ForeignKey(
        ReturnRequest, on_delete=models.CASCADE, related_name="photos"
    )
    image = models.FileField(upload_to=return_file_path, storage=private_storage, max_length=200)
    content_type = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"Photo {self.pk} of {self.return_request_id}"


class Dispute(TimeStampedModel):
    """A case on a supplier order: a chargeback opened by the retailer's bank (Stripe decides it,
    billing/services/refunds.py apply_dispute), or a mediation between retailer and supplier that
    a support agent decides (orders/services/cases.py). Both hold that supplier order's payout,
    and only that one, while open."""

    class Kind(models.TextChoices):
        CHARGEBACK = "CHARGEBACK", "Chargeback"
        MEDIATION = "MEDIATION", "Mediation"

    class Status(models.TextChoices):
        OPEN = "OPEN", "Open"
        RESHIP = "RESHIP", "Awaiting reshipment"
        WON = "WON", "Won"
        LOST = "LOST", "Lost"
        CLOSED = "CLOSED", "Closed"

    class Reason(models.TextChoices):
        """Why a party asks for mediation (a chargeback keeps Stripe's reason as it came)."""

        RETURN_DECLINED = "return_declined", "Return declined"
        NOT_AS_DESCRIBED = "not_as_described", "Item not as described"
        NEVER_ARRIVED = "never_arrived", "Never arrived"
        OTHER = "other", "Other"

    class Party(models.TextChoices):
        RETAILER = "RETAILER", "Retailer"
        SUPPLIER = "SUPPLIER", "Supplier"
        SUPPORT = "SUPPORT", "Support"

    class Outcome(models.TextChoices):
        REFUND_FULL = "REFUND_FULL", "Refund the retailer in full"
        REFUND_PARTIAL = "REFUND_PARTIAL", "Refund the retailer in part"
        RELEASE = "RELEASE", "Release to the supplier"
        RESHIP = "RESHIP", "Reship by the supplier"

    OPEN_STATUSES = (Status.OPEN, Status.RESHIP)

    supplier_order = models.ForeignKey(
        SupplierOrder, on_delete=models.CASCADE, related_name="disputes"
    )
    kind = models.CharField(
        max_length=10, choices=Kind.choices, default=Kind.CHARGEBACK, db_index=True
    )
    stripe_dispute_id = models.CharField(max_length=64, null=True, blank=True, unique=True)
    reason = models.CharField(max_length=100, blank=True)
    amount = MoneyField(default=ZERO)
    currency = CurrencyField()
    status = models.CharField(
        max_length=6, choices=Status.choices, default=Status.OPEN, db_index=True
    )
    notes = models.TextField(blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    opened_by = models.CharField(max_length=8, choices=Party.choices, blank=True)
    opened_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    return_request = models.ForeignKey(
        ReturnRequest,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cases",
        help_text="The declined return this case escalates, if any.",
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_cases",
        limit_choices_to={"is_staff": True},
    )
    outcome = models.CharField(max_length=14, choices=Outcome.choices, blank=True)
    outcome_amount = MoneyField(null=True, blank=True)
    resolution = models.TextField(
        blank=True, help_text="Support's decision, shown to both parties."
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reship_carrier = models.CharField(max_length=50, blank=True)
    reship_tracking_number = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                name="dispute_chargeback_has_stripe_id",
                condition=Q(kind="CHARGEBACK", stripe_dispute_id__isnull=False)
                | Q(kind="MEDIATION", stripe_dispute_id__isnull=True),
            ),
            models.UniqueConstraint(
                fields=["supplier_order"],
                condition=Q(kind="MEDIATION", status__in=["OPEN", "RESHIP"]),
                name="one_open_case_per_supplier_order",
            ),
            models.CheckConstraint(
                name="dispute_outcome_matches_status",
                condition=Q(kind="CHARGEBACK")
                | Q(status="OPEN", outcome="")
                | Q(status="RESHIP", outcome="RESHIP")
                | Q(status="CLOSED"),
            ),
        ]

    def __str__(self) -> str:
        if self.kind == self.Kind.MEDIATION:
            return f"Case #{self.pk} on {self.supplier_order}"
        return f"Dispute on {self.supplier_order}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def reason_label(self) -> str:
        labels = dict(self.Reason.choices)
        return str(labels.get(self.reason, self.reason.replace("_", " ") or "no reason given"))


def case_attachment_path(instance: "CaseAttachment", filename: str) -> str:
    return f"cases/{instance.statement.case_id}/{instance.statement_id}/{filename}"


class CaseStatement(models.Model):
    """What one party (or support) says on a mediation case; append-only."""

    case = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="statements")
    party = models.CharField(max_length=8, choices=Dispute.Party.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_party_display()} statement on case #{self.case_id}"


class CaseAttachment(models.Model):
    """A photo or document given with a statement: private storage, served only to the parties
    of the case and staff."""

    statement = models.ForeignKey(
        CaseStatement, on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(upload_to=case_attachment_path, storage=private_storage)
    name = models.CharField(max_length=255)
    content_type = models.CharField(max_length=50)
    size = models.PositiveIntegerField()

    def __str__(self) -> str:
        return self.name


class StoreOrderSync(TimeStampedModel):
    """The periodic order reconciliation of one store (orders/services/reconciliation.py): how
    far its poll has read, and whether the store's webhooks went quiet while orders kept coming.
    """

    store = models.OneToOneField(
        "retailers.Store", on_delete=models.CASCADE, related_name="order_sync"
    )
    watermark = models.DateTimeField(
        null=True, blank=True, help_text="The last order change the poll has taken in."
    )
    poll_lease_until = models.DateTimeField(null=True, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_poll_error = models.TextField(blank=True)
    orders_found = models.PositiveIntegerField(
        default=0, help_text="Order changes the poll stored that no webhook had brought."
    )
    unheard_order_ids = models.JSONField(
        default=list, blank=True, help_text="Orders placed after the last webhook received."
    )
    webhooks_quiet_since = models.DateTimeField(null=True, blank=True, db_index=True)
    quiet_reason = models.CharField(max_length=500, blank=True)
    webhooks_checked_at = models.DateTimeField(null=True, blank=True)
    webhooks_repaired = models.CharField(
        max_length=500, blank=True, help_text="What the last daily webhook check had to repair."
    )

    class Meta:
        verbose_name = "store order reconciliation"

    def __str__(self) -> str:
        return f"Order reconciliation of {self.store}"

    @property
    def is_webhooks_quiet(self) -> bool:
        return self.webhooks_quiet_since is not None
