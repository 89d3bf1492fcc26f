"""The carrier sandbox keeps EasyPost's contract our client relies on: authentication, one tracker
per code and carrier, the scripted schedule on its clock, signed events, the quiet switch."""

import json

import pytest
import requests

from integrations.easypost.client import EasyPostTrackingClient
from integrations.easypost.webhooks import EasyPostWebhooks
from integrations.tracking import ParcelStatus, TrackingRequestError
from sandbox.carrier import CarrierSandbox
from sandbox.server import SandboxServer
from tests.sandboxes import FakeClock

UPS = "1Z999AA10123456784"
KEY = "ek_test_contract"


@pytest.fixture
def carrier():
    clock = FakeClock()
    received = []

    class Receiver:
        def handle(self, request):
            from sandbox.server import Response

            received.append(request)
            return Response.json({"ok": True})

    receiver = SandboxServer(Receiver()).start()
    app = CarrierSandbox(
        api_key=KEY,
        webhook_secret="whsec_contract",
        webhook_url=receiver.base_url + "/hook",
        step_seconds=60,
        clock=clock,
    )
    server = SandboxServer(app).start()
    try:
        yield app, server, clock, received
    finally:
        server.stop()
        receiver.stop()


def test_trackers_need_the_key_and_are_made_once_per_code_and_carrier(carrier):
    app, server, _, _ = carrier
    wrong = EasyPostTrackingClient(base_url=server.base_url + "/v2", api_key="nope")
    with pytest.raises(TrackingRequestError, match="401"):
        wrong.create_tracker(tracking_code=UPS, carrier="UPS")
    client = EasyPostTrackingClient(base_url=server.base_url + "/v2", api_key=KEY)

    first = client.create_tracker(tracking_code=UPS, carrier="UPS")
    again = client.create_tracker(tracking_code=UPS, carrier="UPS")

    assert first.tracker_id == again.tracker_id
    assert (first.carrier, first.status) == ("UPS", ParcelStatus.PRE_TRANSIT)
    assert len(app.trackers) == 1
    with pytest.raises(TrackingRequestError, match="404"):
        client.get_tracker(tracker_id="trk_unknown")


def test_parcels_advance_on_the_clock_and_each_step_is_a_signed_event(carrier):
    app, server, clock, received = carrier
    client = EasyPostTrackingClient(base_url=server.base_url + "/v2", api_key=KEY)
    tracker = client.create_tracker(tracking_code=UPS, carrier="UPS")

    assert app.tick() == 0  # nothing due yet
    shortcut = requests.post(server.base_url + "/_sandbox/trackers/advance", timeout=5).json()
    assert shortcut == {"sent": 1}
    received.clear()
    clock.advance(60 * 3)
    assert requests.post(server.base_url + "/_sandbox/tick", timeout=5).json() == {"delivered": 1}
    # The shortcut took the in-transit step; the clock brought out for delivery and delivered.

    (delivery,) = received
    verifier = EasyPostWebhooks(secret="whsec_contract")
    assert verifier.is_valid_signature(
        delivery.body, {"X-Hmac-Signature": delivery.headers["x-hmac-signature"]}
    )
    assert not EasyPostWebhooks(secret="other").is_valid_signature(
        delivery.body, {"X-Hmac-Signature": delivery.headers["x-hmac-signature"]}
    )
    update = verifier.parse(delivery.body)
    assert update.topic == "tracker.updated"
    assert update.tracker.tracker_id == tracker.tracker_id
    assert [e.status for e in update.tracker.events] == [
        ParcelStatus.PRE_TRANSIT,
        ParcelStatus.IN_TRANSIT,
        ParcelStatus.OUT_FOR_DELIVERY,
        ParcelStatus.DELIVERED,
    ]
    assert client.get_tracker(tracker_id=tracker.tracker_id).status == ParcelStatus.DELIVERED


def test_paused_webhooks_keep_tracking_but_send_nothing(carrier):
    _, server, _, received = carrier
    client = EasyPostTrackingClient(base_url=server.base_url + "/v2", api_key=KEY)
    tracker = client.create_tracker(tracking_code=UPS, carrier="UPS")
    requests.post(server.base_url + "/_sandbox/webhooks", json={"paused": True}, timeout=5)

    answer = requests.post(
        f"{server.base_url}/_sandbox/trackers/{tracker.tracker_id}/events",
        json={"status": "return_to_sender", "message": "Refused by addressee"},
        timeout=5,
    )

    assert answer.json() == {"sent": False}
    assert received == []
    polled = client.get_tracker(tracker_id=tracker.tracker_id)
    assert (polled.status, polled.events[-1].message) == (
        ParcelStatus.RETURNED,
        "Refused by addressee",
    )
    bad = requests.post(
        f"{server.base_url}/_sandbox/trackers/{tracker.tracker_id}/events",
        json={"status": "lost"},
        timeout=5,
    )
    assert bad.status_code == 400
    assert json.loads(bad.content)["error"].startswith("status must be one of")
