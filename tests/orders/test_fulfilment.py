"""Supplier fulfilment services and pages: accept, reject (stock released, retailer told), ship
per line and whole order with tracking checked against the carrier, another supplier's order 404."""

import pytest
from django.core import mail
from django.urls import reverse

from catalog.models import StockMovement, Variant
from dropship.accounts.models import Notification
from dropship.core.errors import DomainError
from integrations.models import OutboundPush
from orders.carriers import TrackingNumberError
from orders.models import Order, OrderEvent, OrderItem, Shipment, SupplierOrder
from orders.services import fulfilment
from orders.services.fulfilment import ShipLine
from tests import factories

# A README flow: `make test` runs it on SQLite as well.
pytestmark = [pytest.mark.django_db, pytest.mark.embedded]
UPS = "1Z999AA10123456784"
S = SupplierOrder.Status


def _variant(item: OrderItem) -> Variant:
    return Variant.objects.get(pk=item.variant_id)


def test_accept_moves_a_sent_order_to_accepted_with_an_event():
    supplier_order = factories.make_supplier_order()

    fulfilment.accept_supplier_order(supplier_order=supplier_order)

    supplier_order.refresh_from_db()
    assert supplier_order.status == S.ACCEPTED
    assert supplier_order.accepted_at is not None
    assert list(supplier_order.events.values_list("kind", flat=True)) == ["accepted"]
    assert supplier_order.order.__class__.objects.get(pk=supplier_order.order_id).status == (
        Order.Status.CONFIRMED
    )


def test_accepting_twice_changes_nothing_the_second_time():
    supplier_order = factories.make_supplier_order()
    fulfilment.accept_supplier_order(supplier_order=supplier_order)
    fulfilment.accept_supplier_order(supplier_order=supplier_order)
    assert supplier_order.events.filter(kind="accepted").count() == 1


def test_a_shipped_order_cannot_be_accepted():
    supplier_order = factories.make_supplier_order(status=S.SHIPPED)
    with pytest.raises(DomainError, match="cannot be accepted"):
        fulfilment.accept_supplier_order(supplier_order=supplier_order)


def test_reject_releases_the_stock_marks_lines_exception_and_tells_the_retailer(
    django_capture_on_commit_callbacks,
):
    supplier_order = factories.make_supplier_order(lines=[(2, None), (3, None)])
    retailer = supplier_order.order.retailer
    factories.RetailerMemberFactory(retailer=retailer)
    items = list(supplier_order.items.order_by("pk"))
    assert [_variant(i).stock_reserved for i in items] == [2, 3]

    with django_capture_on_commit_callbacks(execute=True):
        fulfilment.reject_supplier_order(
            supplier_order=supplier_order, reason="Out of stock until March"
        )

    supplier_order.refresh_from_db()
    assert supplier_order.status == S.EXCEPTION
    assert supplier_order.status_reason == "Out of stock until March"
    assert [_variant(i).stock_reserved for i in items] == [0, 0]
    assert [_variant(i).stock_on_hand for i in items] == [10, 10]
    assert set(supplier_order.items.values_list("status", flat=True)) == {"EXCEPTION"}
    assert StockMovement.objects.filter(source=StockMovement.Source.RELEASE).count() == 2
    notification = Notification.objects.get(retailer=retailer)
    assert notification.kind == "order_rejected"
    assert "Out of stock until March" in notification.message
    assert len(mail.outbox) == 1
    assert "Out of stock until March" in mail.outbox[0].body
    assert supplier_order.events.get(kind="rejected").message.endswith("Out of stock until March")
    assert Order.objects.get(pk=supplier_order.order_id).status == Order.Status.EXCEPTION


def test_reject_without_a_reason_is_refused_and_changes_nothing():
    supplier_order = factories.make_supplier_order()
    with pytest.raises(DomainError, match="Say why"):
        fulfilment.reject_supplier_order(supplier_order=supplier_order, reason="   ")
    supplier_order.refresh_from_db()
    assert supplier_order.status == S.SENT
    assert _variant(supplier_order.items.get()).stock_reserved == 2


def test_ship_whole_order_moves_stock_out_and_records_one_shipment(
    django_capture_on_commit_callbacks,
):
    supplier_order = factories.make_supplier_order(lines=[(2, None), (1, None)])
    items = list(supplier_order.items.order_by("pk"))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        shipment = fulfilment.ship_supplier_order(
            supplier_order=supplier_order, carrier="ups", tracking_number="1z 999a a101 2345 6784"
        )

    supplier_order.refresh_from_db()
    assert supplier_order.status == S.SHIPPED
    assert supplier_order.accepted_at is not None  # shipping implies accepting
    assert (supplier_order.carrier, supplier_order.tracking_number) == ("UPS", UPS)
    assert supplier_order.tracking_url == f"https://www.ups.com/track?tracknum={UPS}"
    assert shipment.tracking_number == UPS
    assert sorted(shipment.items.values_list("order_item_id", "quantity")) == [
        (items[0].pk, 2),
        (items[1].pk, 1),
    ]
    assert [(_variant(i).stock_on_hand, _variant(i).stock_reserved) for i in items] == [
        (8, 0),
        (9, 0),
    ]
    assert list(supplier_order.items.values_list("status", "quantity_shipped")) == [
        ("SHIPPED", 2),
        ("SHIPPED", 1),
    ]
    assert Order.objects.get(pk=supplier_order.order_id).status == Order.Status.SHIPPED
    kinds = list(supplier_order.events.values_list("kind", flat=True))
    assert kinds == ["accepted", "shipped"]
    push = OutboundPush.objects.get(shipment=shipment)
    assert push.kind == OutboundPush.Kind.STORE_FULFILLMENT
    # After commit: the push, the retailer's "shipped" e-mail and the stock change's fan-out to
    # the listings.
    assert len(callbacks) == 3


def test_ship_per_line_with_partial_quantities():
    supplier_order = factories.make_supplier_order(lines=[(3, None), (1, None)], status=S.ACCEPTED)
    first, second = supplier_order.items.order_by("pk")

    fulfilment.ship_supplier_order(
        supplier_order=supplier_order,
        carrier="DHL",
        tracking_number="1234567890",
        lines=[ShipLine(first.pk, 2)],
    )

    supplier_order.refresh_from_db()
    first.refresh_from_db()
    assert supplier_order.status == S.ACCEPTED  # a line and a unit are still to ship
    assert Order.objects.get(pk=supplier_order.order_id).status == Order.Status.CONFIRMED
    assert (first.quantity_shipped, first.status) == (2, "RESERVED")
    assert (_variant(first).stock_on_hand, _variant(first).stock_reserved) == (8, 1)

    fulfilment.ship_supplier_order(
        supplier_order=supplier_order,
        carrier="FEDEX",
        tracking_number="123456789012",
        lines=[ShipLine(first.pk, 1), ShipLine(second.pk, 1)],
    )
    supplier_order.refresh_from_db()
    assert supplier_order.status == S.SHIPPED
    assert supplier_order.shipments.count() == 2
    assert set(supplier_order.items.values_list("status", flat=True)) == {"SHIPPED"}


def test_an_order_with_a_fully_shipped_line_reads_partially_shipped():
    supplier_order = factories.make_supplier_order(lines=[(1, None), (1, None)])
    first = supplier_order.items.order_by("pk").first()
    fulfilment.ship_supplier_order(
        supplier_order=supplier_order,
        carrier="UPS",
        tracking_number=UPS,
        lines=[ShipLine(first.pk, 1)],
    )
    assert Order.objects.get(pk=supplier_order.order_id).status == Order.Status.PARTIALLY_SHIPPED


def test_shipping_more_than_is_left_is_refused_and_nothing_changes():
    supplier_order = factories.make_supplier_order(lines=[(2, None)])
    item = supplier_order.items.get()
    with pytest.raises(DomainError, match="Only 2 of"):
        fulfilment.ship_supplier_order(
            supplier_order=supplier_order,
            carrier="UPS",
            tracking_number=UPS,
            lines=[ShipLine(item.pk, 3)],
        )
    assert Shipment.objects.count() == 0
    assert (_variant(item).stock_on_hand, _variant(item).stock_reserved) == (10, 2)


@pytest.mark.parametrize(
    ("carrier", "number", "message"),
    [
        ("UPS", "1Z999AA10123456785", "check digit"),
        ("FedEx", "12345", "is not a FedEx tracking number"),
        ("Pigeon", "123", "Unknown carrier"),
        ("UPS", "", "Enter the tracking number"),
    ],
)
def test_bad_tracking_for_the_carrier_is_rejected_and_nothing_changes(carrier, number, message):
    supplier_order = factories.make_supplier_order()
    with pytest.raises(TrackingNumberError, match=message):
        fulfilment.ship_supplier_order(
            supplier_order=supplier_order, carrier=carrier, tracking_number=number
        )
    supplier_order.refresh_from_db()
    assert supplier_order.status == S.SENT
    assert Shipment.objects.count() == 0
    assert _variant(supplier_order.items.get()).stock_reserved == 2
    assert not OrderEvent.objects.exists()


def test_the_same_tracking_number_again_is_a_no_op():
    supplier_order = factories.make_supplier_order()
    first = fulfilment.ship_supplier_order(
        supplier_order=supplier_order, carrier="UPS", tracking_number=UPS
    )
    again = fulfilment.ship_supplier_order(
        supplier_order=supplier_order, carrier="UPS", tracking_number=UPS
    )
    assert again.pk == first.pk
    assert Shipment.objects.count() == 1
    assert _variant(supplier_order.items.get()).stock_on_hand == 8


def test_a_line_of_another_order_is_not_found():
    supplier_order = factories.make_supplier_order()
    other = factories.make_supplier_order(supplier=supplier_order.supplier)
    with pytest.raises(DomainError, match="is not part of order"):
        fulfilment.ship_supplier_order(
            supplier_order=supplier_order,
            carrier="UPS",
            tracking_number=UPS,
            lines=[ShipLine(other.items.get().pk, 1)],
        )


# --- pages ---------------------------------------------------------------------------------------
def test_orders_page_lists_the_tabs_without_n_plus_one(
    supplier_client, django_assert_max_num_queries
):
    for _ in range(5):
        factories.make_supplier_order(supplier=supplier_client.supplier)
    factories.make_supplier_order(supplier=supplier_client.supplier, status=S.ACCEPTED)
    factories.make_supplier_order(status=S.SENT)  # another supplier's
    factories.make_supplier_order(supplier=supplier_client.supplier, status=S.PENDING)  # unpaid

    with django_assert_max_num_queries(12):
        response = supplier_client.get(reverse("supplier_orders:list"))

    assert response.status_code == 200
    assert len(response.context["page"].object_list) == 5
    assert response.context["tabs"] == [
        ("new", "New", 5),
        ("accepted", "Accepted", 1),
        ("shipped", "Shipped", 0),
        ("exceptions", "Exceptions", 0),
    ]
    accepted = supplier_client.get(reverse("supplier_orders:list") + "?tab=accepted")
    assert len(accepted.context["page"].object_list) == 1


def test_detail_shows_lines_address_branding_and_timeline(supplier_client):
    supplier_order = factories.make_supplier_order(supplier=supplier_client.supplier)
    retailer = supplier_order.order.retailer
    retailer.brand_name = "Maple & Co"
    retailer.packing_slip_message = "Thanks for shopping small!"
    retailer.save()
    fulfilment.accept_supplier_order(supplier_order=supplier_order)

    response = supplier_client.get(reverse("supplier_orders:detail", args=[supplier_order.pk]))

    text = response.content.decode()
    assert response.status_code == 200
    assert "Maple &amp; Co" in text
    assert "Thanks for shopping small!" in text
    assert "Chestnut Street 92" in text
    assert supplier_order.items.get().sku in text
    assert '<span class="badge">Accepted</span>' in text


def test_another_suppliers_order_is_404_on_every_page(supplier_client):
    other = factories.make_supplier_order()
    for name in ("detail", "accept", "reject", "ship"):
        method = supplier_client.get if name == "detail" else supplier_client.post
        response = method(reverse(f"supplier_orders:{name}", args=[other.pk]))
        assert response.status_code == 404, name
    other.refresh_from_db()
    assert other.status == S.SENT


def test_accept_reject_and_ship_from_the_page(supplier_client):
    supplier = supplier_client.supplier
    to_accept = factories.make_supplier_order(supplier=supplier)
    to_reject = factories.make_supplier_order(supplier=supplier)
    to_ship = factories.make_supplier_order(supplier=supplier, lines=[(2, None), (1, None)])

    supplier_client.post(reverse("supplier_orders:accept", args=[to_accept.pk]))
    supplier_client.post(
        reverse("supplier_orders:reject", args=[to_reject.pk]), {"reason": "Discontinued"}
    )
    first, second = to_ship.items.order_by("pk")
    response = supplier_client.post(
        reverse("supplier_orders:ship", args=[to_ship.pk]),
        {
            "carrier": "UPS",
            "tracking_number": UPS,
            "scope": "lines",
            f"qty-{first.pk}": "1",
            f"qty-{second.pk}": "0",
        },
    )
    assert response.status_code == 302

    assert SupplierOrder.objects.get(pk=to_accept.pk).status == S.ACCEPTED
    assert SupplierOrder.objects.get(pk=to_reject.pk).status == S.EXCEPTION
    first.refresh_from_db()
    assert first.quantity_shipped == 1
    assert Shipment.objects.get().items.get().order_item_id == first.pk


def test_bad_tracking_on_the_page_shows_the_error_on_the_field(supplier_client):
    supplier_order = factories.make_supplier_order(supplier=supplier_client.supplier)
    response = supplier_client.post(
        reverse("supplier_orders:ship", args=[supplier_order.pk]),
        {"carrier": "USPS", "tracking_number": "ABC", "scope": "all"},
    )
    assert response.status_code == 400
    assert "is not a USPS tracking number" in response.content.decode()
    assert Shipment.objects.count() == 0


def test_reject_without_reason_on_the_page_shows_the_error(supplier_client):
    supplier_order = factories.make_supplier_order(supplier=supplier_client.supplier)
    response = supplier_client.post(
        reverse("supplier_orders:reject", args=[supplier_order.pk]), {"reason": ""}
    )
    assert response.status_code == 400
    assert "This field is required" in response.content.decode()
    supplier_order.refresh_from_db()
    assert supplier_order.status == S.SENT


def test_packing_slip_carries_the_retailers_brand(supplier_client):
    supplier_order = factories.make_supplier_order(supplier=supplier_client.supplier)
    response = supplier_client.get(
        reverse("supplier_orders:packing_slip", args=[supplier_order.pk])
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    other = factories.make_supplier_order()
    assert (
        supplier_client.get(reverse("supplier_orders:packing_slip", args=[other.pk])).status_code
        == 404
    )


def test_retailer_shipments_partial_shows_the_push_state():
    from django.template.loader import render_to_string

    from orders.selectors import list_shipments_for_order

    supplier_order = factories.make_supplier_order()
    fulfilment.ship_supplier_order(
        supplier_order=supplier_order, carrier="UPS", tracking_number=UPS
    )
    html = render_to_string(
        "orders/_shipments.html",
        {"shipments": list_shipments_for_order(order=supplier_order.order)},
    )
    assert UPS in html
    assert "Pending" in html
