"""A WEBHOOK-channel supplier's own system tells us it accepted or shipped an order.

    POST /webhooks/supplier/<supplier slug>/
    X-Dropship-Signature: base64(HMAC-SHA256(raw body, the supplier's webhook secret))
    {"id": "evt_123",                     # optional, unique per event: the duplicate-delivery key
     "event": "order.accepted" | "order.shipped" | "order.rejected" | "order.delivered",
     "order_number": "SO-…",             # our supplier order number, as we sent it
     "carrier": "UPS", "tracking_number": "1Z…",          # order.shipped
     "lines": [{"sku": "…", "quantity": 1}],               # order.shipped, optional (default all)
     "reason": "…",                                        # order.rejected
     "delivered_at": "2026-12-07T10:00:00Z"}              # order.delivered, optional (now);
                                                           # with tracking_number: that parcel

Same inbox as the stores (DESIGN flow 2): verified, stored in `InboundWebhook` (source SUPPLIER,
a duplicate `id` answered 200 and ignored), answered fast, processed by the registered SUPPLIER
handler in a task; a bad event is kept FAILED with the reason for support to see and replay.
Answers: 200 accepted / duplicate, 401 bad or missing signature, 400 malformed body, 404 unknown
supplier or one that does not use the webhook channel.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from dropship.core.errors import DomainError, PermanentError
from dropship.core.safe_json import BadJson, load_json_object
from integrations import services as inbox
from integrations import supplier_channel
from integrations.models import InboundWebhook
from integrations.signatures import is_valid_signature
from integrations.webhooks.answers import webhook_answer
from integrations.webhooks.handlers import register
from orders.models import SupplierOrder
from orders.services import delivery, fulfilment
from suppliers.models import Supplier

SIGNATURE_HEADER = supplier_channel.SIGNATURE_HEADER
TOPICS = ("order.accepted", "order.shipped", "order.rejected", "order.delivered")


@csrf_exempt
@require_POST
def supplier_webhook(request: HttpRequest, slug: str) -> HttpResponse:
    body = request.body
    supplier = (
        Supplier.objects.filter(slug=slug, order_channel=Supplier.OrderChannel.WEBHOOK)
        .only("pk", "slug", "webhook_secret", "order_channel")
        .first()
    )
    if supplier is None:
        return webhook_answer(404, "No supplier receives order updates at this address.")
    if not is_valid_signature(body, request.headers.get(SIGNATURE_HEADER), supplier.webhook_secret):
        return webhook_answer(401, f"The {SIGNATURE_HEADER} signature is missing or wrong.")
    try:
        payload = load_json_object(body)
    except BadJson as exc:
        return webhook_answer(400, exc.message)
    topic = str(payload.get("event") or "").strip()
    if topic not in TOPICS:
        return webhook_answer(400, f"“event” must be one of: {', '.join(TOPICS)}.")
    event_id = str(payload.get("id") or "").strip()
    _, created = inbox.receive_webhook(
        source=InboundWebhook.Source.SUPPLIER,
        topic=topic,
        dedup_key=supplier_channel.dedup_key(supplier_id=supplier.pk, event_id=event_id, body=body),
        body=body,
        headers=dict(request.headers),
        supplier=supplier,
    )
    return webhook_answer(200, "accepted" if created else "duplicate")


# --- handlers (run by the inbox task) ------------------------------------------------------------
def _supplier_order(webhook: InboundWebhook, payload: dict) -> SupplierOrder:
    number = str(payload.get("order_number") or "").strip()
    if not number:
        raise PermanentError("“order_number” is missing.")
    if webhook.supplier_id is None:
        raise PermanentError("This webhook names no supplier.")
    supplier_order = (
        SupplierOrder.objects.filter(supplier_id=webhook.supplier_id, number=number)
        .select_related("order")
        .first()
    )
    if supplier_order is None:
        raise PermanentError(f"No order {number} of this supplier was found.")
    return supplier_order


@register(InboundWebhook.Source.SUPPLIER, "order.accepted")
def handle_supplier_accepted(webhook: InboundWebhook, payload: dict) -> None:
    supplier_order = _supplier_order(webhook, payload)
    try:
        fulfilment.accept_supplier_order(supplier_order=supplier_order)
    except DomainError as exc:
        raise PermanentError(exc.message) from exc


@register(InboundWebhook.Source.SUPPLIER, "order.rejected")
def handle_supplier_rejected(webhook: InboundWebhook, payload: dict) -> None:
    supplier_order = _supplier_order(webhook, payload)
    if supplier_order.status == SupplierOrder.Status.EXCEPTION:
        return  # already rejected: a replay changes nothing
    try:
        fulfilment.reject_supplier_order(
            supplier_order=supplier_order, reason=str(payload.get("reason") or "")
        )
    except DomainError as exc:
        raise PermanentError(exc.message) from exc


@register(InboundWebhook.Source.SUPPLIER, "order.shipped")
def handle_supplier_shipped(webhook: InboundWebhook, payload: dict) -> None:
    supplier_order = _supplier_order(webhook, payload)
    lines = payload.get("lines")
    if lines is not None and (
        not isinstance(lines, list) or not all(isinstance(line, dict) for line in lines)
    ):
        raise PermanentError("“lines” must be a list of {sku, quantity} objects.")
    try:
        fulfilment.ship_supplier_order(
            supplier_order=supplier_order,
            carrier=str(payload.get("carrier") or ""),
            tracking_number=str(payload.get("tracking_number") or ""),
            lines=fulfilment.resolve_ship_lines(supplier_order=supplier_order, lines=lines),
        )
    except DomainError as exc:
        raise PermanentError(exc.message) from exc


@register(InboundWebhook.Source.SUPPLIER, "order.delivered")
def handle_supplier_delivered(webhook: InboundWebhook, payload: dict) -> None:
    supplier_order = _supplier_order(webhook, payload)
    raw_time = payload.get("delivered_at")
    try:
        delivered_at = parse_datetime(str(raw_time)) if raw_time else None
    except ValueError:
        delivered_at = None
    if raw_time and (delivered_at is None or delivered_at.tzinfo is None):
        raise PermanentError("“delivered_at” must be an ISO 8601 time, e.g. 2026-12-07T10:00:00Z.")
    try:
        delivery.report_delivered(
            supplier_order=supplier_order,
            tracking_number=str(payload.get("tracking_number") or ""),
            delivered_at=delivered_at,
        )
    except DomainError as exc:
        raise PermanentError(exc.message) from exc
