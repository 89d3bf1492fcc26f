"""WooCommerce REST API v3 client (HTTP + JSON only), every call through the safe-call helper.

Authentication follows WooCommerce's REST API docs ("Authentication over HTTPS / HTTP"):
- over HTTPS, HTTP Basic auth with the consumer key and secret; when the site answers 401 as if
  no credentials had come (its host strips the Authorization header, a common hosting
  problem), the client falls back once to the keys as `consumer_key` / `consumer_secret` query
  parameters. The method that worked is remembered per store (`auth_method`, kept in the
  store's credentials through the `on_auth_method` callback) and used first from then on;
- over plain HTTP, an OAuth 1.0a one-legged signature built by the `woocommerce` package's own
  `woocommerce.oauth.OAuth` (Basic auth would send the secret in the clear).
A refusal names the methods that were tried. Whether a site is HTTPS is its URL's scheme. The
sandboxes listen on plain HTTP on loopback: with `ALLOW_LOOPBACK_URLS` on (development and
tests only) an https:// loopback URL is reached over HTTP, the sandbox standing in for a site
behind a TLS-terminating proxy; every other https:// URL is called over TLS.
The HTTP itself goes through `integrations.safe_http` so the site address a retailer typed can
never reach a private or metadata address.

A 429, a 5xx or a timeout is waited out and retried only within the call's short wait budget
(the one retry policy, dropship.core.retry); beyond it the call raises StoreTemporaryError with
`retry_after` for the caller's task to reschedule. `sleep` and `clock` are injectable.
"""

from __future__ import annotations

import ipaddress
import json
import random
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

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
    OrderPage,
    PolledOrder,
    ProductData,
    ProductResult,
    StoreAnswerLostError,
    StoreAuthError,
    StoreInfo,
    StorePermanentError,
    StoreTemporaryError,
    WebhookCheck,
    WebhookRegistration,
    chunked,
    write_once,
)
from integrations.safe_http import SafeResponse, safe_request
from integrations.woocommerce import mappers

MAX_ATTEMPTS = 5
BATCH_LIMIT = 100  # WooCommerce answers 413 above 100 items per batch call
# order.deleted: an order trashed or deleted in the admin (its body is only the id).
WEBHOOK_TOPICS = ("order.created", "order.updated", "order.deleted")
SHIPMENTS_META_KEY = "_dropship_shipments"
# How the client authenticates (over HTTPS the first two, over plain HTTP always OAuth 1.0a).
BASIC = "basic"
QUERY_STRING = "query_string"
OAUTH = "oauth1"
AUTH_METHOD_NAMES = {
    BASIC: "HTTP Basic auth",
    QUERY_STRING: "the keys as query parameters",
    OAUTH: "an OAuth 1.0a signature over plain HTTP",
}


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
        auth_method: str = "",
        on_auth_method: Callable[[str], None] | None = None,
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
        self.is_https = self.url.startswith("https://")
        if not self.is_https:
            self.auth_method = OAUTH
        else:
            self.auth_method = auth_method if auth_method in (BASIC, QUERY_STRING) else BASIC
        self.on_auth_method = on_auth_method
        self.tried: list[str] = []  # the methods tried since the last success, for the message

    # --- transport -----------------------------------------------------------------------------
    def _signed(self, method: str, url: str, params: dict[str, Any]) -> tuple[str, Any]:
        """The URL to call (with the query string) and the requests auth, for `auth_method`."""
        url = _transport_url(url)
        if self.auth_method == BASIC:
            query = f"?{urlencode(params)}" if params else ""
            return url + query, HTTPBasicAuth(self.consumer_key, self.consumer_secret)
        if self.auth_method == QUERY_STRING:
            keys = {"consumer_key": self.consumer_key, "consumer_secret": self.consumer_secret}
            return f"{url}?{urlencode({**params, **keys})}", None
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

    def _refusal(self, response: SafeResponse) -> StoreAuthError | None:
        """A 401/403 as the StoreAuthError to raise, naming every method tried; or None when
        Basic auth was answered as if no credentials had come (the host dropped the header):
        the client switches to the query string, once, and the caller sends the call again."""
        self.tried.append(self.auth_method)
        if (
            response.status_code == 401
            and self.auth_method == BASIC
            and _code(response) != "woocommerce_rest_authentication_error"  # seen, and wrong
        ):
            self.auth_method = QUERY_STRING
            return None
        tried = ", then ".join(AUTH_METHOD_NAMES[m] for m in self.tried)
        self.tried = []
        return StoreAuthError(
            f"WooCommerce refused our API keys ({_message(response)}); tried {tried}. "
            "Reconnect the store with new keys.",
            status_code=response.status_code,
            tried=tried,
        )

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
            if status in (401, 403):
                refusal = self._refusal(response)
                if refusal is not None:
                    raise refusal
                continue  # Basic auth did not arrive: the same call with the query string
            if self.tried and status != 429 and status < 500:
                self._remember(self.auth_method)  # the site let the call through
            if status >= 500 and not resend_unanswered:
                raise StoreAnswerLostError(
                    f"WooCommerce answered {status} to {method} {endpoint}; it may have been saved."
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

    def _remember(self, method: str) -> None:
        """The site answered with `method` after another was refused: keep it for the store."""
        self.tried = []
        if self.on_auth_method is not None:
            self.on_auth_method(method)

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
            index = safe_request(
                "GET", _transport_url(f"{self.url}/wp-json/"), allow_redirects=False
            )
            if index.ok:
                name = index.json().get("name") or name
        except (TemporaryError, PermanentError, ValueError, AttributeError):
            pass  # the name is a nicety; the authenticated call above proved the connection
        return StoreInfo(name=name, currency=currency or "", domain=self.url)

    def register_webhooks(self, *, callback_url: str) -> list[WebhookRegistration]:
        registrations = []
        for topic, match in self._our_webhooks(callback_url).items():
            if match is not None:
                # Its secret is unknown to us now: replace it so signatures check out.
                self.request("DELETE", f"webhooks/{match['id']}", params={"force": "true"})
            created = self._create_webhook(topic, callback_url)
            registrations.append(
                WebhookRegistration(topic=topic, store_webhook_id=str(created["id"]))
            )
        return registrations

    def _our_webhooks(self, callback_url: str) -> dict[str, dict[str, Any] | None]:
        """Each topic of WEBHOOK_TOPICS with the site's webhook delivering it to us, or None."""
        if not self.webhook_secret:
            raise StorePermanentError("A webhook secret is needed to register webhooks.")
        existing = self.request("GET", "webhooks", params={"per_page": 100})
        return {
            topic: next(
                (
                    w
                    for w in existing
                    if w.get("topic") == topic and w.get("delivery_url") == callback_url
                ),
                None,
            )
            for topic in WEBHOOK_TOPICS
        }

    def _create_webhook(self, topic: str, callback_url: str) -> dict[str, Any]:
        created: dict[str, Any] = self.request(
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
        return created

    def delete_webhooks(self, *, store_webhook_ids: list[str]) -> None:
        for webhook_id in store_webhook_ids:
            try:
                self.request("DELETE", f"webhooks/{webhook_id}", params={"force": "true"})
            except StorePermanentError as exc:
                if exc.status_code != 404 or isinstance(exc, StoreAuthError):
                    raise

    def ensure_webhooks(self, *, callback_url: str) -> WebhookCheck:
        """A webhook per topic of WEBHOOK_TOPICS to `callback_url`: kept when active, set active
        again when paused or disabled (WooCommerce disables a webhook after repeated delivery
        failures), created when missing."""
        registrations = []
        repaired = []
        for topic, match in self._our_webhooks(callback_url).items():
            if match is None:
                match = self._create_webhook(topic, callback_url)
                repaired.append(f"{topic}: missing, created again")
            elif match.get("status") != "active":
                self.request(
                    "PUT",
                    f"webhooks/{match['id']}",
                    data={"status": "active", "secret": self.webhook_secret},
                )
                repaired.append(f"{topic}: {match.get('status')}, set active again")
            registrations.append(
                WebhookRegistration(topic=topic, store_webhook_id=str(match["id"]))
            )
        return WebhookCheck(registrations=tuple(registrations), repaired=tuple(repaired))

    def list_orders_updated_since(
        self, *, since: datetime, cursor: str = "", page_size: int = 0
    ) -> OrderPage:
        """`GET orders?modified_after=…&dates_are_gmt=true&orderby=modified&order=asc`, a page
        (at most 100) at a time; the cursor is the next page number. WooCommerce's bound is
        strict, so a second of overlap is asked for (the inbox drops what it already has)."""
        page = int(cursor or 1)
        per_page = min(page_size or BATCH_LIMIT, BATCH_LIMIT)
        after = (since - timedelta(seconds=1)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        answer = self.request(
            "GET",
            "orders",
            params={
                "modified_after": after,
                "dates_are_gmt": "true",
                "orderby": "modified",
                "order": "asc",
                "per_page": per_page,
                "page": page,
            },
        )
        if not isinstance(answer, list):
            raise StorePermanentError("WooCommerce answered the order list with no list.")
        orders = tuple(
            PolledOrder(
                store_order_id=str(order["id"]),
                updated_at=_gmt(order.get("date_modified_gmt") or order["date_created_gmt"]),
                created_at=_gmt(order["date_created_gmt"]),
                payload=order,
            )
            for order in answer
        )
        return OrderPage(orders=orders, cursor=str(page + 1) if len(answer) == per_page else "")

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

    def get_shipping_address(self, *, store_order_id: str) -> dict[str, str] | None:
        """WooCommerce sends addresses whole; asked again, it answers what the order has now."""
        address = self.get_order(store_order_id=store_order_id).shipping_address
        return {k: str(v) for k, v in address.items()} if address.get("address1") else None

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


def _transport_url(url: str) -> str:
    """Where to send a call to `url`: itself, except an https:// loopback URL while
    ALLOW_LOOPBACK_URLS is on (development and tests), which is a sandbox playing a site behind
    a TLS-terminating proxy and listens on plain HTTP."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not settings.ALLOW_LOOPBACK_URLS:
        return url
    host = parts.hostname or ""
    try:
        is_loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        is_loopback = False
    return urlunsplit(parts._replace(scheme="http")) if is_loopback else url


def _code(response: SafeResponse) -> str:
    try:
        return str(response.json().get("code") or "")
    except (ValueError, AttributeError):
        return ""


def _message(response: SafeResponse) -> str:
    try:
        body = response.json()
        return str(body.get("message") or body.get("code") or response.status_code)
    except (ValueError, AttributeError):
        return str(response.status_code)


def _gmt(value: str) -> datetime:
    """WooCommerce's *_gmt fields carry no zone: they are UTC."""
    return datetime.fromisoformat(value).replace(tzinfo=UTC)
