from typing import cast

from django import forms
from django.utils.datastructures import MultiValueDict

from catalog.imports.mapping import FIELDS
from catalog.models import Category, ImportJob, Product
from catalog.selectors import STOCK_FILTERS, list_categories
from catalog.services import MAX_STOCK_QUANTITY, BulkAction


class CategoryChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Category) -> str:
        return f"{obj.parent.name} › {obj.name}" if obj.parent is not None else obj.name


def _category_field(**kwargs) -> CategoryChoiceField:
    kwargs.setdefault("empty_label", "— none —")
    return CategoryChoiceField(queryset=list_categories(), required=False, **kwargs)


def _category_field_of(form: forms.Form) -> CategoryChoiceField:
    """The form's `category` field, declared with `_category_field()`."""
    return cast(CategoryChoiceField, form.fields["category"])


class ProductForm(forms.Form):
    title = forms.CharField(max_length=255)
    handle = forms.CharField(
        max_length=200,
        required=False,
        help_text="Your key for this product (letters, digits, dashes); made from the title if left empty. Import files use it to group variants.",
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), required=False)
    category = _category_field()
    option_names = forms.CharField(
        label="Options",
        required=False,
        max_length=130,
        help_text="What varies between variants, comma-separated, e.g. Size, Color (up to 3).",
    )
    attributes = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        help_text="One per line as Name: value, e.g. Material: cotton.",
    )

    def __init__(self, *args, with_status: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        _category_field_of(self).queryset = list_categories()
        if with_status:
            self.fields["status"] = forms.ChoiceField(
                choices=Product.Status.choices,
                help_text="Only active products are shown to retailers (once your account is approved).",
            )

    @staticmethod
    def initial_for(product: Product) -> dict:
        return {
            "title": product.title,
            "handle": product.handle,
            "description": product.description,
            "category": product.category_id,
            "status": product.status,
            "option_names": ", ".join(product.option_names),
            "attributes": "\n".join(f"{k}: {v}" for k, v in product.attributes.items()),
        }

    def clean_option_names(self) -> list[str]:
        return [
            name.strip() for name in self.cleaned_data["option_names"].split(",") if name.strip()
        ]

    def clean_attributes(self) -> dict[str, str]:
        attributes: dict[str, str] = {}
        for number, line in enumerate(self.cleaned_data["attributes"].splitlines(), start=1):
            if not line.strip():
                continue
            name, separator, value = line.partition(":")
            if not separator or not name.strip() or not value.strip():
                raise forms.ValidationError(
                    f"Line {number} should look like “Name: value”.", code="attribute"
                )
            attributes[name.strip()[:60]] = value.strip()[:255]
        return attributes


class VariantForm(forms.Form):
    sku = forms.CharField(label="SKU", max_length=100)
    wholesale_price = forms.DecimalField(
        max_digits=14, decimal_places=2, min_value=0, help_text="What retailers pay you."
    )
    msrp = forms.DecimalField(
        label="MSRP",
        max_digits=14,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text="Suggested retail price.",
    )
    weight_grams = forms.IntegerField(label="Weight (grams)", min_value=0, initial=0)
    shipping_class = forms.CharField(max_length=32, initial="standard")
    low_stock_threshold = forms.IntegerField(
        min_value=0,
        required=False,
        help_text="Alert me at or below this many available units (empty: my account's default).",
    )
    stock_on_hand = forms.IntegerField(
        label="Stock on hand", min_value=0, max_value=MAX_STOCK_QUANTITY, initial=0
    )

    def __init__(self, *args, option_names: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.option_names = option_names
        for index, name in enumerate(option_names):
            self.fields[f"option_{index}"] = forms.CharField(label=name, max_length=100)
        order = ["sku", *[f"option_{i}" for i in range(len(option_names))]]
        self.order_fields(order)

    def options(self) -> dict[str, str]:
        return {
            name: self.cleaned_data[f"option_{index}"]
            for index, name in enumerate(self.option_names)
        }


class ImageForm(forms.Form):
    image = forms.FileField(
        help_text="JPEG, PNG or WebP, up to 5 MB.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp"}),
    )
    alt_text = forms.CharField(
        label="Description for screen readers", max_length=255, required=False
    )


class ProductFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=200)
    status = forms.ChoiceField(
        choices=[("", "Any status"), *Product.Status.choices], required=False
    )
    category = _category_field(empty_label="Any category")
    stock = forms.ChoiceField(choices=[("", "Any stock"), *STOCK_FILTERS.items()], required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _category_field_of(self).queryset = list_categories()


class BulkActionForm(forms.Form):
    action = forms.ChoiceField(choices=[("", "Choose an action"), *BulkAction.CHOICES])
    category = _category_field(label="New category", empty_label="—")
    products = forms.TypedMultipleChoiceField(coerce=int, choices=[], required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _category_field_of(self).queryset = list_categories()
        products_field = cast(forms.TypedMultipleChoiceField, self.fields["products"])
        # Bound to request.POST (a QueryDict) or unbound (Django's empty MultiValueDict).
        data = cast("MultiValueDict[str, str]", self.data)
        products_field.choices = [(v, v) for v in data.getlist("products")]


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV or Excel file",
        help_text="CSV (comma, semicolon or tab separated; UTF-8 or Latin-1) or XLSX, up to 50 MB.",
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".csv,.txt,.tsv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        ),
    )


class MappingForm(forms.Form):
    kind = forms.ChoiceField(
        label="This file contains", choices=ImportJob.Kind.choices, widget=forms.RadioSelect
    )

    def __init__(self, *args, job: ImportJob, **kwargs):
        super().__init__(*args, **kwargs)
        self.job = job
        self.fields["kind"].initial = job.kind
        choices = [("", "— ignore this column —"), *[(f.name, f.label) for f in FIELDS]]
        self.columns = []
        for index, header in enumerate(job.headers):
            name = f"column_{index}"
            self.fields[name] = forms.ChoiceField(
                label=header or f"Column {index + 1}",
                choices=choices,
                required=False,
                initial=job.mapping.get(str(index), ""),
            )
            self.columns.append((index, header, name))

    def mapping(self) -> dict[str, str]:
        return {
            str(index): self.cleaned_data[name]
            for index, _, name in self.columns
            if self.cleaned_data.get(name)
        }


class CommitForm(forms.Form):
    mode = forms.ChoiceField(choices=ImportJob.Mode.choices)
