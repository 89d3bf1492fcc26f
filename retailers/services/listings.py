"""A retailer's listings after import: resync, price edits, unlist, remove, and re-pricing when a
supplier changes a wholesale price (with the minimum-margin guardrail and its approval queue)."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from functools import partial
from typing import TypeVar

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from dropship.accounts.models import Notification, User
from dropship.accounts.services import notify
from dropship.core.audit import record_audit
from dropship.core.errors import DomainError, TemporaryError
from dropship.core.exchange import NoExchangeRate, get_rate
from integrations.base import InventoryChange, StoreAuthError, StoreClient, StorePermanentError
from integrations.registry import get_store_client
from retailers.models import Listing, ListingVariant, PriceChange, Retailer, Store
from retailers.pricing import Rule, round_price
from retailers.services.importing import _load_products, build_push
from retailers.services.quoting import PriceBook
from retailers.services.store_push import (
    ProductPush,
    product_data,
    record_push_error,
    record_pushed_product,
)
from retailers.services.stores import reconnect_on_auth_error
from retailers.sync import mark_listings_dirty
from retailers.sync.marking import hold_marking_lock

logger = logging.getLogger(__name__)
T = TypeVar("T")


class ListingError(DomainError):
    status_code = 422


def _enqueue_push(*, store_id: int, listing_ids: Iterable[int]) -> None:
    from retailers.tasks import push_listings_task  # local: tasks.py imports the services

    ids = sorted(set(listing_ids))
    if ids:
        transaction.on_commit(partial(push_listings_task.delay, store_id, ids))


def _check_connected(store: Store) -> None:
    if store.status != Store.Status.CONNECTED:
        raise ListingError(
            f"{store.name} is {store.get_status_display().lower()}; reconnect it first."
        )


# --- my products actions ------------------------------------------------------------------
@transaction.atomic
def resync_listing(*, listing: Listing) -> Listing:
    _check_connected(listing.store)
    Listing.objects.filter(pk=listing.pk).update(
        sync_status=Listing.SyncStatus.PENDING, updated_at=timezone.now()
    )
    _enqueue_push(store_id=listing.store_id, listing_ids=[listing.pk])
    listing.sync_status = Listing.SyncStatus.PENDING
    return listing


def _check_price(*, listing_variant: ListingVariant, price: Decimal) -> None:
    """The price (in the listing's currency) against the wholesale cost in that currency."""
    variant = listing_variant.variant
    cost = get_rate(base=variant.currency, quote=listing_variant.currency).convert(
        variant.wholesale_price
    )
    if price < cost:
        raise ListingError(
            f"{variant.sku}: {price} is below its wholesale cost {cost} "
            f"{listing_variant.currency}; you would sell at a loss.",
            field="price",
        )


@transaction.atomic
def set_listing_variant_price(
    *, listing_variant: ListingVariant, price: Decimal, actor: User | None = None
) -> ListingVariant:
    """The retailer's own price for one variant, pushed to the store."""
    lv = (
        ListingVariant.objects.select_for_update()
        .select_related("variant", "listing__store")
        .get(pk=listing_variant.pk)
    )
    _check_connected(lv.listing.store)
    _check_price(listing_variant=lv, price=price)
    lv.retail_price = price
    if lv.compare_at_price is not None and lv.compare_at_price <= price:
        lv.compare_at_price = None
    lv.last_cost = lv.variant.wholesale_price
    lv.save(update_fields=["retail_price", "compare_at_price", "last_cost"])
    Listing.objects.filter(pk=lv.listing_id).update(
        sync_status=Listing.SyncStatus.PENDING, updated_at=timezone.now()
    )
    record_audit(
        actor=actor, action="listing.price_set", target=lv.listing, summary=f"{lv.variant} {price}"
    )
    _enqueue_push(store_id=lv.listing.store_id, listing_ids=[lv.listing_id])
    return lv


@transaction.atomic
def set_listing_prices(
    *, listing: Listing, prices: dict[int, Decimal], actor: User | None = None
) -> Listing:
    """Several of a listing's variant prices at once ({listing variant id: price}): all are
    checked against their wholesale cost before any is saved, then pushed once."""
    variants = {
        lv.pk: lv
        for lv in ListingVariant.objects.filter(listing=listing).select_related(
            "variant", "listing__store"
        )
    }
    for index, (lv_id, price) in enumerate(prices.items()):
        lv = variants.get(lv_id)
        if lv is None:
            raise ListingError(
                f"Variant {lv_id} is not part of this listing.", field=f"variants.{index}.id"
            )
        try:
            _check_price(listing_variant=lv, price=price)
        except ListingError as exc:
            raise ListingError(exc.message, field=f"variants.{index}.retail_price") from exc
    for lv_id, price in prices.items():
        set_listing_variant_price(listing_variant=variants[lv_id], price=price, actor=actor)
    listing.refresh_from_db()
    return listing


def unlist_listing(*, listing: Listing, actor: User | None = None) -> Listing:
    """Unpublish the product in the store (a draft there), then mark it UNLISTED: quantity 0."""
    store = listing.store
    _check_connected(store)
    if listing.store_product_id:
        try:
            client = get_store_client(store=store)
            with reconnect_on_auth_error(store=store):
                client.set_product_published(
                    store_product_id=listing.store_product_id, is_published=False
                )
        except StorePermanentError as exc:
            raise ListingError(f"{store.name} did not unpublish it: {exc}") from exc
        except TemporaryError as exc:  # nothing changed here; the retailer can try again
            raise ListingError(f"{store.name} did not answer; try again in a moment.") from exc
    with transaction.atomic():
        Listing.objects.filter(pk=listing.pk).update(
            status=Listing.Status.UNLISTED,
            is_published=False,
            paused_at=None,
            updated_at=timezone.now(),
        )
        mark_listings_dirty(listing_ids=[listing.pk])
        record_audit(actor=actor, action="listing.unlisted", target=listing, summary=str(listing))
    listing.refresh_from_db()
    return listing


def remove_listing(*, listing: Listing, actor: User | None = None) -> None:
    """Unpublish in the store (when it is still connected) and forget the listing here."""
    if listing.store.status == Store.Status.CONNECTED and listing.status != Listing.Status.UNLISTED:
        unlist_listing(listing=listing, actor=actor)
    with transaction.atomic():
        record_audit(actor=actor, action="listing.removed", target=listing, summary=str(listing))
        Listing.objects.filter(pk=listing.pk).delete()


# --- pushing listings as they are -------------------------------------------------------------
def push_listings(*, store_id: int, listing_ids: list[int]) -> None:
    """Send listings' current prices and content to their store; paused listings get quantity 0.
    Safe to run twice (the store is updated in place). Temporary failures propagate."""
    store = Store.objects.select_related("retailer").get(pk=store_id)
    listings = list(
        Listing.objects.filter(store=store, pk__in=listing_ids)
        .select_related("store")
        .prefetch_related("variants")
    )
    if not listings:
        return
    if store.status != Store.Status.CONNECTED:
        for listing in listings:
            record_push_error(
                listing=listing, error=f"{store.name} is {store.get_status_display().lower()}."
            )
        return
    client = get_store_client(store=store)
    paused = [listing for listing in listings if listing.status == Listing.Status.PAUSED]
    active = [listing for listing in listings if listing.status == Listing.Status.ACTIVE]
    try:
        with reconnect_on_auth_error(store=store):
            if paused:
                try:
                    _zero_paused(client=client, listings=paused)
                except StorePermanentError as exc:
                    if isinstance(exc, StoreAuthError):
                        raise
                    for listing in paused:
                        record_push_error(listing=listing, error=str(exc))
            if active:
                _push_active(store=store, client=client, listings=active)
    except StoreAuthError as exc:
        for listing in listings:
            record_push_error(listing=listing, error=str(exc))


def _zero_paused(*, client: StoreClient, listings: list[Listing]) -> None:
    changes = [
        InventoryChange(
            quantity=0,
            inventory_item_id=lv.inventory_item_id,
            store_variant_id=lv.store_variant_id,
            store_product_id=listing.store_product_id,
        )
        for listing in listings
        for lv in listing.variants.all()
    ]
    result = client.set_inventory(changes=changes)
    now = timezone.now()
    ListingVariant.objects.filter(listing__in=listings).update(
        last_pushed_quantity=0, last_pushed_at=now
    )
    Listing.objects.filter(pk__in=[listing.pk for listing in listings]).update(
        sync_status=Listing.SyncStatus.ERROR if result.errors else Listing.SyncStatus.SYNCED,
        last_error="; ".join(result.errors)[:2000],
        last_synced_at=now,
        updated_at=now,
    )


def _push_active(*, store: Store, client: StoreClient, listings: list[Listing]) -> None:
    products = _load_products([listing.product_id for listing in listings])
    book = PriceBook(retailer=store.retailer)
    pushes: dict[str, ProductPush] = {}
    for listing in listings:
        product = products.get(listing.product_id)
        if product is None:
            continue
        pushes[str(listing.pk)] = build_push(
            store=store,
            book=book,
            product=product,
            listing=listing,
            reference=str(listing.pk),
            keep_listing_prices=True,
        )
    vendor = store.retailer.display_brand
    for batch in _batches(list(pushes.values()), client.product_batch_size):
        try:
            results = client.upsert_products(
                products=[product_data(p, vendor=vendor) for p in batch]
            )
        except StorePermanentError as exc:
            if isinstance(exc, StoreAuthError):
                raise
            for push in batch:
                record_push_error(listing=push.listing, error=str(exc))
            continue
        answered = {r.reference: r for r in results}
        for push in batch:
            result = answered.get(push.reference)
            if result is None or not result.is_ok:
                record_push_error(
                    listing=push.listing, error=(result.error if result else "No answer.")
                )
            else:
                record_pushed_product(store=store, push=push, result=result)


def _batches(items: list[T], size: int) -> list[list[T]]:
    size = max(size, 1)
    return [items[i : i + size] for i in range(0, len(items), size)]


# --- re-pricing on cost change ------------------------------------------------------------------
def reprice_listings_for_variants(*, variant_ids: Iterable[int]) -> None:
    """Call where a supplier changes wholesale prices: re-prices after the transaction commits."""
    from retailers.tasks import reprice_variants_task  # local: tasks.py imports the services

    ids = sorted(set(variant_ids))
    if ids:
        transaction.on_commit(partial(reprice_variants_task.delay, ids))


@transaction.atomic
def reprice_variants(*, variant_ids: list[int]) -> dict[int, list[int]]:
    """Re-price every active listing variant of these variants by its rule. Below the minimum
    margin the listing is paused (quantity 0) and waits for the retailer's approval. Returns the
    listings to push, by store. A second run finds nothing left to do (last_cost is current)."""
    hold_marking_lock()  # before the rows it may mark: a fan-out holding it may wait for them
    rows = list(
        ListingVariant.objects.select_for_update(of=("self",))
        .filter(variant_id__in=variant_ids, listing__status=Listing.Status.ACTIVE)
        .select_related("variant", "listing__product", "listing__store__retailer")
        .order_by("pk")
    )
    books: dict[int, PriceBook] = {}
    to_push: dict[int, set[int]] = defaultdict(set)
    paused: set[int] = set()
    changes: list[PriceChange] = []
    retailers: dict[int, Retailer] = {}
    for lv in rows:
        listing, variant = lv.listing, lv.variant
        if lv.last_cost == variant.wholesale_price:
            continue
        retailer = listing.store.retailer
        retailers[retailer.pk] = retailer
        book = books.setdefault(retailer.pk, PriceBook(retailer=retailer))
        rule = _listing_rule(book=book, listing=listing)
        try:
            quote = book.quote(
                variant=variant,
                category_id=listing.product.category_id,
                store=listing.store,
                rule=rule,
            )
        except NoExchangeRate as exc:  # the price stays; the next cost change tries again
            logger.warning("Listing %s not re-priced: %s", listing.pk, exc.message)
            continue
        old_cost, old_price = lv.last_cost, lv.retail_price
        lv.last_cost = variant.wholesale_price
        if quote.meets_minimum_margin and listing.pk not in paused:
            lv.retail_price, lv.compare_at_price = quote.price, quote.compare_at
            outcome = PriceChange.Outcome.REPRICED
        else:
            paused.add(listing.pk)
            outcome = PriceChange.Outcome.PAUSED
        lv.save(update_fields=["retail_price", "compare_at_price", "last_cost"])
        to_push[listing.store_id].add(listing.pk)
        changes.append(
            PriceChange(
                retailer=retailer,
                listing=listing,
                listing_variant=lv,
                outcome=outcome,
                old_cost=old_cost,
                new_cost=variant.wholesale_price,
                old_price=old_price,
                new_price=quote.price,
                minimum_price=quote.minimum_price,
                suggested_price=None
                if outcome == PriceChange.Outcome.REPRICED
                else round_price(max(quote.price, quote.minimum_price), rule.rounding),
            )
        )
    PriceChange.objects.bulk_create(changes)
    now = timezone.now()
    if paused:
        Listing.objects.filter(pk__in=paused).update(
            status=Listing.Status.PAUSED, paused_at=now, updated_at=now
        )
        mark_listings_dirty(listing_ids=paused)
        for retailer_id in {c.retailer_id for c in changes if c.listing_id in paused}:
            count = len({c.listing_id for c in changes if c.retailer_id == retailer_id} & paused)
            notify(
                organisation=retailers[retailer_id],
                kind="listings_paused",
                message=f"{count} listing(s) paused: a supplier's new cost is below your minimum "
                "margin. Approve a new price or unlist them.",
                level=Notification.Level.WARNING,
                url=reverse("retailers:approvals"),
            )
    pushed = {store_id: sorted(ids) for store_id, ids in to_push.items()}
    Listing.objects.filter(pk__in=[i for ids in pushed.values() for i in ids]).update(
        sync_status=Listing.SyncStatus.PENDING
    )
    for store_id, ids in pushed.items():
        _enqueue_push(store_id=store_id, listing_ids=ids)
    return pushed


def _listing_rule(*, book: PriceBook, listing: Listing) -> Rule:
    if listing.pricing_rule_id is not None:
        row = next((r for r in book.rules if r.pk == listing.pricing_rule_id), None)
        if row is not None:
            return Rule.from_model(row)
    return book.rule_for(category_id=listing.product.category_id, store=listing.store)


@transaction.atomic
def accept_listing_prices(
    *, listing: Listing, prices: dict[int, Decimal], actor: User | None = None
) -> Listing:
    """The retailer approves new prices for a paused listing: it sells again, never at a loss."""
    listing = Listing.objects.select_for_update().select_related("store").get(pk=listing.pk)
    if listing.status != Listing.Status.PAUSED:
        raise ListingError("This listing is not waiting for a price approval.")
    _check_connected(listing.store)
    variants = list(listing.variants.select_related("variant").select_for_update(of=("self",)))
    for lv in variants:
        price = prices.get(lv.pk)
        if price is None:
            raise ListingError(f"{lv.variant.sku}: enter a price.", field=f"price_{lv.pk}")
        _check_price(listing_variant=lv, price=price)
    for lv in variants:
        lv.retail_price = prices[lv.pk]
        if lv.compare_at_price is not None and lv.compare_at_price <= lv.retail_price:
            lv.compare_at_price = None
        lv.last_cost = lv.variant.wholesale_price
    ListingVariant.objects.bulk_update(variants, ["retail_price", "compare_at_price", "last_cost"])
    listing.status = Listing.Status.ACTIVE
    listing.paused_at = None
    listing.sync_status = Listing.SyncStatus.PENDING
    listing.save(update_fields=["status", "paused_at", "sync_status", "updated_at"])
    mark_listings_dirty(listing_ids=[listing.pk])
    record_audit(actor=actor, action="listing.price_approved", target=listing, summary=str(listing))
    _enqueue_push(store_id=listing.store_id, listing_ids=[listing.pk])
    return listing
