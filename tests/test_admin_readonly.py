"""What the admin must not let anyone do by hand: edit stock, money or statuses that belong to
services, touch view-only records, or see encrypted secrets."""

import uuid
from decimal import Decimal

import pytest
from django.urls import reverse

from billing.models import LedgerEntry, StripeEvent
from catalog.models import Variant
from dropship.core.audit import record_audit
from orders.models import SupplierOrder
from retailers.models import PricingRule
from suppliers.models import Supplier
from tests import factories


def admin_form_data(response) -> dict:
    """The POST a browser would send for an admin change page, as rendered (main form + inlines)."""
    data: dict = {}

    def add_form(form) -> None:
        for bound in form:
            value = bound.field.prepare_value(bound.value())
            if getattr(bound.field.widget, "input_type", None) == "file":
                continue
            if isinstance(value, bool) or bound.field.__class__.__name__ == "BooleanField":
                if value:
                    data[bound.html_name] = "on"
                continue
            if isinstance(value, list | tuple):
                data[bound.html_name] = [str(v) for v in value]
            else:
                data[bound.html_name] = "" if value is None else str(value)

    add_form(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        add_form(formset.management_form)
        for form in formset.forms:
            add_form(form)
    return data


def test_variant_stock_cannot_be_edited_in_the_admin(admin_client):
    variant = factories.VariantFactory(stock_on_hand=12, stock_reserved=3)
    url = reverse("admin:catalog_variant_change", args=[variant.pk])
    page = admin_client.get(url)
    data = admin_form_data(page)
    assert "stock_on_hand" not in data
    assert "stock_reserved" not in data

    response = admin_client.post(
        url, {**data, "wholesale_price": "11.50", "stock_on_hand": "999", "stock_reserved": "0"}
    )

    assert response.status_code == 302
    variant.refresh_from_db()
    assert (variant.stock_on_hand, variant.stock_reserved) == (12, 3)
    assert variant.wholesale_price == Decimal("11.50")


def test_product_page_adds_a_variant_with_the_product_supplier_and_no_stock(admin_client):
    product = factories.ProductFactory()
    url = reverse("admin:catalog_product_change", args=[product.pk])
    data = admin_form_data(admin_client.get(url))
    data.update(
        {
            "variants-TOTAL_FORMS": "1",
            "variants-0-sku": "NEW-SKU-1",
            "variants-0-options": '{"Size": "L"}',
            "variants-0-wholesale_price": "7.00",
            "variants-0-currency": "USD",
            "variants-0-weight_grams": "100",
            "variants-0-shipping_class": "standard",
            "variants-0-position": "0",
            "variants-0-stock_on_hand": "50",
        }
    )

    response = admin_client.post(url, data)

    assert response.status_code == 302
    variant = Variant.objects.get(sku="NEW-SKU-1")
    assert variant.supplier_id == product.supplier_id
    assert (variant.stock_on_hand, variant.stock_reserved) == (0, 0)


def test_duplicate_sku_for_the_supplier_is_a_form_error_not_a_crash(admin_client):
    existing = factories.VariantFactory(sku="DUP-1")
    product = factories.ProductFactory(supplier=existing.supplier)
    url = reverse("admin:catalog_product_change", args=[product.pk])
    data = admin_form_data(admin_client.get(url))
    data.update(
        {
            "variants-TOTAL_FORMS": "1",
            "variants-0-sku": "DUP-1",
            "variants-0-options": "{}",
            "variants-0-wholesale_price": "7.00",
            "variants-0-currency": "USD",
            "variants-0-weight_grams": "0",
            "variants-0-shipping_class": "standard",
            "variants-0-position": "0",
        }
    )

    response = admin_client.post(url, data)

    assert response.status_code == 200
    assert "This supplier already has a variant with SKU DUP-1." in response.content.decode()
    assert Variant.objects.filter(sku="DUP-1").count() == 1


def test_supplier_status_is_not_editable_and_its_webhook_secret_is_never_shown(admin_client):
    supplier = factories.SupplierFactory(
        status=Supplier.Status.PENDING, webhook_secret="whsec_supplier_s3cret"
    )
    url = reverse("admin:suppliers_supplier_change", args=[supplier.pk])
    page = admin_client.get(url)
    html = page.content.decode()
    assert "whsec_supplier_s3cret" not in html
    assert 'name="webhook_secret"' not in html
    data = admin_form_data(page)

    response = admin_client.post(url, {**data, "status": "ACTIVE", "handling_days": "3"})

    assert response.status_code == 302
    supplier.refresh_from_db()
    assert supplier.status == Supplier.Status.PENDING
    assert supplier.handling_days == 3
    assert supplier.webhook_secret == "whsec_supplier_s3cret"


def test_store_credentials_and_webhook_secret_are_never_shown(admin_client):
    store = factories.StoreFactory(
        credentials={"access_token": "shpat_very_secret_token"}, webhook_secret="wc_hook_secret"
    )
    for url in (
        reverse("admin:retailers_store_change", args=[store.pk]),
        reverse("admin:retailers_store_changelist"),
        reverse("admin:retailers_retailer_change", args=[store.retailer_id]),
    ):
        html = admin_client.get(url).content.decode()
        assert "shpat_very_secret_token" not in html
        assert "wc_hook_secret" not in html
        assert 'name="credentials"' not in html


def test_order_page_shows_the_shopper_address_to_staff(admin_client):
    order = factories.OrderFactory(
        shipping_address={"name": "Bob Norman", "address1": "Chestnut Street 92", "zip": "40202"}
    )

    html = admin_client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()

    assert "<th>address1</th><td>Chestnut Street 92</td>" in html
    assert 'name="shipping_address"' not in html


def test_supplier_order_money_and_status_are_read_only(admin_client):
    supplier_order = factories.SupplierOrderFactory(platform_fee=Decimal("2.00"))
    url = reverse("admin:orders_supplierorder_change", args=[supplier_order.pk])
    data = admin_form_data(admin_client.get(url))
    assert "flag_reason" in data
    assert not {"status", "platform_fee", "wholesale_total"} & set(data)

    response = admin_client.post(
        url,
        {
            **data,
            "status": "DELIVERED",
            "platform_fee": "0.00",
            "is_flagged": "on",
            "flag_reason": "Customer called",
        },
    )

    assert response.status_code == 302
    supplier_order.refresh_from_db()
    assert supplier_order.status == SupplierOrder.Status.PAID
    assert supplier_order.platform_fee == Decimal("2.00")
    assert (supplier_order.is_flagged, supplier_order.flag_reason) == (True, "Customer called")


def _balanced_ledger_transaction() -> list[LedgerEntry]:
    transaction_id = uuid.uuid4()
    return [
        LedgerEntry.objects.create(
            transaction_id=transaction_id, kind="FEE", account=account, amount=Decimal(amount)
        )
        for account, amount in (("RETAILER_RECEIVABLE", "2.00"), ("PLATFORM_REVENUE", "-2.00"))
    ]


@pytest.mark.parametrize(
    ("url_name", "make"),
    [
        ("billing_ledgerentry", lambda: _balanced_ledger_transaction()[0]),
        (
            "billing_stripeevent",
            lambda: StripeEvent.objects.create(
                event_id="evt_x", type="charge.succeeded", created="2026-01-01T00:00Z", payload={}
            ),
        ),
        (
            "core_auditlogentry",
            lambda: record_audit(
                actor=None, action="test", target=factories.SupplierFactory(), summary="x"
            ),
        ),
        (
            "catalog_stockmovement",
            lambda: factories.VariantFactory().stock_movements.create(
                source="API", on_hand_before=1, on_hand_after=2, reserved_before=0, reserved_after=0
            ),
        ),
    ],
)
def test_view_only_records_refuse_add_change_and_delete_even_for_a_superuser(
    admin_client, url_name, make
):
    obj = make()
    model = type(obj)

    assert admin_client.get(reverse(f"admin:{url_name}_changelist")).status_code == 200
    change_url = reverse(f"admin:{url_name}_change", args=[obj.pk])
    page = admin_client.get(change_url)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert admin_client.post(change_url, {}).status_code == 403
    assert admin_client.get(reverse(f"admin:{url_name}_add")).status_code == 403
    assert admin_client.post(reverse(f"admin:{url_name}_delete", args=[obj.pk])).status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()
    assert model.objects.count() == (2 if model is LedgerEntry else 1)


def test_pricing_rule_cannot_point_at_another_retailers_store(admin_client):
    retailer = factories.RetailerFactory()
    foreign_store = factories.StoreFactory()

    response = admin_client.post(
        reverse("admin:retailers_pricingrule_add"),
        {
            "retailer": retailer.pk,
            "store": foreign_store.pk,
            "name": "Sneaky",
            "method": "PERCENT",
            "value": "50",
            "rounding": "NONE",
            "tiers-TOTAL_FORMS": "0",
            "tiers-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 200
    assert "This store belongs to another retailer." in response.content.decode()
    assert PricingRule.objects.count() == 0
