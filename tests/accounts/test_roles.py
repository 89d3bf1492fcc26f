"""The staff roles exist after migrate with exactly the permissions DESIGN.md gives them."""

from django.contrib.auth.models import Group, Permission

from dropship.accounts.roles import MARKETPLACE_APPS, PLATFORM_ADMIN, SUPPORT_AGENT


def codenames(group_name: str) -> set[str]:
    group = Group.objects.get(name=group_name)
    return {
        f"{app}.{codename}"
        for app, codename in group.permissions.values_list("content_type__app_label", "codename")
    }


def test_platform_admin_holds_every_marketplace_permission(db):
    every = {
        f"{app}.{codename}"
        for app, codename in Permission.objects.filter(
            content_type__app_label__in=MARKETPLACE_APPS
        ).values_list("content_type__app_label", "codename")
    }

    granted = codenames(PLATFORM_ADMIN)

    assert granted == every
    assert {
        "suppliers.review_supplier",
        "billing.change_feeschedule",
        "billing.refund_charge",
        "integrations.replay_webhook",
        "catalog.view_variant",
    } <= granted
    assert not any(p.startswith(("auth.", "sessions.", "admin.")) for p in granted)


def test_support_agent_views_everything_and_acts_only_on_orders_refunds_disputes_and_messages(db):
    granted = codenames(SUPPORT_AGENT)
    views = {
        f"{app}.{codename}"
        for app, codename in Permission.objects.filter(
            content_type__app_label__in=MARKETPLACE_APPS, codename__startswith="view_"
        ).values_list("content_type__app_label", "codename")
    }

    assert views <= granted
    assert granted - views == {
        "orders.change_order",
        "orders.change_supplierorder",
        "orders.change_orderitem",
        "orders.add_shipment",
        "orders.change_shipment",
        "orders.add_orderevent",
        "orders.add_returnrequest",
        "orders.change_returnrequest",
        "orders.add_dispute",
        "orders.change_dispute",
        "billing.refund_charge",
        "integrations.replay_webhook",
        "privacy.execute_shopper_request",
        "messaging.add_message",  # answer in a retailer-supplier conversation, shown as support
        "messaging.change_thread",  # close it
    }
    assert "suppliers.review_supplier" not in granted
    assert "billing.change_feeschedule" not in granted
    assert "suppliers.change_supplier" not in granted
