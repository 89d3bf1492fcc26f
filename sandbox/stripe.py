"""A Stripe API (v1) that runs on this machine, for the calls Dropship makes. No Django inside.

What it does like Stripe:
- form-encoded requests with bracket keys (``metadata[order]=1``, ``expand[]=latest_charge``),
  ``Authorization: Bearer sk_...``, ``Stripe-Account: acct_...`` for a connected account;
- idempotency keys: a POST repeated with the same key replays the first answer (header
  ``Idempotent-Replayed: true``); the same key with different parameters is refused with 400
  ``idempotency_error``; a concurrent request with a key still in flight gets 409;
- customers, Checkout Sessions in setup mode with a hosted page that completes them
  (``/c/pay/cs_...``), SetupIntents, PaymentMethods (test card numbers and the ``pm_card_*``
  magic ids), off-session PaymentIntents that succeed or decline (402 ``card_error``), Charges,
  Refunds (listed per charge: a Charge does not embed them since API 2022-11-15; refund.created
  and refund.updated events), balance transactions with Stripe's processing fee, Connect accounts and account links
  with a hosted onboarding page, Transfers and their reversals, disputes, payouts of connected
  accounts, and Events;
- signed webhooks: each event is POSTed to the configured endpoint with a ``Stripe-Signature``
  header made by stripe-python's own ``WebhookSignature.generate_signature_header``, from a
  background thread (so a webhook never waits on the API call that caused it), retried a few
  times on failure.

Test cards (the checkout page, or ``pm_card_*`` ids):
    4242 4242 4242 4242  visa, succeeds                (pm_card_visa)
    5555 5555 5555 4444  mastercard, succeeds          (pm_card_mastercard)
    4000 0000 0000 0341  attaches, every charge is declined (pm_card_chargeCustomerFail)
    4000 0000 0000 9995  attaches, charges declined: insufficient_funds
    4000 0000 0000 0002  declined, even when saving it  (pm_card_chargeDeclined)
    4000 0027 6000 3184  3-D Secure on every payment: off-session ones are declined with
                         authentication_required; on-session ones redirect to /3ds/{pi}
                         (pm_card_authenticationRequired)
    4000 0025 0000 3155  3-D Secure unless saved for off-session use (our Checkout in setup mode
                         saves it so): off-session payments succeed
                         (pm_card_authenticationRequiredSetupForOffSession)

Control endpoints for the demo and tests (not Stripe's; no authentication):
    POST /_sandbox/faults                  {"path", "method", "status", "count", "after", "delay"}
    POST /_sandbox/charges/{ch}/refunds    {"amount", "silent", "status"}  a dashboard refund
                                           (status "pending": settled later, below)
    POST /_sandbox/refunds/{re}/settle     {"status": "succeeded"|"failed"}  refund.updated
    POST /_sandbox/charges/{ch}/dispute    {"reason"}            the cardholder's bank disputes
    POST /_sandbox/disputes/{dp}/close     {"status": "won"|"lost"}
    POST /_sandbox/accounts/{acct}/payouts {"amount", "currency", "fail"}  a bank payout
    POST /_sandbox/accounts/{acct}/requirements {"currently_due": [...]}  Stripe asks for more
    POST /_sandbox/balance/topup           {"amount", "currency"}  funds available at once
                                           (transfers without source_transaction need them:
                                           else 400 balance_insufficient)
    POST /_sandbox/events/{evt}/resend
"""

from __future__ import annotations

import base64
import contextlib
import copy
import html
import json
import queue
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import parse_qsl

import stripe

from sandbox.server import Delivery, Request, Response, post
from sandbox.state import StateFile
from sandbox.stripe_billing import PORTAL_PATH, BillingMixin
from sandbox.stripe_objects import (
    ACCOUNT_LINK_TTL,
    ALPHANUMERIC,
    API_VERSION,
    CARDS,
    DECLINE_MESSAGES,
    DISPUTE_FEE,
    MAGIC_PAYMENT_METHODS,
    ZERO_DECIMAL,
    ApiError,
    Card,
    _bool,
    _int,
    account_object,
    authentication_page_html,
    balance_transaction_object,
    charge_object,
    checkout_page_html,
    checkout_session_object,
    customer_object,
    decode_form,
    dispute_object,
    format_amount,
    new_id,
    onboarding_page_html,
    payment_intent_object,
    payment_method_object,
    payout_object,
    processing_fee,
    refund_object,
    region_of,
    reversal_object,
    setup_intent_object,
    transfer_object,
)

__all__ = ["CARDS", "MAGIC_PAYMENT_METHODS", "StripeSandbox", "decode_form", "processing_fee"]


@dataclass
class Fault:
    """An injected failure: `status` answered instead of (or, with `after`, after) the real work."""

    path: str
    method: str = "POST"
    status: int = 500
    count: int = 1
    after: bool = False  # do the work, then lose the answer (a timeout after Stripe acted)
    delay: float = 0.0  # seconds to wait before answering (a slow Stripe, for client timeouts)


@dataclass
class IdempotentResult:
    fingerprint: str
    response: Response | None = None  # None while the first request is still running


@dataclass
class CallRecord:
    method: str
    path: str
    status: int
    account: str | None = None
    idempotency_key: str | None = None
    replayed: bool = False


@dataclass
class StripeSandbox(BillingMixin):
    secret_key: str = "sk_test_dropship_sandbox"  # noqa: S105 - the sandbox's test key
    webhook_secret: str = "whsec_dropship_sandbox"  # noqa: S105 - the sandbox's test secret
    webhook_url: str = ""
    # Events of connected accounts go to the Connect endpoint, signed with its own secret, as
    # Stripe does (https://docs.stripe.com/connect/webhooks). Switch `connect_endpoint` off to
    # send every event to the account endpoint with its secret (the old, wrong model).
    connect_webhook_secret: str = "whsec_dropship_connect_sandbox"  # noqa: S105 - test secret
    connect_webhook_url: str = ""
    connect_endpoint: bool = True
    # Where the platform is: an account outside its region must be a `recipient` account.
    platform_country: str = "US"
    # Transfers without a source_transaction draw on the available balance and are refused
    # with `balance_insufficient` when it is short; switch off to let any transfer through.
    check_available_balance: bool = True
    # The currency the platform's balance is kept in. "" (the old model): every charge settles in
    # its own currency. Set (e.g. "usd"), a charge in another currency is converted at
    # `exchange_rates` (charge currency -> settlement currency): its balance transaction's
    # amount and fee are in the settlement currency with the `exchange_rate`, and a transfer
    # funded by it must be in that currency (https://docs.stripe.com/api/balance_transactions/object,
    # https://docs.stripe.com/connect/currencies).
    settlement_currency: str = ""
    exchange_rates: dict[str, float] = field(
        default_factory=lambda: {"cad": 0.73, "eur": 1.08, "gbp": 1.27, "usd": 1.0}
    )
    enabled_events: list[str] = field(default_factory=lambda: ["*"])
    base_url: str = ""  # set by the server once its port is known
    verbose: bool = False
    delivery_attempts: int = 4
    state_file: StateFile | None = None
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        self.lock = threading.RLock()
        self.objects: dict[str, dict] = {}  # every object by id
        self.owner: dict[str, str | None] = {}  # object id -> connected account (None: platform)
        self.sequence: dict[str, int] = {}  # object id -> creation order (lists are newest first)
        self.card_numbers: dict[str, str] = {}  # payment method id -> card number
        self.idempotency: dict[str, IdempotentResult] = {}
        self.faults: list[Fault] = []
        self.calls: list[CallRecord] = []
        self.events: list[dict] = []
        self.deliveries: list[Delivery] = []
        self.link_state: dict[str, dict] = {}  # account link id -> {"account", "used", ...}
        self._outbox: queue.Queue = queue.Queue()
        self._pending = threading.local()
        self._sender = threading.Thread(target=self._deliver_forever, daemon=True)
        self._sender.start()
        if self.state_file is not None:
            self._restore(self.state_file.load())

    def now(self) -> int:
        """Stripe's timestamps: whole seconds."""
        return int(self.clock())

    # --- state across restarts --------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """What a restart keeps: every object with its owner and order, cards, account links."""
        with self.lock:
            return {
                "objects": self.objects,
                "owner": self.owner,
                "sequence": self.sequence,
                "card_numbers": self.card_numbers,
                "link_state": self.link_state,
                "event_ids": [event["id"] for event in self.events],
            }

    def _restore(self, state: dict[str, Any] | None) -> None:
        if state is None:
            return
        self.objects = state["objects"]
        self.owner = state["owner"]
        self.sequence = state["sequence"]
        self.card_numbers = state["card_numbers"]
        self.link_state = state["link_state"]
        self.events = [self.objects[event_id] for event_id in state["event_ids"]]

    def save_state(self) -> None:
        if self.state_file is not None:
            with self.lock:
                self.state_file.save(self.snapshot())

    # --- helpers tests use ------------------------------------------------------------------
    def objects_of(self, kind: str, *, account: str | None = None) -> list[dict]:
        with self.lock:
            return [
                copy.deepcopy(obj)
                for object_id, obj in self.objects.items()
                if obj.get("object") == kind and self.owner.get(object_id) == account
            ]

    def payment_intents(self) -> list[dict]:
        return self.objects_of("payment_intent")

    def get(self, object_id: str) -> dict:
        with self.lock:
            return copy.deepcopy(self.objects[object_id])

    def add_fault(self, path: str, **kwargs: Any) -> Fault:
        fault = Fault(path=path, **kwargs)
        with self.lock:
            self.faults.append(fault)
        return fault

    def events_of(self, *types: str) -> list[dict]:
        with self.lock:
            return [copy.deepcopy(e) for e in self.events if not types or e["type"] in types]

    def sign(self, body: str, *, timestamp: int | None = None, secret: str | None = None) -> str:
        """The Stripe-Signature header for a body, made by stripe-python's own helper."""
        return stripe.WebhookSignature.generate_signature_header(
            body, secret or self.webhook_secret, timestamp
        )

    def is_connect_event(self, event: dict) -> bool:
        """An event of a connected account, which Stripe sends to the Connect endpoint."""
        return self.connect_endpoint and bool(event.get("account"))

    def endpoint_for(self, event: dict) -> tuple[str, str]:
        """(url, signing secret) of the endpoint the event is delivered to."""
        if self.is_connect_event(event):
            return self.connect_webhook_url, self.connect_webhook_secret
        return self.webhook_url, self.webhook_secret

    def signed_delivery(self, event: dict) -> tuple[bytes, dict[str, str]]:
        """(body, headers) exactly as the sandbox delivers the event to its endpoint."""
        body = json.dumps(event, indent=2)
        return body.encode(), {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            "Stripe-Signature": self.sign(body, secret=self.endpoint_for(event)[1]),
        }

    def wait_for_deliveries(self, timeout: float = 10) -> None:
        """Block until every queued webhook has been delivered (or given up on)."""
        deadline = time.monotonic() + timeout
        while self._outbox.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)

    # --- webhooks -----------------------------------------------------------------------------
    def _emit(
        self,
        type_: str,
        obj: dict,
        *,
        account: str | None = None,
        request=None,
        previous: dict | None = None,
    ) -> dict:
        data: dict[str, Any] = {"object": self._public(obj)}
        if previous is not None:
            data["previous_attributes"] = copy.deepcopy(previous)
        event = {
            "id": new_id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": self.now(),
            "data": data,
            "livemode": False,
            "pending_webhooks": 0,
            "request": request or {"id": None, "idempotency_key": None},
            "type": type_,
        }
        if account:
            event["account"] = account
        event["pending_webhooks"] = (
            1 if self._is_enabled(type_) and self.endpoint_for(event)[0] else 0
        )
        with self.lock:
            self.events.append(event)
            self._store(event, None)
        if event["pending_webhooks"]:
            if not hasattr(self._pending, "items"):
                self._pending.items = []
            self._pending.items.append(event)
        return event

    def _is_enabled(self, type_: str) -> bool:
        return "*" in self.enabled_events or type_ in self.enabled_events

    def _flush_events(self) -> None:
        """Queue the events a request produced, once its answer is ready (never before)."""
        items, self._pending.items = getattr(self._pending, "items", []), []
        for event in items:
            self._outbox.put(event)

    def resend(self, event_id: str, url: str | None = None) -> Delivery:
        event = self.get(event_id)
        return self._deliver(event, url or self.endpoint_for(event)[0])

    def _deliver_forever(self) -> None:
        while True:
            event = self._outbox.get()
            try:
                for attempt in range(self.delivery_attempts):
                    delivery = self._deliver(event, self.endpoint_for(event)[0])
                    if 200 <= delivery.status < 300:
                        break
                    self.sleep(min(0.25 * 2**attempt, 2))
            finally:
                self._outbox.task_done()

    def _deliver(self, event: dict, url: str) -> Delivery:
        body, headers = self.signed_delivery(event)
        status, error = post(url, body, headers, timeout=10)
        delivery = Delivery(url=url, topic=event["type"], status=status, body=body, headers=headers)
        delivery.error = error
        with self.lock:
            self.deliveries.append(delivery)
        return delivery

    # --- HTTP ---------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        parts = [p for p in request.path.split("/") if p]
        try:
            if parts[:1] == ["_sandbox"]:
                return self._control(request, parts[1:])
            if parts[:2] == ["c", "pay"] and len(parts) == 3:
                return self._checkout_page(request, parts[2])
            portal = PORTAL_PATH.match("/".join(parts))
            if portal:
                return self._portal_page(request, portal[1])
            if parts[:1] == ["3ds"] and len(parts) == 2:
                return self._authentication_page(request, parts[1])
            if parts[:2] == ["setup", "e"] and len(parts) == 4:
                return self._onboarding_page(request, parts[2], parts[3])
            if parts[:1] == ["v1"]:
                return self._api(request, parts[1:])
            if not parts:
                return self._index()
            return Response.html("<h1>Not found</h1>", 404)
        finally:
            self.save_state()
            self._flush_events()

    def _error_response(self, error: ApiError, request_id: str) -> Response:
        return Response.json({"error": error.body}, error.status, {"Request-Id": request_id})

    def _authenticate(self, request: Request) -> ApiError | None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() == "basic":
            token = base64.b64decode(token or "").decode("utf-8", "replace").split(":", 1)[0]
        elif scheme.lower() != "bearer":
            token = ""
        if not token:
            return ApiError(
                401,
                "invalid_request_error",
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
            )
        if not secrets.compare_digest(token, self.secret_key):
            shown = token[:8] + "*" * 4 + token[-4:] if len(token) > 12 else "****"
            return ApiError(401, "invalid_request_error", f"Invalid API Key provided: {shown}")
        return None

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.method == method and path.startswith(fault.path) and fault.count > 0:
                    fault.count -= 1
                    return fault
        return None

    @staticmethod
    def _fault_response(fault: Fault, request_id: str) -> Response:
        if fault.status == 429:
            error = ApiError(
                429,
                "invalid_request_error",
                "Request rate limit exceeded. Learn more about rate limits here "
                "https://stripe.com/docs/rate-limits.",
                code="rate_limit",
            )
        else:
            error = ApiError(
                fault.status,
                "api_error",
                "An unknown error occurred while processing your request.",
            )
        return Response.json({"error": error.body}, fault.status, {"Request-Id": request_id})

    def _api(self, request: Request, path: list[str]) -> Response:
        request_id = new_id("req", 14)
        method = request.method
        account = request.headers.get("stripe-account") or None
        key = request.headers.get("idempotency-key") if method == "POST" else None
        failure = self._authenticate(request)
        if failure is None and account and self.objects.get(account, {}).get("object") != "account":
            failure = ApiError(
                403,
                "invalid_request_error",
                f"The provided key '{self.secret_key[:8]}****' does not have access to account "
                f"'{account}' (or that account does not exist). Application access may have been "
                "revoked.",
                code="account_invalid",
            )
        if failure is not None:
            response = self._error_response(failure, request_id)
            self._record(method, request.path, response, account, key)
            return response
        pairs = (
            parse_qsl(request.body.decode("utf-8"), keep_blank_values=True)
            if method == "POST"
            else request.query
        )
        params = decode_form(pairs)
        fault = self._take_fault(method, request.path)
        if fault is not None and not fault.after:
            self.sleep(fault.delay)
            response = self._fault_response(fault, request_id)
            self._record(method, request.path, response, account, key)
            return response
        if key:
            fingerprint = json.dumps([method, request.path, account, sorted(pairs)])
            with self.lock:
                previous = self.idempotency.get(key)
                if previous is None:
                    self.idempotency[key] = IdempotentResult(fingerprint)
            if previous is not None:
                response = self._replay(previous, fingerprint, key, request_id)
                self._record(method, request.path, response, account, key, replayed=True)
                return response
        try:
            with self.lock:
                data, status = self._route(method, path, params, account, key, request_id)
            response = Response.json(data, status, {"Request-Id": request_id})
        except ApiError as error:
            response = self._error_response(error, request_id)
        except Exception as exc:  # a sandbox bug: answer like Stripe's 500, keep nothing
            if key:
                with self.lock:
                    self.idempotency.pop(key, None)
            error = ApiError(500, "api_error", f"sandbox error: {exc!r}")
            response = self._error_response(error, request_id)
            self._record(method, request.path, response, account, key)
            return response
        if key:
            with self.lock:
                self.idempotency[key].response = response
        if fault is not None:  # the work is done and saved under the key; the answer is lost
            response = self._fault_response(fault, request_id)
        self._record(method, request.path, response, account, key)
        if fault is not None:
            self.sleep(fault.delay)
        return response

    def _replay(
        self, previous: IdempotentResult, fingerprint: str, key: str, request_id: str
    ) -> Response:
        if previous.fingerprint != fingerprint:
            return self._error_response(
                ApiError(
                    400,
                    "idempotency_error",
                    "Keys for idempotent requests can only be used with the same parameters they "
                    f"were first used with. Try using a key other than '{key}' if you meant to "
                    "execute a different request.",
                ),
                request_id,
            )
        if previous.response is None:
            return self._error_response(
                ApiError(
                    409,
                    "idempotency_error",
                    "There is currently another in-progress request using this Idempotent Key "
                    "(that probably means you submitted twice, and the other request is still "
                    f"going through): {key}. Please try again later.",
                ),
                request_id,
            )
        return Response(
            status=previous.response.status,
            body=previous.response.body,
            headers={**previous.response.headers, "Idempotent-Replayed": "true"},
        )

    def _record(self, method, path, response, account, key, *, replayed: bool = False) -> None:
        with self.lock:
            self.calls.append(CallRecord(method, path, response.status, account, key, replayed))

    # --- routing ------------------------------------------------------------------------------
    def _route(
        self,
        method: str,
        path: list[str],
        params: dict,
        account: str | None,
        key: str | None,
        request_id: str,
    ) -> tuple[Any, int]:
        request = {"id": request_id, "idempotency_key": key}
        resource, rest = path[0] if path else "", path[1:]
        expand = params.pop("expand", None) or []
        if method == "GET" and rest and resource not in {"checkout"}:
            obj = self._find(rest[0], resource, account)
            if len(rest) == 1:
                return self._expanded(obj, expand), 200
        if resource == "customers":
            if method == "POST" and not rest:
                return self._create_customer(params, account), 200
            if method == "POST" and len(rest) == 1:
                return self._update_customer(rest[0], params, account), 200
        elif resource == "checkout" and rest[:1] == ["sessions"]:
            if method == "POST" and len(rest) == 1:
                return self._create_checkout_session(params, account), 200
            if method == "GET" and len(rest) == 2:
                session = self._find(rest[1], "checkout.session", account)
                return self._expanded(session, expand), 200
        elif resource == "payment_methods":
            if method == "POST" and len(rest) == 2 and rest[1] == "attach":
                return self._attach_payment_method(rest[0], params, account, request), 200
            if method == "POST" and len(rest) == 2 and rest[1] == "detach":
                return self._detach_payment_method(rest[0], account), 200
        elif resource == "payment_intents":
            if method == "POST" and not rest:
                intent = self._create_payment_intent(params, account, request)
                return self._expanded(intent, expand), 200
            if method == "POST" and len(rest) == 2 and rest[1] == "confirm":
                intent = self._confirm_payment_intent(rest[0], params, account, request)
                return self._expanded(intent, expand), 200
            if method == "POST" and len(rest) == 2 and rest[1] == "cancel":
                intent = self._cancel_payment_intent(rest[0], params, account, request)
                return self._expanded(intent, expand), 200
        elif resource == "refunds":
            if method == "POST" and not rest:
                return self._create_refund(params, account, request), 200
            if method == "GET" and not rest:
                return self._list("refund", params, account, self._refund_filter(params)), 200
        elif resource == "accounts":
            if method == "POST" and not rest:
                return self._create_account(params, request), 200
        elif resource == "account_links":
            if method == "POST" and not rest:
                return self._create_account_link(params), 200
        elif resource == "transfers":
            if method == "POST" and not rest:
                return self._create_transfer(params, account, request), 200
            if method == "GET" and not rest:
                return self._list("transfer", params, account, self._transfer_filter(params)), 200
            if method == "POST" and len(rest) == 2 and rest[1] == "reversals":
                return self._create_reversal(rest[0], params, account, request), 200
        elif resource == "balance_transactions":
            if method == "GET" and not rest:
                return self._list(
                    "balance_transaction", params, account, self._balance_filter(params)
                ), 200
        elif resource == "balance":
            if method == "GET" and not rest:
                return self._balance(account), 200
        elif (billing := self._route_billing(method, resource, rest, params, account)) is not None:
            return billing, 200
        elif resource == "events" and method == "GET" and not rest:
            wanted = params.get("type")
            return self._list(
                "event", params, None, lambda e: not wanted or e["type"] == wanted
            ), 200
        raise ApiError(
            404,
            "invalid_request_error",
            f"Unrecognized request URL ({method}: /v1/{'/'.join(path)}). Please see "
            "https://stripe.com/docs or we can help at https://support.stripe.com/.",
        )

    KINDS = {
        "customers": "customer",
        "payment_methods": "payment_method",
        "payment_intents": "payment_intent",
        "setup_intents": "setup_intent",
        "charges": "charge",
        "refunds": "refund",
        "accounts": "account",
        "transfers": "transfer",
        "balance_transactions": "balance_transaction",
        "events": "event",
        "disputes": "dispute",
        "payouts": "payout",
        "checkout.session": "checkout.session",
        "products": "product",
        "prices": "price",
        "subscriptions": "subscription",
        "invoices": "invoice",
    }

    def _find(self, object_id: str, resource: str, account: str | None) -> dict:
        kind = self.KINDS.get(resource, resource)
        obj = self.objects.get(object_id)
        shared = kind in {"account", "event"}
        if (
            obj is None
            or obj.get("object") != kind
            or (not shared and self.owner.get(object_id) != account)
        ):
            raise ApiError.no_such(kind.replace("_", " "), object_id)
        return obj

    def _store(self, obj: dict, account: str | None = None) -> dict:
        self.objects[obj["id"]] = obj
        self.owner[obj["id"]] = account
        self.sequence[obj["id"]] = len(self.sequence)
        return obj

    def _expanded(self, obj: dict, expand: list[str]) -> dict:
        result = copy.deepcopy(obj)
        for dotted in expand if isinstance(expand, list) else [expand]:
            self._expand_path(result, dotted.split("."))
        return result

    def _expand_path(self, node: Any, names: list[str]) -> None:
        if not names or not isinstance(node, dict):
            return
        name, rest = names[0], names[1:]
        value = node.get(name)
        if isinstance(value, str) and value in self.objects:
            value = copy.deepcopy(self.objects[value])
            node[name] = value
        self._expand_path(value, rest)

    def _list(self, kind: str, params: dict, account: str | None, keep) -> dict:
        limit = max(1, min(_int(params, "limit") or 10, 100))
        items = [
            obj
            for object_id, obj in self.objects.items()
            if obj.get("object") == kind
            and (kind == "event" or self.owner.get(object_id) == account)
            and keep(obj)
        ]
        items.sort(key=lambda obj: (obj["created"], self.sequence[obj["id"]]), reverse=True)
        start = params.get("starting_after")
        if start:
            ids = [obj["id"] for obj in items]
            if start not in ids:
                raise ApiError.no_such(kind, start, "starting_after")
            items = items[ids.index(start) + 1 :]
        page = items[:limit]
        return {
            "object": "list",
            "data": [self._public(obj) for obj in page],
            "has_more": len(items) > limit,
            "url": f"/v1/{kind}s",
        }

    @staticmethod
    def _public(obj: dict) -> dict:
        return {k: copy.deepcopy(v) for k, v in obj.items() if not k.startswith("_")}

    @staticmethod
    def _range_filter(params: dict, name: str):
        bounds = params.get(name)
        if not isinstance(bounds, dict):
            exact = _int(params, name)
            return (lambda value: value == exact) if exact is not None else (lambda value: True)
        checks = {
            "gt": lambda v, b: v > b,
            "gte": lambda v, b: v >= b,
            "lt": lambda v, b: v < b,
            "lte": lambda v, b: v <= b,
        }
        wanted = [(checks[op], int(bound)) for op, bound in bounds.items() if op in checks]
        return lambda value: all(check(value, bound) for check, bound in wanted)

    def _balance_filter(self, params: dict):
        created = self._range_filter(params, "created")
        wanted_type, wanted_source = params.get("type"), params.get("source")
        return lambda bt: (
            created(bt["created"])
            and (not wanted_type or bt["type"] == wanted_type)
            and (not wanted_source or bt["source"] == wanted_source)
        )

    @staticmethod
    def _refund_filter(params: dict):
        charge, intent = params.get("charge"), params.get("payment_intent")
        return lambda refund: (
            (not charge or refund["charge"] == charge)
            and (not intent or refund["payment_intent"] == intent)
        )

    def _transfer_filter(self, params: dict):
        group, destination = params.get("transfer_group"), params.get("destination")
        created = self._range_filter(params, "created")
        return lambda tr: (
            created(tr["created"])
            and (not group or tr["transfer_group"] == group)
            and (not destination or tr["destination"] == destination)
        )

    # --- customers, cards, checkout ----------------------------------------------------------
    def _create_customer(self, params: dict, account: str | None) -> dict:
        customer = customer_object(now=self.now(), params=params)
        return self._public(self._store(customer, account))

    def _update_customer(self, customer_id: str, params: dict, account: str | None) -> dict:
        customer = self._find(customer_id, "customers", account)
        for name in ("email", "name", "description"):
            if name in params:
                customer[name] = params[name]
        if "metadata" in params:
            customer["metadata"].update(params["metadata"] or {})
        default = (params.get("invoice_settings") or {}).get("default_payment_method")
        if default is not None:
            if default:
                method = self._find(default, "payment_methods", account)
                if method.get("customer") != customer_id:
                    raise ApiError(
                        400,
                        "invalid_request_error",
                        f"No such PaymentMethod: '{default}'; It's possible this PaymentMethod "
                        "exists on one of your connected accounts, in which case you should "
                        "retry this request on that connected account.",
                        code="resource_missing",
                        param="invoice_settings[default_payment_method]",
                    )
            customer["invoice_settings"]["default_payment_method"] = default or None
        return self._public(customer)

    def _new_payment_method(self, number: str, account: str | None, *, name: str = "") -> dict:
        card = CARDS[number]
        method = payment_method_object(now=self.now(), card=card, number=number, name=name)
        self.card_numbers[method["id"]] = number
        return self._store(method, account)

    def _payment_method(self, method_id: str, account: str | None) -> dict:
        if method_id in MAGIC_PAYMENT_METHODS:
            return self._new_payment_method(MAGIC_PAYMENT_METHODS[method_id], account)
        return self._find(method_id, "payment_methods", account)

    def _attach_payment_method(
        self, method_id: str, params: dict, account: str | None, request: dict
    ) -> dict:
        customer_id = params.get("customer")
        if not customer_id:
            raise ApiError.missing("customer")
        self._find(customer_id, "customers", account)
        method = self._payment_method(method_id, account)
        card = CARDS[self.card_numbers[method["id"]]]
        if card.decline_on_setup:
            raise self._card_error(card.decline_on_setup, extra={"payment_method": method["id"]})
        if method["customer"] and method["customer"] != customer_id:
            raise ApiError(
                400,
                "invalid_request_error",
                "The payment method you provided has already been attached to a customer.",
                code="payment_method_unexpected_state",
            )
        method["customer"] = customer_id
        self._emit("payment_method.attached", method, account=account, request=request)
        return self._public(method)

    def _detach_payment_method(self, method_id: str, account: str | None) -> dict:
        method = self._find(method_id, "payment_methods", account)
        method["customer"] = None
        return self._public(method)

    def _create_checkout_session(self, params: dict, account: str | None) -> dict:
        mode = params.get("mode")
        if mode == "subscription":
            return self._create_subscription_checkout(params, account)
        if mode != "setup":
            raise ApiError(
                400,
                "invalid_request_error",
                "This sandbox supports Checkout in setup and subscription modes only.",
                param="mode",
            )
        if not params.get("success_url"):
            raise ApiError.missing("success_url")
        customer = params.get("customer")
        if customer:
            self._find(customer, "customers", account)
        now = self.now()
        setup_intent = self._store(
            setup_intent_object(now=now, customer=customer, params=params),
            account,
        )
        setup_intent["client_secret"] = f"{setup_intent['id']}_secret_{secrets.token_hex(12)}"
        session_id = f"cs_test_{''.join(secrets.choice(ALPHANUMERIC) for _ in range(58))}"
        url = f"{self.base_url}/c/pay/{session_id}"
        session = checkout_session_object(
            session_id=session_id,
            now=now,
            customer=customer,
            url=url,
            setup_intent=setup_intent,
            params=params,
        )
        return self._public(self._store(session, account))

    def complete_checkout(self, session_id: str, number: str, *, name: str = "") -> dict:
        """What the hosted page does when the card is submitted: returns the session."""
        with self.lock:
            session = self.objects.get(session_id)
            if session is None or session.get("object") != "checkout.session":
                raise ApiError.no_such("checkout.session", session_id)
            if session["status"] != "open" or session["expires_at"] < self.clock():
                raise ApiError(
                    400, "invalid_request_error", "This Checkout Session is no longer active."
                )
            card = CARDS.get(number)
            if card is None:
                raise ApiError(
                    402,
                    "card_error",
                    "Your card number is incorrect.",
                    code="incorrect_number",
                    param="number",
                )
            if card.decline_on_setup:
                raise self._card_error(card.decline_on_setup)
            account = self.owner.get(session_id)
            if session["mode"] == "subscription":
                return self._complete_subscription_checkout(
                    session, number, name=name, account=account
                )
            method = self._new_payment_method(number, account, name=name)
            customer = session["customer"]
            if customer is None:
                customer = self._create_customer({"email": session["customer_email"]}, account)[
                    "id"
                ]
                session["customer"] = customer
            method["customer"] = customer
            setup_intent = self.objects[session["setup_intent"]]
            setup_intent.update(
                {"customer": customer, "payment_method": method["id"], "status": "succeeded"}
            )
            session["status"] = "complete"
            session["customer_details"] = {
                "address": None,
                "email": self.objects[customer].get("email"),
                "name": name or None,
                "phone": None,
                "tax_exempt": "none",
                "tax_ids": [],
            }
            self._emit("payment_method.attached", method, account=account)
            self._emit("setup_intent.succeeded", setup_intent, account=account)
            self._emit("checkout.session.completed", session, account=account)
            return copy.deepcopy(session)

    def _checkout_page(self, request: Request, session_id: str) -> Response:
        session = self.objects.get(session_id)
        if session is None or session.get("object") != "checkout.session":
            return Response.html("<h1>This checkout link is not valid.</h1>", 404)
        if request.method == "POST":
            form = dict(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
            number = re.sub(r"\D", "", form.get("cardnumber", ""))
            try:
                completed = self.complete_checkout(session_id, number, name=form.get("name", ""))
            except ApiError as error:
                return self._checkout_html(session, error=error.body["message"], status=402)
            return Response(
                status=303,
                headers={
                    "Location": completed["success_url"].replace(
                        "{CHECKOUT_SESSION_ID}", completed["id"]
                    )
                },
            )
        if session["status"] != "open":
            return Response.html("<h1>This checkout session is already complete.</h1>", 410)
        return self._checkout_html(session)

    def _checkout_html(self, session: dict, *, error: str = "", status: int = 200) -> Response:
        customer = self.objects.get(session.get("customer") or "", {})
        return Response.html(
            checkout_page_html(session=session, customer=customer, error=error), status
        )

    # --- payments -----------------------------------------------------------------------------
    def _card_error(self, decline_code: str, *, extra: dict | None = None) -> ApiError:
        return ApiError(
            402,
            "card_error",
            DECLINE_MESSAGES.get(decline_code, "Your card was declined."),
            code="card_declined",
            extra={"decline_code": decline_code, **(extra or {})},
        )

    def _balance_transaction(
        self,
        *,
        amount: int,
        currency: str,
        type_: str,
        category: str,
        source: str,
        account: str | None,
        fee: int = 0,
        description: str | None = None,
        fee_description: str = "Stripe processing fees",
        exchange_rate: float | None = None,
    ) -> dict:
        now = self.now()
        transaction = balance_transaction_object(
            amount=amount,
            now=now,
            currency=currency,
            description=description,
            fee=fee,
            category=category,
            source=source,
            type_=type_,
            fee_description=fee_description,
        )
        transaction["exchange_rate"] = exchange_rate
        return self._store(transaction, account)

    def settled(self, amount: int, currency: str) -> tuple[int, str, float | None]:
        """What a charge (or refund) of `amount` `currency` is on the platform's balance: the
        amount, its currency, and the exchange rate when Stripe converted it."""
        settlement = self.settlement_currency.lower()
        if not settlement or settlement == currency:
            return amount, currency, None
        rate = self.exchange_rates[currency]
        converted = int((Decimal(amount) * Decimal(str(rate))).to_integral_value(ROUND_HALF_UP))
        return converted, settlement, rate

    def _create_payment_intent(self, params: dict, account: str | None, request: dict) -> dict:
        amount = _int(params, "amount", required=True)
        currency = (params.get("currency") or "").lower()
        if not currency:
            raise ApiError.missing("currency")
        minimum = 1 if currency in ZERO_DECIMAL else 50
        if amount < minimum:
            raise ApiError(
                400,
                "invalid_request_error",
                f"Amount must be at least {format_amount(minimum, currency)} {currency}",
                code="amount_too_small",
                param="amount",
            )
        customer = params.get("customer")
        if customer:
            self._find(customer, "customers", account)
        method = None
        if params.get("payment_method"):
            method = self._payment_method(params["payment_method"], account)
            if customer and method["customer"] not in (None, customer):
                raise ApiError(
                    400,
                    "invalid_request_error",
                    f"The provided PaymentMethod {method['id']} belongs to a different Customer.",
                    code="payment_method_invalid_parameter",
                    param="payment_method",
                )
            if customer and method["customer"] is None and params.get("off_session"):
                raise ApiError(
                    400,
                    "invalid_request_error",
                    "The provided PaymentMethod was previously used with a PaymentIntent without "
                    "Customer attachment, shared with a connected account without Customer "
                    "attachment, or was detached from a Customer. It may not be used again.",
                    code="payment_method_unexpected_state",
                    param="payment_method",
                )
        now = self.now()
        intent = payment_intent_object(
            amount=amount,
            now=now,
            currency=currency,
            customer=customer,
            method=method,
            params=params,
        )
        intent["client_secret"] = f"{intent['id']}_secret_{secrets.token_hex(12)}"
        self._store(intent, account)
        self._emit("payment_intent.created", intent, account=account, request=request)
        if method is None or not _bool(params.get("confirm")):
            return self._public(intent)
        return self._attempt(intent, method, params, account, request)

    def _attempt(
        self, intent: dict, method: dict, params: dict, account: str | None, request: dict | None
    ) -> dict:
        """Confirm a PaymentIntent with its card: it succeeds, is declined (402), or the bank asks
        for 3-D Secure: off-session that is a decline (authentication_required), on-session the
        customer is sent to the bank's page (`requires_action`)."""
        card = CARDS[self.card_numbers[method["id"]]]
        off_session = _bool(params.get("off_session"))
        set_up = method.get("customer") is not None  # saved for later use by Checkout in setup mode
        asks = card.authentication == "always" or (
            card.authentication == "unless_set_up" and not (off_session and set_up)
        )
        if asks and off_session:
            error = self._card_error("authentication_required")
            error.body["code"] = "authentication_required"
            intent["status"] = "requires_payment_method"
            intent["last_payment_error"] = {**error.body, "payment_method": self._public(method)}
            self._emit("payment_intent.payment_failed", intent, account=account, request=request)
            error.body.update(
                {"payment_intent": self._public(intent), "payment_method": self._public(method)}
            )
            raise error
        if asks:
            return_url = params.get("return_url")
            if not return_url:
                raise ApiError.missing("return_url")
            intent.update(
                {
                    "status": "requires_action",
                    "payment_method": method["id"],
                    "last_payment_error": None,
                    "next_action": {
                        "type": "redirect_to_url",
                        "redirect_to_url": {
                            "url": f"{self.base_url}/3ds/{intent['id']}",
                            "return_url": return_url,
                        },
                    },
                }
            )
            self._emit("payment_intent.requires_action", intent, account=account, request=request)
            return self._public(intent)
        return self._charge_intent(intent, method, card, account, request)

    def _charge_intent(
        self, intent: dict, method: dict, card: Card, account: str | None, request: dict | None
    ) -> dict:
        charge = self._new_charge(intent, method, card, account)
        intent["latest_charge"] = charge["id"]
        if card.decline_on_charge:
            error = self._card_error(card.decline_on_charge)
            intent["status"] = "requires_payment_method"
            intent["last_payment_error"] = {
                **error.body,
                "charge": charge["id"],
                "payment_method": self._public(method),
            }
            self._emit("charge.failed", charge, account=account, request=request)
            self._emit("payment_intent.payment_failed", intent, account=account, request=request)
            error.body.update(
                {
                    "charge": charge["id"],
                    "payment_intent": self._public(intent),
                    "payment_method": self._public(method),
                    "request_log_url": None,
                }
            )
            raise error
        intent["status"] = "succeeded"
        intent["amount_received"] = intent["amount"]
        intent["next_action"] = None
        intent["last_payment_error"] = None
        self._emit("charge.succeeded", charge, account=account, request=request)
        self._emit("payment_intent.succeeded", intent, account=account, request=request)
        return self._public(intent)

    def _confirm_payment_intent(
        self, intent_id: str, params: dict, account: str | None, request: dict
    ) -> dict:
        intent = self._find(intent_id, "payment_intents", account)
        if intent["status"] not in {"requires_payment_method", "requires_confirmation"}:
            raise ApiError(
                400,
                "invalid_request_error",
                f"You cannot confirm this PaymentIntent because it has a status of "
                f"{intent['status']}.",
                code="payment_intent_unexpected_state",
            )
        method_id = params.get("payment_method") or intent["payment_method"]
        if not method_id:
            raise ApiError.missing("payment_method")
        method = self._payment_method(method_id, account)
        intent["payment_method"] = method["id"]
        return self._attempt(intent, method, params, account, request)

    def _cancel_payment_intent(
        self, intent_id: str, params: dict, account: str | None, request: dict
    ) -> dict:
        """Stripe cancels a PaymentIntent that has not charged (requires_payment_method,
        requires_confirmation, requires_action, requires_capture): it can never be confirmed or
        authenticated again. A canceled or succeeded one is refused
        (https://docs.stripe.com/api/payment_intents/cancel)."""
        intent = self._find(intent_id, "payment_intents", account)
        cancellable = {
            "requires_payment_method",
            "requires_confirmation",
            "requires_action",
            "requires_capture",
        }
        if intent["status"] not in cancellable:
            raise ApiError(
                400,
                "invalid_request_error",
                f"You cannot cancel this PaymentIntent because it has a status of "
                f"{intent['status']}. Only a PaymentIntent with one of the following statuses "
                f"may be canceled: {', '.join(sorted(cancellable))}.",
                code="payment_intent_unexpected_state",
            )
        intent.update(
            {
                "status": "canceled",
                "canceled_at": self.now(),
                "cancellation_reason": params.get("cancellation_reason") or None,
                "next_action": None,
            }
        )
        self._emit("payment_intent.canceled", intent, account=account, request=request)
        return self._public(intent)

    def authenticate(self, intent_id: str, *, complete: bool) -> dict:
        """What the bank's 3-D Secure page does: the payment goes through, or it fails."""
        with self.lock:
            intent = self.objects[intent_id]
            if intent["status"] != "requires_action":
                raise ApiError(400, "invalid_request_error", "Nothing to authenticate.")
            account = self.owner.get(intent_id)
            method = self.objects[intent["payment_method"]]
            if complete:
                card = CARDS[self.card_numbers[method["id"]]]
                with contextlib.suppress(
                    ApiError
                ):  # declined after authenticating: the intent says so
                    self._charge_intent(intent, method, card, account, None)
            else:
                error = ApiError(
                    402,
                    "card_error",
                    "We are unable to authenticate your payment method. Please choose a "
                    "different payment method and try again.",
                    code="payment_intent_authentication_failure",
                )
                intent.update(
                    {
                        "status": "requires_payment_method",
                        "next_action": None,
                        "last_payment_error": {
                            **error.body,
                            "payment_method": self._public(method),
                        },
                    }
                )
                self._emit("payment_intent.payment_failed", intent, account=account)
            return copy.deepcopy(intent)

    def _authentication_page(self, request: Request, intent_id: str) -> Response:
        intent = self.objects.get(intent_id)
        if intent is None or intent.get("object") != "payment_intent":
            return Response.html("<h1>This authentication link is not valid.</h1>", 404)
        if intent["status"] != "requires_action":
            return Response.html("<h1>This payment needs no authentication now.</h1>", 410)
        if request.method == "POST":
            form = dict(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
            return_url = intent["next_action"]["redirect_to_url"]["return_url"]
            done = self.authenticate(intent_id, complete=form.get("action") == "complete")
            separator = "&" if "?" in return_url else "?"
            outcome = "succeeded" if done["status"] == "succeeded" else "failed"
            location = (
                f"{return_url}{separator}payment_intent={intent_id}&redirect_status={outcome}"
            )
            return Response(status=303, headers={"Location": location})
        return Response.html(authentication_page_html(intent=intent))

    def _new_charge(self, intent: dict, method: dict, card: Card, account: str | None) -> dict:
        failed = bool(card.decline_on_charge)
        charge_id = new_id("ch")
        amount, currency = intent["amount"], intent["currency"]
        balance_transaction = None
        if not failed:
            settled, settled_currency, rate = self.settled(amount, currency)
            balance_transaction = self._balance_transaction(
                amount=settled,
                currency=settled_currency,
                type_="charge",
                category="charge",
                source=charge_id,
                account=account,
                fee=processing_fee(settled),
                description=intent["description"],
                exchange_rate=rate,
            )["id"]
        charge = charge_object(
            now=self.now(),
            charge_id=charge_id,
            amount=amount,
            balance_transaction=balance_transaction,
            currency=currency,
            failed=failed,
            intent=intent,
            method=method,
            card=card,
        )
        return self._store(charge, account)

    def _charge_for(self, params: dict, account: str | None) -> dict:
        if params.get("charge"):
            return self._find(params["charge"], "charges", account)
        if params.get("payment_intent"):
            intent = self._find(params["payment_intent"], "payment_intents", account)
            if not intent.get("latest_charge") or intent["status"] != "succeeded":
                raise ApiError(
                    400,
                    "invalid_request_error",
                    f"This PaymentIntent ({intent['id']}) does not have a successful charge to "
                    "refund.",
                    code="charge_not_refundable",
                )
            return self.objects[intent["latest_charge"]]
        raise ApiError(
            400,
            "invalid_request_error",
            "One of the following params should be provided for this request: payment_intent "
            "or charge.",
            code="parameter_missing",
        )

    def _create_refund(
        self,
        params: dict,
        account: str | None,
        request: dict | None,
        *,
        silent: bool = False,
        status: str = "succeeded",
    ) -> dict:
        charge = self._charge_for(params, account)
        remaining = charge["amount_captured"] - charge["amount_refunded"]
        amount = _int(params, "amount")
        amount = remaining if amount is None else amount
        if charge["status"] != "succeeded":
            raise ApiError(
                400,
                "invalid_request_error",
                f"Charge {charge['id']} has not succeeded and cannot be refunded.",
                code="charge_not_refundable",
            )
        if charge["disputed"]:
            raise ApiError(
                400,
                "invalid_request_error",
                f"Charge {charge['id']} has been charged back; cannot issue a refund.",
                code="charge_disputed",
            )
        if remaining <= 0:
            raise ApiError(
                400,
                "invalid_request_error",
                f"Charge {charge['id']} has already been refunded.",
                code="charge_already_refunded",
            )
        if amount <= 0 or amount > remaining:
            raise ApiError(
                400,
                "invalid_request_error",
                f"Refund amount ({format_amount(amount, charge['currency'])}) is greater than "
                f"unrefunded amount on charge ({format_amount(remaining, charge['currency'])})",
                code="amount_too_large",
                param="amount",
            )
        refund_id = new_id("re")
        settled, settled_currency, rate = self.settled(amount, charge["currency"])
        balance_transaction = self._balance_transaction(
            amount=-settled,
            currency=settled_currency,
            type_="refund",
            category="refund",
            source=refund_id,
            account=account,
            description="REFUND FOR CHARGE",
            exchange_rate=rate,
        )
        refund = refund_object(
            now=self.now(),
            refund_id=refund_id,
            amount=amount,
            balance_transaction=balance_transaction,
            charge=charge,
            params=params,
            status=status,
        )
        self._store(refund, account)
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount_captured"]
        if not silent:
            self._emit("refund.created", refund, account=account, request=request)
            self._emit("charge.refunded", charge, account=account, request=request)
        return self._public(refund)

    # --- Connect ------------------------------------------------------------------------------
    def _create_account(self, params: dict, request: dict) -> dict:
        account_type = params.get("type") or "express"
        capabilities = {
            name: "inactive"
            for name, wanted in (params.get("capabilities") or {}).items()
            if _bool((wanted or {}).get("requested"))
        } or {"transfers": "inactive"}
        country = (params.get("country") or self.platform_country).upper()
        agreement = (params.get("tos_acceptance") or {}).get("service_agreement") or "full"
        if agreement not in {"full", "recipient"}:
            raise ApiError(
                400,
                "invalid_request_error",
                "Invalid tos_acceptance[service_agreement]: must be one of full or recipient",
                param="tos_acceptance[service_agreement]",
            )
        if agreement == "full" and region_of(country) != region_of(self.platform_country):
            raise ApiError(
                400,
                "invalid_request_error",
                f"Connected accounts in {country} cannot be created by platforms in "
                f"{self.platform_country.upper()} under the `full` service agreement. Cross-border "
                "payouts require tos_acceptance[service_agreement]=recipient "
                "(https://docs.stripe.com/connect/service-agreement-types).",
                param="tos_acceptance[service_agreement]",
            )
        if agreement == "recipient" and "card_payments" in capabilities:
            raise ApiError(
                400,
                "invalid_request_error",
                "Accounts under the `recipient` service agreement cannot request the "
                "card_payments capability.",
                param="capabilities[card_payments]",
            )
        account = account_object(
            now=self.now(), capabilities=capabilities, account_type=account_type, params=params
        )
        account["country"] = country
        account["tos_acceptance"]["service_agreement"] = agreement
        account["external_accounts"]["url"] = f"/v1/accounts/{account['id']}/external_accounts"
        self._store(account, None)
        return self._public(account)

    def _create_account_link(self, params: dict) -> dict:
        for name in ("account", "type"):
            if not params.get(name):
                raise ApiError.missing(name)
        account = self._find(params["account"], "accounts", None)
        if params["type"] not in {"account_onboarding", "account_update"}:
            raise ApiError(
                400,
                "invalid_request_error",
                "Invalid type: must be one of account_onboarding or account_update",
                param="type",
            )
        if params["type"] == "account_onboarding" and not params.get("return_url"):
            raise ApiError.missing("return_url")
        now = self.now()
        link_id = secrets.token_urlsafe(18)
        self.link_state[link_id] = {
            "account": account["id"],
            "used": False,
            "expires_at": now + ACCOUNT_LINK_TTL,
            "refresh_url": params.get("refresh_url") or "",
            "return_url": params.get("return_url") or "",
        }
        return {
            "object": "account_link",
            "created": now,
            "expires_at": now + ACCOUNT_LINK_TTL,
            "url": f"{self.base_url}/setup/e/{account['id']}/{link_id}",
        }

    def complete_onboarding(self, account_id: str, *, business_name: str = "") -> dict:
        """What the hosted onboarding does when the supplier submits its details."""
        with self.lock:
            account = self.objects[account_id]
            account.update(
                {
                    "charges_enabled": True,
                    "payouts_enabled": True,
                    "details_submitted": True,
                    "capabilities": dict.fromkeys(account["capabilities"], "active"),
                    "tos_acceptance": {
                        **account["tos_acceptance"],
                        "date": self.now(),
                        "ip": "127.0.0.1",
                        "user_agent": "sandbox",
                    },
                }
            )
            if business_name:
                account["business_profile"]["name"] = business_name
            account["requirements"].update(
                {
                    "currently_due": [],
                    "eventually_due": [],
                    "past_due": [],
                    "disabled_reason": None,
                }
            )
            account["external_accounts"]["data"] = [
                {
                    "id": new_id("ba"),
                    "object": "bank_account",
                    "account": account_id,
                    "bank_name": "STRIPE TEST BANK",
                    "country": account["country"],
                    "currency": account["default_currency"],
                    "last4": "6789",
                    "routing_number": "110000000",
                    "status": "new",
                }
            ]
            self._emit("account.updated", account, account=account_id)
            return copy.deepcopy(account)

    def require_details(self, account_id: str, currently_due: list[str]) -> dict:
        with self.lock:
            account = self.objects[account_id]
            account["requirements"].update(
                {
                    "currently_due": list(currently_due),
                    "past_due": list(currently_due),
                    "disabled_reason": "requirements.past_due" if currently_due else None,
                }
            )
            account["payouts_enabled"] = not currently_due and account["details_submitted"]
            account["capabilities"] = dict.fromkeys(
                account["capabilities"], "active" if account["payouts_enabled"] else "inactive"
            )
            self._emit("account.updated", account, account=account_id)
            return copy.deepcopy(account)

    def _onboarding_page(self, request: Request, account_id: str, link_id: str) -> Response:
        with self.lock:
            state = self.link_state.get(link_id)
            account = self.objects.get(account_id)
        if state is None or account is None or state["account"] != account_id:
            return Response.html("<h1>This onboarding link is not valid.</h1>", 404)
        if state["used"] or state["expires_at"] < self.clock():
            if state["refresh_url"]:
                return Response(status=303, headers={"Location": state["refresh_url"]})
            return Response.html("<h1>This onboarding link has expired.</h1>", 410)
        if request.method == "POST":
            form = dict(parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
            state["used"] = True
            self.complete_onboarding(account_id, business_name=form.get("business_name", ""))
            return Response(status=303, headers={"Location": state["return_url"]})
        name = account["business_profile"].get("name") or account.get("email") or ""
        page = onboarding_page_html(account_id=account_id, name=name)
        return Response.html(page)

    def _create_transfer(self, params: dict, account: str | None, request: dict) -> dict:
        amount = _int(params, "amount", required=True)
        currency = (params.get("currency") or "").lower()
        destination_id = params.get("destination")
        if not currency:
            raise ApiError.missing("currency")
        if not destination_id:
            raise ApiError.missing("destination")
        if amount <= 0:
            raise ApiError(
                400, "invalid_request_error", "Amount must be greater than zero.", param="amount"
            )
        destination = self.objects.get(destination_id)
        if destination is None or destination.get("object") != "account":
            raise ApiError.no_such("destination", destination_id, "destination")
        if destination["capabilities"].get("transfers") != "active":
            raise ApiError(
                400,
                "invalid_request_error",
                "Your destination account needs to have at least one of the following "
                "capabilities enabled: transfers, crypto_transfers, legacy_payments",
                code="insufficient_capabilities_for_transfer",
                param="destination",
            )
        source = params.get("source_transaction")
        if not source and self.check_available_balance:
            # Without a source charge a transfer draws on the available balance, not on funds
            # still pending (https://docs.stripe.com/connect/separate-charges-and-transfers).
            available = self.available_balance(currency, account=account)
            if amount > available:
                raise ApiError(
                    400,
                    "invalid_request_error",
                    "You have insufficient available funds in your Stripe account. Try adding "
                    "funds directly to your available balance by creating Charges using the "
                    "4000000000000077 test card. See: https://stripe.com/docs/testing#available-balance",
                    code="balance_insufficient",
                )
        if source:
            charge = self._find(source, "charges", account)
            funds = self.objects[charge["balance_transaction"]]
            if funds["currency"] != currency:
                raise ApiError(
                    400,
                    "invalid_request_error",
                    "The currency of source_transaction's balance transaction "
                    f"({funds['currency']}) must be the same as the transfer currency "
                    f"({currency}).",
                    param="source_transaction",
                )
            if amount > funds["amount"]:
                raise ApiError(
                    400,
                    "invalid_request_error",
                    "The transfer amount cannot be greater than the source_transaction amount.",
                    param="amount",
                )
        transfer_id = new_id("tr")
        balance_transaction = self._balance_transaction(
            amount=-amount,
            currency=currency,
            type_="transfer",
            category="transfer",
            source=transfer_id,
            account=account,
        )
        payment_id = new_id("py")
        self._balance_transaction(
            amount=amount,
            currency=currency,
            type_="payment",
            category="charge",
            source=payment_id,
            account=destination_id,
        )
        transfer = transfer_object(
            now=self.now(),
            transfer_id=transfer_id,
            amount=amount,
            currency=currency,
            destination_id=destination_id,
            payment_id=payment_id,
            source=source,
            balance_transaction=balance_transaction,
            params=params,
        )
        self._store(transfer, account)
        self._emit("transfer.created", transfer, account=account, request=request)
        return self._public(transfer)

    def _create_reversal(
        self, transfer_id: str, params: dict, account: str | None, request: dict
    ) -> dict:
        transfer = self._find(transfer_id, "transfers", account)
        remaining = transfer["amount"] - transfer["amount_reversed"]
        amount = _int(params, "amount")
        amount = remaining if amount is None else amount
        if remaining <= 0:
            raise ApiError(
                400,
                "invalid_request_error",
                f"Transfer {transfer_id} is already fully reversed.",
                code="transfer_already_reversed",
            )
        if amount <= 0 or amount > remaining:
            raise ApiError(
                400,
                "invalid_request_error",
                f"You have requested a reversal of {format_amount(amount, transfer['currency'])} "
                f"but only {format_amount(remaining, transfer['currency'])} of the transfer "
                "remains to be reversed.",
                param="amount",
            )
        reversal_id = new_id("trr")
        balance_transaction = self._balance_transaction(
            amount=amount,
            currency=transfer["currency"],
            type_="transfer_refund",
            category="transfer_reversal",
            source=reversal_id,
            account=account,
        )
        self._balance_transaction(
            amount=-amount,
            currency=transfer["currency"],
            type_="payment_refund",
            category="refund",
            source=new_id("pyr"),
            account=transfer["destination"],
        )
        reversal = reversal_object(
            now=self.now(),
            reversal_id=reversal_id,
            amount=amount,
            transfer_id=transfer_id,
            balance_transaction=balance_transaction,
            transfer=transfer,
            params=params,
        )
        self._store(reversal, account)
        transfer["amount_reversed"] += amount
        transfer["reversed"] = transfer["amount_reversed"] >= transfer["amount"]
        transfer["reversals"]["data"].insert(0, self._public(reversal))
        self._emit("transfer.reversed", transfer, account=account, request=request)
        return self._public(reversal)

    def available_balance(self, currency: str, *, account: str | None = None) -> int:
        """What can be transferred now: balance transactions whose funds are available."""
        now = self.now()
        with self.lock:
            return sum(
                obj["net"]
                for object_id, obj in self.objects.items()
                if obj.get("object") == "balance_transaction"
                and self.owner.get(object_id) == account
                and obj["currency"] == currency.lower()
                and (obj["status"] == "available" or obj["available_on"] <= now)
            )

    def top_up(self, amount: int, currency: str = "usd") -> dict:
        """Money added to the platform's available balance (a top-up from its bank)."""
        with self.lock:
            transaction = self._balance_transaction(
                amount=amount,
                currency=currency.lower(),
                type_="topup",
                category="topup",
                source=new_id("tu"),
                account=None,
                description="Top-up",
            )
            transaction["status"] = "available"
            transaction["available_on"] = self.now()
            return copy.deepcopy(transaction)

    def _balance(self, account: str | None) -> dict:
        totals: dict[str, dict[str, int]] = {}
        for object_id, obj in self.objects.items():
            if obj.get("object") == "balance_transaction" and self.owner.get(object_id) == account:
                per = totals.setdefault(obj["currency"], {"available": 0, "pending": 0})
                per["available" if obj["status"] == "available" else "pending"] += obj["net"]
        return {
            "object": "balance",
            "available": [
                {"amount": v["available"], "currency": c, "source_types": {"card": v["available"]}}
                for c, v in totals.items()
            ],
            "livemode": False,
            "pending": [
                {"amount": v["pending"], "currency": c, "source_types": {"card": v["pending"]}}
                for c, v in totals.items()
            ],
        }

    # --- things that happen at Stripe without our asking (control endpoints) ------------------
    def refund_in_dashboard(
        self, charge_id: str, amount: int | None, *, silent: bool, status: str = "succeeded"
    ) -> dict:
        """A refund made in Stripe's dashboard: refund.created (and charge.refunded) are sent;
        `status="pending"` leaves it for `settle_refund` (refund.updated), as bank refunds go."""
        with self.lock:
            account = self.owner.get(charge_id)
            params = {"charge": charge_id}
            if amount is not None:
                params["amount"] = str(amount)
            return self._create_refund(params, account, None, silent=silent, status=status)

    def settle_refund(
        self, refund_id: str, *, status: str, reason: str = "expired_or_canceled_card"
    ):
        """A pending refund succeeds or fails at the bank: refund.updated is sent. A failed one
        gives the money back to the platform's balance (a `refund_failure` balance transaction)
        and off the charge's refunded amount. A refund that already succeeded can still fail
        later, as Stripe's can (https://docs.stripe.com/refunds#failed-refunds)."""
        if status not in {"succeeded", "failed"}:
            raise ApiError(400, "invalid_request_error", "status must be succeeded or failed")
        with self.lock:
            refund = self.objects[refund_id]
            allowed = {"pending", "succeeded"} if status == "failed" else {"pending"}
            if refund["status"] not in allowed:
                raise ApiError(
                    400, "invalid_request_error", f"Refund {refund_id} cannot become {status}."
                )
            account = self.owner.get(refund_id)
            refund["status"] = status
            if status == "failed":
                refund["failure_reason"] = reason
                charge = self.objects[refund["charge"]]
                charge["amount_refunded"] -= refund["amount"]
                charge["refunded"] = False
                settled, settled_currency, rate = self.settled(refund["amount"], refund["currency"])
                failure = self._balance_transaction(
                    amount=settled,
                    currency=settled_currency,
                    exchange_rate=rate,
                    type_="refund_failure",
                    category="refund_failure",
                    source=refund_id,
                    account=account,
                    description="REFUND FAILURE",
                )
                refund["failure_balance_transaction"] = failure["id"]
            self._emit("refund.updated", refund, account=account)
            return copy.deepcopy(refund)

    def open_dispute(self, charge_id: str, *, reason: str = "fraudulent") -> dict:
        with self.lock:
            charge = self.objects[charge_id]
            account = self.owner.get(charge_id)
            amount = charge["amount_captured"] - charge["amount_refunded"]
            dispute_id = new_id("dp")
            withdrawal = self._balance_transaction(
                amount=-amount,
                currency=charge["currency"],
                type_="adjustment",
                category="dispute",
                source=dispute_id,
                account=account,
                fee=DISPUTE_FEE,
                description=f"Chargeback withdrawal for {charge_id}",
                fee_description="Dispute fee",
            )
            dispute = dispute_object(
                now=self.now(),
                dispute_id=dispute_id,
                amount=amount,
                charge=charge,
                reason=reason,
                withdrawal=self._public(withdrawal),
            )
            self._store(dispute, account)
            charge["disputed"] = True
            self._emit("charge.dispute.created", dispute, account=account)
            return copy.deepcopy(dispute)

    def close_dispute(self, dispute_id: str, *, status: str) -> dict:
        if status not in {"won", "lost"}:
            raise ApiError(400, "invalid_request_error", "status must be won or lost")
        with self.lock:
            dispute = self.objects[dispute_id]
            account = self.owner.get(dispute_id)
            dispute["status"] = status
            if status == "won":
                reinstated = self._balance_transaction(
                    amount=dispute["amount"],
                    currency=dispute["currency"],
                    type_="adjustment",
                    category="dispute_reversal",
                    source=dispute_id,
                    account=account,
                    description=f"Chargeback reversal for {dispute['charge']}",
                )
                dispute["balance_transactions"].append(self._public(reinstated))
            self._emit("charge.dispute.closed", dispute, account=account)
            return copy.deepcopy(dispute)

    def bank_payout(
        self, account_id: str, *, amount: int, currency: str = "usd", fail: bool = False
    ) -> dict:
        with self.lock:
            if self.objects.get(account_id, {}).get("object") != "account":
                raise ApiError.no_such("account", account_id)
            now = self.now()
            payout = payout_object(amount=amount, now=now, currency=currency, fail=fail)
            self._store(payout, account_id)
            self._emit("payout.failed" if fail else "payout.paid", payout, account=account_id)
            return copy.deepcopy(payout)

    def _control(self, request: Request, rest: list[str]) -> Response:
        data = request.json() if request.body else {}
        data = data or {}
        try:
            if rest == ["faults"] and request.method == "POST":
                fault = self.add_fault(
                    data["path"],
                    method=data.get("method", "POST"),
                    status=int(data.get("status", 500)),
                    count=int(data.get("count", 1)),
                    after=bool(data.get("after", False)),
                    delay=float(data.get("delay", 0)),
                )
                return Response.json({"path": fault.path, "count": fault.count}, 201)
            if len(rest) == 3 and rest[0] == "charges" and rest[2] == "refunds":
                amount = data.get("amount")
                refund = self.refund_in_dashboard(
                    rest[1],
                    None if amount is None else int(amount),
                    silent=bool(data.get("silent")),
                    status=data.get("status", "succeeded"),
                )
                return Response.json(refund, 201)
            if len(rest) == 3 and rest[0] == "refunds" and rest[2] == "settle":
                return Response.json(
                    self.settle_refund(rest[1], status=data.get("status", "succeeded")), 200
                )
            if len(rest) == 3 and rest[0] == "charges" and rest[2] == "dispute":
                return Response.json(
                    self.open_dispute(rest[1], reason=data.get("reason", "fraudulent")), 201
                )
            if len(rest) == 3 and rest[0] == "disputes" and rest[2] == "close":
                return Response.json(self.close_dispute(rest[1], status=data.get("status")), 200)
            if len(rest) == 3 and rest[0] == "accounts" and rest[2] == "payouts":
                payout = self.bank_payout(
                    rest[1],
                    amount=int(data["amount"]),
                    currency=data.get("currency", "usd"),
                    fail=bool(data.get("fail")),
                )
                return Response.json(payout, 201)
            if len(rest) == 3 and rest[0] == "accounts" and rest[2] == "requirements":
                return Response.json(
                    self.require_details(rest[1], data.get("currently_due") or []), 200
                )
            if rest == ["balance", "topup"]:
                return Response.json(
                    self.top_up(int(data["amount"]), data.get("currency", "usd")), 201
                )
            billing = self._billing_control(request, rest, data)
            if billing is not None:
                return billing
            if len(rest) == 3 and rest[0] == "events" and rest[2] == "resend":
                delivery = self.resend(rest[1], data.get("url"))
                return Response.json({"status": delivery.status, "error": delivery.error}, 200)
        except ApiError as error:
            return Response.json({"error": error.body}, error.status)
        except KeyError as exc:
            return Response.json({"error": {"message": f"unknown object or field {exc}"}}, 404)
        return Response.json({"error": {"message": "unknown control call"}}, 404)

    def _index(self) -> Response:
        with self.lock:
            counts: dict[str, int] = {}
            for obj in self.objects.values():
                counts[obj["object"]] = counts.get(obj["object"], 0) + 1
            recent = list(self.events[-20:])[::-1]
        rows = "".join(
            f"<tr><td>{html.escape(kind)}</td><td>{n}</td></tr>"
            for kind, n in sorted(counts.items())
        )
        events = "".join(
            f"<li><code>{html.escape(e['type'])}</code> {html.escape(e['id'])}</li>" for e in recent
        )
        return Response.html(
            "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Stripe sandbox</title>"
            "</head><body><main><h1>Stripe sandbox</h1>"
            f"<p>Webhooks go to {html.escape(self.webhook_url or '(nowhere)')}; events of "
            f"connected accounts to {html.escape(self.connect_webhook_url or '(nowhere)')}</p>"
            f"<table><thead><tr><th scope='col'>Object</th><th scope='col'>Count</th></tr></thead>"
            f"<tbody>{rows}</tbody></table><h2>Recent events</h2><ul>{events}</ul></main></body></html>"
        )
