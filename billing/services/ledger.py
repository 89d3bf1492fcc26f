"""The double-entry ledger: every money movement is written as legs that sum to zero.

Debits are positive, credits negative. The database enforces it too (PostgreSQL): a deferred
constraint trigger refuses to commit a transaction whose legs do not balance per currency, and
ledger rows can never be updated or deleted (corrections are new, reversing movements).
"""

import uuid
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection

from billing.models import LedgerEntry
from dropship.core.money import ZERO, quantize
from orders.models import SupplierOrder
from retailers.models import Retailer
from suppliers.models import Supplier

Account = LedgerEntry.Account
Kind = LedgerEntry.Kind


class UnbalancedMovement(ValueError):
    pass


@dataclass(frozen=True)
class Leg:
    account: str
    amount: Decimal
    retailer: Retailer | None = None
    supplier: Supplier | None = None


@dataclass(frozen=True)
class Movement:
    kind: str
    legs: list[Leg]
    currency: str
    supplier_order: SupplierOrder | None = None
    memo: str = ""


def record_movement(
    *,
    kind: str,
    legs: list[Leg],
    currency: str,
    supplier_order: SupplierOrder | None = None,
    memo: str = "",
) -> uuid.UUID:
    """Write one movement; legs with a zero amount are dropped. Returns its transaction id."""
    movement = Movement(kind, legs, currency, supplier_order, memo)
    return record_movements(movements=[movement])[0]


def record_movements(*, movements: list[Movement]) -> list[uuid.UUID]:
    """Write several movements in one INSERT (each checked to balance on its own first).

    Nothing is written unless every movement balances. Returns their transaction ids in order."""
    entries: list[LedgerEntry] = []
    transaction_ids: list[uuid.UUID] = []
    for movement in movements:
        legs = [
            Leg(leg.account, quantize(leg.amount), leg.retailer, leg.supplier)
            for leg in movement.legs
        ]
        legs = [leg for leg in legs if leg.amount != ZERO]
        if not legs:
            raise UnbalancedMovement("A movement needs at least one non-zero leg.")
        total = sum((leg.amount for leg in legs), ZERO)
        if total != ZERO:
            raise UnbalancedMovement(
                f"{movement.kind} legs sum to {total} {movement.currency}, not zero."
            )
        transaction_id = uuid.uuid4()
        transaction_ids.append(transaction_id)
        entries.extend(
            LedgerEntry(
                transaction_id=transaction_id,
                kind=movement.kind,
                account=leg.account,
                retailer=leg.retailer,
                supplier=leg.supplier,
                supplier_order=movement.supplier_order,
                amount=leg.amount,
                currency=movement.currency,
                memo=movement.memo[:300],
            )
            for leg in legs
        )
    _insert(entries)  # one statement: all or nothing, no savepoint
    return transaction_ids


_COLUMNS = (
    "transaction_id",
    "kind",
    "account",
    "retailer_id",
    "supplier_id",
    "supplier_order_id",
    "amount",
    "currency",
    "memo",
)


def _insert(entries: list[LedgerEntry]) -> None:
    """One INSERT. On PostgreSQL it is written by hand: the order pipeline books three movements
    per supplier order, and the ORM's bulk_create cost more CPU than everything else it does for
    them (ledger rows are never updated, so there is no ORM state to keep)."""
    if connection.vendor != "postgresql":
        LedgerEntry.objects.bulk_create(entries)
        return
    row = "(" + ", ".join(["%s"] * len(_COLUMNS)) + ", now())"
    # Only constants are formatted in; every value is a bound parameter.
    sql = (
        f"INSERT INTO {LedgerEntry._meta.db_table} ({', '.join(_COLUMNS)}, created_at) "  # noqa: S608
        f"VALUES {', '.join([row] * len(entries))}"
    )
    params = [
        value
        for entry in entries
        for value in (
            entry.transaction_id,
            entry.kind,
            entry.account,
            entry.retailer_id,
            entry.supplier_id,
            entry.supplier_order_id,
            entry.amount,
            entry.currency,
            entry.memo,
        )
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def unbalanced_transactions() -> dict[uuid.UUID, dict[str, Decimal]]:
    """Every ledger transaction whose legs do not sum to zero (should always be empty)."""
    sums: dict[uuid.UUID, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for transaction_id, currency, amount in LedgerEntry.objects.values_list(
        "transaction_id", "currency", "amount"
    ):
        sums[transaction_id][currency] += amount
    return {
        tid: dict(per_currency)
        for tid, per_currency in sums.items()
        if any(value != ZERO for value in per_currency.values())
    }


# --- the movements, one function each (debits positive, credits negative) -----------------------
def money_account_for(method: str) -> str:
    """Where a retailer's money for a charge sits: Stripe's balance for cards, a receivable on terms."""
    return Account.RETAILER_RECEIVABLE if method == "TERMS" else Account.STRIPE_CLEARING


def record_stripe_fee(
    *, supplier_order: SupplierOrder, fee: Decimal, currency: str, memo: str
) -> uuid.UUID | None:
    """Stripe's processing (or dispute) fee: the platform's cost, paid out of its Stripe balance."""
    if fee == ZERO:
        return None
    return record_movement(
        kind=Kind.STRIPE_FEE,
        currency=currency,
        supplier_order=supplier_order,
        memo=memo,
        legs=[Leg(Account.STRIPE_FEES, fee), Leg(Account.STRIPE_CLEARING, -fee)],
    )


@dataclass(frozen=True)
class RefundAmounts:
    """How a refund splits (billing.models.Refund's amounts), for the ledger."""

    amount: Decimal
    supplier_share: Decimal
    platform_fee_share: Decimal
    commission_returned: Decimal
    currency: str


def record_refund(
    *, supplier_order: SupplierOrder, money_account: str, refund: RefundAmounts, memo: str
) -> None:
    """Money back to the retailer, taken from the supplier's share and the platform fee; the
    commission on the refunded goods goes back to the supplier."""
    record_movements(
        movements=_refund_movements(
            supplier_order=supplier_order,
            money_account=money_account,
            refund=refund,
            memo=memo,
            failed=False,
        )
    )


def record_refund_failure(
    *, supplier_order: SupplierOrder, money_account: str, refund: RefundAmounts, memo: str
) -> None:
    """A booked refund the bank sent back: the exact opposite of `record_refund`, as new rows
    (the ledger is append-only). The money is on the platform's balance again, the supplier is
    owed its share again and the commission on it is kept again."""
    record_movements(
        movements=_refund_movements(
            supplier_order=supplier_order,
            money_account=money_account,
            refund=refund,
            memo=memo,
            failed=True,
        )
    )


def _refund_movements(
    *,
    supplier_order: SupplierOrder,
    money_account: str,
    refund: RefundAmounts,
    memo: str,
    failed: bool,
) -> list[Movement]:
    retailer, supplier = supplier_order.order.retailer, supplier_order.supplier
    sign = Decimal(-1) if failed else Decimal(1)
    movements = [
        Movement(
            kind=Kind.REFUND_FAILED if failed else Kind.REFUND,
            currency=refund.currency,
            supplier_order=supplier_order,
            memo=memo,
            legs=[
                Leg(money_account, -refund.amount * sign, retailer=retailer),
                Leg(Account.SUPPLIER_PAYABLE, refund.supplier_share * sign, supplier=supplier),
                Leg(Account.PLATFORM_REVENUE, refund.platform_fee_share * sign),
            ],
        )
    ]
    if refund.commission_returned:
        movements.append(
            Movement(
                kind=Kind.REFUND_FAILED if failed else Kind.COMMISSION,
                currency=refund.currency,
                supplier_order=supplier_order,
                memo=f"{'Commission kept again' if failed else 'Commission returned'}: {memo}",
                legs=[
                    Leg(
                        Account.SUPPLIER_PAYABLE,
                        -refund.commission_returned * sign,
                        supplier=supplier,
                    ),
                    Leg(Account.PLATFORM_REVENUE, refund.commission_returned * sign),
                ],
            )
        )
    return movements


def record_transfer(
    *, supplier_order: SupplierOrder, amount: Decimal, currency: str, memo: str
) -> uuid.UUID:
    """The supplier is paid what it was owed: payable cleared, money leaves the Stripe balance."""
    return record_movement(
        kind=Kind.TRANSFER,
        currency=currency,
        supplier_order=supplier_order,
        memo=memo,
        legs=[
            Leg(Account.SUPPLIER_PAYABLE, amount, supplier=supplier_order.supplier),
            Leg(Account.STRIPE_CLEARING, -amount),
        ],
    )


def record_reversal(
    *, supplier_order: SupplierOrder, amount: Decimal, currency: str, memo: str
) -> uuid.UUID:
    """Money taken back from a supplier's transfer returns to the platform's Stripe balance."""
    return record_movement(
        kind=Kind.REVERSAL,
        currency=currency,
        supplier_order=supplier_order,
        memo=memo,
        legs=[
            Leg(Account.STRIPE_CLEARING, amount),
            Leg(Account.SUPPLIER_PAYABLE, -amount, supplier=supplier_order.supplier),
        ],
    )
