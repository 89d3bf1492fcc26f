from decimal import Decimal

import pytest

from catalog.models import ImportJob
from tests import factories

pytestmark = pytest.mark.django_db


def test_dashboard_shows_stock_lists_figures_and_last_imports(
    supplier_client, django_assert_max_num_queries
):
    supplier = supplier_client.supplier
    supplier.low_stock_threshold = 5
    supplier.save(update_fields=["low_stock_threshold"])
    lamp = factories.ProductFactory(supplier=supplier, title="Lamp")
    factories.VariantFactory(
        product=lamp, sku="LAMP-OK", stock_on_hand=40, wholesale_price=Decimal("10.00")
    )
    factories.VariantFactory(
        product=lamp, sku="LAMP-LOW", stock_on_hand=3, wholesale_price=Decimal("10.00")
    )
    factories.VariantFactory(
        product=lamp,
        sku="LAMP-VIP",
        stock_on_hand=15,
        low_stock_threshold=20,
        wholesale_price=Decimal("2.00"),
    )
    factories.VariantFactory(
        product=lamp,
        sku="LAMP-OUT",
        stock_on_hand=2,
        stock_reserved=2,
        wholesale_price=Decimal("1.00"),
    )
    retired = factories.ProductFactory(supplier=supplier, status="DISCONTINUED")
    factories.VariantFactory(product=retired, sku="OLD-1", stock_on_hand=0)
    factories.VariantFactory(sku="THEIRS-LOW", stock_on_hand=1)
    for name, created in (("first.csv", 10), ("second.csv", 0)):
        ImportJob.objects.create(
            supplier=supplier,
            original_filename=name,
            file_format="CSV",
            file=f"imports/{name}",
            status=ImportJob.Status.COMPLETED,
            created_count=created,
            unchanged_count=10 - created,
        )

    with django_assert_max_num_queries(16):
        response = supplier_client.get("/supplier/")

    stats = response.context["stats"]
    assert (stats.low_stock_count, stats.out_of_stock_count) == (2, 1)
    assert stats.stock_value == Decimal("462.00")  # 40×10 + 3×10 + 15×2 + 2×1 (+ 0 discontinued)
    assert [(v.sku, v.available, v.threshold) for v in response.context["low_stock"]] == [
        ("LAMP-LOW", 3, 5),
        ("LAMP-VIP", 15, 20),
    ]
    assert [v.sku for v in response.context["out_of_stock"]] == ["LAMP-OUT"]
    assert [
        (j.original_filename, j.created_count, j.unchanged_count)
        for j in response.context["imports"]
    ] == [
        ("second.csv", 0, 10),
        ("first.csv", 10, 0),
    ]
    content = response.content.decode()
    assert "THEIRS-LOW" not in content
    assert f"/supplier/catalog/variants/{lamp.variants.get(sku='LAMP-LOW').pk}/history/" in content
