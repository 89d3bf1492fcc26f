"""Reads about suppliers, always scoped: a supplier sees only its own rows; the public only ACTIVE ones."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Min, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone

from catalog.models import Product, Variant
from dropship.core.money import ZERO
from orders.models import SupplierOrder
from suppliers.models import ShippingRate, Supplier

OPEN_SUPPLIER_ORDER_STATUSES = [
    SupplierOrder.Status.PAID,
    SupplierOrder.Status.SENT,
    SupplierOrder.Status.ACCEPTED,
]


def list_shipping_rates_for_supplier(*, supplier: Supplier) -> list[ShippingRate]:
    """The supplier's own rates, domestic first, each class's cheapest first."""
    return list(
        ShippingRate.objects.filter(supplier=supplier).order_by(
            "zone", "shipping_class", "price", "pk"
        )
    )


def list_public_suppliers(
    *, search: str = "", business_type: str = "", country: str = ""
) -> QuerySet[Supplier]:
    suppliers = (
        Supplier.objects.filter(status=Supplier.Status.ACTIVE)
        .select_related("scorecard")
        .annotate(
            active_product_count=Count("products", filter=Q(products__status=Product.Status.ACTIVE))
        )
    )
    if search:
        suppliers = suppliers.filter(
            Q(company_name__icontains=search) | Q(description__icontains=search)
        )
    if business_type:
        suppliers = suppliers.filter(business_type=business_type)
    if country:
        suppliers = suppliers.filter(ship_from_country__iexact=country)
    return suppliers.order_by("company_name")


def get_public_supplier(*, slug: str) -> Supplier:
    return get_object_or_404(list_public_suppliers(), slug=slug)


@dataclass(frozen=True)
class SupplierDashboard:
    products_by_status: dict[str, int]
    product_count: int
    variant_count: int
    low_stock_count: int
    out_of_stock_count: int
    stock_value: Decimal
    open_order_count: int
    orders_by_status: dict[str, int]
    shipped_last_30_days: int


def get_supplier_dashboard(*, supplier: Supplier) -> SupplierDashboard:
    by_status = dict(
        Product.objects.filter(supplier=supplier)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    threshold = Coalesce(F("low_stock_threshold"), supplier.low_stock_threshold)
    variant_stats = (
        Variant.objects.filter(supplier=supplier)
        .exclude(product__status=Product.Status.DISCONTINUED)
        .annotate(available=F("stock_on_hand") - F("stock_reserved"), threshold=threshold)
        .aggregate(
            variant_count=Count("id"),
            out_of_stock=Count("id", filter=Q(available__lte=0)),
            low_stock=Count("id", filter=Q(available__gt=0, available__lte=F("threshold"))),
            stock_value=Coalesce(
                Sum(
                    ExpressionWrapper(
                        F("stock_on_hand") * F("wholesale_price"),
                        output_field=DecimalField(max_digits=18, decimal_places=2),
                    )
                ),
                ZERO,
                output_field=DecimalField(max_digits=18, decimal_places=2),
            ),
        )
    )
    orders_by_status = dict(
        SupplierOrder.objects.filter(supplier=supplier)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    shipped_recently = SupplierOrder.objects.filter(
        supplier=supplier, shipped_at__gte=timezone.now() - timedelta(days=30)
    ).count()
    return SupplierDashboard(
        products_by_status={
            status.label: by_status.get(status.value, 0) for status in Product.Status
        },
        product_count=sum(by_status.values()),
        variant_count=variant_stats["variant_count"],
        low_stock_count=variant_stats["low_stock"],
        out_of_stock_count=variant_stats["out_of_stock"],
        stock_value=variant_stats["stock_value"],
        open_order_count=sum(orders_by_status.get(s, 0) for s in OPEN_SUPPLIER_ORDER_STATUSES),
        orders_by_status=orders_by_status,
        shipped_last_30_days=shipped_recently,
    )


@dataclass(frozen=True)
class OnboardingStepState:
    key: str  # URL slug
    step: str  # Supplier.OnboardingStep value
    label: str
    number: int
    is_done: bool
    is_current: bool
    is_reachable: bool


# The wizard's pages; SUBMITTED (after the last page) shows the review page, read-only.
ONBOARDING_SLUGS: dict[str, str] = {
    Supplier.OnboardingStep.PROFILE: "profile",
    Supplier.OnboardingStep.FULFILMENT: "fulfilment",
    Supplier.OnboardingStep.CHANNEL: "channel",
    Supplier.OnboardingStep.VERIFICATION: "verification",
    Supplier.OnboardingStep.REVIEW: "review",
}
STEP_BY_SLUG = {slug: step for step, slug in ONBOARDING_SLUGS.items()}
PROGRESS_ORDER: list[str] = [*ONBOARDING_SLUGS, Supplier.OnboardingStep.SUBMITTED]


def onboarding_slug(step: str) -> str:
    return ONBOARDING_SLUGS.get(step, "review")


def list_onboarding_steps(
    *, supplier: Supplier, current: str | None = None
) -> list[OnboardingStepState]:
    """The wizard's steps with what is done, which one is shown and which can be opened."""
    progress = PROGRESS_ORDER.index(supplier.onboarding_step)
    labels = dict(Supplier.OnboardingStep.choices)
    return [
        OnboardingStepState(
            key=slug,
            step=step,
            label=labels[step],
            number=index + 1,
            is_done=index < progress,
            is_current=step == current,
            is_reachable=index <= progress,
        )
        for index, (step, slug) in enumerate(ONBOARDING_SLUGS.items())
    ]


def has_unfinished_application(*, supplier: Supplier) -> bool:
    return (
        supplier.status == Supplier.Status.PENDING
        and supplier.onboarding_step != Supplier.OnboardingStep.SUBMITTED
    )


def get_supplier_landing_url(*, supplier: Supplier) -> str:
    """Where a supplier lands after logging in: its unfinished application, else its dashboard."""
    if has_unfinished_application(supplier=supplier):
        return reverse(
            "suppliers:onboarding_step", args=[onboarding_slug(supplier.onboarding_step)]
        )
    return reverse("suppliers:dashboard")


def list_public_products_of_supplier(*, supplier: Supplier, limit: int = 12) -> list[Product]:
    """An approved supplier's active products for its public profile; nothing for anyone else."""
    if supplier.status != Supplier.Status.ACTIVE:
        return []
    return list(
        Product.objects.filter(supplier=supplier, status=Product.Status.ACTIVE)
        .select_related("category")
        .annotate(lowest_price=Min("variants__wholesale_price"))
        .order_by("title")[:limit]
    )
