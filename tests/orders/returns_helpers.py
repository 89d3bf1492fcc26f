"""Building blocks for the return tests: a paid supplier order of a custom store, shipped and
delivered by the carrier's signed webhook, and a supplier with a saved return policy."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from io import BytesIO

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from orders.models import Shipment, SupplierOrder
from orders.services import fulfilment
from orders.services.payment import pay_supplier_order
from sandbox.carrier import sign
from suppliers.models import ReturnPolicy
from suppliers.return_policies import save_return_policy
from tests import factories

UPS = "1Z999AA10123456784"
UPS_BACK = "1Z999AA10123456793"
WEBHOOK_SECRET = "whsec_tracking_sandbox"


def supplier_with_policy(*, window_days=30, fee="10", categories=(), **policy) -> object:
    supplier = factories.SupplierFactory()
    save_return_policy(
        supplier=supplier,
        window_days=window_days,
        restocking_fee_percent=fee,
        return_shipping_paid_by=policy.get("paid_by", ReturnPolicy.ShippingPaidBy.RETAILER),
        return_address=policy.get("address", "Returns dept, 1 Dock Road, Leeds LS1 1AA"),
        non_returnable_category_ids=[c.pk for c in categories],
    )
    return supplier


def paid_supplier_order(
    stripe_sandbox,
    *,
    supplier,
    retailer=None,
    lines=((2, "10.00"),),
    category=None,
    stock_on_hand=10,
) -> SupplierOrder:
    """A custom store's order paid by card: one line per (quantity, wholesale unit price), its
    stock reserved on a variant of `supplier`; wholesale total, $5 shipping, $2 fee, 5%."""
    if retailer is None:
        retailer = factories.RetailerFactory()
    if not retailer.stripe_payment_method_id:
        stripe_sandbox.save_card(retailer)
    order = factories.OrderFactory(
        store=factories.StoreFactory(retailer=retailer, platform="CUSTOM")
    )
    wholesale = sum(Decimal(price) * quantity for quantity, price in lines)
    supplier_order = factories.PayableSupplierOrderFactory(
        order=order, supplier=supplier, wholesale_total=wholesale
    )
    for index, (quantity, price) in enumerate(lines):
        variant = factories.VariantFactory(
            product=factories.ProductFactory(supplier=supplier, category=category),
            wholesale_price=Decimal(price),
            stock_on_hand=stock_on_hand,
            stock_reserved=quantity,
        )
        factories.OrderItemFactory(
            order=order,
            supplier_order=supplier_order,
            variant=variant,
            sku=variant.sku,
            title=f"Linen apron {index + 1}",
            quantity=quantity,
            wholesale_unit_price=Decimal(price),
        )
    result = pay_supplier_order(supplier_order=supplier_order)
    assert result.is_paid, result.message
    return result.supplier_order


def ship(supplier_order, capture, *, tracking=UPS) -> Shipment:
    with capture(execute=True):
        return fulfilment.ship_supplier_order(
            supplier_order=supplier_order, carrier="UPS", tracking_number=tracking
        )


def deliver_by_carrier(client, carrier_sandbox, shipment, capture, *, hours_later=2):
    """The tracking provider posts its signed tracker.updated: in transit, then delivered."""
    tracker_id = carrier_sandbox.tracker_for(shipment)
    now = timezone.now().replace(microsecond=0)
    tracker = carrier_sandbox.app.trackers[tracker_id]
    tracker["details"] = [
        {"status": status, "message": status, "city": "Louisville", "ts": when.timestamp()}
        for status, when in (
            ("in_transit", now + timedelta(hours=1)),
            ("delivered", now + timedelta(hours=hours_later)),
        )
    ]
    tracker["status"] = "delivered"
    body, _ = carrier_sandbox.app.signed_event(tracker_id)
    with capture(execute=True):
        answer = client.post(
            "/webhooks/tracking/",
            data=body,
            content_type="application/json",
            HTTP_X_HMAC_SIGNATURE=sign(body, WEBHOOK_SECRET),
        )
    assert answer.status_code == 200
    shipment.refresh_from_db()
    assert shipment.tracking_status == "DELIVERED"
    return shipment


def delivered_supplier_order(client, stripe_sandbox, carrier_sandbox, capture, **kwargs):
    supplier_order = paid_supplier_order(stripe_sandbox, **kwargs)
    shipment = ship(supplier_order, capture)
    deliver_by_carrier(client, carrier_sandbox, shipment, capture)
    supplier_order.refresh_from_db()
    assert supplier_order.status == SupplierOrder.Status.DELIVERED
    return supplier_order


def photo(name="scratch.png", size=(40, 30), fmt="PNG") -> SimpleUploadedFile:
    buffer = BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(buffer, format=fmt)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type=f"image/{fmt.lower()}")


def pdf_label(name="label.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(
        name, b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", content_type="application/pdf"
    )


def delivered_to_members(client, stripe_sandbox, carrier_sandbox, capture):
    """A delivered supplier order between a retailer member and a supplier member (the
    supplier with a saved policy): (supplier order, retailer member, supplier member)."""
    supplier = supplier_with_policy()
    retailer_member = factories.RetailerMemberFactory()
    supplier_member = factories.SupplierMemberFactory(supplier=supplier)
    supplier_order = delivered_supplier_order(
        client,
        stripe_sandbox,
        carrier_sandbox,
        capture,
        supplier=supplier,
        retailer=retailer_member.retailer,
    )
    return supplier_order, retailer_member, supplier_member
