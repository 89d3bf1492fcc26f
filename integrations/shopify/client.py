"""Shopify GraphQL Admin API client (HTTP + JSON only), paced by the cost throttle.

Every answer carries `extensions.cost.throttleStatus` (bucket size, points available, restore
rate). The client keeps that per shop in the cache, shared by every worker, estimates what has
refilled since, and waits before a call whose cost (learned from `requestedQueryCost`) would not
fit, so a store is not pushed past its limit. A THROTTLED answer (200), a 429 with Retry-After
or a 5xx is waited out and retried only within the call's short wait budget (the one retry
policy, dropship.core.retry); beyond it the call raises StoreTemporaryError with `retry_after`
and the caller's task reschedules. Nothing here hard-codes a plan's limits. `sleep` and `clock`
are injectable so tests never wait on the wall clock.

Every answer names the API version that served it (`X-Shopify-API-Version`). Shopify serves a
retired version's requests with the oldest supported one ("fall forward",
shopify.dev/docs/api/usage/versioning): when the answer's version is not the pinned
SHOPIFY_API_VERSION, `on_api_version(requested, served)` tells the caller (the registry records
it for platform admins).
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from django.conf import settings
from django.core.cache import cache

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
    StoreFulfillmentHeldError,
    StoreInfo,
    StorePermanentError,
    StoreTemporaryError,
    WebhookCheck,
    WebhookRegistration,
    chunked,
    write_once,
)
from integrations.safe_http import safe_request
from integrations.shopify import mappers

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
# inventorySetQuantities answered CHANGE_FROM_QUANTITY_STALE: re-read the item and try again at
# most this many times, then report it refused (it stays dirty and is pushed again later).
MAX_STALE_RETRIES = 2
# publishablePublish calls per request (aliases): 10 x 11 points, so an empty bucket refills
# enough for one within the short inline wait (dropship.core.retry) on every plan
PUBLISH_BATCH = 10
PUBLICATION_CACHE_SECONDS = 24 * 3600
ONLINE_STORE = "Online Store"
IDEMPOTENCY_NAMESPACE = uuid.UUID("6c1f4b6e-3f7a-4d8e-9a51-0d3b2c6e8f10")
WEBHOOK_TOPICS = {
    "ORDERS_CREATE": "orders/create",
    "ORDERS_PAID": "orders/paid",
    "ORDERS_UPDATED": "orders/updated",
    "ORDERS_CANCELLED": "orders/cancelled",
    "REFUNDS_CREATE": "refunds/create",
    "APP_UNINSTALLED": "app/uninstalled",
    # held tracking pushes are resent when Shopify releases the hold (integrations.shopify.
    # webhooks.FULFILLMENT_RELEASE_TOPICS)
    "FULFILLMENT_ORDERS_HOLD_RELEASED": "fulfillment_orders/hold_released",
    "FULFILLMENT_ORDERS_SCHEDULED_FULFILLMENT_ORDER_READY": (
        "fulfillment_orders/scheduled_fulfillment_order_ready"
    ),
}
# What each operation costs before Shopify has told us (its requestedQueryCost replaces these).
# Queries stay under Shopify's 1,000-point single-query limit: orders are read with their first
# 100 lines and first 4 fulfillment orders.
COST_SEEDS = {
    "productSet x1": 16,
    f"publishablePublish x{PUBLISH_BATCH}": 11 * PUBLISH_BATCH,
    "inventorySetQuantities": 20,
    "order": 520,
    "fulfillmentOrders": 560,
    "fulfillmentOrderLines": 210,
    "fulfillmentOrderDestinations": 14,
}
# What Shopify answers, field by field, for protected customer data the app was not approved
# for (shopify.dev/docs/apps/launch/protected-customer-data): the field is null and an error
# with this code names it. Reads that can live without those fields accept such an answer.
ACCESS_DENIED = "ACCESS_DENIED"
# Fulfillment orders are read 5 at a time with their first 50 lines each (about 560 points, under
# the 1,000-point single-query limit), further lines of a big one 100 at a time.
FULFILLMENT_ORDERS_PAGE = 5
FULFILLMENT_ORDER_LINES_PAGE = 50
MORE_LINES_PAGE = 100
FULFILLABLE = frozenset({"OPEN", "IN_PROGRESS"})
# Not fulfillable now, but will be: on hold until released, scheduled until fulfillAt.
HELD = frozenset({"ON_HOLD", "SCHEDULED"})
# How soon a push held without a known opening time looks again if no release webhook came.
HOLD_RECHECK_SECONDS = 6 * 3600.0
DEFAULT_COST_SEED = 50
# The order fields get_order and the order list read (order_from_graphql maps them).
ORDER_FIELDS = """
    id name email currencyCode createdAt updatedAt cancelledAt displayFulfillmentStatus
    displayFinancialStatus paymentGatewayNames
    customer { firstName lastName email }
    shippingAddress { name firstName lastName company address1 address2 city province provinceCode zip country countryCodeV2 phone }
    totalPriceSet { shopMoney { amount currencyCode } }
    lineItems(first: LINES) {
      nodes { id sku title quantity variant { id } product { id } originalUnitPriceSet { shopMoney { amount } } }
      pageInfo { hasNextPage }
    }
"""
# A query must stay under Shopify's 1,000-point single-query limit: one order is read with its
# first 100 lines; the reconciliation list reads ORDER_PAGE_SIZE orders with their first
# LISTED_LINES lines and reads the rare longer order again on its own.
ORDER_LINES = 100
LISTED_LINES = 20
ORDER_PAGE_SIZE = 5


def shop_base_url(shop_domain: str) -> str:
    """https://{shop} in production; SHOPIFY_BASE_URL (e.g. the sandbox) when set."""
    base: str = settings.SHOPIFY_BASE_URL
    if not base:
        return f"https://{shop_domain}"
    if "{shop}" in base:
        return base.format(shop=shop_domain).rstrip("/")
    return f"{base.rstrip('/')}/{shop_domain}"


@dataclass
class ThrottleState:
    maximum: float
    available: float
    restore_rate: float
    observed_at: float  # the throttle's clock (wall time: shared by every process)

    def available_now(self, now: float) -> float:
        return min(self.maximum, self.available + (now - self.observed_at) * self.restore_rate)


class CostThrottle:
    """The shop's bucket as last reported, shared through the cache by every process."""

    _locks: dict[str, threading.Lock] = {}
    _locks_guard = threading.Lock()

    def __init__(self, shop_domain: str, *, clock: Callable[[], float] = time.time) -> None:
        self.shop_domain = shop_domain
        self.clock = clock
        self.key = f"shopify-throttle:{shop_domain}"
        self.cost_key = f"shopify-costs:{shop_domain}"
        with self._locks_guard:
            self.lock = self._locks.setdefault(shop_domain, threading.Lock())

    def _state(self) -> ThrottleState | None:
        raw = cache.get(self.key)
        return ThrottleState(**raw) if raw else None

    def cost_of(self, operation: str) -> float:
        costs = cache.get(self.cost_key) or {}
        return float(costs.get(operation, COST_SEEDS.get(operation, DEFAULT_COST_SEED)))

    def reserve(self, operation: str, *, waits: WaitBudget) -> None:
        """Wait until the bucket holds the operation's cost, then take it from the estimate.
        A wait longer than the call's budget raises StoreTemporaryError with its retry_after."""
        needed = self.cost_of(operation)
        while True:
            with self.lock:
                state = self._state()
                now = self.clock()
                if state is None:
                    return
                available = state.available_now(now)
                needed = min(needed, state.maximum)
                if available >= needed:
                    state.available = available - needed
                    state.observed_at = now
                    cache.set(self.key, state.__dict__, timeout=3600)
                    return
                wait = (needed - available) / max(state.restore_rate, 0.001) + 0.01
            if not waits.wait(wait):
                raise StoreTemporaryError(
                    f"Shopify stayed throttled for {operation}.", retry_after=wait
                )

    def observe(self, operation: str, cost: dict[str, Any]) -> None:
        status = cost.get("throttleStatus") or {}
        if not status:
            return
        with self.lock:
            cache.set(
                self.key,
                ThrottleState(
                    maximum=float(status["maximumAvailable"]),
                    available=float(status["currentlyAvailable"]),
                    restore_rate=float(status["restoreRate"]),
                    observed_at=self.clock(),
                ).__dict__,
                timeout=3600,
            )
            requested = cost.get("requestedQueryCost")
            if requested is not None:
                costs = cache.get(self.cost_key) or {}
                costs[operation] = float(requested)
                cache.set(self.cost_key, costs, timeout=24 * 3600)

    def wait_after_throttle(self, operation: str, cost: dict[str, Any]) -> float:
        status = cost.get("throttleStatus") or {}
        requested = float(cost.get("requestedQueryCost") or self.cost_of(operation))
        available = float(status.get("currentlyAvailable") or 0)
        rate = float(status.get("restoreRate") or 1)
        return max(0.05, (requested - available) / max(rate, 0.001))


ACCESS_REFUSED_MESSAGE = (
    "Shopify refused our access token: the app was uninstalled or its access revoked. "
    "Reconnect the store."
)


class AccessTokens(Protocol):
    """Where the client gets its access token: `current()` before a call (renewing one about to
    expire), `renew(rejected=...)` once after Shopify answered 401 to `rejected`."""

    def current(self) -> str: ...

    def renew(self, *, rejected: str) -> str: ...


class StaticAccessToken:
    """A token that cannot be renewed (a custom app's, or one a test made)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def current(self) -> str:
        return self.token

    def renew(self, *, rejected: str) -> str:
        raise StoreAuthError(ACCESS_REFUSED_MESSAGE, status_code=401)


class ShopifyClient:
    product_batch_size = 1  # productSet takes one product (with up to 2,048 variants) per call
    inventory_batch_size = 250  # inventorySetQuantities: input arrays hold at most 250 items

    def __init__(
        self,
        *,
        shop_domain: str,
        access_token: str = "",
        tokens: AccessTokens | None = None,
        location_id: str = "",
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        on_api_version: Callable[[str, str], None] | None = None,
    ) -> None:
        self.shop_domain = shop_domain
        self.tokens: AccessTokens = tokens or StaticAccessToken(access_token)
        self.location_id = location_id
        self.sleep = sleep
        self.throttle = CostThrottle(shop_domain, clock=clock)
        self.calls = 0  # HTTP calls made by this client (tests and benchmarks read it)
        self.on_api_version = on_api_version
        self.served_version = ""  # what the last answer said it was served with
        self._reported_versions: set[str] = set()

    def _note_served_version(self, served: str) -> None:
        """Tell the caller once per client which version answers (it records fall-forwards and
        clears them when the pinned version answers again)."""
        if not served:
            return
        self.served_version = served
        if served in self._reported_versions:
            return
        self._reported_versions.add(served)
        if self.on_api_version is not None:
            self.on_api_version(settings.SHOPIFY_API_VERSION, served)

    @property
    def graphql_url(self) -> str:
        return f"{shop_base_url(self.shop_domain)}/admin/api/{settings.SHOPIFY_API_VERSION}/graphql.json"

    # --- transport -----------------------------------------------------------------------------
    def graphql(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        operation: str,
        allow_withheld: bool = False,
        resend_unanswered: bool = True,
    ) -> dict[str, Any]:
        """One GraphQL call; returns the answer's data. `allow_withheld`: protected customer
        data Shopify withheld (ACCESS_DENIED errors, those fields null) is not a failure of the
        call. A write that must not be doubled passes `resend_unanswered=False`: a dropped
        connection, a timeout or a 5xx then raises StoreAnswerLostError (it may have been
        carried out) for the caller to look before sending it again; a 429 or a THROTTLED
        answer, which Shopify gives before running anything, is still retried here."""
        waits = WaitBudget(sleep=self.sleep)
        backoff = 0.5
        # The points are taken from the estimate once, and again only after a THROTTLED answer
        # corrected it: a 5xx, 429 or timeout retries with the points already set aside.
        needs_points = True
        token = self.tokens.current()
        renewed = False  # a 401 renews the token once; a second one is final
        for attempt in range(1, MAX_ATTEMPTS + 1):
            if needs_points:
                self.throttle.reserve(operation, waits=waits)
                needs_points = False
            self.calls += 1
            try:
                response = safe_request(
                    "POST",
                    self.graphql_url,
                    json={"query": query, "variables": variables or {}},
                    headers={
                        "X-Shopify-Access-Token": token,
                        "Content-Type": "application/json",
                        "Accept": "application/json",
                    },
                )
            except TemporaryError as exc:
                if not resend_unanswered:
                    raise StoreAnswerLostError(
                        f"Shopify did not answer {operation} ({exc}); it may have been carried out."
                    ) from exc
                delay = backoff + random.random() * backoff  # noqa: S311 - jitter
                if attempt >= 3 or not waits.wait(delay):
                    raise StoreTemporaryError(str(exc), retry_after=delay) from exc
                backoff *= 2
                continue
            except PermanentError as exc:
                raise StorePermanentError(str(exc)) from exc
            self._note_served_version(response.headers.get("X-Shopify-API-Version", ""))
            status = response.status_code
            if status == 401 and not renewed:
                # An expiring token that ran out (or was renewed elsewhere): renew once, retry.
                token = self.tokens.renew(rejected=token)
                renewed = True
                continue
            if status >= 500 and not resend_unanswered:
                raise StoreAnswerLostError(
                    f"Shopify answered {status} to {operation}; it may have been carried out."
                )
            if status in (401, 403):
                raise StoreAuthError(ACCESS_REFUSED_MESSAGE, status_code=status)
            if status == 429:
                retry_after = parse_retry_after(response.headers, default=1.0)
                if attempt >= MAX_ATTEMPTS or not waits.wait(retry_after):
                    raise StoreTemporaryError(
                        "Shopify kept answering 429.", retry_after=retry_after
                    )
                continue
            if status >= 500:
                delay = backoff + random.random() * backoff  # noqa: S311 - jitter
                if attempt >= 3 or not waits.wait(delay):
                    raise StoreTemporaryError(f"Shopify answered {status}.", retry_after=delay)
                backoff *= 2
                continue
            if status >= 400:
                raise StorePermanentError(
                    f"Shopify refused the request ({status}): {response.text[:300]}",
                    status_code=status,
                )
            try:
                body = response.json()
            except ValueError as exc:
                raise StoreTemporaryError("Shopify answered something that is not JSON.") from exc
            cost = (body.get("extensions") or {}).get("cost") or {}
            if cost:
                self.throttle.observe(operation, cost)
            errors = body.get("errors") or []
            if any((e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors):
                wait = self.throttle.wait_after_throttle(operation, cost)
                logger.warning(
                    "Shopify throttled %s on %s; waiting %.2fs", operation, self.shop_domain, wait
                )
                if not waits.wait(wait):
                    raise StoreTemporaryError(
                        f"Shopify stayed throttled for {operation}.", retry_after=wait
                    )
                needs_points = True
                continue
            if (
                errors
                and allow_withheld
                and all((e.get("extensions") or {}).get("code") == ACCESS_DENIED for e in errors)
            ):
                return body.get("data") or {}
            if errors:
                message = "; ".join(str(e.get("message")) for e in errors)
                raise StorePermanentError(f"Shopify rejected the query: {message}")
            return body.get("data") or {}
        raise StoreTemporaryError(f"Shopify stayed throttled for {operation}.")

    # --- the protocol --------------------------------------------------------------------------
    def verify_connection(self) -> StoreInfo:
        data = self.graphql(
            "query { shop { name myshopifyDomain currencyCode } locations(first: 1) { nodes { id } } }",
            operation="shop",
        )
        shop = data["shop"]
        locations = (data.get("locations") or {}).get("nodes") or []
        location_id = locations[0]["id"] if locations else ""
        self.location_id = self.location_id or location_id
        return StoreInfo(
            name=shop["name"],
            currency=shop["currencyCode"],
            location_id=location_id,
            domain=shop["myshopifyDomain"],
        )

    def register_webhooks(self, *, callback_url: str) -> list[WebhookRegistration]:
        return list(self.ensure_webhooks(callback_url=callback_url).registrations)

    def ensure_webhooks(self, *, callback_url: str) -> WebhookCheck:
        """A subscription per topic of WEBHOOK_TOPICS to `callback_url`: kept when Shopify has
        it, created when missing (Shopify removes a subscription whose deliveries kept failing).
        """
        existing = self.graphql(
            "query { webhookSubscriptions(first: 50) { nodes { id topic callbackUrl } } }",
            operation="webhookSubscriptions",
        )["webhookSubscriptions"]["nodes"]
        registrations = []
        repaired = []
        for topic_enum, topic in WEBHOOK_TOPICS.items():
            match = next(
                (
                    s
                    for s in existing
                    if s["topic"] == topic_enum and s["callbackUrl"] == callback_url
                ),
                None,
            )
            if match is not None:
                registrations.append(WebhookRegistration(topic=topic, store_webhook_id=match["id"]))
                continue
            payload = self.graphql(
                """mutation($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) {
                  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) {
                    webhookSubscription { id topic }
                    userErrors { field message }
                  }
                }""",
                {"topic": topic_enum, "sub": {"callbackUrl": callback_url, "format": "JSON"}},
                operation="webhookSubscriptionCreate",
            )["webhookSubscriptionCreate"]
            if payload["userErrors"]:
                raise StorePermanentError(
                    f"Shopify refused the {topic} webhook: "
                    + mappers.user_errors_text(payload["userErrors"])
                )
            registrations.append(
                WebhookRegistration(
                    topic=topic, store_webhook_id=payload["webhookSubscription"]["id"]
                )
            )
            repaired.append(f"{topic}: missing, subscribed again")
        return WebhookCheck(registrations=tuple(registrations), repaired=tuple(repaired))

    def list_orders_updated_since(
        self, *, since: datetime, cursor: str = "", page_size: int = 0
    ) -> OrderPage:
        """`orders(query: "updated_at:>='…'", sortKey: UPDATED_AT)`, a page at a time. Without
        the read_all_orders scope Shopify shows only the last 60 days of orders."""
        instant = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        data = self.graphql(
            f"""query($first: Int!, $after: String, $query: String!) {{
              orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {{
                nodes {{ {_order_fields(LISTED_LINES)} }}
                pageInfo {{ hasNextPage endCursor }}
              }}
            }}""",
            {"first": page_size or ORDER_PAGE_SIZE, "after": cursor or None,
             "query": f"updated_at:>='{instant}'"},
            operation="orders",
            allow_withheld=True,
        )["orders"]  # fmt: skip
        page_info = data.get("pageInfo") or {}
        nodes = [
            node
            if not ((node.get("lineItems") or {}).get("pageInfo") or {}).get("hasNextPage")
            else self._order_node(node["id"])  # more lines than the list reads
            for node in data.get("nodes") or []
        ]
        return OrderPage(
            orders=tuple(
                PolledOrder(
                    store_order_id=node["id"],
                    updated_at=_instant(node.get("updatedAt") or node["createdAt"]),
                    created_at=_instant(node["createdAt"]),
                    payload=node,
                )
                for node in nodes
            ),
            cursor=str(page_info.get("endCursor") or "") if page_info.get("hasNextPage") else "",
        )

    def delete_webhooks(self, *, store_webhook_ids: list[str]) -> None:
        for webhook_id in store_webhook_ids:
            self.graphql(
                """mutation($id: ID!) {
                  webhookSubscriptionDelete(id: $id) { deletedWebhookSubscriptionId userErrors { field message } }
                }""",
                {"id": webhook_id},
                operation="webhookSubscriptionDelete",
            )

    def upsert_products(self, *, products: list[ProductData]) -> list[ProductResult]:
        """productSet each product, upserting by `identifier` (the store's id, else our stable
        handle: a retry after a lost answer updates the product the lost call made), then
        publish the new ones to the Online Store in one call."""
        if not self.location_id:
            self.verify_connection()
        results = []
        for product in products:
            # Ask for as many variants as we send: Shopify prices a connection by `first`
            # before running the query (shopify.dev "GraphQL Admin API rate limits"). The cost
            # then depends on the count, so the throttle learns it per count.
            count = max(1, min(len(product.variants), 250))
            payload = self.graphql(
                """mutation($identifier: ProductSetIdentifiers, $input: ProductSetInput!, $variants: Int!) {
                  productSet(identifier: $identifier, input: $input, synchronous: true) {
                    product { id variants(first: $variants) { nodes { id sku inventoryItem { id } } } }
                    userErrors { field message code }
                  }
                }""",
                {
                    "identifier": mappers.product_set_identifier(product),
                    "input": mappers.product_set_input(product, location_id=self.location_id),
                    "variants": count,
                },
                operation=f"productSet x{count}",
            )["productSet"]
            results.append(mappers.product_result(product.reference, payload))
        new = {
            result.reference: result.store_product_id
            for product, result in zip(products, results, strict=True)
            if result.is_ok and product.is_published and not product.store_product_id
        }
        refused = self._publish_to_online_store(list(new.values())) if new else {}
        return [
            ProductResult(
                reference=r.reference,
                store_product_id=r.store_product_id,
                variant_ids=r.variant_ids,
                inventory_item_ids=r.inventory_item_ids,
                error=f"Created, but not published to the Online Store: {refused[new[r.reference]]}",
            )
            if new.get(r.reference) in refused
            else r
            for r in results
        ]

    def online_store_publication_id(self) -> str:
        """The shop's Online Store publication, looked up once a day per shop ("" if the shop
        has no Online Store channel)."""
        key = f"shopify-online-store:{self.shop_domain}"
        cached = cache.get(key)
        if cached is not None:
            return str(cached)
        data = self.graphql(
            "query { publications(first: 20, catalogType: APP) { nodes { id catalog { title } } } }",
            operation="publications",
        )
        found = next(
            (
                node["id"]
                for node in (data.get("publications") or {}).get("nodes") or []
                if (node.get("catalog") or {}).get("title") == ONLINE_STORE
            ),
            "",
        )
        cache.set(key, found, timeout=PUBLICATION_CACHE_SECONDS)
        return found

    def _publish_to_online_store(self, product_ids: list[str]) -> dict[str, str]:
        """publishablePublish each product to the Online Store, PUBLISH_BATCH per request;
        returns product id -> refusal for those Shopify refused."""
        publication_id = self.online_store_publication_id()
        if not publication_id:
            logger.warning("%s has no Online Store sales channel to publish to", self.shop_domain)
            return {}
        refused: dict[str, str] = {}
        for batch in chunked(product_ids, PUBLISH_BATCH):
            fields = "\n".join(
                f"p{i}: publishablePublish(id: $id{i}, input: $input) {{ userErrors {{ field message }} }}"
                for i in range(len(batch))
            )
            declared = ", ".join(f"$id{i}: ID!" for i in range(len(batch)))
            data = self.graphql(
                f"mutation({declared}, $input: [PublicationInput!]!) {{\n{fields}\n}}",
                {
                    **{f"id{i}": product_id for i, product_id in enumerate(batch)},
                    "input": [{"publicationId": publication_id}],
                },
                operation=f"publishablePublish x{len(batch)}",  # its cost depends on the count
            )
            for i, product_id in enumerate(batch):
                errors = (data.get(f"p{i}") or {}).get("userErrors") or []
                if errors:
                    refused[product_id] = mappers.user_errors_text(errors)
        return refused

    def has_inventory_address(self, item: InventoryRef) -> bool:
        return bool(item.inventory_item_id)

    def set_inventory(self, *, changes: list[InventoryChange]) -> InventoryResult:
        """inventorySetQuantities with compare-and-swap and an idempotency key (both mandatory
        from 2026-04, shopify.dev/changelog/making-changefromquantity-field-required and
        .../making-idempotency-mandatory-for-inventory-adjustments-and-refund-mutations).

        `changeFromQuantity` is the quantity the store last showed us, so a sale the store
        counted since is never overwritten unseen; an item whose value we do not know is read
        first. A CHANGE_FROM_QUANTITY_STALE item is read again and retried with the fresh value
        at most MAX_STALE_RETRIES times, then reported refused (it stays dirty for a later
        push). The idempotency key is derived from the call's content and our change versions:
        a retry of the same call (a lost answer) replays instead of applying twice, and any
        other change gets another key."""
        if not self.location_id:
            self.verify_connection()
        calls_before = self.calls
        updated = 0
        errors: list[str] = []
        refused: dict[str, str] = {}
        unattributed: list[str] = []
        shown: dict[str, int] = {}
        for batch in chunked(changes, self.inventory_batch_size):
            expected = self._expected_quantities(batch)
            pending = batch
            stale_rounds = 0
            # each round drops refused items or refreshes stale ones: bounded
            for _round in range(2 + MAX_STALE_RETRIES):
                payload = self._set_quantities(pending, expected)
                user_errors = payload["userErrors"]
                if not user_errors:
                    updated += len(pending)
                    shown.update({c.reference: max(0, c.quantity) for c in pending})
                    break
                bad: set[int] = set()
                stale: set[int] = set()
                named_no_item = False
                for error in user_errors:
                    field = error.get("field") or []
                    if len(field) >= 3 and field[1] == "quantities" and field[2].isdigit():
                        index = int(field[2])
                        if error.get("code") == "CHANGE_FROM_QUANTITY_STALE":
                            stale.add(index)
                            continue
                        bad.add(index)
                        change = pending[index]
                        message = f"{change.inventory_item_id}: {error['message']}"
                        refused[change.reference] = message
                    else:
                        message = error["message"]
                        unattributed.append(message)
                        named_no_item = True
                    errors.append(message)
                if named_no_item and not bad and not stale:
                    break
                settled: set[int] = set()
                if stale:
                    stale_rounds += 1
                    fresh = self._read_quantities([pending[i] for i in sorted(stale)])
                    for index in stale:
                        change = pending[index]
                        now_shown = fresh.get(change.inventory_item_id)
                        if now_shown is not None:
                            shown[change.reference] = now_shown
                        if now_shown == max(0, change.quantity):
                            updated += 1  # the store already shows what we wanted
                            settled.add(index)
                        elif stale_rounds > MAX_STALE_RETRIES:
                            message = (
                                f"{change.inventory_item_id}: the store's quantity kept changing "
                                f"while we set it (now {now_shown}); it will be pushed again."
                            )
                            refused[change.reference] = message
                            errors.append(message)
                            settled.add(index)
                        else:
                            expected[change.inventory_item_id] = now_shown
                pending = [c for i, c in enumerate(pending) if i not in bad and i not in settled]
                if not pending:
                    break
        return InventoryResult(
            calls=self.calls - calls_before,
            updated=updated,
            errors=tuple(errors),
            refused=refused,
            unattributed=tuple(unattributed),
            shown=shown,
        )

    def _expected_quantities(self, changes: list[InventoryChange]) -> dict[str, int | None]:
        """What each item (by inventory item id) should show before we set it: the quantity
        last read back, read now for the items whose quantity we do not know."""
        expected = {c.inventory_item_id: c.expected_quantity for c in changes}
        unknown = [c for c in changes if c.expected_quantity is None]
        if unknown:
            expected.update(self._read_quantities(unknown))
        return expected

    def _read_quantities(self, changes: list[InventoryChange]) -> dict[str, int | None]:
        items = [InventoryRef(inventory_item_id=c.inventory_item_id) for c in changes]
        answer = self.read_inventory(items=items)
        return {
            item.inventory_item_id: quantity
            for item, quantity in zip(items, answer.quantities, strict=True)
        }

    def _set_quantities(
        self, changes: list[InventoryChange], expected: dict[str, int | None]
    ) -> dict[str, Any]:
        quantities = [
            {
                "inventoryItemId": change.inventory_item_id,
                "locationId": self.location_id,
                "quantity": max(0, change.quantity),
                # null only where the store could not tell us what it shows (it has no such
                # item: the call refuses it anyway); everywhere else the compare-and-swap holds.
                "changeFromQuantity": expected.get(change.inventory_item_id),
            }
            for change in changes
        ]
        variables = {
            "input": {"name": "available", "reason": "correction", "quantities": quantities}
        }
        content = json.dumps(
            [variables, [(c.reference, c.version) for c in changes]], sort_keys=True
        )
        key = str(uuid.uuid5(IDEMPOTENCY_NAMESPACE, hashlib.sha256(content.encode()).hexdigest()))
        payload: dict[str, Any] = self.graphql(
            """mutation($input: InventorySetQuantitiesInput!, $key: String!) {
              inventorySetQuantities(input: $input) @idempotent(key: $key) {
                inventoryAdjustmentGroup { reason }
                userErrors { code field message }
              }
            }""",
            {**variables, "key": key},
            operation="inventorySetQuantities",
        )["inventorySetQuantities"]
        return payload

    def set_product_published(self, *, store_product_id: str, is_published: bool) -> None:
        payload = self.graphql(
            """mutation($product: ProductUpdateInput!) {
              productUpdate(product: $product) { product { id status } userErrors { field message } }
            }""",
            {"product": {"id": store_product_id, "status": "ACTIVE" if is_published else "DRAFT"}},
            operation="productUpdate",
        )["productUpdate"]
        if payload["userErrors"]:
            raise StorePermanentError(mappers.user_errors_text(payload["userErrors"]))

    def get_order(self, *, store_order_id: str) -> OrderData:
        return mappers.order_from_graphql(self._order_node(store_order_id))

    def _order_node(self, store_order_id: str) -> dict[str, Any]:
        data = self.graphql(
            f"query($id: ID!) {{ order(id: $id) {{ {_order_fields(ORDER_LINES)} }} }}",
            {"id": mappers.gid("Order", store_order_id)},
            operation="order",
            allow_withheld=True,
        )
        if not data.get("order"):
            raise StorePermanentError(f"Shopify has no order {store_order_id}.", status_code=404)
        node: dict[str, Any] = data["order"]
        return node

    def get_shipping_address(self, *, store_order_id: str) -> dict[str, str] | None:
        """The address the order ships to, from its fulfillment orders' `destination` (read
        with our fulfillment order scopes, shopify.dev/docs/api/admin-graphql/latest/objects/
        FulfillmentOrderDestination), for an order whose webhook came without it. None when
        Shopify withholds the street address there too."""
        data = self.graphql(
            """query($id: ID!) {
              order(id: $id) {
                shippingAddress { province provinceCode country countryCodeV2 }
                fulfillmentOrders(first: 5) {
                  nodes { destination { firstName lastName company address1 address2 city province zip countryCode phone } }
                }
              }
            }""",
            {"id": mappers.gid("Order", store_order_id)},
            operation="fulfillmentOrderDestinations",
            allow_withheld=True,
        )
        order = data.get("order")
        if not order:
            raise StorePermanentError(f"Shopify has no order {store_order_id}.", status_code=404)
        shipping = order.get("shippingAddress") or {}
        known = {
            "province": shipping.get("province") or "",
            "province_code": shipping.get("provinceCode") or "",
            "country": shipping.get("country") or "",
            "country_code": shipping.get("countryCodeV2") or "",
        }
        for node in (order.get("fulfillmentOrders") or {}).get("nodes") or []:
            address = mappers.address_from_destination(node.get("destination"), known=known)
            if address is not None:
                return address
        return None

    def create_fulfillment(self, *, fulfillment: FulfillmentData) -> FulfillmentResult:
        groups = self._fulfillment_groups(fulfillment)
        variables = {
            "fulfillment": {
                "notifyCustomer": fulfillment.notify_customer,
                "trackingInfo": {
                    "company": fulfillment.carrier,
                    "number": fulfillment.tracking_number,
                    **({"url": fulfillment.tracking_url} if fulfillment.tracking_url else {}),
                },
                "lineItemsByFulfillmentOrder": [
                    {"fulfillmentOrderId": fo_id, "fulfillmentOrderLineItems": items}
                    for fo_id, items in groups.items()
                ],
            }
        }

        def send() -> FulfillmentResult:
            payload = self.graphql(
                """mutation($fulfillment: FulfillmentInput!) {
                  fulfillmentCreate(fulfillment: $fulfillment) {
                    fulfillment { id status }
                    userErrors { field message }
                  }
                }""",
                variables,
                operation="fulfillmentCreate",
                resend_unanswered=False,
            )["fulfillmentCreate"]
            if payload["userErrors"]:
                raise StorePermanentError(mappers.user_errors_text(payload["userErrors"]))
            return FulfillmentResult(store_fulfillment_id=payload["fulfillment"]["id"])

        def find() -> FulfillmentResult | None:
            found = self.find_fulfillment(
                store_order_id=fulfillment.store_order_id,
                tracking_number=fulfillment.tracking_number,
            )
            return FulfillmentResult(store_fulfillment_id=found) if found else None

        return write_once(send, find)

    def _fulfillment_groups(self, fulfillment: FulfillmentData) -> dict[str, list[dict[str, Any]]]:
        """The shipped lines as fulfillment order line items to fulfil, {fulfillment order id:
        [{id, quantity}]}, read from every fulfillment order of the order and every line of
        each, page by page. Lines that only a held or scheduled fulfillment order still holds
        raise StoreFulfillmentHeldError; lines with nothing left raise StorePermanentError."""
        fulfillment_orders = self._fulfillment_orders(fulfillment.store_order_id)
        wanted = {line.store_line_id: line.quantity for line in fulfillment.lines}
        groups: dict[str, list[dict[str, Any]]] = {}
        for fulfillment_order in fulfillment_orders:
            if fulfillment_order["status"] not in FULFILLABLE:
                continue
            for item in fulfillment_order["lines"]:
                line_id = item["lineItem"]["id"]
                take = min(wanted.get(line_id, 0), item["remainingQuantity"])
                if take > 0:
                    groups.setdefault(fulfillment_order["id"], []).append(
                        {"id": item["id"], "quantity": take}
                    )
                    wanted[line_id] -= take
        missing = {line_id: qty for line_id, qty in wanted.items() if qty > 0}
        if not missing:
            return groups
        held = [
            fo
            for fo in fulfillment_orders
            if fo["status"] in HELD
            and any(
                item["lineItem"]["id"] in missing and item["remainingQuantity"] > 0
                for item in fo["lines"]
            )
        ]
        if held:
            raise _held_error(fulfillment.store_order_id, held, now=self.throttle.clock())
        raise StorePermanentError(
            "These lines have nothing left to fulfil in Shopify: "
            + ", ".join(f"{mappers.legacy_id(k)} ({v})" for k, v in missing.items())
        )

    def _fulfillment_orders(self, store_order_id: str) -> list[dict[str, Any]]:
        """Every fulfillment order of the order with all its lines (`lines`), paged: an order
        split over many locations has more fulfillment orders, and a big one more lines, than
        one page holds."""
        fulfillment_orders: list[dict[str, Any]] = []
        after: str | None = None
        while True:
            data = self.graphql(
                """query($id: ID!, $after: String, $first: Int!, $lines: Int!) {
                  order(id: $id) {
                    fulfillmentOrders(first: $first, after: $after) {
                      pageInfo { hasNextPage endCursor }
                      nodes {
                        id status fulfillAt
                        fulfillmentHolds { reason reasonNotes displayReason }
                        lineItems(first: $lines) {
                          pageInfo { hasNextPage endCursor }
                          nodes { id remainingQuantity lineItem { id } }
                        }
                      }
                    }
                  }
                }""",
                {
                    "id": mappers.gid("Order", store_order_id),
                    "after": after,
                    "first": FULFILLMENT_ORDERS_PAGE,
                    "lines": FULFILLMENT_ORDER_LINES_PAGE,
                },
                operation="fulfillmentOrders",
            )
            if not data.get("order"):
                raise StorePermanentError(f"Shopify has no order {store_order_id}.")
            connection = data["order"]["fulfillmentOrders"]
            for node in connection["nodes"]:
                lines = node["lineItems"]
                node["lines"] = list(lines["nodes"])
                if lines["pageInfo"]["hasNextPage"]:
                    node["lines"] += self._fulfillment_order_lines(
                        node["id"], after=lines["pageInfo"]["endCursor"]
                    )
                fulfillment_orders.append(node)
            if not connection["pageInfo"]["hasNextPage"]:
                return fulfillment_orders
            after = connection["pageInfo"]["endCursor"]

    def _fulfillment_order_lines(self, fulfillment_order_id: str, *, after: str) -> list[Any]:
        lines: list[Any] = []
        cursor: str | None = after
        while cursor:
            data = self.graphql(
                """query($id: ID!, $after: String, $first: Int!) {
                  fulfillmentOrder(id: $id) {
                    lineItems(first: $first, after: $after) {
                      pageInfo { hasNextPage endCursor }
                      nodes { id remainingQuantity lineItem { id } }
                    }
                  }
                }""",
                {"id": fulfillment_order_id, "after": cursor, "first": MORE_LINES_PAGE},
                operation="fulfillmentOrderLines",
            )
            page = (data.get("fulfillmentOrder") or {}).get("lineItems") or {}
            lines += page.get("nodes") or []
            info = page.get("pageInfo") or {}
            cursor = info.get("endCursor") if info.get("hasNextPage") else None
        return lines

    def find_fulfillment(self, *, store_order_id: str, tracking_number: str) -> str:
        """The order's fulfilment whose tracking info carries this number (a fulfilment may
        carry several numbers: any of them matches)."""
        data = self.graphql(
            """query($id: ID!) {
              order(id: $id) { fulfillments(first: 250) { id trackingInfo(first: 10) { number } } }
            }""",
            {"id": mappers.gid("Order", store_order_id)},
            operation="orderFulfillments",
        )
        for fulfillment in (data.get("order") or {}).get("fulfillments") or []:
            if any(t.get("number") == tracking_number for t in fulfillment["trackingInfo"]):
                return str(fulfillment["id"])
        return ""

    def add_order_note(self, *, note: OrderNote) -> None:
        order_id = mappers.gid("Order", note.store_order_id)
        existing = self._order_note(note.store_order_id)
        if _has_line(existing, note.text):
            return  # added by an earlier attempt whose answer was lost
        text = f"{existing}\n{note.text}" if existing else note.text

        def send() -> bool:
            payload = self.graphql(
                """mutation($input: OrderInput!) {
                  orderUpdate(input: $input) { order { id } userErrors { field message } }
                }""",
                {"input": {"id": order_id, "note": text}},
                operation="orderUpdate",
                resend_unanswered=False,
            )["orderUpdate"]
            if payload["userErrors"]:
                raise StorePermanentError(mappers.user_errors_text(payload["userErrors"]))
            return True

        write_once(
            send,
            lambda: True if _has_line(self._order_note(note.store_order_id), note.text) else None,
        )

    def _order_note(self, store_order_id: str) -> str:
        data = self.graphql(
            "query($id: ID!) { order(id: $id) { id note } }",
            {"id": mappers.gid("Order", store_order_id)},
            operation="orderNote",
        )
        if not data.get("order"):
            raise StorePermanentError(f"Shopify has no order {store_order_id}.")
        return str(data["order"].get("note") or "")

    inventory_read_batch_size = 250  # nodes(ids:) takes at most 250 ids

    def read_inventory(self, *, items: list[InventoryRef]) -> InventoryReadResult:
        """The "available" quantity at our location of each inventory item, 250 per query."""
        if not self.location_id:
            self.verify_connection()
        calls_before = self.calls
        found: dict[str, int | None] = {}
        ids = [item.inventory_item_id for item in items if item.inventory_item_id]
        for batch in chunked(list(dict.fromkeys(ids)), self.inventory_read_batch_size):
            data = self.graphql(
                """query($ids: [ID!]!, $location: ID!) {
                  nodes(ids: $ids) {
                    ... on InventoryItem {
                      id
                      inventoryLevel(locationId: $location) { quantities(names: ["available"]) { name quantity } }
                    }
                  }
                }""",
                {"ids": batch, "location": self.location_id},
                operation="inventoryNodes",
            )
            for node in data.get("nodes") or []:
                if not node or not node.get("id"):
                    continue
                level = node.get("inventoryLevel") or {}
                quantities = {q["name"]: q["quantity"] for q in level.get("quantities") or []}
                found[node["id"]] = quantities.get("available") if level else None
        return InventoryReadResult(
            quantities=tuple(found.get(item.inventory_item_id) for item in items),
            calls=self.calls - calls_before,
        )


def _instant(value: str) -> datetime:
    """A Shopify DateTime ("2026-05-07T08:37:00Z") as an aware datetime."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _order_fields(lines: int) -> str:
    return ORDER_FIELDS.replace("LINES", str(lines))


def _has_line(note: str, text: str) -> bool:
    """Whether the order note already holds `text` as whole lines."""
    return f"\n{text}\n" in f"\n{note}\n"


def _held_error(
    store_order_id: str, held: list[dict[str, Any]], *, now: float
) -> StoreFulfillmentHeldError:
    """Why Shopify will not fulfil the lines yet, in words for the retailer and support."""
    reasons = []
    # Nothing is sent before every held fulfillment order opens: look again when the last
    # scheduled one opens, or after HOLD_RECHECK_SECONDS for a hold (its release webhook
    # normally comes first).
    retry_after = 60.0
    for fo in held:
        number = mappers.legacy_id(fo["id"])
        if fo["status"] == "SCHEDULED":
            opens = fo.get("fulfillAt") or ""
            reasons.append(f"fulfillment order {number} is scheduled to open {opens}".rstrip())
            opens_at = _epoch(opens)
            wait = HOLD_RECHECK_SECONDS if opens_at is None else opens_at - now
            retry_after = max(retry_after, wait)
            continue
        retry_after = max(retry_after, HOLD_RECHECK_SECONDS)
        holds = [
            h.get("displayReason") or h.get("reason") or "on hold"
            for h in fo.get("fulfillmentHolds") or []
        ]
        notes = [h["reasonNotes"] for h in fo.get("fulfillmentHolds") or [] if h.get("reasonNotes")]
        reason = ", ".join(holds) or "on hold"
        if notes:
            reason += f" ({'; '.join(notes)})"
        reasons.append(f"fulfillment order {number} is on hold: {reason}")
    text = "; ".join(reasons)
    return StoreFulfillmentHeldError(
        f"Shopify holds order {mappers.legacy_id(store_order_id)}: {text}. The tracking is sent "
        "once the hold is released.",
        reason=f"Held by Shopify: {text}.",
        retry_after=retry_after,
    )


def _epoch(timestamp: str) -> float | None:
    try:
        return _instant(timestamp).timestamp()
    except ValueError:
        return None
