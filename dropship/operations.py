"""The staff operations home: the admin index says what needs attention now, and how the
marketplace is doing, before it lists the models.

Reads only. Each attention tile is one COUNT over an indexed or small filter, linked to the admin
list filtered the same way; a tile is shown only to staff who may view that list (support agents
see the tiles of the models their role reads). The platform figures are two aggregate queries
over the last PLATFORM_DAYS days, whatever the number of orders.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import wraps
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin
from django.core.cache import cache
from django.db import models
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone

from billing.models import Payout, ReconciliationMismatch
from dropship.core.charts import Bar, Line, bar_chart, line_chart
from dropship.core.money import ZERO, quantize
from integrations.models import InboundWebhook, OutboundPush
from orders.models import Dispute, Order, ReturnRequest, Shipment, SupplierOrder, TrackingStatus
from retailers.models import Retailer, Store
from suppliers.models import Supplier

# An inbound webhook the sweeper re-enqueues after two minutes (integrations/services.py) is
# "stuck" for staff once it has sat unfinished this long: the sweeper has not fixed it.
STUCK_AFTER = dt.timedelta(minutes=15)
PLATFORM_DAYS = 30
# The 30-day figures scan a month of orders (seconds at a million orders): they are kept this
# long in the cache; the attention tiles are always counted live.
PLATFORM_CACHE_KEY = "operations:platform-figures:v1"
PLATFORM_CACHE_SECONDS = 300


@dataclass(frozen=True)
class Tile:
    label: str
    count: int
    url: str
    hint: str

    @property
    def needs_attention(self) -> bool:
        return self.count > 0


@dataclass(frozen=True)
class _TileSpec:
    label: str
    model: type[models.Model]
    query: Callable[[dt.datetime], dict[str, str]]  # admin changelist filter, as query params
    hint: str


def _stuck(now: dt.datetime) -> dict[str, str]:
    return {
        "status__in": "RECEIVED,PROCESSING",
        "updated_at__lt": (now - STUCK_AFTER).isoformat(sep=" ", timespec="seconds"),
    }


TILES = (
    _TileSpec(
        "Suppliers waiting for review",
        Supplier,
        lambda now: {
            "status__exact": Supplier.Status.PENDING,
            "onboarding_step__exact": "SUBMITTED",
        },
        "Submitted their onboarding; approve or reject them.",
    ),
    _TileSpec(
        "Orders needing attention",
        Order,
        lambda now: {"status__exact": Order.Status.EXCEPTION},
        "Out of stock or refused lines the retailer has not settled.",
    ),
    _TileSpec(
        "Orders on hold",
        Order,
        lambda now: {"status__in": "HELD_FOR_REVIEW,ON_HOLD"},
        "Held by a fraud rule or a suspended account.",
    ),
    _TileSpec(
        "Supplier orders flagged by the watchdog",
        SupplierOrder,
        lambda now: {"is_flagged__exact": "1"},
        "Stopped moving: not accepted, not shipped, or a parcel gone quiet.",
    ),
    _TileSpec(
        "Supplier orders in exception",
        SupplierOrder,
        lambda now: {"status__exact": SupplierOrder.Status.EXCEPTION},
        "Rejected by the supplier or refused by its channel.",
    ),
    _TileSpec(
        "Failed payments",
        SupplierOrder,
        lambda now: {"status__exact": SupplierOrder.Status.PAYMENT_FAILED},
        "The retailer's card was declined; the order waits for payment.",
    ),
    _TileSpec(
        "Failed webhooks",
        InboundWebhook,
        lambda now: {"status__exact": InboundWebhook.Status.FAILED},
        "Inbound events that failed for good; replay them from the list.",
    ),
    _TileSpec(
        "Stuck webhooks",
        InboundWebhook,
        _stuck,
        f"Received but unfinished for over {int(STUCK_AFTER.total_seconds() // 60)} minutes.",
    ),
    _TileSpec(
        "Pushes that gave up",
        OutboundPush,
        lambda now: {"status__exact": OutboundPush.Status.FAILED},
        "Orders to supplier systems or notes to stores that never landed.",
    ),
    _TileSpec(
        "Fulfilments not pushed to stores",
        Shipment,
        lambda now: {"push_status__exact": Shipment.PushStatus.FAILED},
        "The store refused the tracking number.",
    ),
    _TileSpec(
        "Parcels in trouble",
        Shipment,
        lambda now: {"tracking_status__exact": TrackingStatus.EXCEPTION},
        "The carrier reports a delivery exception.",
    ),
    _TileSpec(
        "Payouts held or failed",
        Payout,
        lambda now: {"status__in": "HELD,FAILED"},
        "Supplier money that is not moving.",
    ),
    _TileSpec(
        "Reconciliation mismatches",
        ReconciliationMismatch,
        lambda now: {"is_resolved__exact": "0"},
        "Ledger, Stripe and orders disagree.",
    ),
    _TileSpec(
        "Stores needing reconnection",
        Store,
        lambda now: {"status__exact": Store.Status.NEEDS_RECONNECT},
        "Their token was revoked or expired; orders from them are not arriving.",
    ),
    _TileSpec(
        "Open disputes",
        Dispute,
        lambda now: {"status__exact": Dispute.Status.OPEN},
        "Chargebacks waiting for evidence or a decision.",
    ),
    _TileSpec(
        "Return requests waiting",
        ReturnRequest,
        lambda now: {"status__exact": ReturnRequest.Status.REQUESTED},
        "Shoppers' returns nobody has approved or rejected yet.",
    ),
)


def _filter(params: dict[str, str]) -> Q:
    """The admin changelist's query params as a queryset filter (`__in` values comma-separated,
    booleans as 1/0, like the admin reads them)."""
    lookups: dict[str, object] = {}
    for key, value in params.items():
        if key.endswith("__in"):
            lookups[key] = value.split(",")
        elif key.startswith("is_"):
            lookups[key] = value == "1"
        else:
            lookups[key] = value
    return Q(**lookups)


def attention_tiles(*, request: HttpRequest, now: dt.datetime | None = None) -> list[Tile]:
    """The tiles `request.user` may open: a count and a link to the admin list filtered alike."""
    now = now or timezone.now()
    tiles = []
    for spec in TILES:
        model_admin = admin.site._registry.get(spec.model)
        if model_admin is None or not model_admin.has_view_permission(request):
            continue
        params = spec.query(now)
        meta = spec.model._meta
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        count = spec.model._default_manager.filter(_filter(params)).count()
        tiles.append(Tile(spec.label, count, f"{url}?{urlencode(params)}", spec.hint))
    return tiles


@dataclass(frozen=True)
class PlatformDay:
    day: dt.date
    orders: int
    gmv: Decimal
    platform_fees: Decimal
    commission: Decimal


@dataclass(frozen=True)
class PlatformFigures:
    currency: str
    days: list[PlatformDay]
    active_retailers: int
    active_suppliers: int
    lines: list[Line]
    line_zero: int
    bars: list[Bar]
    bar_zero: int

    @property
    def orders(self) -> int:
        return sum(day.orders for day in self.days)

    @property
    def gmv(self) -> Decimal:
        return sum((day.gmv for day in self.days), ZERO)

    @property
    def platform_fees(self) -> Decimal:
        return sum((day.platform_fees for day in self.days), ZERO)

    @property
    def commission(self) -> Decimal:
        return sum((day.commission for day in self.days), ZERO)


def platform_figures(*, now: dt.datetime | None = None) -> PlatformFigures:
    """Orders, GMV (what shoppers paid for orders in settings.DEFAULT_CURRENCY, cancelled ones
    aside), platform fees and commission per day over the last PLATFORM_DAYS days, by the day
    the order was placed (UTC)."""
    now = now or timezone.now()
    currency = settings.DEFAULT_CURRENCY
    today = now.date()
    first = today - dt.timedelta(days=PLATFORM_DAYS - 1)
    since = dt.datetime.combine(first, dt.time.min, tzinfo=dt.UTC)
    placed = Coalesce("placed_at", "created_at")
    orders = (
        Order.objects.filter(currency=currency)
        .exclude(status=Order.Status.CANCELLED)
        .annotate(placed=placed)
        .filter(placed__gte=since)
        .annotate(day=TruncDate("placed", tzinfo=dt.UTC))
        .values("day")
        .annotate(n=Count("pk"), gmv=Sum("retail_total"))
    )
    by_day: dict[dt.date, dict] = {row["day"]: dict(row) for row in orders}
    money = (
        SupplierOrder.objects.filter(
            currency=currency,
            status__in=(
                SupplierOrder.Status.PAID,
                SupplierOrder.Status.SENT,
                SupplierOrder.Status.ACCEPTED,
                SupplierOrder.Status.SHIPPED,
                SupplierOrder.Status.DELIVERED,
            ),
        )
        .annotate(placed=Coalesce("order__placed_at", "order__created_at"))
        .filter(placed__gte=since)
        .annotate(day=TruncDate("placed", tzinfo=dt.UTC))
        .values("day")
        .annotate(
            fees=Sum("platform_fee"),
            # commission_percent is frozen on each supplier order, like the payouts read it
            commission=Sum(models.F("wholesale_total") * models.F("commission_percent") / 100),
        )
    )
    money_by_day: dict[dt.date, dict] = {row["day"]: dict(row) for row in money}
    days = []
    for offset in range(PLATFORM_DAYS):
        day = first + dt.timedelta(days=offset)
        row = by_day.get(day, {})
        cash = money_by_day.get(day, {})
        days.append(
            PlatformDay(
                day,
                row.get("n", 0),
                quantize(Decimal(str(row.get("gmv") or 0))),
                quantize(Decimal(str(cash.get("fees") or 0))),
                quantize(Decimal(str(cash.get("commission") or 0))),
            )
        )
    lines, line_zero = line_chart({"GMV": [day.gmv for day in days]})
    bars, bar_zero = bar_chart([(day.day.isoformat(), Decimal(day.orders)) for day in days])
    return PlatformFigures(
        currency=currency,
        days=days,
        active_retailers=Retailer.objects.filter(status=Retailer.Status.ACTIVE).count(),
        active_suppliers=Supplier.objects.filter(status=Supplier.Status.ACTIVE).count(),
        lines=lines,
        line_zero=line_zero,
        bars=bars,
        bar_zero=bar_zero,
    )


# The admin's model links, grouped by what staff do with them (apps not named here go last).
SECTIONS = (
    ("Orders and fulfilment", ("orders",)),
    ("Money", ("billing",)),
    ("Suppliers and catalog", ("suppliers", "catalog")),
    ("Retailers and stores", ("retailers",)),
    ("Integrations", ("integrations",)),
)


def group_app_list(app_list: list[dict]) -> list[dict]:
    """The admin's app list as SECTIONS: [{"title": ..., "apps": [app, ...]}]."""
    by_label = {app["app_label"]: app for app in app_list}
    sections = []
    for title, labels in SECTIONS:
        apps = [by_label.pop(label) for label in labels if label in by_label]
        if apps:
            sections.append({"title": title, "apps": apps})
    if by_label:
        sections.append({"title": "People, privacy and platform", "apps": list(by_label.values())})
    return sections


def cached_platform_figures() -> PlatformFigures:
    """platform_figures, computed at most once per PLATFORM_CACHE_SECONDS."""
    figures = cache.get(PLATFORM_CACHE_KEY)
    if figures is None:
        figures = platform_figures()
        cache.set(PLATFORM_CACHE_KEY, figures, PLATFORM_CACHE_SECONDS)
    return figures


def operations_index(index: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wrap AdminSite.index so it renders the operations home (admin/operations_home.html)."""

    @wraps(index)
    def view(request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        context = {
            "tiles": attention_tiles(request=request),
            "platform": cached_platform_figures(),
            "platform_refresh_minutes": PLATFORM_CACHE_SECONDS // 60,
            "sections": group_app_list(admin.site.get_app_list(request)),
            **(extra_context or {}),
        }
        return index(request, extra_context=context)

    return view
