"""The retailer's brand on packing slips: the name, logo and message the supplier prints
(orders/packing_slip.py). Owners change them on the packing slip settings page."""

from uuid import uuid4

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from dropship.accounts.models import User
from dropship.core.audit import diff, record_audit, snapshot
from dropship.core.errors import DomainError
from dropship.core.uploads import check_image
from retailers.models import Retailer

BRANDING_FIELDS = ("brand_name", "brand_logo", "packing_slip_message")


class BrandingError(DomainError):
    pass


@transaction.atomic
def update_packing_slip_branding(
    *,
    retailer: Retailer,
    actor: User,
    brand_name: str,
    message: str,
    logo: "UploadedFile[bytes] | None" = None,  # generic only in the stubs
    remove_logo: bool = False,
) -> Retailer:
    """Save the slip's brand name and message, and a new logo (checked as an image by its
    content) or none; effective for the next slip printed."""
    brand_name, message = brand_name.strip(), message.strip()
    if len(brand_name) > 255:
        raise BrandingError("The brand name is at most 255 characters.", field="brand_name")
    if len(message) > 500:
        raise BrandingError("The message is at most 500 characters.", field="message")
    if logo is not None and remove_logo:
        raise BrandingError("Upload a new logo or remove the current one, not both.", field="logo")
    before = snapshot(retailer, BRANDING_FIELDS)
    retailer.brand_name = brand_name
    retailer.packing_slip_message = message
    if logo is not None:
        kind = check_image(logo, field="logo")
        retailer.brand_logo.save(f"{uuid4().hex}{kind.extensions[0]}", logo, save=False)
    elif remove_logo:
        retailer.brand_logo.delete(save=False)
    retailer.save(update_fields=[*BRANDING_FIELDS, "updated_at"])
    changes = diff(before, retailer)
    if changes:
        record_audit(
            actor=actor,
            action="retailer.packing_slip_branding_changed",
            target=retailer,
            summary="Packing slip brand changed",
            changes=changes,
        )
    return retailer
