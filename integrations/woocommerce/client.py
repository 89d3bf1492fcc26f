"""WooCommerce REST API v3 client (HTTP + JSON only), every call through the safe-call helper.

Authentication is what the `woocommerce` package does: HTTP basic auth over HTTPS, and over
plain HTTP (the sandbox on loopback) an OAuth 1.0a one-legged signature built by the package's
own `woocommerce.oauth.OAuth`. The HTTP itself goes through `integrations.safe_http` so the
site address a retailer typed can never reach a private or metadata address.

A 429, a 5xx or a timeout is waited out and retried only within the call's short wait budget
(the one retry policy, dropship.core.retry); beyond it the call raises StoreTemporaryError with
`retry_after` for the caller's task to reschedule. `sleep` and `clock` are injectable.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from requests.auth import HTTPBasicAuth
from woocommerce.oauth import OAuth

from dropship.core.errors import PermanentError, TemporaryError
from dropship.core.retry import WaitBudget, parse_retry_after
from integrations.base import (
    FulfillmentData,
    FulfillmentResult,
    InventoryChange,
    InventoryReadResult,
    InventoryRef,
    InventoryResult,
    OrderData,
    OrderNote,
    ProductData,
    ProductResult,
    StoreAnswerLostError,
    StoreAuthError,
    StoreInfo,
    StorePermanentError,
    StoreTemporaryError,
    WebhookRegistration,
    chunked,
    write_once,
)
from integrations.safe_http import SafeResponse, safe_request
from integrations.woocommerce import mappers

MAX_ATTEMPTS = 5
BATCH_LIMIT = 100  # WooCommerce answers 413 above 100 items per batch call
WEBHOOK_TOPICS = ("order.created", "order.updated")
SHIPMENTS_META_KEY = "_dropship_shipments"


class WooCommerceClient:
    product_batch_size = BATCH_LIMIT
    inventory_batch_size = BATCH_LIMIT

    def __init__(
        self,
        *,
        url: str,
        consumer_key: str,
        consumer_secret: str,
        webhook_secret: str = "",
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.sleep = sleep
        self.clock = clock  # wall time: OAuth 1.0a timestamps are checked by the site
        self.url = url.rstrip("/")
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self.webhook_secret = webhook_secret
        self.version = settings.WOOCOMMERCE_API_VERSION
        self.calls = 0

    # --- transport -----------------------------------------------------------------------------
    def _signed(self, method: str, url: str, params: dict[str, Any]) -> tuple[str, Any]:
        if url.startswith("https://"):
            query = f"?{urlencode(params)}" if params else ""
            return url + query, HTTPBasicAuth(self.consumer_key, self.consumer_secret)
        query = f"?{urlencode(params)}" if params else ""
        oauth = OAuth(
            url=url + query,
            consumer_key=self.consumer_key,
            consumer_secret=self.consumer_secret,
            version=self.version,
            method=method,
            oauth_timestamp=int(self.clock()),
        )
        return oauth.get_oauth_url(), None

    def request(
        self,
        method: str,
        endpoint: str,
        *,
        data: Any = None,
        params: dict[str, Any] | None = None,
        resend_unanswered: bool = True,
    ) -> Any:
        """One REST call. A write that must not be doubled (a note) passes
        `resend_unanswered=False`: a dropped connection, a timeout or a 5xx then raises
        StoreAnswerLostError (it may have been saved) for the caller to look before sending it
        again; a 429, answered before anything is done, is still retried here."""
        url = f"{self.url}/wp-json/{self.version}/{endpoint}"
        waits = WaitBudget(sleep=self.sleep)
        backoff = 0.5
        for attempt in range(1, MAX_ATTEMPTS + 1):
            signed_url, auth = self._signed(method, url, dict(params or {}))
            self.calls += 1
            try:
                response = safe_request(
                    method,
                    signed_url,
                    data=None if data is None else json.dumps(data).encode(),
                    headers={
                        "Accept": "application/json",
                        **({"Content-Type": "application/json"} if data is not None else {}),
                    },
                    auth=auth,
                    allow_redirects=False,  # a redirect would drop or leak the signature
                )
            except TemporaryError as exc:
                if not resend_unanswered:
                    raise StoreAnswerLostError(
                        f"WooCommerce did not answer {method} {endpoint} ({exc}); "
                        "it may have been saved."
                    ) from exc
                delay = backoff + random.random() * backoff  # noqa: S311 - jitter
                if attempt >= 3 or not waits.wait(delay):
                    raise StoreTemporaryError(str(exc), retry_after=delay) from exc
                backoff *= 2
                continue
            except PermanentError as exc:
                raise StorePermanentError(str(exc)) from exc
            status = response.status_code
            if status >= 500 and not resend_unanswered:
                raise StoreAnswerLostError(
                    f"WooCommerce answered {status} to {method} {endpoint}; it may have been saved."
                )
            if status in (401, 403):
                raise StoreAuthError(
                    "WooCommerce refused our API keys (" + _message(response) + "). "
                    "Reconnect the store with new keys.",
                    status_code=status,
                )
            if status == 429 or status >= 500:
                jittered = backoff + random.random() * 0.1  # noqa: S311 - jitter
                wait = parse_retry_after(response.headers, default=jittered)
                if attempt >= MAX_ATTEMPTS or not waits.wait(wait):
                    raise StoreTemporaryError(f"WooCommerce answered {status}.", retry_after=wait)
                backoff *= 2
                continue
            if 300 <= status < 400:
                raise StorePermanentError(
                    f"WooCommerce redirected the API call to {response.headers.get('Location')}; "
                    "check the site address (https, www).",
                    status_code=status,
                )
            if status >= 400:
                raise StorePermanentError(
                    f"WooCommerce refused {method} {endpoint} ({status}): {_message(response)}",
                    status_code=status,
                )
            try:
                return response.json()
            except ValueError as exc:
                raise StorePermanentError(
                    "The site did not answer like a WooCommerce store (not JSON). Check the address."
                ) from exc
        raise StoreTemporaryError("WooCommerce did not answer.")  # pragma: no cover

    # --- the protocol --------------------------------------------------------------------------
    def verify_connection(self) -> StoreInfo:
        settings_list = self.request("GET", "settings/general")
        if not isinstance(settings_list, list):
            raise StorePermanentError("The site did not answer like a WooCommerce store.")
        currency = next(
            (s.get("value") for s in settings_list if s.get("id") == "woocommerce_currency"), ""
        )
        name = self.url.split("://", 1)[-1]
        try:
            index = safe_request("GET", f"{self.url}/wp-json/", allow_redirects=False)
            if index.ok:
                name = index.json().get("name") or name
        except (TemporaryError, PermanentError, ValueError, AttributeError):
            pass  # the name is a nicety; the authenticated call above proved the connection
        return StoreInfo(name=name, currency=currency or "", domain=self.url)

    def register_webhooks(self, *, callback_url: str) -> list[WebhookRegistration]:
        if not self.webhook_secret:
            raise StorePermanentError("A webhook secret is needed to register webhooks.")
        existing = self.request("GET", "webhooks", params={"per_page": 100})
        registrations = []
        for topic in WEBHOOK_TOPICS:
            match = next(
                (
                    w
                    for w in existing
                    if w.get("topic") == topic and w.get("delivery_url") == callback_url
                ),
                None,
            )
            if match is not None:
                # Its secret is unknown to us now: replace it so signatures check out.
                self.request("DELETE", f"webhooks/{match['id']}", params={"force": "true"})
            created = self.request(
                "POST",
                "webhooks",
                data={
                    "name": f"Dropship {topic}",
                    "topic": topic,
                    "delivery_url": callback_url,
                    "secret": self.webhook_secret,
                    "status": "active",
                },
            )
            registrations.append(
                WebhookRegistration(topic=topic, store_webhook_id=str(created["id"]))
            )
        return registrations

    def delete_webhooks(self, *, store_webhook_ids: list[str]) -> None:
        for webhook_id in store_webhook_ids:
            try:
                self.request("DELETE", f"webhooks/{webhook_id}", params={"force": "true"})
            except StorePermanentError as exc:
                if exc.status_code != 404 or isinstance(exc, StoreAuthError):
                    raise

    def upsert_products(self, *, products: list[ProductData]) -> list[ProductResult]:
        results: dict[str, ProductResult] = {}
        for batch in chunked(products, BATCH_LIMIT):
            body: dict[str, list[Any]] = {"create": [], "update": []}
            order: dict[str, list[ProductData]] = {"create": [], "update": []}
            for product in batch:
                key = "update" if product.store_product_id else "create"
                body[key].append(mappers.product_payload(product))
                order[key].append(product)
            answer = self.request(
                "POST", "products/batch", data={k: v for k, v in body.items() if v}
            )
            for key in ("create", "update"):
                for product, item in zip(order[key], answer.get(key) or [], strict=False):
                    error = mappers.batch_error(item)
                    if error:
                        results[product.reference] = ProductResult(product.reference, error=error)
                    elif mappers.is_simple(product):
                        ids = {v.sku: str(item["id"]) for v in product.variants}
                        results[product.reference] = ProductResult(
                            product.reference, str(item["id"]), ids, ids
                        )
                    else:
                        results[product.reference] = self._upsert_variations(
                            product, str(item["id"])
                        )
        return [results[p.reference] for p in products if p.reference in results]

    def _upsert_variations(self, product: ProductData, product_id: str) -> ProductResult:
        ids: dict[str, str] = {}
        errors = []
        for batch in chunked(list(product.variants), BATCH_LIMIT):
            create = [v for v in batch if not v.store_variant_id]
            update = [v for v in batch if v.store_variant_id]
            answer = self.request(
                "POST",
                f"products/{product_id}/variations/batch",
                data={
                    "create": [mappers.variation_payload(v, product.option_names) for v in create],
                    "update": [mappers.variation_payload(v, product.option_names) for v in update],
                },
            )
            for key, variants in (("create", create), ("update", update)):
                for variant, item in zip(variants, answer.get(key) or [], strict=False):
                    error = mappers.batch_error(item)
                    if error:
                        errors.append(f"{variant.sku}: {error}")
                    else:
                        ids[variant.sku] = str(item["id"])
        return ProductResult(product.reference, product_id, ids, dict(ids), error="; ".join(errors))

    def has_inventory_address(self, item: InventoryRef) -> bool:
        """A simple product is its own variant: its product id is enough."""
        return bool(item.store_product_id)

    def set_inventory(self, *, changes: list[InventoryChange]) -> InventoryResult:
        calls_before = self.calls
        simple: list[InventoryChange] = []
        by_parent: dict[str, list[InventoryChange]] = {}
        for change in changes:
            variant_id = change.store_variant_id or change.store_product_id
            if not change.store_product_id or variant_id == change.store_product_id:
                simple.append(change)
            else:
                by_parent.setdefault(change.store_product_id, []).append(change)
        updated = 0
        errors: list[str] = []
        refused: dict[str, str] = {}
        groups: list[tuple[str, list[InventoryChange]]] = [
            ("products/batch", batch) for batch in chunked(simple, BATCH_LIMIT)
        ]
        for parent, items in by_parent.items():
            groups += [
                (f"products/{parent}/variations/batch", batch)
                for batch in chunked(items, BATCH_LIMIT)
            ]
        for endpoint, batch in groups:
            answer = self.request(
                "POST",
                endpoint,
                data={
                    "update": [
                        {
                            "id": int(c.store_variant_id or c.store_product_id),
                            "manage_stock": True,
                            "stock_quantity": max(0, c.quantity),
                        }
                        for c in batch
                    ]
                },
            )
            for change, item in zip(batch, answer.get("update") or [], strict=False):
                error = mappers.batch_error(item)
                if error:
                    message = f"{change.store_variant_id or change.store_product_id}: {error}"
                    errors.append(message)
                    refused[change.reference] = message
                else:
                    updated += 1
        return InventoryResult(
            calls=self.calls - calls_before, updated=updated, errors=tuple(errors), refused=refused
        )

    def set_product_published(self, *, store_product_id: str, is_published: bool) -> None:
        self.request(
            "PUT",
            f"products/{store_product_id}",
            data={"status": "publish" if is_published else "draft"},
        )

    def get_order(self, *, store_order_id: str) -> OrderData:
        return mappers.order_from_payload(self.request("GET", f"orders/{store_order_id}"))

    def create_fulfillment(self, *, fulfillment: FulfillmentData) -> FulfillmentResult:
        """The shipment becomes a customer note (the shopper's e-mail) and then an entry in the
        order's shipments meta-data, with the order completed once every line has shipped.

        The writes are ordered so that any attempt can finish what an earlier one began: the
        note goes first and carries the tracking marker, so a retry finds it among the order's
        notes instead of e-mailing the shopper twice; the meta-data (and status) follow in one
        PUT, written only while the order does not record the shipment yet.
        """
        order_id = fulfillment.store_order_id
        order = self.request("GET", f"orders/{order_id}")
        recorded = _recorded_shipment(order, fulfillment.tracking_number)
        if recorded is not None:
            return FulfillmentResult(store_fulfillment_id=recorded)
        lines = {str(item["id"]): item for item in order.get("line_items") or []}
        unknown = [
            line.store_line_id for line in fulfillment.lines if line.store_line_id not in lines
        ]
        if unknown:
            raise StorePermanentError(
                f"WooCommerce order {order_id} has no line {', '.join(unknown)}."
            )
        shipped = ", ".join(
            f"{line.quantity} × {lines[line.store_line_id].get('name', '')}"
            for line in fulfillment.lines
        )
        text = (
            f"Shipped {shipped} with {fulfillment.carrier}, {_marker(fulfillment.tracking_number)}."
        )
        if fulfillment.tracking_url:
            text += f" Track it at {fulfillment.tracking_url}"

        def find_note() -> str | None:
            return next(
                (
                    str(n["id"])
                    for n in self._notes(order_id)
                    if _carries_marker(str(n.get("note") or ""), fulfillment.tracking_number)
                ),
                None,
            )

        def post_note() -> str:
            note = self.request(
                "POST",
                f"orders/{order_id}/notes",
                data={"note": text, "customer_note": fulfillment.notify_customer},
                resend_unanswered=False,
            )
            return str(note["id"])

        note_id = find_note() or write_once(post_note, find_note)
        shipments = _shipments(order)
        shipments.append(
            {
                "carrier": fulfillment.carrier,
                "tracking_number": fulfillment.tracking_number,
                "tracking_url": fulfillment.tracking_url,
                "note_id": note_id,
                "lines": [
                    {"line_id": line.store_line_id, "quantity": line.quantity}
                    for line in fulfillment.lines
                ],
            }
        )
        update: dict[str, Any] = {"meta_data": [{"key": SHIPMENTS_META_KEY, "value": shipments}]}
        if fulfillment.is_order_complete:
            update["status"] = "completed"
        # Setting the same meta-data and status twice changes nothing: safe to resend.
        self.request("PUT", f"orders/{order_id}", data=update)
        return FulfillmentResult(store_fulfillment_id=note_id)

    def find_fulfillment(self, *, store_order_id: str, tracking_number: str) -> str:
        """The shipment as the order's meta-data records it (its note's id), or "". A note
        without the meta-data is a shipment half-written: `create_fulfillment` completes it."""
        order = self.request("GET", f"orders/{store_order_id}")
        return _recorded_shipment(order, tracking_number) or ""

    def add_order_note(self, *, note: OrderNote) -> None:
        endpoint = f"orders/{note.store_order_id}/notes"

        def find() -> bool | None:
            notes = self._notes(note.store_order_id)
            return True if any(n.get("note") == note.text for n in notes) else None

        if find():
            return  # added by an earlier attempt whose answer was lost

        def send() -> bool:
            self.request(
                "POST",
                endpoint,
                data={"note": note.text, "customer_note": note.is_customer_note},
                resend_unanswered=False,
            )
            return True

        write_once(send, find)

    def _notes(self, store_order_id: str) -> list[dict[str, Any]]:
        """Every note of the order (WooCommerce lists them all, unpaged)."""
        notes = self.request("GET", f"orders/{store_order_id}/notes")
        return [n for n in notes if isinstance(n, dict)] if isinstance(notes, list) else []

    inventory_read_batch_size = BATCH_LIMIT  # per_page is at most 100

    def read_inventory(self, *, items: list[InventoryRef]) -> InventoryReadResult:
        """`stock_quantity` of each product or variation, read 100 at a time with `include`."""
        calls_before = self.calls
        simple: list[str] = []
        by_parent: dict[str, list[str]] = {}
        for item in items:
            item_id = item.store_variant_id or item.store_product_id
            if not item_id:
                continue
            if not item.store_product_id or item_id == item.store_product_id:
                simple.append(item_id)
            else:
                by_parent.setdefault(item.store_product_id, []).append(item_id)
        found: dict[str, int | None] = {}
        groups = [("products", batch) for batch in chunked(sorted(set(simple)), BATCH_LIMIT)]
        for parent, ids in by_parent.items():
            groups += [
                (f"products/{parent}/variations", batch)
                for batch in chunked(sorted(set(ids)), BATCH_LIMIT)
            ]
        for endpoint, batch in groups:
            answer = self.request(
                "GET",
                endpoint,
                params={"include": ",".join(batch), "per_page": BATCH_LIMIT},
            )
            for entry in answer if isinstance(answer, list) else []:
                quantity = entry.get("stock_quantity")
                found[str(entry.get("id"))] = int(quantity) if quantity is not None else 0
        return InventoryReadResult(
            quantities=tuple(
                found.get(item.store_variant_id or item.store_product_id) for item in items
            ),
            calls=self.calls - calls_before,
        )


def _marker(tracking_number: str) -> str:
    """The words every shipment note carries: how a retry recognises a note it already sent."""
    return f"tracking number {tracking_number}"


def _carries_marker(note: str, tracking_number: str) -> bool:
    # "tracking number 1Z99" must not match a note about 1Z999.
    pattern = re.escape(_marker(tracking_number)) + r"(?![\w-])"
    return re.search(pattern, note) is not None


def _shipments(order: dict[str, Any]) -> list[Any]:
    """The shipments the order's meta-data records (a copy, to extend)."""
    value = next(
        (
            m.get("value")
            for m in order.get("meta_data") or []
            if m.get("key") == SHIPMENTS_META_KEY
        ),
        None,
    )
    return list(value) if isinstance(value, list) else []


def _recorded_shipment(order: dict[str, Any], tracking_number: str) -> str | None:
    """The note id of the shipment with this tracking number in the order's meta-data."""
    for shipment in _shipments(order):
        if isinstance(shipment, dict) and shipment.get("tracking_number") == tracking_number:
            return str(shipment.get("note_id") or f"meta:{tracking_number}")
    return None


def _message(response: SafeResponse) -> str:
    try:
        body = response.json()
        return str(body.get("message") or body.get("code") or response.status_code)
    except (ValueError, AttributeError):
        return str(response.status_code)
