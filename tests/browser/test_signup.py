import pytest

from dropship.accounts.models import Membership
from suppliers.models import Supplier

pytestmark = pytest.mark.django_db(transaction=True)


def test_new_supplier_signs_up_through_the_pages_and_reaches_the_supplier_dashboard(page):
    page.goto("/")
    page.get_by_role("link", name="Sign up").click()

    page.get_by_label("Supplier").check()
    page.get_by_label("Company name").fill("Harbour Lights Trading")
    page.get_by_label("Your name").fill("Hana Harbour")
    page.get_by_label("Email").fill("hana@harbour.example")
    page.get_by_label("Password", exact=True).fill("a-long-and-unusual-passphrase")
    page.get_by_label("Password (again)").fill("a-long-and-unusual-passphrase")
    page.get_by_role("button", name="Create account").click()

    page.wait_for_url("**/supplier/**")
    assert page.get_by_role("heading", level=1).inner_text() == "Harbour Lights Trading"
    assert "waiting for review" in page.content()
    membership = Membership.objects.select_related("supplier", "user").get(
        user__email="hana@harbour.example"
    )
    assert membership.supplier.company_name == "Harbour Lights Trading"
    assert membership.supplier.status == Supplier.Status.PENDING
    assert membership.role == "OWNER"
