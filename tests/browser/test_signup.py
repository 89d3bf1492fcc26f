import pytest

from dropship.accounts.models import Membership
from suppliers.models import ShippingRate, Supplier, SupplierVerification

pytestmark = pytest.mark.django_db(transaction=True)

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def test_new_supplier_signs_up_completes_the_application_and_waits_for_review(page):
    page.goto("/")
    page.get_by_role("link", name="Sign up").click()

    page.get_by_label("Supplier").check()
    page.get_by_label("Company name").fill("Harbour Lights Trading")
    page.get_by_label("Your name").fill("Hana Harbour")
    page.get_by_label("Email").fill("hana@harbour.example")
    page.get_by_label("Password", exact=True).fill("a-long-and-unusual-passphrase")
    page.get_by_label("Password (again)").fill("a-long-and-unusual-passphrase")
    page.get_by_role("button", name="Create account").click()

    # A new supplier lands on the first step of its application.
    page.wait_for_url("**/supplier/application/profile/")
    assert page.get_by_role("heading", level=1).inner_text() == "Harbour Lights Trading"
    assert "Step 1 of 5: Company profile" in page.content()
    assert page.get_by_label("Legal company name").input_value() == "Harbour Lights Trading"
    page.get_by_label("Manufacturer").check()
    page.get_by_label("Description").fill("Hand-made lamps from recycled glass.")
    page.get_by_label("Phone").fill("+44 20 7946 0958")
    page.get_by_label("Ships from (country)").fill("GB")
    page.get_by_role("button", name="Save and continue").click()

    page.wait_for_url("**/supplier/application/fulfilment/")
    page.get_by_label("Handling time (business days)").fill("3")
    page.get_by_label("Carrier (rate 1)").fill("Royal Mail")
    page.get_by_label("Service (rate 1)").fill("Tracked 48")
    page.get_by_label("Price (rate 1)").fill("4.20")
    page.get_by_role("button", name="Save and continue").click()

    page.wait_for_url("**/supplier/application/channel/")
    page.get_by_label("Email", exact=True).check()
    page.get_by_label("Order email address").fill("orders@harbour.example")
    page.get_by_role("button", name="Save and continue").click()

    page.wait_for_url("**/supplier/application/verification/")
    page.get_by_label("Business registration number").fill("GB-0123456")
    page.get_by_label("Registration document").set_input_files(
        {"name": "certificate.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    page.get_by_role("button", name="Save and continue").click()

    page.wait_for_url("**/supplier/application/review/")
    page.get_by_role("button", name="Submit application").click()

    page.wait_for_url("**/supplier/")
    assert page.get_by_role("heading", level=1).inner_text() == "Harbour Lights Trading"
    assert "waiting for review" in page.content()
    membership = Membership.objects.select_related("supplier", "user").get(
        user__email="hana@harbour.example"
    )
    supplier = membership.supplier
    assert supplier.company_name == "Harbour Lights Trading"
    assert supplier.status == Supplier.Status.PENDING
    assert supplier.onboarding_step == Supplier.OnboardingStep.SUBMITTED
    assert (supplier.business_type, supplier.order_channel, supplier.order_email) == (
        "MANUFACTURER",
        "EMAIL",
        "orders@harbour.example",
    )
    assert list(ShippingRate.objects.values_list("carrier", "service")) == [
        ("Royal Mail", "Tracked 48")
    ]
    assert SupplierVerification.objects.get().document_name == "certificate.pdf"
    assert membership.role == "OWNER"
