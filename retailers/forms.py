from typing import Any, cast

from django import forms

from catalog.models import Category
from dropship.core.money import CURRENCY_CHOICES, quantize
from retailers.models import PricingRule, Store
from retailers.services.pricing_rules import RuleInput, TierInput


class ShopifyConnectForm(forms.Form):
    shop = forms.CharField(
        label="Shopify shop address",
        max_length=255,
        help_text="Your shop's myshopify.com address, for example maple-and-co.myshopify.com.",
        widget=forms.TextInput(
            attrs={"placeholder": "your-shop.myshopify.com", "autocomplete": "off"}
        ),
    )


class WooCommerceConnectForm(forms.Form):
    site_url = forms.CharField(
        label="Store address",
        max_length=500,
        help_text="The address of your WordPress site, starting with https://.",
        widget=forms.URLInput(
            attrs={"placeholder": "https://shop.example.com", "autocomplete": "url"}
        ),
    )
    consumer_key = forms.CharField(
        label="Consumer key",
        max_length=100,
        help_text="WooCommerce › Settings › Advanced › REST API › Add key, with Read/Write permission.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    consumer_secret = forms.CharField(
        label="Consumer secret",
        max_length=100,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}),
    )


class CustomStoreForm(forms.Form):
    name = forms.CharField(
        label="Store name",
        max_length=255,
        help_text="A shop on any other system, or “Phone orders”: it sends orders through our API "
        "or the manual order form.",
    )
    currency = forms.ChoiceField(label="Currency", choices=CURRENCY_CHOICES, initial="USD")


# --- pricing rules --------------------------------------------------------------------------
class PricingRuleForm(forms.Form):
    name = forms.CharField(label="Name", max_length=100)
    store = forms.ModelChoiceField(
        label="Store",
        queryset=Store.objects.none(),  # narrowed to the retailer's stores in __init__
        required=False,
        empty_label="All stores",
        help_text="Leave on “All stores” for a rule that covers every store.",
    )
    category = forms.ModelChoiceField(
        label="Category",
        queryset=Category.objects.none(),  # filled in __init__, when the form is made
        required=False,
        empty_label="All categories",
        help_text="A category rule also covers its sub-categories.",
    )
    method = forms.ChoiceField(label="Markup", choices=PricingRule.Method.choices)
    value = forms.DecimalField(
        label="Markup value",
        max_digits=10,
        decimal_places=4,
        help_text="Percent (50 = +50 %), multiplier (2.5 = × 2.5) or amount added.",
    )
    rounding = forms.ChoiceField(label="Price ending", choices=PricingRule.Rounding.choices)
    include_shipping_in_cost = forms.BooleanField(
        label="Include the supplier's shipping in the cost", required=False
    )
    include_fees_in_cost = forms.BooleanField(
        label="Include the platform fee and your processing fee in the cost", required=False
    )
    compare_at_from_msrp = forms.BooleanField(
        label="Show the MSRP as the compare-at price", required=False
    )
    min_margin_amount = forms.DecimalField(
        label="Minimum margin amount", max_digits=14, decimal_places=2, required=False
    )
    min_margin_percent = forms.DecimalField(
        label="Minimum margin percent",
        max_digits=5,
        decimal_places=2,
        required=False,
        help_text="Below this, a supplier's price rise pauses the listing for your approval.",
    )

    def __init__(self, *args, retailer, **kwargs):
        super().__init__(*args, **kwargs)
        store_field = cast("forms.ModelChoiceField[Store]", self.fields["store"])
        category_field = cast("forms.ModelChoiceField[Category]", self.fields["category"])
        store_field.queryset = Store.objects.filter(retailer=retailer).exclude(
            status=Store.Status.DISCONNECTED
        )
        category_field.queryset = Category.objects.order_by("name")

    @classmethod
    def initial_for(cls, rule: PricingRule | None) -> dict:
        if rule is None:
            return {
                "name": "Default",
                "method": PricingRule.Method.MULTIPLIER,
                "value": "2",
                "rounding": PricingRule.Rounding.END_99,
                "compare_at_from_msrp": True,
            }
        return {
            "name": rule.name,
            "store": rule.store_id,
            "category": rule.category_id,
            "method": rule.method,
            "value": rule.value.normalize(),
            "rounding": rule.rounding,
            "include_shipping_in_cost": rule.include_shipping_in_cost,
            "include_fees_in_cost": rule.include_fees_in_cost,
            "compare_at_from_msrp": rule.compare_at_from_msrp,
            "min_margin_amount": rule.min_margin_amount,
            "min_margin_percent": rule.min_margin_percent,
        }


class TierForm(forms.Form):
    min_cost = forms.DecimalField(
        label="Cost from", max_digits=14, decimal_places=2, required=False
    )
    max_cost = forms.DecimalField(
        label="Cost up to (empty: no limit)", max_digits=14, decimal_places=2, required=False
    )
    method = forms.ChoiceField(
        label="Markup", choices=[("", "—"), *PricingRule.Method.choices], required=False
    )
    value = forms.DecimalField(label="Value", max_digits=10, decimal_places=4, required=False)

    def is_blank(self) -> bool:
        data = self.cleaned_data
        return data.get("min_cost") is None and data.get("value") is None

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("min_cost") is None and data.get("value") is None:
            return data
        if data.get("min_cost") is None:
            self.add_error("min_cost", "Enter where this tier starts.")
        if data.get("value") is None:
            self.add_error("value", "Enter this tier's markup.")
        if not data.get("method"):
            self.add_error("method", "Choose this tier's markup.")
        return data


TierFormSet = forms.formset_factory(TierForm, extra=0, max_num=10, validate_max=True)


def tier_initial(rule: PricingRule | None, *, rows: int = 4) -> list[dict]:
    initial = (
        [
            {"min_cost": t.min_cost, "max_cost": t.max_cost, "method": t.method, "value": t.value}
            for t in rule.tiers.all()
        ]
        if rule is not None
        else []
    )
    return initial + [{} for _ in range(max(rows - len(initial), 1))]


def rule_input(form: PricingRuleForm, tiers) -> RuleInput:
    data = form.cleaned_data
    return RuleInput(
        name=data["name"],
        store=data["store"],
        category=data["category"],
        method=data["method"],
        value=data["value"],
        rounding=data["rounding"],
        include_shipping_in_cost=data["include_shipping_in_cost"],
        include_fees_in_cost=data["include_fees_in_cost"],
        compare_at_from_msrp=data["compare_at_from_msrp"],
        min_margin_amount=None
        if data["min_margin_amount"] is None
        else quantize(data["min_margin_amount"]),
        min_margin_percent=data["min_margin_percent"],
        tiers=tuple(
            TierInput(
                min_cost=quantize(t.cleaned_data["min_cost"]),
                max_cost=None
                if t.cleaned_data["max_cost"] is None
                else quantize(t.cleaned_data["max_cost"]),
                method=t.cleaned_data["method"],
                value=t.cleaned_data["value"],
            )
            for t in tiers
            if t.cleaned_data and not t.is_blank()
        ),
    )


class PackingSlipBrandingForm(forms.Form):
    brand_name = forms.CharField(
        max_length=255,
        required=False,
        label="Brand name",
        help_text="Printed at the top of every packing slip; empty means your business name.",
    )
    message = forms.CharField(
        max_length=500,
        required=False,
        label="Message",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="A thank-you note or returns hint printed under the items (500 characters).",
    )
    logo = forms.FileField(
        required=False,
        label="Logo",
        help_text="PNG, JPEG or WebP, up to 5 MB.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
    )
    remove_logo = forms.BooleanField(required=False, label="Remove the current logo")


class RetailerDefaultsForm(forms.Form):
    """The Settings page's own fields (retailers.services.settings checks the ranges)."""

    home_country = forms.CharField(
        label="Where most of your shoppers are",
        max_length=20,
        required=False,
        help_text="Two-letter country code (e.g. US, CA, DE). Margins count the supplier's "
        "shipping rate to it; empty counts the supplier's domestic rate.",
    )
    processing_fee_percent = forms.DecimalField(
        label="Payment processor: percent of each order",
        help_text="What your own payment processor takes, e.g. 2.9 for 2.9 %.",
    )
    processing_fee_fixed = forms.DecimalField(
        label="Payment processor: fixed fee per order",
        help_text="e.g. 0.30, in your account's currency.",
    )
    unpublish_when_out_of_stock = forms.BooleanField(
        label="Unpublish sold-out products (stores that follow the default)",
        required=False,
        help_text="Each store can choose otherwise on the Stores page.",
    )
