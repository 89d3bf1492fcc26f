"""A supplier's return policy: the terms read by product pages, the catalog API and the return
service (`policy_for`), and the supplier's one way to change them (`save_return_policy`).

A supplier that never saved a policy has the platform default (an unsaved row): returns within
RETURN_WINDOW_DAYS of delivery, no restocking fee, the retailer pays the way back, every category
returnable."""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction

from catalog.models import Category
from dropship.accounts.models import User
from dropship.core.audit import record_audit
from dropship.core.errors import DomainError
from suppliers.models import ReturnPolicy, Supplier

MAX_WINDOW_DAYS = 365
MAX_RESTOCKING_FEE = Decimal("50")


class ReturnPolicyError(DomainError):
    pass


@dataclass(frozen=True)
class PolicyTerms:
    """What a retailer reads before it imports a product: the policy in plain values."""

    window_days: int
    restocking_fee_percent: Decimal
    return_shipping_paid_by: str
    return_shipping_label: str
    return_address: str
    non_returnable_categories: tuple[str, ...]
    non_returnable_category_ids: frozenset[int] = frozenset()

    @property
    def accepts_returns(self) -> bool:
        return self.window_days > 0

    def takes_back(self, category: Category | None) -> bool:
        """Whether a product in `category` can be returned under these terms."""
        return self.accepts_returns and not self.non_returnable_category_ids & category_path(
            category
        )


def policy_for(*, supplier: Supplier) -> ReturnPolicy:
    """The supplier's saved policy, or the platform default (unsaved) when it has none."""
    policy = ReturnPolicy.objects.filter(supplier=supplier).first()
    if policy is None:
        policy = ReturnPolicy(supplier=supplier, window_days=settings.RETURN_WINDOW_DAYS)
    return policy


def non_returnable_category_ids(*, policy: ReturnPolicy) -> set[int]:
    if policy.pk is None:
        return set()
    return set(policy.non_returnable_categories.values_list("pk", flat=True))


def category_path(category: Category | None) -> set[int]:
    """The category and every category above it (a policy naming "Knives" covers "Chef knives")."""
    seen: set[int] = set()
    while category is not None and category.pk not in seen:
        seen.add(category.pk)
        category = category.parent
    return seen


def is_category_returnable(*, policy: ReturnPolicy, category: Category | None) -> bool:
    return not non_returnable_category_ids(policy=policy) & category_path(category)


def policy_terms(*, supplier: Supplier) -> PolicyTerms:
    return policy_terms_by_supplier(supplier_ids=[supplier.pk])[supplier.pk]


def policy_terms_by_supplier(*, supplier_ids: Iterable[int]) -> dict[int, PolicyTerms]:
    """{supplier id: terms} for a page of products or suppliers, in two queries."""
    ids = set(supplier_ids)
    saved = {
        policy.supplier_id: policy
        for policy in ReturnPolicy.objects.filter(supplier_id__in=ids).prefetch_related(
            "non_returnable_categories"
        )
    }
    terms = {}
    for supplier_id in ids:
        policy = saved.get(supplier_id) or ReturnPolicy(
            supplier_id=supplier_id, window_days=settings.RETURN_WINDOW_DAYS
        )
        categories = list(policy.non_returnable_categories.all()) if policy.pk is not None else []
        terms[supplier_id] = PolicyTerms(
            window_days=policy.window_days,
            restocking_fee_percent=policy.restocking_fee_percent,
            return_shipping_paid_by=policy.return_shipping_paid_by,
            return_shipping_label=policy.get_return_shipping_paid_by_display(),
            return_address=policy.return_address,
            non_returnable_categories=tuple(sorted(c.name for c in categories)),
            non_returnable_category_ids=frozenset(c.pk for c in categories),
        )
    return terms


def _whole_days(value: object) -> int:
    try:
        days = int(str(value).strip())
    except (TypeError, ValueError):
        raise ReturnPolicyError(
            "The return window is a whole number of days.", field="window_days"
        ) from None
    if not 0 <= days <= MAX_WINDOW_DAYS:
        raise ReturnPolicyError(
            f"The return window is 0 to {MAX_WINDOW_DAYS} days (0: no returns).",
            field="window_days",
        )
    return days


def _fee(value: object) -> Decimal:
    try:
        fee = Decimal(str(value).strip() or "0")
    except InvalidOperation:
        raise ReturnPolicyError(
            "The restocking fee is a percentage, e.g. 15.", field="restocking_fee_percent"
        ) from None
    if not fee.is_finite() or not Decimal("0") <= fee <= MAX_RESTOCKING_FEE:
        raise ReturnPolicyError(
            f"The restocking fee is 0 to {MAX_RESTOCKING_FEE}%.", field="restocking_fee_percent"
        )
    return fee.quantize(Decimal("0.01"))


@transaction.atomic
def save_return_policy(
    *,
    supplier: Supplier,
    window_days: object,
    restocking_fee_percent: object,
    return_shipping_paid_by: str,
    return_address: str,
    non_returnable_category_ids: Iterable[int] = (),
    actor: User | None = None,
) -> ReturnPolicy:
    """Check every term, then save them together; a bad one is refused by name and nothing is
    saved. Returns opened before keep the terms they were opened under."""
    days = _whole_days(window_days)
    fee = _fee(restocking_fee_percent)
    if return_shipping_paid_by not in ReturnPolicy.ShippingPaidBy.values:
        raise ReturnPolicyError(
            "Say who pays the return shipping: the retailer or you.",
            field="return_shipping_paid_by",
        )
    address = (return_address or "").strip()
    if len(address) > 1000:
        raise ReturnPolicyError(
            "The return address is at most 1,000 characters.", field="return_address"
        )
    if days and not address:
        raise ReturnPolicyError(
            "Give the address returns go to (or set the window to 0 for no returns).",
            field="return_address",
        )
    wanted = {int(pk) for pk in non_returnable_category_ids}
    categories = list(Category.objects.filter(pk__in=wanted))
    if len(categories) != len(wanted):
        raise ReturnPolicyError(
            "Some of the chosen categories do not exist.", field="non_returnable_categories"
        )
    policy = ReturnPolicy.objects.select_for_update().filter(supplier=supplier).first()
    before = (
        {
            "window_days": policy.window_days,
            "restocking_fee_percent": str(policy.restocking_fee_percent),
            "return_shipping_paid_by": policy.return_shipping_paid_by,
        }
        if policy is not None
        else {}
    )
    policy = policy or ReturnPolicy(supplier=supplier)
    policy.window_days = days
    policy.restocking_fee_percent = fee
    policy.return_shipping_paid_by = return_shipping_paid_by
    policy.return_address = address
    policy.save()
    policy.non_returnable_categories.set(categories)
    after = {
        "window_days": days,
        "restocking_fee_percent": str(fee),
        "return_shipping_paid_by": return_shipping_paid_by,
    }
    record_audit(
        actor=actor,
        action="supplier.return_policy",
        target=policy,
        organisation=supplier,
        summary=f"Return policy: {days} days, {fee}% restocking fee, "
        f"{policy.get_return_shipping_paid_by_display().lower()}",
        changes={key: [before.get(key), value] for key, value in after.items()},
    )
    return policy
