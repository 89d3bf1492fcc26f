import uuid

from django.db import models
from django.db.models import Q

from dropship.core.fields import EncryptedJSONField, EncryptedTextField
from dropship.core.models import TimeStampedModel
from dropship.core.money import CurrencyField, MoneyField


class Retailer(TimeStampedModel):
    """A business that sells supplier products in its own online stores."""

    class Status(models.TextChoices):
        ACTIVE = "ACTIVE", "Active"
        SUSPENDED = "SUSPENDED", "Suspended"

    class Plan(models.TextChoices):
        # The seed's keys; customers see the names of the pricing page.
        BASIC = "BASIC", "Starter"
        PRO = "PRO", "Growth"
        ENTERPRISE = "ENTERPRISE", "Pro"

    business_name = models.CharField(max_length=255)
    slug = models.SlugField(max_length=255, unique=True)
    contact_email = models.EmailField(blank=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.ACTIVE, db_index=True
    )
    plan = models.CharField(max_length=10, choices=Plan.choices, default=Plan.BASIC)
    currency = CurrencyField()
    has_payment_terms = models.BooleanField(
        default=False,
        help_text="Trusted to pay a monthly invoice instead of a card charge per order (set by admins).",
    )
    is_mfa_required = models.BooleanField(
        "two-factor authentication required",
        default=False,
        help_text="Set by an owner on the Team page: every member must use two-factor authentication.",
    )
    # Branding on packing slips and invoices: the shopper sees the retailer, never the supplier.
    brand_name = models.CharField(max_length=255, blank=True)
    brand_logo = models.ImageField(upload_to="retailers/logos/", blank=True)
    packing_slip_message = models.CharField(max_length=500, blank=True)
    unpublish_when_out_of_stock = models.BooleanField(default=True)
    # True unit economics (retailers.pricing.unit_economics): where shoppers usually are, which
    # picks the supplier's domestic or international rate, and what the retailer's own payment
    # processor takes per order (e.g. 2.9 % + 0.30), an estimate the retailer sets.
    home_country = models.CharField(
        max_length=2,
        blank=True,
        help_text="ISO 3166-1 alpha-2 country most of your shoppers are in; margins count the "
        "supplier's shipping rate to it (empty: the supplier's domestic rate).",
    )
    processing_fee_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=0,
        help_text="Your payment processor's percent of each order's retail price.",
    )
    processing_fee_fixed = MoneyField(
        default=0, help_text="Your payment processor's fixed fee per order."
    )
    read_only_reason = models.CharField(
        max_length=300,
        blank=True,
        help_text="Set while the plan is unpaid past its grace period (or ended): pages refuse "
        "changes with this reason; orders keep flowing. Empty: normal.",
    )
    suspension_reason = models.CharField(
        max_length=300, blank=True, help_text="Why an admin suspended it (shown to the retailer)."
    )
    stripe_customer_id = models.CharField(max_length=64, blank=True)
    stripe_payment_method_id = models.CharField(max_length=64, blank=True)
    card_brand = models.CharField(max_length=20, blank=True)
    card_last4 = models.CharField(max_length=4, blank=True)

    class Meta:
        ordering = ["business_name"]
        constraints = [
            models.CheckConstraint(
                name="retailer_processing_fee_range",
                condition=Q(processing_fee_percent__gte=0, processing_fee_percent__lt=50)
                & Q(processing_fee_fixed__gte=0),
            ),
        ]

    def __str__(self) -> str:
        return self.business_name

    @property
    def display_brand(self) -> str:
        return self.brand_name or self.business_name

    @property
    def is_read_only(self) -> bool:
        return bool(self.read_only_reason)

    @property
    def is_suspended(self) -> bool:
        return self.status == self.Status.SUSPENDED


class Store(TimeStampedModel):
    """A connected online shop (Shopify, WooCommerce or a custom store using our API)."""

    class Platform(models.TextChoices):
        SHOPIFY = "SHOPIFY", "Shopify"
        WOOCOMMERCE = "WOOCOMMERCE", "WooCommerce"
        CUSTOM = "CUSTOM", "Custom (API)"

    class Status(models.TextChoices):
        CONNECTED = "CONNECTED", "Connected"
        NEEDS_RECONNECT = "NEEDS_RECONNECT", "Needs reconnection"
        DISCONNECTED = "DISCONNECTED", "Disconnected"

    retailer = models.ForeignKey(Retailer, on_delete=models.CASCADE, related_name="stores")
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=255)
    platform = models.CharField(max_length=12, choices=Platform.choices)
    domain = models.CharField(
        max_length=255, help_text="shop.myshopify.com, or the WooCommerce site URL."
    )
    credentials = EncryptedJSONField(
        null=True, blank=True, help_text="Access token or consumer key/secret."
    )
    webhook_secret = EncryptedTextField(blank=True)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.CONNECTED, db_index=True
    )
    status_reason = models.CharField(max_length=500, blank=True)
    currency = CurrencyField()
    location_id = models.CharField(
        max_length=100, blank=True, help_text="The store location our stock is set at."
    )
    connected_at = models.DateTimeField(null=True, blank=True)
    disconnected_at = models.DateTimeField(null=True, blank=True)
    last_webhook_at = models.DateTimeField(null=True, blank=True)
    # Shopify only: when the periodic token job next looks at this store (renew a refresh token
    # about to run out, or migrate a non-expiring token); empty = at its next run.
    tokens_due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    token_migration_error = models.CharField(
        max_length=500,
        blank=True,
        help_text="Why Shopify refused to exchange this store's non-expiring token for an "
        "expiring one (the old token works until Shopify's cutoff, 2027-01-01).",
    )
    routes_manual_payment_orders = models.BooleanField(
        default=False,
        help_text="Route cash-on-delivery and other manual-payment orders when they are placed, "
        "before the store marks them paid.",
    )
    unpublish_when_out_of_stock = models.BooleanField(
        null=True,
        blank=True,
        help_text="Unpublish this store's listings at zero stock (and republish on restock); "
        "empty follows the retailer's default.",
    )

    class Meta:
        ordering = ["retailer", "name"]
        constraints = [
            # A shop is connected to one Dropship retailer at a time.
            models.UniqueConstraint(
                fields=["platform", "domain"],
                condition=~Q(status="DISCONNECTED"),
                name="store_domain_unique_while_connected",
            ),
        ]

    @property
    def unpublishes_when_out_of_stock(self) -> bool:
        """The store's own choice, else its retailer's default."""
        if self.unpublish_when_out_of_stock is not None:
            return self.unpublish_when_out_of_stock
        return self.retailer.unpublish_when_out_of_stock

    def __str__(self) -> str:
        return f"{self.name} ({self.get_platform_display()})"

    @property
    def is_connected(self) -> bool:
        return self.status == self.Status.CONNECTED


class PricingRule(TimeStampedModel):
    """How a retailer turns wholesale cost into retail price; the most specific rule applies.

    Scope: store and category both empty is the retailer's default; a store and/or a category
    narrows it. Tiers (PricingTier) override the rule's method for a range of costs.
    """

    class Method(models.TextChoices):
        PERCENT = "PERCENT", "Percent markup"
        MULTIPLIER = "MULTIPLIER", "Multiplier"
        FIXED = "FIXED", "Fixed amount added"

    class Rounding(models.TextChoices):
        NONE = "NONE", "No rounding"
        END_99 = "END_99", "End in .99"
        END_95 = "END_95", "End in .95"
        WHOLE = "WHOLE", "Whole amount"

    retailer = models.ForeignKey(Retailer, on_delete=models.CASCADE, related_name="pricing_rules")
    store = models.ForeignKey(
        Store, null=True, blank=True, on_delete=models.CASCADE, related_name="pricing_rules"
    )
    category = models.ForeignKey(
        "catalog.Category", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    name = models.CharField(max_length=100)
    method = models.CharField(max_length=10, choices=Method.choices, default=Method.MULTIPLIER)
    value = models.DecimalField(max_digits=10, decimal_places=4, default=2)
    include_shipping_in_cost = models.BooleanField(default=False)
    include_fees_in_cost = models.BooleanField(
        default=False,
        help_text="Mark up the platform fee and your processing fee too, not only the wholesale.",
    )
    rounding = models.CharField(max_length=8, choices=Rounding.choices, default=Rounding.END_99)
    compare_at_from_msrp = models.BooleanField(default=True)
    min_margin_amount = MoneyField(null=True, blank=True)
    min_margin_percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)

    class Meta:
        ordering = ["retailer", "store", "category", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["retailer", "store", "category"],
                nulls_distinct=False,
                name="pricing_rule_one_per_scope",
            ),
            models.CheckConstraint(
                name="pricing_rule_value_non_negative", condition=Q(value__gte=0)
            ),
            models.CheckConstraint(
                name="pricing_rule_min_margin_percent_range",
                condition=Q(min_margin_percent__isnull=True)
                | Q(min_margin_percent__gte=0, min_margin_percent__lt=100),
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PricingTier(models.Model):
    """A cost range with its own markup: cost in [min_cost, max_cost) uses method/value."""

    rule = models.ForeignKey(PricingRule, on_delete=models.CASCADE, related_name="tiers")
    min_cost = MoneyField()
    max_cost = MoneyField(null=True, blank=True, help_text="Empty means no upper bound.")
    method = models.CharField(max_length=10, choices=PricingRule.Method.choices)
    value = models.DecimalField(max_digits=10, decimal_places=4)

    class Meta:
        ordering = ["rule", "min_cost"]
        constraints = [
            models.UniqueConstraint(fields=["rule", "min_cost"], name="pricing_tier_unique_start"),
            models.CheckConstraint(
                name="pricing_tier_range_ordered",
                condition=Q(max_cost__isnull=True) | Q(max_cost__gt=models.F("min_cost")),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.min_cost}–{self.max_cost or '∞'}: {self.method} {self.value}"


class Listing(TimeStampedModel):
    """A supplier product as listed in one retailer store."""

    class SyncStatus(models.TextChoices):
        SYNCED = "SYNCED", "Synced"
        PENDING = "PENDING", "Pending"
        ERROR = "ERROR", "Error"

    class Status(models.TextChoices):
        ACTIVE = "ACTIVE", "Active"
        PAUSED = "PAUSED", "Paused (awaiting price approval)"
        UNLISTED = "UNLISTED", "Unlisted"

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="listings")
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.CASCADE, related_name="listings"
    )
    pricing_rule = models.ForeignKey(
        PricingRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="listings"
    )
    title = models.CharField(
        max_length=255, blank=True, help_text="Overrides the supplier's title in this store."
    )
    description = models.TextField(blank=True)
    image_order = models.JSONField(
        default=list, blank=True, help_text="ProductImage ids in the order shown in the store."
    )
    store_product_id = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    is_published = models.BooleanField(default=True)
    sync_status = models.CharField(
        max_length=8, choices=SyncStatus.choices, default=SyncStatus.PENDING, db_index=True
    )
    last_error = models.TextField(blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(
        null=True, blank=True, help_text="When a cost rise below the minimum margin paused it."
    )
    is_delisted_for_stock = models.BooleanField(
        default=False,
        help_text="Unpublished by the inventory sync because nothing was left; republished when stock returns.",
    )

    class Meta:
        ordering = ["store", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["store", "product"], name="listing_unique_per_store")
        ]

    def __str__(self) -> str:
        return f"{self.product} in {self.store}"


class ListingVariant(models.Model):
    """One variant of a listing: the store's ids for it, its retail price and the stock last pushed."""

    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="variants")
    variant = models.ForeignKey(
        "catalog.Variant", on_delete=models.CASCADE, related_name="listing_variants"
    )
    store = models.ForeignKey(
        Store,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="Denormalised for the per-store sync drain.",
    )
    store_variant_id = models.CharField(max_length=100, blank=True)
    inventory_item_id = models.CharField(max_length=100, blank=True)
    retail_price = MoneyField()
    compare_at_price = MoneyField(null=True, blank=True)
    currency = CurrencyField()
    last_cost = MoneyField(
        null=True, blank=True, help_text="The wholesale cost the retail price was last set from."
    )
    last_pushed_quantity = models.IntegerField(null=True, blank=True)
    last_pushed_at = models.DateTimeField(null=True, blank=True)
    store_quantity = models.IntegerField(
        null=True,
        blank=True,
        help_text="What the store showed when we last read it back or set it: the next push "
        "sets the new quantity only if the store still shows this (compare-and-swap).",
    )
    is_inventory_dirty = models.BooleanField(default=True)
    inventory_dirty_since = models.DateTimeField(null=True, blank=True)
    # Bumped by every mark: a drain clears the dirty flag only if the version it read is still
    # the row's version, so a change made while a push was in flight is never lost.
    inventory_version = models.BigIntegerField(default=0)
    inventory_confirmed_at = models.DateTimeField(
        null=True, blank=True, help_text="When the store last accepted or showed our quantity."
    )
    inventory_error = models.CharField(max_length=500, blank=True)
    inventory_retry_at = models.DateTimeField(
        null=True, blank=True, help_text="A row the store refused is retried after this time."
    )

    class Meta:
        ordering = ["listing", "variant"]
        constraints = [
            models.UniqueConstraint(fields=["listing", "variant"], name="listing_variant_unique"),
            models.CheckConstraint(
                name="listing_variant_price_non_negative", condition=Q(retail_price__gte=0)
            ),
        ]
        # No index involves the sync columns (dirty flag, version, pushed quantity): marking
        # 500,000 rows dirty is then a HOT update (no index entry rewritten; the table keeps
        # free space per page for it, see migration retailers 0002). Drains find a store's
        # dirty rows through its store index.
        indexes = [
            models.Index(fields=["store", "store_variant_id"], name="listing_variant_store_id"),
        ]

    def __str__(self) -> str:
        return f"{self.variant} in {self.store_id}"


class ImportListItem(TimeStampedModel):
    """A catalog product a retailer picked to import, with its edits before the push.

    Empty title/description mean the supplier's own; `image_order` lists ProductImage ids (empty:
    the supplier's order); `variant_prices` maps variant ids (as strings) to retail prices the
    retailer typed (absent: the pricing rule's price).
    """

    retailer = models.ForeignKey(Retailer, on_delete=models.CASCADE, related_name="import_list")
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    title = models.CharField(max_length=255, blank=True)
    description = models.TextField(blank=True)
    image_order = models.JSONField(default=list, blank=True)
    variant_prices = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["retailer", "product"], name="import_list_item_unique_per_retailer"
            )
        ]

    def __str__(self) -> str:
        return f"Product {self.product_id} on import list of retailer {self.retailer_id}"


class StoreImportJob(TimeStampedModel):
    """One push of products into one store, run by a Celery task; progress is polled."""

    class Status(models.TextChoices):
        QUEUED = "QUEUED", "Queued"
        RUNNING = "RUNNING", "Running"
        COMPLETED = "COMPLETED", "Completed"
        FAILED = "FAILED", "Failed"

    retailer = models.ForeignKey(Retailer, on_delete=models.CASCADE, related_name="import_jobs")
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="import_jobs")
    pricing_rule = models.ForeignKey(
        PricingRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    total_count = models.PositiveIntegerField(default=0)
    succeeded_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, help_text="Why the whole job stopped, if it did.")
    api_calls = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        "accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Import job {self.pk} into {self.store_id}"

    @property
    def processed_count(self) -> int:
        return self.succeeded_count + self.failed_count

    @property
    def is_running(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def progress_percent(self) -> int:
        if not self.total_count:
            return 100 if not self.is_running else 0
        return min(100, self.processed_count * 100 // self.total_count)


class StoreImportItem(models.Model):
    """One product of an import job: the edits it was pushed with, and its outcome."""

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending"
        SYNCED = "SYNCED", "Synced"
        ERROR = "ERROR", "Error"

    job = models.ForeignKey(StoreImportJob, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey("catalog.Product", on_delete=models.CASCADE, related_name="+")
    title = models.CharField(max_length=255, blank=True)
    description = models.TextField(blank=True)
    image_order = models.JSONField(default=list, blank=True)
    variant_prices = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(blank=True)
    listing = models.ForeignKey(
        Listing, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["job", "id"]
        constraints = [
            models.UniqueConstraint(fields=["job", "product"], name="store_import_item_unique")
        ]

    def __str__(self) -> str:
        return f"{self.product_id} in job {self.job_id}"


class PriceDigest(models.Model):
    """The daily price-change email sent to one retailer; one row per retailer per day."""

    retailer = models.ForeignKey(Retailer, on_delete=models.CASCADE, related_name="price_digests")
    day = models.DateField()
    change_count = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-day"]
        constraints = [
            models.UniqueConstraint(fields=["retailer", "day"], name="price_digest_once_per_day")
        ]

    def __str__(self) -> str:
        return f"Price digest for {self.retailer_id} on {self.day}"


class PriceChange(models.Model):
    """A supplier's cost change as it hit one listing variant: re-priced, or paused for approval."""

    class Outcome(models.TextChoices):
        REPRICED = "REPRICED", "Re-priced"
        PAUSED = "PAUSED", "Paused: below your minimum margin"

    retailer = models.ForeignKey(Retailer, on_delete=models.CASCADE, related_name="price_changes")
    listing = models.ForeignKey(Listing, on_delete=models.CASCADE, related_name="price_changes")
    listing_variant = models.ForeignKey(
        ListingVariant, on_delete=models.CASCADE, related_name="price_changes"
    )
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    old_cost = MoneyField(null=True, blank=True)
    new_cost = MoneyField()
    old_price = MoneyField()
    new_price = MoneyField(help_text="The price now in the store, or the rule's price when paused.")
    minimum_price = MoneyField(help_text="The lowest price that meets the minimum margin.")
    suggested_price = MoneyField(
        null=True,
        blank=True,
        help_text="For a paused listing: the minimum price with the rule's ending, offered first.",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    digest = models.ForeignKey(
        PriceDigest, null=True, blank=True, on_delete=models.SET_NULL, related_name="changes"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["retailer", "created_at"],
                condition=Q(digest__isnull=True),
                name="price_change_undigested",
            )
        ]

    def __str__(self) -> str:
        return f"{self.listing_variant_id}: {self.old_price} → {self.new_price} ({self.outcome})"


from retailers.sync.models import (  # noqa: E402, F401
    StockReconciliation,
    StoreSyncState,
    VariantChange,
)


class NoticeKind(models.TextChoices):
    """The order notices a retailer can tune on its notification preferences page."""

    ORDER_SHIPPED = "order_shipped", "An order shipped (with its tracking link)"
    ORDER_DELIVERED = "order_delivered", "An order was delivered"
    DELIVERY_EXCEPTION = "delivery_exception", "A parcel is in trouble (exception, returned, quiet)"
    NEEDS_DECISION = "needs_decision", "An order needs your decision"
    ORDER_LOSS = "order_loss", "An order lost money (shopper paid less than it cost you)"
    RETURN_UPDATE = "return_update", "A return moved (approved, declined, offer, refunded)"


class NoticeDelivery(models.TextChoices):
    OFF = "OFF", "Off"
    IMMEDIATE = "IMMEDIATE", "Immediately (e-mail and in-app)"
    DIGEST = "DIGEST", "Daily digest (in-app now, e-mail once a day)"


class NoticePreference(models.Model):
    """How a retailer wants one kind of notice; without a row the kind is IMMEDIATE."""

    retailer = models.ForeignKey(
        Retailer, on_delete=models.CASCADE, related_name="notice_preferences"
    )
    kind = models.CharField(max_length=32, choices=NoticeKind.choices)
    delivery = models.CharField(
        max_length=10, choices=NoticeDelivery.choices, default=NoticeDelivery.IMMEDIATE
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["retailer", "kind"], name="notice_preference_once"),
            models.CheckConstraint(
                name="notice_preference_known_kind",
                condition=Q(kind__in=[k.value for k in NoticeKind]),
            ),
            models.CheckConstraint(
                name="notice_preference_known_delivery",
                condition=Q(delivery__in=[d.value for d in NoticeDelivery]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.delivery}"


class DigestNotice(models.Model):
    """A notice waiting for the retailer's daily e-mail digest (sent_at set once it went)."""

    retailer = models.ForeignKey(Retailer, on_delete=models.CASCADE, related_name="digest_notices")
    kind = models.CharField(max_length=32, choices=NoticeKind.choices)
    subject = models.CharField(max_length=200)
    message = models.CharField(max_length=1000)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(
                fields=["retailer", "created_at"],
                condition=Q(sent_at__isnull=True),
                name="digest_notice_unsent",
            )
        ]

    def __str__(self) -> str:
        return self.subject
