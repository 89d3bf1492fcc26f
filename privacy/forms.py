from django import forms

from retailers.models import Store


class ConfirmDeletionForm(forms.Form):
    confirmation = forms.CharField(max_length=255, strip=True)

    def __init__(self, *args, label: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["confirmation"].label = label


class ShopperRequestForm(forms.Form):
    store = forms.ModelChoiceField(
        queryset=Store.objects.select_related("retailer").order_by("domain"),
        help_text="The store the shopper bought from.",
    )
    email = forms.EmailField(label="Shopper's e-mail", max_length=254)
