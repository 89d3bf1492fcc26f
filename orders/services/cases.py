"""Mediation cases: when retailer and supplier disagree about a supplier order (a return declined,
an item not as described, a parcel that never arrived), either escalates to support.

A case is an `orders.Dispute` of kind MEDIATION (a Stripe chargeback is the other kind and keeps
its own flow in billing/services/refunds.py; both are listed together). Both parties add
statements with attachments (private storage, checked by content); a support agent is assigned
and decides: refund the retailer in full or in part (through billing's refund service, so the
supplier's share comes out of its payout, or back from its transfer), release to the supplier,
or reship by the supplier (the case waits for the new tracking number). While a case is open
only that supplier order's payout is held; deciding releases it. Every step lands on the order
timeline and tells both parties; closing is audited.

One open case per supplier order (a partial unique index); a decision on a closed case, a refund
larger than what is left of the payment, a case on an order of someone else: clear errors,
nothing written.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from billing.models import Charge, Refund
from billing.services.payouts import freeze_payout, release_held_payouts
from billing.services.refunds import RefundPending, refund_supplier_order
from dropship.accounts.models import Notification, User
from dropship.accounts.services import email_organisation, notify
from dropship.core.audit import record_audit
from dropship.core.errors import Conflict, DomainError, NotFound
from dropship.core.money import ZERO, format_money, quantize
from dropship.core.uploads import check_document
from orders.carriers import validate_tracking_number
from orders.models import CaseAttachment, CaseStatement, Dispute, ReturnRequest, SupplierOrder
from orders.services.timeline import record_event
from retailers.models import NoticeKind
from retailers.services.notices import send_retailer_notice

if TYPE_CHECKING:
    from django.core.files.uploadedfile import UploadedFile

Party = Dispute.Party
Outcome = Dispute.Outcome
MAX_STATEMENT = 5000
MAX_ATTACHMENTS = 5
# Only once the goods left can there be a disagreement about them.
CASE_STATUSES = (
    SupplierOrder.Status.SHIPPED,
    SupplierOrder.Status.DELIVERED,
    SupplierOrder.Status.EXCEPTION,
)
# The supplier's answer that a return may escalate from (the RMA flow's "declined").
DECLINED_RETURN_STATUSES = (ReturnRequest.Status.REJECTED,)


class CaseError(DomainError):
    pass


class CaseEvent:
    OPENED = "case_opened"
    STATEMENT = "case_statement"
    DECIDED = "case_decided"
    RESHIPPED = "case_reshipped"


def _clean_statement(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise CaseError("Write what happened: the statement is empty.", field="statement")
    if len(body) > MAX_STATEMENT:
        raise CaseError(
            f"The statement is {len(body)} characters; the limit is {MAX_STATEMENT}.",
            field="statement",
        )
    return body


def _check_attachments(
    attachments: Sequence[UploadedFile[bytes]],
) -> list[tuple[UploadedFile[bytes], str]]:
    if len(attachments) > MAX_ATTACHMENTS:
        raise CaseError(
            f"{len(attachments)} files given; a statement takes at most {MAX_ATTACHMENTS}.",
            field="attachments",
        )
    return [(f, check_document(f, field="attachments").content_type) for f in attachments]


def _lock_supplier_order(pk: int) -> SupplierOrder:
    return (
        SupplierOrder.objects.select_for_update(of=("self",))
        .select_related("order__retailer", "supplier")
        .get(pk=pk)
    )


def _lock_case(pk: int) -> Dispute:
    return Dispute.objects.select_for_update(of=("self",)).get(pk=pk)


def _add_statement(
    *,
    case: Dispute,
    party: str,
    body: str,
    author: User | None,
    files: list[tuple[UploadedFile[bytes], str]],
    saved: list[CaseAttachment],
) -> CaseStatement:
    statement = CaseStatement.objects.create(
        case=case, party=party, author=_user(author), body=body
    )
    for uploaded, content_type in files:
        attachment = CaseAttachment(
            statement=statement,
            name=(uploaded.name or "attachment")[-255:],
            content_type=content_type,
            size=uploaded.size or 0,
        )
        attachment.file.save(uploaded.name or "attachment", uploaded, save=False)
        saved.append(attachment)
        attachment.save()
    return statement


@contextmanager
def _files_removed_on_failure() -> Iterator[list[CaseAttachment]]:
    """Files are written before the transaction commits; if it does not, they go too."""
    saved: list[CaseAttachment] = []
    try:
        yield saved
    except BaseException:
        for attachment in saved:
            if attachment.file.name:
                attachment.file.storage.delete(attachment.file.name)
        raise


def _user(actor: User | None) -> User | None:
    return actor if getattr(actor, "is_authenticated", False) else None


def _case_url(case: Dispute, party: str) -> str:
    if party == Party.RETAILER:
        return reverse("cases:retailer_detail", args=[case.pk])
    if party == Party.SUPPLIER:
        return reverse("cases:supplier_detail", args=[case.pk])
    return reverse("admin:orders_dispute_change", args=[case.pk])


def _tell_parties(
    *, case: Dispute, supplier_order: SupplierOrder, subject: str, message: str
) -> None:
    """Both parties hear of each step: the retailer as it chose for decisions, the supplier
    in-app and by e-mail."""
    send_retailer_notice(
        retailer=supplier_order.order.retailer,
        kind=NoticeKind.NEEDS_DECISION,
        event="orders.case",
        subject=subject,
        message=message,
        url=_case_url(case, Party.RETAILER),
    )
    notify(
        organisation=supplier_order.supplier,
        kind="orders.case",
        message=message,
        level=Notification.Level.WARNING,
        url=_case_url(case, Party.SUPPLIER),
    )
    email_organisation(organisation=supplier_order.supplier, subject=subject, message=message)


def open_case(
    *,
    supplier_order: SupplierOrder,
    party: str,
    reason: str,
    statement: str,
    actor: User | None = None,
    attachments: Sequence[UploadedFile[bytes]] = (),
    return_request: ReturnRequest | None = None,
) -> Dispute:
    """Open a mediation case on a supplier order the caller is party to (the caller's selector
    found it): its payout is held until support decides. `return_request`: the declined return
    this escalates (it must be of this supplier order)."""
    if party not in Party.values:
        raise CaseError(f"Unknown party “{party}”.", field="party")
    if reason not in Dispute.Reason.values:
        choices = ", ".join(Dispute.Reason.values)
        raise CaseError(f"Unknown reason “{reason}”; use one of: {choices}.", field="reason")
    body = _clean_statement(statement)
    files = _check_attachments(attachments)
    with _files_removed_on_failure() as saved, transaction.atomic():
        supplier_order = _lock_supplier_order(supplier_order.pk)
        if return_request is not None:
            if return_request.supplier_order_id != supplier_order.pk:
                raise NotFound("No such return on this order.", field="return_request")
            if return_request.status not in DECLINED_RETURN_STATUSES:
                raise CaseError(
                    f"The return is {return_request.get_status_display().lower()}; only a "
                    "declined return can be escalated.",
                    field="return_request",
                )
        if supplier_order.status not in CASE_STATUSES:
            raise CaseError(
                f"{supplier_order.number} is {supplier_order.get_status_display().lower()}; a "
                "case can be opened once it has shipped (cancel an order that has not).",
                field="supplier_order",
            )
        existing = Dispute.objects.filter(
            supplier_order=supplier_order,
            kind=Dispute.Kind.MEDIATION,
            status__in=Dispute.OPEN_STATUSES,
        ).first()
        if existing is not None:
            raise Conflict(
                f"Case #{existing.pk} on {supplier_order.number} is still open; add a statement "
                "to it instead.",
                field="supplier_order",
            )
        charge = Charge.objects.filter(
            supplier_order=supplier_order, status__in=Charge.PAID_STATUSES
        ).first()
        try:
            with transaction.atomic():
                case = Dispute.objects.create(
                    supplier_order=supplier_order,
                    kind=Dispute.Kind.MEDIATION,
                    reason=reason,
                    amount=charge.amount if charge is not None else ZERO,
                    currency=supplier_order.currency,
                    status=Dispute.Status.OPEN,
                    opened_by=party,
                    opened_by_user=_user(actor),
                    return_request=return_request,
                )
        except IntegrityError as exc:  # a concurrent open won the unique index
            raise Conflict(
                f"A case on {supplier_order.number} was just opened; add a statement to it.",
                field="supplier_order",
            ) from exc
        _add_statement(case=case, party=party, body=body, author=actor, files=files, saved=saved)
        freeze_payout(supplier_order=supplier_order)
        who = Party(party).label.lower()
        message = (
            f"Case #{case.pk} opened by the {who} on {supplier_order.number}: "
            f"{case.reason_label}. Support will mediate; the order's payout is held meanwhile."
        )
        record_event(
            order=supplier_order.order,
            supplier_order=supplier_order,
            kind=CaseEvent.OPENED,
            message=message,
            actor=_user(actor),
        )
        record_audit(
            actor=_user(actor),
            action="orders.case_opened",
            target=case,
            summary=message,
            data={
                "reason": reason,
                "party": party,
                "return_request": return_request and return_request.pk,
            },
        )
        _tell_parties(
            case=case,
            supplier_order=supplier_order,
            subject=f"Case #{case.pk} opened on {supplier_order.number}",
            message=message,
        )
    return case


def add_statement(
    *,
    case: Dispute,
    party: str,
    body: str,
    actor: User | None = None,
    attachments: Sequence[UploadedFile[bytes]] = (),
) -> CaseStatement:
    """A party (or support) adds its word to an open case."""
    if party not in Party.values:
        raise CaseError(f"Unknown party “{party}”.", field="party")
    text = _clean_statement(body)
    files = _check_attachments(attachments)
    with _files_removed_on_failure() as saved, transaction.atomic():
        supplier_order = _lock_supplier_order(case.supplier_order_id)
        case = _lock_case(case.pk)
        if case.kind != Dispute.Kind.MEDIATION:
            raise CaseError(
                "A chargeback is decided by the retailer's bank; statements are for mediation "
                "cases."
            )
        if not case.is_open:
            raise Conflict(f"Case #{case.pk} is closed; it takes no more statements.")
        statement = _add_statement(
            case=case, party=party, body=text, author=actor, files=files, saved=saved
        )
        who = Party(party).label
        record_event(
            order=supplier_order.order,
            supplier_order=supplier_order,
            kind=CaseEvent.STATEMENT,
            message=f"{who} added a statement to case #{case.pk}.",
            actor=_user(actor),
        )
        _tell_parties(
            case=case,
            supplier_order=supplier_order,
            subject=f"New statement on case #{case.pk} ({supplier_order.number})",
            message=f"{who} added a statement to case #{case.pk} on {supplier_order.number}.",
        )
    return statement


def assign_case(*, case: Dispute, agent: User, actor: User | None = None) -> Dispute:
    """Give the case to a support agent (a staff member)."""
    if not (agent.is_active and agent.is_staff):
        raise CaseError(f"{agent.email} is not on the support staff.", field="agent")
    with transaction.atomic():
        case = _lock_case(case.pk)
        if not case.is_open:
            raise Conflict(f"Case #{case.pk} is closed.")
        before = case.assigned_to.email if case.assigned_to else ""
        case.assigned_to = agent
        case.save(update_fields=["assigned_to", "updated_at"])
        record_audit(
            actor=_user(actor),
            action="orders.case_assigned",
            target=case,
            summary=f"Case #{case.pk} assigned to {agent.email}",
            changes={"assigned_to": [before, agent.email]},
        )
    return case


def parse_amount(raw: object) -> Decimal | None:
    if raw in (None, ""):
        return None
    try:
        return quantize(Decimal(str(raw).strip()))
    except (InvalidOperation, ValueError) as exc:
        raise CaseError(f"“{raw}” is not an amount.", field="amount") from exc


def decide_case(
    *,
    case: Dispute,
    outcome: str,
    resolution: str,
    actor: User | None = None,
    amount: Decimal | None = None,
) -> Dispute:
    """Support's decision, executed through billing: REFUND_FULL (everything left of the payment),
    REFUND_PARTIAL (`amount`), RELEASE (the payout goes), RESHIP (the case waits for the
    supplier's new tracking number). All in one transaction with the refund: a refused refund
    leaves the case open and nothing written."""
    if outcome not in Outcome.values:
        choices = ", ".join(Outcome.values)
        raise CaseError(f"Unknown outcome “{outcome}”; use one of: {choices}.", field="outcome")
    resolution = (resolution or "").strip()
    if not resolution:
        raise CaseError("Explain the decision to both parties.", field="resolution")
    if outcome == Outcome.REFUND_PARTIAL and amount is None:
        raise CaseError("Give the amount to refund.", field="amount")
    if outcome != Outcome.REFUND_PARTIAL and amount is not None:
        raise CaseError("An amount goes only with a partial refund.", field="amount")
    with transaction.atomic():
        supplier_order = _lock_supplier_order(case.supplier_order_id)
        case = _lock_case(case.pk)
        if case.kind != Dispute.Kind.MEDIATION:
            raise CaseError("A chargeback is decided by the retailer's bank, not by support.")
        if case.status != Dispute.Status.OPEN:
            raise Conflict(
                f"Case #{case.pk} was already decided ({case.get_outcome_display().lower()})."
            )
        refund: Refund | None = None
        if outcome in (Outcome.REFUND_FULL, Outcome.REFUND_PARTIAL):
            try:
                refund = refund_supplier_order(
                    supplier_order=supplier_order,
                    reason=f"Case #{case.pk}: {resolution}"[:500],
                    actor=_user(actor),
                    amount=amount,
                )
            except RefundPending:
                # Recorded as pending and sent again by the settle job: the decision stands.
                refund = Refund.objects.filter(supplier_order=supplier_order).latest("pk")
            if refund.status == Refund.Status.FAILED:
                raise CaseError(f"The refund was refused: {refund.failure_message}")
        now = timezone.now()
        case.outcome = outcome
        case.outcome_amount = refund.amount if refund is not None else None
        case.resolution = resolution
        case.decided_by = _user(actor)
        case.decided_at = now
        case.status = Dispute.Status.RESHIP if outcome == Outcome.RESHIP else Dispute.Status.CLOSED
        if case.status == Dispute.Status.CLOSED:
            case.closed_at = now
        case.save(
            update_fields=[
                "outcome",
                "outcome_amount",
                "resolution",
                "decided_by",
                "decided_at",
                "status",
                "closed_at",
                "updated_at",
            ]
        )
        decision = case.get_outcome_display()
        if refund is not None:
            decision += f" ({format_money(refund.amount, refund.currency)})"
        message = f"Case #{case.pk} on {supplier_order.number} decided: {decision}. {resolution}"
        if outcome == Outcome.RESHIP:
            message += " The supplier enters the new tracking number on the case."
        _close(
            case=case,
            supplier_order=supplier_order,
            actor=actor,
            kind=CaseEvent.DECIDED,
            message=message,
            audited=case.status == Dispute.Status.CLOSED,
        )
    return case


def record_reship(
    *, case: Dispute, carrier: str, tracking_number: str, actor: User | None = None
) -> Dispute:
    """The supplier sent the replacement: its tracking number closes the case and releases the
    order's payout."""
    found, number = validate_tracking_number(carrier=carrier, tracking_number=tracking_number)
    with transaction.atomic():
        supplier_order = _lock_supplier_order(case.supplier_order_id)
        case = _lock_case(case.pk)
        if case.status != Dispute.Status.RESHIP:
            raise Conflict(f"Case #{case.pk} is not waiting for a reshipment.")
        case.reship_carrier = found.code
        case.reship_tracking_number = number
        case.status = Dispute.Status.CLOSED
        case.closed_at = timezone.now()
        case.save(
            update_fields=[
                "reship_carrier",
                "reship_tracking_number",
                "status",
                "closed_at",
                "updated_at",
            ]
        )
        _close(
            case=case,
            supplier_order=supplier_order,
            actor=actor,
            kind=CaseEvent.RESHIPPED,
            message=f"Case #{case.pk} on {supplier_order.number}: the replacement was shipped "
            f"with {found.name}, tracking {number}.",
            audited=True,
        )
    return case


def _close(
    *,
    case: Dispute,
    supplier_order: SupplierOrder,
    actor: User | None,
    kind: str,
    message: str,
    audited: bool,
) -> None:
    record_event(
        order=supplier_order.order,
        supplier_order=supplier_order,
        kind=kind,
        message=message,
        actor=_user(actor),
    )
    if audited:
        record_audit(
            actor=_user(actor),
            action="orders.case_closed",
            target=case,
            summary=message[:500],
            data={
                "outcome": case.outcome,
                "amount": str(case.outcome_amount) if case.outcome_amount is not None else None,
                "reship_tracking_number": case.reship_tracking_number,
            },
        )
        transaction.on_commit(partial(release_held_payouts, supplier=supplier_order.supplier))
    _tell_parties(
        case=case,
        supplier_order=supplier_order,
        subject=f"Case #{case.pk} on {supplier_order.number}: {case.get_outcome_display()}",
        message=message,
    )


def get_case_party(*, case: Dispute, retailer_id: int | None, supplier_id: int | None) -> str:
    """Which side of the case the caller is on (the selectors already scoped it)."""
    if retailer_id is not None and case.supplier_order.order.retailer_id == retailer_id:
        return Party.RETAILER
    if supplier_id is not None and case.supplier_order.supplier_id == supplier_id:
        return Party.SUPPLIER
    raise NotFound("No such case.")
