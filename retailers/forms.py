from django import forms


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
