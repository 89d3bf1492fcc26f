"""Connect the demo retailer's Shopify and WooCommerce stores to the running sandboxes.

`make run` calls this once the sandboxes answer. Idempotent: the retailer's existing store rows
are reconnected with new credentials on every run (the sandboxes keep their shops, products and
orders under var/sandbox/ across restarts).
"""

import json
import urllib.request

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from devstack import demo_data
from dropship.core.errors import DomainError
from retailers.models import Retailer
from retailers.services import connect_shopify_store_with_token, connect_woocommerce_store
from sandbox.storefront import storefront_path

DEMO_SHOP = "maple-and-co.myshopify.com"
DEMO_WOO_SITE = "maple-and-co"


def demo_storefront_urls(*, shopify_url: str, woocommerce_url: str) -> dict[str, str]:
    """The sandbox shopper pages of the demo stores (sandbox/storefront.py)."""
    return {
        "Shopify": shopify_url.rstrip("/") + storefront_path(DEMO_SHOP),
        "WooCommerce": woocommerce_url.rstrip("/") + storefront_path(DEMO_WOO_SITE),
    }


def _post_json(url: str, data: dict) -> dict:
    request = urllib.request.Request(  # noqa: S310 - the sandbox on loopback, given by runstack
        url,
        data=json.dumps(data).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())


class Command(BaseCommand):
    help = "Connect the demo retailer's two stores to the Shopify and WooCommerce sandboxes."

    def add_arguments(self, parser):
        parser.add_argument("--shopify-url", default=settings.SHOPIFY_BASE_URL)
        parser.add_argument("--woocommerce-url", required=True)

    def handle(self, *args, shopify_url: str, woocommerce_url: str, **options):
        if not shopify_url:
            raise CommandError("Give --shopify-url (the Shopify sandbox) or set SHOPIFY_BASE_URL.")
        if not settings.ALLOW_LOOPBACK_URLS:
            raise CommandError("The sandboxes listen on loopback: set ALLOW_LOOPBACK_URLS=1.")
        settings.SHOPIFY_BASE_URL = shopify_url.rstrip("/")
        retailer = Retailer.objects.filter(slug=demo_data.RETAILER["slug"]).first()
        if retailer is None:
            raise CommandError("Run `manage.py seed_demo` first: the demo retailer does not exist.")
        if retailer.plan == Retailer.Plan.BASIC:
            # Starter allows one store; the demo connects two (and the README adds a custom one).
            retailer.plan = Retailer.Plan.PRO
            retailer.save(update_fields=["plan"])
        try:
            token = _post_json(
                f"{settings.SHOPIFY_BASE_URL}/_sandbox/shops/{DEMO_SHOP}/token",
                {"name": "Maple & Co (Shopify)", "expiring": True},
            )
            # An expiring offline token with its refresh token, as a public app gets from
            # 2027-01-01: the demo renews it every hour like production does.
            shop = connect_shopify_store_with_token(
                retailer=retailer,
                shop=DEMO_SHOP,
                access_token=token["access_token"],
                token_answer=token,
            )
            site = _post_json(
                f"{woocommerce_url.rstrip('/')}/_sandbox/sites",
                {"name": DEMO_WOO_SITE, "title": "Maple & Co (WooCommerce)"},
            )
            woo = connect_woocommerce_store(
                retailer=retailer,
                site_url=site["url"],
                consumer_key=site["consumer_key"],
                consumer_secret=site["consumer_secret"],
            )
        except (OSError, DomainError) as exc:
            raise CommandError(
                f"Could not connect the demo stores to the sandboxes: {exc}"
            ) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo stores connected: {shop.name} ({shop.domain}), {woo.name} ({woo.domain})."
            )
        )
        for platform, url in demo_storefront_urls(
            shopify_url=settings.SHOPIFY_BASE_URL, woocommerce_url=woocommerce_url
        ).items():
            self.stdout.write(f"{platform} sandbox storefront (order as a shopper): {url}")
