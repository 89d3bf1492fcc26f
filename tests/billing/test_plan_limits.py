"""The limits of a plan where they bite: the monthly routed orders (soft: routed, warned at 80 %
and 100 % once a month, overage billed per order), connected stores and suppliers used (hard:
a clear message with an upgrade link, on pages and the API), a read-only account, a suspended
retailer's held orders, and the supplier's minimum order value."""

from decimal import Decimal as D

import pytest
from django.core import mail

from billing.models import FeeSchedule, PlanUsage
from dropship.accounts.models import Notification
from orders.models import Order, OrderItem, SupplierOrder
from orders.services.holds import release_account_holds
from orders.services.timeline import EventKind
from retailers.models import Listing, StoreImportJob
from retailers.plan_limits import PlanLimitReached, check_can_connect_store
from retailers.services.importing import start_store_imports
from retailers.services.suspension import set_retailer_suspension
from tests import factories
from tests.orders.pipeline import make_offer, make_supplier, terms_store
from tests.orders.test_api import _auth, _order

pytestmark = pytest.mark.django_db


def _body(offer, number: str, quantity: int = 1) -> dict:
    line = {
        "store_line_id": "L1",
        "sku": offer.variant.sku,
        "title": "Widget",
        "unit_price": "24.99",
    }
    return _order(
        offer, store_order_id=number, number=number, lines=[{**line, "quantity": quantity}]
    )


@pytest.fixture
def custom_store():
    return terms_store(platform="CUSTOM", domain="shop.custom.example")


def _post_order(client, offer, headers, number, quantity=1):
    answer = client.post(
        "/api/v1/orders",
        _body(offer, number, quantity),
        content_type="application/json",
        **headers,
    )
    assert answer.status_code == 201, answer.content
    return Order.objects.get(pk=answer.json()["id"])


# --- monthly routed orders (soft) ----------------------------------------------------------------
@pytest.mark.embedded
def test_orders_under_at_and_over_the_monthly_limit_are_all_routed_warned_once_and_overage_billed(
    client, custom_store, django_capture_on_commit_callbacks
):
    FeeSchedule.objects.filter(plan="BASIC").update(
        monthly_order_limit=5, overage_order_fee=D("0.50"), order_fee=D("2.00")
    )
    retailer = custom_store.retailer
    offer = make_offer(store=custom_store, stock=100)
    headers = _auth(retailer)

    def warnings():
        return list(
            Notification.objects.filter(retailer=retailer, kind="billing.order_limit")
            .order_by("pk")
            .values_list("message", flat=True)
        )

    def limit_mails():
        return [m.subject for m in mail.outbox if "order limit" in m.subject]

    with django_capture_on_commit_callbacks(execute=True):
        for number in ("A-1", "A-2", "A-3"):  # 60 %: nothing said
            _post_order(client, offer, headers, number)
    assert warnings() == []

    with django_capture_on_commit_callbacks(execute=True):
        _post_order(client, offer, headers, "A-4")  # 80 %, just under the limit
    assert warnings() == [
        "You have routed 4 of the 5 orders your plan includes this month (80 %). Upgrade before "
        "you reach the limit to avoid overage fees."
    ]
    assert limit_mails() == ["You are close to your monthly order limit"]

    with django_capture_on_commit_callbacks(execute=True):
        at_limit = _post_order(client, offer, headers, "A-5")  # at the limit
    assert len(warnings()) == 2
    assert warnings()[1].startswith("You have routed 5 orders this month: your plan's limit of 5.")
    assert SupplierOrder.objects.get(order=at_limit).platform_fee == D("2.00")

    with django_capture_on_commit_callbacks(execute=True):
        over = [_post_order(client, offer, headers, n) for n in ("A-6", "A-7")]  # over it
    assert len(warnings()) == 2  # each warning once a month
    assert limit_mails() == [
        "You are close to your monthly order limit",
        "You reached your monthly order limit",
    ]
    for order in over:  # never refused: routed, sent, the overage on the fee
        supplier_order = SupplierOrder.objects.get(order=order)
        assert (supplier_order.status, supplier_order.platform_fee) == ("SENT", D("2.50"))
    usage = PlanUsage.objects.get(retailer=retailer)
    assert (usage.routed_orders, usage.overage_orders) == (7, 2)


def test_an_unlimited_plan_counts_orders_without_warnings_or_overage(client, custom_store):
    custom_store.retailer.plan = "ENTERPRISE"
    custom_store.retailer.save(update_fields=["plan"])
    offer = make_offer(store=custom_store, stock=10)
    headers = _auth(custom_store.retailer)
    order = _post_order(client, offer, headers, "E-1")

    assert PlanUsage.objects.get(retailer=custom_store.retailer).routed_orders == 1
    assert SupplierOrder.objects.get(order=order).platform_fee == D("1.00")
    assert not Notification.objects.filter(kind="billing.order_limit").exists()


# --- connected stores (hard) ---------------------------------------------------------------------
def test_connected_stores_under_and_at_the_limit_pass_and_over_it_is_refused_with_an_upgrade_link():
    FeeSchedule.objects.filter(plan="BASIC").update(store_limit=2)
    retailer = factories.RetailerFactory()
    check_can_connect_store(retailer=retailer)  # 0 of 2
    factories.StoreFactory(retailer=retailer)
    check_can_connect_store(retailer=retailer)  # 1 of 2: just under
    factories.StoreFactory(retailer=retailer, status="DISCONNECTED")  # does not count
    factories.StoreFactory(retailer=retailer)  # 2 of 2: at the limit

    with pytest.raises(PlanLimitReached) as refused:
        check_can_connect_store(retailer=retailer)
    assert refused.value.message == (
        "Your Starter plan allows 2 connected stores and you have 2. Upgrade your plan "
        "(/pricing/) or disconnect a store first."
    )


def test_the_store_page_shows_the_store_limit_and_connects_nothing(client):
    member = factories.RetailerMemberFactory()
    factories.StoreFactory(retailer=member.retailer)  # Starter allows 1
    client.force_login(member.user)

    answer = client.post(
        "/retailer/stores/shopify/connect/", {"shop": "another-shop.myshopify.com"}, follow=True
    )

    assert "Your Starter plan allows 1 connected store and you have 1." in answer.content.decode()
    assert member.retailer.stores.count() == 1


# --- suppliers used (hard) -----------------------------------------------------------------------
def _listed(retailer, count):
    store = factories.StoreFactory(retailer=retailer)
    for _ in range(count):
        factories.ListingFactory(store=store, product=factories.ProductFactory())
    return store


def test_suppliers_under_and_at_the_limit_import_and_one_over_is_refused(client):
    FeeSchedule.objects.filter(plan="BASIC").update(supplier_limit=3)
    member = factories.RetailerMemberFactory()
    retailer = member.retailer
    store = _listed(retailer, 2)
    known = Listing.objects.filter(store=store).first().product.supplier
    again = factories.ProductFactory(supplier=known)
    third = factories.ProductFactory()
    fourth = factories.ProductFactory()

    start_store_imports(retailer=retailer, stores=[store], product_ids=[again.pk])  # same: ok
    start_store_imports(retailer=retailer, stores=[store], product_ids=[third.pk])  # 3 of 3
    factories.ListingFactory(store=store, product=third)
    jobs = StoreImportJob.objects.count()

    with pytest.raises(PlanLimitReached) as refused:
        start_store_imports(retailer=retailer, stores=[store], product_ids=[fourth.pk])
    assert refused.value.message == (
        "Your Starter plan allows products of 3 suppliers and you list 3; these products would "
        "add 1 more. Upgrade your plan (/pricing/) or import from suppliers you already use."
    )
    assert StoreImportJob.objects.count() == jobs

    answer = client.post(
        "/api/v1/products/import",
        {"store_id": store.pk, "product_ids": [fourth.pk]},
        content_type="application/json",
        **_auth(retailer),
    )
    assert answer.status_code == 403
    assert "allows products of 3 suppliers" in answer.json()["detail"]
    assert StoreImportJob.objects.count() == jobs


# --- read-only mode ------------------------------------------------------------------------------
def test_a_read_only_account_refuses_changes_with_the_reason_but_takes_new_orders(
    client, custom_store
):
    retailer = custom_store.retailer
    retailer.read_only_reason = "Your plan's payment is overdue since 01 Dec 2026."
    retailer.save(update_fields=["read_only_reason"])
    member = factories.RetailerMemberFactory(retailer=retailer)
    client.force_login(member.user)
    offer = make_offer(store=custom_store, stock=5)

    page = client.post("/retailer/pricing/new/", {"name": "x"})
    assert page.status_code == 403
    assert "Your plan&#x27;s payment is overdue since 01 Dec 2026." in page.content.decode()
    banner = client.get("/retailer/billing/")
    assert "Read-only: Your plan&#x27;s payment is overdue" in banner.content.decode()

    api = client.post(
        "/api/v1/products/import",
        {"store_id": custom_store.pk, "product_ids": [offer.listing.product_id]},
        content_type="application/json",
        **_auth(retailer),
    )
    assert api.status_code == 403
    assert api.json()["detail"] == "Your plan's payment is overdue since 01 Dec 2026."

    order = _post_order(client, offer, _auth(retailer), "R-1")  # orders keep flowing
    assert SupplierOrder.objects.get(order=order).status == "SENT"


# --- suspended retailers -------------------------------------------------------------------------
@pytest.mark.embedded
def test_a_suspended_retailers_order_is_held_and_routed_when_it_is_active_again(
    client, custom_store, django_capture_on_commit_callbacks
):
    retailer = custom_store.retailer
    set_retailer_suspension(retailer=retailer, suspended=True, reason="unpaid chargebacks")
    offer = make_offer(store=custom_store, stock=5)

    order = _post_order(client, offer, _auth(retailer), "S-1", quantity=2)

    assert (order.status, order.is_held_for_account) == ("ON_HOLD", True)
    assert not SupplierOrder.objects.filter(order=order).exists()
    assert list(order.items.values_list("status", flat=True)) == ["RESERVED"]
    notice = Notification.objects.get(retailer=retailer, kind="orders.held_for_account")
    assert "held because your account is suspended" in notice.message
    held = order.events.filter(kind=EventKind.HELD).get().message
    assert "because your account is suspended (unpaid chargebacks)" in held
    assert release_account_holds(retailer_id=retailer.pk) == 0  # still suspended

    with django_capture_on_commit_callbacks(execute=True):
        set_retailer_suspension(retailer=retailer, suspended=False)

    order.refresh_from_db()
    assert (order.status, order.is_held_for_account, order.held_since) == ("CONFIRMED", False, None)
    assert SupplierOrder.objects.get(order=order).status == "SENT"
    assert release_account_holds(retailer_id=retailer.pk) == 0  # safe to run twice


# --- the supplier's minimum order value ----------------------------------------------------------
@pytest.mark.parametrize(
    ("quantity", "routed"),
    [(4, False), (5, True), (6, True)],  # 10.00 each: under, at and over a 50.00 minimum
)
def test_the_suppliers_minimum_order_value_is_checked_at_routing(
    client, custom_store, quantity, routed
):
    supplier = make_supplier(min_order_value=D("50.00"))
    offer = make_offer(store=custom_store, supplier=supplier, stock=10)

    order = _post_order(client, offer, _auth(custom_store.retailer), f"M-{quantity}", quantity)

    item = order.items.get()
    if routed:
        assert (item.status, order.status) == ("RESERVED", "CONFIRMED")
        assert SupplierOrder.objects.filter(order=order).count() == 1
    else:
        assert (item.status, order.status) == (OrderItem.Status.EXCEPTION, "EXCEPTION")
        assert item.status_reason == (
            f"Below {supplier.company_name}'s minimum order of 50.00 USD: these lines come to "
            "40.00 USD at wholesale. Substitute them or cancel them."
        )
        assert not SupplierOrder.objects.filter(order=order).exists()
        assert offer.variant.__class__.objects.get(pk=offer.variant_id).stock_reserved == 0
