"""Billing pages by audience: `retailer` (card, invoices, charges) and `supplier` (payouts, Stripe
account), and what both share."""

from django.conf import settings
from django.urls import reverse

from dropship.core.errors import DomainError, PermanentError, TemporaryError

# What a Stripe call can raise that a page turns into a message (never a 500).
STRIPE_TROUBLE = (DomainError, TemporaryError, PermanentError)


def absolute_url(name: str) -> str:
    """A page's full address, for Stripe to send the user back to."""
    return settings.SITE_URL + reverse(name)
