"""Which service agreement a connected account needs, from its country and the platform's.

Stripe pays out across borders only to accounts under the `recipient` service agreement, and the
account's country must then be given explicitly (https://docs.stripe.com/connect/service-agreement-types,
https://docs.stripe.com/connect/cross-border-payouts). An account in the platform's own region
(the US, Canada, the UK, Switzerland, or the EEA, which counts as one) keeps the default `full`
agreement. A recipient account cannot take card payments, which suppliers never do here.
"""

from __future__ import annotations

EEA = frozenset(
    {
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "HU",
        "IS",
        "IE",
        "IT",
        "LV",
        "LI",
        "LT",
        "LU",
        "MT",
        "NL",
        "NO",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
    }
)


def region_of(country: str) -> str:
    country = country.upper()
    return "EEA" if country in EEA else country


def service_agreement_for(*, platform_country: str, account_country: str) -> str:
    """ "recipient" for an account outside the platform's region, else "full"."""
    if region_of(account_country) == region_of(platform_country):
        return "full"
    return "recipient"
