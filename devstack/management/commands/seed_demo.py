"""Seed the demo marketplace. Idempotent: every row is found by its natural key before it is created."""

import itertools
import zlib
from decimal import Decimal

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from catalog.models import Category, Product, Variant
from devstack import demo_data
from dropship.accounts.models import Membership, Role, User
from dropship.accounts.roles import PLATFORM_ADMIN, SUPPORT_AGENT
from retailers.models import PricingRule, Retailer
from suppliers.models import ShippingRate, Supplier, SupplierVerification


def _stable_number(text: str, low: int, high: int) -> int:
    """A number in [low, high] derived from text, so reseeding gives the same stock every time."""
    return low + zlib.crc32(text.encode()) % (high - low + 1)


class Command(BaseCommand):
    help = "Create demo users, suppliers, a catalog of ~60 products and a retailer (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="Seed even when DEBUG is off.")
        parser.add_argument(
            "--quiet-logins", action="store_true", help="Do not print the demo logins."
        )

    def handle(self, *args, force: bool = False, quiet_logins: bool = False, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "Refusing to seed demo data with DEBUG off (it creates known passwords). Use --force."
            )
        with transaction.atomic():
            created = self._seed()
        self.stdout.write(self.style.SUCCESS(f"Demo data ready ({created} new rows)."))
        if not quiet_logins:
            self.stdout.write(self.logins_text())

    @staticmethod
    def logins_text() -> str:
        rows = [
            ("Platform admin", demo_data.ADMIN["email"]),
            ("Support agent", demo_data.SUPPORT["email"]),
            ("Retailer", demo_data.RETAILER["email"]),
            *[(f"Supplier ({s['company_name']})", s["email"]) for s in demo_data.SUPPLIERS],
        ]
        width = max(len(role) for role, _ in rows)
        lines = [f"  {role.ljust(width)}  {email}" for role, email in rows]
        return (
            "Demo logins (password for all: "
            + demo_data.DEMO_PASSWORD
            + ")\n"
            + "\n".join(lines)
            + "\nThe admin asks staff for a second factor: the code of TOTP secret "
            + demo_data.DEMO_TOTP_SECRET
            + " (`make demo-code` prints it)."
        )

    # --- seeding ----------------------------------------------------------------------------
    def _seed(self) -> int:
        self.created = 0
        admin = self._user(**demo_data.ADMIN, is_staff=True, is_superuser=True)
        admin.groups.add(Group.objects.get(name=PLATFORM_ADMIN))
        support = self._user(**demo_data.SUPPORT, is_staff=True)
        support.groups.add(Group.objects.get(name=SUPPORT_AGENT))
        for staff in (admin, support):
            self._demo_authenticator(staff)
        categories = self._categories()
        for spec in demo_data.SUPPLIERS:
            self._supplier(spec, categories)
        self._retailer()
        return self.created

    def _demo_authenticator(self, user: User) -> None:
        """Staff open the admin only with a second factor: the demo's is a known TOTP secret."""
        if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
            TOTP.activate(user, demo_data.DEMO_TOTP_SECRET)
            self._count(True)

    def _count(self, created: bool) -> None:
        self.created += int(created)

    def _user(
        self, *, email: str, full_name: str, is_staff: bool = False, is_superuser: bool = False
    ) -> User:
        user, created = User.objects.get_or_create(
            email=email,
            defaults={"full_name": full_name, "is_staff": is_staff, "is_superuser": is_superuser},
        )
        if created:
            user.set_password(demo_data.DEMO_PASSWORD)
            user.save(update_fields=["password"])
        EmailAddress.objects.get_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        self._count(created)
        return user

    def _categories(self) -> dict[str, Category]:
        result = {}
        for parent_name, children in demo_data.CATEGORIES.items():
            parent, created = Category.objects.get_or_create(
                slug=slugify(parent_name), defaults={"name": parent_name}
            )
            self._count(created)
            for child_name in children:
                child, created = Category.objects.get_or_create(
                    slug=slugify(child_name), defaults={"name": child_name, "parent": parent}
                )
                self._count(created)
                result[child_name] = child
        return result

    def _supplier(self, spec: dict, categories: dict[str, Category]) -> Supplier:
        supplier, created = Supplier.objects.get_or_create(
            slug=spec["slug"],
            defaults={
                "company_name": spec["company_name"],
                "legal_name": f"{spec['company_name']} Inc.",
                "business_type": spec["business_type"],
                "description": spec["description"],
                "contact_email": spec["email"],
                "ship_from_country": spec["ship_from_country"],
                "handling_days": spec["handling_days"],
                "rating": spec["rating"],
                "status": spec["status"],
                "onboarding_step": Supplier.OnboardingStep.SUBMITTED,
                "submitted_at": timezone.now(),
                "approved_at": timezone.now() if spec["status"] == "ACTIVE" else None,
                "order_email": spec["email"],
            },
        )
        self._count(created)
        owner = self._user(email=spec["email"], full_name=f"{spec['company_name']} owner")
        _, created = Membership.objects.get_or_create(
            user=owner, defaults={"supplier": supplier, "role": Role.OWNER}
        )
        self._count(created)
        _, created = SupplierVerification.objects.get_or_create(
            supplier=supplier,
            defaults={
                "registration_number": f"REG-{spec['sku_prefix']}-2024-001",
                "country": spec["ship_from_country"],
            },
        )
        self._count(created)
        for (
            carrier,
            service,
            klass,
            zone,
            price,
            extra,
            min_days,
            max_days,
        ) in demo_data.SHIPPING_RATES:
            _, created = ShippingRate.objects.get_or_create(
                supplier=supplier,
                carrier=carrier,
                service=service,
                shipping_class=klass,
                zone=zone,
                defaults={
                    "price": Decimal(price),
                    "additional_item_price": Decimal(extra),
                    "min_days": min_days,
                    "max_days": max_days,
                },
            )
            self._count(created)
        for index, product_spec in enumerate(spec["products"]):
            self._product(supplier, spec["sku_prefix"], index, product_spec, categories)
        return supplier

    def _product(self, supplier, prefix, index, product_spec, categories) -> None:
        title, category, wholesale, msrp, weight, options, description = product_spec
        product, created = Product.objects.get_or_create(
            supplier=supplier,
            handle=slugify(title)[:200],
            defaults={
                "title": title,
                "description": description,
                "category": categories[category],
                "option_names": list(options),
                "status": Product.Status.ACTIVE,
                "attributes": {"material": "see description"} if index % 3 == 0 else {},
            },
        )
        self._count(created)
        combinations = list(itertools.product(*options.values())) if options else [()]
        for position, values in enumerate(combinations):
            sku = f"{prefix}-{index + 1:03d}" + "".join(
                f"-{slugify(v)[:6].upper()}" for v in values
            )
            stock = (
                _stable_number(sku, 0, 240)
                if (index + position) % 11
                else _stable_number(sku, 0, 4)
            )
            _, created = Variant.objects.get_or_create(
                supplier=supplier,
                sku=sku,
                defaults={
                    "product": product,
                    "options": dict(zip(options, values, strict=True)),
                    "wholesale_price": Decimal(wholesale) + Decimal(position) * Decimal("0.10"),
                    "msrp": Decimal(msrp),
                    "currency": supplier.currency,
                    "weight_grams": weight,
                    "shipping_class": "bulky" if weight >= 1500 else "standard",
                    "stock_on_hand": stock,
                    "stock_updated_at": timezone.now(),
                    "position": position,
                },
            )
            self._count(created)

    def _retailer(self) -> Retailer:
        spec = demo_data.RETAILER
        retailer, created = Retailer.objects.get_or_create(
            slug=spec["slug"],
            defaults={
                "business_name": spec["business_name"],
                "contact_email": spec["email"],
                "brand_name": spec["brand_name"],
                "packing_slip_message": spec["packing_slip_message"],
                "has_payment_terms": True,
                # Growth: the demo connects a Shopify and a WooCommerce store, and the README's
                # manual order adds a custom store (Starter allows one store).
                "plan": Retailer.Plan.PRO,
            },
        )
        self._count(created)
        owner = self._user(email=spec["email"], full_name=spec["full_name"])
        _, created = Membership.objects.get_or_create(
            user=owner, defaults={"retailer": retailer, "role": Role.OWNER}
        )
        self._count(created)
        _, created = PricingRule.objects.get_or_create(
            retailer=retailer,
            store=None,
            category=None,
            defaults={
                "name": "Default: ×2.2, ends in .99, 30 % minimum margin",
                "method": PricingRule.Method.MULTIPLIER,
                "value": Decimal("2.2"),
                "min_margin_percent": Decimal("30"),
            },
        )
        self._count(created)
        return retailer
