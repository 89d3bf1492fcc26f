"""A WooCommerce (REST API v3) that runs on this machine. Standard library only (no Django).

Several sites live side by side, each under its own path: a site's URL is
``{base}/{site}`` and its API ``{base}/{site}/wp-json/wc/v3/...``. Over plain HTTP WooCommerce
accepts only OAuth 1.0a "one-legged" signatures; this checks them the way
WC_REST_Authentication does (consumer key looked up by its wc_api_hash, parameters normalised
with RFC 3986 encoding then encoded again when joined, HMAC-SHA1 or HMAC-SHA256 keyed with
`consumer_secret&`, a 15-minute timestamp window, nonces remembered per timestamp).

A site in HTTPS mode (`add_site(..., https=True)` or `set_https`) says ``https://`` in its URL
and behaves as WordPress behind TLS: it takes HTTP Basic auth (consumer key and secret as user
and password) or, where the host drops the Authorization header (`strip_authorization`, a
common hosting problem), the keys as `consumer_key` / `consumer_secret` query parameters; it
ignores OAuth 1.0a. The sandbox itself still listens on plain HTTP: the TLS is left to a
terminating proxy it stands in for (Dropship's client connects to loopback https:// URLs over
HTTP when ALLOW_LOOPBACK_URLS is on).

Control endpoints for the demo and tests (not WooCommerce's):
    POST /_sandbox/sites                      {"name", "https"?} -> {"url", "consumer_key", "consumer_secret"}
    POST /_sandbox/sites/{site}/orders        {"lines": [{"sku", "quantity"}]} -> the order
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from fnmatch import fnmatch
from typing import Any
from urllib.parse import quote, unquote, urlencode

from sandbox.server import Delivery, Request, Response, post
from sandbox.state import StateFile, int_keys
from sandbox.storefront import WooStorefront

BATCH_LIMIT = 100  # woocommerce_rest_batch_items_limit
PAID_STATUSES = {"processing", "completed"}
TIMESTAMP_WINDOW = 15 * 60
# active delivers; paused is set by an admin; disabled by WooCommerce after delivery failures.
WEBHOOK_STATUSES = ("active", "paused", "disabled")
WEBHOOK_TOPICS = {
    "order.created",
    "order.updated",
    "order.deleted",
    "order.restored",
    "product.created",
    "product.updated",
    "product.deleted",
}


def wc_api_hash(data: str) -> str:
    return hmac.new(b"wc-api", data.encode(), hashlib.sha256).hexdigest()


def rfc3986(value: str) -> str:
    """wc_rest_urlencode_rfc3986: PHP rawurlencode."""
    return quote(value, safe="-_.~")


def sign_webhook(body: bytes, secret: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def _timestamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _listing(request: Request, items: list[dict]) -> Response:
    """A collection answer as WooCommerce pages it: `include`, `per_page` (≤ 100), `page`,
    with the X-WP-Total and X-WP-TotalPages headers."""
    query = request.query_dict
    if not any(query.get(k) for k in ("include", "per_page", "page")):
        return Response.json(items)  # what this sandbox always answered without paging
    if query.get("include"):
        wanted = {int(i) for i in str(query["include"]).split(",") if i.strip()}
        items = [item for item in items if item["id"] in wanted]
    per_page = int(query.get("per_page") or 10)
    if not 1 <= per_page <= 100:
        return _error(
            "rest_invalid_param", "Invalid parameter(s): per_page (must be between 1 and 100)", 400
        )
    page = max(1, int(query.get("page") or 1))
    items = sorted(items, key=lambda item: item["id"])
    pages = max(1, -(-len(items) // per_page))
    return Response.json(
        items[(page - 1) * per_page : page * per_page],
        headers={"X-WP-Total": str(len(items)), "X-WP-TotalPages": str(pages)},
    )


def _error(code: str, message: str, status: int) -> Response:
    return Response.json({"code": code, "message": message, "data": {"status": status}}, status)


@dataclass
class ApiKey:
    consumer_secret: str
    permissions: str = "read_write"
    nonces: dict[int, str] = field(default_factory=dict)


@dataclass
class Site:
    slug: str
    name: str
    url: str
    currency: str = "USD"
    keys: dict[str, ApiKey] = field(default_factory=dict)  # wc_api_hash(consumer_key) -> key
    products: dict[int, dict] = field(default_factory=dict)
    variations: dict[int, dict] = field(default_factory=dict)
    orders: dict[int, dict] = field(default_factory=dict)
    notes: dict[int, list[dict]] = field(default_factory=dict)
    webhooks: dict[int, dict] = field(default_factory=dict)
    is_https: bool = False  # served over TLS: Basic and query-string auth, no OAuth 1.0a
    strips_authorization: bool = False  # the host drops the Authorization header
    # What WooCommerce e-mails the shopper: a customer note ("customer_note") and the order
    # marked completed ("customer_completed_order"), as WC_Email_Customer_Note and
    # WC_Email_Customer_Completed_Order do. Tests count them: a shopper never gets one twice.
    emails: list[dict] = field(default_factory=list)

    def stock(self, item_id: int) -> int | None:
        item = self.products.get(item_id) or self.variations.get(item_id)
        return None if item is None else item["stock_quantity"]

    def stock_for_sku(self, sku: str) -> int | None:
        for item in itertools.chain(self.products.values(), self.variations.values()):
            if item["sku"] == sku:
                return item["stock_quantity"]
        raise KeyError(sku)


@dataclass
class CallRecord:
    site: str
    method: str
    path: str
    status: int
    items: int = 0
    auth: str = ""  # the credentials the call carried: "basic", "query", "oauth" or ""

    @property
    def is_rejected(self) -> bool:
        return self.status >= 400


def _credentials_sent(request: Request) -> str:
    """Which credentials a call carries, as sent (before a host may drop the header)."""
    if request.headers.get("authorization", "").lower().startswith("basic "):
        return "basic"
    query = request.query_dict
    if query.get("consumer_key"):
        return "query"
    if query.get("oauth_signature"):
        return "oauth"
    return ""


class WooCommerceSandbox:
    def __init__(
        self,
        *,
        base_url: str = "",
        verbose: bool = False,
        state_file: StateFile | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.base_url = base_url.rstrip("/")  # set by the server once its port is known
        self.verbose = verbose
        self.sites: dict[str, Site] = {}
        self.calls: list[CallRecord] = []
        self.deliveries: list[Delivery] = []
        self.injected: dict[str, list[Response]] = {}
        self.down_until: dict[str, float] = {}  # site -> clock() time it comes back
        self.rate_limits: dict[str, float] = {}  # site -> calls per second
        # (site, method, path pattern under wc/v3 such as "orders/*/notes") -> answers to drop
        self.lost_answers: dict[tuple[str, str, str], int] = {}
        # (site, method, path pattern) -> calls to refuse with a 503 without carrying them out
        self.refusals: dict[tuple[str, str, str], int] = {}
        self.last_call_at: dict[str, float] = {}
        self.silenced: set[str] = set()  # sites whose webhooks are not delivered (orders still are)
        self.lock = threading.RLock()
        self.clock = clock
        self._last_id = 699
        self._outbox = threading.local()  # deliveries queued under the lock, sent after it
        self.storefront = WooStorefront(self)  # the shopper pages: /{site}/storefront/
        self.state_file = state_file
        if state_file is not None:
            self._restore(state_file.load())

    def _later(self, action) -> None:
        if not hasattr(self._outbox, "items"):
            self._outbox.items = []
        self._outbox.items.append(action)

    def _flush(self) -> None:
        items, self._outbox.items = getattr(self._outbox, "items", []), []
        for action in items:
            action()

    def next_id(self) -> int:
        with self.lock:
            self._last_id += 1
            return self._last_id

    def now(self) -> str:
        return _timestamp(self.clock())

    # --- state across restarts -----------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """What a restart keeps: the sites with their keys, products and orders, and the ids."""
        with self.lock:
            return {
                "last_id": self._last_id,
                "sites": [asdict(site) for site in self.sites.values()],
            }

    def _restore(self, state: dict[str, Any] | None) -> None:
        if state is None:
            return
        self._last_id = state["last_id"]
        for saved in state["sites"]:
            keys = {
                key_hash: ApiKey(
                    consumer_secret=key["consumer_secret"],
                    permissions=key["permissions"],
                    nonces=int_keys(key["nonces"]),
                )
                for key_hash, key in saved.pop("keys").items()
            }
            records = {
                name: int_keys(saved.pop(name))
                for name in ("products", "variations", "orders", "notes", "webhooks")
            }
            self.sites[saved["slug"]] = Site(**saved, keys=keys, **records)

    def save_state(self) -> None:
        if self.state_file is not None:
            with self.lock:
                self.state_file.save(self.snapshot())

    # --- state helpers -------------------------------------------------------------------------
    def add_site(
        self, slug: str, *, name: str = "", currency: str = "USD", https: bool = False
    ) -> tuple[Site, str, str]:
        """Create a site (or reuse it) and a new read/write API key: (site, key, secret)."""
        with self.lock:
            site = self.sites.get(slug)
            if site is None:
                site = Site(
                    slug=slug,
                    name=name or slug.replace("-", " ").title(),
                    url=f"{self.base_url}/{slug}",
                    currency=currency,
                )
                self.sites[slug] = site
            if https:
                self.set_https(slug)
            consumer_key = "ck_" + secrets.token_hex(20)
            consumer_secret = "cs_" + secrets.token_hex(20)
            site.keys[wc_api_hash(consumer_key)] = ApiKey(consumer_secret=consumer_secret)
            return site, consumer_key, consumer_secret

    def set_https(self, slug: str, *, is_https: bool = True) -> None:
        """Serve the site "over TLS": its URL says https:// and it authenticates as WordPress
        does under is_ssl() (Basic auth or query-string keys, not OAuth 1.0a)."""
        with self.lock:
            site = self.sites[slug]
            site.is_https = is_https
            scheme = "https" if is_https else "http"
            site.url = f"{scheme}://{site.url.split('://', 1)[1]}"

    def strip_authorization(self, slug: str, *, strips: bool = True) -> None:
        """The site's host drops the Authorization header before WordPress sees it (Apache
        without CGIPassAuth, some proxies): Basic auth arrives as no credentials at all."""
        with self.lock:
            self.sites[slug].strips_authorization = strips

    def revoke_keys(self, slug: str) -> None:
        with self.lock:
            self.sites[slug].keys.clear()

    def throttle_to(self, slug: str, *, calls_per_second: float) -> None:
        """Answer 429 (with Retry-After) to a call that comes sooner than 1/rate after the last."""
        with self.lock:
            self.rate_limits[slug] = calls_per_second

    def silence_webhooks(self, slug: str, *, is_silenced: bool = True) -> None:
        """Stop (or resume) delivering the site's webhooks: orders are still placed."""
        with self.lock:
            (self.silenced.add if is_silenced else self.silenced.discard)(slug)

    def disable_webhooks(self, slug: str, *topics: str) -> list[dict]:
        """Set the site's webhooks for `topics` (all when none named) to `disabled`, as
        WooCommerce does after repeated delivery failures; returns them."""
        with self.lock:
            hooks = [
                w for w in self.sites[slug].webhooks.values() if not topics or w["topic"] in topics
            ]
            for webhook in hooks:
                webhook["status"] = "disabled"
        return hooks

    def take_down(self, slug: str, *, seconds: float) -> None:
        """The site answers 503 to every API call for the next `seconds`."""
        with self.lock:
            self.down_until[slug] = self.clock() + seconds

    def bring_up(self, slug: str) -> None:
        with self.lock:
            self.down_until.pop(slug, None)

    def _limited(self, slug: str) -> Response | None:
        """Downtime and the rate limit, checked under the lock."""
        now = self.clock()
        if self.down_until.get(slug, 0) > now:
            return _error("service_unavailable", "Service Unavailable", 503)
        rate = self.rate_limits.get(slug)
        if rate:
            last = self.last_call_at.get(slug)
            if last is not None and now - last < 1 / rate:
                wait = max(1, int((1 / rate - (now - last)) + 0.999))
                response = _error("too_many_requests", "Too Many Requests", 429)
                response.headers["Retry-After"] = str(wait)
                return response
            self.last_call_at[slug] = now
        return None

    def inject(self, slug: str, *responses: Response) -> None:
        with self.lock:
            self.injected.setdefault(slug, []).extend(responses)

    def lose_answers(self, slug: str, method: str, pattern: str, count: int = 1) -> None:
        """Carry out the next `count` `method` calls whose path under wc/v3 matches `pattern`
        (fnmatch, e.g. "orders/*/notes"), then drop the connection before answering: the write
        is saved, the caller cannot know it was."""
        with self.lock:
            self.lost_answers[(slug, method.upper(), pattern)] = count

    def refuse(self, slug: str, method: str, pattern: str, count: int = 1) -> None:
        """Answer the next `count` `method` calls whose path under wc/v3 matches `pattern` with
        a 503, without carrying them out: what the site holds is what it held before the call
        (a worker killed just before that write leaves the site in the same state)."""
        with self.lock:
            self.refusals[(slug, method.upper(), pattern)] = count

    def _answer_lost(self, slug: str, method: str, path: list[str]) -> bool:
        return self._take(self.lost_answers, slug, method, path)

    def _take(
        self, faults: dict[tuple[str, str, str], int], slug: str, method: str, path: list[str]
    ) -> bool:
        route = "/".join(path)
        with self.lock:
            for (site, verb, pattern), left in faults.items():
                if site == slug and verb == method and left > 0 and fnmatch(route, pattern):
                    faults[(site, verb, pattern)] = left - 1
                    return True
        return False

    def rejected_calls(self, slug: str | None = None) -> list[CallRecord]:
        return [c for c in self.calls if c.is_rejected and (slug is None or c.site == slug)]

    def calls_for(self, slug: str) -> list[CallRecord]:
        return [c for c in self.calls if c.site == slug]

    # --- HTTP ----------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        response = self._dispatch(request)
        self.save_state()
        return response

    def _dispatch(self, request: Request) -> Response:
        parts = [p for p in request.path.split("/") if p]
        if parts[:2] == ["_sandbox", "sites"]:
            return self._control(request, parts[2:])
        if not parts:
            return Response.html("<h1>WooCommerce sandbox</h1>")
        site = self.sites.get(parts[0])
        if site is None:
            return _error(
                "rest_no_route", "No route was found matching the URL and request method.", 404
            )
        rest = parts[1:]
        if rest[:1] == ["storefront"]:
            return self.storefront.handle(request, site.slug, rest[1:])
        if rest == ["wp-json"]:
            return Response.json(
                {
                    "name": site.name,
                    "description": "A WooCommerce sandbox",
                    "url": site.url,
                    "home": site.url,
                    "namespaces": ["wc/v3"],
                }
            )
        if rest[:3] != ["wp-json", "wc", "v3"]:
            return _error(
                "rest_no_route", "No route was found matching the URL and request method.", 404
            )
        with self.lock:
            forced = self.injected.get(site.slug)
            forced = forced.pop(0) if forced else None
            if forced is None:
                forced = self._limited(site.slug)
        if forced is not None:
            self.calls.append(CallRecord(site.slug, request.method, request.path, forced.status))
            return forced
        failure = self._authenticate(site, request)
        auth = _credentials_sent(request)
        if failure is not None:
            self.calls.append(
                CallRecord(site.slug, request.method, request.path, failure.status, auth=auth)
            )
            return failure
        if self._take(self.refusals, site.slug, request.method, rest[3:]):
            refused = _error("service_unavailable", "Service Unavailable", 503)
            self.calls.append(CallRecord(site.slug, request.method, request.path, 503))
            return refused
        try:
            response, items = self._route(site, request, rest[3:])
        except (ValueError, KeyError, TypeError) as exc:
            response, items = _error("rest_invalid_param", f"Invalid parameter(s): {exc}", 400), 0
        self.calls.append(
            CallRecord(site.slug, request.method, request.path, response.status, items, auth)
        )
        self._flush()
        if response.status < 400 and self._answer_lost(site.slug, request.method, rest[3:]):
            return Response.lost()
        return response

    def _control(self, request: Request, rest: list[str]) -> Response:
        if request.method == "POST" and not rest:
            data = request.json() or {}
            slug = data.get("name") or f"site-{self.next_id()}"
            site, key, secret = self.add_site(
                slug,
                name=data.get("title") or "",
                currency=data.get("currency") or "USD",
                https=bool(data.get("https")),
            )
            return Response.json(
                {"url": site.url, "consumer_key": key, "consumer_secret": secret}, 201
            )
        if request.method == "POST" and len(rest) == 2 and rest[1] == "orders":
            site = self.sites[rest[0]]
            order = self.create_order(site.slug, lines=(request.json() or {}).get("lines", []))
            return Response.json(order, 201)
        return Response.json({"error": "unknown control call"}, 404)

    def _authenticate(self, site: Site, request: Request) -> Response | None:
        if site.is_https:
            return self._authenticate_over_tls(site, request)
        params = dict(request.query)
        if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            params.update(request.form())
        names = [
            "oauth_consumer_key",
            "oauth_timestamp",
            "oauth_nonce",
            "oauth_signature",
            "oauth_signature_method",
        ]
        missing = [n for n in names if not params.get(n)]
        if len(missing) == len(names):
            return _error("woocommerce_rest_cannot_view", "Sorry, you cannot list resources.", 401)
        if missing:
            label = "parameter" if len(missing) == 1 else "parameters"
            return _error(
                "woocommerce_rest_authentication_missing_parameter",
                f"Missing OAuth {label} {', '.join(missing)}",
                401,
            )
        key = site.keys.get(wc_api_hash(params["oauth_consumer_key"]))
        if key is None:
            return _error("woocommerce_rest_authentication_error", "Consumer key is invalid.", 401)
        # check_oauth_signature
        request_path = request.path
        wp_base = f"/{site.slug}/"
        if request_path.startswith(wp_base):
            request_path = request_path[len(wp_base) :]
        base_request_uri = rfc3986(f"{site.url}/{request_path}")
        consumer_signature = unquote(params["oauth_signature"].replace(" ", "+"))
        signed = {k: v for k, v in params.items() if k != "oauth_signature"}
        ordered = sorted(signed.items(), key=lambda kv: kv[0].encode())
        normalised = [(rfc3986(k), rfc3986(v)) for k, v in ordered]
        query_string = "%26".join(rfc3986(f"{k}={v}") for k, v in normalised)
        string_to_sign = f"{request.method.upper()}&{base_request_uri}&{query_string}"
        method = params["oauth_signature_method"]
        if method not in {"HMAC-SHA1", "HMAC-SHA256"}:
            return _error(
                "woocommerce_rest_authentication_error",
                "Invalid signature - signature method is invalid.",
                401,
            )
        algorithm = hashlib.sha1 if method == "HMAC-SHA1" else hashlib.sha256
        expected = base64.b64encode(
            hmac.new(
                f"{key.consumer_secret}&".encode(), string_to_sign.encode(), algorithm
            ).digest()
        ).decode()
        if not hmac.compare_digest(expected, consumer_signature):
            return _error(
                "woocommerce_rest_authentication_error",
                "Invalid signature - provided signature does not match.",
                401,
            )
        # check_oauth_timestamp_and_nonce
        timestamp = int(params["oauth_timestamp"])
        now = int(self.clock())
        if timestamp < now - TIMESTAMP_WINDOW or timestamp > now + TIMESTAMP_WINDOW:
            return _error("woocommerce_rest_authentication_error", "Invalid timestamp.", 401)
        with self.lock:
            if params["oauth_nonce"] in key.nonces.values():
                return _error(
                    "woocommerce_rest_authentication_error",
                    "Invalid nonce - nonce has already been used.",
                    401,
                )
            key.nonces[timestamp] = params["oauth_nonce"]
            for stamp in [s for s in key.nonces if s < now - TIMESTAMP_WINDOW]:
                del key.nonces[stamp]
        return None

    def _authenticate_over_tls(self, site: Site, request: Request) -> Response | None:
        """WC_REST_Authentication::perform_basic_authentication: the key and secret from the
        Authorization header (PHP_AUTH_USER / PHP_AUTH_PW), else from the consumer_key and
        consumer_secret query parameters; OAuth 1.0a is not looked at over SSL."""
        consumer_key = consumer_secret = ""
        header = "" if site.strips_authorization else request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(header[6:].strip()).decode()
            except (ValueError, UnicodeDecodeError):
                decoded = ""
            consumer_key, _, consumer_secret = decoded.partition(":")
        if not consumer_key or not consumer_secret:
            query = request.query_dict
            consumer_key = query.get("consumer_key", "")
            consumer_secret = query.get("consumer_secret", "")
        if not consumer_key or not consumer_secret:
            return _error("woocommerce_rest_cannot_view", "Sorry, you cannot list resources.", 401)
        key = site.keys.get(wc_api_hash(consumer_key))
        if key is None:
            return _error("woocommerce_rest_authentication_error", "Consumer key is invalid.", 401)
        if not hmac.compare_digest(key.consumer_secret, consumer_secret):
            return _error(
                "woocommerce_rest_authentication_error", "Consumer secret is invalid.", 401
            )
        return None

    def _route(self, site: Site, request: Request, path: list[str]) -> tuple[Response, int]:
        method = request.method
        body = (
            request.json()
            if request.body and "json" in request.headers.get("content-type", "")
            else {}
        )
        with self.lock:
            if path == ["settings", "general"] and method == "GET":
                return Response.json(
                    [
                        {
                            "id": "woocommerce_currency",
                            "label": "Currency",
                            "type": "select",
                            "value": site.currency,
                        },
                        {
                            "id": "woocommerce_store_address",
                            "label": "Address line 1",
                            "type": "text",
                            "value": "",
                        },
                    ]
                ), 0
            if path == ["products", "batch"] and method in {"POST", "PUT", "PATCH"}:
                return self._batch(
                    site,
                    body,
                    lambda data: self._save_product(site, None, data),
                    lambda data: self._save_product(site, int(data["id"]), data),
                    site.products,
                )
            if path and path[0] == "products":
                if len(path) == 1:
                    if method == "POST":
                        return self._created(self._save_product(site, None, body))
                    if method == "GET":
                        return _listing(request, list(site.products.values())), 0
                product_id = int(path[1])
                if product_id not in site.products:
                    return _error("woocommerce_rest_product_invalid_id", "Invalid ID.", 404), 0
                if len(path) == 2:
                    if method == "GET":
                        return Response.json(site.products[product_id]), 0
                    if method in {"PUT", "POST", "PATCH"}:
                        return self._saved(self._save_product(site, product_id, body))
                    if method == "DELETE":
                        return Response.json(site.products.pop(product_id)), 0
                if len(path) >= 3 and path[2] == "variations":
                    if path[3:] == ["batch"]:
                        return self._batch(
                            site,
                            body,
                            lambda data: self._save_variation(site, product_id, None, data),
                            lambda data: self._save_variation(
                                site, product_id, int(data["id"]), data
                            ),
                            site.variations,
                        )
                    if len(path) == 3:
                        if method == "POST":
                            return self._created(self._save_variation(site, product_id, None, body))
                        return _listing(
                            request,
                            [v for v in site.variations.values() if v["parent_id"] == product_id],
                        ), 0
                    variation_id = int(path[3])
                    if site.variations.get(variation_id, {}).get("parent_id") != product_id:
                        return _error(
                            "woocommerce_rest_product_variation_invalid_id", "Invalid ID.", 404
                        ), 0
                    if method in {"PUT", "POST", "PATCH"}:
                        return self._saved(
                            self._save_variation(site, product_id, variation_id, body)
                        )
                    return Response.json(site.variations[variation_id]), 0
            if path == ["orders"] and method == "GET":
                return self._list_orders(site, request), 0
            if path and path[0] == "orders" and len(path) >= 2:
                order_id = int(path[1])
                order = site.orders.get(order_id)
                if order is None:
                    return _error("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", 404), 0
                if len(path) == 2 and method == "GET":
                    return Response.json(order), 0
                if len(path) == 2 and method in {"PUT", "POST", "PATCH"}:
                    return Response.json(self._update_order(site, order, body)), 1
                if path[2:] == ["notes"]:
                    if method == "POST":
                        if not body.get("note"):
                            return _error(
                                "rest_missing_callback_param", "Missing parameter(s): note", 400
                            ), 0
                        note = {
                            "id": self.next_id(),
                            "author": "WooCommerce",
                            "date_created": self.now(),
                            "date_created_gmt": self.now(),
                            "note": body["note"],
                            "customer_note": bool(body.get("customer_note")),
                        }
                        site.notes.setdefault(order_id, []).append(note)
                        if note["customer_note"]:
                            self._email(site, order, "customer_note", note["note"])
                        return Response.json(note, 201), 1
                    return Response.json(site.notes.get(order_id, [])), 0
            if path and path[0] == "webhooks":
                if len(path) == 1 and method == "POST":
                    return self._create_webhook(site, body)
                if len(path) == 1:
                    return Response.json(list(site.webhooks.values())), 0
                webhook_id = int(path[1])
                if webhook_id not in site.webhooks:
                    return _error("woocommerce_rest_webhook_invalid_id", "Invalid ID.", 404), 0
                if method in {"PUT", "POST", "PATCH"}:
                    if "status" in body and body["status"] not in WEBHOOK_STATUSES:
                        return _error("rest_invalid_param", "Invalid parameter(s): status", 400), 0
                    webhook = site.webhooks[webhook_id]
                    webhook.update(
                        {
                            k: body[k]
                            for k in ("status", "name", "delivery_url", "secret")
                            if k in body
                        }
                    )
                    return Response.json({k: v for k, v in webhook.items() if k != "secret"}), 1
                if method == "DELETE":
                    if request.query_dict.get("force") not in {"true", "1"}:
                        return _error(
                            "woocommerce_rest_trash_not_supported",
                            "Webhooks do not support trashing.",
                            501,
                        ), 0
                    return Response.json(site.webhooks.pop(webhook_id)), 1
                webhook = site.webhooks[webhook_id]
                return Response.json({k: v for k, v in webhook.items() if k != "secret"}), 0
        return _error(
            "rest_no_route", "No route was found matching the URL and request method.", 404
        ), 0

    @staticmethod
    def _created(result: tuple[dict | None, Response | None]) -> tuple[Response, int]:
        item, error = result
        return (error, 0) if error is not None else (Response.json(item, 201), 1)

    @staticmethod
    def _saved(result: tuple[dict | None, Response | None]) -> tuple[Response, int]:
        item, error = result
        return (error, 0) if error is not None else (Response.json(item), 1)

    def _batch(self, site: Site, body: dict, create, update, items: dict) -> tuple[Response, int]:
        body = body or {}
        total = sum(len(body.get(k) or []) for k in ("create", "update", "delete"))
        if total > BATCH_LIMIT:
            return _error(
                "woocommerce_rest_request_entity_too_large",
                f"Unable to accept more than {BATCH_LIMIT} items for this request.",
                413,
            ), 0
        answer: dict[str, list] = {}
        for key, action in (("create", create), ("update", update)):
            if key not in body:
                continue
            answer[key] = []
            for data in body[key]:
                if key == "update" and int(data.get("id") or 0) not in items:
                    answer[key].append(
                        {
                            "id": int(data.get("id") or 0),
                            "error": {
                                "code": "woocommerce_rest_product_invalid_id",
                                "message": "Invalid ID.",
                                "data": {"status": 400},
                            },
                        }
                    )
                    continue
                item, error = action(data)
                answer[key].append(
                    item if error is None else {"id": 0, "error": json.loads(error.body)}
                )
        if "delete" in body:
            answer["delete"] = [
                items.pop(
                    int(i),
                    {
                        "id": int(i),
                        "error": {
                            "code": "woocommerce_rest_product_invalid_id",
                            "message": "Invalid ID.",
                            "data": {"status": 404},
                        },
                    },
                )
                for i in body["delete"]
            ]
        return Response.json(answer), total

    def _save_product(
        self, site: Site, product_id: int | None, data: dict
    ) -> tuple[dict | None, Response | None]:
        if product_id is None:
            if not data.get("name"):
                return None, _error(
                    "woocommerce_rest_product_invalid_name", "Product name is required.", 400
                )
            product_id = self.next_id()
            site.products[product_id] = {
                "id": product_id,
                "name": "",
                "slug": "",
                "type": "simple",
                "status": "publish",
                "description": "",
                "sku": "",
                "price": "",
                "regular_price": "",
                "sale_price": "",
                "manage_stock": False,
                "stock_quantity": None,
                "stock_status": "instock",
                "weight": "",
                "images": [],
                "attributes": [],
                "variations": [],
                "date_created": self.now(),
            }
        product = site.products[product_id]
        sku = data.get("sku")
        if sku:
            for other in itertools.chain(site.products.values(), site.variations.values()):
                if other["sku"] == sku and other["id"] != product_id:
                    if product.get("name") == "":
                        site.products.pop(product_id)
                    return None, _error("product_invalid_sku", "Invalid or duplicated SKU.", 400)
        for key in (
            "name",
            "type",
            "status",
            "description",
            "sku",
            "regular_price",
            "sale_price",
            "weight",
            "manage_stock",
            "attributes",
        ):
            if key in data:
                product[key] = data[key]
        if "name" in data:
            product["slug"] = "-".join(str(data["name"]).lower().split())
        if "images" in data:
            product["images"] = [
                {"id": self.next_id(), "src": img.get("src"), "position": i}
                for i, img in enumerate(data["images"])
            ]
        if "stock_quantity" in data:
            product["stock_quantity"] = (
                None if data["stock_quantity"] is None else int(data["stock_quantity"])
            )
            product["stock_status"] = (
                "instock" if (product["stock_quantity"] or 0) > 0 else "outofstock"
            )
        product["price"] = product["sale_price"] or product["regular_price"]
        return product, None

    def _save_variation(
        self, site: Site, product_id: int, variation_id: int | None, data: dict
    ) -> tuple[dict | None, Response | None]:
        parent = site.products[product_id]
        if variation_id is None:
            variation_id = self.next_id()
            site.variations[variation_id] = {
                "id": variation_id,
                "parent_id": product_id,
                "sku": "",
                "price": "",
                "regular_price": "",
                "sale_price": "",
                "manage_stock": False,
                "stock_quantity": None,
                "stock_status": "instock",
                "weight": "",
                "attributes": [],
                "image": None,
                "status": "publish",
            }
            parent["variations"].append(variation_id)
        elif variation_id not in site.variations:
            return None, _error("woocommerce_rest_product_variation_invalid_id", "Invalid ID.", 400)
        variation = site.variations[variation_id]
        sku = data.get("sku")
        if sku:
            for other in itertools.chain(site.products.values(), site.variations.values()):
                if other["sku"] == sku and other["id"] != variation_id:
                    return None, _error("product_invalid_sku", "Invalid or duplicated SKU.", 400)
        for key in (
            "sku",
            "regular_price",
            "sale_price",
            "weight",
            "manage_stock",
            "attributes",
            "status",
        ):
            if key in data:
                variation[key] = data[key]
        if "stock_quantity" in data:
            variation["stock_quantity"] = (
                None if data["stock_quantity"] is None else int(data["stock_quantity"])
            )
            variation["stock_status"] = (
                "instock" if (variation["stock_quantity"] or 0) > 0 else "outofstock"
            )
        variation["price"] = variation["sale_price"] or variation["regular_price"]
        return variation, None

    def _update_order(self, site: Site, order: dict, data: dict) -> dict:
        before = order["status"]
        if "status" in data:
            order["status"] = data["status"]
            if data["status"] == "completed" and before != "completed":
                order["date_completed"] = self.now()
                self._email(site, order, "customer_completed_order", "")
        for meta in data.get("meta_data") or []:
            existing = next((m for m in order["meta_data"] if m["key"] == meta["key"]), None)
            if existing:
                existing["value"] = meta["value"]
            else:
                order["meta_data"].append(
                    {"id": self.next_id(), "key": meta["key"], "value": meta["value"]}
                )
        order["date_modified"] = order["date_modified_gmt"] = self.now()
        if before != order["status"] or data.get("meta_data"):
            snapshot = json.loads(json.dumps(order))
            self._later(lambda: self.deliver(site.slug, "order.updated", snapshot))
        return order

    def _list_orders(self, site: Site, request: Request) -> Response:
        """GET orders: `modified_after` / `modified_before` (ISO 8601, GMT with dates_are_gmt),
        `orderby` date|modified|id, `order` asc|desc, paged by `page` / `per_page` (at most 100)
        with X-WP-Total and X-WP-TotalPages."""
        query = request.query_dict
        orders = list(site.orders.values())
        for name, keep in (("modified_after", 1), ("modified_before", -1)):
            if query.get(name):
                try:
                    bound = self._instant(str(query[name]).replace("Z", "")[:19])
                except ValueError:
                    return _error("rest_invalid_param", f"Invalid parameter(s): {name}", 400)
                orders = [
                    o for o in orders if (self._instant(o["date_modified_gmt"]) - bound) * keep > 0
                ]
        field = {"date": "date_created_gmt", "modified": "date_modified_gmt", "id": "id"}.get(
            str(query.get("orderby") or "date")
        )
        if field is None:
            return _error("rest_invalid_param", "Invalid parameter(s): orderby", 400)
        descending = str(query.get("order") or "desc") == "desc"
        orders.sort(key=lambda o: (o[field], o["id"]), reverse=descending)
        per_page = int(query.get("per_page") or 10)
        if not 1 <= per_page <= 100:
            return _error(
                "rest_invalid_param",
                "Invalid parameter(s): per_page (must be between 1 and 100)",
                400,
            )
        page = max(1, int(query.get("page") or 1))
        pages = max(1, -(-len(orders) // per_page))
        return Response.json(
            orders[(page - 1) * per_page : page * per_page],
            headers={"X-WP-Total": str(len(orders)), "X-WP-TotalPages": str(pages)},
        )

    @staticmethod
    def _instant(value: str) -> float:
        return datetime.fromisoformat(value).replace(tzinfo=UTC).timestamp()

    def _email(self, site: Site, order: dict, kind: str, text: str) -> None:
        site.emails.append(
            {
                "to": order["billing"].get("email", ""),
                "order_id": order["id"],
                "kind": kind,
                "text": text,
            }
        )

    def _create_webhook(self, site: Site, data: dict) -> tuple[Response, int]:
        topic = data.get("topic", "")
        if topic not in WEBHOOK_TOPICS:
            return _error("rest_invalid_param", "Invalid parameter(s): topic", 400), 0
        if not str(data.get("delivery_url", "")).startswith(("http://", "https://")):
            return _error("rest_invalid_param", "Invalid parameter(s): delivery_url", 400), 0
        webhook_id = self.next_id()
        resource, event = topic.split(".")
        webhook = {
            "id": webhook_id,
            "name": data.get("name") or f"Webhook created on {self.now()}",
            "status": data.get("status") or "active",
            "topic": topic,
            "resource": resource,
            "event": event,
            "hooks": [f"woocommerce_{'new' if event == 'created' else 'update'}_{resource}"],
            "delivery_url": data["delivery_url"],
            "date_created": self.now(),
            "secret": data.get("secret") or secrets.token_urlsafe(32),
        }
        site.webhooks[webhook_id] = webhook
        if webhook["status"] == "active":
            # WC_Webhook::deliver_ping: a form-encoded `webhook_id=N`, no signature headers.
            self._later(lambda: self._ping(webhook))
        return Response.json({k: v for k, v in webhook.items() if k != "secret"}, 201), 1

    def _ping(self, webhook: dict) -> None:
        body = f"webhook_id={webhook['id']}".encode()
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "User-Agent": "WooCommerce/9.9.0 Hookshot (WordPress/6.8)",
        }
        status, error = post(webhook["delivery_url"], body, headers)
        self.deliveries.append(
            Delivery(webhook["delivery_url"], "ping", status, body, headers, error)
        )

    # --- webhooks and orders -------------------------------------------------------------------
    def deliver(self, slug: str, topic: str, payload: dict) -> list[Delivery]:
        site = self.sites[slug]
        body = json.dumps(payload).encode()
        results: list[Delivery] = []
        if slug in self.silenced:
            return results
        for webhook in list(site.webhooks.values()):
            if webhook["topic"] != topic or webhook["status"] != "active":
                continue
            resource, event = topic.split(".")
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "WooCommerce/9.9.0 Hookshot (WordPress/6.8)",
                "X-WC-Webhook-Source": site.url + "/",
                "X-WC-Webhook-Topic": topic,
                "X-WC-Webhook-Resource": resource,
                "X-WC-Webhook-Event": event,
                "X-WC-Webhook-Signature": sign_webhook(body, webhook["secret"]),
                "X-WC-Webhook-ID": str(webhook["id"]),
                # wp_hash(id . time()): the same id and second give the same delivery id.
                "X-WC-Webhook-Delivery-ID": hashlib.md5(
                    f"{webhook['id']}{int(self.clock())}".encode(), usedforsecurity=False
                ).hexdigest(),
            }
            status, error = post(webhook["delivery_url"], body, headers)
            delivery = Delivery(webhook["delivery_url"], topic, status, body, headers, error)
            self.deliveries.append(delivery)
            results.append(delivery)
        return results

    def create_order(
        self,
        slug: str,
        *,
        lines: list[dict],
        email: str = "john.doe@example.com",
        first_name: str = "John",
        last_name: str = "Doe",
        deliver: bool = True,
        status: str = "processing",
        payment_method: str = "bacs",
        billing_country: str = "",
    ) -> dict:
        """Place an order in `status`: processing (paid), on-hold (awaiting a bank transfer or
        cheque), pending (no payment yet). `set_order_status` and `delete_order` move it."""
        site = self.sites[slug]
        titles = {
            "bacs": "Direct Bank Transfer",
            "cheque": "Check payments",
            "cod": "Cash on delivery",
        }
        with self.lock:
            order_id = self.next_id()
            line_items = []
            for line in lines:
                item = next(
                    i
                    for i in itertools.chain(site.variations.values(), site.products.values())
                    if i["sku"] == line["sku"]
                )
                parent = site.products[item["parent_id"]] if "parent_id" in item else item
                price = Decimal(item["price"] or "0")
                quantity = int(line["quantity"])
                line_items.append(
                    {
                        "id": self.next_id(),
                        "name": parent["name"],
                        "product_id": parent["id"],
                        "variation_id": item["id"] if "parent_id" in item else 0,
                        "quantity": quantity,
                        "tax_class": "",
                        "subtotal": f"{price * quantity:.2f}",
                        "subtotal_tax": "0.00",
                        "total": f"{price * quantity:.2f}",
                        "total_tax": "0.00",
                        "taxes": [],
                        "meta_data": [],
                        "sku": item["sku"],
                        "price": float(price),
                    }
                )
            total = sum(Decimal(li["total"]) for li in line_items)
            address = {
                "first_name": first_name,
                "last_name": last_name,
                "company": "",
                "address_1": "969 Market",
                "address_2": "",
                "city": "San Francisco",
                "state": "CA",
                "postcode": "94103",
                "country": "US",
            }
            order = {
                "id": order_id,
                "parent_id": 0,
                "number": str(order_id),
                "order_key": "wc_order_" + secrets.token_hex(6),
                "created_via": "checkout",
                "version": "9.9.0",
                "status": status,
                "currency": site.currency,
                "date_created": self.now(),
                "date_created_gmt": self.now(),
                "date_modified": self.now(),
                "date_modified_gmt": self.now(),
                "discount_total": "0.00",
                "discount_tax": "0.00",
                "shipping_total": "0.00",
                "shipping_tax": "0.00",
                "cart_tax": "0.00",
                "total": f"{total:.2f}",
                "total_tax": "0.00",
                "prices_include_tax": False,
                "customer_id": 0,
                "customer_ip_address": "",
                "customer_user_agent": "",
                "customer_note": "",
                "billing": {
                    **address,
                    "email": email,
                    "phone": "(555) 555-5555",
                    **({"country": billing_country} if billing_country else {}),
                },
                "shipping": address,
                "payment_method": payment_method,
                "payment_method_title": titles.get(payment_method, payment_method.title()),
                "transaction_id": "",
                "date_paid": self.now() if status in PAID_STATUSES else None,
                "date_paid_gmt": self.now() if status in PAID_STATUSES else None,
                "date_completed": None,
                "date_completed_gmt": None,
                "cart_hash": "",
                "meta_data": [],
                "line_items": line_items,
                "tax_lines": [],
                "shipping_lines": [],
                "fee_lines": [],
                "coupon_lines": [],
                "refunds": [],
                "_links": {
                    "self": [{"href": f"{site.url}/wp-json/wc/v3/orders/{order_id}"}],
                    "collection": [{"href": f"{site.url}/wp-json/wc/v3/orders"}],
                },
            }
            site.orders[order_id] = order
        if deliver:
            self.deliver(slug, "order.created", order)
        return order

    def set_order_status(self, slug: str, order_id: int, status: str) -> dict:
        """The merchant (or a payment gateway) moves the order: order.updated carries it whole.
        "trash" moves it to the trash, which WooCommerce announces as order.deleted."""
        if status == "trash":
            return self.delete_order(slug, order_id)
        site = self.sites[slug]
        with self.lock:
            order = site.orders[order_id]
            order["status"] = status
            if status in PAID_STATUSES and not order["date_paid"]:
                order["date_paid"] = order["date_paid_gmt"] = self.now()
            order["date_modified"] = order["date_modified_gmt"] = self.now()
            snapshot = json.loads(json.dumps(order))
        self.deliver(slug, "order.updated", snapshot)
        return order

    def delete_order(self, slug: str, order_id: int, *, force: bool = False) -> dict:
        """Trash the order (or delete it for good with `force`): order.deleted's body is only
        the order's id (WC_Webhook builds no resource for a deleted one)."""
        site = self.sites[slug]
        with self.lock:
            order = site.orders.pop(order_id) if force else site.orders[order_id]
            if not force:
                order["status"] = "trash"
        self.deliver(slug, "order.deleted", {"id": order_id})
        return order


def sign_oauth_url(
    url: str,
    method: str,
    params: dict[str, str],
    consumer_key: str,
    consumer_secret: str,
    *,
    timestamp: int | None = None,
    nonce: str | None = None,
    algorithm: str = "HMAC-SHA256",
) -> str:
    """Sign a request the way a WooCommerce client does (for tests of the checker itself)."""
    oauth = {
        **params,
        "oauth_consumer_key": consumer_key,
        "oauth_timestamp": str(timestamp or int(time.time())),
        "oauth_nonce": nonce or secrets.token_hex(16),
        "oauth_signature_method": algorithm,
    }
    ordered = sorted(oauth.items(), key=lambda kv: kv[0].encode())
    query_string = "%26".join(rfc3986(f"{rfc3986(k)}={rfc3986(v)}") for k, v in ordered)
    string_to_sign = f"{method.upper()}&{rfc3986(url)}&{query_string}"
    digest = hashlib.sha1 if algorithm == "HMAC-SHA1" else hashlib.sha256
    oauth["oauth_signature"] = base64.b64encode(
        hmac.new(f"{consumer_secret}&".encode(), string_to_sign.encode(), digest).digest()
    ).decode()
    return f"{url}?{urlencode(oauth)}"
