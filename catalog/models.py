from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import F, Q

from dropship.core.models import TimeStampedModel
from dropship.core.money import CurrencyField, MoneyField
from dropship.core.storage import private_storage


class Category(models.Model):
    """A node of the category tree ("Home" > "Kitchen" > "Knives")."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "categories"
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "name"], name="category_name_unique_per_parent"
            ),
            models.CheckConstraint(name="category_not_own_parent", condition=~Q(parent=F("pk"))),
        ]

    def __str__(self) -> str:
        return self.name


class Product(TimeStampedModel):
    class Status(models.TextChoices):
        ACTIVE = "ACTIVE", "Active"
        DRAFT = "DRAFT", "Draft"
        DISCONTINUED = "DISCONTINUED", "Discontinued"

    supplier = models.ForeignKey(
        "suppliers.Supplier", on_delete=models.CASCADE, related_name="products"
    )
    handle = models.SlugField(
        max_length=255,
        help_text="The supplier's own product key; variants of one product share it.",
    )
    title = models.CharField(max_length=255)
    description = models.TextField(blank=True)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="products"
    )
    attributes = models.JSONField(default=dict, blank=True)
    option_names = models.JSONField(default=list, blank=True, help_text='e.g. ["Size", "Color"]')
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.DRAFT, db_index=True
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["supplier", "handle"], name="product_handle_unique_per_supplier"
            ),
        ]
        indexes = [
            models.Index(fields=["supplier", "status"], name="product_supplier_status"),
        ]

    def __str__(self) -> str:
        return self.title


class ProductImage(models.Model):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="images")
    image = models.ImageField(upload_to="catalog/products/", blank=True)
    thumbnail = models.ImageField(
        upload_to="catalog/thumbnails/",
        blank=True,
        help_text="A small copy made when the image is uploaded; lists show this one.",
    )
    source_url = models.URLField(
        max_length=1000, blank=True, help_text="Where an imported image came from."
    )
    alt_text = models.CharField(max_length=255, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["product", "position", "id"]

    def __str__(self) -> str:
        return self.alt_text or f"Image {self.position} of {self.product_id}"

    @property
    def list_url(self) -> str:
        """The URL a list should show: the thumbnail, else the original or the imported URL."""
        if self.thumbnail:
            return self.thumbnail.url
        if self.image:
            return self.image.url
        return self.source_url


class Variant(TimeStampedModel):
    """A purchasable unit (size/colour) with its price and stock.

    Available = on hand − reserved; the database refuses a row where reserved exceeds on hand or
    either is negative, whatever code wrote it. Stock changes go through catalog.services.
    """

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    supplier = models.ForeignKey(
        "suppliers.Supplier",
        on_delete=models.CASCADE,
        related_name="variants",
        help_text="Denormalised from the product so SKU uniqueness per supplier is a constraint.",
    )
    sku = models.CharField(max_length=100)
    options = models.JSONField(
        default=dict, blank=True, help_text='e.g. {"Size": "M", "Color": "Blue"}'
    )
    wholesale_price = MoneyField()
    msrp = MoneyField(null=True, blank=True)
    currency = CurrencyField()
    weight_grams = models.PositiveIntegerField(default=0)
    shipping_class = models.CharField(max_length=32, default="standard")
    stock_on_hand = models.IntegerField(default=0)
    stock_reserved = models.IntegerField(default=0)
    low_stock_threshold = models.PositiveIntegerField(
        null=True, blank=True, help_text="Overrides the supplier's threshold."
    )
    is_low_stock_alerted = models.BooleanField(default=False)
    stock_updated_at = models.DateTimeField(null=True, blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["product", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["supplier", "sku"], name="variant_sku_unique_per_supplier"
            ),
            models.CheckConstraint(
                name="variant_stock_on_hand_non_negative", condition=Q(stock_on_hand__gte=0)
            ),
            models.CheckConstraint(
                name="variant_stock_reserved_non_negative", condition=Q(stock_reserved__gte=0)
            ),
            models.CheckConstraint(
                name="variant_reserved_within_on_hand",
                condition=Q(stock_reserved__lte=F("stock_on_hand")),
            ),
            models.CheckConstraint(
                name="variant_wholesale_price_non_negative", condition=Q(wholesale_price__gte=0)
            ),
            models.CheckConstraint(
                name="variant_msrp_non_negative", condition=Q(msrp__isnull=True) | Q(msrp__gte=0)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku}"

    @property
    def stock_available(self) -> int:
        return self.stock_on_hand - self.stock_reserved

    @property
    def options_label(self) -> str:
        return " / ".join(str(v) for v in self.options.values()) or "Default"


class StockMovement(models.Model):
    """One change of a variant's stock: where it came from, before and after, who, when."""

    class Source(models.TextChoices):
        PAGE = "PAGE", "Supplier page"
        IMPORT = "IMPORT", "File import"
        API = "API", "API"
        FEED = "FEED", "Inventory feed"
        RESERVATION = "RESERVATION", "Order reservation"
        RELEASE = "RELEASE", "Reservation released"
        SHIPMENT = "SHIPMENT", "Shipment"
        ADMIN = "ADMIN", "Admin"
        RETURN = "RETURN", "Return received"

    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="stock_movements")
    source = models.CharField(max_length=12, choices=Source.choices)
    on_hand_before = models.IntegerField()
    on_hand_after = models.IntegerField()
    reserved_before = models.IntegerField()
    reserved_after = models.IntegerField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reference = models.CharField(
        max_length=120, blank=True, help_text="Import job, order number, API key prefix ..."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["variant", "-created_at"], name="stockmove_variant_recent")]

    def __str__(self) -> str:
        return f"{self.variant_id}: {self.on_hand_before}→{self.on_hand_after} ({self.source})"


class ImportJob(TimeStampedModel):
    """One uploaded catalog or stock file: its column mapping, validation, progress and result.

    UPLOADED (mapping editable) → VALIDATING → VALIDATED (errors listed; commit all or only valid
    rows) → IMPORTING → COMPLETED; FAILED when the file itself cannot be read.
    """

    class Status(models.TextChoices):
        UPLOADED = "UPLOADED", "Uploaded"
        VALIDATING = "VALIDATING", "Validating"
        VALIDATED = "VALIDATED", "Validated"
        IMPORTING = "IMPORTING", "Importing"
        COMPLETED = "COMPLETED", "Completed"
        FAILED = "FAILED", "Failed"

    class Kind(models.TextChoices):
        CATALOG = "CATALOG", "Catalog (products and variants)"
        STOCK = "STOCK", "Stock only (SKU and quantity)"

    class FileFormat(models.TextChoices):
        CSV = "CSV", "CSV"
        XLSX = "XLSX", "Excel (XLSX)"

    class Mode(models.TextChoices):
        ALL = "ALL", "All rows"
        VALID_ONLY = "VALID_ONLY", "Only valid rows"

    supplier = models.ForeignKey(
        "suppliers.Supplier", on_delete=models.CASCADE, related_name="import_jobs"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    file = models.FileField(upload_to="imports/%Y/%m/", storage=private_storage)
    original_filename = models.CharField(max_length=255)
    file_format = models.CharField(max_length=4, choices=FileFormat.choices)
    encoding = models.CharField(max_length=20, blank=True)
    delimiter = models.CharField(max_length=1, blank=True)
    headers = models.JSONField(default=list, blank=True)
    mapping = models.JSONField(
        default=dict, blank=True, help_text="Column position (as text) → our field name."
    )
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.CATALOG)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.UPLOADED, db_index=True
    )
    mode = models.CharField(max_length=10, choices=Mode.choices, blank=True)
    file_error = models.TextField(blank=True, help_text="Why the file as a whole was refused.")
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    valid_rows = models.PositiveIntegerField(default=0)
    invalid_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    validated_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["supplier", "-created_at"], name="importjob_supplier_recent")
        ]
        constraints = [
            models.CheckConstraint(
                name="importjob_processed_within_total",
                condition=Q(processed_rows__lte=F("total_rows")),
            ),
        ]

    def __str__(self) -> str:
        return f"Import {self.pk} ({self.original_filename})"

    @property
    def is_running(self) -> bool:
        return self.status in (self.Status.VALIDATING, self.Status.IMPORTING)

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.COMPLETED, self.Status.FAILED)

    @property
    def progress_percent(self) -> int:
        if not self.total_rows:
            return 100 if self.is_finished else 0
        return round(self.processed_rows * 100 / self.total_rows)


class ImportRowError(models.Model):
    """One problem found in one row (or the header, row 1) of an import file."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="row_errors")
    row_number = models.PositiveIntegerField(help_text="As the spreadsheet shows it; 1 = header.")
    column = models.CharField(max_length=255, blank=True)
    message = models.CharField(max_length=500)

    class Meta:
        ordering = ["job", "row_number", "id"]
        indexes = [models.Index(fields=["job", "row_number"], name="importrowerror_job_row")]

    def __str__(self) -> str:
        return f"Row {self.row_number} {self.column}: {self.message}"


class ProductSearch(models.Model):
    """One row per product, denormalised for the retailer catalog search (catalog/search.py).

    Written only by database triggers (migration 0004) whenever a product, its variants, its
    supplier or its category changes, so it is current on every write path (pages, API, imports,
    feeds, admin). `is_listed` = the product is ACTIVE, has variants and its supplier is ACTIVE.
    PostgreSQL-only parts live in that migration: the `category_path` column (the category and
    its ancestors), the GIN index on (document, category_path) and the sort indexes, which
    include every filter column so browsing without text is answered from the index alone.
    """

    product = models.OneToOneField(
        Product,
        primary_key=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="search_row",
    )
    supplier_id = models.BigIntegerField()
    category_id = models.BigIntegerField(null=True)
    is_listed = models.BooleanField(default=False)
    document = SearchVectorField(null=True)
    skus = models.TextField(
        blank=True, help_text="The variants' SKUs, lower case, space separated."
    )
    min_price = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    est_margin = models.DecimalField(
        max_digits=12, decimal_places=2, default=0, help_text="Best MSRP − wholesale of a variant."
    )
    in_stock = models.BooleanField(default=False)
    handling_days = models.SmallIntegerField(default=0)
    ship_from = models.CharField(max_length=2, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(
                fields=["supplier_id", "-created_at", "-product"],
                name="psearch_supplier",
                condition=Q(is_listed=True),
            ),
        ]

    def __str__(self) -> str:
        return f"Search row of product {self.product_id}"


class SearchTerm(models.Model):
    """Every word seen in a listed title, category or supplier name; trigram-indexed so a
    misspelt search word can be corrected to the nearest real one. Filled by the same triggers."""

    term = models.CharField(max_length=40, primary_key=True)

    class Meta:
        indexes = [
            GinIndex(fields=["term"], name="searchterm_trgm", opclasses=["gin_trgm_ops"]),
        ]

    def __str__(self) -> str:
        return self.term
