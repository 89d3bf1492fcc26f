import pytest

from orders.carriers import TrackingNumberError, get_carrier, validate_tracking_number


@pytest.mark.parametrize(
    ("carrier", "entered", "normalised", "url"),
    [
        (
            "UPS",
            "1z999aa1 0123456784",
            "1Z999AA10123456784",
            "https://www.ups.com/track?tracknum=1Z999AA10123456784",
        ),
        (
            "usps",
            "9400 1118 9922 3100 0000 00",
            "9400111899223100000000",
            "https://tools.usps.com/go/TrackConfirmAction?tLabels=9400111899223100000000",
        ),
        (
            "USPS",
            "EA123456789US",
            "EA123456789US",
            "https://tools.usps.com/go/TrackConfirmAction?tLabels=EA123456789US",
        ),
        (
            "FedEx",
            "1234-5678-9012",
            "123456789012",
            "https://www.fedex.com/fedextrack/?trknbr=123456789012",
        ),
        (
            "DHL Express",
            "1234567890",
            "1234567890",
            "https://www.dhl.com/global-en/home/tracking/tracking-express.html?tracking-id=1234567890",
        ),
        (
            "CANADA_POST",
            "1234567890123456",
            "1234567890123456",
            "https://www.canadapost-postescanada.ca/track-reperage/en#/search?searchFor=1234567890123456",
        ),
        (
            "Royal Mail",
            "ab123456789gb",
            "AB123456789GB",
            "https://www.royalmail.com/track-your-item#/tracking-results/AB123456789GB",
        ),
    ],
)
def test_a_valid_tracking_number_is_normalised_and_gets_its_carriers_url(
    carrier, entered, normalised, url
):
    found, number = validate_tracking_number(carrier=carrier, tracking_number=entered)
    assert number == normalised
    assert found.tracking_url(number) == url


@pytest.mark.parametrize(
    ("carrier", "entered", "message"),
    [
        (
            "UPS",
            "123456789012",
            "“123456789012” is not a UPS tracking number (for example 1Z999AA10123456784).",
        ),
        (
            "UPS",
            "1Z999AA10123456785",
            "“1Z999AA10123456785” fails the UPS check digit; please check it for a typo.",
        ),
        (
            "FedEx",
            "1Z999AA10123456784",
            "“1Z999AA10123456784” is not a FedEx tracking number (for example 123456789012).",
        ),
        (
            "Royal Mail",
            "AB123456789US",
            "“AB123456789US” is not a Royal Mail tracking number (for example AB123456789GB).",
        ),
        ("DHL", "  ", "Enter the tracking number."),
        (
            "Pigeon Post",
            "123",
            "Unknown carrier “Pigeon Post”. Use one of: UPS, USPS, FedEx, DHL Express, Canada Post, Royal Mail.",
        ),
    ],
)
def test_a_tracking_number_that_does_not_match_its_carrier_is_refused_with_the_reason(
    carrier, entered, message
):
    with pytest.raises(TrackingNumberError) as caught:
        validate_tracking_number(carrier=carrier, tracking_number=entered)
    assert caught.value.message == message


def test_carrier_names_are_the_ones_shopify_recognises():
    assert [get_carrier(code).name for code in ("UPS", "USPS", "FEDEX", "DHL")] == [
        "UPS",
        "USPS",
        "FedEx",
        "DHL Express",
    ]
