"""Catalog in the admin. Stock is read-only here: it changes only through catalog services, which
record every movement; a new variant added here starts with no stock."""

from typing import TYPE_CHECKING, Any, TypedDict

from django import forms
from django.contrib import admin
from django.db.models import Count, F, QuerySet, Sum
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from catalog.models import (
    Category,
    ImportJob,
    ImportRowError,
    Product,
    ProductImage,
    ProductSearch,
    SearchTerm,
    StockMovement,
    Variant,
)
from dropship.core.admin_utils import EMPTY, AuditedModelAdmin, ViewOnlyAdminMixin, admin_link

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations

RECENT_MOVEMENTS = 20


class CategoryCounts(TypedDict):
    _product_count: int


class ProductCounts(TypedDict):
    _variant_count: int
    _stock_available: int | None


class VariantAvailability(TypedDict):
    _available: int


class VariantAdminForm(forms.ModelForm):
    """The variant's supplier is always its product's supplier; SKUs are unique per supplier."""

    class Meta:
        model = Variant
        fields = [
            "product",
            "sku",
            "options",
            "position",
            "wholesale_price",
            "msrp",
            "currency",
            "weight_grams",
            "shipping_class",
            "low_stock_threshold",
        ]

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        product = cleaned.get("product")
        if product is not None and not self.instance.supplier_id:
            self.instance.supplier_id = product.supplier_id
        sku = cleaned.get("sku")
        if self.instance.supplier_id and sku:
            taken = (
                Variant.objects.filter(supplier_id=self.instance.supplier_id, sku=sku)
                .exclude(pk=self.instance.pk)
                .exists()
            )
            if taken:
                self.add_error("sku", f"This supplier already has a variant with SKU {sku}.")
        return cleaned


class VariantInlineFormSet(BaseInlineFormSet):
    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)  # type: ignore[misc]  # django-stubs omits BaseFormSet._construct_form
        if self.instance.supplier_id and not form.instance.supplier_id:
            form.instance.supplier_id = self.instance.supplier_id
        return form

    def clean(self):
        super().clean()
        seen: set[str] = set()
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or form.cleaned_data.get("DELETE"):
                continue
            sku = form.cleaned_data.get("sku")
            if sku and sku in seen:
                raise forms.ValidationError(
                    f"SKU {sku} appears twice; SKUs are unique per supplier."
                )
            if sku:
                seen.add(sku)


class VariantInline(admin.TabularInline):
    model = Variant
    form = VariantAdminForm
    formset = VariantInlineFormSet
    extra = 0
    show_change_link = True
    fields = [
        "sku",
        "options",
        "wholesale_price",
        "msrp",
        "currency",
        "weight_grams",
        "shipping_class",
        "position",
        "stock_on_hand",
        "stock_reserved",
    ]
    readonly_fields = ["stock_on_hand", "stock_reserved"]


class ProductImageInline(admin.TabularInline):
    model = ProductImage
    extra = 0
    fields = ["image", "source_url", "alt_text", "position"]


@admin.register(Category)
class CategoryAdmin(AuditedModelAdmin):
    list_display = ["name", "parent", "slug", "product_count"]
    search_fields = ["name", "slug"]
    list_filter = [("parent", admin.RelatedOnlyFieldListFilter)]
    list_select_related = ["parent"]
    autocomplete_fields = ["parent"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Category]:
        return super().get_queryset(request).annotate(_product_count=Count("products"))

    @admin.display(description="products", ordering="_product_count")
    def product_count(self, obj: "WithAnnotations[Category, CategoryCounts]") -> int:
        return obj._product_count


@admin.register(Product)
class ProductAdmin(AuditedModelAdmin):
    list_display = [
        "title",
        "supplier",
        "category",
        "status",
        "variant_count",
        "stock_available",
        "created_at",
    ]
    list_filter = ["status", ("category", admin.RelatedOnlyFieldListFilter), "supplier__status"]
    search_fields = ["title", "handle", "supplier__company_name", "variants__sku"]
    date_hierarchy = "created_at"
    list_select_related = ["supplier", "category"]
    autocomplete_fields = ["supplier", "category"]
    readonly_fields = ["created_at", "updated_at"]
    fields = [
        "supplier",
        "handle",
        "title",
        "description",
        "category",
        "status",
        "option_names",
        "attributes",
        "created_at",
        "updated_at",
    ]
    inlines = [VariantInline, ProductImageInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Product]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                _variant_count=Count("variants"),
                _stock_available=Sum(F("variants__stock_on_hand") - F("variants__stock_reserved")),
            )
        )

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        # Variants carry the supplier too (SKU uniqueness): a product never changes supplier.
        return [*self.readonly_fields, "supplier"] if obj is not None else self.readonly_fields

    @admin.display(description="variants", ordering="_variant_count")
    def variant_count(self, obj: "WithAnnotations[Product, ProductCounts]") -> int:
        return obj._variant_count

    @admin.display(description="available", ordering="_stock_available")
    def stock_available(self, obj: "WithAnnotations[Product, ProductCounts]") -> int:
        return obj._stock_available or 0


@admin.register(ProductImage)
class ProductImageAdmin(AuditedModelAdmin):
    list_display = ["__str__", "product", "position", "source_url"]
    search_fields = ["product__title", "alt_text", "source_url"]
    list_select_related = ["product"]
    autocomplete_fields = ["product"]


@admin.register(Variant)
class VariantAdmin(AuditedModelAdmin):
    form = VariantAdminForm
    list_display = [
        "sku",
        "product_link",
        "supplier",
        "options_label",
        "wholesale_price",
        "currency",
        "stock_on_hand",
        "stock_reserved",
        "available",
        "stock_updated_at",
    ]
    list_filter = ["product__status", "shipping_class", "currency", "is_low_stock_alerted"]
    search_fields = ["sku", "product__title", "supplier__company_name"]
    list_select_related = ["product", "supplier"]
    autocomplete_fields = ["product"]
    readonly_fields = [
        "supplier",
        "stock_on_hand",
        "stock_reserved",
        "stock_updated_at",
        "is_low_stock_alerted",
        "recent_stock_movements",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "product",
                    "supplier",
                    "sku",
                    "options",
                    "position",
                    "wholesale_price",
                    "msrp",
                    "currency",
                    "weight_grams",
                    "shipping_class",
                ]
            },
        ),
        (
            "Stock (changes only through the supplier's pages, imports, API and orders)",
            {
                "fields": [
                    "stock_on_hand",
                    "stock_reserved",
                    "stock_updated_at",
                    "low_stock_threshold",
                    "is_low_stock_alerted",
                    "recent_stock_movements",
                ]
            },
        ),
        ("Dates", {"fields": ["created_at", "updated_at"]}),
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Variant]:
        return (
            super()
            .get_queryset(request)
            .annotate(_available=F("stock_on_hand") - F("stock_reserved"))
        )

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        return [*self.readonly_fields, "product"] if obj is not None else self.readonly_fields

    @admin.display(description="product", ordering="product__title")
    def product_link(self, obj: Variant) -> str:
        return admin_link(obj.product)

    @admin.display(description="options")
    def options_label(self, obj: Variant) -> str:
        return obj.options_label

    @admin.display(description="available", ordering="_available")
    def available(self, obj: "WithAnnotations[Variant, VariantAvailability]") -> int:
        return obj._available

    @admin.display(description=f"last {RECENT_MOVEMENTS} stock movements")
    def recent_stock_movements(self, obj: Variant) -> str:
        if obj.pk is None:
            return EMPTY
        movements = obj.stock_movements.select_related("actor")[:RECENT_MOVEMENTS]
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{} → {}</td><td>{} → {}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    m.created_at.strftime("%Y-%m-%d %H:%M"),
                    m.get_source_display(),
                    m.on_hand_before,
                    m.on_hand_after,
                    m.reserved_before,
                    m.reserved_after,
                    m.actor or "system",
                    m.reference,
                )
                for m in movements
            ),
        )
        if not rows:
            return "No stock movements yet."
        return format_html(
            "<table><thead><tr><th>When</th><th>Source</th><th>On hand</th><th>Reserved</th>"
            "<th>Who</th><th>Reference</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )


@admin.register(StockMovement)
class StockMovementAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    list_display = [
        "created_at",
        "variant",
        "source",
        "on_hand_change",
        "reserved_change",
        "actor",
        "reference",
    ]
    list_filter = ["source"]
    search_fields = ["variant__sku", "reference", "actor__email"]
    date_hierarchy = "created_at"
    list_select_related = ["variant", "actor"]

    @admin.display(description="on hand")
    def on_hand_change(self, obj: StockMovement) -> str:
        return f"{obj.on_hand_before} → {obj.on_hand_after}"

    @admin.display(description="reserved")
    def reserved_change(self, obj: StockMovement) -> str:
        return f"{obj.reserved_before} → {obj.reserved_after}"


class ImportRowErrorInline(admin.TabularInline):
    model = ImportRowError
    fields = ("row_number", "column", "message")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False


@admin.register(ImportJob)
class ImportJobAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    """Supplier catalog imports: what was uploaded, how far it got, and every row's problem."""

    list_display = [
        "id",
        "supplier",
        "original_filename",
        "kind",
        "status",
        "total_rows",
        "created_count",
        "updated_count",
        "unchanged_count",
        "failed_count",
        "created_at",
    ]
    list_filter = ["status", "kind"]
    search_fields = ["original_filename", "supplier__company_name"]
    date_hierarchy = "created_at"
    list_select_related = ["supplier"]
    exclude = ["file"]
    inlines = [ImportRowErrorInline]


@admin.register(ImportRowError)
class ImportRowErrorAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    list_display = ["job", "row_number", "column", "message"]
    search_fields = ["message", "column", "job__original_filename", "job__supplier__company_name"]
    list_select_related = ["job__supplier"]


@admin.register(ProductSearch)
class ProductSearchAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    """The search row the database triggers keep for each product: read it to see why a product
    does or does not show in the retailer catalog."""

    list_display = ["product", "is_listed", "min_price", "in_stock", "handling_days", "ship_from"]
    list_filter = ["is_listed", "in_stock"]
    search_fields = ["product__title", "skus"]
    list_select_related = ["product"]
    exclude = ["document"]


@admin.register(SearchTerm)
class SearchTermAdmin(ViewOnlyAdminMixin, AuditedModelAdmin):
    """Words known to the misspelling correction."""

    list_display = ["term"]
    search_fields = ["term"]
