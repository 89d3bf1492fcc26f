import uuid
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from dropship.core.fields import EncryptedTextField
from dropship.core.models import TimeStampedModel
from dropship.core.money import ZERO, CurrencyField, MoneyField
from dropship.core.storage import private_storage


class Supplier(TimeStampedModel):
    """A wholesale business that lists a catalog and ships orders straight to shoppers."""

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending review"
        ACTIVE = "ACTIVE", "Active"
        REJECTED = "REJECTED", "Rejected"
        SUSPENDED = "SUSPENDED", "Suspended"

    class BusinessType(models.TextChoices):
        MANUFACTURER = "MANUFACTURER", "Manufacturer"
        DISTRIBUTOR = "DISTRIBUTOR", "Distributor"
        WHOLESALER = "WHOLESALER", "Wholesaler"

    class OrderChannel(models.TextChoices):
        DASHBOARD = "DASHBOARD", "Dashboard"
        WEBHOOK = "WEBHOOK", "Webhook to our system"
        EMAIL = "EMAIL", "Email"

    class OnboardingStep(models.TextChoices):
        PROFILE = "PROFILE", "Company profile"
        FULFILMENT = "FULFILMENT", "Fulfilment"
        CHANNEL = "CHANNEL", "Order channel"
        VERIFICATION = "VERIFICATION", "Verification"
        REVIEW = "REVIEW", "Review and submit"
        SUBMITTED = "SUBMITTED", "Submitted"

    company_name = models.CharField(max_length=255)
    legal_name = models.CharField(max_length=255, blank=True)
    slug = models.SlugField(max_length=255, unique=True)
    business_type = models.CharField(max_length=20, choices=BusinessType.choices, blank=True)
    description = models.TextField(blank=True)
    logo = models.ImageField(upload_to="suppliers/logos/", blank=True)
    contact_email = models.EmailField(blank=True)
    phone = models.CharField(max_length=32, blank=True)
    website = models.URLField(blank=True)
    ship_from_country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2")
    # Reviewed after approval: a change to legal_name, tax_id or payout_country is a
    # SupplierProfileChange staff approve; until then these old values stay in force.
    tax_id = models.CharField(
        "tax id", max_length=64, blank=True, help_text="VAT, EIN or other tax number."
    )
    payout_country = models.CharField(
        max_length=2, blank=True, help_text="ISO 3166-1 alpha-2 country of the payout bank account."
    )
    return_address = models.TextField(
        max_length=1000, blank=True, help_text="Where shoppers' returns are sent (profile)."
    )

    handling_days = models.PositiveSmallIntegerField(default=2, validators=[MaxValueValidator(60)])
    min_order_value = MoneyField(default=ZERO)
    currency = CurrencyField()
    rating = models.DecimalField(max_digits=3, decimal_places=2, null=True, blank=True)
    stock_buffer_percent = models.PositiveSmallIntegerField(
        default=90,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="Share of available stock advertised to retailers.",
    )
    low_stock_threshold = models.PositiveIntegerField(default=5)
    is_mfa_required = models.BooleanField(
        "two-factor authentication required",
        default=False,
        help_text="Set by an owner on the Team page: every member must use two-factor authentication.",
    )

    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    status_reason = models.TextField(
        blank=True, help_text="Shown to the supplier: why rejected or suspended."
    )
    onboarding_step = models.CharField(
        max_length=12, choices=OnboardingStep.choices, default=OnboardingStep.PROFILE
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_at = models.DateTimeField(null=True, blank=True)

    order_channel = models.CharField(
        max_length=10, choices=OrderChannel.choices, default=OrderChannel.DASHBOARD
    )
    webhook_url = models.URLField(blank=True)
    webhook_secret = EncryptedTextField(blank=True)
    order_email = models.EmailField(blank=True)

    stripe_account_id = models.CharField(max_length=64, blank=True)
    payouts_enabled = models.BooleanField(default=False)

    class Meta:
        ordering = ["company_name"]
        permissions = [("review_supplier", "Can approve, reject, suspend and reinstate suppliers")]
        constraints = [
            models.CheckConstraint(
                name="supplier_buffer_percent_1_100",
                condition=Q(stock_buffer_percent__gte=1, stock_buffer_percent__lte=100),
            ),
            models.CheckConstraint(
                name="supplier_min_order_value_non_negative", condition=Q(min_order_value__gte=0)
            ),
        ]

    def __str__(self) -> str:
        return self.company_name

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def reliability(self) -> "SupplierScorecard | None":
        """The stored measured scorecard (orders/services/scorecard.py); None until the nightly
        job first scored the supplier. Select it with `select_related("scorecard")`."""
        try:
            return self.scorecard
        except SupplierScorecard.DoesNotExist:
            return None

    @property
    def buffer_ratio(self) -> Decimal:
        return Decimal(self.stock_buffer_percent) / 100


class ShippingRate(TimeStampedModel):
    """What a supplier charges to ship one shipping class to one destination zone with one carrier."""

    class Zone(models.TextChoices):
        DOMESTIC = "DOMESTIC", "Domestic"
        INTERNATIONAL = "INTERNATIONAL", "International"

    supplier = models.ForeignKey(Supplier, on_delete=models.CASCADE, related_name="shipping_rates")
    carrier = models.CharField(max_length=32)
    service = models.CharField(max_length=64, help_text="e.g. Ground, Express")
    shipping_class = models.CharField(max_length=32, default="standard")
    zone = models.CharField(max_length=16, choices=Zone.choices, default=Zone.DOMESTIC)
    price = MoneyField()
    additional_item_price = MoneyField(default=ZERO, help_text="For every unit after the first.")
    min_days = models.PositiveSmallIntegerField(default=2)
    max_days = models.PositiveSmallIntegerField(default=7)

    class Meta:
        ordering = ["supplier", "zone", "shipping_class", "price"]
        constraints = [
            models.UniqueConstraint(
                fields=["supplier", "carrier", "service", "shipping_class", "zone"],
                name="shipping_rate_unique_per_route",
            ),
            models.CheckConstraint(
                name="shipping_rate_price_non_negative",
                condition=Q(price__gte=0, additional_item_price__gte=0),
            ),
            models.CheckConstraint(
                name="shipping_rate_days_ordered", condition=Q(min_days__lte=models.F("max_days"))
            ),
        ]

    def __str__(self) -> str:
        return f"{self.carrier} {self.service} · {self.shipping_class} · {self.get_zone_display()}"


def verification_document_path(instance: "SupplierVerification", filename: str) -> str:
    """An unguessable name: verification documents are private papers, not catalog assets."""
    extension = Path(filename).suffix.lower()[:8]
    return f"suppliers/verification/{uuid.uuid4().hex}{extension}"


class SupplierVerification(TimeStampedModel):
    """The onboarding answers and documents a platform admin reviews."""

    supplier = models.OneToOneField(Supplier, on_delete=models.CASCADE, related_name="verification")
    registration_number = models.CharField(max_length=64, blank=True)
    country = models.CharField(max_length=2, blank=True)
    document = models.FileField(
        upload_to=verification_document_path, storage=private_storage, blank=True
    )
    document_name = models.CharField(
        max_length=255, blank=True, help_text="The file name as the supplier uploaded it."
    )
    document_content_type = models.CharField(max_length=64, blank=True)
    answers = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"Verification of {self.supplier}"

    @property
    def document_filename(self) -> str:
        """The name the supplier uploaded, else the stored file's own name."""
        return self.document_name or (self.document.name or "").rsplit("/", 1)[-1]


class SupplierStatusChange(models.Model):
    """Every review decision (approve, reject, suspend, reinstate, resubmit): who, when, why."""

    supplier = models.ForeignKey(Supplier, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=10, choices=Supplier.Status.choices)
    to_status = models.CharField(max_length=10, choices=Supplier.Status.choices)
    reason = models.TextField(blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.supplier}: {self.from_status} → {self.to_status}"


class SupplierFeed(TimeStampedModel):
    """A supplier's inventory feed: a CSV or JSON URL we poll (every 5 minutes) for stock levels.

    Fetched through the safe-call helper with If-None-Match / If-Modified-Since, so an unchanged
    feed costs one 304. `last_quantities` is the feed as last applied ({sku: quantity}): only
    rows that differ from it are applied. A failing feed, or one without a successful fetch for
    an hour, opens an incident: the supplier is told once (notification + email) until it heals.
    """

    class Format(models.TextChoices):
        CSV = "CSV", "CSV"
        JSON = "JSON", "JSON"

    class Health(models.TextChoices):
        NEW = "NEW", "Not fetched yet"
        OK = "OK", "Healthy"
        FAILING = "FAILING", "Failing"
        STALE = "STALE", "Stale"

    supplier = models.OneToOneField(Supplier, on_delete=models.CASCADE, related_name="feed")
    url = models.URLField(max_length=1000)
    format = models.CharField(max_length=4, choices=Format.choices, default=Format.CSV)
    mapping = models.JSONField(
        default=dict,
        blank=True,
        help_text="Column → field (sku, stock) as in the import wizard; empty: matched by header.",
    )
    is_enabled = models.BooleanField(default=True)
    poll_interval_seconds = models.PositiveIntegerField(default=300)
    next_poll_at = models.DateTimeField(null=True, blank=True, db_index=True)
    etag = models.CharField(max_length=255, blank=True)
    last_modified = models.CharField(max_length=64, blank=True)
    last_quantities = models.JSONField(default=dict, blank=True)
    last_fetch_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_change_at = models.DateTimeField(null=True, blank=True)
    last_status = models.CharField(max_length=200, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    last_rows = models.PositiveIntegerField(default=0)
    last_applied = models.PositiveIntegerField(default=0)
    last_rejected = models.PositiveIntegerField(default=0)
    rejected_samples = models.JSONField(default=list, blank=True)
    health = models.CharField(max_length=8, choices=Health.choices, default=Health.NEW)
    incident_open = models.BooleanField(default=False)
    incident_alerted_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Inventory feed of {self.supplier}"


class SupplierScorecard(models.Model):
    """A supplier's measured scorecard as of `computed_at`: the nightly job (and a staff
    refresh) writes one row per supplier with orders/services/scorecard.py; the directory and
    product pages read it instead of computing. `score` is empty for a new supplier (fewer
    orders in the window than SCORECARD_MIN_ORDERS)."""

    supplier = models.OneToOneField(Supplier, on_delete=models.CASCADE, related_name="scorecard")
    computed_at = models.DateTimeField()
    window_days = models.PositiveSmallIntegerField(default=90)
    orders = models.PositiveIntegerField(default=0)
    score = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(100)]
    )
    figures = models.JSONField(default=dict, help_text="The 30- and 90-day figures shown.")

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="supplier_scorecard_score_0_100",
                condition=Q(score__isnull=True) | Q(score__gte=0, score__lte=100),
            )
        ]

    def __str__(self) -> str:
        return f"{self.supplier} scorecard"

    @property
    def is_new_supplier(self) -> bool:
        return self.score is None


class SupplierProfileChange(TimeStampedModel):
    """A supplier's request to change what staff verified (legal name, tax id, payout country)
    after approval. The supplier keeps its old values until staff approve; rejecting discards
    the request. At most one is pending per supplier (a new request replaces it)."""

    REVIEWED_FIELDS = ("legal_name", "tax_id", "payout_country")

    class Status(models.TextChoices):
        PENDING = "PENDING", "Pending review"
        APPROVED = "APPROVED", "Approved"
        REJECTED = "REJECTED", "Rejected"

    supplier = models.ForeignKey(Supplier, on_delete=models.CASCADE, related_name="profile_changes")
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    changes = models.JSONField(
        default=dict, help_text="{field: [value in force when asked, requested value]}"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True, help_text="Shown to the supplier when rejected.")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["supplier"],
                condition=Q(status="PENDING"),
                name="supplier_profile_change_one_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"Profile change of {self.supplier} ({self.get_status_display()})"

    def requested(self, field: str) -> str:
        return str(self.changes.get(field, [None, ""])[1])


class ReturnPolicy(TimeStampedModel):
    """The supplier's return terms, shown on its product pages and in the catalog API and
    applied when a retailer opens a return (orders.services.returns). A supplier that never
    saved one has the platform default: RETURN_WINDOW_DAYS, no restocking fee, the retailer pays
    the return shipping, every category returnable."""

    class ShippingPaidBy(models.TextChoices):
        RETAILER = "RETAILER", "The retailer pays return shipping"
        SUPPLIER = "SUPPLIER", "The supplier pays return shipping"

    supplier = models.OneToOneField(
        Supplier, on_delete=models.CASCADE, related_name="return_policy"
    )
    window_days = models.PositiveSmallIntegerField(
        default=30,
        validators=[MaxValueValidator(365)],
        help_text="Days from delivery in which a return can be opened (0: no returns).",
    )
    restocking_fee_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("50"))],
        help_text="Kept from the refund of returned goods the retailer no longer wanted "
        "(not for defective, wrong or not-as-described goods).",
    )
    return_shipping_paid_by = models.CharField(
        max_length=8, choices=ShippingPaidBy.choices, default=ShippingPaidBy.RETAILER
    )
    return_address = models.TextField(
        blank=True, max_length=1000, help_text="Where returned goods go."
    )
    non_returnable_categories = models.ManyToManyField(
        "catalog.Category",
        blank=True,
        related_name="+",
        help_text="Products in these categories (or below them) cannot be returned.",
    )

    class Meta:
        verbose_name_plural = "return policies"
        constraints = [
            models.CheckConstraint(
                name="return_policy_window_within_a_year", condition=Q(window_days__lte=365)
            ),
            models.CheckConstraint(
                name="return_policy_fee_0_to_50_percent",
                condition=Q(restocking_fee_percent__gte=0, restocking_fee_percent__lte=50),
            ),
        ]

    def __str__(self) -> str:
        return f"Return policy of {self.supplier}"
