"""Fraud holds (issue 19, point 10): an order matching an enabled fraud rule is held before any
stock is charged to the retailer, shown with its reasons, released (routed once) or cancelled
(stock back) by the retailer; its reservation lapses after FRAUD_HOLD_RESERVATION_HOURS.
Rules are platform defaults that a retailer's own row replaces."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.models import Charge
from catalog.models import Variant
from dropship.accounts.models import Notification, Role
from integrations.shopify.mappers import order_from_webhook
from integrations.woocommerce.mappers import order_from_payload
from orders.models import FraudRule, Order, OrderItem, SupplierOrder
from orders.services.holds import (
    OrderReviewError,
    cancel_reviewed_order,
    lapse_held_reservations,
    release_review_hold,
)
from orders.services.intake import receive_store_order
from tests import factories
from tests.mfa import login_with_second_factor
from tests.orders.pipeline import make_offer, numeric, shopify_order, terms_store, woo_order
from tests.orders.store_events import shopify_shop

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]
Kind = FraudRule.Kind


def _platform_rule(kind: str, **values) -> FraudRule:
    rule, _ = FraudRule.objects.update_or_create(
        retailer=None, kind=kind, defaults={"is_enabled": True, **values}
    )
    return rule


def _receive(store, offer, *, quantity=1, total="409.94", email=None, address1=None, **extra):
    payload = shopify_order(
        lines=[(numeric(offer.store_variant_id), offer.variant.sku, quantity)], **extra
    )
    payload["total_price"] = total
    if email is not None:
        payload["email"] = payload["customer"]["email"] = email
    if address1 is not None:
        payload["shipping_address"]["address1"] = address1
    return receive_store_order(store=store, data=order_from_webhook(payload)).order


def _reserved(offer) -> int:
    return Variant.objects.get(pk=offer.variant_id).stock_reserved


@pytest.fixture
def store():
    return terms_store(connected_at=timezone.now() - timedelta(days=90))


@pytest.fixture
def offer(store):
    return make_offer(store=store, stock=10)


def _assert_held(order: Order, offer, *, reason: str, quantity: int = 1) -> None:
    order.refresh_from_db()
    assert (order.status, order.is_held_for_review) == (Order.Status.HELD_FOR_REVIEW, True)
    assert order.review_reasons == reason
    assert order.held_since is not None
    assert list(order.items.values_list("status", flat=True)) == [OrderItem.Status.RESERVED]
    assert _reserved(offer) == quantity
    assert not SupplierOrder.objects.filter(order=order).exists()
    assert not Charge.objects.filter(supplier_order__order=order).exists()
    [note] = Notification.objects.filter(retailer=order.retailer, kind="orders.held_for_review")
    assert note.message.startswith(f"Order {order.number} is held for your review: {reason}")


def _assert_routed(order: Order) -> None:
    order.refresh_from_db()
    assert (order.status, order.is_held_for_review) == (Order.Status.CONFIRMED, False)
    supplier_order = SupplierOrder.objects.get(order=order)
    assert supplier_order.status == SupplierOrder.Status.SENT
    assert Charge.objects.filter(supplier_order=supplier_order).count() == 1


# --- each rule, both ways -----------------------------------------------------------------------
def test_order_over_the_value_threshold_is_held_before_anything_is_charged(store, offer):
    _platform_rule(Kind.ORDER_VALUE, amount=Decimal("400.00"))

    order = _receive(store, offer, total="409.94")

    _assert_held(
        order, offer, reason="Order value 409.94 USD is over the review threshold of 400.00 USD."
    )


def test_order_at_or_under_the_value_threshold_routes(store, offer):
    _platform_rule(Kind.ORDER_VALUE, amount=Decimal("409.94"))

    _assert_routed(_receive(store, offer, total="409.94"))


def test_third_order_to_one_address_within_the_window_is_held(store, offer):
    _platform_rule(Kind.ADDRESS_VELOCITY, max_orders=2, window_hours=24)
    # Different shoppers, one address typed differently (case, spaces): the same address.
    first = _receive(store, offer, email="a@example.com", address1="Chestnut Street 92")
    second = _receive(store, offer, email="b@example.com", address1="chestnut  STREET 92")
    third = _receive(store, offer, email="c@example.com", address1="Chestnut Street 92 ")

    _assert_routed(first)
    _assert_routed(second)
    _assert_held(
        third,
        offer,
        reason="3 orders to this shipping address within 24 hours (review above 2).",
        quantity=3,  # the two routed orders' units stay reserved for their supplier orders
    )


def test_orders_to_one_address_outside_the_window_or_to_other_addresses_route(store, offer):
    _platform_rule(Kind.ADDRESS_VELOCITY, max_orders=1, window_hours=24)
    old = _receive(store, offer, address1="Chestnut Street 92")
    Order.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=25))
    elsewhere = _receive(store, offer, address1="Oak Avenue 1")

    _assert_routed(_receive(store, offer, address1="Chestnut Street 92"))
    _assert_routed(elsewhere)


def test_third_order_from_one_shopper_within_the_window_is_held(store, offer):
    _platform_rule(Kind.SHOPPER_VELOCITY, max_orders=2, window_hours=1)
    _receive(store, offer, email="Eve@Example.com", address1="A street 1")
    _receive(store, offer, email="eve@example.com", address1="B street 2")

    third = _receive(store, offer, email=" EVE@example.com", address1="C street 3")

    _assert_held(
        third,
        offer,
        reason="3 orders from this shopper within 1 hours (review above 2).",
        quantity=3,
    )


def test_orders_from_different_shoppers_route(store, offer):
    _platform_rule(Kind.SHOPPER_VELOCITY, max_orders=1, window_hours=24)
    _receive(store, offer, email="one@example.com")

    _assert_routed(_receive(store, offer, email="two@example.com"))


def test_large_order_in_a_store_connected_recently_is_held(offer, store):
    store.connected_at = timezone.now() - timedelta(hours=2)
    store.save(update_fields=["connected_at"])
    _platform_rule(Kind.NEW_STORE, amount=Decimal("100.00"), window_hours=168)

    order = _receive(store, offer, total="409.94")

    _assert_held(
        order,
        offer,
        reason=f"409.94 USD in {store.name}, connected less than 168 hours ago "
        "(review above 100.00 USD).",
    )


def test_large_order_in_an_established_store_routes(store, offer):
    _platform_rule(Kind.NEW_STORE, amount=Decimal("100.00"), window_hours=168)

    _assert_routed(_receive(store, offer, total="409.94"))


def test_shopify_order_billed_in_another_country_than_it_ships_to_is_held(
    client, django_capture_on_commit_callbacks, shopify_sandbox
):
    _platform_rule(Kind.COUNTRY_MISMATCH)
    shop = shopify_shop(shopify_sandbox, retailer=factories.RetailerFactory(has_payment_terms=True))
    shop.app.create_order(
        shop.store.domain,
        lines=[{"sku": "TOWEL-1", "quantity": 1}],
        billing_address={"country": "Canada", "country_code": "CA"},
    )
    shop.app.create_order(shop.store.domain, lines=[{"sku": "TOWEL-1", "quantity": 1}])

    assert shop.replay(client, django_capture_on_commit_callbacks) == [200, 200]

    billed_abroad, billed_at_home = Order.objects.filter(store=shop.store).order_by("pk")
    assert billed_abroad.billing_country == "CA"
    _assert_held(
        billed_abroad,
        shop.offers["TOWEL-1"],
        reason="Billing country CA differs from shipping country US.",
        quantity=2,  # the second order's unit is reserved and routed
    )
    assert billed_at_home.billing_country == "US"
    _assert_routed(billed_at_home)


def test_woocommerce_billing_country_is_read_for_the_country_check(store, offer):
    _platform_rule(Kind.COUNTRY_MISMATCH)
    payload = woo_order(order_id=501, lines=[(1, 2, offer.variant.sku, 1)])
    payload["billing"]["country"] = "DE"

    order = receive_store_order(store=store, data=order_from_payload(payload)).order

    assert order.billing_country == "DE"
    _assert_held(
        order,
        offer,
        reason=f"Billing country DE differs from shipping country {order.shipping_country}.",
    )


def test_matching_several_rules_lists_every_reason(store, offer):
    _platform_rule(Kind.ORDER_VALUE, amount=Decimal("1.00"))
    _platform_rule(Kind.SHOPPER_VELOCITY, max_orders=1, window_hours=24)
    _assert_routed(_receive(store, offer, email="x@example.com", total="0.50"))

    order = _receive(store, offer, email="x@example.com", total="5.00")

    _assert_held(
        order,
        offer,
        reason="Order value 5.00 USD is over the review threshold of 1.00 USD. "
        "2 orders from this shopper within 24 hours (review above 1).",
        quantity=2,
    )


def test_disabled_platform_defaults_hold_nothing(store, offer):
    assert FraudRule.objects.filter(retailer=None).count() == 5  # the data migration's rows
    assert not FraudRule.objects.filter(is_enabled=True).exists()

    _assert_routed(_receive(store, offer, total="99999.00"))


# --- per-retailer override ---------------------------------------------------------------------
def test_retailer_rule_beats_the_platform_default(store, offer):
    _platform_rule(Kind.ORDER_VALUE, amount=Decimal("100.00"))
    FraudRule.objects.create(
        retailer=store.retailer, kind=Kind.ORDER_VALUE, is_enabled=True, amount=Decimal("1000")
    )
    other_store = terms_store(connected_at=timezone.now() - timedelta(days=90))
    other_offer = make_offer(store=other_store)

    _assert_routed(_receive(store, offer, total="409.94"))
    _assert_held(
        _receive(other_store, other_offer, total="409.94"),
        other_offer,
        reason="Order value 409.94 USD is over the review threshold of 100.00 USD.",
    )


def test_retailer_can_switch_a_platform_check_off(store, offer):
    _platform_rule(Kind.ORDER_VALUE, amount=Decimal("100.00"))
    FraudRule.objects.create(retailer=store.retailer, kind=Kind.ORDER_VALUE, is_enabled=False)

    _assert_routed(_receive(store, offer, total="409.94"))


# --- release, cancel, lapse ---------------------------------------------------------------------
@pytest.fixture
def held(store, offer):
    _platform_rule(Kind.ORDER_VALUE, amount=Decimal("100.00"))
    return _receive(store, offer, quantity=2)


def test_released_order_routes_once_with_its_reservation(held, offer):
    supplier_orders = release_review_hold(order=held)

    assert len(supplier_orders) == 1
    _assert_routed(held)
    assert held.held_since is None
    assert _reserved(offer) == 2  # the hold's reservation is the one routed
    assert list(held.events.filter(kind__in=["reviewed", "released"]).values_list("message")) == [
        (
            "Reviewed and released. It was held for: Order value 409.94 USD is over the review "
            "threshold of 100.00 USD.",
        ),
        (f"Order {held.number} released: 1 line go to the supplier.",),
    ]
    with pytest.raises(OrderReviewError, match="is not held for review"):
        release_review_hold(order=held)
    assert SupplierOrder.objects.filter(order=held).count() == 1
    assert Charge.objects.count() == 1


def test_retailer_releases_from_the_order_page(client, held):
    member = factories.RetailerMemberFactory(retailer=held.retailer, role=Role.STAFF)
    client.force_login(member.user)
    page = client.get(reverse("orders:retailer_detail", args=[held.pk]))
    assert page.status_code == 200
    assert "Held for your review" in page.text
    assert "over the review threshold of 100.00 USD" in page.text

    response = client.post(reverse("orders:retailer_review_release", args=[held.pk]))

    assert response.status_code == 302
    _assert_routed(held)
    again = client.post(reverse("orders:retailer_review_release", args=[held.pk]), follow=True)
    assert "is not held for review" in again.text
    assert SupplierOrder.objects.filter(order=held).count() == 1


def test_cancelled_held_order_gives_its_stock_back(client, held, offer):
    member = factories.RetailerMemberFactory(retailer=held.retailer)
    client.force_login(member.user)

    response = client.post(
        reverse("orders:retailer_review_cancel", args=[held.pk]), {"reason": "Stolen card"}
    )

    assert response.status_code == 302
    held.refresh_from_db()
    assert (held.status, held.is_held_for_review, held.held_since) == (
        Order.Status.CANCELLED,
        False,
        None,
    )
    assert held.cancelled_at is not None
    assert _reserved(offer) == 0
    assert list(held.items.values_list("status", "status_reason")) == [
        (OrderItem.Status.CANCELLED, "Stolen card")
    ]
    assert held.events.filter(
        kind="cancelled", message__startswith=f"Order {held.number} cancelled by the retailer"
    ).exists()
    assert not SupplierOrder.objects.exists()
    with pytest.raises(OrderReviewError, match="is cancelled"):
        release_review_hold(order=held)


def test_retailer_cannot_release_or_cancel_another_retailers_order(retailer_client, held, offer):
    for name in ("orders:retailer_review_release", "orders:retailer_review_cancel"):
        assert retailer_client.post(reverse(name, args=[held.pk])).status_code == 404
    held.refresh_from_db()
    assert (held.status, held.is_held_for_review) == (Order.Status.HELD_FOR_REVIEW, True)
    assert _reserved(offer) == 2
    assert not SupplierOrder.objects.exists()


def test_held_reservation_lapses_after_the_configured_hours_and_is_taken_again_on_release(
    settings, held, offer
):
    settings.FRAUD_HOLD_RESERVATION_HOURS = 24
    assert lapse_held_reservations(now=timezone.now() + timedelta(hours=23)) == 0
    assert _reserved(offer) == 2

    assert lapse_held_reservations(now=timezone.now() + timedelta(hours=25)) == 1

    assert _reserved(offer) == 0
    assert list(held.items.values_list("status", flat=True)) == [OrderItem.Status.HELD]
    assert held.events.filter(message__startswith="Still held after 24 hours").count() == 1
    assert lapse_held_reservations(now=timezone.now() + timedelta(hours=30)) == 0  # once
    release_review_hold(order=held)
    _assert_routed(held)
    assert _reserved(offer) == 2


def test_review_hold_on_an_unpaid_order_keeps_waiting_for_payment_after_release(store, offer):
    _platform_rule(Kind.ORDER_VALUE, amount=Decimal("100.00"))
    order = _receive(store, offer, financial_status="pending")
    order.refresh_from_db()
    assert order.status == Order.Status.HELD_FOR_REVIEW

    assert release_review_hold(order=order) == []

    order.refresh_from_db()
    assert (order.status, order.is_awaiting_payment) == (Order.Status.AWAITING_PAYMENT, True)
    assert not SupplierOrder.objects.exists()


def test_cancel_of_an_order_not_held_is_refused_and_changes_nothing(store, offer):
    order = _receive(store, offer)

    with pytest.raises(OrderReviewError, match="nothing to cancel"):
        cancel_reviewed_order(order=order)

    _assert_routed(order)


# --- settings page -----------------------------------------------------------------------------
def test_owner_sets_own_rule_and_goes_back_to_the_default(client, store):
    owner = factories.RetailerMemberFactory(retailer=store.retailer)
    client.force_login(owner.user)
    url = reverse("orders:retailer_fraud_rules")
    assert client.get(url).status_code == 200

    client.post(
        url,
        {"kind": "ADDRESS_VELOCITY", "mode": "on", "max_orders": "4", "window_hours": "12"},
    )

    rule = FraudRule.objects.get(retailer=store.retailer)
    assert (rule.kind, rule.is_enabled, rule.max_orders, rule.window_hours, rule.amount) == (
        Kind.ADDRESS_VELOCITY,
        True,
        4,
        12,
        None,
    )
    assert "More than 4 orders within 12 hours" in client.get(url).text
    client.post(url, {"kind": "ADDRESS_VELOCITY", "mode": "default"})
    assert not FraudRule.objects.filter(retailer=store.retailer).exists()


def test_bad_rule_input_names_the_field_and_writes_nothing(client, store):
    owner = factories.RetailerMemberFactory(retailer=store.retailer)
    client.force_login(owner.user)
    url = reverse("orders:retailer_fraud_rules")

    response = client.post(
        url, {"kind": "ORDER_VALUE", "mode": "on", "amount": "lots"}, follow=True
    )
    assert "“lots” is not an amount." in response.text
    response = client.post(
        url,
        {"kind": "SHOPPER_VELOCITY", "mode": "on", "max_orders": "0", "window_hours": "1"},
        follow=True,
    )
    assert "The number of orders must be a whole number from 1 to 10000." in response.text
    response = client.post(url, {"kind": "NOPE", "mode": "on"}, follow=True)
    assert "“NOPE” is not a fraud check." in response.text
    assert not FraudRule.objects.filter(retailer=store.retailer).exists()


def test_staff_member_sees_the_checks_but_cannot_change_them(client, store):
    member = factories.RetailerMemberFactory(retailer=store.retailer, role=Role.STAFF)
    client.force_login(member.user)
    url = reverse("orders:retailer_fraud_rules")

    assert "Only an owner of your organisation can change these." in client.get(url).text
    response = client.post(url, {"kind": "ORDER_VALUE", "mode": "off"})

    assert response.status_code == 403
    assert not FraudRule.objects.filter(retailer=store.retailer).exists()


# --- platform defaults in the admin -------------------------------------------------------------
def _platform_admin_client(client):
    from django.contrib.auth.models import Group

    from dropship.accounts.roles import PLATFORM_ADMIN

    user = factories.UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name=PLATFORM_ADMIN))
    login_with_second_factor(client, user)  # staff reach the admin only with a second factor
    return client


def test_platform_admin_turns_a_default_on_in_the_admin(client, store, offer):
    rule = FraudRule.objects.get(retailer=None, kind=Kind.SHOPPER_VELOCITY)
    url = reverse("admin:orders_fraudrule_change", args=[rule.pk])
    admin = _platform_admin_client(client)

    refused = admin.post(
        url, {"kind": rule.kind, "is_enabled": "on", "window_hours": "24", "max_orders": ""}
    )
    assert refused.status_code == 200
    assert "An enabled velocity check needs a number of orders (at least 1)." in refused.text
    rule.refresh_from_db()
    assert rule.is_enabled is False

    saved = admin.post(
        url, {"kind": rule.kind, "is_enabled": "on", "window_hours": "24", "max_orders": "1"}
    )
    assert saved.status_code == 302
    _receive(store, offer, email="same@example.com")
    _assert_held(
        _receive(store, offer, email="same@example.com"),
        offer,
        reason="2 orders from this shopper within 24 hours (review above 1).",
        quantity=2,
    )
