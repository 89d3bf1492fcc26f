from django import forms


class ManualOrderAddressForm(forms.Form):
    """Where a manual order ships: a shopper's address, or the retailer's own for a sample."""

    name = forms.CharField(label="Name", max_length=255)
    company = forms.CharField(label="Company", max_length=255, required=False)
    address1 = forms.CharField(label="Street address", max_length=255)
    address2 = forms.CharField(label="Apartment, suite", max_length=255, required=False)
    city = forms.CharField(label="City", max_length=255)
    province = forms.CharField(label="State or province", max_length=255, required=False)
    zip = forms.CharField(label="Postal code", max_length=20, required=False)
    country_code = forms.RegexField(
        label="Country code",
        regex=r"^[A-Za-z]{2}$",
        max_length=2,
        help_text="Two letters, for example US, GB, DE.",
        error_messages={"invalid": "Enter the two-letter country code, for example US."},
    )
    phone = forms.CharField(label="Phone", max_length=50, required=False)
    email = forms.EmailField(label="Email for the order", max_length=254, required=False)

    def address(self) -> dict[str, str]:
        data = {key: str(value) for key, value in self.cleaned_data.items() if key != "email"}
        data["country_code"] = data["country_code"].upper()
        data["country"] = data["country_code"]
        return data
