import pytest
from django.core import mail

from catalog.inventory import advertised_quantity, advertised_quantity_expression
from catalog.models import StockMovement, Variant
from catalog.services import StockBelowReserved, StockError, set_stock, set_stock_levels
from dropship.accounts.models import Notification
from tests import factories

# A README flow: `make test` runs it on SQLite as well.
pytestmark = [pytest.mark.django_db, pytest.mark.embedded]

Source = StockMovement.Source


def test_set_stock_writes_the_new_quantity_and_one_movement_with_who_and_why():
    member = factories.SupplierMemberFactory()
    variant = factories.VariantFactory(
        product__supplier=member.supplier, stock_on_hand=40, stock_reserved=3
    )

    change = set_stock(
        variant=variant, quantity=25, source=Source.PAGE, actor=member.user, reference="Counted"
    )

    variant.refresh_from_db()
    assert (variant.stock_on_hand, variant.stock_reserved) == (25, 3)
    assert variant.stock_updated_at is not None
    assert (change.on_hand_before, change.on_hand_after) == (40, 25)
    movement = StockMovement.objects.get(variant=variant)
    assert movement.source == "PAGE"
    assert (movement.on_hand_before, movement.on_hand_after) == (40, 25)
    assert (movement.reserved_before, movement.reserved_after) == (3, 3)
    assert movement.actor == member.user
    assert movement.reference == "Counted"


def test_setting_the_same_quantity_changes_nothing_and_records_nothing():
    variant = factories.VariantFactory(stock_on_hand=12)

    assert set_stock(variant=variant, quantity=12, source=Source.API) is None

    assert StockMovement.objects.count() == 0


def test_stock_below_the_reserved_quantity_is_refused_with_an_explanation():
    variant = factories.VariantFactory(sku="MUG-1", stock_on_hand=10, stock_reserved=4)

    with pytest.raises(StockBelowReserved) as refused:
        set_stock(variant=variant, quantity=3, source=Source.PAGE)

    assert refused.value.message == (
        "MUG-1: stock 3 is below the 4 units reserved for open orders; set at least 4."
    )
    assert refused.value.status_code == 409
    variant.refresh_from_db()
    assert variant.stock_on_hand == 10
    assert StockMovement.objects.count() == 0


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        (-1, "Stock cannot be negative."),
        (10_000_001, "Stock cannot be more than 10,000,000 units."),
        (2.5, "Stock must be a whole number."),
        ("7", "Stock must be a whole number."),
        (True, "Stock must be a whole number."),
    ],
)
def test_impossible_quantities_are_refused(quantity, message):
    variant = factories.VariantFactory(stock_on_hand=5)

    with pytest.raises(StockError) as refused:
        set_stock(variant=variant, quantity=quantity, source=Source.PAGE)

    assert refused.value.message == message
    variant.refresh_from_db()
    assert variant.stock_on_hand == 5


def test_bulk_levels_apply_the_valid_ones_and_report_the_refused():
    supplier = factories.SupplierFactory()
    a = factories.VariantFactory(product__supplier=supplier, sku="A", stock_on_hand=10)
    b = factories.VariantFactory(
        product__supplier=supplier, sku="B", stock_on_hand=10, stock_reserved=6
    )
    c = factories.VariantFactory(product__supplier=supplier, sku="C", stock_on_hand=7)

    result = set_stock_levels(
        supplier=supplier,
        levels={a.pk: 20, b.pk: 5, c.pk: 7},
        source=Source.API,
        skip_refused=True,
    )

    assert [change.sku for change in result.changes] == ["A"]
    assert result.unchanged == [c.pk]
    assert result.refused == {
        b.pk: "B: stock 5 is below the 6 units reserved for open orders; set at least 6."
    }
    assert dict(Variant.objects.values_list("sku", "stock_on_hand")) == {"A": 20, "B": 10, "C": 7}


def test_bulk_levels_without_skipping_refuse_the_whole_batch():
    supplier = factories.SupplierFactory()
    a = factories.VariantFactory(product__supplier=supplier, stock_on_hand=10)
    b = factories.VariantFactory(product__supplier=supplier, stock_on_hand=10, stock_reserved=6)

    with pytest.raises(StockBelowReserved):
        set_stock_levels(supplier=supplier, levels={a.pk: 20, b.pk: 5}, source=Source.IMPORT)

    assert list(Variant.objects.order_by("pk").values_list("stock_on_hand", flat=True)) == [10, 10]
    assert StockMovement.objects.count() == 0


def test_another_suppliers_variant_cannot_be_changed():
    mine = factories.VariantFactory(stock_on_hand=10)
    theirs = factories.VariantFactory(stock_on_hand=10)

    with pytest.raises(StockError):
        set_stock_levels(
            supplier=mine.supplier, levels={mine.pk: 1, theirs.pk: 1}, source=Source.API
        )

    assert list(Variant.objects.values_list("stock_on_hand", flat=True)) == [10, 10]


def test_falling_to_the_threshold_alerts_once_until_stock_rises_again():
    member = factories.SupplierMemberFactory(supplier__low_stock_threshold=5)
    variant = factories.VariantFactory(
        product__supplier=member.supplier, sku="TEE-M", stock_on_hand=20
    )

    set_stock(variant=variant, quantity=5, source=Source.PAGE)
    set_stock(variant=variant, quantity=2, source=Source.PAGE)  # still low: no second alert

    alerts = Notification.objects.filter(supplier=member.supplier, kind="stock.low")
    assert [n.message for n in alerts] == ["This variant is low on stock: TEE-M (5 left)."]
    assert [m.subject for m in mail.outbox] == []  # emails go out when the transaction commits
    variant.refresh_from_db()
    assert variant.is_low_stock_alerted is True

    set_stock(variant=variant, quantity=6, source=Source.PAGE)  # above the threshold: re-armed
    variant.refresh_from_db()
    assert variant.is_low_stock_alerted is False

    set_stock(variant=variant, quantity=0, source=Source.PAGE)
    assert list(alerts.all().values_list("message", flat=True)) == [
        "This variant is low on stock: TEE-M (0 left).",
        "This variant is low on stock: TEE-M (5 left).",
    ]


def test_low_stock_alert_is_emailed_to_the_owners(django_capture_on_commit_callbacks):
    member = factories.SupplierMemberFactory(supplier__low_stock_threshold=5)
    variant = factories.VariantFactory(
        product__supplier=member.supplier, sku="TEE-M", stock_on_hand=20
    )

    with django_capture_on_commit_callbacks(execute=True):
        set_stock(variant=variant, quantity=3, source=Source.PAGE)

    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "Low stock: TEE-M"
    assert member.user.email in mail.outbox[0].to
    assert "TEE-M (3 left)" in mail.outbox[0].body


def test_a_variant_threshold_overrides_the_suppliers():
    supplier = factories.SupplierFactory(low_stock_threshold=5)
    strict = factories.VariantFactory(
        product__supplier=supplier, sku="S", stock_on_hand=50, low_stock_threshold=20
    )
    relaxed = factories.VariantFactory(
        product__supplier=supplier, sku="R", stock_on_hand=50, low_stock_threshold=0
    )

    set_stock_levels(supplier=supplier, levels={strict.pk: 15, relaxed.pk: 1}, source=Source.API)

    assert dict(Variant.objects.values_list("sku", "is_low_stock_alerted")) == {
        "S": True,
        "R": False,
    }
    assert list(Notification.objects.values_list("message", flat=True)) == [
        "This variant is low on stock: S (15 left)."
    ]


def test_many_variants_crossing_at_once_make_one_notification():
    supplier = factories.SupplierFactory(low_stock_threshold=5)
    variants = [
        factories.VariantFactory(product__supplier=supplier, sku=f"V{i}", stock_on_hand=50)
        for i in range(3)
    ]

    set_stock_levels(
        supplier=supplier, levels={v.pk: i for i, v in enumerate(variants)}, source=Source.IMPORT
    )

    assert list(Notification.objects.values_list("message", flat=True)) == [
        "These variants are low on stock: V0 (0 left), V1 (1 left), V2 (2 left)."
    ]


@pytest.mark.parametrize(
    ("on_hand", "reserved", "buffer", "expected"),
    [
        (100, 0, 90, 90),
        (11, 0, 90, 9),
        (10, 3, 90, 6),
        (1, 0, 90, 0),
        (5, 5, 100, 0),
        (7, 0, 100, 7),
    ],
)
def test_advertised_quantity_is_the_buffered_available_stock_in_python_and_sql(
    on_hand, reserved, buffer, expected
):
    variant = factories.VariantFactory(
        product__supplier__stock_buffer_percent=buffer,
        stock_on_hand=on_hand,
        stock_reserved=reserved,
    )

    in_sql = (
        Variant.objects.annotate(advertised=advertised_quantity_expression())
        .values_list("advertised", flat=True)
        .get(pk=variant.pk)
    )

    assert (
        advertised_quantity(on_hand=on_hand, reserved=reserved, buffer_percent=buffer) == expected
    )
    assert in_sql == expected
