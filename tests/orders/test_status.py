import pytest

from orders.status import derive_order_status

S = {
    "P": "PENDING",
    "F": "PAYMENT_FAILED",
    "D": "PAID",
    "T": "SENT",
    "A": "ACCEPTED",
    "H": "SHIPPED",
    "V": "DELIVERED",
    "E": "EXCEPTION",
    "C": "CANCELLED",
}


@pytest.mark.parametrize(
    ("supplier_orders", "items", "expected"),
    [
        ("P", ["RESERVED"], "PENDING"),
        ("DT", ["RESERVED", "RESERVED"], "CONFIRMED"),
        ("AA", ["RESERVED"], "CONFIRMED"),
        ("HA", ["SHIPPED", "RESERVED"], "PARTIALLY_SHIPPED"),
        ("HH", ["SHIPPED", "SHIPPED"], "SHIPPED"),
        ("VH", ["SHIPPED", "SHIPPED"], "PARTIALLY_DELIVERED"),
        ("VV", ["SHIPPED"], "DELIVERED"),
        ("D", ["RESERVED", "EXCEPTION"], "EXCEPTION"),
        ("F", ["RESERVED"], "EXCEPTION"),
        ("HE", ["SHIPPED", "RESERVED"], "PARTIALLY_SHIPPED"),
        ("CC", ["CANCELLED", "CANCELLED"], "CANCELLED"),
        ("CH", ["CANCELLED", "SHIPPED"], "SHIPPED"),
        ("", ["NOT_OURS"], "EXCEPTION"),
        ("D", ["RESERVED", "NOT_OURS"], "CONFIRMED"),
    ],
)
def test_order_status_follows_its_supplier_orders_and_items(supplier_orders, items, expected):
    assert (
        derive_order_status(
            supplier_order_statuses=[S[c] for c in supplier_orders], item_statuses=items
        )
        == expected
    )


def test_a_delivered_parcel_of_a_shipped_order_reads_partially_delivered():
    shipped = {"supplier_order_statuses": ["SHIPPED", "SHIPPED"], "item_statuses": ["SHIPPED"]}
    assert derive_order_status(**shipped) == "SHIPPED"
    assert derive_order_status(**shipped, has_delivered_parcel=True) == "PARTIALLY_DELIVERED"
    assert (
        derive_order_status(
            supplier_order_statuses=["DELIVERED", "DELIVERED"],
            item_statuses=["SHIPPED"],
            has_delivered_parcel=True,
        )
        == "DELIVERED"
    )
