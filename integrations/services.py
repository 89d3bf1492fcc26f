"""Writes for integrations: the inbound webhook inbox and durable outbound pushes.

Inbox (DESIGN flow 2): a verified event is stored first (`receive_webhook`), answered, and
processed by a task (`process_inbound_webhook`) that claims the row with one conditional UPDATE,
so two workers never run the same event, then dispatches through the `{topic: handler}` table.
The sweeper re-enqueues rows left RECEIVED (a lost message, a temporary failure) or PROCESSING
past their lease (a worker died), so nothing is lost.

Outbound pushes: a call to a store or supplier that must land is an `OutboundPush` row sent by
a task through the `{kind: sender}` table, retried with exponential backoff and jitter until it
succeeds or runs out of attempts.

Killed workers: a claim takes a lease (dropship/core/leases.py) that the claiming worker renews
while it lives, and counts an attempt. The attempt number is the claim's token: the outcome is
written only where the row still carries it (compare-and-swap), so when a lease lapsed and
another worker took the row over, the first worker's outcome is refused (the inbox's handler
work, in the same transaction, is rolled back with it) and exactly one execution counts.
API versions: a store answering with another version than we pin (Shopify's fall-forward) is
an `ApiVersionNotice` for platform admins (`record_served_api_version`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from dropship.core.audit import acting_for_store, record_audit
from dropship.core.errors import DomainError, PermanentError, TemporaryError
from dropship.core.leases import held_lease, lease_until
from dropship.core.retry import OUTBOX
from dropship.core.safe_json import BadJson, load_json_object
from integrations.models import ApiVersionNotice, InboundWebhook, OutboundPush
from integrations.webhooks.handlers import get_handler
from retailers.models import Store

logger = logging.getLogger(__name__)

# A row PROCESSING (SENDING) claimed before leases existed, or a row RECEIVED again after a
# temporary failure, is picked up again by the sweeper after this.
STALE_AFTER = timedelta(minutes=2)
# A row RECEIVED and never claimed this long: its message was lost, or taken by a worker that
# died before starting it (the broker would return it only after its visibility timeout).
UNCLAIMED_AFTER = timedelta(seconds=30)
MAX_WEBHOOK_ATTEMPTS = 10
KEPT_HEADERS = (
    "content-type",
    "user-agent",
    "x-shopify-",
    "x-wc-webhook-",
    "stripe-signature",
    "x-hmac-signature",
)


def _kept_headers(headers: dict[str, str]) -> dict[str, str]:
    return {
        name: value
        for name, value in headers.items()
        if any(name.lower().startswith(prefix) for prefix in KEPT_HEADERS)
    }


# --- inbox ---------------------------------------------------------------------------------------
def receive_webhook(
    *,
    source: str,
    topic: str,
    dedup_key: str,
    body: bytes,
    headers: dict[str, str],
    store: Any = None,
    supplier: Any = None,
    is_delivery: bool = True,
) -> tuple[InboundWebhook, bool]:
    """Store a verified event and enqueue its processing; (row, False) for a duplicate delivery.
    `is_delivery=False` for an event we fetched ourselves (the order poll): it says nothing about
    the store's webhooks, so the store's last webhook time is left alone."""
    # local: tasks.py imports the services
    from integrations.tasks import process_inbound_webhook_task

    now = timezone.now()
    fields = {
        "source": source,
        "topic": topic[:64],
        "dedup_key": dedup_key[:128],
        "body": body,
        "headers": _kept_headers(headers),
        "store": store,
        "supplier": supplier,
    }
    try:
        if transaction.get_connection().in_atomic_block:
            with transaction.atomic():  # a savepoint, so a duplicate leaves the caller usable
                webhook = InboundWebhook.objects.create(**fields)
        else:
            webhook = InboundWebhook.objects.create(**fields)  # one autocommitted INSERT
    except IntegrityError:
        InboundWebhook.objects.filter(source=source, dedup_key=dedup_key[:128]).update(
            duplicate_count=F("duplicate_count") + 1
        )
        return InboundWebhook.objects.get(source=source, dedup_key=dedup_key[:128]), False
    # Runs at once in autocommit, or when the caller's transaction commits.
    transaction.on_commit(partial(process_inbound_webhook_task.delay, webhook.pk))
    if (
        is_delivery
        and store is not None
        and (store.last_webhook_at is None or now - store.last_webhook_at > timedelta(minutes=1))
    ):
        _touch_store(store_id=store.pk, now=now)
        store.last_webhook_at = now
    return webhook, True


def _touch_store(*, store_id: int, now: datetime) -> None:
    """Webhook health for the stores page; written at most once a minute per store."""
    Store.objects.filter(pk=store_id).filter(
        Q(last_webhook_at__isnull=True) | Q(last_webhook_at__lt=now - timedelta(minutes=1))
    ).update(last_webhook_at=now)


def record_failed_webhook(
    *,
    source: str,
    topic: str,
    dedup_key: str,
    body: bytes,
    headers: dict[str, str],
    error: str,
    store: Any = None,
) -> InboundWebhook:
    """A signed delivery we cannot read (malformed JSON): kept as FAILED for support to see."""
    webhook, created = InboundWebhook.objects.get_or_create(
        source=source,
        dedup_key=dedup_key[:128],
        defaults={
            "topic": topic[:64],
            "body": body,
            "headers": _kept_headers(headers),
            "store": store,
            "status": InboundWebhook.Status.FAILED,
            "last_error": error,
        },
    )
    if not created:
        InboundWebhook.objects.filter(pk=webhook.pk).update(
            duplicate_count=F("duplicate_count") + 1
        )
    return webhook


# The claim and the outcome are written by hand: they run twice for every webhook of every store,
# and the ORM's compilation of these one-row updates cost more than the statements themselves.
_TABLE = InboundWebhook._meta.db_table
_CLAIM_SQL = f"""
    UPDATE {_TABLE}
       SET status = %(processing)s, attempts = attempts + 1, updated_at = %(now)s,
           lease_until = %(lease_until)s
     WHERE id = %(id)s
       AND (status = %(received)s
            OR (status = %(processing)s AND (lease_until < %(now)s
                OR (lease_until IS NULL AND updated_at < %(stale)s))))
 RETURNING attempts
"""  # noqa: S608 (the table name is a constant)
_FINISH_SQL = f"""
    UPDATE {_TABLE}
       SET status = %(status)s, last_error = %(error)s, processed_at = %(processed_at)s,
           updated_at = %(now)s, lease_until = NULL
     WHERE id = %(id)s AND status = %(processing)s AND attempts = %(attempt)s
"""  # noqa: S608 (the table name is a constant)


class LeaseLost(TemporaryError):
    """The row was handed to another worker after this one's lease lapsed: its outcome is not
    written, and the inbox's handler work is rolled back with it."""


def _claim(webhook_id: int) -> int | None:
    """Take the row for this worker: RECEIVED, or PROCESSING whose worker's lease lapsed.
    Returns the claim's attempt number (its token), None when the row is not ours to run."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            _CLAIM_SQL,
            {
                "id": webhook_id,
                "now": now,
                "lease_until": lease_until(now),
                "stale": now - STALE_AFTER,
                "received": InboundWebhook.Status.RECEIVED,
                "processing": InboundWebhook.Status.PROCESSING,
            },
        )
        row = cursor.fetchone()
    return None if row is None else int(row[0])


def process_inbound_webhook(*, webhook_id: int) -> InboundWebhook | None:
    """Run the topic's handler once for this event; record the outcome on the row."""
    attempt = _claim(webhook_id)
    if attempt is None:
        return None  # processed, failed, or another worker holds it
    claimed = InboundWebhook.objects.filter(
        pk=webhook_id, status=InboundWebhook.Status.PROCESSING, attempts=attempt
    )
    with held_lease(claimed):
        return _process_claimed(webhook_id, attempt)


def _process_claimed(webhook_id: int, attempt: int) -> InboundWebhook:
    webhook = InboundWebhook.objects.select_related("store__retailer").get(pk=webhook_id)
    webhook.attempts = attempt  # this execution's claim: the outcome is written only under it
    handler = get_handler(webhook.source, webhook.topic)
    if handler is None:
        _finish(
            webhook,
            InboundWebhook.Status.FAILED,
            f"No handler is registered for {webhook.get_source_display()} topic "
            f"{webhook.topic!r}; replay it once one is.",
        )
        return webhook
    try:
        payload = load_json_object(bytes(webhook.body))
    except BadJson as exc:
        _finish(webhook, InboundWebhook.Status.FAILED, exc.message)
        return webhook
    store = webhook.store
    try:
        with (
            transaction.atomic(),
            acting_for_store(
                retailer_id=store.retailer_id if store is not None else None,
                request_id=f"webhook-{webhook.pk}",
            ) as audit,
        ):
            handler(webhook, payload)
            if not audit.entries:  # the handler's services wrote none: one entry for the event
                record_audit(
                    action=f"webhook.{webhook.source.lower()}",
                    target=webhook,
                    summary=f"{webhook.get_source_display()} {webhook.topic} processed",
                    data={"topic": webhook.topic},
                )
            if not _finish(webhook, InboundWebhook.Status.PROCESSED, ""):
                raise LeaseLost(f"Webhook {webhook.pk} was taken over by another worker.")
    except LeaseLost:
        logger.warning(
            "Webhook %s attempt %s lost its lease; its outcome was discarded", webhook.pk, attempt
        )
        webhook.refresh_from_db()
    except TemporaryError as exc:
        status = (
            InboundWebhook.Status.FAILED
            if webhook.attempts >= MAX_WEBHOOK_ATTEMPTS
            else InboundWebhook.Status.RECEIVED
        )
        _finish(webhook, status, f"Temporary failure (attempt {webhook.attempts}): {exc}")
    except PermanentError as exc:
        _finish(webhook, InboundWebhook.Status.FAILED, str(exc) or type(exc).__name__)
    except Exception as exc:  # a bug in a handler: keep the event, show the error, stop retrying
        logger.exception("Webhook %s (%s) handler crashed", webhook.pk, webhook.topic)
        _finish(webhook, InboundWebhook.Status.FAILED, f"{type(exc).__name__}: {exc}")
    return webhook


def _finish(webhook: InboundWebhook, status: str, error: str) -> bool:
    """Write the outcome where the row still carries this claim (False: another worker's now)."""
    now = timezone.now()
    webhook.status = status
    webhook.last_error = error[:2000]
    webhook.updated_at = now
    webhook.lease_until = None
    if status == InboundWebhook.Status.PROCESSED:
        webhook.processed_at = now
    with connection.cursor() as cursor:
        cursor.execute(
            _FINISH_SQL,
            {
                "id": webhook.pk,
                "status": status,
                "error": webhook.last_error,
                "processed_at": webhook.processed_at,
                "now": now,
                "processing": InboundWebhook.Status.PROCESSING,
                "attempt": webhook.attempts,
            },
        )
        written: int = cursor.rowcount
    return written == 1


def _due_for_sweep(*, now: datetime, stale_after: timedelta) -> Q:
    """Inbox rows whose processing must be started again."""
    received, processing = InboundWebhook.Status.RECEIVED, InboundWebhook.Status.PROCESSING
    return (
        Q(status=received, attempts=0, updated_at__lt=now - min(UNCLAIMED_AFTER, stale_after))
        | Q(status=received, attempts__gt=0, updated_at__lt=now - stale_after)
        | Q(status=processing, lease_until__lt=now)
        | Q(status=processing, lease_until__isnull=True, updated_at__lt=now - stale_after)
    )


def sweep_inbound_webhooks(
    *, stale_after: timedelta = STALE_AFTER, now: datetime | None = None
) -> int:
    """Re-enqueue events never claimed (a lost message), waiting again after a temporary failure
    for longer than `stale_after`, or claimed by a worker whose lease lapsed (it died)."""
    # local: tasks.py imports the services
    from integrations.tasks import process_inbound_webhook_task

    now = now or timezone.now()
    ids = list(
        InboundWebhook.objects.filter(_due_for_sweep(now=now, stale_after=stale_after))
        .order_by("updated_at")
        .values_list("pk", flat=True)[:500]
    )
    for webhook_id in ids:
        transaction.on_commit(partial(process_inbound_webhook_task.delay, webhook_id))
    return len(ids)


class WebhookReplayError(DomainError):
    pass


@transaction.atomic
def mark_webhook_for_replay(*, webhook: InboundWebhook, actor: Any = None) -> InboundWebhook:
    """Support replays a processed or failed event: back to RECEIVED, processed again after commit.

    Processing is idempotent, so replaying an event that was handled changes nothing twice; the
    sweeper would also pick the RECEIVED row up if the enqueue were lost.
    """
    # local: tasks.py imports the services
    from integrations.tasks import process_inbound_webhook_task

    webhook = InboundWebhook.objects.select_for_update().get(pk=webhook.pk)
    label = f"{webhook.get_source_display()} {webhook.topic} webhook #{webhook.pk}"
    if webhook.status == InboundWebhook.Status.RECEIVED:
        raise WebhookReplayError(f"{label} is already waiting to be processed.")
    if webhook.status == InboundWebhook.Status.PROCESSING:
        raise WebhookReplayError(
            f"{label} is being processed right now; replay it once it has finished or failed."
        )
    previous, previous_error = webhook.status, webhook.last_error
    webhook.status = InboundWebhook.Status.RECEIVED
    webhook.last_error = ""
    webhook.processed_at = None
    webhook.save(update_fields=["status", "last_error", "processed_at", "updated_at"])
    record_audit(
        actor=actor,
        action="webhook.replay",
        target=webhook,
        summary=f"{label} replayed (was {previous})",
        data={"previous_status": previous, "last_error": previous_error[:500]},
    )
    transaction.on_commit(partial(process_inbound_webhook_task.delay, webhook.pk))
    return webhook


# --- outbound pushes -----------------------------------------------------------------------------
Sender = Callable[[OutboundPush], None]
SENDERS: dict[str, Sender] = {}


class PushDeferredError(TemporaryError):
    """Raised by a sender when the other side is not ready for the push yet and says so (a
    store holding the lines): wait `retry_after` seconds, or until something re-queues it, and
    do not count the attempt against the push's limit: a wait is not a failure."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message, retry_after=retry_after)


def register_sender(kind: str) -> Callable[[Sender], Sender]:
    """`@register_sender(OutboundPush.Kind.STORE_FULFILLMENT)` on a function(push) that sends it,
    raising TemporaryError to be retried later or PermanentError to give up."""

    def decorator(sender: Sender) -> Sender:
        SENDERS[str(kind)] = sender
        return sender

    return decorator


def backoff_delay(attempts: int, *, error: TemporaryError | None = None) -> timedelta:
    """The outbox's wait after `attempts` failed sends (dropship.core.retry.OUTBOX): up to 30 s,
    60 s, 120 s ... capped at 6 hours, and never sooner than the error's retry_after."""
    return timedelta(seconds=OUTBOX.delay(attempts - 1, error=error))


def create_outbound_push(
    *,
    kind: str,
    idempotency_key: str,
    payload: dict[str, Any] | None = None,
    store: Any = None,
    supplier: Any = None,
    supplier_order: Any = None,
    shipment: Any = None,
    max_attempts: int = 12,
) -> OutboundPush:
    """Record a push (once per idempotency key) and send it after the transaction commits."""
    # local: tasks.py imports the services
    from integrations.tasks import send_outbound_push_task

    with transaction.atomic():
        push, created = OutboundPush.objects.get_or_create(
            idempotency_key=idempotency_key,
            defaults={
                "kind": kind,
                "payload": payload,
                "store": store,
                "supplier": supplier,
                "supplier_order": supplier_order,
                "shipment": shipment,
                "max_attempts": max_attempts,
                "next_attempt_at": timezone.now(),
            },
        )
        if created:
            transaction.on_commit(partial(send_outbound_push_task.delay, push.pk))
    return push


def _claimable_push(now: datetime, stale_after: timedelta = STALE_AFTER) -> Q:
    """Due PENDING pushes, and SENDING ones whose worker's lease lapsed (it died)."""
    sending = OutboundPush.Status.SENDING
    return (
        Q(status=OutboundPush.Status.PENDING)
        & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        | Q(status=sending, lease_until__lt=now)
        | Q(status=sending, lease_until__isnull=True, updated_at__lt=now - stale_after)
    )


def _claim_push(push_id: int) -> int | None:
    """Take the push for this worker; its attempt number is the claim's token (None: not ours)."""
    now = timezone.now()
    with transaction.atomic():  # the UPDATE's row lock keeps the attempt read back ours
        claimed = (
            OutboundPush.objects.filter(pk=push_id)
            .filter(_claimable_push(now))
            .update(
                status=OutboundPush.Status.SENDING,
                attempts=F("attempts") + 1,
                updated_at=now,
                lease_until=lease_until(now),
            )
        )
        if not claimed:
            return None
        return OutboundPush.objects.filter(pk=push_id).values_list("attempts", flat=True).get()


def send_outbound_push(*, push_id: int) -> OutboundPush | None:
    """Send one due push through its kind's sender and record the outcome."""
    attempt = _claim_push(push_id)
    if attempt is None:
        return None
    claimed = OutboundPush.objects.filter(
        pk=push_id, status=OutboundPush.Status.SENDING, attempts=attempt
    )
    with held_lease(claimed):
        push = OutboundPush.objects.get(pk=push_id)
        push.attempts = attempt  # this execution's claim
        _send(push)
    # Compare-and-swap: written only if no other worker took the push over meanwhile.
    written = claimed.update(
        status=push.status,
        last_error=push.last_error,
        next_attempt_at=push.next_attempt_at,
        succeeded_at=push.succeeded_at,
        last_response_status=push.last_response_status,
        max_attempts=push.max_attempts,
        lease_until=None,
        updated_at=timezone.now(),
    )
    if not written:
        logger.warning(
            "Outbound push %s attempt %s lost its lease; its outcome was discarded",
            push_id,
            attempt,
        )
        push.refresh_from_db()
    return push


def _send(push: OutboundPush) -> None:
    """Call the kind's sender and set the outcome on `push` (not saved)."""
    sender = SENDERS.get(push.kind)
    now = timezone.now()
    if sender is None:
        push.status = OutboundPush.Status.FAILED
        push.last_error = f"No sender is registered for {push.get_kind_display()}."
        return
    try:
        sender(push)
    except PushDeferredError as exc:
        push.status = OutboundPush.Status.PENDING
        push.last_error = str(exc)[:2000]
        push.next_attempt_at = now + timedelta(seconds=exc.retry_after or 0)
        push.max_attempts += 1  # the attempt that found it not ready does not count
    except TemporaryError as exc:
        push.last_error = str(exc)[:2000]
        if push.attempts >= push.max_attempts:
            push.status = OutboundPush.Status.FAILED
        else:
            push.status = OutboundPush.Status.PENDING
            push.next_attempt_at = now + backoff_delay(push.attempts, error=exc)
    except PermanentError as exc:
        push.status = OutboundPush.Status.FAILED
        push.last_error = str(exc)[:2000] or type(exc).__name__
    except Exception as exc:
        logger.exception("Outbound push %s (%s) sender crashed", push.pk, push.kind)
        push.status = OutboundPush.Status.FAILED
        push.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    else:
        push.status = OutboundPush.Status.SUCCEEDED
        push.succeeded_at = now
        push.last_error = ""


def resume_deferred_pushes(*, push_ids: list[int]) -> int:
    """Send these deferred pushes now (what was waited for has happened); returns how many."""
    # local: tasks.py imports the services
    from integrations.tasks import send_outbound_push_task

    resumed = list(
        OutboundPush.objects.filter(
            pk__in=push_ids, status=OutboundPush.Status.PENDING
        ).values_list("pk", flat=True)
    )
    OutboundPush.objects.filter(pk__in=resumed).update(
        next_attempt_at=timezone.now(), updated_at=timezone.now()
    )
    for push_id in resumed:
        transaction.on_commit(partial(send_outbound_push_task.delay, push_id))
    return len(resumed)


def sweep_outbound_pushes(*, stale_after: timedelta = STALE_AFTER) -> int:
    """Enqueue pushes that are due (PENDING past next_attempt_at) or whose worker died."""
    # local: tasks.py imports the services
    from integrations.tasks import send_outbound_push_task

    now = timezone.now()
    ids = list(
        OutboundPush.objects.filter(_claimable_push(now, stale_after))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:500]
    )
    for push_id in ids:
        transaction.on_commit(partial(send_outbound_push_task.delay, push_id))
    return len(ids)


# --- API versions ----------------------------------------------------------------------------------
SERVED_VERSION_CACHE_SECONDS = 3600


def record_served_api_version(*, store_id: int, requested: str, served: str) -> None:
    """A store's answer named the API version that served it. Another version than `requested`
    (Shopify fell forward from a retired one) is kept as the store's notice and logged once;
    the requested one clears the notice. The cache keeps this to one query per store and hour."""
    key = f"served-api-version:{store_id}"
    if cache.get(key) == served:
        return
    if served == requested:
        ApiVersionNotice.objects.filter(store_id=store_id).delete()
    else:
        notice, created = ApiVersionNotice.objects.update_or_create(
            store_id=store_id,
            defaults={"requested_version": requested, "last_seen_at": timezone.now()},
            create_defaults={
                "requested_version": requested,
                "served_version": served,
                "last_seen_at": timezone.now(),
            },
        )
        if created or notice.served_version != served:
            logger.warning(
                "Store %s asked for API version %s and was served %s (the version fell forward)",
                store_id,
                requested,
                served,
            )
            ApiVersionNotice.objects.filter(pk=notice.pk).update(served_version=served)
    cache.set(key, served, timeout=SERVED_VERSION_CACHE_SECONDS)
