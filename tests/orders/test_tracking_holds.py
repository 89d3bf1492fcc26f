"""Shopify fulfillment orders ON_HOLD or SCHEDULED: the tracking push waits (the shipment reads
"Held by the store" with Shopify's reason), never fails for good, and is sent when the hold is
released; fulfillment orders and their lines are read page by page."""

from datetime import timedelta

import pytest
from django.utils import timezone

from integrations.models import InboundWebhook, OutboundPush
from integrations.registry import get_store_client
from integrations.services import sweep_outbound_pushes
from orders.models import Shipment
from tests.orders.test_tracking import UPS, _ship, _shopify_setup

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_client_sleep(client_sleeps):
    return client_sleeps


def _replay(client, delivery) -> None:
    """Post a delivery the sandbox made to our webhook endpoint, signed as Shopify signed it."""
    meta = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in delivery.headers.items()}
    meta.pop("HTTP_CONTENT_TYPE")
    answer = client.post(
        "/webhooks/shopify/", data=delivery.body, content_type="application/json", **meta
    )
    assert answer.status_code == 200, answer.content


def _subscribe(store) -> None:
    """Our webhook subscriptions in the sandbox (to an address nothing listens on: the test
    replays the deliveries itself)."""
    get_store_client(store=store).register_webhooks(
        callback_url="http://127.0.0.1:9/webhooks/shopify/"
    )


def test_a_held_fulfillment_order_holds_the_push_until_the_hold_is_released(
    client, shopify_sandbox, django_capture_on_commit_callbacks
):
    store, sandbox_order, order, [supplier_order] = _shopify_setup(shopify_sandbox, {"APRON-A": 1})
    _subscribe(store)
    [fo_id] = sandbox_order["fulfillment_order_ids"]
    shopify_sandbox.app.hold_fulfillment_order(
        store.domain, fo_id, reason="AWAITING_PAYMENT", notes="Bank transfer not received"
    )

    shipment = _ship(django_capture_on_commit_callbacks, supplier_order)

    shipment.refresh_from_db()
    push = OutboundPush.objects.get(shipment=shipment)
    assert shipment.push_status == Shipment.PushStatus.HELD
    assert shipment.push_error == (
        "Held by Shopify: fulfillment order "
        f"{fo_id.rsplit('/', 1)[1]} is on hold: Awaiting payment (Bank transfer not received)."
    )
    # Waiting, not failing: the attempt does not count, the next look is hours away.
    assert (push.status, push.attempts, push.max_attempts) == ("PENDING", 1, 13)
    assert push.next_attempt_at - timezone.now() > timedelta(hours=5)
    assert [e.kind for e in order.events.filter(kind__startswith="tracking")] == ["tracking_held"]
    assert shopify_sandbox.app.shop(store.domain).fulfillments == {}
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_outbound_pushes() == 0

    [released] = shopify_sandbox.app.release_fulfillment_hold(store.domain, fo_id)
    assert released.topic == "fulfillment_orders/hold_released"
    with django_capture_on_commit_callbacks(execute=True):
        _replay(client, released)

    assert InboundWebhook.objects.get(topic="fulfillment_orders/hold_released").status == (
        "PROCESSED"
    )
    shipment.refresh_from_db()
    push.refresh_from_db()
    [fulfillment] = shopify_sandbox.app.shop(store.domain).fulfillments.values()
    assert (shipment.push_status, shipment.push_error, shipment.store_fulfillment_id) == (
        Shipment.PushStatus.PUSHED,
        "",
        fulfillment["id"],
    )
    assert push.status == OutboundPush.Status.SUCCEEDED
    assert fulfillment["trackingInfo"][0]["number"] == UPS


def test_the_retailer_sees_why_the_store_holds_the_tracking(
    retailer_client, shopify_sandbox, django_capture_on_commit_callbacks
):
    from django.urls import reverse

    store, sandbox_order, order, [supplier_order] = _shopify_setup(shopify_sandbox, {"APRON-A": 1})
    store.retailer = retailer_client.retailer
    store.save()
    order.retailer = retailer_client.retailer
    order.save()
    [fo_id] = sandbox_order["fulfillment_order_ids"]
    shopify_sandbox.app.hold_fulfillment_order(store.domain, fo_id, reason="HIGH_RISK_OF_FRAUD")

    _ship(django_capture_on_commit_callbacks, supplier_order)

    page = retailer_client.get(reverse("orders:retailer_detail", args=[order.pk])).content.decode()
    number = fo_id.rsplit("/", 1)[1]
    assert (
        '<span class="badge badge-HELD" title="Held by Shopify: fulfillment order '
        f'{number} is on hold: High risk of fraud.">Held by the store</span>'
    ) in page


def test_a_scheduled_fulfillment_order_is_sent_when_it_opens(
    client, shopify_sandbox, django_capture_on_commit_callbacks
):
    store, sandbox_order, _, [supplier_order] = _shopify_setup(shopify_sandbox, {"APRON-A": 2})
    _subscribe(store)
    [fo_id] = sandbox_order["fulfillment_order_ids"]
    opens = timezone.now() + timedelta(days=2)
    shopify_sandbox.app.schedule_fulfillment_order(
        store.domain, fo_id, fulfill_at=opens.timestamp()
    )

    shipment = _ship(django_capture_on_commit_callbacks, supplier_order)

    shipment.refresh_from_db()
    push = OutboundPush.objects.get(shipment=shipment)
    assert shipment.push_status == Shipment.PushStatus.HELD
    assert "is scheduled to open " + opens.strftime("%Y-%m-%dT%H:%M") in shipment.push_error
    # Without a webhook it looks again when the fulfillment order is due to open.
    assert abs(push.next_attempt_at - opens) < timedelta(seconds=5)
    assert push.status == OutboundPush.Status.PENDING

    [ready] = shopify_sandbox.app.open_scheduled_fulfillment_order(store.domain, fo_id)
    assert ready.topic == "fulfillment_orders/scheduled_fulfillment_order_ready"
    with django_capture_on_commit_callbacks(execute=True):
        _replay(client, ready)

    shipment.refresh_from_db()
    assert shipment.push_status == Shipment.PushStatus.PUSHED
    assert len(shopify_sandbox.app.shop(store.domain).fulfillments) == 1


def test_a_release_webhook_leaves_pushes_still_held_waiting(
    client, shopify_sandbox, django_capture_on_commit_callbacks
):
    """Two fulfillment orders on hold; one is released: the shipment needs both, so it waits
    again with the remaining hold as its reason."""
    store, sandbox_order, _, [supplier_order] = _shopify_setup(
        shopify_sandbox, {"APRON-A": 1, "APRON-B": 1}, fulfillment_orders=2
    )
    _subscribe(store)
    shop = shopify_sandbox.app.shop(store.domain)
    first, second = sandbox_order["fulfillment_order_ids"]
    shopify_sandbox.app.hold_fulfillment_order(store.domain, first, reason="OTHER")
    shopify_sandbox.app.hold_fulfillment_order(store.domain, second, reason="INCORRECT_ADDRESS")
    shipment = _ship(django_capture_on_commit_callbacks, supplier_order)

    [released] = shopify_sandbox.app.release_fulfillment_hold(store.domain, first)
    with django_capture_on_commit_callbacks(execute=True):
        _replay(client, released)

    shipment.refresh_from_db()
    push = OutboundPush.objects.get(shipment=shipment)
    assert shipment.push_status == Shipment.PushStatus.HELD
    assert shipment.push_error == (
        f"Held by Shopify: fulfillment order {second.rsplit('/', 1)[1]} is on hold: "
        "Incorrect address."
    )
    assert (push.status, push.attempts, push.max_attempts) == ("PENDING", 2, 14)
    assert shop.fulfillments == {}


def test_fulfillment_orders_beyond_the_first_page_are_fulfilled(
    shopify_sandbox, django_capture_on_commit_callbacks
):
    skus = {f"APRON-{n}": 1 for n in range(7)}
    store, sandbox_order, _, [supplier_order] = _shopify_setup(
        shopify_sandbox, skus, fulfillment_orders=7
    )
    assert len(sandbox_order["fulfillment_order_ids"]) == 7

    shipment = _ship(django_capture_on_commit_callbacks, supplier_order)

    shipment.refresh_from_db()
    assert shipment.push_status == Shipment.PushStatus.PUSHED, shipment.push_error
    [fulfillment] = shopify_sandbox.app.shop(store.domain).fulfillments.values()
    assert sorted(li["line_item_id"] for li in fulfillment["line_items"]) == sorted(
        li["gid"] for li in sandbox_order["line_items"]
    )


def test_lines_beyond_the_first_page_of_a_fulfillment_order_are_fulfilled(
    shopify_sandbox, django_capture_on_commit_callbacks
):
    skus = {f"APRON-{n:03}": 1 for n in range(105)}
    store, _, _, [supplier_order] = _shopify_setup(shopify_sandbox, skus)

    shipment = _ship(django_capture_on_commit_callbacks, supplier_order)

    shipment.refresh_from_db()
    assert shipment.push_status == Shipment.PushStatus.PUSHED, shipment.push_error
    [fulfillment] = shopify_sandbox.app.shop(store.domain).fulfillments.values()
    assert len(fulfillment["line_items"]) == 105
    assert {c.operation for c in shopify_sandbox.app.calls_for(store.domain)} >= {
        "fulfillmentOrder"
    }
