"""Walking the whole URLconf (admin and API included) with each pattern's parameters filled from a
small world (a supplier, a retailer with a store, a listing and an order routed to the supplier),
so views get past their lookups: shared by the sweeps that send every route something."""

import re
from dataclasses import dataclass

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.urls import URLPattern, URLResolver, get_resolver

from dropship.accounts.services import create_api_key, notify
from messaging.models import Side
from messaging.services import post_message
from retailers.models import ImportListItem, PricingRule
from suppliers.models import Supplier
from tests import factories


def routes(patterns=None, prefix: str = "") -> list[str]:
    """Every URL pattern's route, e.g. "retailer/stores/<int:store_id>/test/"."""
    found = []
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            found += routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            found.append(prefix + str(pattern.pattern))
    return found


@dataclass
class World:
    values: dict[str, str]
    users: dict[str, object]


def build_world() -> World:
    """The rows every route's parameters point at, and a member of each side plus a superuser."""
    supplier_member = factories.SupplierMemberFactory(
        supplier__order_channel=Supplier.OrderChannel.WEBHOOK,
        supplier__webhook_secret="supplier-secret",
    )
    supplier = supplier_member.supplier
    retailer_member = factories.RetailerMemberFactory()
    retailer = retailer_member.retailer
    store = factories.StoreFactory(retailer=retailer)
    order = factories.OrderFactory(store=store)
    supplier_order = factories.make_supplier_order(supplier=supplier, order=order)
    item = supplier_order.items.first()
    variant = item.variant
    listing_variant = factories.ListingVariantFactory(
        listing__store=store, listing__product=variant.product, variant=variant
    )
    rule = PricingRule.objects.create(
        retailer=retailer, name="Double", method="MULTIPLIER", value=2, rounding="NONE"
    )
    ImportListItem.objects.create(retailer=retailer, product=variant.product)
    api_key, _ = create_api_key(organisation=retailer, name="CI", created_by=None)
    notification = notify(organisation=retailer, kind="sweep", message="Swept")
    message = post_message(supplier_order=supplier_order, side=Side.RETAILER, body="Swept")
    staff = factories.UserFactory(is_staff=True, is_superuser=True)
    values = {
        "supplier_order_id": supplier_order.pk,
        "order_id": order.pk,
        "item_id": item.pk,
        "product_id": variant.product_id,
        "variant_id": variant.pk,
        "sku": variant.sku,
        "listing_id": listing_variant.listing_id,
        "listing_variant_id": listing_variant.pk,
        "store_id": store.pk,
        "public_id": store.public_id,
        "rule_id": rule.pk,
        "api_key_id": api_key.pk,
        "notification_id": notification.pk,
        "thread_id": message.thread_id,
        "supplier_id": supplier.pk,
        "slug": supplier.slug,
        "step_slug": "profile",
        "number": supplier_order.number,
        "app_label": "suppliers",
        "content_type_id": ContentType.objects.get_for_model(Supplier).pk,
        "object_id": supplier.pk,
        "uidb36": "1",
    }
    users = {"retailer": retailer_member.user, "supplier": supplier_member.user, "staff": staff}
    return World(values={k: str(v) for k, v in values.items()}, users=users)


def fill_route(route: str, values: dict[str, str]) -> str:
    """The route with its parameters filled; an admin object is a row of that admin's model."""
    values = dict(values)
    admin_model = re.match(r"admin/(\w+)/(\w+)/<path:object_id>", route)
    if admin_model:
        model = apps.get_model(*admin_model.groups())
        row = model._default_manager.order_by("pk").first()
        values["object_id"] = str(row.pk) if row is not None else "1"
    route = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values.get(m.group(1), "1"), route)
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: values.get(m.group(1), "x"), route)
    return "/" + route.replace("^", "").replace("$", "")
