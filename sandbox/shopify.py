"""A Shopify that runs on this machine: OAuth, the GraphQL Admin API subset we use, its cost
throttle, and signed webhooks. Standard library + graphql-core only (no Django).

Paths (SHOPIFY_BASE_URL points here; the shop domain is the first path segment):
    GET/POST /{shop}/admin/oauth/authorize        the install page a merchant approves
    POST     /{shop}/admin/oauth/access_token     code -> offline access token (expiring=1: an
                                                  expiring one with a refresh token), the
                                                  refresh grant, and the token exchange that
                                                  migrates a non-expiring offline token
    POST     /{shop}/admin/api/{version}/graphql.json

Expiring offline tokens (shopify.dev "About offline access tokens", changelog "Offline access
tokens now support expiry and refresh" and "More resilient refreshes for expiring offline access
tokens"): an access token lives ACCESS_TOKEN_SECONDS, its refresh token REFRESH_TOKEN_SECONDS.
`grant_type=refresh_token` answers a new pair; the refresh token used stays good until its
replacement is used (then it is retired), for at most REFRESH_RECOVERY_SECONDS after its first
use; using it again issues a new pair and retires the replacement issued before, so only the
latest pair lives. An expired access token is answered 401 with the same body as a wrong one.
Controls: expire_access_tokens, revoke_refresh_tokens, require_expiring_tokens (the 2027-01-01
rule: non-expiring offline tokens of public apps are refused).

Migrating a non-expiring offline token (shopify.dev "Migrate to expiring offline access tokens",
changelog "More resilient token exchanges when migrating tokens without a user session"): the
token exchange grant with subject_token = the old token, both token types the offline access
token type, and expiring=1, answers an expiring pair; the old token stops working for the Admin
API at once. Exchanging the same old token again within MIGRATION_RECOVERY_SECONDS answers the
same pair (the access token's expiry extended, the refresh token's not), until that pair is
refreshed or replaced. Control: refuse_token_exchange (the shop's exchanges answer 400).

API versions (shopify.dev "About Shopify API versioning"): the sandbox serves the versions in
`supported_versions` (a switch: `set_supported_versions`). A request for any other version is
served by the oldest supported one ("fall forward"), and every answer names the version that
served it in `X-Shopify-API-Version`. From 2026-04 the 2026-04 input shapes are enforced:
`inventorySetQuantities` takes `changeFromQuantity` on every quantity (explicit null skips the
compare-and-swap; a stale value answers CHANGE_FROM_QUANTITY_STALE) and no longer knows
`compareQuantity` / `ignoreCompareQuantity`, and it needs an `@idempotent(key:)` directive: the
same key with the same variables replays the first answer without applying it again.

Rate limit: a leaky bucket per shop. `STANDARD_PLAN` follows shopify.dev ("GraphQL Admin API
rate limits": Standard plan restores 100 points/second; a single query may cost at most 1,000
points); the bucket holds 20 seconds of restore. A query whose requested cost exceeds what is
available is answered 200 with a THROTTLED error and `extensions.cost`, as Shopify does.
Cost model (shopify.dev "Cost calculation"): scalars and enums 0, objects 1, connections
2 + first × node cost, mutations 10; the actual cost counts the nodes really returned.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from graphql import (
    DirectiveNode,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    build_schema,
    execute,
    extend_schema,
    get_named_type,
    is_leaf_type,
    parse,
    validate,
)
from graphql.utilities import value_from_ast_untyped

from sandbox.server import Delivery, Request, Response, post
from sandbox.state import StateFile
from sandbox.storefront import ShopifyStorefront

MAX_QUERY_COST = 1000
MAX_INPUT_ARRAY = 250  # shopify.dev "Shopify API limits": input arrays hold at most 250 items
INVENTORY_REASONS = {
    "correction",
    "cycle_count_available",
    "damaged",
    "movement_created",
    "movement_updated",
    "movement_received",
    "movement_canceled",
    "other",
    "promotion",
    "quality_control",
    "received",
    "reservation_created",
    "reservation_deleted",
    "reservation_updated",
    "restock",
    "safety_stock",
    "shrinkage",
}
TOPIC_NAMES = {
    "ORDERS_CREATE": "orders/create",
    "ORDERS_CANCELLED": "orders/cancelled",
    "ORDERS_UPDATED": "orders/updated",
    "ORDERS_PAID": "orders/paid",
    "REFUNDS_CREATE": "refunds/create",
    "APP_UNINSTALLED": "app/uninstalled",
    "PRODUCTS_UPDATE": "products/update",
    "FULFILLMENT_ORDERS_HOLD_RELEASED": "fulfillment_orders/hold_released",
    "FULFILLMENT_ORDERS_SCHEDULED_FULFILLMENT_ORDER_READY": (
        "fulfillment_orders/scheduled_fulfillment_order_ready"
    ),
}
MAX_PAGE_SIZE = 250  # a connection's `first` is at most 250
HOLD_REASONS = {
    "AWAITING_PAYMENT": "Awaiting payment",
    "AWAITING_RETURN_ITEMS": "Awaiting return items",
    "HIGH_RISK_OF_FRAUD": "High risk of fraud",
    "INCORRECT_ADDRESS": "Incorrect address",
    "INVENTORY_OUT_OF_STOCK": "Inventory out of stock",
    "ONLINE_STORE_POST_PURCHASE_CROSS_SELL": "Post-purchase upsell",
    "OTHER": "Other",
    "UNKNOWN_DELIVERY_DATE": "Unknown delivery date",
}
ACCESS_TOKEN_SECONDS = 3600
REFRESH_TOKEN_SECONDS = 90 * 24 * 3600
REFRESH_RECOVERY_SECONDS = 30 * 24 * 3600
MIGRATION_RECOVERY_SECONDS = 7 * 24 * 3600
TOKEN_EXCHANGE_GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"  # noqa: S105 - a grant type, not a secret
OFFLINE_TOKEN_TYPE = "urn:shopify:params:oauth:token-type:offline-access-token"  # noqa: S105 - a token type
UNAUTHORIZED_BODY = {
    "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
}
SCHEMA = build_schema((Path(__file__).with_name("shopify_schema.graphql")).read_text())
# What 2026-04 removed from inventorySetQuantities: versions before it still take these.
LEGACY_INVENTORY_FIELDS = """
extend input InventorySetQuantitiesInput { ignoreCompareQuantity: Boolean = false }
extend input InventoryQuantityInput { compareQuantity: Int }
"""
LEGACY_SCHEMA = extend_schema(SCHEMA, parse(LEGACY_INVENTORY_FIELDS))
# Stable versions answered on this sandbox's "today" (each is supported for at least 12 months;
# 2025-10 and older have fallen off).
SUPPORTED_VERSIONS = ("2026-01", "2026-04", "2026-07", "2026-10")
STRICT_INVENTORY_FROM = "2026-04"  # changeFromQuantity and @idempotent mandatory from here
ONLINE_STORE = "Online Store"
IDEMPOTENCY_KEYS_KEPT = 1000  # per shop: Shopify keeps keys for a while, not for ever


def schema_for(version: str):
    return SCHEMA if version >= STRICT_INVENTORY_FROM else LEGACY_SCHEMA


@dataclass(frozen=True)
class Plan:
    maximum_available: float
    restore_rate: float


STANDARD_PLAN = Plan(maximum_available=2000.0, restore_rate=100.0)
ADVANCED_PLAN = Plan(maximum_available=4000.0, restore_rate=200.0)
PLUS_PLAN = Plan(maximum_available=20000.0, restore_rate=1000.0)


class Bucket:
    """Shopify's leaky bucket: `available` refills at `restore_rate` up to `maximum`."""

    def __init__(self, plan: Plan, clock: Callable[[], float] = time.time) -> None:
        self.maximum = plan.maximum_available
        self.restore_rate = plan.restore_rate
        self.available = plan.maximum_available
        self.clock = clock
        self.updated = clock()

    def refill(self) -> None:
        now = self.clock()
        self.available = min(
            self.maximum, self.available + (now - self.updated) * self.restore_rate
        )
        self.updated = now

    def status(self) -> dict[str, float]:
        return {
            "maximumAvailable": self.maximum,
            "currentlyAvailable": round(self.available, 1),
            "restoreRate": self.restore_rate,
        }


@dataclass
class CallRecord:
    shop: str
    operation: str  # the root field names, e.g. "inventorySetQuantities"
    status: int
    throttled: bool
    requested_cost: int
    actual_cost: int | None
    error: str = ""
    variables: dict = field(default_factory=dict)
    api_version: str = ""  # the version that served the call

    @property
    def is_rejected(self) -> bool:
        return self.throttled or self.status >= 400 or bool(self.error)


@dataclass
class Shop:
    domain: str
    name: str
    shop_id: int
    currency: str = "USD"
    email: str = "owner@example.com"
    plan: Plan = STANDARD_PLAN
    products: dict[str, dict] = field(default_factory=dict)
    variants: dict[str, dict] = field(default_factory=dict)
    inventory_items: dict[str, dict] = field(default_factory=dict)
    orders: dict[str, dict] = field(default_factory=dict)
    fulfillment_orders: dict[str, dict] = field(default_factory=dict)
    fulfillments: dict[str, dict] = field(default_factory=dict)
    webhooks: dict[str, dict] = field(default_factory=dict)
    # What Shopify e-mails the shopper: the shipping confirmation of a fulfilment created with
    # notifyCustomer. Tests count them: a shopper never gets one twice.
    emails: list[dict] = field(default_factory=list)
    location_id: str = ""
    bucket: Bucket | None = None
    is_installed: bool = False
    # Protected customer data (shopify.dev/docs/apps/launch/protected-customer-data): without
    # level 2 access, names, addresses, e-mails and phones are withheld from webhooks and the
    # API. `destination_shared`: fulfillment orders still show where to ship.
    is_customer_data_redacted: bool = False
    is_destination_shared: bool = False
    # sales channels: publication id -> name ("Online Store" is the storefront)
    publications: dict[str, str] = field(default_factory=dict)
    # @idempotent keys -> {"variables": ..., "payload": ...} of the first call with that key
    idempotency: dict[str, dict] = field(default_factory=dict)
    # every inventory change applied: {"item", "name", "delta"} (tests count what was applied)
    adjustments: list[dict] = field(default_factory=list)

    @property
    def online_store_publication_id(self) -> str:
        return next((pid for pid, name in self.publications.items() if name == ONLINE_STORE), "")

    def quantity(self, inventory_item_id: str, name: str = "available") -> int:
        item = self.inventory_items[inventory_item_id]
        return int(item["levels"].get(self.location_id, {}).get(name, 0))

    def quantity_for_sku(self, sku: str) -> int:
        for variant in self.variants.values():
            if variant["sku"] == sku:
                return self.quantity(variant["inventory_item_id"])
        raise KeyError(sku)


# What a state file keeps of a shop (its plan too; the bucket starts full again).
SAVED_SHOP_FIELDS = (
    "domain",
    "name",
    "shop_id",
    "currency",
    "email",
    "products",
    "variants",
    "inventory_items",
    "orders",
    "fulfillment_orders",
    "fulfillments",
    "webhooks",
    "emails",
    "location_id",
    "is_installed",
    "is_customer_data_redacted",
    "is_destination_shared",
    "publications",
    "idempotency",
)
# What a webhook body keeps of an address when the app may not read addresses (the region,
# for taxes and zones); names, streets, cities, postcodes and phones are left out.
UNPROTECTED_ADDRESS_KEYS = ("province", "province_code", "country", "country_code")
# REST financial_status -> the GraphQL OrderDisplayFinancialStatus value.
MANUAL_GATEWAY = "manual"
COD_GATEWAY = "Cash on Delivery (COD)"


def _timestamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def sign_query(params: dict[str, str], secret: str) -> str:
    """The OAuth `hmac`: hex HMAC-SHA256 of the sorted `k=v` pairs joined by `&` (hmac left out)."""
    pairs = []
    for key, value in params.items():
        if key in {"hmac", "signature"}:
            continue
        key = str(key).replace("%", "%25").replace("=", "%3D").replace("&", "%26")
        value = str(value).replace("%", "%25").replace("&", "%26")
        pairs.append(f"{key}={value}")
    message = "&".join(sorted(pairs))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def _admin_host(domain: str) -> str:
    """The `host` parameter: base64 of the shop's admin address, padding removed."""
    admin = f"admin.shopify.com/store/{domain.split('.')[0]}"
    return base64.b64encode(admin.encode()).decode().rstrip("=")


def sign_webhook(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


class ShopifySandbox:
    def __init__(
        self,
        *,
        api_key: str = "dropship-dev-app",
        api_secret: str = "dropship-dev-app-secret",  # noqa: S107 - the dev default
        plan: Plan = STANDARD_PLAN,
        privacy_webhook_url: str = "",
        verbose: bool = False,
        state_file: StateFile | None = None,
        clock: Callable[[], float] = time.time,
        supported_versions: tuple[str, ...] = SUPPORTED_VERSIONS,
        webhook_api_version: str = SUPPORTED_VERSIONS[-1],
    ) -> None:
        self.api_key = api_key
        self.supported_versions = tuple(sorted(supported_versions))
        self.webhook_api_version = webhook_api_version
        self.api_secret = api_secret
        self.plan = plan
        self.privacy_webhook_url = privacy_webhook_url
        self.verbose = verbose
        self.shops: dict[str, Shop] = {}
        self.codes: dict[str, tuple[str, str, str]] = {}  # code -> (shop, scope, redirect_uri)
        self.tokens: dict[str, str] = {}  # access token -> shop domain
        self.token_expiry: dict[str, float] = {}  # expiring access token -> clock() it dies
        # refresh token -> {shop, expires_at, parent, child, first_used, retired}
        self.refresh_tokens: dict[str, dict[str, Any]] = {}
        self.expiring_required = False  # refuse non-expiring offline tokens (from 2027-01-01)
        # exchanged non-expiring token -> {shop, at, access_token, refresh_token}
        self.migrations: dict[str, dict[str, Any]] = {}
        self.exchange_refused: set[str] = set()  # shops whose token exchanges answer 400
        self.token_requests: list[tuple[str, str]] = []  # (shop, grant type) the endpoint took
        self.calls: list[CallRecord] = []
        self.deliveries: list[Delivery] = []
        self.injected: dict[str, list[Response]] = {}
        self.down_until: dict[str, float] = {}  # shop -> clock() time it comes back
        self.lost_answers: dict[tuple[str, str], int] = {}  # (shop, root field) -> answers to drop
        self.silenced: set[str] = set()  # shops whose webhooks are not delivered (orders still are)
        self.sales_during_sets: dict[tuple[str, str], int] = {}  # (shop, item) -> sets left
        self.lock = threading.RLock()
        self.clock = clock
        self._last_id = 1000000
        self.storefront = ShopifyStorefront(self)  # the shopper pages: /{shop}/storefront/
        self.state_file = state_file
        if state_file is not None:
            self._restore(state_file.load())

    # --- state helpers for tests and the demo --------------------------------------------------
    def next_id(self) -> int:
        with self.lock:
            self._last_id += 1
            return self._last_id

    def now(self) -> str:
        return _timestamp(self.clock())

    def snapshot(self) -> dict[str, Any]:
        """What a restart keeps: the shops with their products and orders, the tokens, the ids."""
        with self.lock:
            return {
                "last_id": self._last_id,
                "tokens": self.tokens,
                "token_expiry": self.token_expiry,
                "refresh_tokens": self.refresh_tokens,
                "migrations": self.migrations,
                "shops": [
                    {
                        **{name: getattr(shop, name) for name in SAVED_SHOP_FIELDS},
                        "plan": vars(shop.plan),
                    }
                    for shop in self.shops.values()
                ],
            }

    def _restore(self, state: dict[str, Any] | None) -> None:
        if state is None:
            return
        self._last_id = state["last_id"]
        self.tokens = state["tokens"]
        self.token_expiry = state.get("token_expiry", {})
        self.refresh_tokens = state.get("refresh_tokens", {})
        self.migrations = state.get("migrations", {})
        for saved in state["shops"]:
            plan = Plan(**saved.pop("plan"))
            shop = Shop(**saved, plan=plan, bucket=Bucket(plan, self.clock))
            if not shop.publications:  # a state file from before sales channels were modelled
                shop.publications = {f"gid://shopify/Publication/{self.next_id()}": ONLINE_STORE}
                for product in shop.products.values():
                    product.setdefault("publication_ids", list(shop.publications))
            self.shops[saved["domain"]] = shop

    def save_state(self) -> None:
        if self.state_file is not None:
            with self.lock:
                self.state_file.save(self.snapshot())

    def add_shop(self, domain: str, *, name: str = "", currency: str = "USD") -> Shop:
        with self.lock:
            shop = self.shops.get(domain)
            if shop is None:
                shop = Shop(
                    domain=domain,
                    name=name or domain.split(".")[0].replace("-", " ").title(),
                    shop_id=self.next_id(),
                    currency=currency,
                    plan=self.plan,
                )
                shop.location_id = f"gid://shopify/Location/{self.next_id()}"
                for channel in (ONLINE_STORE, "Point of Sale"):
                    shop.publications[f"gid://shopify/Publication/{self.next_id()}"] = channel
                shop.bucket = Bucket(self.plan, self.clock)
                self.shops[domain] = shop
            return shop

    def shop(self, domain: str) -> Shop:
        return self.shops[domain]

    def issue_token(self, domain: str) -> str:
        """An access token as if the app had been installed (for tests that skip OAuth)."""
        with self.lock:
            shop = self.add_shop(domain)
            shop.is_installed = True
            token = "shpat_" + secrets.token_hex(16)
            self.tokens[token] = domain
            return token

    def issue_expiring_token(self, domain: str, *, parent: str = "") -> dict[str, Any]:
        """An expiring access token with its refresh token, in the token endpoint's shape."""
        with self.lock:
            token = self.issue_token(domain)
            now = self.clock()
            self.token_expiry[token] = now + ACCESS_TOKEN_SECONDS
            refresh_token = "shprt_" + secrets.token_hex(16)
            self.refresh_tokens[refresh_token] = {
                "shop": domain,
                "expires_at": now + REFRESH_TOKEN_SECONDS,
                "parent": parent,
                "child": "",
                "first_used": None,
                "retired": False,
            }
            return {
                "access_token": token,
                "expires_in": ACCESS_TOKEN_SECONDS,
                "refresh_token": refresh_token,
                "refresh_token_expires_in": REFRESH_TOKEN_SECONDS,
            }

    def revoke_tokens(self, domain: str) -> None:
        with self.lock:
            for token in [t for t, d in self.tokens.items() if d == domain]:
                del self.tokens[token]
                self.token_expiry.pop(token, None)
            self.revoke_refresh_tokens(domain)

    def expire_access_tokens(self, domain: str) -> None:
        """Every access token of the shop is past its expiry now (refresh tokens still work)."""
        with self.lock:
            now = self.clock()
            for token in [t for t, d in self.tokens.items() if d == domain]:
                self.token_expiry[token] = min(self.token_expiry.get(token, now), now)

    def revoke_refresh_tokens(self, domain: str) -> None:
        """The shop's refresh tokens stop working (as when their 90 days are over)."""
        with self.lock:
            for entry in self.refresh_tokens.values():
                if entry["shop"] == domain:
                    entry["retired"] = True

    def require_expiring_tokens(self, required: bool = True) -> None:
        """Refuse API calls made with non-expiring offline tokens, as Shopify does for public
        apps from January 1, 2027."""
        with self.lock:
            self.expiring_required = required

    def refuse_token_exchange(self, domain: str, refused: bool = True) -> None:
        """The shop's token exchanges answer 400 (the old token keeps working)."""
        with self.lock:
            if refused:
                self.exchange_refused.add(domain)
            else:
                self.exchange_refused.discard(domain)

    def exchanges(self, domain: str) -> int:
        """How many token exchanges the shop's token endpoint was asked for."""
        return sum(
            1
            for shop, grant in self.token_requests
            if (shop, grant) == (domain, TOKEN_EXCHANGE_GRANT)
        )

    def refreshes(self, domain: str) -> int:
        """How many refresh grants the shop's token endpoint was asked for."""
        return sum(
            1 for shop, grant in self.token_requests if (shop, grant) == (domain, "refresh_token")
        )

    def live_refresh_tokens(self, domain: str) -> list[str]:
        """The refresh tokens of the shop that a refresh grant would still accept."""
        with self.lock:
            return [rt for rt in self.refresh_tokens if self._refresh_error(rt, domain) is None]

    def _token_is_valid(self, token: str, domain: str) -> bool:
        if self.tokens.get(token) != domain:
            return False
        expires_at = self.token_expiry.get(token)
        if expires_at is None:
            return not self.expiring_required
        return self.clock() < expires_at

    def _refresh_error(self, refresh_token: str, domain: str) -> str | None:
        entry = self.refresh_tokens.get(refresh_token)
        now = self.clock()
        if entry is None or entry["shop"] != domain or entry["retired"]:
            return "The refresh token is invalid or has been revoked."
        if now >= entry["expires_at"]:
            return "The refresh token has expired."
        if entry["first_used"] is not None and now - entry["first_used"] > REFRESH_RECOVERY_SECONDS:
            return "The refresh token was already exchanged."
        return None

    def _exchange(self, domain: str, params: dict[str, Any]) -> Response:
        """The token exchange grant, for migrating a non-expiring offline token only."""

        def refused(description: str, error: str = "invalid_grant") -> Response:
            return Response.json({"error": error, "error_description": description}, status=400)

        if (
            params.get("subject_token_type") != OFFLINE_TOKEN_TYPE
            or params.get("requested_token_type") != OFFLINE_TOKEN_TYPE
            or str(params.get("expiring", "")) != "1"
        ):
            return refused("Unsupported token exchange.", error="invalid_request")
        subject = str(params.get("subject_token", ""))
        with self.lock:
            if domain in self.exchange_refused:
                return refused("Token exchange is not available for this app.", "invalid_request")
            now = self.clock()
            done = self.migrations.get(subject)
            if done is not None and done["shop"] == domain:
                pair = self.refresh_tokens.get(done["refresh_token"], {})
                recoverable = (
                    now - done["at"] <= MIGRATION_RECOVERY_SECONDS
                    and pair.get("first_used") is None
                    and not pair.get("retired")
                    and done["access_token"] in self.tokens
                )
                if not recoverable:
                    return refused("The subject token was already exchanged.")
                self.token_expiry[done["access_token"]] = now + ACCESS_TOKEN_SECONDS
                answer = {
                    "access_token": done["access_token"],
                    "expires_in": ACCESS_TOKEN_SECONDS,
                    "refresh_token": done["refresh_token"],
                    "refresh_token_expires_in": int(pair["expires_at"] - now),
                    "scope": pair.get("scope", ""),
                }
            else:
                if (
                    self.tokens.get(subject) != domain
                    or subject in self.token_expiry
                    or self.expiring_required
                ):
                    return refused("The subject token is invalid.")
                del self.tokens[subject]  # the non-expiring token is no good for the API now
                answer = {**self.issue_expiring_token(domain), "scope": ""}
                self.migrations[subject] = {
                    "shop": domain,
                    "at": now,
                    "access_token": answer["access_token"],
                    "refresh_token": answer["refresh_token"],
                }
        if self._answer_lost(domain, "token_exchange"):
            return Response.lost()
        return Response.json(answer)

    def _refresh(self, domain: str, refresh_token: str) -> Response:
        with self.lock:
            error = self._refresh_error(refresh_token, domain)
            if error is not None:
                return Response.json(
                    {"error": "invalid_grant", "error_description": error}, status=400
                )
            entry = self.refresh_tokens[refresh_token]
            if entry["parent"]:  # its replacement is in use: the one before it retires
                self.refresh_tokens[entry["parent"]]["retired"] = True
            if entry["child"]:  # used again: the replacement issued before never comes into use
                self.refresh_tokens[entry["child"]]["retired"] = True
            if entry["first_used"] is None:
                entry["first_used"] = self.clock()
            grant = self.issue_expiring_token(domain, parent=refresh_token)
            entry["child"] = grant["refresh_token"]
            self.refresh_tokens[grant["refresh_token"]]["scope"] = entry.get("scope", "")
            return Response.json({**grant, "scope": entry.get("scope", "")})

    def set_plan(self, domain: str, plan: Plan, *, currently_available: float | None = None):
        with self.lock:
            shop = self.add_shop(domain)
            shop.bucket = Bucket(plan, self.clock)
            if currently_available is not None:
                shop.bucket.available = currently_available

    def throttle_to(self, domain: str, *, calls_per_second: float, call_cost: float) -> None:
        """Let the shop take `calls_per_second` calls of `call_cost` points: a bucket that holds
        one call and refills at that rate (answers keep carrying the throttle status)."""
        self.set_plan(
            domain,
            Plan(maximum_available=call_cost, restore_rate=call_cost * calls_per_second),
        )

    def set_supported_versions(self, *versions: str) -> None:
        """Which stable API versions Shopify still serves; any other is served by the oldest."""
        with self.lock:
            self.supported_versions = tuple(sorted(versions))

    def served_version(self, requested: str) -> str:
        """The version that answers a request for `requested`: itself while supported, else the
        oldest supported one (Shopify falls forward rather than refusing)."""
        return requested if requested in self.supported_versions else self.supported_versions[0]

    def take_down(self, domain: str, *, seconds: float) -> None:
        """The shop answers 503 to every API call for the next `seconds`."""
        with self.lock:
            self.down_until[domain] = self.clock() + seconds

    def bring_up(self, domain: str) -> None:
        with self.lock:
            self.down_until.pop(domain, None)

    def silence_webhooks(self, domain: str, *, is_silenced: bool = True) -> None:
        """Stop (or resume) delivering the shop's webhooks: events happen, nothing is sent, as
        when Shopify's deliveries to the app fail or its subscriptions were removed."""
        with self.lock:
            (self.silenced.add if is_silenced else self.silenced.discard)(domain)

    def drop_subscriptions(self, domain: str, *topics: str) -> list[dict]:
        """Remove the shop's subscriptions to `topics` (all when none are named), as Shopify does
        after its deliveries kept failing; returns what was removed."""
        shop = self.shops[domain]
        with self.lock:
            dropped = [
                s for s in shop.webhooks.values() if not topics or TOPIC_NAMES[s["topic"]] in topics
            ]
            for subscription in dropped:
                shop.webhooks.pop(subscription["id"])
        return dropped

    def touch_order(self, order: dict) -> None:
        """An order changed: its updatedAt moves (the orders query sorts and filters by it)."""
        order["updated_at"] = self.now()

    def redact_customer_data(self, domain: str, *, destination_shared: bool = False) -> None:
        """The app lacks level 2 protected customer data access on this shop: webhooks and the
        API withhold names, addresses, e-mails and phones, as Shopify does. With
        `destination_shared` the fulfillment orders' destination still carries the address."""
        with self.lock:
            shop = self.add_shop(domain)
            shop.is_customer_data_redacted = True
            shop.is_destination_shared = destination_shared

    def share_customer_data(self, domain: str) -> None:
        with self.lock:
            shop = self.add_shop(domain)
            shop.is_customer_data_redacted = shop.is_destination_shared = False

    def set_available(self, domain: str, inventory_item_id: str, quantity: int) -> None:
        """Change a quantity behind Dropship's back (a merchant editing it in the admin)."""
        with self.lock:
            shop = self.shops[domain]
            shop.inventory_items[inventory_item_id]["levels"][shop.location_id]["available"] = (
                quantity
            )

    def inject(self, domain: str, *responses: Response) -> None:
        """Answer the next GraphQL calls for `domain` with these responses (429, 500, 401...)."""
        with self.lock:
            self.injected.setdefault(domain, []).extend(responses)

    def lose_answers(self, domain: str, operation: str, count: int = 1) -> None:
        """Run the next `count` calls of `operation` (a root field such as "productSet") to the
        end, then drop the connection before answering: the write happened, the caller cannot
        know it did."""
        with self.lock:
            self.lost_answers[(domain, operation)] = count

    def sell_during_sets(self, domain: str, inventory_item_id: str, count: int = 1) -> None:
        """Before each of the next `count` inventorySetQuantities calls of the shop, a shopper
        buys one unit of this item: the quantity moves while Dropship sets it."""
        with self.lock:
            self.sales_during_sets[(domain, inventory_item_id)] = count

    def _sell_before_set(self, shop: Shop) -> None:
        with self.lock:
            for (domain, item_id), left in list(self.sales_during_sets.items()):
                if domain != shop.domain or left <= 0:
                    continue
                self.sales_during_sets[(domain, item_id)] = left - 1
                level = shop.inventory_items[item_id]["levels"][shop.location_id]
                level["available"] = max(0, int(level.get("available", 0)) - 1)

    def _answer_lost(self, domain: str, operation: str) -> bool:
        with self.lock:
            left = self.lost_answers.get((domain, operation), 0)
            if left <= 0:
                return False
            self.lost_answers[(domain, operation)] = left - 1
            return True

    def launch_query(self, domain: str, *, timestamp: float | None = None) -> dict[str, str]:
        """What Shopify appends to the app URL when a merchant installs or opens the app: the
        shop, the admin host, a timestamp and the HMAC of them (shopify.dev "Implement
        authorization code grant manually", step 1)."""
        query = {
            "host": _admin_host(domain),
            "shop": domain,
            "timestamp": str(int(self.clock() if timestamp is None else timestamp)),
        }
        query["hmac"] = sign_query(query, self.api_secret)
        return query

    def rejected_calls(self, domain: str | None = None) -> list[CallRecord]:
        return [c for c in self.calls if c.is_rejected and (domain is None or c.shop == domain)]

    def calls_for(self, domain: str, operation: str | None = None) -> list[CallRecord]:
        return [
            c
            for c in self.calls
            if c.shop == domain and (operation is None or c.operation == operation)
        ]

    # --- HTTP --------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        response = self._route(request)
        self.save_state()
        return response

    def _route(self, request: Request) -> Response:
        parts = request.path.strip("/").split("/")
        if len(parts) >= 2 and parts[1] == "storefront" and parts[0] in self.shops:
            return self.storefront.handle(request, parts[0], parts[2:])
        if parts[:2] == ["_sandbox", "shops"] and len(parts) == 4 and request.method == "POST":
            return self._control(request, parts[2], parts[3])
        if len(parts) >= 4 and parts[1:4] == ["admin", "oauth", "authorize"]:
            return self._authorize(request, parts[0])
        if len(parts) >= 4 and parts[1:4] == ["admin", "oauth", "access_token"]:
            return self._access_token(request, parts[0])
        if len(parts) == 5 and parts[1:3] == ["admin", "api"] and parts[4] == "graphql.json":
            version = self.served_version(parts[3])
            response = self._graphql(request, parts[0], version)
            response.headers["X-Shopify-API-Version"] = version
            return response
        if request.path in {"", "/"}:
            return Response.html(f"<h1>Shopify sandbox</h1><p>Shops: {len(self.shops)}</p>")
        return Response.json({"errors": "Not Found"}, status=404)

    def _control(self, request: Request, domain: str, action: str) -> Response:
        """Sandbox-only calls for the demo: install without a browser, place an order, uninstall."""
        if not domain.endswith(".myshopify.com"):
            return Response.json({"error": "not a myshopify.com domain"}, status=400)
        if action == "token":
            options = request.json() or {}
            self.add_shop(domain, name=options.get("name", ""))
            if options.get("expiring"):
                return Response.json({**self.issue_expiring_token(domain), "scope": ""}, status=201)
            return Response.json(
                {"access_token": self.issue_token(domain), "scope": ""}, status=201
            )
        if domain not in self.shops:
            return Response.json({"error": "unknown shop"}, status=404)
        if action == "expire-tokens":
            self.expire_access_tokens(domain)
            return Response.json({"expired": domain})
        if action == "revoke-refresh-tokens":
            self.revoke_refresh_tokens(domain)
            return Response.json({"revoked": domain})
        if action == "orders":
            data = request.json() or {}
            order = self.create_order(
                domain,
                lines=data.get("lines", []),
                financial_status=data.get("financial_status", "paid"),
                gateway=data.get("gateway", "bogus"),
            )
            return Response.json(self.order_payload(self.shops[domain], order), status=201)
        if action == "uninstall":
            self.uninstall(domain)
            return Response.json({"uninstalled": domain})
        return Response.json({"error": "unknown action"}, status=404)

    def _authorize(self, request: Request, domain: str) -> Response:
        params = request.query_dict if request.method == "GET" else request.form()
        if params.get("client_id") != self.api_key:
            return Response.html(
                "<h1>Oauth error invalid_request: The app couldn't be found</h1>", 400
            )
        redirect_uri = params.get("redirect_uri", "")
        if not redirect_uri.startswith(("http://", "https://")):
            return Response.html(
                "<h1>Oauth error invalid_request: redirect_uri is missing</h1>", 400
            )
        if not domain.endswith(".myshopify.com"):
            return Response.html("<h1>There is no store at this address</h1>", 404)
        shop = self.add_shop(domain)
        if request.method == "GET":
            hidden = "".join(
                f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
                for k, v in params.items()
            )
            scopes = ", ".join(html.escape(s) for s in params.get("scope", "").split(",") if s)
            return Response.html(
                f"""<!doctype html><html lang="en"><head><title>Install app</title></head><body>
<main><h1>Install Dropship on {html.escape(shop.name)}</h1>
<p>{html.escape(domain)} · sandbox</p><p>The app asks for: {scopes}</p>
<form method="post">{hidden}<button type="submit" name="decision" value="install">Install app</button>
<button type="submit" name="decision" value="cancel">Cancel</button></form></main></body></html>"""
            )
        if params.get("decision") == "cancel":
            return Response.redirect(redirect_uri + "?" + urlencode({"error": "access_denied"}))
        code = secrets.token_hex(16)
        with self.lock:
            self.codes[code] = (domain, params.get("scope", ""), redirect_uri)
        query = {
            "code": code,
            "host": _admin_host(domain),
            "shop": domain,
            "state": params.get("state", ""),
            "timestamp": str(int(self.clock())),
        }
        query["hmac"] = sign_query(query, self.api_secret)
        separator = "&" if "?" in redirect_uri else "?"
        return Response.redirect(redirect_uri + separator + urlencode(query))

    def _access_token(self, request: Request, domain: str) -> Response:
        content_type = request.headers.get("content-type", "")
        params = request.json() if "json" in content_type else request.form()
        params = params or {}
        if params.get("client_id") != self.api_key or not hmac.compare_digest(
            str(params.get("client_secret", "")), self.api_secret
        ):
            return Response.json(
                {"error": "invalid_client", "error_description": "Client credentials are invalid"},
                status=401,
            )
        grant_type = str(params.get("grant_type") or "authorization_code")
        with self.lock:
            self.token_requests.append((domain, grant_type))
        if grant_type == "refresh_token":
            return self._refresh(domain, str(params.get("refresh_token", "")))
        if grant_type == TOKEN_EXCHANGE_GRANT:
            return self._exchange(domain, params)
        with self.lock:
            grant = self.codes.pop(str(params.get("code", "")), None)
        if grant is None or grant[0] != domain:
            return Response.json(
                {
                    "error": "invalid_request",
                    "error_description": "The authorization code was not found or was already used",
                },
                status=400,
            )
        if str(params.get("expiring", "")) == "1":
            issued = self.issue_expiring_token(domain)
            self.refresh_tokens[issued["refresh_token"]]["scope"] = grant[1]
            return Response.json({**issued, "scope": grant[1]})
        token = self.issue_token(domain)
        return Response.json({"access_token": token, "scope": grant[1]})

    def _graphql(self, request: Request, domain: str, version: str) -> Response:
        token = request.headers.get("x-shopify-access-token", "")
        with self.lock:
            known = self._token_is_valid(token, domain)
            injected = self.injected.get(domain)
            forced = injected.pop(0) if injected else None
            if forced is None and self.down_until.get(domain, 0) > self.clock():
                forced = Response.json({"errors": "Service Unavailable"}, status=503)
        if forced is not None:
            self.calls.append(CallRecord(domain, "injected", forced.status, False, 0, None))
            return forced
        if not known:
            self.calls.append(CallRecord(domain, "unauthorized", 401, False, 0, None))
            return Response.json(UNAUTHORIZED_BODY, status=401)
        shop = self.shops[domain]
        try:
            payload = request.json() or {}
            document = parse(payload["query"])
        except (ValueError, KeyError, TypeError, GraphQLError) as exc:
            self.calls.append(CallRecord(domain, "invalid", 400, False, 0, None, error=str(exc)))
            return Response.json({"errors": [{"message": f"Parse error: {exc}"}]}, status=400)
        variables = payload.get("variables") or {}
        schema = schema_for(version)
        errors = validate(schema, document)
        operation = _operation(document)
        op_name = _root_fields(operation) if operation else "invalid"
        if errors or operation is None:
            message = errors[0].message if errors else "No operation"
            self.calls.append(
                CallRecord(domain, op_name, 200, False, 0, None, error=message, api_version=version)
            )
            return Response.json(
                {"errors": [e.formatted for e in errors] or [{"message": message}]}
            )
        too_big = _oversized_input(operation, variables)
        if too_big:
            self.calls.append(CallRecord(domain, op_name, 200, False, 0, None, error=too_big))
            return Response.json(
                {
                    "errors": [
                        {"message": too_big, "extensions": {"code": "MAX_INPUT_SIZE_EXCEEDED"}}
                    ]
                }
            )
        fragments = {
            d.name.value: d
            for d in document.definitions
            if hasattr(d, "selection_set") and d.__class__.__name__ == "FragmentDefinitionNode"
        }
        root_type = (
            schema.mutation_type
            if operation.operation == OperationType.MUTATION
            else schema.query_type
        )
        requested = _cost(
            operation.selection_set,
            root_type,
            variables,
            fragments,
            None,
            root=True,
            is_mutation=operation.operation == OperationType.MUTATION,
        )
        with self.lock:
            bucket = shop.bucket
            bucket.refill()
            if requested > MAX_QUERY_COST:
                self.calls.append(
                    CallRecord(
                        domain, op_name, 200, False, requested, None, error="MAX_COST_EXCEEDED"
                    )
                )
                return Response.json(
                    {
                        "errors": [
                            {
                                "message": f"Query cost is {requested}, which exceeds the single query max cost limit ({MAX_QUERY_COST}).",
                                "extensions": {
                                    "code": "MAX_COST_EXCEEDED",
                                    "cost": requested,
                                    "maxCost": MAX_QUERY_COST,
                                },
                            }
                        ],
                        "extensions": {
                            "cost": {
                                "requestedQueryCost": requested,
                                "actualQueryCost": None,
                                "throttleStatus": bucket.status(),
                            }
                        },
                    }
                )
            if requested > bucket.available:
                self.calls.append(
                    CallRecord(
                        domain,
                        op_name,
                        200,
                        True,
                        requested,
                        None,
                        variables=variables,
                        api_version=version,
                    )
                )
                return Response.json(
                    {
                        "errors": [
                            {
                                "message": "Throttled",
                                "extensions": {
                                    "code": "THROTTLED",
                                    "documentation": "https://shopify.dev/api/usage/rate-limits",
                                },
                            }
                        ],
                        "extensions": {
                            "cost": {
                                "requestedQueryCost": requested,
                                "actualQueryCost": None,
                                "throttleStatus": bucket.status(),
                            }
                        },
                    }
                )
            context = {"shop": shop, "sandbox": self, "version": version}
            result = execute(
                schema,
                document,
                root_value=_Root(self, shop),
                context_value=context,
                variable_values=variables,
            )
            actual = _cost(
                operation.selection_set,
                root_type,
                variables,
                fragments,
                result.data,
                root=True,
                is_mutation=operation.operation == OperationType.MUTATION,
            )
            bucket.available = max(0.0, bucket.available - actual)
            body: dict[str, Any] = {"data": result.data}
            if result.errors:
                body["errors"] = [e.formatted for e in result.errors]
            body["extensions"] = {
                "cost": {
                    "requestedQueryCost": requested,
                    "actualQueryCost": actual,
                    "throttleStatus": bucket.status(),
                }
            }
            self.calls.append(
                CallRecord(
                    domain,
                    op_name,
                    200,
                    False,
                    requested,
                    actual,
                    error=body["errors"][0]["message"] if result.errors else "",
                    variables=variables,
                    api_version=version,
                )
            )
        if self._answer_lost(domain, op_name):
            return Response.lost()
        return Response.json(body)

    # --- webhooks ------------------------------------------------------------------------------
    def webhook_headers(
        self, shop: Shop, topic: str, body: bytes, *, event_id: str = "", webhook_id: str = ""
    ) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": sign_webhook(body, self.api_secret),
            "X-Shopify-Shop-Domain": shop.domain,
            "X-Shopify-API-Version": self.webhook_api_version,
            "X-Shopify-Webhook-Id": webhook_id or secrets.token_hex(8) + "-" + secrets.token_hex(4),
            "X-Shopify-Event-Id": event_id or secrets.token_hex(8) + "-" + secrets.token_hex(4),
            "X-Shopify-Triggered-At": self.now(),
            "User-Agent": "Shopify-Captain-Hook",
        }

    def deliver(
        self, domain: str, topic: str, payload: dict, *, event_id: str = ""
    ) -> list[Delivery]:
        """Send `topic` to every subscription of the shop, as Shopify would (signed, real headers)."""
        shop = self.shops[domain]
        body = json.dumps(payload).encode()
        event_id = event_id or secrets.token_hex(8)
        results: list[Delivery] = []
        if domain in self.silenced:
            return results
        for subscription in list(shop.webhooks.values()):
            if TOPIC_NAMES[subscription["topic"]] != topic:
                continue
            headers = self.webhook_headers(
                shop, topic, body, event_id=event_id, webhook_id=secrets.token_hex(8)
            )
            status, error = post(subscription["callbackUrl"], body, headers)
            delivery = Delivery(subscription["callbackUrl"], topic, status, body, headers, error)
            self.deliveries.append(delivery)
            results.append(delivery)
        return results

    def deliver_privacy(self, domain: str, topic: str, payload: dict) -> Delivery:
        """The mandatory compliance topics go to the URL set in the app's configuration."""
        shop = self.shops[domain]
        body = json.dumps(payload).encode()
        headers = self.webhook_headers(shop, topic, body)
        status, error = post(self.privacy_webhook_url, body, headers)
        delivery = Delivery(self.privacy_webhook_url, topic, status, body, headers, error)
        self.deliveries.append(delivery)
        return delivery

    def uninstall(self, domain: str) -> list[Delivery]:
        shop = self.shops[domain]
        payload = self.shop_payload(shop)
        deliveries = self.deliver(domain, "app/uninstalled", payload)
        self.revoke_tokens(domain)
        shop.is_installed = False
        shop.webhooks.clear()
        return deliveries

    def shop_payload(self, shop: Shop) -> dict:
        return {
            "id": shop.shop_id,
            "name": shop.name,
            "email": shop.email,
            "domain": shop.domain,
            "myshopify_domain": shop.domain,
            "currency": shop.currency,
            "plan_name": "basic",
        }

    # --- orders ------------------------------------------------------------------------------
    def create_order(
        self,
        domain: str,
        *,
        lines: list[dict],
        email: str = "bob.norman@example.com",
        first_name: str = "Bob",
        last_name: str = "Norman",
        address: dict | None = None,
        deliver: bool = True,
        financial_status: str = "paid",
        gateway: str = "bogus",
        fulfillment_orders: int = 1,
        billing_address: dict | None = None,
    ) -> dict:
        """Place an order for variants of the shop (lines: {"sku"|"variant_id", "quantity"}).
        Unpaid orders: financial_status "pending" (with gateway COD_GATEWAY or MANUAL_GATEWAY
        for cash on delivery or a manual payment method) or "authorized" (a card payment not
        captured); `mark_paid` captures it. Its lines are dealt round-robin into
        `fulfillment_orders` fulfillment orders (one per location in Shopify)."""
        shop = self.shops[domain]
        with self.lock:
            order_number = 1000 + len(shop.orders) + 1
            order_id = self.next_id()
            address = address or {
                "address1": "Chestnut Street 92",
                "address2": "",
                "city": "Louisville",
                "province": "Kentucky",
                "province_code": "KY",
                "zip": "40202",
                "country": "United States",
                "country_code": "US",
                "phone": "555-625-1199",
                "company": None,
            }
            line_items = []
            for line in lines:
                variant = (
                    shop.variants[line["variant_id"]]
                    if "variant_id" in line
                    else next(v for v in shop.variants.values() if v["sku"] == line["sku"])
                )
                product = shop.products[variant["product_id"]]
                line_items.append(
                    {
                        "gid": f"gid://shopify/LineItem/{self.next_id()}",
                        "variant_id": variant["id"],
                        "product_id": product["id"],
                        "sku": variant["sku"],
                        "title": product["title"],
                        "variant_title": variant["title"],
                        "quantity": int(line["quantity"]),
                        "price": str(variant["price"]),
                    }
                )
            total = sum(Decimal(li["price"]) * li["quantity"] for li in line_items)
            order = {
                "id": f"gid://shopify/Order/{order_id}",
                "legacy_id": order_id,
                "name": f"#{order_number}",
                "number": order_number,
                "email": email,
                "note": None,
                "created_at": self.now(),
                "updated_at": self.now(),
                "cancelled_at": None,
                "currency": shop.currency,
                "customer": {
                    "id": f"gid://shopify/Customer/{self.next_id()}",
                    "first_name": first_name,
                    "last_name": last_name,
                    "email": email,
                },
                "shipping_address": {
                    "first_name": first_name,
                    "last_name": last_name,
                    "name": f"{first_name} {last_name}",
                    **address,
                },
                # The card's address: the shipping address unless the shopper gave another.
                "billing_address": {
                    "first_name": first_name,
                    "last_name": last_name,
                    "name": f"{first_name} {last_name}",
                    **address,
                    **(billing_address or {}),
                },
                "line_items": line_items,
                "total_price": str(total),
                "financial_status": financial_status,
                "payment_gateway_names": [gateway],
                "refunds": [],
                "fulfillment_order_ids": [],
                "fulfillment_ids": [],
            }
            count = max(1, min(fulfillment_orders, len(line_items) or 1))
            for index in range(count):
                fulfillment_order_id = f"gid://shopify/FulfillmentOrder/{self.next_id()}"
                shop.fulfillment_orders[fulfillment_order_id] = {
                    "id": fulfillment_order_id,
                    "order_id": order["id"],
                    "status": "OPEN",
                    "fulfill_at": None,
                    "holds": [],
                    "line_items": [
                        {
                            "id": f"gid://shopify/FulfillmentOrderLineItem/{self.next_id()}",
                            "line_item_id": li["gid"],
                            "totalQuantity": li["quantity"],
                            "remainingQuantity": li["quantity"],
                        }
                        for li in line_items[index::count]
                    ],
                }
                order["fulfillment_order_ids"].append(fulfillment_order_id)
            shop.orders[order["id"]] = order
        if deliver:
            self.deliver(domain, "orders/create", self.order_payload(shop, order))
        return order

    def mark_paid(self, domain: str, order_id: str) -> dict:
        """The merchant captures the payment (or marks a manual payment as received): Shopify
        sends orders/paid, then orders/updated, each carrying the whole order."""
        shop = self.shops[domain]
        with self.lock:
            order = shop.orders[order_id]
            order["financial_status"] = "paid"
            self.touch_order(order)
        payload = self.order_payload(shop, order)
        self.deliver(domain, "orders/paid", payload)
        self.deliver(domain, "orders/updated", payload)
        return order

    def refund_lines(
        self,
        domain: str,
        order_id: str,
        lines: list[tuple[str, int]],
        *,
        restock_type: str = "cancel",
    ) -> dict:
        """Refund `lines` ((line item gid, quantity)) of an order: refunds/create carries the
        REST Refund resource (refund_line_items with line_item_id, quantity, restock_type),
        then orders/updated the order with its new financial_status."""
        shop = self.shops[domain]
        with self.lock:
            order = shop.orders[order_id]
            items = {li["gid"]: li for li in order["line_items"]}
            refund_id = self.next_id()
            refund_line_items = []
            for line_gid, quantity in lines:
                item = items[line_gid]
                refund_line_items.append(
                    {
                        "id": self.next_id(),
                        "line_item_id": _legacy(line_gid),
                        "quantity": quantity,
                        "restock_type": restock_type,
                        "location_id": int(_legacy(shop.location_id))
                        if restock_type != "no_restock"
                        else None,
                        "subtotal": str(Decimal(item["price"]) * quantity),
                        "total_tax": "0.00",
                        "line_item": {
                            "id": int(_legacy(line_gid)),
                            "variant_id": int(_legacy(item["variant_id"])),
                            "sku": item["sku"],
                            "quantity": item["quantity"],
                            "price": item["price"],
                        },
                    }
                )
                if restock_type == "cancel":
                    for fo_id in order["fulfillment_order_ids"]:
                        for foli in shop.fulfillment_orders[fo_id]["line_items"]:
                            if foli["line_item_id"] == line_gid:
                                foli["remainingQuantity"] = max(
                                    0, foli["remainingQuantity"] - quantity
                                )
            refund = {
                "id": refund_id,
                "admin_graphql_api_id": f"gid://shopify/Refund/{refund_id}",
                "order_id": order["legacy_id"],
                "created_at": self.now(),
                "processed_at": self.now(),
                "note": None,
                "restock": restock_type != "no_restock",
                "user_id": None,
                "refund_line_items": refund_line_items,
                "transactions": [],
                "order_adjustments": [],
            }
            order["refunds"].append(refund)
            refunded = sum(
                rli["quantity"] for r in order["refunds"] for rli in r["refund_line_items"]
            )
            total = sum(li["quantity"] for li in order["line_items"])
            order["financial_status"] = "refunded" if refunded >= total else "partially_refunded"
            self.touch_order(order)
        self.deliver(domain, "refunds/create", refund)
        self.deliver(domain, "orders/updated", self.order_payload(shop, order))
        return refund

    # --- fulfillment holds (shopify.dev FulfillmentOrder: ON_HOLD with fulfillmentHolds,
    # SCHEDULED with fulfillAt; fulfillment_orders/hold_released and
    # fulfillment_orders/scheduled_fulfillment_order_ready when they open) ---------------------
    def hold_fulfillment_order(
        self, domain: str, fulfillment_order_id: str, *, reason: str = "OTHER", notes: str = ""
    ) -> dict:
        """The merchant (or an app) puts a fulfillment order on hold: nothing in it can be
        fulfilled until every hold is released."""
        if reason not in HOLD_REASONS:
            raise ValueError(f"Unknown fulfillment hold reason {reason!r}")
        with self.lock:
            fo = self.shops[domain].fulfillment_orders[fulfillment_order_id]
            fo["holds"].append(
                {
                    "id": f"gid://shopify/FulfillmentHold/{self.next_id()}",
                    "reason": reason,
                    "reasonNotes": notes or None,
                    "displayReason": HOLD_REASONS[reason],
                }
            )
            fo["status"] = "ON_HOLD"
            return fo

    def schedule_fulfillment_order(
        self, domain: str, fulfillment_order_id: str, *, fulfill_at: float
    ) -> dict:
        """A fulfillment order that opens at `fulfill_at` (a clock() time), e.g. a prepaid
        subscription's next delivery."""
        with self.lock:
            fo = self.shops[domain].fulfillment_orders[fulfillment_order_id]
            fo["status"] = "SCHEDULED"
            fo["fulfill_at"] = _timestamp(fulfill_at)
            return fo

    def release_fulfillment_hold(self, domain: str, fulfillment_order_id: str) -> list[Delivery]:
        """Release every hold and send fulfillment_orders/hold_released."""
        with self.lock:
            fo = self.shops[domain].fulfillment_orders[fulfillment_order_id]
            fo["holds"] = []
            fo["status"] = self._open_status(fo)
        return self._deliver_fulfillment_order(domain, "fulfillment_orders/hold_released", fo)

    def open_scheduled_fulfillment_order(
        self, domain: str, fulfillment_order_id: str
    ) -> list[Delivery]:
        """The scheduled time has come: the order opens and
        fulfillment_orders/scheduled_fulfillment_order_ready is sent."""
        with self.lock:
            fo = self.shops[domain].fulfillment_orders[fulfillment_order_id]
            fo["status"] = self._open_status(fo)
            fo["fulfill_at"] = None
        return self._deliver_fulfillment_order(
            domain, "fulfillment_orders/scheduled_fulfillment_order_ready", fo
        )

    @staticmethod
    def _open_status(fo: dict) -> str:
        partly = any(li["remainingQuantity"] < li["totalQuantity"] for li in fo["line_items"])
        return "IN_PROGRESS" if partly else "OPEN"

    def _deliver_fulfillment_order(self, domain: str, topic: str, fo: dict) -> list[Delivery]:
        payload = {"fulfillment_order": {"id": fo["id"], "status": fo["status"].lower()}}
        return self.deliver(domain, topic, payload)

    def cancel_order(self, domain: str, order_id: str) -> dict:
        shop = self.shops[domain]
        order = shop.orders[order_id]
        order["cancelled_at"] = self.now()
        self.touch_order(order)
        for fo_id in order["fulfillment_order_ids"]:
            shop.fulfillment_orders[fo_id]["status"] = "CANCELLED"
        self.deliver(domain, "orders/cancelled", self.order_payload(shop, order))
        return order

    def order_payload(self, shop: Shop, order: dict) -> dict:
        """The order as a webhook body: the REST resource of the subscription's API version,
        with protected customer data withheld when the shop says so."""
        legacy = order["legacy_id"]
        customer = order["customer"]
        payload = {
            "id": legacy,
            "admin_graphql_api_id": order["id"],
            "name": order["name"],
            "order_number": order["number"],
            "number": order["number"] - 1000,
            "email": order["email"],
            "contact_email": order["email"],
            "created_at": order["created_at"],
            "updated_at": order.get("updated_at") or order["created_at"],
            "cancelled_at": order["cancelled_at"],
            "currency": order["currency"],
            "presentment_currency": order["currency"],
            "financial_status": order.get("financial_status", "paid"),
            "gateway": (order.get("payment_gateway_names") or [""])[0],
            "payment_gateway_names": order.get("payment_gateway_names") or [],
            "fulfillment_status": None,
            "total_price": order["total_price"],
            "subtotal_price": order["total_price"],
            "note": order["note"],
            "customer": {
                "id": int(customer["id"].rsplit("/", 1)[1]),
                "admin_graphql_api_id": customer["id"],
                "email": customer["email"],
                "first_name": customer["first_name"],
                "last_name": customer["last_name"],
            },
            "shipping_address": order["shipping_address"],
            "billing_address": order.get("billing_address") or order["shipping_address"],
            "line_items": [
                {
                    "id": int(li["gid"].rsplit("/", 1)[1]),
                    "admin_graphql_api_id": li["gid"],
                    "variant_id": int(li["variant_id"].rsplit("/", 1)[1]),
                    "product_id": int(li["product_id"].rsplit("/", 1)[1]),
                    "sku": li["sku"],
                    "title": li["title"],
                    "variant_title": li["variant_title"],
                    "name": f"{li['title']} - {li['variant_title']}",
                    "quantity": li["quantity"],
                    "price": li["price"],
                    "fulfillable_quantity": li["quantity"],
                    "requires_shipping": True,
                }
                for li in order["line_items"]
            ],
        }
        if shop.is_customer_data_redacted:
            _redact_order_payload(payload)
        return payload


def _redact_order_payload(payload: dict) -> None:
    """Without protected customer data access the body keeps its keys for the shopper's
    contact at null, the customer without names or contact, and of each address only the
    region (a partial address, as Shopify sends it)."""
    for key in ("email", "contact_email", "phone"):
        payload[key] = None
    customer = payload.get("customer") or {}
    for key in ("email", "first_name", "last_name", "phone"):
        customer.pop(key, None)
    for key in ("shipping_address", "billing_address"):
        if payload.get(key):
            payload[key] = {k: payload[key].get(k) for k in UNPROTECTED_ADDRESS_KEYS}


# --- cost analysis -------------------------------------------------------------------------------
def _operation(document) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return operations[0] if len(operations) == 1 else None


def _root_fields(operation: OperationDefinitionNode) -> str:
    """The root field names, each once (aliases of one mutation name one operation)."""
    return ",".join(
        dict.fromkeys(
            s.name.value for s in operation.selection_set.selections if isinstance(s, FieldNode)
        )
    )


def _argument(field: FieldNode, name: str, variables: dict) -> Any:
    for argument in field.arguments:
        if argument.name.value == name:
            return value_from_ast_untyped(argument.value, variables)
    return None


def _unwrap(graphql_type):
    while isinstance(graphql_type, GraphQLNonNull | GraphQLList):
        graphql_type = graphql_type.of_type
    return graphql_type


def _cost(
    selection_set, parent_type, variables, fragments, data, *, root=False, is_mutation=False
) -> int:
    total = 0
    for selection in selection_set.selections if selection_set else []:
        if isinstance(selection, InlineFragmentNode):
            total += _cost(selection.selection_set, parent_type, variables, fragments, data)
            continue
        if isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:
                total += _cost(fragment.selection_set, parent_type, variables, fragments, data)
            continue
        name = selection.name.value
        if name.startswith("__") or not isinstance(parent_type, GraphQLObjectType):
            continue
        field_def = parent_type.fields.get(name)
        if field_def is None:
            continue
        named = get_named_type(field_def.type)
        if is_leaf_type(named):
            continue
        key = selection.alias.value if selection.alias else name
        child_data = data.get(key) if isinstance(data, dict) else None
        if root and is_mutation:
            total += 10 + _cost(selection.selection_set, named, variables, fragments, child_data)
        elif named.name.endswith("Connection"):
            first = _argument(selection, "first", variables) or 0
            per_node = 1
            nodes_data = None
            for sub in selection.selection_set.selections:
                if isinstance(sub, FieldNode) and sub.name.value == "nodes":
                    node_type = _unwrap(named.fields["nodes"].type)
                    if isinstance(child_data, dict):
                        nodes_data = child_data.get("nodes") or []
                    sample = nodes_data[0] if nodes_data else None
                    per_node = 1 + _cost(sub.selection_set, node_type, variables, fragments, sample)
            count = (
                len(nodes_data)
                if isinstance(child_data, dict) and nodes_data is not None
                else int(first)
            )
            total += 2 + count * per_node
        else:
            if isinstance(child_data, list):
                child_data = child_data[0] if child_data else None
            total += 1 + _cost(selection.selection_set, named, variables, fragments, child_data)
    return total


def _oversized_input(operation: OperationDefinitionNode, variables: dict) -> str:
    """Shopify refuses an input array longer than 250 (productSet variants excepted)."""

    def walk(value: Any, path: str) -> str:
        if isinstance(value, list):
            if len(value) > MAX_INPUT_ARRAY and not path.endswith("variants"):
                return f"The input array size of {len(value)} is greater than the maximum allowed of {MAX_INPUT_ARRAY}."
            for item in value:
                found = walk(item, path)
                if found:
                    return found
        elif isinstance(value, dict):
            for key, item in value.items():
                found = walk(item, key)
                if found:
                    return found
        return ""

    return walk(variables, "")


# --- resolvers -----------------------------------------------------------------------------------
def _legacy(gid: str) -> str:
    return gid.rsplit("/", 1)[-1]


def _money(amount: Any, currency: str) -> dict:
    return {"shopMoney": {"amount": str(amount), "currencyCode": currency}}


class _Root:
    """Root value: graphql-core calls these methods for Query and Mutation fields."""

    def __init__(self, sandbox: ShopifySandbox, shop: Shop) -> None:
        self.sandbox = sandbox
        self.shop_state = shop

    # queries
    def shop(self, info) -> dict:
        s = self.shop_state
        return {
            "id": f"gid://shopify/Shop/{s.shop_id}",
            "name": s.name,
            "email": s.email,
            "myshopifyDomain": s.domain,
            "currencyCode": s.currency,
        }

    def locations(self, info, first: int | None = None) -> dict:
        return {
            "nodes": [
                {"id": self.shop_state.location_id, "name": "Shop location", "isActive": True}
            ]
        }

    def product(self, info, id: str) -> dict | None:
        return _product(self.shop_state, id)

    def productVariant(self, info, id: str) -> dict | None:
        return _variant(self.shop_state, id)

    def inventoryItem(self, info, id: str) -> dict | None:
        return _inventory_item(self.shop_state, id)

    def order(self, info, id: str) -> dict | None:
        return _order(self.shop_state, id)

    def orders(
        self,
        info,
        first: int | None = None,
        after: str | None = None,
        query: str | None = None,
        sortKey: str | None = None,
        reverse: bool = False,
    ) -> dict:
        if first is None or not 1 <= first <= MAX_INPUT_ARRAY:
            raise GraphQLError(f"first must be between 1 and {MAX_INPUT_ARRAY}.")
        return _order_page(
            self.shop_state, first=first, after=after, query=query or "", sort_key=sortKey or "ID",
            reverse=reverse, now=self.sandbox.clock(),
        )  # fmt: skip

    def fulfillmentOrder(self, info, id: str) -> dict | None:
        fo = self.shop_state.fulfillment_orders.get(id)
        return None if fo is None else _fulfillment_order(self.shop_state, fo)

    def webhookSubscriptions(self, info, first: int | None = None) -> dict:
        return {"nodes": list(self.shop_state.webhooks.values())[: first or 50]}

    def nodes(self, info, ids: list[str]) -> list[dict | None]:
        if len(ids) > MAX_INPUT_ARRAY:
            raise GraphQLError(f"The ids argument accepts at most {MAX_INPUT_ARRAY} ids.")
        found = []
        for gid in ids:
            item = _inventory_item(self.shop_state, gid)
            found.append({**item, "__typename": "InventoryItem"} if item else None)
        return found

    def publications(self, info, first: int | None = None, catalogType: str | None = None):
        nodes = [
            {
                "id": pid,
                "name": name,
                "catalog": {"__typename": "AppCatalog", "id": f"{pid}/catalog", "title": name},
            }
            for pid, name in self.shop_state.publications.items()
        ]
        return {"nodes": nodes[: first or 250]}

    # mutations
    def productSet(
        self, info, input: dict, identifier: dict | None = None, synchronous: bool = True
    ) -> dict:
        return _product_set(self.sandbox, self.shop_state, input, identifier=identifier)

    def publishablePublish(self, info, id: str, input: list[dict]) -> dict:
        shop = self.shop_state
        product = shop.products.get(id)
        if product is None:
            return {
                "publishable": None,
                "shop": self.shop(info),
                "userErrors": [{"field": ["id"], "message": "Product does not exist"}],
            }
        for index, publication in enumerate(input):
            if publication.get("publicationId") not in shop.publications:
                return {
                    "publishable": None,
                    "shop": self.shop(info),
                    "userErrors": [
                        {
                            "field": ["input", str(index), "publicationId"],
                            "message": "Publication does not exist",
                        }
                    ],
                }
        published = product.setdefault("publication_ids", [])
        for publication in input:
            if publication["publicationId"] not in published:
                published.append(publication["publicationId"])
        return {"publishable": _product(shop, id), "shop": self.shop(info), "userErrors": []}

    def productUpdate(self, info, product: dict) -> dict:
        shop = self.shop_state
        state = shop.products.get(product["id"])
        if state is None:
            return {
                "product": None,
                "userErrors": [{"field": ["id"], "message": "Product does not exist"}],
            }
        if product.get("status"):
            state["status"] = product["status"]
        if product.get("title"):
            state["title"] = product["title"]
        return {"product": _product(shop, product["id"]), "userErrors": []}

    def inventorySetQuantities(self, info, input: dict) -> dict:
        version = info.context["version"]
        self.sandbox._sell_before_set(self.shop_state)
        key = _idempotency_key(info)
        if key is None:
            if version >= STRICT_INVENTORY_FROM:
                raise GraphQLError(
                    "inventorySetQuantities requires an idempotency key: add "
                    '@idempotent(key: "...") to the mutation field.'
                )
            return _inventory_set(self.shop_state, input, now=self.sandbox.now(), version=version)
        return _idempotent(
            self.shop_state,
            key,
            info.variable_values,
            lambda: _inventory_set(self.shop_state, input, now=self.sandbox.now(), version=version),
        )

    def fulfillmentCreate(self, info, fulfillment: dict, message: str | None = None) -> dict:
        return _fulfillment_create(self.sandbox, self.shop_state, fulfillment)

    def orderUpdate(self, info, input: dict) -> dict:
        order = self.shop_state.orders.get(input["id"])
        if order is None:
            return {
                "order": None,
                "userErrors": [{"field": ["id"], "message": "Order does not exist"}],
            }
        if "note" in input:
            order["note"] = input["note"]
            self.sandbox.touch_order(order)
        return {"order": _order(self.shop_state, input["id"]), "userErrors": []}

    def webhookSubscriptionCreate(self, info, topic: str, webhookSubscription: dict) -> dict:
        shop = self.shop_state
        url = webhookSubscription.get("callbackUrl") or ""
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            return {
                "webhookSubscription": None,
                "userErrors": [
                    {
                        "field": ["webhookSubscription", "callbackUrl"],
                        "message": "Address is invalid",
                    }
                ],
            }
        for existing in shop.webhooks.values():
            if existing["topic"] == topic and existing["callbackUrl"] == url:
                return {
                    "webhookSubscription": None,
                    "userErrors": [
                        {
                            "field": ["webhookSubscription", "callbackUrl"],
                            "message": "Address for this topic has already been taken",
                        }
                    ],
                }
        gid = f"gid://shopify/WebhookSubscription/{self.sandbox.next_id()}"
        shop.webhooks[gid] = {
            "id": gid,
            "topic": topic,
            "callbackUrl": url,
            "format": webhookSubscription.get("format") or "JSON",
        }
        return {"webhookSubscription": shop.webhooks[gid], "userErrors": []}

    def webhookSubscriptionDelete(self, info, id: str) -> dict:
        if self.shop_state.webhooks.pop(id, None) is None:
            return {
                "deletedWebhookSubscriptionId": None,
                "userErrors": [{"field": ["id"], "message": "Webhook subscription does not exist"}],
            }
        return {"deletedWebhookSubscriptionId": id, "userErrors": []}


def _resolve_root(root: Any, info, **kwargs) -> Any:
    return getattr(root, info.field_name)(info, **kwargs)


for _schema in (SCHEMA, LEGACY_SCHEMA):
    for _type in (_schema.query_type, _schema.mutation_type):
        for _field in _type.fields.values():
            _field.resolve = _resolve_root


def _product(shop: Shop, gid: str) -> dict | None:
    product = shop.products.get(gid)
    if product is None:
        return None
    return {
        **{k: v for k, v in product.items() if k not in {"variant_ids", "publication_ids"}},
        "legacyResourceId": _legacy(gid),
        "options": product["options"],
        "variants": lambda info, first=None, _p=product: {
            "nodes": [_variant(shop, v) for v in _p["variant_ids"]][: first or 250]
        },
        "publishedOnPublication": lambda info, publicationId, _p=product: (
            publicationId in _p.get("publication_ids", [])
        ),
    }


def _variant(shop: Shop, gid: str) -> dict | None:
    variant = shop.variants.get(gid)
    if variant is None:
        return None
    item_id = variant["inventory_item_id"]
    return {
        "id": gid,
        "legacyResourceId": _legacy(gid),
        "sku": variant["sku"],
        "title": variant["title"],
        "price": str(variant["price"]),
        "compareAtPrice": None
        if variant["compareAtPrice"] is None
        else str(variant["compareAtPrice"]),
        "selectedOptions": variant["selectedOptions"],
        "inventoryQuantity": shop.quantity(item_id),
        "inventoryItem": lambda info: _inventory_item(shop, item_id),
        "product": lambda info: _product(shop, variant["product_id"]),
    }


def _inventory_item(shop: Shop, gid: str) -> dict | None:
    item = shop.inventory_items.get(gid)
    if item is None:
        return None

    def level(info, locationId: str):
        if locationId not in item["levels"]:
            return None
        quantities = item["levels"][locationId]
        return {
            "id": f"gid://shopify/InventoryLevel/{_legacy(gid)}?inventory_item_id={_legacy(gid)}",
            "quantities": lambda info, names: [
                {"name": n, "quantity": int(quantities.get(n, 0))} for n in names
            ],
        }

    return {"id": gid, "sku": item["sku"], "tracked": item["tracked"], "inventoryLevel": level}


_SEARCH_TERM = re.compile(r"(created_at|updated_at):(>=|<=|>|<)?'?([0-9T:.+\-Z]+)'?")
# Orders older than this are not visible without the read_all_orders scope.
VISIBLE_ORDER_SECONDS = 60 * 24 * 3600
_SORT_FIELDS = {"CREATED_AT": "created_at", "UPDATED_AT": "updated_at", "ID": "legacy_id"}


def _order_page(
    shop: Shop, *, first: int, after: str | None, query: str, sort_key: str, reverse: bool,
    now: float,
) -> dict:  # fmt: skip
    """The `orders` connection: filtered by the search terms on created_at / updated_at, sorted,
    paged by an opaque cursor (the position after the last node returned)."""
    orders = [
        o
        for o in shop.orders.values()
        if datetime.strptime(o["created_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
        >= now - VISIBLE_ORDER_SECONDS
    ]
    for field_name, operator, value in _SEARCH_TERM.findall(query):
        bound = _instant(value)
        compare = {
            ">": lambda a, b: a > b,
            ">=": lambda a, b: a >= b,
            "<": lambda a, b: a < b,
            "<=": lambda a, b: a <= b,
            "": lambda a, b: a == b,
        }[operator]
        orders = [
            o for o in orders if compare(_instant(o.get(field_name) or o["created_at"]), bound)
        ]
    field_name = _SORT_FIELDS.get(sort_key, "legacy_id")
    orders.sort(
        key=lambda o: (o.get(field_name) or o["created_at"], o["legacy_id"]), reverse=reverse
    )
    start = int(base64.b64decode(after).decode()) if after else 0
    page = orders[start : start + first]
    end = start + len(page)
    return {
        "nodes": [_order(shop, o["id"]) for o in page],
        "pageInfo": {
            "hasNextPage": end < len(orders),
            "endCursor": base64.b64encode(str(end).encode()).decode() if page else None,
        },
    }


def _instant(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _order(shop: Shop, gid: str) -> dict | None:
    order = shop.orders.get(gid)
    if order is None:
        return None
    currency = order["currency"]

    redacted = shop.is_customer_data_redacted
    shipping = order["shipping_address"]

    def protected(value: Any, field: str) -> Any:
        return _withheld(f"the {field} field") if redacted else value

    def fulfillment_orders(info, first=None, after=None):
        nodes = [
            _fulfillment_order(shop, shop.fulfillment_orders[fo_id])
            for fo_id in order["fulfillment_order_ids"]
        ]
        return _page(nodes, first, after)

    remaining = sum(
        foli["remainingQuantity"]
        for fo_id in order["fulfillment_order_ids"]
        for foli in shop.fulfillment_orders[fo_id]["line_items"]
    )
    total = sum(li["quantity"] for li in order["line_items"])
    status = (
        "UNFULFILLED"
        if remaining == total
        else "FULFILLED"
        if remaining == 0
        else "PARTIALLY_FULFILLED"
    )
    address = {
        "firstName": shipping.get("first_name"),
        "lastName": shipping.get("last_name"),
        "name": shipping.get("name"),
        "company": shipping.get("company"),
        "address1": shipping.get("address1"),
        "address2": shipping.get("address2"),
        "city": shipping.get("city"),
        "province": shipping.get("province"),
        "provinceCode": shipping.get("province_code"),
        "zip": shipping.get("zip"),
        "country": shipping.get("country"),
        "countryCodeV2": shipping.get("country_code"),
        "phone": shipping.get("phone"),
    }
    return {
        "id": gid,
        "legacyResourceId": str(order["legacy_id"]),
        "name": order["name"],
        "email": protected(order["email"], "email"),
        "note": order["note"],
        "currencyCode": currency,
        "createdAt": order["created_at"],
        "updatedAt": order.get("updated_at") or order["created_at"],
        "cancelledAt": order["cancelled_at"],
        "displayFulfillmentStatus": status,
        "displayFinancialStatus": str(order.get("financial_status") or "paid").upper(),
        "paymentGatewayNames": order.get("payment_gateway_names") or [],
        "customer": {
            "id": order["customer"]["id"],
            "firstName": protected(order["customer"]["first_name"], "firstName"),
            "lastName": protected(order["customer"]["last_name"], "lastName"),
            "email": protected(order["customer"]["email"], "email"),
        },
        # A MailingAddress is protected as a whole: null, with the object named in the error.
        "shippingAddress": _withheld("the MailingAddress object") if redacted else address,
        "totalPriceSet": _money(order["total_price"], currency),
        "lineItems": lambda info, first=None: {
            "nodes": [_line(shop, order, li) for li in order["line_items"]][: first or 250],
            "pageInfo": {
                "hasNextPage": len(order["line_items"]) > (first or 250),
                "hasPreviousPage": False,
                "startCursor": None,
                "endCursor": None,
            },
        },
        "fulfillmentOrders": fulfillment_orders,
        "fulfillments": [shop.fulfillments[f] for f in order["fulfillment_ids"]],
    }


def _withheld(what: str) -> Callable[..., Any]:
    """A resolver for protected customer data the app may not read: the field answers null and
    the response's errors name it with code ACCESS_DENIED, the rest of the query goes on."""

    def resolve(info, **_kwargs) -> Any:
        raise GraphQLError(
            f"This app is not approved to access {what}. Request protected customer data "
            "access in the app's configuration.",
            extensions={"code": "ACCESS_DENIED"},
        )

    return resolve


def _line(shop: Shop, order: dict, li: dict) -> dict:
    return {
        "id": li["gid"],
        "title": li["title"],
        "sku": li["sku"],
        "quantity": li["quantity"],
        "variant": lambda info: _variant(shop, li["variant_id"]),
        "product": lambda info: _product(shop, li["product_id"]),
        "originalUnitPriceSet": _money(li["price"], order["currency"]),
    }


def _page(nodes: list, first: int | None, after: str | None) -> dict:
    """One page of a connection, with Shopify's pageInfo; a cursor is the node's position."""
    size = MAX_PAGE_SIZE if first is None else first
    if not 0 <= size <= MAX_PAGE_SIZE:
        raise GraphQLError(f"The first argument must be between 0 and {MAX_PAGE_SIZE}.")
    start = int(base64.b64decode(after).decode()) + 1 if after else 0
    page = nodes[start : start + size]
    end = start + len(page) - 1

    def cursor(position: int) -> str:
        return base64.b64encode(str(position).encode()).decode()

    return {
        "nodes": page,
        "pageInfo": {
            "hasNextPage": start + size < len(nodes),
            "hasPreviousPage": start > 0,
            "startCursor": cursor(start) if page else None,
            "endCursor": cursor(end) if page else None,
        },
    }


def _destination(shop: Shop, order: dict, fo: dict) -> dict:
    """Where the fulfillment order ships: withheld like the order's address unless the shop
    shares the destination with our fulfillment order scopes."""
    withheld = shop.is_customer_data_redacted and not shop.is_destination_shared
    shipping = order["shipping_address"]

    def protected(value: Any, field: str) -> Any:
        return _withheld(f"the {field} field") if withheld else value

    return {
        "id": f"gid://shopify/FulfillmentOrderDestination/{_legacy(fo['id'])}",
        "firstName": protected(shipping.get("first_name"), "firstName"),
        "lastName": protected(shipping.get("last_name"), "lastName"),
        "company": shipping.get("company"),
        "address1": protected(shipping.get("address1"), "address1"),
        "address2": protected(shipping.get("address2"), "address2"),
        "city": protected(shipping.get("city"), "city"),
        "province": shipping.get("province"),
        "zip": protected(shipping.get("zip"), "zip"),
        "countryCode": shipping.get("country_code"),
        "phone": protected(shipping.get("phone"), "phone"),
        "email": protected(order["email"], "email"),
    }


def _fulfillment_order(shop: Shop, fo: dict) -> dict:
    order = shop.orders[fo["order_id"]]
    line_items = {li["gid"]: li for li in order["line_items"]}
    return {
        "id": fo["id"],
        "status": fo["status"],
        "destination": _destination(shop, order, fo),
        "fulfillAt": fo.get("fulfill_at"),
        "fulfillmentHolds": list(fo.get("holds") or []),
        "lineItems": lambda info, first=None, after=None: _page(
            [
                {
                    "id": foli["id"],
                    "totalQuantity": foli["totalQuantity"],
                    "remainingQuantity": foli["remainingQuantity"],
                    "lineItem": _line(shop, order, line_items[foli["line_item_id"]]),
                }
                for foli in fo["line_items"]
            ],
            first,
            after,
        ),
    }


def _product_by_handle(shop: Shop, handle: str) -> dict | None:
    return next((p for p in shop.products.values() if p.get("handle") == handle), None)


def _free_handle(shop: Shop, wanted: str) -> str:
    """Handles are unique in a shop: a taken one gets "-1", "-2"... as Shopify does."""
    handle, n = wanted, 0
    while _product_by_handle(shop, handle) is not None:
        n += 1
        handle = f"{wanted}-{n}"
    return handle


def _product_set(
    sandbox: ShopifySandbox, shop: Shop, data: dict, *, identifier: dict | None = None
) -> dict:
    """productSet: `identifier.id` updates that product; `identifier.handle` updates the product
    with that handle or creates it with that handle (an upsert, so a retry updates what a lost
    answer created); no identifier creates, unless the legacy `input.id` names a product."""
    errors: list[dict] = []
    identifier = identifier or {}
    if identifier.get("customId") is not None:
        return {
            "product": None,
            "userErrors": [
                {
                    "field": ["identifier", "customId"],
                    "message": "The sandbox does not model custom ids (metafield definitions).",
                    "code": "INVALID_INPUT",
                }
            ],
        }
    product_id = identifier.get("id") or data.get("id")
    upsert_handle = identifier.get("handle") if not product_id else None
    if upsert_handle:
        existing = _product_by_handle(shop, upsert_handle)
    else:
        existing = shop.products.get(product_id) if product_id else None
    if product_id and existing is None:
        return {
            "product": None,
            "userErrors": [
                {
                    "field": ["identifier", "id"] if identifier.get("id") else ["input", "id"],
                    "message": "Product does not exist",
                    "code": "PRODUCT_DOES_NOT_EXIST",
                }
            ],
        }
    title = data.get("title") if data.get("title") is not None else (existing or {}).get("title")
    if not title or not str(title).strip():
        errors.append(
            {"field": ["input", "title"], "message": "Title can't be blank", "code": "BLANK"}
        )
    option_names = [o.get("name") for o in data.get("productOptions") or []]
    variants = data.get("variants") or []
    if len(variants) > 2048:
        errors.append(
            {
                "field": ["input", "variants"],
                "message": "Product can have a maximum of 2048 variants",
                "code": "VARIANTS_OVER_LIMIT",
            }
        )
    combos = set()
    for index, variant in enumerate(variants):
        combo = tuple(
            (v.get("optionName"), v.get("name")) for v in variant.get("optionValues") or []
        )
        if option_names and [c[0] for c in combo] != option_names:
            errors.append(
                {
                    "field": ["input", "variants", str(index), "optionValues"],
                    "message": "Option values must match the product options",
                    "code": "INVALID_INPUT",
                }
            )
        if combo in combos:
            errors.append(
                {
                    "field": ["input", "variants", str(index)],
                    "message": "The variant option values are duplicated",
                    "code": "DUPLICATED_OPTION_VALUE",
                }
            )
        combos.add(combo)
        price = variant.get("price")
        if price is not None and Decimal(str(price)) < 0:
            errors.append(
                {
                    "field": ["input", "variants", str(index), "price"],
                    "message": "Price must be greater than or equal to 0",
                    "code": "INVALID_INPUT",
                }
            )
        for quantity in variant.get("inventoryQuantities") or []:
            if quantity["locationId"] != shop.location_id:
                errors.append(
                    {
                        "field": ["input", "variants", str(index), "inventoryQuantities"],
                        "message": "Location does not exist",
                        "code": "INVALID_INPUT",
                    }
                )
    if errors:
        return {"product": None, "userErrors": errors}
    if existing is None:
        product_id = f"gid://shopify/Product/{sandbox.next_id()}"
        handle = data.get("handle") or upsert_handle or "-".join(str(title).lower().split())
        existing = shop.products[product_id] = {
            "id": product_id,
            "title": title,
            "handle": _free_handle(shop, handle),
            "publication_ids": [],  # in no sales channel until published (publishablePublish)
            "status": "ACTIVE",
            "descriptionHtml": "",
            "vendor": "",
            "productType": "",
            "tags": [],
            "options": [],
            "variant_ids": [],
            "files": [],
        }
    for key in ("title", "descriptionHtml", "vendor", "productType", "tags", "status"):
        if data.get(key) is not None:
            existing[key] = data[key]
    if data.get("files") is not None:
        existing["files"] = [f.get("originalSource") for f in data["files"]]
    if data.get("productOptions") is not None:
        existing["options"] = [
            {
                "id": f"gid://shopify/ProductOption/{sandbox.next_id()}",
                "name": o.get("name"),
                "values": [v.get("name") for v in o.get("values") or []],
            }
            for o in data["productOptions"]
        ]
    if "variants" in data:
        old = {vid: shop.variants[vid] for vid in existing["variant_ids"]}
        by_combo = {
            tuple((o["name"], o["value"]) for o in v["selectedOptions"]): vid
            for vid, v in old.items()
        }
        kept: list[str] = []
        for variant in variants:
            combo = tuple(
                (v.get("optionName"), v.get("name")) for v in variant.get("optionValues") or []
            )
            variant_id = variant.get("id") if variant.get("id") in old else by_combo.get(combo)
            if variant_id is None:
                variant_id = f"gid://shopify/ProductVariant/{sandbox.next_id()}"
                item_id = f"gid://shopify/InventoryItem/{sandbox.next_id()}"
                shop.inventory_items[item_id] = {
                    "id": item_id,
                    "sku": "",
                    "tracked": True,
                    "levels": {shop.location_id: {"available": 0, "on_hand": 0}},
                    "weight": None,
                }
                shop.variants[variant_id] = {
                    "id": variant_id,
                    "product_id": existing["id"],
                    "inventory_item_id": item_id,
                    "sku": "",
                    "price": Decimal("0"),
                    "compareAtPrice": None,
                    "title": "",
                    "selectedOptions": [],
                }
            state = shop.variants[variant_id]
            item = shop.inventory_items[state["inventory_item_id"]]
            sku = variant.get("sku") or (variant.get("inventoryItem") or {}).get("sku")
            if sku is not None:
                state["sku"] = item["sku"] = sku
            if variant.get("price") is not None:
                state["price"] = Decimal(str(variant["price"]))
            if "compareAtPrice" in variant:
                state["compareAtPrice"] = (
                    None
                    if variant["compareAtPrice"] is None
                    else Decimal(str(variant["compareAtPrice"]))
                )
            state["selectedOptions"] = [{"name": n, "value": v} for n, v in combo]
            state["title"] = " / ".join(v for _, v in combo) or "Default Title"
            weight = ((variant.get("inventoryItem") or {}).get("measurement") or {}).get("weight")
            if weight:
                item["weight"] = weight
            for quantity in variant.get("inventoryQuantities") or []:
                level = item["levels"].setdefault(
                    quantity["locationId"], {"available": 0, "on_hand": 0}
                )
                level[quantity["name"]] = int(quantity["quantity"])
                if quantity["name"] == "available":
                    level["on_hand"] = int(quantity["quantity"])
            kept.append(variant_id)
        for variant_id in set(existing["variant_ids"]) - set(kept):
            removed = shop.variants.pop(variant_id)
            shop.inventory_items.pop(removed["inventory_item_id"], None)
        existing["variant_ids"] = kept
    return {"product": _product(shop, existing["id"]), "userErrors": []}


def _idempotency_key(info) -> str | None:
    """The key of the field's @idempotent directive, or None without one."""
    for directive in info.field_nodes[0].directives or ():
        if isinstance(directive, DirectiveNode) and directive.name.value == "idempotent":
            for argument in directive.arguments:
                if argument.name.value == "key":
                    return str(value_from_ast_untyped(argument.value, info.variable_values))
    return None


def _idempotent(shop: Shop, key: str, variables: dict, run: Callable[[], dict]) -> dict:
    """The same key with the same variables answers the first call's result without running it
    again; the same key with other variables is refused (shopify.dev "Implementing idempotency")."""
    fingerprint = json.loads(json.dumps(variables, sort_keys=True, default=str))
    seen = shop.idempotency.get(key)
    if seen is not None:
        if seen["variables"] != fingerprint:
            return {
                "inventoryAdjustmentGroup": None,
                "userErrors": [
                    {
                        "code": "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
                        "field": None,
                        "message": "The same idempotency key cannot be used with different operation parameters.",
                    }
                ],
            }
        return seen["payload"]
    payload = run()
    shop.idempotency[key] = {"variables": fingerprint, "payload": payload}
    while len(shop.idempotency) > IDEMPOTENCY_KEYS_KEPT:  # keys expire; the oldest go first
        shop.idempotency.pop(next(iter(shop.idempotency)))
    return payload


def _inventory_set(shop: Shop, data: dict, *, now: str, version: str) -> dict:
    errors = []
    if data["name"] not in {"available", "on_hand"}:
        errors.append(
            {
                "code": "INVALID_NAME",
                "field": ["input", "name"],
                "message": "The quantity name must be either 'available' or 'on_hand'.",
            }
        )
    if data["reason"] not in INVENTORY_REASONS:
        errors.append(
            {
                "code": "INVALID_REASON",
                "field": ["input", "reason"],
                "message": "The specified reason is invalid.",
            }
        )
    for index, quantity in enumerate(data["quantities"]):
        item = shop.inventory_items.get(quantity["inventoryItemId"])
        if item is None:
            errors.append(
                {
                    "code": "INVALID_INVENTORY_ITEM",
                    "field": ["input", "quantities", str(index), "inventoryItemId"],
                    "message": "The specified inventory item could not be found.",
                }
            )
        elif quantity["locationId"] not in item["levels"]:
            errors.append(
                {
                    "code": "INVALID_LOCATION",
                    "field": ["input", "quantities", str(index), "locationId"],
                    "message": "The specified location could not be found.",
                }
            )
        elif "changeFromQuantity" in quantity or version >= STRICT_INVENTORY_FROM:
            # 2026-01 added changeFromQuantity (it overrides the compare fields); from 2026-04
            # it must be on every quantity, an explicit null opting out of the check.
            if "changeFromQuantity" not in quantity:
                errors.append(
                    {
                        "code": "INVALID_INPUT",
                        "field": ["input", "quantities", str(index), "changeFromQuantity"],
                        "message": "changeFromQuantity is required: pass the quantity you expect, or null to skip the check.",
                    }
                )
            elif quantity["changeFromQuantity"] is not None and (
                int(item["levels"][quantity["locationId"]].get(data["name"], 0))
                != quantity["changeFromQuantity"]
            ):
                errors.append(
                    {
                        "code": "CHANGE_FROM_QUANTITY_STALE",
                        "field": ["input", "quantities", str(index), "changeFromQuantity"],
                        "message": "The changeFromQuantity value does not match persisted value.",
                    }
                )
        elif not data.get("ignoreCompareQuantity"):
            if quantity.get("compareQuantity") is None:
                errors.append(
                    {
                        "code": "COMPARE_QUANTITY_REQUIRED",
                        "field": ["input", "quantities", str(index), "compareQuantity"],
                        "message": "The compareQuantity argument must be given to each quantity or ignored using ignoreCompareQuantity.",
                    }
                )
            elif (
                int(item["levels"][quantity["locationId"]].get(data["name"], 0))
                != quantity["compareQuantity"]
            ):
                errors.append(
                    {
                        "code": "COMPARE_QUANTITY_STALE",
                        "field": ["input", "quantities", str(index), "compareQuantity"],
                        "message": "The compareQuantity value does not match persisted value.",
                    }
                )
    if errors:
        return {"inventoryAdjustmentGroup": None, "userErrors": errors}
    changes = []
    for quantity in data["quantities"]:
        item = shop.inventory_items[quantity["inventoryItemId"]]
        level = item["levels"][quantity["locationId"]]
        before = int(level.get(data["name"], 0))
        level[data["name"]] = int(quantity["quantity"])
        if data["name"] == "available":
            level["on_hand"] = int(level.get("on_hand", 0)) + int(quantity["quantity"]) - before
        shop.adjustments.append(
            {"item": item["id"], "name": data["name"], "delta": int(quantity["quantity"]) - before}
        )
        changes.append(
            {
                "name": data["name"],
                "delta": int(quantity["quantity"]) - before,
                "quantityAfterChange": None,
                "item": {
                    "id": item["id"],
                    "sku": item["sku"],
                    "tracked": True,
                    "inventoryLevel": None,
                },
            }
        )
    return {
        "inventoryAdjustmentGroup": {
            "createdAt": now,
            "reason": data["reason"],
            "changes": changes,
        },
        "userErrors": [],
    }


def _fulfillment_create(sandbox: ShopifySandbox, shop: Shop, data: dict) -> dict:
    groups = data.get("lineItemsByFulfillmentOrder") or []
    if not groups:
        return {
            "fulfillment": None,
            "userErrors": [
                {
                    "field": ["fulfillment", "lineItemsByFulfillmentOrder"],
                    "message": "Line items by fulfillment order can't be blank",
                }
            ],
        }
    order_ids = set()
    plan: list[tuple[dict, int]] = []
    for g_index, group in enumerate(groups):
        fo = shop.fulfillment_orders.get(group["fulfillmentOrderId"])
        if fo is None:
            return {
                "fulfillment": None,
                "userErrors": [
                    {
                        "field": [
                            "fulfillment",
                            "lineItemsByFulfillmentOrder",
                            str(g_index),
                            "fulfillmentOrderId",
                        ],
                        "message": "Fulfillment order does not exist.",
                    }
                ],
            }
        if fo["status"] not in {"OPEN", "IN_PROGRESS"}:
            return {
                "fulfillment": None,
                "userErrors": [
                    {
                        "field": ["fulfillment"],
                        "message": f"Fulfillment order {_legacy(fo['id'])} has an unfulfillable status= {fo['status'].lower()}.",
                    }
                ],
            }
        order_ids.add(fo["order_id"])
        lines = group.get("fulfillmentOrderLineItems")
        by_id = {li["id"]: li for li in fo["line_items"]}
        if lines is None:
            plan += [
                (li, li["remainingQuantity"]) for li in fo["line_items"] if li["remainingQuantity"]
            ]
            continue
        for line in lines:
            li = by_id.get(line["id"])
            if li is None:
                return {
                    "fulfillment": None,
                    "userErrors": [
                        {
                            "field": ["fulfillment"],
                            "message": "Invalid fulfillment order line item id.",
                        }
                    ],
                }
            if line["quantity"] <= 0 or line["quantity"] > li["remainingQuantity"]:
                return {
                    "fulfillment": None,
                    "userErrors": [
                        {
                            "field": ["fulfillment"],
                            "message": f"Invalid fulfillment order line item quantity requested ({line['quantity']}, {li['remainingQuantity']} remaining).",
                        }
                    ],
                }
            plan.append((li, line["quantity"]))
    if len(order_ids) != 1:
        return {
            "fulfillment": None,
            "userErrors": [
                {
                    "field": ["fulfillment"],
                    "message": "All fulfillment orders must belong to the same order.",
                }
            ],
        }
    for li, quantity in plan:
        li["remainingQuantity"] -= quantity
    for group in groups:
        fo = shop.fulfillment_orders[group["fulfillmentOrderId"]]
        fo["status"] = (
            "CLOSED"
            if all(li["remainingQuantity"] == 0 for li in fo["line_items"])
            else "IN_PROGRESS"
        )
    tracking = data.get("trackingInfo") or {}
    gid = f"gid://shopify/Fulfillment/{sandbox.next_id()}"
    fulfillment = {
        "id": gid,
        "status": "SUCCESS",
        "createdAt": sandbox.now(),
        "trackingInfo": [
            {
                "company": tracking.get("company"),
                "number": tracking.get("number"),
                "url": tracking.get("url"),
            }
        ]
        if tracking
        else [],
        "order_id": next(iter(order_ids)),
        "notify_customer": bool(data.get("notifyCustomer")),
        "line_items": [{"line_item_id": li["line_item_id"], "quantity": q} for li, q in plan],
    }
    shop.fulfillments[gid] = fulfillment
    order = shop.orders[fulfillment["order_id"]]
    order["fulfillment_ids"].append(gid)
    sandbox.touch_order(order)
    if fulfillment["notify_customer"]:
        shop.emails.append(
            {
                "to": order["email"],
                "order_id": order["id"],
                "kind": "shipping_confirmation",
                "text": " ".join(str(t.get("number")) for t in fulfillment["trackingInfo"]),
            }
        )
    return {"fulfillment": fulfillment, "userErrors": []}
