"""Retailer notices about their orders (shipped, delivered, a parcel in trouble, a decision
needed), sent as each retailer chose on its notification preferences page: off, immediately
(in-app and e-mail) or in the daily digest (in-app at once, one e-mail a day listing them).

Every sender calls `send_retailer_notice`; a kind without a saved preference is IMMEDIATE, but
an order at a loss (orders/services/losses.py), which goes to the daily digest.
`send_notice_digests` (beat, daily) sends each retailer's waiting notices in one e-mail; a notice
is marked sent in the same transaction that queues the e-mail, so running it twice sends nothing
twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dropship.accounts.models import Notification, User
from dropship.accounts.services import email_organisation, notify
from dropship.core.audit import record_audit
from dropship.core.errors import DomainError
from retailers.models import DigestNotice, NoticeDelivery, NoticeKind, NoticePreference, Retailer


class NoticePreferenceError(DomainError):
    pass


@dataclass(frozen=True)
class NoticePreferenceRow:
    kind: str
    label: str
    delivery: str


# How a kind is sent until the retailer chooses: a loss is a daily digest line, not an alarm.
DEFAULT_DELIVERY: dict[str, str] = {NoticeKind.ORDER_LOSS.value: NoticeDelivery.DIGEST.value}


def default_delivery(kind: str) -> str:
    return DEFAULT_DELIVERY.get(kind, NoticeDelivery.IMMEDIATE.value)


def notice_delivery(*, retailer: Retailer, kind: str) -> str:
    chosen = (
        NoticePreference.objects.filter(retailer=retailer, kind=kind)
        .values_list("delivery", flat=True)
        .first()
    )
    return chosen or default_delivery(kind)


def list_notice_preferences(*, retailer: Retailer) -> list[NoticePreferenceRow]:
    chosen = dict(
        NoticePreference.objects.filter(retailer=retailer).values_list("kind", "delivery")
    )
    return [
        NoticePreferenceRow(
            kind=kind.value,
            label=kind.label,
            delivery=chosen.get(kind.value, default_delivery(kind.value)),
        )
        for kind in NoticeKind
    ]


@transaction.atomic
def set_notice_preferences(
    *, retailer: Retailer, choices: dict[str, str], actor: User | None = None
) -> list[NoticePreferenceRow]:
    """Save the retailer's choice for each kind given; an unknown kind or delivery is refused
    with its name and nothing is saved."""
    kinds = {kind.value for kind in NoticeKind}
    deliveries = {delivery.value for delivery in NoticeDelivery}
    for kind, delivery in choices.items():
        if kind not in kinds:
            raise NoticePreferenceError(f"“{kind}” is not a kind of notice.", field=kind)
        if delivery not in deliveries:
            raise NoticePreferenceError(
                f"Choose off, immediately or daily digest for “{NoticeKind(kind).label}”.",
                field=kind,
            )
    for kind, delivery in choices.items():
        NoticePreference.objects.update_or_create(
            retailer=retailer, kind=kind, defaults={"delivery": delivery}
        )
    record_audit(
        actor=actor,
        action="retailer.notice_preferences",
        target=retailer,
        summary="Changed the order notice preferences",
        data=dict(sorted(choices.items())),
    )
    return list_notice_preferences(retailer=retailer)


def send_retailer_notice(
    *,
    retailer: Retailer,
    kind: str,
    event: str,
    subject: str,
    message: str,
    url: str = "",
    level: str = Notification.Level.INFO,
) -> str:
    """Tell the retailer as it chose for this kind; returns the delivery used. `event` is the
    in-app notification's own kind (e.g. "order_rejected"); `url` a path on this site."""
    delivery = notice_delivery(retailer=retailer, kind=kind)
    if delivery == NoticeDelivery.OFF:
        return delivery
    notify(organisation=retailer, kind=event, message=message, level=level, url=url)
    link = f"\n\n{settings.SITE_URL}{url}" if url else ""
    if delivery == NoticeDelivery.IMMEDIATE:
        email_organisation(organisation=retailer, subject=subject, message=message + link + "\n")
    else:
        DigestNotice.objects.create(
            retailer=retailer, kind=kind, subject=subject[:200], message=message[:1000], url=url
        )
    return delivery


def send_notice_digests(*, now: datetime | None = None) -> int:
    """One e-mail per retailer with notices waiting for its digest; returns how many were sent."""
    now = now or timezone.now()
    retailer_ids = list(
        DigestNotice.objects.filter(sent_at__isnull=True)
        .values_list("retailer_id", flat=True)
        .distinct()
        .order_by("retailer_id")
    )
    sent = 0
    for retailer in Retailer.objects.filter(pk__in=retailer_ids):
        sent += send_notice_digest(retailer=retailer, now=now)
    return sent


@transaction.atomic
def send_notice_digest(*, retailer: Retailer, now: datetime) -> int:
    notices = list(
        DigestNotice.objects.select_for_update()
        .filter(retailer=retailer, sent_at__isnull=True)
        .order_by("created_at", "pk")
    )
    if not notices:
        return 0
    DigestNotice.objects.filter(pk__in=[n.pk for n in notices]).update(sent_at=now)
    lines = [f"Your Dropship orders since the last digest ({len(notices)}):", ""]
    for notice in notices:
        lines.append(f"- {notice.message}")
        if notice.url:
            lines.append(f"  {settings.SITE_URL}{notice.url}")
    email_organisation(
        organisation=retailer,
        subject=f"Dropship daily digest: {len(notices)} order update{'s' if len(notices) != 1 else ''}",
        message="\n".join(lines) + "\n",
    )
    return 1
