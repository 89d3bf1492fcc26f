import threading
from datetime import UTC, datetime
from decimal import Decimal as D

import pytest
from django.db import connection

from billing.models import Invoice
from billing.services import issue_invoice
from tests.factories import RetailerFactory


@pytest.mark.django_db
def test_invoices_are_numbered_per_year_in_sequence_with_frozen_lines():
    retailer = RetailerFactory()
    first = issue_invoice(
        retailer=retailer,
        currency="USD",
        issued_at=datetime(2026, 3, 1, tzinfo=UTC),
        lines=[{"description": "Supplier order SO-1", "quantity": 2, "unit_amount": "10.005"}],
    )
    second = issue_invoice(
        retailer=retailer,
        currency="USD",
        issued_at=datetime(2026, 3, 2, tzinfo=UTC),
        lines=[{"description": "Fee", "unit_amount": "2"}],
    )
    next_year = issue_invoice(
        retailer=retailer,
        currency="USD",
        issued_at=datetime(2027, 1, 1, tzinfo=UTC),
        lines=[{"description": "Fee", "unit_amount": "2"}],
    )
    assert [first.number, second.number, next_year.number] == [
        "INV-2026-000001",
        "INV-2026-000002",
        "INV-2027-000001",
    ]
    assert first.total == D("20.02")  # 10.005 → 10.01 per unit, × 2
    assert first.lines == [
        {
            "description": "Supplier order SO-1",
            "quantity": 2,
            "unit_amount": "10.01",
            "amount": "20.02",
        }
    ]


@pytest.mark.django_db(transaction=True)
def test_concurrent_invoices_get_distinct_numbers_without_gaps():
    retailer = RetailerFactory()
    errors: list[Exception] = []
    start = threading.Barrier(12)

    def issue() -> None:
        try:
            start.wait()
            issue_invoice(
                retailer=retailer,
                currency="USD",
                lines=[{"description": "Fee", "unit_amount": "1"}],
            )
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=issue) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    sequences = sorted(Invoice.objects.values_list("sequence", flat=True))
    assert sequences == list(range(1, 13))


# --- invoices per charge and per month; pages, PDF and API ---------------------------------------
import base64  # noqa: E402
import re  # noqa: E402
import zlib  # noqa: E402
from datetime import date  # noqa: E402
from decimal import Decimal  # noqa: E402

from billing.models import Charge  # noqa: E402
from billing.services import issue_monthly_invoices  # noqa: E402
from dropship.accounts.services import create_api_key  # noqa: E402
from orders.services.payment import pay_supplier_order  # noqa: E402
from tests import factories  # noqa: E402
from tests.billing.helpers import paid_supplier_order, supplier_order_for  # noqa: E402


def _pdf_text(data: bytes) -> str:
    """The text drawn in a PDF's pages: its content streams, decoded as reportlab writes them
    (ASCII85 then Flate)."""
    chunks = []
    for stream in re.findall(rb"stream\r?\n(.*?)endstream", data, re.S):
        raw = base64.a85decode(stream.strip().removesuffix(b"~>"))
        chunks.append(zlib.decompress(raw))
    return b"".join(chunks).decode("latin-1")


@pytest.mark.django_db
def test_a_card_charge_gets_a_paid_invoice_listing_its_lines(stripe_sandbox):
    retailer = factories.RetailerFactory()
    supplier_order = supplier_order_for(retailer)
    for title, quantity, unit in (("Linen apron", 1, "10.00"), ("Tea towel", 2, "5.00")):
        factories.OrderItemFactory(
            order=supplier_order.order,
            supplier_order=supplier_order,
            title=title,
            sku=f"SKU-{title[:3].upper()}",
            quantity=quantity,
            wholesale_unit_price=Decimal(unit),
        )
    stripe_sandbox.save_card(retailer)

    pay_supplier_order(supplier_order=supplier_order)

    invoice = Charge.objects.get().invoice
    assert (invoice.status, invoice.total, invoice.paid_at is not None) == (
        "PAID",
        D("27.00"),
        True,
    )
    assert [(line["description"], line["quantity"], line["amount"]) for line in invoice.lines] == [
        ("Linen apron (SKU-LIN)", 1, "10.00"),
        ("Tea towel (SKU-TEA)", 2, "10.00"),
        (f"Shipping for {supplier_order.number}", 1, "5.00"),
        ("Dropship platform fee", 1, "2.00"),
    ]


@pytest.mark.django_db
def test_payment_terms_retailers_get_one_invoice_a_month_for_last_months_orders():
    retailer = factories.RetailerFactory(has_payment_terms=True)
    orders = [supplier_order_for(retailer) for _ in range(2)]
    for supplier_order in orders:
        pay_supplier_order(supplier_order=supplier_order)
    Charge.objects.update(created_at=datetime(2026, 10, 15, tzinfo=UTC))
    later = supplier_order_for(retailer)
    pay_supplier_order(supplier_order=later)  # this month's: next month's invoice

    first = issue_monthly_invoices(today=date(2026, 11, 1))
    again = issue_monthly_invoices(today=date(2026, 11, 2))

    assert again == []
    (invoice,) = first
    assert (invoice.status, invoice.total, invoice.period_start, invoice.period_end) == (
        "OPEN",
        D("54.00"),
        date(2026, 10, 1),
        date(2026, 10, 31),
    )
    assert (invoice.due_at - invoice.issued_at).days == 30
    assert [line["reference"] for line in invoice.lines] == [o.number for o in orders]
    assert Charge.objects.filter(invoice=invoice).count() == 2
    assert Charge.objects.get(supplier_order=later).invoice is None


@pytest.mark.django_db
def test_the_retailer_reads_its_invoice_as_a_page_and_downloads_the_pdf(
    retailer_client, stripe_sandbox
):
    supplier_order = paid_supplier_order(stripe_sandbox, retailer=retailer_client.retailer)
    invoice = supplier_order.charges.get().invoice

    page = retailer_client.get(f"/retailer/billing/invoices/{invoice.number}/")
    pdf = retailer_client.get(f"/retailer/billing/invoices/{invoice.number}.pdf")

    assert page.status_code == 200
    assert f'<h1 id="invoice-h">Invoice {invoice.number}</h1>' in page.text
    assert "$27.00" in page.text
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"] == f'attachment; filename="{invoice.number}.pdf"'
    assert pdf.content.startswith(b"%PDF-")
    text = _pdf_text(pdf.content)
    assert f"Invoice {invoice.number}" in text
    assert "$27.00" in text


@pytest.mark.django_db
def test_another_retailers_invoice_is_not_found(client, stripe_sandbox):
    theirs = paid_supplier_order(stripe_sandbox).charges.get().invoice
    me = factories.RetailerMemberFactory()
    client.force_login(me.user)

    page = client.get(f"/retailer/billing/invoices/{theirs.number}/")
    pdf = client.get(f"/retailer/billing/invoices/{theirs.number}.pdf")
    _, secret = create_api_key(organisation=me.retailer, name="ERP", created_by=me.user)
    api = client.get(
        f"/api/v1/billing/invoices/{theirs.number}", HTTP_AUTHORIZATION=f"Bearer {secret}"
    )
    listed = client.get("/api/v1/billing/invoices", HTTP_AUTHORIZATION=f"Bearer {secret}")

    assert (page.status_code, pdf.status_code, api.status_code) == (404, 404, 404)
    assert listed.json() == {"items": [], "next_cursor": None, "has_more": False}


@pytest.mark.django_db
def test_the_api_lists_the_callers_invoices_newest_first(client, stripe_sandbox):
    member = factories.RetailerMemberFactory()
    retailer = member.retailer
    first = paid_supplier_order(stripe_sandbox, retailer=retailer).charges.get().invoice
    second = paid_supplier_order(stripe_sandbox, retailer=retailer).charges.get().invoice
    _, secret = create_api_key(organisation=retailer, name="ERP", created_by=member.user)

    answer = client.get("/api/v1/billing/invoices", HTTP_AUTHORIZATION=f"Bearer {secret}")
    one = client.get(
        f"/api/v1/billing/invoices/{first.number}", HTTP_AUTHORIZATION=f"Bearer {secret}"
    )

    assert answer.status_code == 200
    body = answer.json()
    assert (body["has_more"], body["next_cursor"]) == (False, None)
    assert [i["number"] for i in body["items"]] == [second.number, first.number]
    item = body["items"][1]
    assert (item["status"], item["total"], item["currency"]) == ("PAID", "27.00", "USD")
    assert item["pdf_url"] == f"/retailer/billing/invoices/{first.number}.pdf"
    assert item["lines"][-1] == {
        "description": "Dropship platform fee",
        "quantity": 1,
        "unit_amount": "2.00",
        "amount": "2.00",
        "reference": first.lines[-1]["reference"],
    }
    assert one.json()["number"] == first.number


@pytest.mark.django_db
def test_the_invoice_api_pages_with_a_cursor(client, stripe_sandbox):
    member = factories.RetailerMemberFactory()
    retailer = member.retailer
    first = paid_supplier_order(stripe_sandbox, retailer=retailer).charges.get().invoice
    second = paid_supplier_order(stripe_sandbox, retailer=retailer).charges.get().invoice
    _, secret = create_api_key(organisation=retailer, name="ERP", created_by=member.user)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}

    page_one = client.get("/api/v1/billing/invoices", {"limit": 1}, **auth).json()
    page_two = client.get(
        "/api/v1/billing/invoices", {"limit": 1, "cursor": page_one["next_cursor"]}, **auth
    ).json()

    assert [i["number"] for i in page_one["items"]] == [second.number]
    assert page_one["has_more"] is True
    assert [i["number"] for i in page_two["items"]] == [first.number]
    assert (page_two["has_more"], page_two["next_cursor"]) == (False, None)


@pytest.mark.django_db
def test_the_invoice_api_refuses_suppliers_and_anonymous_callers(client):
    member = factories.SupplierMemberFactory()
    _, secret = create_api_key(organisation=member.supplier, name="ERP", created_by=member.user)

    supplier = client.get("/api/v1/billing/invoices", HTTP_AUTHORIZATION=f"Bearer {secret}")
    anonymous = client.get("/api/v1/billing/invoices")

    assert supplier.status_code == 404
    assert supplier.json()["detail"] == "Invoices belong to retailers; a supplier has none."
    assert anonymous.status_code == 401
