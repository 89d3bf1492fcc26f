"""Writes for retailers: connecting, checking and disconnecting stores.

Every outside call happens before the database is written, so a refused connection leaves
nothing behind.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from dropship.accounts.models import Notification, User
from dropship.accounts.services import email_organisation, notify
from dropship.core.audit import record_audit
from dropship.core.errors import DomainError
from dropship.core.fields import decrypt_str, encrypt_str
from dropship.core.money import CURRENCY_CHOICES
from integrations import connect
from integrations.base import StoreAuthError, StoreInfo, StorePermanentError, StoreTemporaryError
from integrations.registry import build_platform_client, get_store_client
from integrations.safe_http import UnsafeURLError, validate_url
from retailers.models import Retailer, Store
from retailers.plan_limits import check_can_connect_store

logger = logging.getLogger("retailers.services")


class StoreConnectionError(DomainError):
    status_code = 422  # the input (address, keys, name) is what the store or we refused


def _stores_url() -> str:
    return reverse("retailers:stores")


def _check_not_taken(*, retailer: Retailer, platform: str, domain: str) -> Store | None:
    """The retailer's own earlier row for this shop (to reuse), or an error if another has it."""
    rows = Store.objects.filter(platform=platform, domain=domain).exclude(
        status=Store.Status.DISCONNECTED
    )
    other = rows.exclude(retailer=retailer).first()
    if other is not None:
        raise StoreConnectionError(
            f"{domain} is already connected to another Dropship account.", field="domain"
        )
    return (
        Store.objects.filter(retailer=retailer, platform=platform, domain=domain)
        .order_by("-updated_at")
        .first()
    )


# --- Shopify -------------------------------------------------------------------------------------
def shopify_redirect_uri() -> str:
    return f"{settings.SITE_URL}{reverse('retailers:shopify_callback')}"


def _shopify_webhook_url() -> str:
    return f"{settings.SITE_URL}{reverse('integrations:shopify_webhook')}"


def store_webhook_url(*, store: Store) -> str:
    """Where the store's platform delivers our webhooks (as registered at connection)."""
    if store.platform == Store.Platform.SHOPIFY:
        return _shopify_webhook_url()
    path = reverse("integrations:woocommerce_webhook", args=[store.public_id])
    return f"{settings.SITE_URL}{path}"


def start_shopify_connection(*, retailer: Retailer, shop: str) -> tuple[str, str, str]:
    """Validate the shop and build Shopify's authorize URL: (url, state nonce, shop domain)."""
    domain = connect.normalise_shopify_domain(shop)
    existing = _check_not_taken(retailer=retailer, platform=Store.Platform.SHOPIFY, domain=domain)
    if existing is None or existing.status == Store.Status.DISCONNECTED:
        check_can_connect_store(retailer=retailer)  # before Shopify's pages, not after them
    state = secrets.token_urlsafe(24)
    url = connect.shopify_authorize_url(
        shop=domain, state=state, redirect_uri=shopify_redirect_uri()
    )
    return url, state, domain


def complete_shopify_connection(
    *,
    retailer: Retailer,
    params: dict[str, str],
    expected_state: str,
    expected_shop: str,
    actor: User | None = None,
) -> Store:
    """Check Shopify's callback, exchange the code, verify the token and register webhooks."""
    grant, shop = receive_shopify_grant(
        params=params, expected_state=expected_state, expected_shop=expected_shop, retailer=retailer
    )
    return attach_shopify_store(retailer=retailer, shop=shop, grant=grant, actor=actor)


def receive_shopify_grant(
    *,
    params: dict[str, str],
    expected_state: str,
    expected_shop: str,
    retailer: Retailer | None = None,
) -> tuple[connect.TokenGrant, str]:
    """Check Shopify's OAuth callback and trade its code for the token pair: (grant, shop).
    With `retailer`, a shop another retailer holds is refused before the code is spent."""
    checked = connect.verify_callback(params, expected_state=expected_state)
    if checked.shop != expected_shop:
        raise connect.OAuthCallbackError(
            "Shopify answered for a different shop than the one you asked to connect."
        )
    if retailer is not None:
        _check_not_taken(retailer=retailer, platform=Store.Platform.SHOPIFY, domain=checked.shop)
    try:
        grant = connect.exchange_code(shop=checked.shop, code=checked.code)
    except (StorePermanentError, StoreTemporaryError) as exc:
        raise StoreConnectionError(f"Shopify did not complete the connection: {exc}") from exc
    return grant, checked.shop


def attach_shopify_store(
    *, retailer: Retailer, shop: str, grant: connect.TokenGrant, actor: User | None = None
) -> Store:
    """Connect the shop to this retailer with the granted token: verified by a real call,
    webhooks registered, then saved. The retailer's earlier row for the shop is reconnected
    (never a second row); a shop another retailer holds is refused."""
    domain = connect.normalise_shopify_domain(shop)
    existing = _check_not_taken(retailer=retailer, platform=Store.Platform.SHOPIFY, domain=domain)
    try:
        connection = connect.connect_shopify_with_token(
            shop=domain, grant=grant, callback_url=_shopify_webhook_url()
        )
    except (StorePermanentError, StoreTemporaryError) as exc:
        raise StoreConnectionError(f"Shopify did not complete the connection: {exc}") from exc
    return _save_connected_store(
        retailer=retailer,
        existing=existing,
        platform=Store.Platform.SHOPIFY,
        domain=domain,
        connection=connection,
        webhook_secret="",
        actor=actor,
    )


# --- installing from Shopify (the app URL) -------------------------------------------------------
def shopify_install_redirect_uri() -> str:
    return f"{settings.SITE_URL}{reverse('retailers:shopify_install_callback')}"


def start_shopify_install(*, params: dict[str, str]) -> tuple[str, str, str]:
    """The app URL Shopify opened (install or launch from the admin): check its HMAC, timestamp
    and shop, and build the authorize URL at once: (url, state nonce, shop). Nothing is
    written; a bad request raises OAuthCallbackError."""
    domain = connect.verify_launch(params)
    state = secrets.token_urlsafe(24)
    url = connect.shopify_authorize_url(
        shop=domain, state=state, redirect_uri=shopify_install_redirect_uri()
    )
    return url, state, domain


PENDING_INSTALL_SECONDS = 60 * 60
API_INSTALL_SALT = "retailers.shopify.api-install"


def start_shopify_install_for_api(*, retailer: Retailer, shop: str) -> tuple[str, str]:
    """Shopify's authorize URL for a shop, asked for through the API: (url, shop domain).

    No browser session carries the OAuth state here, so the state is signed (shop, retailer,
    time) and the install callback accepts it for an hour; the merchant who approves is then
    asked to sign in as the retailer's owner, as for an install from Shopify's admin."""
    domain = connect.normalise_shopify_domain(shop)
    _check_not_taken(retailer=retailer, platform=Store.Platform.SHOPIFY, domain=domain)
    state = signing.dumps(
        {"shop": domain, "retailer": retailer.pk, "nonce": secrets.token_urlsafe(8)},
        salt=API_INSTALL_SALT,
    )
    url = connect.shopify_authorize_url(
        shop=domain, state=state, redirect_uri=shopify_install_redirect_uri()
    )
    return url, domain


def api_install_state(state: str) -> dict[str, Any]:
    """The pending install an API-issued state stands for ({"state", "shop"}), or {} when the
    state is not ours or more than an hour old."""
    try:
        data = signing.loads(state, salt=API_INSTALL_SALT, max_age=PENDING_INSTALL_SECONDS)
    except signing.BadSignature:
        return {}
    if not isinstance(data, dict) or not isinstance(data.get("shop"), str):
        return {}
    return {"state": state, "shop": data["shop"], "retailer": data.get("retailer")}


def seal_pending_install(
    *, shop: str, grant: connect.TokenGrant, retailer_id: int | None = None
) -> dict[str, Any]:
    """What the merchant's session keeps between Shopify's callback and their sign-in: the shop
    and the token pair, encrypted, usable for an hour; for an install started through the API,
    the retailer that asked, whose owner alone may finish it."""
    return {
        "retailer": retailer_id,
        "shop": shop,
        "grant": encrypt_str(json.dumps(grant.as_credentials())),
        "expires_at": time.time() + PENDING_INSTALL_SECONDS,
    }


def open_pending_install(
    sealed: dict[str, Any] | None, *, retailer: Retailer
) -> tuple[str, connect.TokenGrant]:
    """The shop and grant of a sealed pending install for `retailer`; StoreConnectionError when
    there is none, it is too old, or the API install was asked for by another retailer."""
    if not sealed or float(sealed.get("expires_at") or 0) < time.time():
        raise StoreConnectionError(
            "There is no Shopify installation waiting to be finished (or it is more than an "
            "hour old). Open Dropship from your Shopify admin again."
        )
    if sealed.get("retailer") not in (None, retailer.pk):
        raise StoreConnectionError(
            "This installation was started through the API for another Dropship account: sign "
            "in as an owner of that account to finish it."
        )
    data = json.loads(decrypt_str(str(sealed["grant"])))
    grant = connect.TokenGrant(
        access_token=data["access_token"],
        scope=data.get("scope") or "",
        expires_at=data.get("access_token_expires_at"),
        refresh_token=data.get("refresh_token") or "",
        refresh_token_expires_at=data.get("refresh_token_expires_at"),
    )
    return str(sealed["shop"]), grant


def connect_shopify_store_with_token(
    *,
    retailer: Retailer,
    shop: str,
    access_token: str,
    scope: str = "",
    token_answer: dict[str, Any] | None = None,
    actor: User | None = None,
) -> Store:
    """Connect with an access token obtained outside the OAuth redirect (a custom app's token,
    or the demo's sandbox): verified by a real call, webhooks registered, then saved.
    `token_answer` is the token endpoint's whole answer when the token expires (its refresh
    token and lifetimes are kept so the token is renewed)."""
    domain = connect.normalise_shopify_domain(shop)
    existing = _check_not_taken(retailer=retailer, platform=Store.Platform.SHOPIFY, domain=domain)
    grant = connect.grant_from_answer(
        {**(token_answer or {}), "access_token": access_token},
        now=time.time(),
        scope=scope,
    )
    try:
        connection = connect.connect_shopify_with_token(
            shop=domain, grant=grant, callback_url=_shopify_webhook_url()
        )
    except (StorePermanentError, StoreTemporaryError) as exc:
        raise StoreConnectionError(f"Shopify did not accept this token: {exc}") from exc
    return _save_connected_store(
        retailer=retailer,
        existing=existing,
        platform=Store.Platform.SHOPIFY,
        domain=domain,
        connection=connection,
        webhook_secret="",
        actor=actor,
    )


# --- WooCommerce ---------------------------------------------------------------------------------
def connect_woocommerce_store(
    *,
    retailer: Retailer,
    site_url: str,
    consumer_key: str,
    consumer_secret: str,
    actor: User | None = None,
) -> Store:
    """Check the address is safe, prove the keys with a real call, create our webhooks, save."""
    try:
        url = validate_url(site_url, require_https=True)
    except UnsafeURLError as exc:
        raise StoreConnectionError(str(exc), field="site_url") from exc
    consumer_key, consumer_secret = consumer_key.strip(), consumer_secret.strip()
    try:
        connect.check_woocommerce_keys(consumer_key=consumer_key, consumer_secret=consumer_secret)
    except connect.CredentialFormatError as exc:
        raise StoreConnectionError(str(exc), field=exc.field) from exc
    existing = _check_not_taken(retailer=retailer, platform=Store.Platform.WOOCOMMERCE, domain=url)
    public_id = existing.public_id if existing else uuid.uuid4()
    webhook_secret = secrets.token_urlsafe(32)
    try:
        connection = connect.connect_woocommerce(
            url=url,
            consumer_key=consumer_key,
            consumer_secret=consumer_secret,
            webhook_secret=webhook_secret,
            callback_url=settings.SITE_URL
            + reverse("integrations:woocommerce_webhook", args=[public_id]),
        )
    except connect.WebhookRegistrationError as exc:
        raise StoreConnectionError(f"WooCommerce did not accept our webhooks: {exc}") from exc
    except StoreAuthError as exc:
        tried = f" (tried {exc.tried})" if exc.tried else ""
        raise StoreConnectionError(
            f"WooCommerce refused these keys{tried}. Create a key with Read/Write permission "
            "and paste both parts again.",
            field="consumer_key",
        ) from exc
    except (StorePermanentError, StoreTemporaryError) as exc:
        raise StoreConnectionError(
            f"Could not talk to this WooCommerce site: {exc}", field="site_url"
        ) from exc
    return _save_connected_store(
        retailer=retailer,
        existing=existing,
        platform=Store.Platform.WOOCOMMERCE,
        domain=url,
        connection=connection,
        webhook_secret=webhook_secret,
        public_id=public_id,
        actor=actor,
    )


@transaction.atomic
def _save_connected_store(
    *,
    retailer: Retailer,
    existing: Store | None,
    platform: str,
    domain: str,
    connection: connect.StoreConnection,
    webhook_secret: str,
    public_id: uuid.UUID | None = None,
    actor: User | None = None,
) -> Store:
    if existing is None or existing.status == Store.Status.DISCONNECTED:
        check_can_connect_store(retailer=retailer)  # a new connection counts against the plan
    store = existing or Store(retailer=retailer, platform=platform, domain=domain)
    if public_id is not None and existing is None:
        store.public_id = public_id
    info = connection.info
    store.name = info.name[:255] or domain
    store.currency = (info.currency or store.currency or settings.DEFAULT_CURRENCY)[:3].upper()
    store.location_id = info.location_id
    store.credentials = connection.credentials
    store.webhook_secret = webhook_secret
    store.status = Store.Status.CONNECTED
    store.status_reason = ""
    store.tokens_due_at = None  # the token job looks at the new credentials at its next run
    store.token_migration_error = ""
    store.connected_at = timezone.now()
    store.disconnected_at = None
    store.save()
    record_audit(
        actor=actor,
        action="store.connected",
        target=store,
        summary=f"{store.get_platform_display()} store {store.domain} connected",
    )
    return store


# --- custom stores -------------------------------------------------------------------------------
MANUAL_ORDERS_STORE_NAME = "Manual orders"
_CURRENCIES = {code for code, _ in CURRENCY_CHOICES}


def _custom_domain(public_id: uuid.UUID) -> str:
    """A custom store has no address we call: its domain is its own id, unique by construction."""
    return f"{public_id}.custom.dropship"


def _check_custom_input(*, name: str, currency: str) -> tuple[str, str]:
    name = " ".join(name.split())
    if not name:
        raise StoreConnectionError("Give the store a name.", field="name")
    if len(name) > 255:
        raise StoreConnectionError("The name is longer than 255 characters.", field="name")
    currency = (currency or settings.DEFAULT_CURRENCY).strip().upper()
    if currency not in _CURRENCIES:
        raise StoreConnectionError(
            f"Choose one of the currencies we handle ({', '.join(sorted(_CURRENCIES))}).",
            field="currency",
        )
    return name, currency


@transaction.atomic
def create_custom_store(
    *, retailer: Retailer, name: str, currency: str = "", actor: User | None = None
) -> Store:
    """A store on any shop system (or for phone and manual orders) that sends its orders to
    `POST /api/v1/orders`: nothing is called, products listed into it get Dropship ids."""
    name, currency = _check_custom_input(name=name, currency=currency)
    public_id = uuid.uuid4()
    store = Store.objects.create(
        retailer=retailer,
        public_id=public_id,
        name=name,
        platform=Store.Platform.CUSTOM,
        domain=_custom_domain(public_id),
        currency=currency,
        status=Store.Status.CONNECTED,
        connected_at=timezone.now(),
    )
    record_audit(
        actor=actor, action="store.connected", target=store, summary=f"Custom store {name} created"
    )
    return store


def get_or_create_manual_orders_store(*, retailer: Retailer, actor: User | None = None) -> Store:
    """The retailer's "Manual orders" custom store, created on first use (samples, phone
    orders). The oldest connected custom store of that name is reused."""
    existing = (
        Store.objects.filter(
            retailer=retailer,
            platform=Store.Platform.CUSTOM,
            status=Store.Status.CONNECTED,
            name=MANUAL_ORDERS_STORE_NAME,
        )
        .order_by("pk")
        .first()
    )
    if existing is not None:
        return existing
    return create_custom_store(
        retailer=retailer,
        name=MANUAL_ORDERS_STORE_NAME,
        currency=retailer.currency,
        actor=actor,
    )


# --- checks and disconnection --------------------------------------------------------------------
def check_store_connection(*, store: Store) -> StoreInfo:
    """A real call to the store. A 401 marks it NEEDS_RECONNECT."""
    try:
        client = get_store_client(store=store)
        with reconnect_on_auth_error(store=store):
            info = client.verify_connection()
    except StoreAuthError as exc:
        raise StoreConnectionError(str(exc)) from exc
    except (StorePermanentError, StoreTemporaryError) as exc:
        raise StoreConnectionError(f"{store.name} did not answer correctly: {exc}") from exc
    if store.status == Store.Status.NEEDS_RECONNECT:
        Store.objects.filter(pk=store.pk).update(
            status=Store.Status.CONNECTED, status_reason="", updated_at=timezone.now()
        )
        store.refresh_from_db()
    return info


def disconnect_store(*, store: Store, actor: User | None = None) -> Store:
    """Remove our webhooks where the store still lets us, then wipe the credentials."""
    webhook_ids = list((store.credentials or {}).get("webhook_ids") or [])
    note = ""
    if webhook_ids and store.status == Store.Status.CONNECTED:
        try:
            build_platform_client(store=store).delete_webhooks(store_webhook_ids=webhook_ids)
        except (StorePermanentError, StoreTemporaryError) as exc:
            note = f" Our webhooks could not be removed from the store ({exc})."
            logger.warning("Could not remove webhooks of store %s: %s", store.pk, exc)
    with transaction.atomic():
        store.credentials = None
        store.webhook_secret = ""
        store.status = Store.Status.DISCONNECTED
        store.status_reason = ("Disconnected by the retailer." + note)[:500]
        store.disconnected_at = timezone.now()
        store.save(
            update_fields=[
                "credentials",
                "webhook_secret",
                "status",
                "status_reason",
                "disconnected_at",
                "updated_at",
            ]
        )
        record_audit(actor=actor, action="store.disconnected", target=store, summary=store.domain)
    return store


def set_manual_payment_routing(
    *, store: Store, routes_manual_payment_orders: bool, actor: User | None = None
) -> Store:
    """Whether the store's cash-on-delivery and other manual-payment orders are routed when
    they are placed (the retailer carries the risk of a shopper who never pays) or wait until
    the store marks them paid (the default)."""
    if store.routes_manual_payment_orders != routes_manual_payment_orders:
        store.routes_manual_payment_orders = routes_manual_payment_orders
        store.save(update_fields=["routes_manual_payment_orders", "updated_at"])
        record_audit(
            actor=actor,
            action="store.manual_payment_routing",
            target=store,
            summary="on" if routes_manual_payment_orders else "off",
        )
    return store


def set_store_out_of_stock_behaviour(
    *, store: Store, unpublish_when_out_of_stock: bool | None, actor: User | None = None
) -> Store:
    """Whether the store's listings are unpublished at zero stock: True, False, or None to
    follow the retailer's default. The inventory sync reads it on its next drain."""
    before = store.unpublish_when_out_of_stock
    if before != unpublish_when_out_of_stock:
        store.unpublish_when_out_of_stock = unpublish_when_out_of_stock
        store.save(update_fields=["unpublish_when_out_of_stock", "updated_at"])
        record_audit(
            actor=actor,
            action="store.out_of_stock_behaviour",
            target=store,
            changes={"unpublish_when_out_of_stock": [before, unpublish_when_out_of_stock]},
        )
    return store


@contextmanager
def reconnect_on_auth_error(*, store: Store) -> Iterator[None]:
    """Around calls to a store's client: a 401/403 (StoreAuthError) marks the store as needing
    reconnection, and the retailer is told, before the error goes on up to the caller."""
    try:
        yield
    except StoreAuthError as exc:
        mark_store_needs_reconnect(store=store, reason=str(exc))
        raise


def mark_store_needs_reconnect(*, store: Store, reason: str) -> bool:
    """The store refused our credentials: flag it and tell the retailer once (page + email)."""
    changed = Store.objects.filter(pk=store.pk, status=Store.Status.CONNECTED).update(
        status=Store.Status.NEEDS_RECONNECT, status_reason=reason[:500], updated_at=timezone.now()
    )
    store.status = Store.Status.NEEDS_RECONNECT
    store.status_reason = reason[:500]
    if not changed:
        return False
    retailer = store.retailer
    message = f"{store.name} refused our access: reconnect it to keep orders and stock in sync."
    notify(
        organisation=retailer,
        kind="store_needs_reconnect",
        message=message,
        level=Notification.Level.ERROR,
        url=_stores_url(),
    )
    email_organisation(
        organisation=retailer,
        subject=f"Reconnect {store.name} to Dropship",
        message=(
            f"{message}\n\n{store.get_platform_display()} answered: {reason}\n\n"
            f"Reconnect it here: {settings.SITE_URL}{_stores_url()}\n"
        ),
    )
    return True


@transaction.atomic
def mark_store_uninstalled(*, store: Store) -> Store:
    """Shopify told us the app was uninstalled: the token is dead, forget it."""
    was_connected = store.status != Store.Status.DISCONNECTED
    store.credentials = None
    store.webhook_secret = ""
    store.status = Store.Status.DISCONNECTED
    store.status_reason = "The Dropship app was uninstalled from the shop."
    store.disconnected_at = store.disconnected_at if not was_connected else timezone.now()
    store.save(
        update_fields=[
            "credentials",
            "webhook_secret",
            "status",
            "status_reason",
            "disconnected_at",
            "updated_at",
        ]
    )
    if was_connected:
        notify(
            organisation=store.retailer,
            kind="store_uninstalled",
            message=f"The Dropship app was uninstalled from {store.name}; the store is disconnected.",
            level=Notification.Level.WARNING,
            url=_stores_url(),
        )
    return store
