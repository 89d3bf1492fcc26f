"""The daily price digest: one email per retailer per day listing re-priced and paused listings."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from dropship.accounts.services import email_organisation
from dropship.core.money import format_money
from retailers.models import PriceChange, PriceDigest, Retailer


def send_price_digests(*, day: datetime.date | None = None) -> int:
    """Send each retailer with new price changes its digest; returns how many were sent.
    Idempotent: a retailer gets at most one digest per day (PriceDigest is unique per day)."""
    day = day or timezone.localdate()
    retailer_ids = (
        PriceChange.objects.filter(digest__isnull=True)
        .values_list("retailer_id", flat=True)
        .distinct()
    )
    sent = 0
    for retailer in Retailer.objects.filter(pk__in=list(retailer_ids)):
        if send_price_digest(retailer=retailer, day=day):
            sent += 1
    return sent


@transaction.atomic
def send_price_digest(*, retailer: Retailer, day: datetime.date) -> bool:
    digest, created = PriceDigest.objects.get_or_create(retailer=retailer, day=day)
    if not created:
        return False
    changes = list(
        PriceChange.objects.select_for_update(of=("self",))
        .filter(retailer=retailer, digest__isnull=True)
        .select_related("listing__product", "listing__store", "listing_variant__variant")
        .order_by("created_at", "pk")
    )
    if not changes:
        return False
    PriceChange.objects.filter(pk__in=[c.pk for c in changes]).update(digest=digest)
    digest.change_count = len(changes)
    digest.sent_at = timezone.now()
    digest.save(update_fields=["change_count", "sent_at"])
    paused = [c for c in changes if c.outcome == PriceChange.Outcome.PAUSED]
    repriced = [c for c in changes if c.outcome == PriceChange.Outcome.REPRICED]
    lines = [f"Price changes from your suppliers on {day:%d %B %Y}.", ""]
    if paused:
        lines += [
            f"{len(paused)} paused (new cost below your minimum margin; quantity 0 until you act):",
            *(_line(c) for c in paused),
            f"Approve a price or unlist: {settings.SITE_URL}{reverse('retailers:approvals')}",
            "",
        ]
    if repriced:
        lines += [
            f"{len(repriced)} re-priced by your pricing rules:",
            *(_line(c) for c in repriced),
        ]
    email_organisation(
        organisation=retailer,
        subject=f"Dropship price changes: {len(repriced)} re-priced, {len(paused)} paused",
        message="\n".join(lines) + "\n",
    )
    return True


def _line(change: PriceChange) -> str:
    currency = change.listing_variant.currency
    title = change.listing.title or change.listing.product.title
    return (
        f"- {title} ({change.listing_variant.variant.sku}) in {change.listing.store.name}: cost "
        f"{format_money(change.old_cost, currency)} → {format_money(change.new_cost, currency)}, "
        f"price {format_money(change.old_price, currency)} → "
        f"{format_money(change.new_price, currency)}"
    )
