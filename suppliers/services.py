"""Writes for suppliers. Review decisions are recorded with who, when and why, and the supplier is told."""

import ipaddress
import secrets
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from urllib.parse import urlsplit
from uuid import uuid4

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from dropship.accounts.models import Notification, User
from dropship.accounts.services import email_organisation, notify
from dropship.core.audit import record_audit
from dropship.core.errors import DomainError
from dropship.core.uploads import check_document, check_image
from retailers import catalog_events
from suppliers.models import ShippingRate, Supplier, SupplierStatusChange, SupplierVerification

Status = Supplier.Status

# (from, to) pairs a review decision may make.
_ALLOWED_TRANSITIONS: dict[str, dict[str, str]] = {
    "approve": {Status.PENDING: Status.ACTIVE, Status.REJECTED: Status.ACTIVE},
    "reject": {Status.PENDING: Status.REJECTED},
    "suspend": {Status.ACTIVE: Status.SUSPENDED},
    "reinstate": {Status.SUSPENDED: Status.ACTIVE},
}


class SupplierTransitionError(DomainError):
    pass


def allowed_review_decisions(*, supplier: Supplier) -> list[str]:
    """The review decisions ("approve", "reject", "suspend", "reinstate") its status allows now."""
    return [
        decision for decision, moves in _ALLOWED_TRANSITIONS.items() if supplier.status in moves
    ]


def _transition(
    *, supplier: Supplier, decision: str, actor: User | None, reason: str = ""
) -> Supplier:
    supplier = Supplier.objects.select_for_update().get(pk=supplier.pk)
    target = _ALLOWED_TRANSITIONS[decision].get(supplier.status)
    if target is None:
        past = decision[:-1] + "ed" if decision.endswith("e") else decision + "ed"
        raise SupplierTransitionError(
            f"{supplier.company_name} is {supplier.get_status_display().lower()}; it cannot be {past}."
        )
    previous = supplier.status
    supplier.status = target
    supplier.status_reason = reason.strip()
    fields = ["status", "status_reason", "updated_at"]
    if target == Status.ACTIVE and decision == "approve":
        supplier.approved_at = timezone.now()
        fields.append("approved_at")
    supplier.save(update_fields=fields)
    if (previous == Status.ACTIVE) != (target == Status.ACTIVE):
        catalog_events.suppliers_changed(
            supplier_ids=[supplier.pk]
        )  # listings show 0 unless active
    SupplierStatusChange.objects.create(
        supplier=supplier,
        from_status=previous,
        to_status=target,
        reason=supplier.status_reason,
        actor=actor,
    )
    record_audit(
        actor=actor,
        action=f"supplier.{decision}",
        target=supplier,
        summary=reason[:500],
        changes={"status": [previous, target]},
    )
    return supplier


def _require_reason(reason: str, decision: str) -> str:
    if not reason or not reason.strip():
        raise SupplierTransitionError(
            f"Give a reason to {decision} a supplier; the supplier will see it.", field="reason"
        )
    return reason.strip()


@transaction.atomic
def approve_supplier(*, supplier: Supplier, actor: User | None) -> Supplier:
    supplier = _transition(supplier=supplier, decision="approve", actor=actor)
    notify(
        organisation=supplier,
        kind="review.approved",
        level=Notification.Level.SUCCESS,
        message="Your supplier account is approved: your active products are now visible to retailers.",
    )
    email_organisation(
        organisation=supplier,
        subject="Your Dropship supplier account is approved",
        message="Good news: your account is approved and your active products are now visible to retailers.",
    )
    return supplier


@transaction.atomic
def reject_supplier(*, supplier: Supplier, actor: User | None, reason: str) -> Supplier:
    reason = _require_reason(reason, "reject")
    supplier = _transition(supplier=supplier, decision="reject", actor=actor, reason=reason)
    notify(
        organisation=supplier,
        kind="review.rejected",
        level=Notification.Level.ERROR,
        message=f"Your application was not approved: {reason}",
        url=reverse("suppliers:dashboard"),
    )
    email_organisation(
        organisation=supplier,
        subject="Your Dropship supplier application needs changes",
        message=f"Your application was not approved for this reason:\n\n{reason}\n\n"
        "You can correct your details and submit again from your dashboard.",
    )
    return supplier


@transaction.atomic
def suspend_supplier(*, supplier: Supplier, actor: User | None, reason: str) -> Supplier:
    reason = _require_reason(reason, "suspend")
    supplier = _transition(supplier=supplier, decision="suspend", actor=actor, reason=reason)
    notify(
        organisation=supplier,
        kind="review.suspended",
        level=Notification.Level.ERROR,
        message=f"Your account is suspended: {reason}",
    )
    email_organisation(
        organisation=supplier,
        subject="Your Dropship supplier account is suspended",
        message=f"Your account is suspended and your products are hidden from retailers:\n\n{reason}",
    )
    return supplier


@transaction.atomic
def reinstate_supplier(*, supplier: Supplier, actor: User | None) -> Supplier:
    supplier = _transition(supplier=supplier, decision="reinstate", actor=actor)
    notify(
        organisation=supplier,
        kind="review.reinstated",
        level=Notification.Level.SUCCESS,
        message="Your account is active again.",
    )
    email_organisation(
        organisation=supplier,
        subject="Your Dropship supplier account is active again",
        message="Your account has been reinstated; your active products are visible to retailers again.",
    )
    return supplier


@transaction.atomic
def submit_supplier_for_review(*, supplier: Supplier, actor: User | None) -> Supplier:
    """Onboarding's last step, and resubmission after a rejection: back to PENDING for review."""
    supplier = Supplier.objects.select_for_update().get(pk=supplier.pk)
    if supplier.status not in (Status.PENDING, Status.REJECTED):
        raise SupplierTransitionError(
            "Only a pending or rejected application can be submitted for review."
        )
    if supplier.status == Status.PENDING and supplier.onboarding_step == Step.SUBMITTED:
        raise SupplierTransitionError("Your application is already waiting for review.")
    problems = application_problems(supplier)
    if problems:
        raise SupplierTransitionError("Your application is not complete: " + " ".join(problems))
    previous = supplier.status
    supplier.status = Status.PENDING
    supplier.status_reason = ""
    supplier.submitted_at = timezone.now()
    supplier.onboarding_step = Supplier.OnboardingStep.SUBMITTED
    supplier.save(
        update_fields=["status", "status_reason", "submitted_at", "onboarding_step", "updated_at"]
    )
    SupplierStatusChange.objects.create(
        supplier=supplier,
        from_status=previous,
        to_status=Status.PENDING,
        reason="Resubmitted after corrections"
        if previous == Status.REJECTED
        else "Submitted for review",
        actor=actor,
    )
    record_audit(actor=actor, action="supplier.submit", target=supplier)
    return supplier


# --- Onboarding ---------------------------------------------------------------------------------
# One step per page; `Supplier.onboarding_step` is the first step not yet completed, so a supplier
# who leaves comes back where it stopped. Every step can be revisited until the application is
# submitted, and again after a rejection.

Step = Supplier.OnboardingStep
STEP_ORDER: list[str] = [
    Step.PROFILE,
    Step.FULFILMENT,
    Step.CHANNEL,
    Step.VERIFICATION,
    Step.REVIEW,
    Step.SUBMITTED,
]


class OnboardingError(DomainError):
    pass


@dataclass(frozen=True)
class ShippingRateData:
    carrier: str
    service: str
    shipping_class: str
    zone: str
    price: Decimal
    additional_item_price: Decimal
    min_days: int
    max_days: int


def is_application_editable(supplier: Supplier) -> bool:
    """Editable while being filled in and after a rejection; not while under review or later."""
    if supplier.status == Status.REJECTED:
        return True
    return supplier.status == Status.PENDING and supplier.onboarding_step != Step.SUBMITTED


def editable_steps(supplier: Supplier) -> set[str]:
    """Steps a supplier may save now. Approved suppliers keep managing shipping and order channel."""
    if is_application_editable(supplier):
        return {Step.PROFILE, Step.FULFILMENT, Step.CHANNEL, Step.VERIFICATION}
    if supplier.status == Status.ACTIVE:
        return {Step.FULFILMENT, Step.CHANNEL}
    return set()


def _lock_for_step(supplier: Supplier, step: str) -> Supplier:
    supplier = Supplier.objects.select_for_update().get(pk=supplier.pk)
    if step not in editable_steps(supplier):
        if supplier.status == Status.PENDING and supplier.onboarding_step == Step.SUBMITTED:
            raise OnboardingError(
                "Your application is under review; it cannot be changed until the review is done."
            )
        raise OnboardingError("This part of your account cannot be changed now.")
    return supplier


def _complete_step(supplier: Supplier, step: str) -> list[str]:
    """Move the saved progress past `step` when it was the next one to fill in."""
    if STEP_ORDER.index(supplier.onboarding_step) == STEP_ORDER.index(step):
        supplier.onboarding_step = STEP_ORDER[STEP_ORDER.index(step) + 1]
        return ["onboarding_step"]
    return []


@transaction.atomic
def save_company_profile(
    *,
    supplier: Supplier,
    actor: User | None,
    legal_name: str,
    business_type: str,
    description: str,
    contact_email: str,
    phone: str,
    website: str,
    ship_from_country: str,
    logo: "UploadedFile[bytes] | None" = None,  # generic only in the stubs
) -> Supplier:
    supplier = _lock_for_step(supplier, Step.PROFILE)
    if business_type not in Supplier.BusinessType.values:
        raise OnboardingError("Choose your type of business.", field="business_type")
    if not legal_name.strip():
        raise OnboardingError("Enter your legal company name.", field="legal_name")
    if len(ship_from_country) != 2:
        raise OnboardingError("Enter the country you ship from.", field="ship_from_country")
    fields = [
        "legal_name",
        "business_type",
        "description",
        "contact_email",
        "phone",
        "website",
        "ship_from_country",
        "updated_at",
    ]
    supplier.legal_name = legal_name.strip()
    supplier.business_type = business_type
    supplier.description = description.strip()
    supplier.contact_email = contact_email.strip().lower()
    supplier.phone = phone.strip()
    supplier.website = website.strip()
    supplier.ship_from_country = ship_from_country.upper()
    if logo is not None:
        kind = check_image(logo, field="logo")
        supplier.logo.save(f"{uuid4().hex}{kind.extensions[0]}", logo, save=False)
        fields.append("logo")
    fields += _complete_step(supplier, Step.PROFILE)
    supplier.save(update_fields=fields)
    return supplier


@transaction.atomic
def save_fulfilment(
    *,
    supplier: Supplier,
    actor: User | None,
    handling_days: int,
    min_order_value: Decimal,
    rates: list[ShippingRateData],
) -> Supplier:
    """Handling time, minimum order and the whole set of shipping rates (replaces the old set)."""
    supplier = _lock_for_step(supplier, Step.FULFILMENT)
    if not 0 <= handling_days <= 60:
        raise OnboardingError("Handling time is 0 to 60 business days.", field="handling_days")
    if min_order_value < 0:
        raise OnboardingError(
            "The minimum order value cannot be negative.", field="min_order_value"
        )
    if not rates:
        raise OnboardingError(
            "Add at least one shipping rate: retailers need to know what shipping costs.",
            field="rates",
        )
    routes = [
        (r.carrier.strip(), r.service.strip(), r.shipping_class.strip(), r.zone) for r in rates
    ]
    if len(set(routes)) != len(routes):
        raise OnboardingError(
            "Two rates have the same carrier, service, shipping class and zone; keep one.",
            field="rates",
        )
    for rate in rates:
        if rate.zone not in ShippingRate.Zone.values:
            raise OnboardingError("Choose a zone for every rate.", field="rates")
        if rate.price < 0 or rate.additional_item_price < 0:
            raise OnboardingError("Shipping prices cannot be negative.", field="rates")
        if rate.min_days > rate.max_days:
            raise OnboardingError("A rate's max days must be at least its min days.", field="rates")
    supplier.handling_days = handling_days
    supplier.min_order_value = min_order_value
    fields = [
        "handling_days",
        "min_order_value",
        "updated_at",
        *_complete_step(supplier, Step.FULFILMENT),
    ]
    supplier.save(update_fields=fields)
    supplier.shipping_rates.all().delete()
    ShippingRate.objects.bulk_create(
        [
            ShippingRate(
                supplier=supplier,
                carrier=carrier,
                service=service,
                shipping_class=shipping_class or "standard",
                zone=zone,
                price=rate.price,
                additional_item_price=rate.additional_item_price,
                min_days=rate.min_days,
                max_days=rate.max_days,
            )
            for rate, (carrier, service, shipping_class, zone) in zip(rates, routes, strict=True)
        ]
    )
    return supplier


def validate_webhook_url(url: str) -> str:
    """An HTTPS endpoint on a public host; http and loopback only with ALLOW_LOOPBACK_URLS.

    This checks what was typed. Where the name resolves is checked again on every call by the
    outbound safe-call helper, because DNS can change after today.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise OnboardingError("Enter a valid URL.", field="webhook_url") from exc
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host:
        raise OnboardingError("Enter a full URL starting with https://.", field="webhook_url")
    if parts.username or parts.password:
        raise OnboardingError(
            "Do not put a user name or password in the URL; requests are signed instead.",
            field="webhook_url",
        )
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        address = None
    is_loopback = (
        host == "localhost"
        or host.endswith(".localhost")
        or (address is not None and address.is_loopback)
    )
    if is_loopback:
        if not settings.ALLOW_LOOPBACK_URLS:
            raise OnboardingError(
                "The endpoint must be reachable from the internet, not a local address.",
                field="webhook_url",
            )
    else:
        if address is not None and not address.is_global:
            raise OnboardingError(
                "The endpoint must be a public address, not a private or reserved one.",
                field="webhook_url",
            )
        if parts.scheme != "https":
            raise OnboardingError("The endpoint must use https://.", field="webhook_url")
    if port is not None and not 1 <= port <= 65535:
        raise OnboardingError("Enter a valid port.", field="webhook_url")
    if len(url) > 200:
        raise OnboardingError("The URL can be at most 200 characters.", field="webhook_url")
    return url


@transaction.atomic
def save_order_channel(
    *, supplier: Supplier, actor: User | None, channel: str, webhook_url: str, order_email: str
) -> Supplier:
    """How orders reach the supplier. Choosing WEBHOOK generates its signing secret once."""
    supplier = _lock_for_step(supplier, Step.CHANNEL)
    fields = ["order_channel", "webhook_url", "order_email", "updated_at"]
    if channel == Supplier.OrderChannel.WEBHOOK:
        if not webhook_url.strip():
            raise OnboardingError("Enter the URL that receives your orders.", field="webhook_url")
        supplier.webhook_url = validate_webhook_url(webhook_url)
        if not supplier.webhook_secret:
            supplier.webhook_secret = secrets.token_urlsafe(32)
            fields.append("webhook_secret")
    elif channel == Supplier.OrderChannel.EMAIL:
        if not order_email.strip():
            raise OnboardingError(
                "Enter the address that receives your orders.", field="order_email"
            )
        supplier.order_email = order_email.strip().lower()
    elif channel != Supplier.OrderChannel.DASHBOARD:
        raise OnboardingError("Choose how you want to receive orders.", field="order_channel")
    supplier.order_channel = channel
    fields += _complete_step(supplier, Step.CHANNEL)
    supplier.save(update_fields=fields)
    return supplier


@transaction.atomic
def rotate_webhook_secret(*, supplier: Supplier, actor: User | None) -> Supplier:
    """A new signing secret; the old one stops being used at once."""
    supplier = _lock_for_step(supplier, Step.CHANNEL)
    if supplier.order_channel != Supplier.OrderChannel.WEBHOOK:
        raise OnboardingError("Only a webhook order channel has a signing secret.")
    supplier.webhook_secret = secrets.token_urlsafe(32)
    supplier.save(update_fields=["webhook_secret", "updated_at"])
    record_audit(actor=actor, action="supplier.rotate_webhook_secret", target=supplier)
    return supplier


@transaction.atomic
def save_verification(
    *,
    supplier: Supplier,
    actor: User | None,
    registration_number: str,
    country: str,
    document: "UploadedFile[bytes] | None" = None,  # generic only in the stubs
) -> SupplierVerification:
    """Registration details and the document the platform admins review (PDF/PNG/JPEG, ≤ 10 MB)."""
    supplier = _lock_for_step(supplier, Step.VERIFICATION)
    verification, _ = SupplierVerification.objects.select_for_update().get_or_create(
        supplier=supplier
    )
    if not registration_number.strip():
        raise OnboardingError("Enter your registration number.", field="registration_number")
    if len(country) != 2:
        raise OnboardingError("Enter the country of registration.", field="country")
    if document is None and not verification.document:
        raise OnboardingError(
            "Upload your registration document (PDF, PNG or JPEG).", field="document"
        )
    verification.registration_number = registration_number.strip()
    verification.country = country.upper()
    fields = ["registration_number", "country", "updated_at"]
    if document is not None:
        kind = check_document(document, field="document")
        old = verification.document.name if verification.document else ""
        verification.document.save(document.name or "document", document, save=False)
        verification.document_name = (document.name or "")[:255]
        verification.document_content_type = kind.content_type
        fields += ["document", "document_name", "document_content_type"]
        if old:
            storage = verification.document.storage
            transaction.on_commit(partial(storage.delete, old))
    verification.save(update_fields=fields)
    step_fields = _complete_step(supplier, Step.VERIFICATION)
    if step_fields:
        supplier.save(update_fields=[*step_fields, "updated_at"])
    return verification


def application_problems(supplier: Supplier) -> list[str]:
    """What is still missing before the application can be submitted (empty when complete)."""
    problems = []
    if not (supplier.legal_name and supplier.business_type and supplier.contact_email):
        problems.append("Complete your company profile.")
    if not supplier.shipping_rates.exists():
        problems.append("Add at least one shipping rate.")
    if supplier.order_channel == Supplier.OrderChannel.WEBHOOK and not (
        supplier.webhook_url and supplier.webhook_secret
    ):
        problems.append("Enter the webhook URL that receives your orders.")
    if supplier.order_channel == Supplier.OrderChannel.EMAIL and not supplier.order_email:
        problems.append("Enter the email address that receives your orders.")
    verification = SupplierVerification.objects.filter(supplier=supplier).first()
    if verification is None or not (
        verification.registration_number and verification.country and verification.document
    ):
        problems.append("Complete the verification step and upload your registration document.")
    return problems
