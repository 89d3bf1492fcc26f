"""The client of a custom store: a shop on any system (or phone and manual orders) that talks to
Dropship through our API instead of us calling it.

Nothing leaves the process. Products "pushed" to it are recorded with the Dropship ids the push
carries (`DSP-<product>` and `DSV-<variant>`, set by the retailers app): the shop puts those ids
on the order lines it sends to `POST /api/v1/orders`, and reads stock and tracking from the API.
Stock pushes and publishing are taken as done; calls that would read the shop answer
StorePermanentError, since there is nobody to ask.
"""

from __future__ import annotations

from datetime import datetime

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
    ProductData,
    ProductResult,
    StoreInfo,
    StorePermanentError,
    WebhookCheck,
    WebhookRegistration,
)

NOT_CALLED = "A custom store is not called by Dropship: it reads orders and tracking from the API."


class CustomStoreClient:
    product_batch_size = 250
    inventory_batch_size = 1000

    def __init__(self, *, name: str, currency: str) -> None:
        self.name = name
        self.currency = currency
        self.calls = 0

    def verify_connection(self) -> StoreInfo:
        return StoreInfo(name=self.name, currency=self.currency)

    def register_webhooks(self, *, callback_url: str) -> list[WebhookRegistration]:
        return []

    def delete_webhooks(self, *, store_webhook_ids: list[str]) -> None:
        return None

    def ensure_webhooks(self, *, callback_url: str) -> WebhookCheck:
        return WebhookCheck(registrations=())

    def list_orders_updated_since(
        self, *, since: datetime, cursor: str = "", page_size: int = 0
    ) -> OrderPage:
        raise StorePermanentError(NOT_CALLED)

    def upsert_products(self, *, products: list[ProductData]) -> list[ProductResult]:
        """Each product keeps the Dropship ids it came with; one without any is refused."""
        results = []
        for product in products:
            missing = [v.sku for v in product.variants if not v.store_variant_id]
            if not product.store_product_id or missing:
                results.append(
                    ProductResult(
                        reference=product.reference,
                        error="A custom store's product needs its Dropship ids.",
                    )
                )
                continue
            results.append(
                ProductResult(
                    reference=product.reference,
                    store_product_id=product.store_product_id,
                    variant_ids={v.sku: v.store_variant_id for v in product.variants},
                )
            )
        return results

    def has_inventory_address(self, item: InventoryRef) -> bool:
        return bool(item.store_variant_id)

    def set_inventory(self, *, changes: list[InventoryChange]) -> InventoryResult:
        return InventoryResult(
            calls=0,
            updated=len(changes),
            shown={change.reference: change.quantity for change in changes if change.reference},
        )

    def set_product_published(self, *, store_product_id: str, is_published: bool) -> None:
        return None

    def get_order(self, *, store_order_id: str) -> OrderData:
        raise StorePermanentError(NOT_CALLED)

    def get_shipping_address(self, *, store_order_id: str) -> dict[str, str] | None:
        return None

    def create_fulfillment(self, *, fulfillment: FulfillmentData) -> FulfillmentResult:
        raise StorePermanentError(NOT_CALLED)

    def find_fulfillment(self, *, store_order_id: str, tracking_number: str) -> str:
        return ""

    def add_order_note(self, *, note: OrderNote) -> None:
        raise StorePermanentError(NOT_CALLED)

    def read_inventory(self, *, items: list[InventoryRef]) -> InventoryReadResult:
        return InventoryReadResult(quantities=tuple(None for _ in items), calls=0)
