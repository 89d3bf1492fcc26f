"""The hard limits of a retailer's plan: connected stores and suppliers used (issue 17).

A plan is a `billing.FeeSchedule` row (read here as a model, the way any layer may read another's
rows); its Stripe side lives in billing/services/plans.py. Connecting a store or importing a
new supplier's products over the limit is refused with `PlanLimitReached`, whose message names
the limit and links to the pricing page (pages show it, the API answers 403 with it). The same
counts tell a downgrade what must go first (`limit_violations`). These run on rare actions (a
store connection, an import), so they count rows; the order pipeline's monthly limit is a
counter (billing/services/usage.py).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.urls import reverse

from billing.models import FeeSchedule
from dropship.core.errors import PermissionDenied
from retailers.models import Listing, Retailer, Store


class PlanLimitReached(PermissionDenied):
    """An action the retailer's plan does not allow; the message says which limit and where to
    upgrade."""


def plan_of(retailer: Retailer) -> FeeSchedule | None:
    return FeeSchedule.objects.filter(plan=retailer.plan).first()


def upgrade_url() -> str:
    return reverse("billing:pricing")


def connected_store_count(*, retailer: Retailer) -> int:
    return Store.objects.filter(retailer=retailer).exclude(status=Store.Status.DISCONNECTED).count()


def supplier_ids_used(*, retailer: Retailer) -> set[int]:
    """Suppliers whose products the retailer lists in any of its stores."""
    return set(
        Listing.objects.filter(store__retailer=retailer)
        .values_list("product__supplier_id", flat=True)
        .distinct()
    )


def check_can_connect_store(*, retailer: Retailer) -> None:
    plan = plan_of(retailer)
    if plan is None or plan.store_limit is None:
        return
    count = connected_store_count(retailer=retailer)
    if count >= plan.store_limit:
        raise PlanLimitReached(
            f"Your {plan} plan allows {plan.store_limit} connected "
            f"store{'s' if plan.store_limit != 1 else ''} and you have {count}. Upgrade your plan "
            f"({upgrade_url()}) or disconnect a store first."
        )


def check_can_use_suppliers(*, retailer: Retailer, supplier_ids: Iterable[int]) -> None:
    plan = plan_of(retailer)
    if plan is None or plan.supplier_limit is None:
        return
    used = supplier_ids_used(retailer=retailer)
    new = set(supplier_ids) - used
    if new and len(used) + len(new) > plan.supplier_limit:
        raise PlanLimitReached(
            f"Your {plan} plan allows products of {plan.supplier_limit} suppliers and you list "
            f"{len(used)}; these products would add {len(new)} more. Upgrade your plan "
            f"({upgrade_url()}) or import from suppliers you already use."
        )


def limit_violations(*, retailer: Retailer, plan: FeeSchedule) -> list[str]:
    """What the retailer must remove before moving to `plan` (empty: it fits)."""
    problems = []
    stores = connected_store_count(retailer=retailer)
    if plan.store_limit is not None and stores > plan.store_limit:
        extra = stores - plan.store_limit
        problems.append(
            f"Disconnect {extra} store{'s' if extra != 1 else ''}: you have {stores} connected "
            f"and {plan} allows {plan.store_limit}."
        )
    suppliers = len(supplier_ids_used(retailer=retailer))
    if plan.supplier_limit is not None and suppliers > plan.supplier_limit:
        extra = suppliers - plan.supplier_limit
        problems.append(
            f"Remove the listings of {extra} supplier{'s' if extra != 1 else ''}: you list "
            f"products of {suppliers} and {plan} allows {plan.supplier_limit}."
        )
    return problems


class AccountReadOnly(PermissionDenied):
    """The retailer's plan is unpaid past its grace period (or ended): changes are refused."""


def check_writable(*, retailer: Retailer) -> None:
    """Refuse a change while the account is read-only (orders keep flowing regardless)."""
    if retailer.read_only_reason:
        raise AccountReadOnly(retailer.read_only_reason)
