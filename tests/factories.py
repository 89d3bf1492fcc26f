"""factory_boy factories for the domain. Tests build rows through these, never by hand."""

from decimal import Decimal

import factory
from django.contrib.auth.models import Group
from django.utils import timezone

from catalog.models import Category, Product, Variant
from dropship.accounts.models import Membership, Role, User
from orders.models import Order, OrderItem, SupplierOrder
from retailers.models import Listing, ListingVariant, Retailer, Store
from suppliers.models import ShippingRate, Supplier

DEFAULT_PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


def staff_in_group(group_name: str, email: str) -> User:
    """A staff user in one of the role groups (dropship/accounts/roles.py)."""
    user = UserFactory(email=email, is_staff=True)
    user.groups.add(Group.objects.get(name=group_name))
    return user


class SupplierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Supplier

    company_name = factory.Sequence(lambda n: f"Supplier {n} Ltd")
    slug = factory.Sequence(lambda n: f"supplier-{n}")
    business_type = Supplier.BusinessType.WHOLESALER
    status = Supplier.Status.ACTIVE
    contact_email = factory.Sequence(lambda n: f"supplier{n}@example.com")
    ship_from_country = "US"


class RetailerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Retailer

    business_name = factory.Sequence(lambda n: f"Retailer {n}")
    slug = factory.Sequence(lambda n: f"retailer-{n}")
    contact_email = factory.Sequence(lambda n: f"retailer{n}@example.com")


class SupplierMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    supplier = factory.SubFactory(SupplierFactory)
    role = Role.OWNER


class RetailerMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    retailer = factory.SubFactory(RetailerFactory)
    role = Role.OWNER


class ShippingRateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ShippingRate

    supplier = factory.SubFactory(SupplierFactory)
    carrier = "UPS"
    service = "Ground"
    shipping_class = "standard"
    zone = ShippingRate.Zone.DOMESTIC
    price = Decimal("5.00")
    additional_item_price = Decimal("1.00")


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    supplier = factory.SubFactory(SupplierFactory)
    handle = factory.Sequence(lambda n: f"product-{n}")
    title = factory.Sequence(lambda n: f"Product {n}")
    description = "A useful product."
    status = Product.Status.ACTIVE


class VariantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Variant

    product = factory.SubFactory(ProductFactory)
    supplier = factory.SelfAttribute("product.supplier")
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    wholesale_price = Decimal("10.00")
    msrp = Decimal("24.99")
    stock_on_hand = 100
    stock_reserved = 0


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store

    retailer = factory.SubFactory(RetailerFactory)
    name = factory.Sequence(lambda n: f"Store {n}")
    platform = Store.Platform.SHOPIFY
    domain = factory.Sequence(lambda n: f"store-{n}.myshopify.com")
    credentials = factory.LazyFunction(lambda: {"access_token": "shpat_test_token"})
    webhook_secret = "whsec-store"
    status = Store.Status.CONNECTED
    connected_at = factory.LazyFunction(timezone.now)


class ListingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Listing

    store = factory.SubFactory(StoreFactory)
    product = factory.SubFactory(ProductFactory)
    store_product_id = factory.Sequence(lambda n: f"gid://shopify/Product/{1000 + n}")
    sync_status = Listing.SyncStatus.SYNCED


class ListingVariantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ListingVariant

    listing = factory.SubFactory(ListingFactory)
    variant = factory.SubFactory(VariantFactory, product=factory.SelfAttribute("..listing.product"))
    store = factory.SelfAttribute("listing.store")
    store_variant_id = factory.Sequence(lambda n: f"gid://shopify/ProductVariant/{5000 + n}")
    inventory_item_id = factory.Sequence(lambda n: f"gid://shopify/InventoryItem/{9000 + n}")
    retail_price = Decimal("24.99")


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    store = factory.SubFactory(StoreFactory)
    retailer = factory.SelfAttribute("store.retailer")
    store_order_id = factory.Sequence(lambda n: str(450789469 + n))
    number = factory.Sequence(lambda n: f"#{1001 + n}")
    shopper_name = "Bob Norman"
    shipping_address = factory.LazyFunction(
        lambda: {
            "name": "Bob Norman",
            "address1": "Chestnut Street 92",
            "city": "Louisville",
            "zip": "40202",
            "country": "US",
        }
    )
    shipping_country = "US"
    placed_at = factory.LazyFunction(timezone.now)


class SupplierOrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SupplierOrder

    order = factory.SubFactory(OrderFactory)
    supplier = factory.SubFactory(SupplierFactory)
    number = factory.Sequence(lambda n: f"SO-{100000 + n}")
    status = SupplierOrder.Status.PAID
    wholesale_total = Decimal("20.00")
    shipping_total = Decimal("5.00")
    platform_fee = Decimal("2.00")


class OrderItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderItem

    order = factory.SubFactory(OrderFactory)
    store_line_id = factory.Sequence(lambda n: str(466157049 + n))
    title = "Product"
    quantity = 1
    retail_unit_price = Decimal("24.99")
    status = OrderItem.Status.RESERVED


# --- billing -------------------------------------------------------------------------------------
class PayableSupplierOrderFactory(SupplierOrderFactory):
    """A routed supplier order waiting for payment, with the fees of the BASIC plan frozen on it."""

    status = SupplierOrder.Status.PENDING
    wholesale_total = Decimal("20.00")
    shipping_total = Decimal("5.00")
    platform_fee = Decimal("2.00")
    commission_percent = Decimal("5.00")


# --- fulfilment ----------------------------------------------------------------------------------
class SentSupplierOrderFactory(SupplierOrderFactory):
    """A paid supplier order sent to the supplier, waiting to be accepted."""

    status = SupplierOrder.Status.SENT
    paid_at = factory.LazyFunction(timezone.now)
    sent_at = factory.LazyFunction(timezone.now)


def make_supplier_order(
    *,
    supplier=None,
    order=None,
    lines=((2, "standard"),),
    status=SupplierOrder.Status.SENT,
    stock_on_hand: int = 10,
    **extra,
):
    """A supplier order with reserved items, its stock really held on the variants.

    `lines` are (quantity, _) pairs or (quantity, variant) pairs; a new variant of `supplier` is
    made for each line without one. Returns the supplier order (items via `.items`).
    """
    supplier = supplier or SupplierFactory()
    order = order or OrderFactory()
    supplier_order = SentSupplierOrderFactory(
        order=order, supplier=supplier, status=status, **extra
    )
    for index, (quantity, variant) in enumerate(lines):
        if not isinstance(variant, Variant):
            variant = VariantFactory(
                product=ProductFactory(supplier=supplier),
                stock_on_hand=stock_on_hand,
                stock_reserved=quantity,
            )
        else:
            Variant.objects.filter(pk=variant.pk).update(
                stock_reserved=variant.stock_reserved + quantity
            )
        OrderItemFactory(
            order=order,
            supplier_order=supplier_order,
            variant=variant,
            sku=variant.sku,
            title=f"{variant.product.title} #{index + 1}",
            quantity=quantity,
            wholesale_unit_price=variant.wholesale_price,
        )
    return supplier_order
