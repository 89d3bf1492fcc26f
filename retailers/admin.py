"""Retailers in the admin. Store credentials and webhook secrets are encrypted and never shown;
stores and listings change through the connection and sync services, so they are read-only here."""

from typing import TYPE_CHECKING, Any, TypedDict

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from dropship.accounts.admin_view_as import ViewAsAdminMixin
from dropship.core.admin_utils import (
    AuditedModelAdmin,
    ViewOnlyAdminMixin,
    ViewOnlyTabularInline,
    admin_link,
)
from integrations.admin import warn_about_api_versions
from retailers.models import (
    DigestNotice,
    ImportListItem,
    Listing,
    ListingVariant,
    NoticePreference,
    PriceChange,
    PriceDigest,
    PricingRule,
    PricingTier,
    Retailer,
    Store,
    StoreImportItem,
    StoreImportJob,
    VariantChange,
)
from retailers.services.suspension import set_retailer_suspension

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class StoreCount(TypedDict):
    _store_count: int


class ListingCount(TypedDict):
    _listing_count: int


STORE_FIELDS = (
    "retailer",
    "name",
    "platform",
    "domain",
    "public_id",
    "status",
    "status_reason",
    "currency",
    "location_id",
    "connected_at",
    "disconnected_at",
    "last_webhook_at",
    "tokens_due_at",
    "token_migration_error",
    "created_at",
    "updated_at",
)


class PricingRuleForm(forms.ModelForm):
    class Meta:
        model = PricingRule
        fields = [
            "retailer",
            "store",
            "category",
            "name",
            "method",
            "value",
            "include_shipping_in_cost",
            "include_fees_in_cost",
            "rounding",
            "compare_at_from_msrp",
            "min_margin_amount",
            "min_margin_percent",
        ]

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        store = cleaned.get("store")
        retailer = cleaned.get("retailer")
        retailer_id = retailer.pk if retailer is not None else self.instance.retailer_id
        if store is not None and retailer_id and store.retailer_id != retailer_id:
            self.add_error("store", "This store belongs to another retailer.")
        return cleaned


class StoreInline(ViewOnlyTabularInline):
    model = Store
    fields = ("name", "platform", "domain", "status", "connected_at", "last_webhook_at")
    readonly_fields = fields


class PricingRuleInline(admin.TabularInline):
    model = PricingRule
    form = PricingRuleForm
    extra = 0
    show_change_link = True
    fields = ["name", "store", "category", "method", "value", "rounding", "min_margin_percent"]
    autocomplete_fields = ["store", "category"]


class PricingTierInline(admin.TabularInline):
    model = PricingTier
    extra = 0
    fields = ["min_cost", "max_cost", "method", "value"]


class ListingVariantInline(ViewOnlyTabularInline):
    model = ListingVariant
    fields = (
        "variant",
        "store_variant_id",
        "inventory_item_id",
        "retail_price",
        "compare_at_price",
        "currency",
        "last_pushed_quantity",
        "last_pushed_at",
        "is_inventory_dirty",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[ListingVariant]:
        return super().get_queryset(request).select_related("variant")


@admin.register(Retailer)
class RetailerAdmin(ViewAsAdminMixin, AuditedModelAdmin):
    list_display = [
        "business_name",
        "status",
        "plan",
        "has_payment_terms",
        "store_count",
        "contact_email",
        "created_at",
    ]
    list_filter = ["status", "plan", "has_payment_terms"]
    search_fields = ["business_name", "slug", "contact_email", "brand_name"]
    date_hierarchy = "created_at"
    prepopulated_fields = {"slug": ["business_name"]}
    readonly_fields = [
        "stripe_customer_id",
        "stripe_payment_method_id",
        "card_brand",
        "card_last4",
        "read_only_reason",
        "status",
        "suspension_reason",
        "created_at",
        "updated_at",
    ]
    # Suspending holds the retailer's new orders and activating routes them: only through the
    # actions below (retailers/services/suspension.py), never by editing the status field.
    actions = ["suspend_retailers", "activate_retailers"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "business_name",
                    "slug",
                    "contact_email",
                    "status",
                    "suspension_reason",
                    "plan",
                    "currency",
                ]
            },
        ),
        ("Billing", {"fields": ["has_payment_terms", *readonly_fields[:5]]}),
        (
            "Branding",
            {
                "fields": [
                    "brand_name",
                    "brand_logo",
                    "packing_slip_message",
                    "unpublish_when_out_of_stock",
                    "home_country",
                    "processing_fee_percent",
                    "processing_fee_fixed",
                ]
            },
        ),
        ("Dates", {"fields": ["created_at", "updated_at"]}),
    ]
    inlines = [StoreInline, PricingRuleInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Retailer]:
        return super().get_queryset(request).annotate(_store_count=Count("stores"))

    @admin.display(description="stores", ordering="_store_count")
    def store_count(self, obj: "WithAnnotations[Retailer, StoreCount]") -> int:
        return obj._store_count

    @admin.action(description="Suspend: hold their new orders")
    def suspend_retailers(self, request: HttpRequest, queryset: QuerySet[Retailer]) -> None:
        changed = sum(
            set_retailer_suspension(
                retailer=retailer,
                suspended=True,
                reason="suspended by the Dropship team; contact support",
                actor=request.user,  # type: ignore[arg-type]
            )
            for retailer in queryset
        )
        self.message_user(request, f"{changed} retailer(s) suspended.", messages.WARNING)

    @admin.action(description="Activate: route their held orders")
    def activate_retailers(self, request: HttpRequest, queryset: QuerySet[Retailer]) -> None:
        changed = sum(
            set_retailer_suspension(
                retailer=retailer,
                suspended=False,
                actor=request.user,  # type: ignore[arg-type]
            )
            for retailer in queryset
        )
        self.message_user(request, f"{changed} retailer(s) activated.", messages.SUCCESS)


class WebhooksQuietFilter(admin.SimpleListFilter):
    """Support's list of stores whose webhooks went quiet while the order poll kept finding
    orders (orders/services/reconciliation.py)."""

    title = "webhooks"
    parameter_name = "webhooks"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("quiet", "Quiet: orders found only by the poll")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Store]) -> QuerySet[Store]:
        if self.value() == "quiet":
            return queryset.filter(order_sync__webhooks_quiet_since__isnull=False)
        return queryset


class TokenMigrationFilter(admin.SimpleListFilter):
    title = "Shopify token migration"
    parameter_name = "token_migration"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("failed", "Refused by Shopify")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Store]) -> QuerySet[Store]:
        if self.value() == "failed":
            return queryset.exclude(token_migration_error="")
        return queryset


@admin.register(Store)
class StoreAdmin(AuditedModelAdmin):
    list_display = [
        "name",
        "retailer",
        "platform",
        "domain",
        "status",
        "listing_count",
        "connected_at",
        "last_webhook_at",
        "webhooks_warning",
        "token_migration_failed",
        "served_api_version",
    ]
    list_filter = ["platform", "status", WebhooksQuietFilter, "currency", TokenMigrationFilter]
    search_fields = ["name", "domain", "retailer__business_name", "public_id__exact"]
    date_hierarchy = "created_at"
    list_select_related = ["retailer", "order_sync", "api_version_notice"]
    # credentials and webhook_secret are encrypted secrets: not in `fields`, never rendered.
    fields = STORE_FIELDS
    readonly_fields = [f for f in STORE_FIELDS if f not in ("name", "location_id", "currency")]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Store]:
        return super().get_queryset(request).annotate(_listing_count=Count("listings"))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a store is connected by its retailer (OAuth / keys), never typed in here

    # A shopper of a WooCommerce or custom store asked for their data or its erasure: support
    # executes it on the privacy app's page (named by URL only: the admin wires apps together).
    actions = ["shopper_data_request"]

    def has_shopper_request_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("privacy.execute_shopper_request")

    @admin.action(
        description="Execute a shopper's data request for the selected store…",
        permissions=["shopper_request"],
    )
    def shopper_data_request(
        self, request: HttpRequest, queryset: QuerySet[Store]
    ) -> HttpResponse | None:
        if queryset.count() != 1:
            self.message_user(request, "Select one store.", messages.WARNING)
            return None
        url = reverse("admin:privacy_shopperdatarequest_execute")
        return redirect(f"{url}?{urlencode({'store': queryset.get().pk})}")

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        failed = Store.objects.exclude(token_migration_error="").exclude(
            status=Store.Status.DISCONNECTED
        )
        count = failed.count()
        if count:
            messages.warning(
                request,
                f"{count} Shopify store(s) could not be moved to an expiring access token; "
                "they keep working on their old token only until Shopify's cutoff "
                '(2027-01-01). Filter by "Shopify token migration" to see why.',
            )
        warn_about_api_versions(request)
        return super().changelist_view(request, extra_context)

    @admin.display(description="token migration failed", boolean=True)
    def token_migration_failed(self, obj: Store) -> bool:
        return bool(obj.token_migration_error)

    @admin.display(description="listings", ordering="_listing_count")
    def listing_count(self, obj: "WithAnnotations[Store, ListingCount]") -> int:
        return obj._listing_count

    @admin.display(description="webhooks")
    def webhooks_warning(self, obj: Store) -> str:
        sync = getattr(obj, "order_sync", None)
        if sync is None or not sync.is_webhooks_quiet:
            return ""
        return f"⚠ quiet since {sync.webhooks_quiet_since:%Y-%m-%d %H:%M}: {sync.quiet_reason}"

    @admin.display(description="API version fell forward to")
    def served_api_version(self, obj: Store) -> str:
        notice = getattr(obj, "api_version_notice", None)
        return notice.served_version if notice is not None else ""


@admin.register(PricingRule)
class PricingRuleAdmin(AuditedModelAdmin):
    form = PricingRuleForm
    list_display = [
        "name",
        "retailer",
        "store",
        "category",
        "method",
        "value",
        "rounding",
        "min_margin_percent",
    ]
    list_filter = ["method", "rounding"]
    search_fields = ["name", "retailer__business_name", "store__name"]
    list_select_related = ["retailer", "store", "category"]
    autocomplete_fields = ["retailer", "store", "category"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [PricingTierInline]


@admin.register(PricingTier)
class PricingTierAdmin(AuditedModelAdmin):
    list_display = ["rule", "retailer", "min_cost", "max_cost", "method", "value"]
    list_filter = ["method"]
    search_fields = ["rule__name", "rule__retailer__business_name"]
    list_select_related = ["rule__retailer"]
    autocomplete_fields = ["rule"]

    @admin.display(description="retailer", ordering="rule__retailer__business_name")
    def retailer(self, obj: PricingTier) -> str:
        return admin_link(obj.rule.retailer)


@admin.register(Listing)
class ListingAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    """Listings are created, priced and synced by the import and sync services; here support reads
    their sync state and last error."""

    list_display = [
        "product",
        "store",
        "retailer",
        "status",
        "sync_status",
        "is_published",
        "last_synced_at",
    ]
    list_filter = ["sync_status", "status", "is_published", "store__platform"]
    search_fields = [
        "product__title",
        "title",
        "store__name",
        "store__domain",
        "store_product_id",
        "store__retailer__business_name",
    ]
    date_hierarchy = "created_at"
    list_select_related = ["product", "store__retailer"]
    inlines = [ListingVariantInline]

    @admin.display(description="retailer", ordering="store__retailer__business_name")
    def retailer(self, obj: Listing) -> str:
        return admin_link(obj.store.retailer)


@admin.register(ListingVariant)
class ListingVariantAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    list_display = [
        "variant",
        "listing",
        "store",
        "retail_price",
        "currency",
        "last_pushed_quantity",
        "last_pushed_at",
        "is_inventory_dirty",
    ]
    list_filter = ["is_inventory_dirty", "store__platform"]
    search_fields = ["variant__sku", "store_variant_id", "inventory_item_id", "store__name"]
    list_select_related = ["variant", "listing__product", "listing__store", "store"]


# --- import list, push jobs, re-pricing (issue 5): written by services, read here --------------
class StoreImportItemInline(ViewOnlyTabularInline):
    model = StoreImportItem
    fields = ("product", "status", "error", "listing")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[StoreImportItem]:
        return super().get_queryset(request).select_related("product", "listing")


@admin.register(ImportListItem)
class ImportListItemAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    list_display = ["product", "retailer", "title", "created_at"]
    search_fields = ["product__title", "title", "retailer__business_name"]
    list_select_related = ["product", "retailer"]


@admin.register(StoreImportJob)
class StoreImportJobAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    """A push of products into a store: support sees its progress, its error and each product's."""

    list_display = [
        "pk",
        "retailer",
        "store",
        "status",
        "total_count",
        "succeeded_count",
        "failed_count",
        "api_calls",
        "created_at",
    ]
    list_filter = ["status", "store__platform"]
    search_fields = ["retailer__business_name", "store__name", "store__domain"]
    date_hierarchy = "created_at"
    list_select_related = ["retailer", "store"]
    inlines = [StoreImportItemInline]


@admin.register(StoreImportItem)
class StoreImportItemAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    list_display = ["product", "job", "status", "error"]
    list_filter = ["status"]
    search_fields = ["product__title", "error"]
    list_select_related = ["product", "job"]


@admin.register(PriceChange)
class PriceChangeAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    list_display = [
        "listing_variant",
        "retailer",
        "outcome",
        "old_cost",
        "new_cost",
        "old_price",
        "new_price",
        "created_at",
    ]
    list_filter = ["outcome"]
    search_fields = ["retailer__business_name", "listing_variant__variant__sku"]
    date_hierarchy = "created_at"
    list_select_related = ["retailer", "listing_variant__variant"]


@admin.register(PriceDigest)
class PriceDigestAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    list_display = ["retailer", "day", "change_count", "sent_at"]
    search_fields = ["retailer__business_name"]
    list_select_related = ["retailer"]


@admin.register(NoticePreference)
class NoticePreferenceAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    """What each retailer chose on its notification preferences page (it changes them there)."""

    list_display = ["retailer", "kind", "delivery"]
    list_filter = ["kind", "delivery"]
    search_fields = ["retailer__business_name"]
    list_select_related = ["retailer"]


@admin.register(DigestNotice)
class DigestNoticeAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    """Notices waiting for (or sent in) a retailer's daily digest."""

    list_display = ["retailer", "kind", "subject", "created_at", "sent_at"]
    list_filter = ["kind"]
    search_fields = ["retailer__business_name", "subject"]
    list_select_related = ["retailer"]


from retailers.sync import admin as _sync_admin  # noqa: E402, F401 - registers the sync pages


@admin.register(VariantChange)
class VariantChangeAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    """Stock changes from orders waiting for the sync worker to fan them out to listings
    (retailers/sync/marking.py): rows that stay here mean the fan-out is not running."""

    list_display = ["id", "variant_id", "created_at"]
    ordering = ["id"]
    show_full_result_count = False  # the queue can be long; counting it would be the slow part
