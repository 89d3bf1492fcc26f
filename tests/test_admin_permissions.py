"""The two staff roles in the admin: what a support agent may and may not do."""

from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse

from billing.models import FeeSchedule
from dropship.accounts.models import User
from dropship.accounts.roles import PLATFORM_ADMIN, SUPPORT_AGENT
from suppliers.models import Supplier, SupplierStatusChange
from tests import factories
from tests.mfa import login_with_second_factor

staff_in = factories.staff_in_group


@pytest.fixture
def support_client(client, db):
    login_with_second_factor(client, staff_in(SUPPORT_AGENT, "sam@support.test"))
    return client


@pytest.fixture
def pending_supplier(db):
    return factories.SupplierMemberFactory(supplier__status=Supplier.Status.PENDING).supplier


def fee_schedule_form(fee: FeeSchedule, **changes) -> dict:
    data = {
        "plan": fee.plan,
        "monthly_price": str(fee.monthly_price),
        "order_fee": str(fee.order_fee),
        "commission_percent": str(fee.commission_percent),
        "monthly_order_limit": fee.monthly_order_limit or "",
        "supplier_limit": fee.supplier_limit or "",
        "store_limit": fee.store_limit or "",
        "overage_order_fee": str(fee.overage_order_fee),
        "trial_days": fee.trial_days,
        "currency": fee.currency,
    }
    return {**data, **changes}


def test_support_agent_can_read_a_fee_schedule_but_changing_it_is_forbidden(support_client):
    fee = FeeSchedule.objects.order_by("pk").first()
    before = fee.order_fee
    url = reverse("admin:billing_feeschedule_change", args=[fee.pk])

    page = support_client.get(url)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()

    response = support_client.post(url, fee_schedule_form(fee, order_fee="0.01"))

    assert response.status_code == 403
    fee.refresh_from_db()
    assert fee.order_fee == before


def test_platform_admin_changes_a_fee_schedule(client, db):
    login_with_second_factor(client, staff_in(PLATFORM_ADMIN, "ada@platform.test"))
    fee = FeeSchedule.objects.order_by("pk").first()
    url = reverse("admin:billing_feeschedule_change", args=[fee.pk])

    response = client.post(url, fee_schedule_form(fee, order_fee="1.75"))

    assert response.status_code == 302
    fee.refresh_from_db()
    assert fee.order_fee == Decimal("1.75")


def test_support_agent_sees_no_review_buttons_or_actions(support_client, pending_supplier):
    change = support_client.get(
        reverse("admin:suppliers_supplier_change", args=[pending_supplier.pk])
    )
    assert change.status_code == 200
    assert "/review/" not in change.content.decode()

    changelist = support_client.get(reverse("admin:suppliers_supplier_changelist"))
    assert changelist.status_code == 200
    assert changelist.context["action_form"] is None  # no review actions (and no delete)
    assert "approve_selected" not in changelist.content.decode()


@pytest.mark.parametrize("method", ["get", "post"])
def test_support_agent_cannot_approve_through_the_review_page(
    support_client, pending_supplier, method, django_capture_on_commit_callbacks
):
    url = reverse("admin:suppliers_supplier_review", args=[pending_supplier.pk, "approve"])

    with django_capture_on_commit_callbacks(execute=True):
        response = getattr(support_client, method)(url)

    assert response.status_code == 403
    pending_supplier.refresh_from_db()
    assert pending_supplier.status == Supplier.Status.PENDING
    assert SupplierStatusChange.objects.count() == 0
    assert mail.outbox == []


def test_support_agent_posting_the_approve_action_changes_nothing(
    support_client, pending_supplier, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = support_client.post(
            reverse("admin:suppliers_supplier_changelist"),
            {"action": "approve_selected", "_selected_action": [pending_supplier.pk], "index": 0},
        )

    # The support agent has no actions at all: the POST only re-renders the list.
    assert response.status_code == 200
    assert response.context["action_form"] is None
    pending_supplier.refresh_from_db()
    assert pending_supplier.status == Supplier.Status.PENDING
    assert SupplierStatusChange.objects.count() == 0
    assert mail.outbox == []


def test_staff_without_a_role_cannot_open_marketplace_pages(client, db):
    login_with_second_factor(client, factories.UserFactory(is_staff=True))

    assert client.get(reverse("admin:suppliers_supplier_changelist")).status_code == 403
    assert client.get(reverse("admin:orders_order_changelist")).status_code == 403


def test_admin_creates_users_by_lower_case_email_and_refuses_a_taken_one(admin_client):
    url = reverse("admin:accounts_user_add")
    form = {
        "usable_password": "true",
        "password1": "plum-orchard-lantern-42",
        "password2": "plum-orchard-lantern-42",
        "membership-TOTAL_FORMS": "0",
        "membership-INITIAL_FORMS": "0",
    }

    created = admin_client.post(url, {**form, "email": "New.Agent@Example.com"})
    assert created.status_code == 302
    assert User.objects.filter(email="new.agent@example.com").count() == 1

    taken = admin_client.post(url, {**form, "email": "NEW.AGENT@example.com"})
    assert taken.status_code == 200
    assert taken.context["adminform"].form.errors["email"] == [
        "A user with this email address already exists."
    ]
    assert User.objects.filter(email__iexact="new.agent@example.com").count() == 1
