"""Carrier tracking after the parcel leaves: trackers registered at the (sandbox) provider, its
signed tracker.updated webhooks through the inbox, polling for quiet parcels, delivery and what
it sets off (supplier order and order DELIVERED, the return window, the payout holdback)."""

import json
import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from billing.models import Payout
from dropship.accounts.models import Notification
from integrations.models import InboundWebhook
from orders.models import Order, Shipment, SupplierOrder, TrackingEvent
from orders.services import delivery, fulfilment, watchdog
from orders.services.fulfilment import ShipLine
from sandbox.carrier import sign
from tests import factories

# The README's "ship → delivered" flow: every test here runs on SQLite too (`make test`).
pytestmark = [pytest.mark.django_db, pytest.mark.embedded]
UPS = "1Z999AA10123456784"
UPS_2 = "1Z999AA10123456793"


def custom_order(**extra):
    """An order of a CUSTOM store: Dropship pushes nothing to it, so only tracking is exercised."""
    return factories.OrderFactory(store=factories.StoreFactory(platform="CUSTOM"), **extra)


def ship(supplier_order, tracking=UPS, lines=None, capture=None):
    with capture(execute=True):
        return fulfilment.ship_supplier_order(
            supplier_order=supplier_order, carrier="UPS", tracking_number=tracking, lines=lines
        )


def at(hour: int) -> datetime:
    return datetime(2026, 12, 1, hour, 0, tzinfo=UTC)


def later(hours: int) -> datetime:
    """A carrier time after the label scan the sandbox made at shipping (now)."""
    return timezone.now().replace(microsecond=0) + timedelta(hours=hours)


def tracker_event(carrier_sandbox, tracker_id: str, details: list[tuple[str, datetime]]) -> bytes:
    """A tracker.updated body with exactly these (status, time) scans, as the provider sends."""
    tracker = carrier_sandbox.app.trackers[tracker_id]
    tracker["details"] = [
        {
            "status": status,
            "message": status.replace("_", " "),
            "city": "Louisville",
            "ts": when.timestamp(),
        }
        for status, when in details
    ]
    tracker["status"] = max(tracker["details"], key=lambda d: d["ts"])["status"]
    body, _ = carrier_sandbox.app.signed_event(tracker_id)
    return body


WEBHOOK_SECRET = "whsec_tracking_sandbox"


def post_event(client, body: bytes, *, secret=WEBHOOK_SECRET, signature=None):
    return client.post(
        "/webhooks/tracking/",
        data=body,
        content_type="application/json",
        HTTP_X_HMAC_SIGNATURE=signature if signature is not None else sign(body, secret),
    )


def scans_arrive(client, carrier_sandbox, shipment, scans, capture):
    """The provider posts the parcel with exactly these scans; the inbox task runs."""
    body = tracker_event(carrier_sandbox, carrier_sandbox.tracker_for(shipment), scans)
    with capture(execute=True):
        return post_event(client, body)


def test_shipping_registers_one_tracker_after_commit_and_again_changes_nothing(
    carrier_sandbox, django_capture_on_commit_callbacks
):
    supplier_order = factories.make_supplier_order(order=custom_order())
    shipment = ship(supplier_order, capture=django_capture_on_commit_callbacks)

    shipment.refresh_from_db()
    (tracker,) = carrier_sandbox.app.trackers.values()
    assert shipment.tracker_id == tracker["id"]
    assert (tracker["tracking_code"], tracker["carrier"]) == (UPS, "UPS")
    # The label scan the provider already had is taken in and put on the timeline.
    assert shipment.tracking_status == "PRE_TRANSIT"
    assert supplier_order.order.events.filter(kind="carrier_scan").count() == 1

    delivery.register_tracker(shipment_id=shipment.pk)  # the task run twice
    assert carrier_sandbox.app.calls.count(("POST", "/v2/trackers")) == 1
    assert len(carrier_sandbox.app.trackers) == 1


def test_a_signed_update_moves_the_parcel_and_lands_on_the_timeline(
    client, carrier_sandbox, django_capture_on_commit_callbacks
):
    supplier_order = factories.make_supplier_order(order=custom_order())
    shipment = ship(supplier_order, capture=django_capture_on_commit_callbacks)
    tracker_id = carrier_sandbox.tracker_for(shipment)
    carrier_sandbox.clock.advance(3600)
    carrier_sandbox.app.tick()  # no webhook URL: the sandbox only moves the parcel

    with django_capture_on_commit_callbacks(execute=True):
        answer = carrier_sandbox.deliver(client, tracker_id)

    assert answer.status_code == 200
    assert answer.json() == {"detail": "accepted"}
    shipment.refresh_from_db()
    assert shipment.tracking_status == "IN_TRANSIT"
    assert shipment.tracking_detail == "Arrived at sort facility"
    webhook = InboundWebhook.objects.get(source="CARRIER")
    assert (webhook.topic, webhook.status) == ("tracker.updated", "PROCESSED")
    messages = list(
        supplier_order.order.events.filter(kind="carrier_scan").values_list("message", flat=True)
    )
    assert len(messages) == 2
    assert messages[1].startswith(f"UPS {UPS}: In transit: Arrived at sort facility (Hub)")
    assert Order.objects.get(pk=supplier_order.order_id).status == Order.Status.SHIPPED


def test_a_bad_signature_is_refused_with_401_and_nothing_is_stored(client, carrier_sandbox):
    body = json.dumps({"id": "evt_1", "description": "tracker.updated", "result": {}}).encode()

    assert post_event(client, body, secret="wrong").status_code == 401
    missing = client.post("/webhooks/tracking/", data=body, content_type="application/json")
    assert missing.status_code == 401
    assert "X-Hmac-Signature" in missing.json()["detail"]
    assert not InboundWebhook.objects.exists()


def test_a_signed_body_that_is_not_an_event_answers_400_and_is_kept_failed(client):
    body = b'{"hello": "world"}'
    answer = post_event(client, body)
    assert answer.status_code == 400
    assert answer.json()["detail"] == "The event has no id or description."
    assert InboundWebhook.objects.get().status == "FAILED"


def test_an_unknown_parcel_is_answered_200_ignored_and_logged(
    client, carrier_sandbox, caplog, django_capture_on_commit_callbacks
):
    stranger = carrier_sandbox.app
    stranger.trackers["trk_stranger"] = {
        "id": "trk_stranger",
        "tracking_code": "9400111899223100000000",
        "carrier": "USPS",
        "created_ts": at(8).timestamp(),
        "updated_ts": at(8).timestamp(),
        "step": 4,
        "status": "delivered",
        "details": [
            {"status": "delivered", "message": "Delivered", "city": "", "ts": at(8).timestamp()}
        ],
    }
    shipment_count = Shipment.objects.count()
    with caplog.at_level(logging.INFO), django_capture_on_commit_callbacks(execute=True):
        answer = carrier_sandbox.deliver(client, "trk_stranger")

    assert answer.status_code == 200
    assert InboundWebhook.objects.get().status == "PROCESSED"
    assert Shipment.objects.count() == shipment_count
    assert not TrackingEvent.objects.exists()
    assert "no shipment has tracker trk_stranger" in caplog.text


def _final_state(shipment):
    shipment.refresh_from_db()
    supplier_order = SupplierOrder.objects.get(pk=shipment.supplier_order_id)
    order = Order.objects.get(pk=supplier_order.order_id)
    return (
        shipment.tracking_status,
        shipment.delivered_at,
        supplier_order.status,
        supplier_order.delivered_at,
        order.status,
        order.delivered_at,
        sorted(order.events.filter(kind="carrier_scan").values_list("message", flat=True)),
    )


@pytest.mark.parametrize("order_of_events", ["in order", "delivered first", "repeated"])
def test_repeated_and_out_of_order_events_end_in_the_same_state(
    client, carrier_sandbox, django_capture_on_commit_callbacks, order_of_events
):
    supplier_order = factories.make_supplier_order(order=custom_order())
    shipment = ship(supplier_order, capture=django_capture_on_commit_callbacks)
    tracker_id = carrier_sandbox.tracker_for(shipment)
    TrackingEvent.objects.filter(shipment=shipment).delete()  # start from the scans below only
    supplier_order.order.events.filter(kind="carrier_scan").delete()
    in_transit = tracker_event(
        carrier_sandbox, tracker_id, [("pre_transit", at(8)), ("in_transit", at(9))]
    )
    delivered = tracker_event(
        carrier_sandbox,
        tracker_id,
        [("pre_transit", at(8)), ("in_transit", at(9)), ("delivered", at(15))],
    )
    sequence = {
        "in order": [in_transit, delivered],
        "delivered first": [delivered, in_transit],
        "repeated": [delivered, delivered, in_transit, delivered],
    }[order_of_events]
    with django_capture_on_commit_callbacks(execute=True):
        answers = [post_event(client, body).status_code for body in sequence]

    assert answers == [200] * len(sequence)
    assert _final_state(shipment) == (
        "DELIVERED",
        at(15),
        "DELIVERED",
        at(15),
        "DELIVERED",
        at(15),
        sorted(
            [
                f"UPS {UPS}: Label created: pre transit (Louisville), 2026-12-01 08:00 UTC.",
                f"UPS {UPS}: In transit: in transit (Louisville), 2026-12-01 09:00 UTC.",
                f"UPS {UPS}: Delivered: delivered (Louisville), 2026-12-01 15:00 UTC.",
            ]
        ),
    )
    if order_of_events == "repeated":
        assert (
            InboundWebhook.objects.get(dedup_key=json.loads(delivered)["id"]).duplicate_count == 2
        )


def test_a_later_scan_never_moves_a_delivered_parcel_back(
    client, carrier_sandbox, django_capture_on_commit_callbacks
):
    supplier_order = factories.make_supplier_order(order=custom_order())
    shipment = ship(supplier_order, capture=django_capture_on_commit_callbacks)
    tracker_id = carrier_sandbox.tracker_for(shipment)
    body = tracker_event(
        carrier_sandbox, tracker_id, [("delivered", at(10)), ("in_transit", at(11))]
    )
    with django_capture_on_commit_callbacks(execute=True):
        post_event(client, body)

    shipment.refresh_from_db()
    assert (shipment.tracking_status, shipment.delivered_at) == ("DELIVERED", at(10))


def test_delivery_tells_the_retailer_once_with_the_order_page(
    client, carrier_sandbox, django_capture_on_commit_callbacks
):
    supplier_order = factories.make_supplier_order(order=custom_order())
    shipment = ship(supplier_order, capture=django_capture_on_commit_callbacks)
    shipped_mail = [m for m in mail.outbox if "shipped" in m.subject]
    assert len(shipped_mail) == 1
    assert shipment.tracking_url in shipped_mail[0].body
    mail.outbox.clear()
    tracker_id = carrier_sandbox.tracker_for(shipment)
    for _ in range(3):
        carrier_sandbox.app.advance(tracker_id)
    with django_capture_on_commit_callbacks(execute=True):
        carrier_sandbox.deliver(client, tracker_id)
        carrier_sandbox.deliver(client, tracker_id)  # a second event with the same history

    order = supplier_order.order
    (email,) = mail.outbox
    assert email.subject == f"Order {order.number} was delivered"
    assert f"/retailer/orders/{order.pk}/" in email.body
    assert Notification.objects.filter(retailer=order.retailer, kind="order_delivered").count() == 1


def test_partial_delivery_then_the_rest(
    client, carrier_sandbox, django_capture_on_commit_callbacks
):
    order = custom_order()
    first = factories.make_supplier_order(order=order)
    second = factories.make_supplier_order(order=order)
    parcel_a = ship(first, capture=django_capture_on_commit_callbacks)
    parcel_b = ship(second, tracking=UPS_2, capture=django_capture_on_commit_callbacks)

    scans_arrive(
        client,
        carrier_sandbox,
        parcel_a,
        [("delivered", at(12))],
        django_capture_on_commit_callbacks,
    )
    order.refresh_from_db()
    first.refresh_from_db()
    second.refresh_from_db()
    assert (order.status, order.delivered_at) == (Order.Status.PARTIALLY_DELIVERED, None)
    assert (first.status, first.delivered_at) == ("DELIVERED", at(12))
    assert second.status == "SHIPPED"

    scans_arrive(
        client,
        carrier_sandbox,
        parcel_b,
        [("delivered", at(14))],
        django_capture_on_commit_callbacks,
    )
    order.refresh_from_db()
    assert (order.status, order.delivered_at) == (Order.Status.DELIVERED, at(14))


def test_one_of_two_parcels_of_a_supplier_order_delivered_keeps_it_shipped(
    client, carrier_sandbox, django_capture_on_commit_callbacks
):
    supplier_order = factories.make_supplier_order(
        order=custom_order(), lines=[(1, None), (1, None)]
    )
    first_line, second_line = supplier_order.items.order_by("pk")
    parcel_a = ship(
        supplier_order,
        lines=[ShipLine(first_line.pk, 1)],
        capture=django_capture_on_commit_callbacks,
    )
    ship(
        supplier_order,
        tracking=UPS_2,
        lines=[ShipLine(second_line.pk, 1)],
        capture=django_capture_on_commit_callbacks,
    )
    scans_arrive(
        client,
        carrier_sandbox,
        parcel_a,
        [("delivered", at(12))],
        django_capture_on_commit_callbacks,
    )
    supplier_order.refresh_from_db()
    assert (supplier_order.status, supplier_order.delivered_at) == ("SHIPPED", None)
    assert Order.objects.get(pk=supplier_order.order_id).status == Order.Status.PARTIALLY_DELIVERED


def test_polling_reads_back_parcels_whose_webhooks_went_quiet(
    carrier_sandbox, django_capture_on_commit_callbacks
):
    supplier_order = factories.make_supplier_order(order=custom_order())
    shipment = ship(supplier_order, capture=django_capture_on_commit_callbacks)
    tracker_id = carrier_sandbox.tracker_for(shipment)
    for _ in range(3):
        carrier_sandbox.app.advance(tracker_id)  # no webhook reaches us
    later = timezone.now() + timedelta(hours=13)

    assert delivery.poll_quiet_parcels(now=later) == {"polled": 1, "registered": 0, "failed": 0}
    shipment.refresh_from_db()
    assert shipment.tracking_status == "DELIVERED"
    assert SupplierOrder.objects.get(pk=supplier_order.pk).status == "DELIVERED"
    # A second run finds nothing quiet: the parcel was just heard of, and it is delivered.
    assert delivery.poll_quiet_parcels(now=later) == {"polled": 0, "registered": 0, "failed": 0}
    assert carrier_sandbox.app.calls.count(("GET", f"/v2/trackers/{tracker_id}")) == 1


def test_polling_leaves_recently_heard_parcels_alone_and_registers_missing_trackers(
    carrier_sandbox, settings, django_capture_on_commit_callbacks
):
    settings.TRACKING_API_KEY = ""  # the provider is off while this one ships
    supplier_order = factories.make_supplier_order(order=custom_order())
    shipment = ship(supplier_order, capture=django_capture_on_commit_callbacks)
    assert not Shipment.objects.get(pk=shipment.pk).tracker_id
    settings.TRACKING_API_KEY = "ek_test_dropship_sandbox"

    result = delivery.poll_quiet_parcels(now=timezone.now() + timedelta(minutes=11))

    assert result == {"polled": 0, "registered": 1, "failed": 0}
    assert Shipment.objects.get(pk=shipment.pk).tracker_id in carrier_sandbox.app.trackers


def test_an_exception_flags_the_supplier_order_and_tells_the_retailer(
    client, carrier_sandbox, django_capture_on_commit_callbacks
):
    supplier_order = factories.make_supplier_order(order=custom_order())
    shipment = ship(supplier_order, capture=django_capture_on_commit_callbacks)
    mail.outbox.clear()
    scans_arrive(
        client,
        carrier_sandbox,
        shipment,
        [("in_transit", later(1)), ("failure", later(2))],
        django_capture_on_commit_callbacks,
    )

    supplier_order.refresh_from_db()
    assert supplier_order.is_flagged
    assert supplier_order.flag_reason == (
        f"The carrier reports a delivery exception for {UPS} (failure)."
    )
    (email,) = mail.outbox
    assert email.subject == f"A parcel of order {supplier_order.order.number} needs attention"
    assert Notification.objects.get(kind="delivery_exception").level == "WARNING"


def _parcel(*, shipped_days_ago: float, country: str, ship_from: str = "US"):
    supplier = factories.SupplierFactory(ship_from_country=ship_from)
    supplier_order = factories.make_supplier_order(
        supplier=supplier, order=custom_order(shipping_country=country), status="SHIPPED"
    )
    Shipment.objects.create(
        supplier_order=supplier_order,
        carrier="UPS",
        tracking_number=UPS,
        shipped_at=timezone.now() - timedelta(days=shipped_days_ago),
        push_status=Shipment.PushStatus.PUSHED,
        tracking_status="IN_TRANSIT",
    )
    return supplier_order


def test_watchdog_flags_quiet_parcels_by_destination(settings):
    settings.TRACKING_QUIET_DAYS_DOMESTIC = 5
    settings.TRACKING_QUIET_DAYS_INTERNATIONAL = 14
    quiet_domestic = _parcel(shipped_days_ago=6, country="US")
    abroad_not_yet = _parcel(shipped_days_ago=6, country="DE")
    quiet_abroad = _parcel(shipped_days_ago=15, country="DE")
    recent = _parcel(shipped_days_ago=1, country="US")

    assert watchdog.run_watchdog() == 2
    flagged = dict(SupplierOrder.objects.filter(is_flagged=True).values_list("pk", "flag_reason"))
    assert flagged == {
        quiet_domestic.pk: "A parcel has had no carrier scan for 5 days.",
        quiet_abroad.pk: "An international parcel has had no carrier scan for 14 days.",
    }
    assert not SupplierOrder.objects.filter(
        pk__in=[abroad_not_yet.pk, recent.pk], is_flagged=True
    ).exists()
    assert Notification.objects.filter(kind="order_flagged").count() == 2
    assert watchdog.run_watchdog() == 0  # flagged once


def test_delivery_releases_the_payout_holdback_early_where_configured(
    client, carrier_sandbox, settings, django_capture_on_commit_callbacks
):
    settings.PAYOUT_HOLDBACK_DAYS = 7
    settings.PAYOUT_DAYS_AFTER_DELIVERY = 1
    supplier_order = factories.make_supplier_order(order=custom_order())
    shipment = ship(supplier_order, capture=django_capture_on_commit_callbacks)
    supplier_order.refresh_from_db()
    payout = Payout.objects.create(
        supplier=supplier_order.supplier,
        supplier_order=supplier_order,
        amount=Decimal("20.00"),
        currency="USD",
        status=Payout.Status.SCHEDULED,
        available_at=supplier_order.shipped_at + timedelta(days=7),
    )
    delivered_at = supplier_order.shipped_at + timedelta(days=2)
    scans_arrive(
        client,
        carrier_sandbox,
        shipment,
        [("delivered", delivered_at)],
        django_capture_on_commit_callbacks,
    )

    payout.refresh_from_db()
    assert payout.available_at == delivered_at.replace(microsecond=0) + timedelta(days=1)


def test_without_the_setting_the_fixed_holdback_stays(
    client, carrier_sandbox, settings, django_capture_on_commit_callbacks
):
    settings.PAYOUT_DAYS_AFTER_DELIVERY = None
    supplier_order = factories.make_supplier_order(order=custom_order())
    shipment = ship(supplier_order, capture=django_capture_on_commit_callbacks)
    supplier_order.refresh_from_db()
    fixed = supplier_order.shipped_at + timedelta(days=7)
    payout = Payout.objects.create(
        supplier=supplier_order.supplier,
        supplier_order=supplier_order,
        amount=Decimal("20.00"),
        currency="USD",
        status=Payout.Status.SCHEDULED,
        available_at=fixed,
    )
    scans_arrive(
        client,
        carrier_sandbox,
        shipment,
        [("delivered", at(12))],
        django_capture_on_commit_callbacks,
    )
    payout.refresh_from_db()
    assert payout.available_at == fixed


def test_the_retailer_api_shows_the_latest_tracking_status(
    client, carrier_sandbox, django_capture_on_commit_callbacks
):
    from dropship.accounts.services import create_api_key

    order = custom_order()
    supplier_order = factories.make_supplier_order(order=order)
    shipment = ship(supplier_order, capture=django_capture_on_commit_callbacks)
    out_at = later(2)
    scans_arrive(
        client,
        carrier_sandbox,
        shipment,
        [("in_transit", later(1)), ("out_for_delivery", out_at)],
        django_capture_on_commit_callbacks,
    )
    user = factories.RetailerMemberFactory(retailer=order.retailer).user
    _, secret = create_api_key(organisation=order.retailer, name="shop", created_by=user)

    answer = client.get(f"/api/v1/orders/{order.pk}/status", HTTP_AUTHORIZATION=f"Bearer {secret}")

    assert answer.status_code == 200
    (parcel,) = answer.json()["supplier_orders"][0]["shipments"]
    assert parcel["tracking_status"] == "OUT_FOR_DELIVERY"
    assert parcel["tracking_detail"] == "out for delivery"
    assert parcel["tracking_status_at"] == out_at.astimezone(UTC).isoformat()
    assert parcel["delivered_at"] is None


def test_the_retailer_order_page_shows_the_carrier_status(
    client, carrier_sandbox, django_capture_on_commit_callbacks
):
    order = custom_order()
    supplier_order = factories.make_supplier_order(order=order)
    ship(supplier_order, capture=django_capture_on_commit_callbacks)
    member = factories.RetailerMemberFactory(retailer=order.retailer)
    client.force_login(member.user)

    page = client.get(f"/retailer/orders/{order.pk}/").content.decode()

    assert 'Carrier: <span class="badge badge-PRE_TRANSIT">Label created</span>' in page
    assert "Shipping label created, awaiting item" in page


def test_the_readme_flow_ship_by_api_then_the_carrier_delivers(
    client, carrier_sandbox, django_capture_on_commit_callbacks
):
    """Supplier ships through the API, the provider follows the parcel scan by scan, the order
    reads DELIVERED with the scans on its timeline and the delivery date in the API."""
    from dropship.accounts.services import create_api_key

    order = custom_order()
    supplier_order = factories.make_supplier_order(order=order)
    key = create_api_key(organisation=supplier_order.supplier, name="ERP", created_by=None)[1]
    with django_capture_on_commit_callbacks(execute=True):
        shipped = client.post(
            f"/api/v1/supplier/orders/{supplier_order.pk}/ship",
            {"carrier": "UPS", "tracking_number": UPS},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {key}",
        )
    assert shipped.status_code == 200
    assert shipped.json()["shipment"]["tracking_status"] == "UNKNOWN"  # registered after commit
    shipment = Shipment.objects.get(supplier_order=supplier_order)
    tracker_id = carrier_sandbox.tracker_for(shipment)
    statuses = []
    for _ in range(3):
        carrier_sandbox.clock.advance(3600)
        carrier_sandbox.app.tick()
        with django_capture_on_commit_callbacks(execute=True):
            assert carrier_sandbox.deliver(client, tracker_id).status_code == 200
        statuses.append(Order.objects.get(pk=order.pk).status)

    assert statuses == ["SHIPPED", "SHIPPED", "DELIVERED"]
    order.refresh_from_db()
    shipment.refresh_from_db()
    assert order.delivered_at == shipment.delivered_at is not None
    assert list(order.events.filter(kind="carrier_scan").values_list("message", flat=True)) == [
        f"UPS {UPS}: {label}: {text} ({city}), "
        f"{timezone.localtime(scan.occurred_at, UTC):%Y-%m-%d %H:%M} UTC."
        for (label, text, city), scan in zip(
            [
                ("Label created", "Shipping label created, awaiting item", "Origin"),
                ("In transit", "Arrived at sort facility", "Hub"),
                ("Out for delivery", "Out for delivery", "Destination"),
                ("Delivered", "Delivered, front door", "Destination"),
            ],
            shipment.tracking_events.order_by("occurred_at"),
            strict=True,
        )
    ]
    key = create_api_key(organisation=order.retailer, name="shop", created_by=None)[1]
    status = client.get(f"/api/v1/orders/{order.pk}/status", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert status.json()["status"] == "DELIVERED"
    assert status.json()["delivered_at"] == order.delivered_at.isoformat()
