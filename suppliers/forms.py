"""Forms of the supplier's pages (onboarding wizard, inventory feed). They parse input; the rules
live in suppliers.services and suppliers.feeds."""

import re
from typing import Any

from django import forms

from suppliers.models import ShippingRate, Supplier, SupplierFeed

COUNTRY_HELP = "Two-letter ISO code, e.g. US, GB, DE."


def _country(value: str) -> str:
    value = (value or "").strip().upper()
    if value and not re.fullmatch(r"[A-Z]{2}", value):
        raise forms.ValidationError("Enter the two-letter country code, e.g. US or DE.")
    return value


class ProfileForm(forms.Form):
    legal_name = forms.CharField(label="Legal company name", max_length=255)
    business_type = forms.ChoiceField(
        choices=Supplier.BusinessType.choices, widget=forms.RadioSelect
    )
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=4000,
        help_text="What you make or sell, shown to retailers on your profile.",
    )
    logo = forms.FileField(
        required=False,
        help_text="JPEG, PNG or WebP, up to 5 MB.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )
    contact_email = forms.EmailField(label="Contact email")
    phone = forms.CharField(max_length=32, help_text="With country code, e.g. +1 555 010 0199.")
    website = forms.URLField(required=False, assume_scheme="https")
    ship_from_country = forms.CharField(
        label="Ships from (country)", max_length=2, help_text=COUNTRY_HELP
    )

    def clean_ship_from_country(self) -> str:
        return _country(self.cleaned_data["ship_from_country"])

    def clean_phone(self) -> str:
        phone = self.cleaned_data["phone"].strip()
        if not re.fullmatch(r"\+?[0-9 ()\-./]{6,32}", phone):
            raise forms.ValidationError("Enter a phone number with digits, e.g. +1 555 010 0199.")
        return phone

    @staticmethod
    def initial_for(supplier: Supplier) -> dict:
        return {
            "legal_name": supplier.legal_name or supplier.company_name,
            "business_type": supplier.business_type,
            "description": supplier.description,
            "contact_email": supplier.contact_email,
            "phone": supplier.phone,
            "website": supplier.website,
            "ship_from_country": supplier.ship_from_country,
        }


class FulfilmentForm(forms.Form):
    handling_days = forms.IntegerField(
        label="Handling time (business days)",
        min_value=0,
        max_value=60,
        help_text="From order to hand-over to the carrier.",
    )
    min_order_value = forms.DecimalField(
        label="Minimum order value",
        min_value=0,
        max_digits=14,
        decimal_places=2,
        help_text="0 for none.",
    )


class ShippingRateForm(forms.Form):
    carrier = forms.CharField(max_length=32, widget=forms.TextInput(attrs={"placeholder": "UPS"}))
    service = forms.CharField(
        max_length=64, widget=forms.TextInput(attrs={"placeholder": "Ground"})
    )
    shipping_class = forms.CharField(max_length=32, initial="standard")
    zone = forms.ChoiceField(choices=ShippingRate.Zone.choices, initial=ShippingRate.Zone.DOMESTIC)
    price = forms.DecimalField(min_value=0, max_digits=14, decimal_places=2)
    additional_item_price = forms.DecimalField(
        label="Each extra item", min_value=0, max_digits=14, decimal_places=2, initial=0
    )
    min_days = forms.IntegerField(label="Min days", min_value=0, max_value=90, initial=2)
    max_days = forms.IntegerField(label="Max days", min_value=0, max_value=90, initial=7)

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if (
            cleaned.get("min_days") is not None
            and cleaned.get("max_days") is not None
            and cleaned["min_days"] > cleaned["max_days"]
        ):
            self.add_error("max_days", "Max days must be at least min days.")
        return cleaned


def shipping_rate_formset(*, extra: int) -> type[forms.BaseFormSet]:
    """Rates as rows; `extra` empty rows to add new ones (more when there are none yet)."""
    return forms.formset_factory(
        ShippingRateForm, extra=extra, can_delete=True, max_num=30, validate_max=True
    )


def shipping_rate_initial(supplier: Supplier) -> list[dict]:
    return [
        {
            "carrier": rate.carrier,
            "service": rate.service,
            "shipping_class": rate.shipping_class,
            "zone": rate.zone,
            "price": rate.price,
            "additional_item_price": rate.additional_item_price,
            "min_days": rate.min_days,
            "max_days": rate.max_days,
        }
        for rate in supplier.shipping_rates.order_by("zone", "shipping_class", "price", "pk")
    ]


class ChannelForm(forms.Form):
    order_channel = forms.ChoiceField(
        label="How do you want to receive orders?",
        choices=Supplier.OrderChannel.choices,
        widget=forms.RadioSelect,
    )
    webhook_url = forms.CharField(
        label="Webhook endpoint URL",
        required=False,
        max_length=200,
        help_text="HTTPS address of your system that receives orders as signed JSON.",
        widget=forms.URLInput(attrs={"placeholder": "https://erp.example.com/dropship/orders"}),
    )
    order_email = forms.EmailField(
        label="Order email address",
        required=False,
        help_text="Where each order is sent when you choose email.",
    )


class VerificationForm(forms.Form):
    registration_number = forms.CharField(
        label="Business registration number",
        max_length=64,
        help_text="Company or VAT/EIN number as on your registration document.",
    )
    country = forms.CharField(label="Country of registration", max_length=2, help_text=COUNTRY_HELP)
    document = forms.FileField(
        label="Registration document",
        required=False,
        help_text="PDF, PNG or JPEG, up to 10 MB: a certificate of incorporation or business licence.",
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,image/png,image/jpeg"}),
    )

    def clean_country(self) -> str:
        return _country(self.cleaned_data["country"])


class FeedForm(forms.Form):
    url = forms.URLField(
        label="Feed address",
        max_length=1000,
        assume_scheme="https",
        help_text="A CSV or JSON file we fetch every 5 minutes, e.g. https://example.com/stock.csv",
    )
    format = forms.ChoiceField(label="Format", choices=SupplierFeed.Format.choices)
    sku_column = forms.CharField(
        label="SKU column",
        required=False,
        max_length=100,
        help_text="The column (or JSON key) holding the SKU. Empty: found by its header.",
    )
    stock_column = forms.CharField(
        label="Stock column",
        required=False,
        max_length=100,
        help_text="The column (or JSON key) holding the quantity. Empty: found by its header.",
    )
    is_enabled = forms.BooleanField(label="Poll this feed", required=False, initial=True)


class BufferForm(forms.Form):
    stock_buffer_percent = forms.IntegerField(
        label="Share of available stock shown to retailers (%)",
        min_value=1,
        max_value=100,
        help_text="e.g. 90: with 10 available, stores show 9, keeping a margin for stock you "
        "sell elsewhere. Every store listing is updated within a minute.",
    )


class SupplierProfileForm(forms.Form):
    """An approved supplier's profile (suppliers/profile.py checks and applies it)."""

    description = forms.CharField(
        label="About your company", required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    logo = forms.FileField(
        required=False,
        label="Logo",
        help_text="PNG, JPEG or WebP, up to 5 MB.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
    )
    contact_email = forms.CharField(label="Contact e-mail", required=False, max_length=254)
    phone = forms.CharField(label="Phone", required=False, max_length=32)
    website = forms.URLField(label="Website", required=False, assume_scheme="https")
    return_address = forms.CharField(
        label="Return address",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Where shoppers' returns are sent.",
    )
    handling_days = forms.IntegerField(
        label="Handling time (days)", help_text="Business days from order to hand-over."
    )
    legal_name = forms.CharField(
        label="Legal company name",
        max_length=255,
        required=False,  # the service says what is missing, like the other reviewed fields
        help_text="Changes are reviewed by our staff.",
    )
    tax_id = forms.CharField(
        label="Tax id", required=False, max_length=64, help_text="Changes are reviewed."
    )
    payout_country = forms.CharField(
        label="Payout country",
        required=False,
        max_length=20,
        help_text="Two-letter code of your bank account's country. Changes are reviewed.",
    )
