"""Bulk ship by CSV: every row checked first, errors by row number, nothing half-applied."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from catalog.models import Variant
from dropship.core.errors import DomainError
from orders.models import Shipment, SupplierOrder
from orders.services.fulfilment import bulk_ship_from_csv
from tests import factories

pytestmark = pytest.mark.django_db
UPS = "1Z999AA10123456784"


def _orders(supplier):
    one = factories.make_supplier_order(supplier=supplier, lines=[(2, None), (1, None)])
    two = factories.make_supplier_order(supplier=supplier, lines=[(1, None)])
    return one, two


def _skus(supplier_order):
    return list(supplier_order.items.order_by("pk").values_list("sku", flat=True))


def test_a_good_file_ships_every_row_grouping_parcels_by_tracking_number():
    supplier = factories.SupplierFactory()
    one, two = _orders(supplier)
    a, b = _skus(one)
    [c] = _skus(two)
    content = (
        "Order Number,SKU,Carrier,Tracking Number\n"
        f"{one.number},{a},UPS,{UPS}\n"
        f"{one.number},{b},UPS,{UPS}\n"
        f"{two.number},{c},FedEx,123456789012\n"
    ).encode()

    result = bulk_ship_from_csv(supplier=supplier, content=content)

    assert result.is_ok
    assert len(result.shipments) == 2
    assert SupplierOrder.objects.get(pk=one.pk).status == "SHIPPED"
    assert SupplierOrder.objects.get(pk=two.pk).status == "SHIPPED"
    assert Shipment.objects.get(tracking_number=UPS).items.count() == 2


def test_bad_rows_are_reported_by_row_number_and_nothing_is_shipped():
    supplier = factories.SupplierFactory()
    one, two = _orders(supplier)
    a, b = _skus(one)
    [c] = _skus(two)
    foreign = factories.make_supplier_order()
    content = (
        "order_number,sku,carrier,tracking_number,quantity\n"
        f"{one.number},{a},UPS,{UPS},1\n"  # 2: fine
        f"{one.number},{b},UPS,1Z999AA10123456785,\n"  # 3: bad check digit
        f"{two.number},NOPE,UPS,{UPS},\n"  # 4: unknown SKU
        f"{foreign.number},{_skus(foreign)[0]},UPS,{UPS},\n"  # 5: another supplier's
        f"{two.number},{c},DHL,1234567890,5\n"  # 6: too many
        f"{two.number},{c},,1234567890,\n"  # 7: missing carrier
        f"{two.number},{c},DHL,1234567890,abc\n"  # 8: quantity not a number
    ).encode()

    result = bulk_ship_from_csv(supplier=supplier, content=content)

    assert [(e.row, e.message) for e in result.errors] == [
        (3, "“1Z999AA10123456785” fails the UPS check digit; please check it for a typo."),
        (4, f"Order {two.number} has no line with SKU NOPE."),
        (5, f"No order {foreign.number} of yours was found."),
        (6, f"Only 1 of {c} on order {two.number} are left to ship."),
        (7, "order_number, sku, carrier and tracking_number are required."),
        (8, "Quantity “abc” is not a number."),
    ]
    assert Shipment.objects.count() == 0
    assert set(SupplierOrder.objects.values_list("status", flat=True)) == {"SENT"}
    assert list(Variant.objects.order_by("pk").values_list("stock_on_hand", flat=True)) == [10] * 4


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty."),
        (b"order,sku\nSO-1,A\n", "missing: carrier, tracking_number"),
        (b"order_number,sku,carrier,tracking_number\n", "no rows"),
        (b"\xff\xfe\x00bad", "not UTF-8"),
    ],
)
def test_an_unreadable_file_is_refused_with_a_clear_message(content, message):
    with pytest.raises(DomainError, match=message):
        bulk_ship_from_csv(supplier=factories.SupplierFactory(), content=content)


def test_bulk_ship_page_lists_row_errors(supplier_client):
    one, _ = _orders(supplier_client.supplier)
    a, _ = _skus(one)
    upload = SimpleUploadedFile(
        "ship.csv",
        f"order_number,sku,carrier,tracking_number\n{one.number},{a},USPS,123\n".encode(),
        content_type="text/csv",
    )
    response = supplier_client.post(reverse("supplier_orders:bulk_ship"), {"file": upload})
    assert response.status_code == 400
    text = response.content.decode()
    assert "Nothing was shipped" in text
    assert "is not a USPS tracking number" in text
    assert Shipment.objects.count() == 0


def test_bulk_ship_page_ships_a_good_file(supplier_client):
    one, _ = _orders(supplier_client.supplier)
    a, _ = _skus(one)
    upload = SimpleUploadedFile(
        "ship.csv",
        f"order_number,sku,carrier,tracking_number\n{one.number},{a},UPS,{UPS}\n".encode(),
        content_type="text/csv",
    )
    response = supplier_client.post(reverse("supplier_orders:bulk_ship"), {"file": upload})
    assert response.status_code == 302
    assert Shipment.objects.get().items.get().order_item.sku == a


def test_rows_that_together_ship_more_than_is_left_are_refused():
    supplier = factories.SupplierFactory()
    one, _ = _orders(supplier)
    a, _ = _skus(one)
    content = (
        "order_number,sku,carrier,tracking_number,quantity\n"
        f"{one.number},{a},UPS,{UPS},1\n"
        f"{one.number},{a},DHL,1234567890,2\n"
    ).encode()
    result = bulk_ship_from_csv(supplier=supplier, content=content)
    assert [(e.row, e.message) for e in result.errors] == [
        (3, f"Only 2 of {a} on order {one.number} are left to ship.")
    ]
    assert Shipment.objects.count() == 0


def test_a_semicolon_separated_windows_1252_file_ships_like_the_stock_import_reads_it():
    """Excel in a European locale saves "CSV" with `;` and Windows-1252; the stock import took
    such a file and bulk shipping refused it as not UTF-8 until both used the one reader."""
    supplier = factories.SupplierFactory()
    one, _ = _orders(supplier)
    first, second = one.items.order_by("pk")
    first.sku, second.sku = "MÖBEL-1", "CAFÉ-2"
    first.save(update_fields=["sku"])
    second.save(update_fields=["sku"])
    content = (
        "Order number;SKU;Carrier;Tracking number\r\n"
        f"{one.number};MÖBEL-1;UPS;{UPS}\r\n"
        f"{one.number};café-2;UPS;{UPS}\r\n"
    ).encode("cp1252")

    result = bulk_ship_from_csv(supplier=supplier, content=content)

    assert result.errors == []
    [shipment] = result.shipments
    assert sorted(shipment.items.values_list("order_item__sku", "quantity")) == [
        ("CAFÉ-2", 1),
        ("MÖBEL-1", 2),
    ]
    assert SupplierOrder.objects.get(pk=one.pk).status == "SHIPPED"
