"""Supplier inventory feeds: polled through the safe-call helper, conditional GET, only changed
rows applied, garbage rows reported, failures and staleness alert the supplier once."""

import hashlib
import json
import time
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from catalog.models import StockMovement, Variant
from dropship.accounts.models import Notification
from retailers.models import ListingVariant
from sandbox.server import Response, SandboxServer
from suppliers import feeds
from suppliers.models import SupplierFeed
from tests import factories

pytestmark = pytest.mark.django_db


class FeedApp:
    """A supplier's web server: serves `body` with an ETag; answers 304 when it matches."""

    def __init__(self) -> None:
        self.body = b""
        self.content_type = "text/csv"
        self.status = 200
        self.delay = 0.0
        self.requests: list[dict] = []

    def handle(self, request) -> Response:
        self.requests.append(dict(request.headers))
        if self.delay:
            time.sleep(self.delay)
        if self.status != 200:
            return Response(
                status=self.status, body=b"oops", headers={"Content-Type": "text/plain"}
            )
        etag = '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'
        if request.headers.get("if-none-match") == etag:
            return Response(status=304, headers={"ETag": etag})
        return Response(
            status=200, body=self.body, headers={"Content-Type": self.content_type, "ETag": etag}
        )


@pytest.fixture
def feed_server():
    app = FeedApp()
    server = SandboxServer(app).start()
    try:
        yield app, server.base_url
    finally:
        server.stop()


@pytest.fixture
def catalog():
    supplier = factories.SupplierFactory(contact_email="stock@supplier.example")
    product = factories.ProductFactory(supplier=supplier)
    variants = {
        sku: factories.VariantFactory(product=product, sku=sku, stock_on_hand=10)
        for sku in ("A-1", "A-2", "A-3")
    }
    return supplier, variants


def _feed(supplier, url, **extra):
    return feeds.save_feed(
        supplier=supplier,
        url=url + "/stock.csv",
        format=extra.pop("format", "CSV"),
        mapping=None,
        is_enabled=True,
    )


def _stock(variants) -> dict[str, int]:
    return {sku: Variant.objects.get(pk=v.pk).stock_on_hand for sku, v in sorted(variants.items())}


def _poll(feed):
    return feeds.poll_feed(feed_id=feed.pk, force=True)


def test_the_poller_applies_only_changed_rows_and_honours_etag(feed_server, catalog):
    app, base = feed_server
    supplier, variants = catalog
    listed = factories.ListingVariantFactory(
        variant=variants["A-2"],
        listing__product=variants["A-2"].product,
        is_inventory_dirty=False,
        inventory_dirty_since=None,
    )
    app.body = b"SKU,Quantity\nA-1,5\nA-2,10\nA-3,7\n"
    feed = _feed(supplier, base)

    first = _poll(feed)
    assert (first.outcome, first.rows, first.changed) == ("applied", 3, 3)
    assert _stock(variants) == {"A-1": 5, "A-2": 10, "A-3": 7}
    assert not ListingVariant.objects.get(pk=listed.pk).is_inventory_dirty  # A-2 unchanged

    # Same file again: the server answers 304 to our If-None-Match, nothing is read or written.
    movements = StockMovement.objects.count()
    second = _poll(feed)
    assert second.outcome == "not_modified"
    assert app.requests[-1]["if-none-match"].startswith('"')
    assert StockMovement.objects.count() == movements

    # One row changes: only that row is applied, and its listings are marked for the sync.
    app.body = b"SKU,Quantity\nA-1,5\nA-2,4\nA-3,7\n"
    third = _poll(feed)
    assert (third.outcome, third.changed) == ("applied", 1)
    assert StockMovement.objects.count() == movements + 1
    assert StockMovement.objects.latest("id").source == StockMovement.Source.FEED
    assert _stock(variants) == {"A-1": 5, "A-2": 4, "A-3": 7}
    assert ListingVariant.objects.get(pk=listed.pk).is_inventory_dirty


def test_garbage_rows_are_reported_and_good_rows_applied(feed_server, catalog):
    app, base = feed_server
    supplier, variants = catalog
    app.body = b"sku,stock\nA-1,3\nA-2,lots\n,4\nNOPE,2\nA-3,-1\nA-1,9\n"
    feed = _feed(supplier, base)

    result = _poll(feed)

    assert result.outcome == "applied"
    assert _stock(variants) == {"A-1": 3, "A-2": 10, "A-3": 10}
    feed.refresh_from_db()
    messages = " | ".join(r["message"] for r in feed.rejected_samples)
    assert feed.last_rejected == 5
    for expected in ("lots", "SKU is empty", "NOPE: unknown SKU", "negative", "duplicate"):
        assert expected in messages
    assert feed.health == SupplierFeed.Health.OK


def test_a_json_feed_with_its_own_keys(feed_server, catalog):
    app, base = feed_server
    supplier, variants = catalog
    app.content_type = "application/json"
    app.body = json.dumps(
        {"items": [{"item_sku": "A-1", "qty": 2}, {"qty": 0, "item_sku": "A-3"}]}
    ).encode()
    feed = feeds.save_feed(
        supplier=supplier,
        url=base + "/feed.json",
        format="JSON",
        mapping={"item_sku": "sku", "qty": "stock"},
        is_enabled=True,
    )

    assert _poll(feed).outcome == "applied"
    assert _stock(variants) == {"A-1": 2, "A-2": 10, "A-3": 0}

    # The supplier's system reorders its keys: the mapping by name still reads it right.
    app.body = json.dumps([{"qty": 6, "item_sku": "A-2"}]).encode()
    assert _poll(feed).outcome == "applied"
    assert _stock(variants) == {"A-1": 2, "A-2": 6, "A-3": 0}


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (lambda app: setattr(app, "status", 500), "HTTP 500"),
        (
            lambda app: (
                setattr(app, "body", b"<!DOCTYPE html><html>Login</html>"),
                setattr(app, "content_type", "text/html"),
            ),
            "web page",
        ),
        (lambda app: setattr(app, "delay", 2.0), "could not be fetched"),
    ],
    ids=["500", "html", "timeout"],
)
def test_a_failing_feed_alerts_the_supplier_once_per_incident(
    feed_server, catalog, settings, setup, expected, django_capture_on_commit_callbacks
):
    settings.FEED_TIMEOUT_SECONDS = 0.5
    app, base = feed_server
    supplier, variants = catalog
    app.body = b"sku,stock\nA-1,1\n"
    feed = _feed(supplier, base)
    setup(app)

    with django_capture_on_commit_callbacks(execute=True):
        first = _poll(feed)
        second = _poll(feed)

    assert first.outcome == second.outcome == "failed"
    assert expected in first.error
    assert _stock(variants)["A-1"] == 10  # nothing applied
    feed.refresh_from_db()
    assert feed.health == SupplierFeed.Health.FAILING
    assert feed.incident_open
    alerts = Notification.objects.filter(supplier=supplier, kind="feed.failing")
    assert alerts.count() == 1
    assert len([m for m in mail.outbox if "feed is not working" in m.subject]) == 1

    # It heals: the incident closes, and the next failure alerts again.
    app.status, app.delay, app.content_type, app.body = 200, 0.0, "text/csv", b"sku,stock\nA-1,1\n"
    assert _poll(feed).outcome == "applied"
    feed.refresh_from_db()
    assert feed.health == SupplierFeed.Health.OK
    assert not feed.incident_open
    app.status = 500
    _poll(feed)
    assert alerts.count() == 2


def test_a_feed_without_success_for_an_hour_goes_stale_and_alerts_once(feed_server, catalog):
    app, base = feed_server
    supplier, _variants = catalog
    app.body = b"sku,stock\nA-1,1\n"
    feed = _feed(supplier, base)
    _poll(feed)
    SupplierFeed.objects.filter(pk=feed.pk).update(
        last_success_at=timezone.now() - timedelta(hours=1, minutes=1)
    )

    assert feeds.mark_stale_feeds() == 1
    assert feeds.mark_stale_feeds() == 0

    feed.refresh_from_db()
    assert feed.health == SupplierFeed.Health.STALE
    assert Notification.objects.filter(supplier=supplier, kind="feed.failing").count() == 1


def test_beat_polls_due_feeds_once(feed_server, catalog):
    app, base = feed_server
    supplier, variants = catalog
    app.body = b"sku,stock\nA-1,8\n"
    _feed(supplier, base)

    assert feeds.poll_due_feeds() == 1  # eager: polled now
    assert feeds.poll_due_feeds() == 0  # not due for 5 minutes
    assert _stock(variants)["A-1"] == 8
    assert len(app.requests) == 1


def test_a_private_address_is_refused_before_any_request(catalog, settings):
    settings.ALLOW_LOOPBACK_URLS = False
    supplier, _variants = catalog
    feed = feeds.save_feed(
        supplier=supplier,
        url="http://127.0.0.1:9/stock.csv",
        format="CSV",
        mapping=None,
        is_enabled=True,
    )
    result = _poll(feed)
    assert result.outcome == "failed"
    feed.refresh_from_db()
    assert feed.incident_open


def test_the_feed_page_saves_tests_and_rejects_bad_input(supplier_client, feed_server):
    app, base = feed_server
    supplier = supplier_client.supplier
    factories.VariantFactory(product__supplier=supplier, sku="P-1")
    app.body = b"Item,On hand\nP-1,4\n"

    bad = supplier_client.post("/supplier/inventory-feed/", {"url": "not a url", "format": "CSV"})
    assert bad.status_code == 400
    assert "Enter a valid URL" in bad.content.decode()

    wrong_column = supplier_client.post(
        "/supplier/inventory-feed/",
        {"url": base + "/s.csv", "format": "CSV", "sku_column": "Code", "test": "1"},
    )
    assert wrong_column.status_code == 400
    assert "no column “Code”" in wrong_column.content.decode()

    tested = supplier_client.post(
        "/supplier/inventory-feed/",
        {
            "url": base + "/s.csv",
            "format": "CSV",
            "sku_column": "Item",
            "stock_column": "On hand",
            "is_enabled": "on",
            "test": "1",
        },
    )
    assert tested.status_code == 200
    assert "The feed works: 1 rows, 1 usable" in tested.content.decode()
    feed = SupplierFeed.objects.get(supplier=supplier)
    assert feed.mapping == {"Item": "sku", "On hand": "stock"}
    assert Variant.objects.get(sku="P-1").stock_on_hand == 100  # a test applies nothing

    dashboard = supplier_client.get("/supplier/")
    assert "Inventory feed" in dashboard.content.decode()


def test_the_supplier_sets_the_stock_buffer_and_listings_are_marked(supplier_client):
    supplier = supplier_client.supplier
    variant = factories.VariantFactory(product__supplier=supplier)
    row = factories.ListingVariantFactory(
        variant=variant,
        listing__product=variant.product,
        is_inventory_dirty=False,
        inventory_dirty_since=None,
    )

    bad = supplier_client.post(
        "/supplier/inventory-feed/", {"stock_buffer_percent": "150", "buffer": "1"}
    )
    assert bad.status_code == 400
    assert "less than or equal to 100" in bad.content.decode()

    good = supplier_client.post(
        "/supplier/inventory-feed/", {"stock_buffer_percent": "80", "buffer": "1"}
    )
    assert good.status_code == 302
    supplier.refresh_from_db()
    assert supplier.stock_buffer_percent == 80
    assert ListingVariant.objects.get(pk=row.pk).is_inventory_dirty
