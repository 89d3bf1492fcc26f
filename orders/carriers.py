"""Carriers we recognise: how their tracking numbers look, and where a shopper tracks a parcel.

A tracking number that does not match its carrier's format is refused when the supplier enters it,
so a typo is caught before it reaches the shopper. Formats follow the carriers' published
numbering (UPS "1Z" + 16 with a check digit, USPS IMpb 20–22 / 26–34 digits or S10 "XX123456789US",
FedEx 12/15/20/22 digits, DHL Express 10 digits, Canada Post 16 digits or S10 ...CA, Royal Mail S10 ...GB).
"""

import re
from dataclasses import dataclass
from urllib.parse import quote

from dropship.core.errors import DomainError


class TrackingNumberError(DomainError):
    pass


@dataclass(frozen=True)
class Carrier:
    code: str
    name: str  # also the company name Shopify recognises for its tracking links
    patterns: tuple[re.Pattern, ...]
    url_template: str
    example: str

    def tracking_url(self, tracking_number: str) -> str:
        return self.url_template.format(number=quote(tracking_number, safe=""))


def _s10(country: str) -> re.Pattern:
    """UPU S10 international format: 2 letters, 8 digits + check digit, origin country."""
    return re.compile(rf"^[A-Z]{{2}}\d{{9}}{country}$")


def _ups_check_digit_ok(number: str) -> bool:
    """UPS 1Z numbers: the last character is a mod-10 check over the 15 characters after "1Z"."""
    body, check = number[2:17], number[17]
    total = 0
    for index, char in enumerate(body):
        value = int(char) if char.isdigit() else (ord(char) - 63) % 10
        total += value * (2 if index % 2 else 1)
    return str((10 - total % 10) % 10) == check


CARRIERS: dict[str, Carrier] = {
    carrier.code: carrier
    for carrier in [
        Carrier(
            "UPS",
            "UPS",
            (re.compile(r"^1Z[0-9A-Z]{16}$"),),
            "https://www.ups.com/track?tracknum={number}",
            "1Z999AA10123456784",
        ),
        Carrier(
            "USPS",
            "USPS",
            (re.compile(r"^(\d{20}|\d{22}|\d{26}|\d{30}|\d{34})$"), _s10("US")),
            "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}",
            "9400111899223100000000",
        ),
        Carrier(
            "FEDEX",
            "FedEx",
            (re.compile(r"^(\d{12}|\d{15}|\d{20}|\d{22})$"),),
            "https://www.fedex.com/fedextrack/?trknbr={number}",
            "123456789012",
        ),
        Carrier(
            "DHL",
            "DHL Express",
            (re.compile(r"^\d{10}$"),),
            "https://www.dhl.com/global-en/home/tracking/tracking-express.html?tracking-id={number}",
            "1234567890",
        ),
        Carrier(
            "CANADA_POST",
            "Canada Post",
            (re.compile(r"^\d{16}$"), _s10("CA")),
            "https://www.canadapost-postescanada.ca/track-reperage/en#/search?searchFor={number}",
            "1234567890123456",
        ),
        Carrier(
            "ROYAL_MAIL",
            "Royal Mail",
            (_s10("GB"),),
            "https://www.royalmail.com/track-your-item#/tracking-results/{number}",
            "AB123456789GB",
        ),
    ]
}

CARRIER_CHOICES = [(carrier.code, carrier.name) for carrier in CARRIERS.values()]

_ALIASES = {
    "fedex": "FEDEX",
    "dhl express": "DHL",
    "dhl": "DHL",
    "canada post": "CANADA_POST",
    "canadapost": "CANADA_POST",
    "royal mail": "ROYAL_MAIL",
    "royalmail": "ROYAL_MAIL",
    "ups": "UPS",
    "usps": "USPS",
}


def get_carrier(code_or_name: str) -> Carrier:
    key = (code_or_name or "").strip()
    carrier = CARRIERS.get(key.upper()) or CARRIERS.get(_ALIASES.get(key.lower(), ""))
    if carrier is None:
        known = ", ".join(c.name for c in CARRIERS.values())
        raise TrackingNumberError(
            f"Unknown carrier “{code_or_name}”. Use one of: {known}.", field="carrier"
        )
    return carrier


def normalise_tracking_number(tracking_number: str) -> str:
    return re.sub(r"[\s-]", "", tracking_number or "").upper()


def validate_tracking_number(*, carrier: str, tracking_number: str) -> tuple[Carrier, str]:
    """The carrier and the normalised number, or a TrackingNumberError that says what is wrong."""
    found = get_carrier(carrier)
    number = normalise_tracking_number(tracking_number)
    if not number:
        raise TrackingNumberError("Enter the tracking number.", field="tracking_number")
    if not any(pattern.match(number) for pattern in found.patterns):
        raise TrackingNumberError(
            f"“{tracking_number}” is not a {found.name} tracking number (for example {found.example}).",
            field="tracking_number",
        )
    if found.code == "UPS" and not _ups_check_digit_ok(number):
        raise TrackingNumberError(
            f"“{tracking_number}” fails the UPS check digit; please check it for a typo.",
            field="tracking_number",
        )
    return found, number
