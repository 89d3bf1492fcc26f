from typing import Any, cast

from django import forms

from dropship.core.money import ZERO


class RefundForm(forms.Form):
    """A support agent's refund: the whole supplier order, one line, or an amount."""

    WHOLE, LINE, AMOUNT = "whole", "line", "amount"
    scope = forms.ChoiceField(
        label="What to refund",
        choices=[
            (WHOLE, "Everything still refundable"),
            (LINE, "One line (its wholesale value)"),
            (AMOUNT, "An amount"),
        ],
        widget=forms.RadioSelect,
        initial=WHOLE,
    )
    line = forms.ChoiceField(label="Line", required=False)
    amount = forms.DecimalField(
        label="Amount", required=False, min_value=ZERO, max_digits=14, decimal_places=2
    )
    reason = forms.CharField(
        label="Reason (shown to the retailer)", widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, items=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.items = {str(item.pk): item for item in items}
        line_field = cast(forms.ChoiceField, self.fields["line"])  # declared above
        line_field.choices = [("", "—")] + [
            (str(item.pk), f"{item.quantity} × {item.title} @ {item.wholesale_unit_price}")
            for item in items
        ]

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        scope = data.get("scope")
        if scope == self.LINE and not data.get("line"):
            self.add_error("line", "Choose the line to refund.")
        if scope == self.AMOUNT and not data.get("amount"):
            self.add_error("amount", "Give the amount to refund.")
        return data

    def refund_kwargs(self) -> dict:
        data = self.cleaned_data
        if data["scope"] == self.LINE:
            return {"order_item": self.items[data["line"]]}
        if data["scope"] == self.AMOUNT:
            return {"amount": data["amount"]}
        return {}
