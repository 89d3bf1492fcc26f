"""The store protocol every flow uses, and the data it exchanges.

Domain code gets a client with `integrations.registry.get_store_client(store=...)` and calls the
methods below; SDKs, URLs and JSON shapes never leave `integrations/<vendor>/`. Ids are the
store's own, as strings: Shopify global ids (``gid://shopify/ProductVariant/123``), WooCommerce
numeric ids (``"123"``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol, TypeVar, runtime_checkable

from dropship.core.errors import PermanentError, TemporaryError


class StoreTemporaryError(TemporaryError):
    """The store failed in a way that may succeed later (timeout, 429, 5xx): retry with backoff."""


class StoreAnswerLostError(StoreTemporaryError):
    """A write went out and no answer came back (dropped connection, timeout, 5xx): the store
    may have carried it out. Never send it again blindly: look for what it would have created
    first (a retried fulfilment or note is found, not doubled)."""


class StoreFulfillmentHeldError(StoreTemporaryError):
    """The store holds the shipped lines: a Shopify fulfillment order ON_HOLD (the merchant or
    an app placed a hold, e.g. awaiting payment) or SCHEDULED (it opens at `fulfill_at`). Not a
    failure: send the fulfilment again once the hold is released. `reason` says why, for the
    retailer and support; `retry_after` is when to look again without being told."""

    def __init__(self, message: str, *, reason: str, retry_after: float) -> None:
        super().__init__(message, retry_after=retry_after)
        self.reason = reason


class StorePermanentError(PermanentError):
    """The store refused for good (4xx, bad data): record the message and stop retrying."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class StoreAuthError(StorePermanentError):
    """The store answered 401/403: our credentials were revoked; the retailer must reconnect."""

    def __init__(self, message: str, *, status_code: int | None = None, tried: str = "") -> None:
        super().__init__(message, status_code=status_code)
        self.tried = tried  # the ways of authenticating that were tried, in words


# --- products ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class VariantData:
    sku: str
    price: Decimal
    options: dict[str, str] = field(default_factory=dict)  # {"Size": "M", "Color": "Blue"}
    compare_at_price: Decimal | None = None
    weight_grams: int = 0
    inventory_quantity: int = 0
    store_variant_id: str = ""  # set when updating a variant the store already has


@dataclass(frozen=True)
class ProductData:
    """A product as we want it in the store. `reference` is ours (e.g. the listing id)."""

    reference: str
    title: str
    description_html: str = ""
    vendor: str = ""
    product_type: str = ""
    tags: tuple[str, ...] = ()
    option_names: tuple[str, ...] = ()
    images: tuple[str, ...] = ()  # absolute image URLs, in display order
    variants: tuple[VariantData, ...] = ()
    is_published: bool = True
    store_product_id: str = ""  # set when updating
    # The store's handle to create it under, stable per product: a create retried after a lost
    # answer finds the product it made instead of making a second one ("" = no upsert key).
    handle: str = ""


@dataclass(frozen=True)
class ProductResult:
    """What the store answered for one product: its ids, or why it refused it."""

    reference: str
    store_product_id: str = ""
    variant_ids: dict[str, str] = field(default_factory=dict)  # sku -> store variant id
    inventory_item_ids: dict[str, str] = field(default_factory=dict)  # sku -> inventory item id
    error: str = ""

    @property
    def is_ok(self) -> bool:
        return not self.error


# --- inventory -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class InventoryRef:
    """Where one item's stock lives in the store: every id the import recorded for it. Each
    platform picks the ones it needs (`StoreClient.has_inventory_address` says if they are there).
    """

    inventory_item_id: str = ""
    store_variant_id: str = ""
    store_product_id: str = ""


@dataclass(frozen=True)
class InventoryChange:
    """Set the sellable quantity of one item (absolute, not a delta). `reference` is ours (e.g.
    the listing variant id): the result names refused items by it."""

    quantity: int
    inventory_item_id: str = ""
    store_variant_id: str = ""
    store_product_id: str = ""
    reference: str = ""
    # What the store showed when we last read it back (or last set it); None when unknown, and
    # the client reads it first. Stores with compare-and-swap refuse the change if it moved.
    expected_quantity: int | None = None
    # Our version of this change (bumped by every new change of the item): with the quantities
    # it makes the store's idempotency key, the same for a retry and new for a new change.
    version: int = 0

    @property
    def item(self) -> InventoryRef:
        return InventoryRef(
            inventory_item_id=self.inventory_item_id,
            store_variant_id=self.store_variant_id,
            store_product_id=self.store_product_id,
        )


@dataclass(frozen=True)
class InventoryResult:
    """What the store did with a set of changes. Every change not in `refused` was taken, unless
    `unattributed` holds refusals the store tied to no item (then fewer than all were `updated`).
    """

    calls: int  # API calls used
    updated: int
    errors: tuple[str, ...] = ()  # every refusal, as the store worded it
    refused: dict[str, str] = field(default_factory=dict)  # change reference -> its refusal
    unattributed: tuple[str, ...] = ()  # refusals that name no item
    # change reference -> the quantity the store shows now, where the call learned it (taken
    # changes, and the fresh value read back for a refused compare-and-swap)
    shown: dict[str, int] = field(default_factory=dict)


# --- orders --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class OrderLineData:
    store_line_id: str
    store_variant_id: str
    sku: str
    title: str
    quantity: int
    unit_price: Decimal
    store_product_id: str = ""


class PaymentState(StrEnum):
    """Where the shopper's payment stands, in our words (each platform maps its own statuses)."""

    PAID = "paid"  # captured or marked paid: route it
    AWAITING = "awaiting"  # pending or authorized but not captured: wait for the payment
    MANUAL = (
        "manual"  # cash on delivery, bank transfer, cheque: waits unless the store routes these
    )
    VOIDED = "voided"  # will not be paid (voided, expired authorization): drop what waits
    REFUNDED = "refunded"  # the whole order was refunded: cancel what has not shipped


@dataclass(frozen=True)
class OrderData:
    store_order_id: str
    number: str  # "#1001" (Shopify's name) or "1001"
    currency: str
    shopper_name: str
    shopper_email: str
    shipping_address: dict[str, Any]
    lines: tuple[OrderLineData, ...]
    total: Decimal = Decimal("0")
    placed_at: str = ""  # ISO 8601 as the store sent it
    status: str = ""  # the store's own status word, for information
    is_cancelled: bool = False
    # PAID by default: an order our API receives from a custom store is paid by its sender.
    payment_state: PaymentState = PaymentState.PAID
    payment_label: str = (
        ""  # how the store words it, for the retailer ("pending, Cash on Delivery")
    )
    billing_country: str = ""  # two-letter code of the billing address, when the store sent one

    @property
    def shipping_country(self) -> str:
        return str(self.shipping_address.get("country_code") or "")[:2].upper()


class StoreOrderEventKind(StrEnum):
    # The order as the store has it now (created, paid or updated): intake receives it once and
    # routes it when its payment_state allows; a repeat changes nothing.
    CREATED = "created"
    CANCELLED = "cancelled"  # the shopper's order was cancelled (or deleted) in the store
    REFUNDED = "refunded"  # some lines were refunded: those not shipped are cancelled
    IGNORED = "ignored"  # nothing for us (completed ...)


@dataclass(frozen=True)
class RefundedLine:
    store_line_id: str
    quantity: int


@dataclass(frozen=True)
class StoreOrderEvent:
    """What an order webhook means for us, whatever the platform's payload looked like."""

    kind: StoreOrderEventKind
    store_order_id: str = ""
    order: OrderData | None = None  # set for CREATED
    cancel_reason: str = ""  # the store's reason for CANCELLED, "" when it gave none
    refunded_lines: tuple[RefundedLine, ...] = ()  # set for REFUNDED
    refund_id: str = ""  # the store's id of the refund, for the timeline


class OrderWebhookParser(Protocol):
    """Reads a platform's order webhooks; needs no credentials (one per platform, not store)."""

    #: every order topic the parser reads, and those that can bring a new order
    order_topics: tuple[str, ...]
    creating_topics: tuple[str, ...]
    #: the inbox topic of an order found by the periodic poll (`PolledOrder.payload` as body);
    #: ours, not the platform's: it is one of the order topics and the creating topics
    polled_topic: str

    def parse_order_webhook(self, *, topic: str, payload: Any) -> StoreOrderEvent:
        """Raises StorePermanentError, naming what is wrong, for a payload that is no order."""
        ...


@dataclass(frozen=True)
class PolledOrder:
    """An order as the store's order list answered it (the reconciliation poll)."""

    store_order_id: str
    updated_at: datetime  # aware, as the store last changed it
    created_at: datetime  # aware, when it was placed
    payload: dict[str, Any]  # the store's own shape, stored in the inbox under `polled_topic`


@dataclass(frozen=True)
class OrderPage:
    """One page of orders updated since a moment, oldest change first."""

    orders: tuple[PolledOrder, ...]
    cursor: str = ""  # where the next page starts; "" after the last page


# --- privacy requests ----------------------------------------------------------------------------
class PrivacyRequestKind(StrEnum):
    DATA_REQUEST = "data_request"  # report what we hold about a shopper
    CUSTOMER_REDACT = "customer_redact"  # erase one shopper's personal data
    SHOP_REDACT = "shop_redact"  # erase everything personal we hold for the store


@dataclass(frozen=True)
class PrivacyRequest:
    """A store's request to report or erase personal data, whatever the platform's payload."""

    kind: PrivacyRequestKind
    #: the orders the request names, each under every id form the platform uses for an order
    store_order_ids: frozenset[str] = frozenset()
    customer_email: str = ""  # as the store sent it; "" when the request names no shopper
    customer_phone: str = ""
    request_id: str = ""  # the store's id of a data request, to quote back to it


@dataclass(frozen=True)
class WebhookSubject:
    """Whom a stored webhook body names, so an erasure can find the bodies to blank."""

    store_order_ids: frozenset[str] = frozenset()  # every id form of the order it carries
    customer_email: str = ""  # lower-cased; the shopper a privacy request named


class PrivacyRequestParser(Protocol):
    """Reads a platform's privacy webhooks, and what its stored webhooks are about."""

    #: every privacy topic the platform sends
    privacy_topics: tuple[str, ...]

    def parse_privacy_request(self, *, topic: str, payload: Any) -> PrivacyRequest:
        """Raises StorePermanentError, naming what is wrong, for a payload that is no request."""
        ...

    def webhook_subject(self, *, topic: str, body: bytes) -> WebhookSubject:
        """The orders or shopper a stored webhook's raw body names (nothing for an unreadable
        body or a topic that carries no personal data)."""
        ...


# --- fulfilment and notes ------------------------------------------------------------------------
@dataclass(frozen=True)
class FulfillmentLine:
    store_line_id: str
    quantity: int


@dataclass(frozen=True)
class FulfillmentData:
    store_order_id: str
    lines: tuple[FulfillmentLine, ...]
    carrier: str
    tracking_number: str
    tracking_url: str = ""
    notify_customer: bool = True
    # WooCommerce: mark the order completed (set by the caller when every line has shipped).
    is_order_complete: bool = False


@dataclass(frozen=True)
class FulfillmentResult:
    store_fulfillment_id: str


@dataclass(frozen=True)
class OrderNote:
    store_order_id: str
    text: str
    is_customer_note: bool = False


@dataclass(frozen=True)
class StoreInfo:
    """What a connection check learned about the store."""

    name: str
    currency: str
    location_id: str = ""
    domain: str = ""


@dataclass(frozen=True)
class WebhookRegistration:
    topic: str
    store_webhook_id: str


@dataclass(frozen=True)
class WebhookCheck:
    """Our webhooks as the store has them after a check: one registration per topic the client
    registers, and what had to be repaired (e.g. "orders/create: missing, re-created")."""

    registrations: tuple[WebhookRegistration, ...]
    repaired: tuple[str, ...] = ()


# --- the protocol --------------------------------------------------------------------------------
@runtime_checkable
class StoreClient(Protocol):
    """What every store platform client offers. Each call may raise StoreTemporaryError,
    StorePermanentError or StoreAuthError (a StorePermanentError)."""

    #: largest batch the platform accepts in one products / inventory call
    product_batch_size: int
    inventory_batch_size: int

    def verify_connection(self) -> StoreInfo: ...

    def register_webhooks(self, *, callback_url: str) -> list[WebhookRegistration]: ...

    def delete_webhooks(self, *, store_webhook_ids: list[str]) -> None: ...

    def ensure_webhooks(self, *, callback_url: str) -> WebhookCheck:
        """Re-create missing and re-activate disabled subscriptions for every topic we register."""
        ...

    def list_orders_updated_since(
        self, *, since: datetime, cursor: str = "", page_size: int = 0
    ) -> OrderPage:
        """Orders changed at or after `since`, oldest change first, one page per call."""
        ...

    def upsert_products(self, *, products: list[ProductData]) -> list[ProductResult]: ...

    def has_inventory_address(self, item: InventoryRef) -> bool:
        """Whether the item carries the ids this platform needs to set or read its stock."""
        ...

    def set_inventory(self, *, changes: list[InventoryChange]) -> InventoryResult: ...

    def set_product_published(self, *, store_product_id: str, is_published: bool) -> None: ...

    def get_order(self, *, store_order_id: str) -> OrderData: ...

    def get_shipping_address(self, *, store_order_id: str) -> dict[str, str] | None:
        """The order's shipping address as the store shares it with our scopes (the keys of
        `OrderData.shipping_address`), or None when it shares no street address."""
        ...

    def create_fulfillment(self, *, fulfillment: FulfillmentData) -> FulfillmentResult:
        """Create the fulfilment once: a write whose answer is lost is looked for before it is
        sent again, and a fulfilment half-written by an earlier attempt is completed, not
        started over. Raises StoreFulfillmentHeldError while the store holds the lines."""
        ...

    def find_fulfillment(self, *, store_order_id: str, tracking_number: str) -> str:
        """The store's id of the order's fulfilment carrying this tracking number, or "".
        A retried push asks first, so a fulfilment created just before a crash is not doubled."""
        ...

    def add_order_note(self, *, note: OrderNote) -> None:
        """Add the note once: a note with the same text already on the order is not added
        again (the text names what it is about), so a retry never doubles it."""
        ...

    def read_inventory(self, *, items: list[InventoryRef]) -> InventoryReadResult: ...


# --- reading inventory back (reconciliation) ------------------------------------------------------
@dataclass(frozen=True)
class InventoryReadResult:
    """Quantities in the order of the items asked for; None where the store has no such item."""

    quantities: tuple[int | None, ...]
    calls: int


def json_object(payload: Any) -> dict[str, Any]:
    """A webhook body that must be a JSON object (the inbox has parsed the JSON already)."""
    if not isinstance(payload, dict):
        raise StorePermanentError("The webhook body is not a JSON object.")
    return payload


T = TypeVar("T")


def write_once(send: Callable[[], T], find: Callable[[], T | None], *, sends: int = 2) -> T:
    """Send a write that must not be doubled (a fulfilment, a note). When its answer is lost
    (StoreAnswerLostError), look for what it would have created and return that; send it again
    only when nothing is there, at most `sends` times in all."""
    for sent in range(1, sends + 1):
        try:
            return send()
        except StoreAnswerLostError:
            found = find()
            if found is not None:
                return found
            if sent >= sends:
                raise
    raise StoreTemporaryError("The write was not sent.")  # only for sends < 1


def chunked(items: list[T], size: int) -> list[list[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
