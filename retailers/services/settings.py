"""The retailer's own defaults on the Settings page: where its shoppers usually are and what
its payment processor takes (the margin figures of retailers.pricing.unit_economics read them),
and whether listings are unpublished at zero stock in stores that follow the default."""

from decimal import Decimal

from django.db import transaction

from dropship.accounts.models import User
from dropship.core.audit import diff, record_audit, snapshot
from dropship.core.errors import DomainError
from retailers.models import Retailer

DEFAULT_FIELDS = (
    "home_country",
    "processing_fee_percent",
    "processing_fee_fixed",
    "unpublish_when_out_of_stock",
)
MAX_FIXED_FEE = Decimal("100")


class RetailerSettingsError(DomainError):
    pass


def _cents(value: Decimal, *, field: str, label: str) -> Decimal:
    if not value.is_finite() or value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise RetailerSettingsError(f"{label} has at most two decimals.", field=field)
    return value


@transaction.atomic
def update_retailer_defaults(
    *,
    retailer: Retailer,
    actor: User,
    home_country: str,
    processing_fee_percent: Decimal,
    processing_fee_fixed: Decimal,
    unpublish_when_out_of_stock: bool,
) -> Retailer:
    """Check every value first (nothing is saved if one is wrong), then save them together and
    record the before/after in the audit trail. Margins everywhere use them from now on."""
    country = home_country.strip().upper()
    if country and (len(country) != 2 or not country.isascii() or not country.isalpha()):
        raise RetailerSettingsError(
            f"“{home_country.strip()[:20]}” is not a two-letter country code (e.g. US, CA, DE).",
            field="home_country",
        )
    percent = _cents(processing_fee_percent, field="processing_fee_percent", label="The percent")
    if not Decimal(0) <= percent < Decimal(50):
        raise RetailerSettingsError(
            "The processing percent is from 0 to under 50 (e.g. 2.9).",
            field="processing_fee_percent",
        )
    fixed = _cents(processing_fee_fixed, field="processing_fee_fixed", label="The fixed fee")
    if not Decimal(0) <= fixed <= MAX_FIXED_FEE:
        raise RetailerSettingsError(
            f"The fixed fee per order is from 0 to {MAX_FIXED_FEE} {retailer.currency} "
            "(e.g. 0.30).",
            field="processing_fee_fixed",
        )
    before = snapshot(retailer, DEFAULT_FIELDS)
    retailer.home_country = country
    retailer.processing_fee_percent = percent
    retailer.processing_fee_fixed = fixed
    retailer.unpublish_when_out_of_stock = unpublish_when_out_of_stock
    retailer.save(update_fields=[*DEFAULT_FIELDS, "updated_at"])
    changes = diff(before, retailer)
    if changes:
        record_audit(
            actor=actor,
            action="retailer.defaults_changed",
            target=retailer,
            summary="Margin and stock defaults changed",
            changes=changes,
        )
    return retailer
