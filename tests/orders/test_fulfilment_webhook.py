"""The supplier's own system tells us it accepted or shipped, by a signed webhook to our inbox."""

import json

import pytest

from integrations.models import InboundWebhook
from integrations.signatures import sign_body as sign
from orders.models import Shipment, SupplierOrder
from suppliers.models import Supplier
from tests import factories

pytestmark = pytest.mark.django_db
UPS = "1Z999AA10123456784"
SECRET = "supplier-webhook-secret"


@pytest.fixture
def supplier():
    return factories.SupplierFactory(
        order_channel=Supplier.OrderChannel.WEBHOOK,
        webhook_url="https://erp.example.com/dropship",
        webhook_secret=SECRET,
    )


def _post(client, supplier, payload, *, secret=SECRET, signature=None):
    body = json.dumps(payload).encode()
    return client.post(
        f"/webhooks/supplier/{supplier.slug}/",
        data=body,
        content_type="application/json",
        HTTP_X_DROPSHIP_SIGNATURE=signature if signature is not None else sign(body, secret),
    )


def test_signed_shipped_event_is_stored_processed_and_ships_the_lines(
    client, supplier, django_capture_on_commit_callbacks
):
    supplier_order = factories.make_supplier_order(supplier=supplier, lines=[(2, None), (1, None)])
    sku = supplier_order.items.order_by("pk").first().sku
    payload = {
        "id": "evt_1",
        "event": "order.shipped",
        "order_number": supplier_order.number,
        "carrier": "UPS",
        "tracking_number": UPS,
        "lines": [{"sku": sku, "quantity": 2}],
    }

    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, supplier, payload)

    assert response.status_code == 200
    assert response.json() == {"detail": "accepted"}
    webhook = InboundWebhook.objects.get()
    assert (webhook.source, webhook.topic, webhook.supplier_id) == (
        "SUPPLIER",
        "order.shipped",
        supplier.pk,
    )
    assert webhook.status == InboundWebhook.Status.PROCESSED
    shipment = Shipment.objects.get()
    assert [(i.order_item.sku, i.quantity) for i in shipment.items.all()] == [(sku, 2)]
    assert SupplierOrder.objects.get(pk=supplier_order.pk).status == "ACCEPTED"

    with django_capture_on_commit_callbacks(execute=True):
        duplicate = _post(client, supplier, payload)
    assert duplicate.json() == {"detail": "duplicate"}
    assert InboundWebhook.objects.count() == 1
    assert Shipment.objects.count() == 1


def test_accepted_event_accepts_the_order(client, supplier, django_capture_on_commit_callbacks):
    supplier_order = factories.make_supplier_order(supplier=supplier)
    with django_capture_on_commit_callbacks(execute=True):
        _post(client, supplier, {"event": "order.accepted", "order_number": supplier_order.number})
    assert SupplierOrder.objects.get(pk=supplier_order.pk).status == "ACCEPTED"
    assert InboundWebhook.objects.get().status == InboundWebhook.Status.PROCESSED


# "sïgné": a header that is not ASCII once answered 500 (comparing text with compare_digest).
@pytest.mark.parametrize("signature", ["", "bm90IGl0", "sïgné", None])
def test_bad_or_missing_signature_is_401_and_nothing_is_stored(client, supplier, signature):
    supplier_order = factories.make_supplier_order(supplier=supplier)
    payload = {"event": "order.accepted", "order_number": supplier_order.number}
    if signature is None:
        response = _post(client, supplier, payload, secret="someone-elses-secret")
    else:
        response = _post(client, supplier, payload, signature=signature)
    assert response.status_code == 401
    assert InboundWebhook.objects.count() == 0
    assert SupplierOrder.objects.get(pk=supplier_order.pk).status == "SENT"


def test_a_dashboard_supplier_has_no_webhook_address(client):
    supplier = factories.SupplierFactory(webhook_secret=SECRET)
    response = _post(client, supplier, {"event": "order.accepted", "order_number": "SO-1"})
    assert response.status_code == 404


def test_malformed_bodies_are_400(client, supplier):
    body = b"not json"
    response = client.post(
        f"/webhooks/supplier/{supplier.slug}/",
        data=body,
        content_type="application/json",
        HTTP_X_DROPSHIP_SIGNATURE=sign(body, SECRET),
    )
    assert response.status_code == 400
    assert _post(client, supplier, {"event": "order.lost"}).status_code == 400
    assert InboundWebhook.objects.count() == 0


def test_bad_tracking_or_another_suppliers_order_fails_the_event_with_the_reason(
    client, supplier, django_capture_on_commit_callbacks
):
    mine = factories.make_supplier_order(supplier=supplier)
    theirs = factories.make_supplier_order()
    with django_capture_on_commit_callbacks(execute=True):
        _post(
            client,
            supplier,
            {
                "id": "a",
                "event": "order.shipped",
                "order_number": mine.number,
                "carrier": "UPS",
                "tracking_number": "123",
            },
        )
        _post(
            client, supplier, {"id": "b", "event": "order.accepted", "order_number": theirs.number}
        )

    errors = dict(InboundWebhook.objects.values_list("dedup_key", "last_error"))
    assert set(InboundWebhook.objects.values_list("status", flat=True)) == {"FAILED"}
    assert "is not a UPS tracking number" in errors[f"{supplier.pk}:a"]
    assert errors[f"{supplier.pk}:b"] == f"No order {theirs.number} of this supplier was found."
    assert Shipment.objects.count() == 0
    assert SupplierOrder.objects.get(pk=theirs.pk).status == "SENT"


def test_the_orders_page_tells_a_webhook_supplier_where_to_post(client, supplier):
    member = factories.SupplierMemberFactory(supplier=supplier)
    client.force_login(member.user)
    response = client.get("/supplier/orders/")
    assert f"http://testserver/webhooks/supplier/{supplier.slug}/" in response.content.decode()
